package stress

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressInterval is the pause between progress lines.
const progressInterval = time.Second

// startProbes repeats each probe every interval until ctx ends, one
// goroutine per probe so that a stalled path does not delay the other. A
// request slower than the interval delays that probe's next request instead
// of piling up requests. The returned function waits for the goroutines.
func startProbes(ctx context.Context, probes []probe, interval, timeout time.Duration, rec *recorder) (wait func()) {
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ticker := time.NewTicker(interval)
			defer ticker.Stop()
			for {
				callCtx, cancel := context.WithTimeout(ctx, timeout)
				start := time.Now()
				err := p.do(callCtx)
				cancel()
				rec.record(p.name, time.Since(start), err)

				select {
				case <-ctx.Done():
					return
				case <-ticker.C:
				}
			}
		}()
	}
	return wg.Wait
}

// startProgress writes a progress line to w every progressInterval until
// ctx ends. The returned function waits for the goroutine.
func startProgress(ctx context.Context, w io.Writer, r *runner, probes []probe) (wait func()) {
	done := make(chan struct{})
	begin := time.Now()
	go func() {
		defer close(done)
		ticker := time.NewTicker(progressInterval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				fmt.Fprintln(w, progressLine(time.Since(begin), r, probes))
			}
		}
	}()
	return func() { <-done }
}

// progressLine reports the counters so far and, per probe, the slowest
// request since the previous line.
func progressLine(elapsed time.Duration, r *runner, probes []probe) string {
	var b strings.Builder
	total := "unlimited"
	if r.opts.sessions > 0 {
		total = fmt.Sprint(r.opts.sessions)
	}
	fmt.Fprintf(&b, "stress: %s: started %d of %s, ready %d, completed %d, in flight %d, errors %d",
		elapsed.Round(time.Second), r.started.Load(), total, r.ready.Load(), r.completed.Load(),
		r.inFlight.Load(), r.rec.errorTotal.Load())
	for _, p := range probes {
		fmt.Fprintf(&b, ", %s max %s", p.name, formatMS(r.rec.takeWindowMax(p.name)))
	}
	return b.String()
}

func formatMS(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
