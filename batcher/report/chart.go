package report

import (
	"fmt"
	"sort"
	"time"
)

// BarChart is a horizontal stacked bar chart: one row per label, one
// segment per series.
type BarChart struct {
	Caption string
	Series  []Series
	Rows    []BarRow
	// MaxRows bounds the rows drawn (default 30); the rest are summed into
	// a last "other attributes" row.
	MaxRows int
}

// Series is one kind of segment (a colour).
type Series struct {
	Name  string
	Class string
}

// BarRow is one bar.
type BarRow struct {
	Label  string
	Title  string // full text (tooltip)
	Values []int  // per series
}

// Total is the bar's length.
func (r BarRow) Total() int {
	n := 0
	for _, v := range r.Values {
		n += v
	}
	return n
}

// Sort orders rows by total, largest first, then by label.
func (c *BarChart) Sort() {
	sort.SliceStable(c.Rows, func(i, j int) bool {
		a, b := c.Rows[i].Total(), c.Rows[j].Total()
		if a != b {
			return a > b
		}
		return c.Rows[i].Label < c.Rows[j].Label
	})
}

// Chart geometry (SVG user units).
const (
	chartWidth  = 900
	labelWidth  = 330
	valueWidth  = 70
	rowHeight   = 22
	barHeight   = 15
	chartMargin = 6
)

// SVGBar is a drawn bar.
type SVGBar struct {
	Y, TextY, ValueX float64
	Label, Title     string
	Total            int
	Segs             []SVGSeg
}

// SVGSeg is one segment of a bar.
type SVGSeg struct {
	X, W  float64
	Class string
	Title string
}

// SVGChart is the chart laid out.
type SVGChart struct {
	Width, Height, LabelWidth float64
	Bars                      []SVGBar
}

