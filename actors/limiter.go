package actors

import "time"

// vegasLimit adapts how many Docker jobs run at once, in the manner of TCP
// Vegas. It keeps a no-load create latency as the baseline (the first
// create, lowered by faster ones and following creates that ran alone),
// and estimates how many calls wait inside the daemon as
// limit * (1 - baseline/latency). Below alpha waiting calls the limit
// grows, above beta it shrinks by one, and an error or a timeout cuts it
// by a quarter. The Docker daemon serves creates at a rate that barely
// grows with parallelism, so calls above that rate only wait inside the
// daemon and delay every session. Holding them in sessiond's FIFO queue
// instead lets the first sessions of a burst finish first.
//
// Only create jobs feed it, because their latency is the daemon's work.
// Removals, inspects and lists are short and carry no signal of load. It is updated on every create completion, not
// per time window, because a daemon does a few creates per second.
type vegasLimit struct {
	limit    int
	min, max int
	baseline time.Duration
	// alpha and beta are the queue sizes, in calls, below which the limit
	// grows and above which it shrinks.
	alpha, beta float64
	// slowStart doubles the limit instead of adding one until the first
	// time the daemon shows a queue, as TCP does, so a burst that meets a
	// limit of 1 reaches a useful size after a few creates.
	slowStart bool
}

func newVegasLimit(min, initial, max int) *vegasLimit {
	if max < 1 {
		max = 1
	}
	min = clampInt(min, 1, max)
	// With two to four calls waiting inside it, the daemon always has the
	// next call at hand. On Docker 20.10 with 2 cores the limit then
	// settled at 3 to 5 in the runs of docs/benchmarks.md.
	return &vegasLimit{limit: clampInt(initial, min, max), min: min, max: max, alpha: 2, beta: 4, slowStart: true}
}

// observe updates the limit after a create that took latency while
// inflight jobs (itself included) were running. failed marks an error or
// a timeout.
func (v *vegasLimit) observe(latency time.Duration, inflight int, failed bool) {
	if failed {
		v.limit = max(v.min, v.limit*3/4)
		v.slowStart = false
		return
	}
	if latency <= 0 {
		return
	}
	switch {
	case v.baseline == 0:
		v.baseline = latency
	case latency < v.baseline:
		// Move halfway down, so one create that was fast by luck does not
		// set a baseline the daemon cannot meet again.
		v.baseline -= (v.baseline - latency) / 2
	case inflight <= 1:
		// A create alone in flight is a no-load sample by definition: follow
		// those, so a daemon that got slower for good raises the baseline.
		// Loaded samples must never raise it, or the estimate would call
		// any steady queue "no queue" and the limit would climb.
		v.baseline += (latency - v.baseline) / 5
	}
	queued := float64(v.limit) * (1 - float64(v.baseline)/float64(latency))
	switch {
	case queued < v.alpha:
		// Grow only when the limit is what holds jobs back, because an idle
		// pool shows nothing about how much more the daemon can take.
		if inflight*2 >= v.limit {
			step := 1
			if v.slowStart {
				step = v.limit
			}
			v.limit = min(v.max, v.limit+step)
		}
	case queued > v.beta:
		v.limit = max(v.min, v.limit-1)
		v.slowStart = false
	default:
		v.slowStart = false
	}
}

func clampInt(n, low, high int) int {
	return max(low, min(n, high))
}
