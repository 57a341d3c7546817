package stress

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// percentile returns the p-th percentile (0 to 100) of sorted by the
// nearest-rank method: the smallest sample such that at least p percent of
// the samples are less than or equal to it. It returns 0 for no samples, so
// callers check the count before they print the value.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// Multiplying before dividing keeps p*n exact for whole percentages,
	// so an exact rank such as p99 of 100 samples is not pushed up by a
	// rounding error.
	rank := int(math.Ceil(p * float64(n) / 100))
	rank = max(rank, 1)
	rank = min(rank, n)
	return sorted[rank-1]
}

// opStats holds what the recorder collected for one operation.
type opStats struct {
	samples  []time.Duration
	errors   map[string]*errorTally
	canceled int
	// windowMax is the longest sample since the last progress line.
	windowMax time.Duration
}

// errorTally counts one error kind and keeps the first message as an example.
type errorTally struct {
	count   int
	example string
}

// recorder collects latencies and failures per operation. It is safe for
// concurrent use.
type recorder struct {
	mu sync.Mutex
	// runCtx ends with the workload. A failure that happens after it ended
	// is counted as canceled, because the harness cut the operation short
	// rather than the target failing it. It is nil until bind.
	runCtx context.Context
	ops    map[string]*opStats

	// errorTotal counts the errors of every operation except the cycle,
	// for the progress line.
	errorTotal atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{ops: make(map[string]*opStats)}
}

// bind sets the workload's context. Call it before the workload starts.
func (r *recorder) bind(runCtx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runCtx = runCtx
}

func (r *recorder) op(name string) *opStats {
	stats, ok := r.ops[name]
	if !ok {
		stats = &opStats{errors: make(map[string]*errorTally)}
		r.ops[name] = stats
	}
	return stats
}

// record adds one finished operation: a latency sample when err is nil,
// otherwise a canceled operation or an error of the kind errorKind returns.
func (r *recorder) record(name string, latency time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	canceled := err != nil && r.runCtx != nil && r.runCtx.Err() != nil
	stats := r.op(name)
	switch {
	case err == nil:
		stats.samples = append(stats.samples, latency)
		stats.windowMax = max(stats.windowMax, latency)
	case canceled:
		stats.canceled++
	default:
		kind := errorKind(err)
		tally, ok := stats.errors[kind]
		if !ok {
			tally = &errorTally{example: err.Error()}
			stats.errors[kind] = tally
		}
		tally.count++
		// A failed cycle repeats the error of its failed step.
		if name != opCycle {
			r.errorTotal.Add(1)
		}
	}
}

// takeWindowMax returns the longest sample of the operation since the last
// call and starts a new window.
func (r *recorder) takeWindowMax(name string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	stats, ok := r.ops[name]
	if !ok {
		return 0
	}
	longest := stats.windowMax
	stats.windowMax = 0
	return longest
}

// summary is one operation's figures, computed once the run is over.
type summary struct {
	ok       int
	canceled int
	errors   map[string]errorTally
	p50      time.Duration
	p90      time.Duration
	p99      time.Duration
	max      time.Duration
}

func (s summary) errorCount() int {
	total := 0
	for _, tally := range s.errors {
		total += tally.count
	}
	return total
}

// summarize computes the figures of one operation. An operation that never
// ran has a zero summary.
func (r *recorder) summarize(name string) summary {
	r.mu.Lock()
	stats, ok := r.ops[name]
	if !ok {
		r.mu.Unlock()
		return summary{errors: map[string]errorTally{}}
	}
	sorted := slices.Clone(stats.samples)
	result := summary{
		ok:       len(stats.samples),
		canceled: stats.canceled,
		errors:   make(map[string]errorTally, len(stats.errors)),
	}
	for kind, tally := range stats.errors {
		result.errors[kind] = *tally
	}
	r.mu.Unlock()

	slices.Sort(sorted)
	result.p50 = percentile(sorted, 50)
	result.p90 = percentile(sorted, 90)
	result.p99 = percentile(sorted, 99)
	result.max = percentile(sorted, 100)
	return result
}
