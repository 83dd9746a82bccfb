package apply

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress receives a run's progress. Implementations must be safe for
// concurrent use.
type Progress interface {
	// Start announces the number of input operations and how many of them
	// an earlier run already finished.
	Start(total, done int)
	// RequestSent counts a Bulk request the service accepted.
	RequestSent()
	// Completed counts n input operations whose outcome is known.
	Completed(n int, failed bool)
	// Finish ends the display.
	Finish()
}

type nopProgress struct{}

func (nopProgress) Start(int, int)      {}
func (nopProgress) RequestSent()        {}
func (nopProgress) Completed(int, bool) {}
func (nopProgress) Finish()             {}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// NewProgress returns a progress bar on w when w is a terminal, and
// otherwise a plain line every interval (default 10 s) plus one at the end.
func NewProgress(w io.Writer, interval time.Duration) Progress {
	if IsTerminal(w) {
		return &barProgress{w: w}
	}
	return NewLineProgress(w, interval)
}

type counters struct {
	mu                        sync.Mutex
	total, done, failed, reqs int
	start                     time.Time
}

func (c *counters) line() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("progress: %d/%d operations completed (%d with errors), %d requests sent, %s elapsed",
		c.done, c.total, c.failed, c.reqs, time.Since(c.start).Round(time.Second))
}

// LineProgress prints a plain progress line every interval.
type LineProgress struct {
	counters
	w        io.Writer
	interval time.Duration
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// NewLineProgress returns a LineProgress writing to w.
func NewLineProgress(w io.Writer, interval time.Duration) *LineProgress {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	return &LineProgress{w: w, interval: interval, stop: make(chan struct{})}
}

// Start starts the ticker.
func (p *LineProgress) Start(total, done int) {
	p.mu.Lock()
	p.total, p.done, p.start = total, done, time.Now()
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				fmt.Fprintln(p.w, p.line())
			}
		}
	}()
}

// RequestSent counts a request.
func (p *LineProgress) RequestSent() { p.mu.Lock(); p.reqs++; p.mu.Unlock() }

// Completed counts operations.
func (p *LineProgress) Completed(n int, failed bool) {
	p.mu.Lock()
	p.done += n
	if failed {
		p.failed += n
	}
	p.mu.Unlock()
}

// Finish stops the ticker and prints the last line.
func (p *LineProgress) Finish() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		fmt.Fprintln(p.w, p.line())
	})
}

type barProgress struct {
	counters
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) describe() {
	p.bar.Describe(fmt.Sprintf("%d requests sent, %d with errors", p.reqs, p.failed))
}

func (p *barProgress) Start(total, done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.done, p.start = total, done, time.Now()
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("ops"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
	_ = p.bar.Set(done)
	p.describe()
}

func (p *barProgress) RequestSent() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs++
	if p.bar != nil {
		p.describe()
	}
}

func (p *barProgress) Completed(n int, failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if failed {
		p.failed += n
	}
	if p.bar != nil {
		p.describe()
		_ = p.bar.Add(n)
	}
}

func (p *barProgress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
