package main

import (
	"math"
	"time"
)

// Time limits of one run.
const (
	// runOverhead covers starting sessiond, waiting for /readyz, stopping it
	// and checking for leftovers, on top of the workload itself.
	runOverhead = 4 * time.Second
	// runTail is the time after the last create until its session is ready
	// and deleted.
	runTail = 3 * time.Second
	// minRunDuration is the shortest workload a tight budget leaves a run.
	minRunDuration = 10 * time.Second
	// maxRunDuration bounds one workload even when the budget has room.
	maxRunDuration = 6 * time.Minute
)

// estimator predicts how long runs take from the session rates that
// earlier runs reached. Until a configuration has run, it assumes rates
// measured with Docker 20.10 on a 2-core machine, rounded down.
type estimator struct {
	// observed holds sessions per second by rateKey.
	observed map[string]float64
}

func newEstimator() *estimator {
	return &estimator{observed: make(map[string]float64)}
}

// rateKey separates one worker from many, because a single worker waits
// for every step and many share the daemon's throughput.
func rateKey(spec runSpec) string {
	if spec.load.concurrency == 1 {
		return spec.cfg.name + "/serial"
	}
	return spec.cfg.name
}

// rate returns the expected completed sessions per second of spec.
func (e *estimator) rate(spec runSpec) float64 {
	if r, ok := e.observed[rateKey(spec)]; ok {
		return r
	}
	switch {
	case spec.load.concurrency == 1, spec.cfg.name == fixedConfigName(1):
		return 1
	case spec.cfg.name == fixedConfigName(2):
		return 2
	default:
		return 4
	}
}

// observe records the rate that a run reached. Runs with fewer than five
// completed sessions are too short to measure a rate and are ignored.
func (e *estimator) observe(spec runSpec, completed int, workload time.Duration) {
	if completed < 5 || workload <= 0 {
		return
	}
	e.observed[rateKey(spec)] = float64(completed) / workload.Seconds()
}

// estimate returns the expected time of spec, overhead included.
func (e *estimator) estimate(spec runSpec) time.Duration {
	seconds := float64(spec.load.sessions) / e.rate(spec)
	return runOverhead + runTail + time.Duration(seconds*float64(time.Second))
}

// runLimits are the workload and time limit that the budget gives one run.
type runLimits struct {
	load workload
	// duration is the harness's --duration: the workload's time limit.
	duration time.Duration
	// shrunk is set when load has fewer sessions than planned.
	shrunk bool
}

// When the budget is tight, a run's time limit is its estimated workload
// time times tightSlack, or plus tightMargin when that is more, so that a
// run slower than estimated still finishes.
const (
	tightSlack  = 1.5
	tightMargin = 20 * time.Second
)

// limitRun decides the workload and time limit of the next run, given the
// time left before the deadline and the estimates of the laterRuns runs
// after it. When everything fits, the run may use all the time that the
// later runs are not expected to need. When it does not, the run still gets
// its estimate with a margin, as long as every later run keeps at least
// minRunDuration: the shortage falls on the last runs, which the plan
// orders to be the least important. A run with more sessions than workers
// that cannot finish within its limit gets fewer sessions, so that it ends
// cleanly. A run of one wave keeps its sessions, since fewer would mean
// fewer at once, and its time limit cuts it short instead.
func (e *estimator) limitRun(spec runSpec, remaining, later time.Duration, laterRuns int) runLimits {
	own := e.estimate(spec)
	var limit time.Duration
	if own+later <= remaining {
		limit = remaining - later - runOverhead
	} else {
		reserved := time.Duration(laterRuns) * (runOverhead + minRunDuration)
		workload := own - runOverhead
		limit = max(time.Duration(float64(workload)*tightSlack), workload+tightMargin)
		limit = min(limit, remaining-reserved-runOverhead)
	}
	limit = min(max(limit, minRunDuration), maxRunDuration)

	load := spec.load
	if load.sessions > load.concurrency && own-runOverhead > limit {
		fit := int(math.Floor((limit - runTail).Seconds() * e.rate(spec)))
		load.sessions = max(load.concurrency, min(load.sessions, fit))
	}
	return runLimits{load: load, duration: limit, shrunk: load.sessions < spec.load.sessions}
}
