package report

import (
	"fmt"
	"testing"
	"time"
)

// TestBarChartLayout: bars are sorted by total, the rows beyond MaxRows are
// summed into one, and a bar's segments add up to its length.
func TestBarChartLayout(t *testing.T) {
	c := &BarChart{Series: []Series{{Name: "a", Class: "add"}, {Name: "b", Class: "remove"}}, MaxRows: 3}
	for i, v := range [][]int{{1, 0}, {5, 2}, {0, 3}, {2, 2}, {1, 1}} {
		c.Rows = append(c.Rows, BarRow{Label: string(rune('p' + i)), Values: v})
	}
	c.Sort()
	l := c.Layout()
	if len(l.Bars) != 3 {
		t.Fatalf("%d bars, want 3", len(l.Bars))
	}
	if l.Bars[0].Total != 7 || l.Bars[1].Total != 4 || l.Bars[2].Total != 3+2+1 || l.Bars[2].Label != "3 other attributes" {
		t.Errorf("bars %+v", l.Bars)
	}
	full := float64(chartWidth - labelWidth - valueWidth)
	for _, b := range l.Bars {
		w := 0.0
		for _, s := range b.Segs {
			w += s.W
		}
		if want := full * float64(b.Total) / 7; w < want-0.001 || w > want+0.001 {
			t.Errorf("bar %s: width %.2f, want %.2f", b.Label, w, want)
		}
	}
}

// TestTimelineLayout: every event lands in one bar of its lane (the bars'
// counts add up to the lane's total), bars stay inside the plot, and marks
// near the end are drawn inside it.
func TestTimelineLayout(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)
	var times []time.Time
	for i := 0; i < 500; i++ {
		times = append(times, t0.Add(time.Duration(i*i)*time.Millisecond*7))
	}
	end := times[len(times)-1]
	tl := &Timeline{Start: t0, End: end, Lanes: []Lane{{Name: "sent", Class: "sent", Times: times}, {Name: "none", Class: "errors"}},
		Marks: []Mark{{At: t0, Label: "started"}, {At: end, Label: "finished"}}}
	l := tl.Layout()
	if len(l.Lanes) != 2 || l.Lanes[0].Total != 500 || l.Lanes[1].Total != 0 || len(l.Lanes[1].Bars) != 0 {
		t.Fatalf("lanes %+v", l.Lanes)
	}
	sum := 0
	for _, b := range l.Lanes[0].Bars {
		var n int
		var from string
		if _, err := fmtSscanf(b.Title, &n, &from); err != nil {
			t.Fatalf("bar title %q: %v", b.Title, err)
		}
		sum += n
		if b.X < l.PlotX || b.X+b.W > l.PlotEnd+0.001 || b.Y < l.Lanes[0].Y || b.Y+b.H > l.Lanes[0].BaseY+0.001 {
			t.Errorf("bar outside the plot: %+v", b)
		}
	}
	if sum != 500 {
		t.Errorf("bars count %d events, want 500", sum)
	}
	if l.Marks[1].Anchor != "end" || l.Marks[0].Anchor != "start" {
		t.Errorf("marks %+v", l.Marks)
	}
}

func fmtSscanf(title string, n *int, from *string) (int, error) {
	return fmt.Sscanf(title, "sent: %d from %s", n, from)
}