// Layout computes the drawing.
func (c *BarChart) Layout() SVGChart {
	rows := c.Rows
	max := c.MaxRows
	if max <= 0 {
		max = 30
	}
	if len(rows) > max {
		other := BarRow{Label: fmt.Sprintf("%d other attributes", len(rows)-max+1), Values: make([]int, len(c.Series))}
		for _, r := range rows[max-1:] {
			for i, v := range r.Values {
				other.Values[i] += v
			}
		}
		rows = append(rows[:max-1:max-1], other)
	}
	top := 0
	for _, r := range rows {
		top = maxInt(top, r.Total())
	}
	out := SVGChart{Width: chartWidth, LabelWidth: labelWidth, Height: float64(len(rows)*rowHeight + 2*chartMargin)}
	scale := float64(chartWidth-labelWidth-valueWidth) / float64(maxInt(top, 1))
	for i, r := range rows {
		y := float64(chartMargin + i*rowHeight)
		b := SVGBar{Y: y + (rowHeight-barHeight)/2, TextY: y + rowHeight/2 + 4, Label: clip(r.Label, 48), Title: r.Title, Total: r.Total()}
		if b.Title == "" {
			b.Title = r.Label
		}
		x := float64(labelWidth)
		for k, v := range r.Values {
			if v == 0 {
				continue
			}
			w := float64(v) * scale
			b.Segs = append(b.Segs, SVGSeg{X: x, W: w, Class: c.Series[k].Class, Title: fmt.Sprintf("%s: %d", c.Series[k].Name, v)})
			x += w
		}
		b.ValueX = x + 6
		out.Bars = append(out.Bars, b)
	}
	return out
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Timeline is the requests of a run over time: one lane per kind of event
// (Bulk requests sent, 429s, retries, errors), each a histogram over
// equal slices of the run, plus marks where runs started and stopped.
type Timeline struct {
	Start, End time.Time
	Lanes      []Lane
	Marks      []Mark
}

// Lane is one row of the timeline.
type Lane struct {
	Name  string
	Class string
	Times []time.Time
}

// Mark is a moment of the run (started, resumed, stopped).
type Mark struct {
	At    time.Time
	Label string
	Class string
}

// Timeline geometry.
const (
	tlWidth      = 900
	tlLabel      = 210
	tlLaneHeight = 46
	tlTop        = 22
	tlAxis       = 30
	tlBuckets    = 90
)

// SVGTimeline is the timeline laid out.
type SVGTimeline struct {
	Width, Height  float64
	PlotX, PlotEnd float64
	Lanes          []SVGLane
	Marks          []SVGMark
	Ticks          []SVGTick
	AxisY          float64
	Duration       string
}

// SVGLane is one lane drawn.
type SVGLane struct {
	Name, Class    string
	Y, BaseY, MidY float64
	Total, Peak    int
	Bars           []SVGRect
}

// SVGRect is one histogram bar.
type SVGRect struct {
	X, Y, W, H float64
	Title      string
}

// SVGMark is a vertical mark.
type SVGMark struct {
	X, Y1, Y2, TextY, DX float64
	Label, Class, Anchor string
}

// SVGTick is an axis label.
type SVGTick struct {
	X      float64
	Label  string
	Anchor string
}

// Layout computes the drawing.
func (t *Timeline) Layout() SVGTimeline {
	start, end := t.Start, t.End
	if !end.After(start) {
		end = start.Add(time.Second)
	}
	span := end.Sub(start)
	plot := float64(tlWidth - tlLabel - 10)
	xOf := func(at time.Time) float64 {
		f := float64(at.Sub(start)) / float64(span)
		f = min(max(f, 0), 1)
		return tlLabel + f*plot
	}
	out := SVGTimeline{Width: tlWidth, Duration: roundDuration(span), PlotX: tlLabel, PlotEnd: tlLabel + plot}
	bw := plot / tlBuckets
	for i, l := range t.Lanes {
		y := float64(tlTop + i*tlLaneHeight)
		lane := SVGLane{Name: l.Name, Class: l.Class, Y: y, BaseY: y + tlLaneHeight - 8, MidY: y + tlLaneHeight/2 + 2, Total: len(l.Times)}
		var counts [tlBuckets]int
		for _, at := range l.Times {
			k := int(float64(at.Sub(start)) / float64(span) * tlBuckets)
			k = min(max(k, 0), tlBuckets-1)
			counts[k]++
		}
		for _, n := range counts {
			lane.Peak = maxInt(lane.Peak, n)
		}
		hmax := float64(tlLaneHeight - 14)
		for k, n := range counts {
			if n == 0 {
				continue
			}
			h := max(hmax*float64(n)/float64(lane.Peak), 2)
			from := start.Add(time.Duration(float64(span) * float64(k) / tlBuckets))
			lane.Bars = append(lane.Bars, SVGRect{X: tlLabel + float64(k)*bw, Y: lane.BaseY - h, W: max(bw-1, 1), H: h,
				Title: fmt.Sprintf("%s: %d from %s", l.Name, n, from.UTC().Format("15:04:05"))})
		}
		out.Lanes = append(out.Lanes, lane)
	}
	out.AxisY = float64(tlTop + len(t.Lanes)*tlLaneHeight)
	out.Height = out.AxisY + tlAxis
	for _, m := range t.Marks {
		x := xOf(m.At)
		mk := SVGMark{X: x, Y1: 14, Y2: out.AxisY, TextY: 11, DX: 3, Label: m.Label, Class: m.Class, Anchor: "start"}
		if x > tlLabel+plot*0.8 {
			mk.DX, mk.Anchor = -3, "end"
		}
		out.Marks = append(out.Marks, mk)
	}
	for i := 0; i <= 4; i++ {
		at := start.Add(span * time.Duration(i) / 4)
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		layout := "15:04:05"
		if span < 10*time.Second {
			layout = "15:04:05.000"
		}
		out.Ticks = append(out.Ticks, SVGTick{X: xOf(at), Label: at.UTC().Format(layout), Anchor: anchor})
	}
	return out
}

func roundDuration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Minute:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}
