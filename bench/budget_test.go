package main

import (
	"testing"
	"time"
)

func TestEstimatorRates(t *testing.T) {
	e := newEstimator()
	tests := []struct {
		name string
		spec runSpec
		want float64
	}{
		{"one worker", runSpec{adaptiveConfig, c1Workload}, 1},
		{"pool of one", runSpec{fixedConfig(1), c200Workload}, 1},
		{"pool of two", runSpec{fixedConfig(2), burstWorkload}, 2},
		{"many workers", runSpec{rawConfig, c50Workload}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.rate(tt.spec); got != tt.want {
				t.Errorf("rate %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEstimatorObserve(t *testing.T) {
	e := newEstimator()
	spec := runSpec{adaptiveConfig, c50Workload}

	e.observe(spec, 4, 2*time.Second)
	if got := e.rate(spec); got != 4 {
		t.Errorf("after 4 sessions the rate is %v, want the default 4", got)
	}

	e.observe(spec, 50, 10*time.Second)
	if got := e.rate(spec); got != 5 {
		t.Errorf("after 50 sessions in 10s the rate is %v, want 5", got)
	}
	// The rate of many workers does not apply to one worker.
	if got := e.rate(runSpec{adaptiveConfig, c1Workload}); got != 1 {
		t.Errorf("one-worker rate %v, want the default 1", got)
	}
	if got := e.estimate(runSpec{adaptiveConfig, c200Workload}); got != runOverhead+runTail+40*time.Second {
		t.Errorf("estimate of 200 sessions at 5/s is %s", got)
	}
}

func TestLimitRun(t *testing.T) {
	e := newEstimator()
	c200 := runSpec{rawConfig, c200Workload} // estimate 4s + 3s + 200/4 s = 57s
	c10 := runSpec{adaptiveConfig, c10Workload}
	e.observe(c10, 20, 20*time.Second) // estimate 4s + 3s + 20/1 s = 27s

	tests := []struct {
		name         string
		spec         runSpec
		remaining    time.Duration
		later        time.Duration
		laterRuns    int
		wantDuration time.Duration
		wantSessions int
	}{
		{"room left: all but the later runs' time", c200, 10 * time.Minute, 5 * time.Minute, 5, 5*time.Minute - runOverhead, 200},
		{"much room: at most the maximum", c200, time.Hour, 0, 0, maxRunDuration, 200},
		{"tight: the estimate with slack", c200, 100 * time.Second, 60 * time.Second, 1, 79500 * time.Millisecond, 200},
		{"tight: later runs keep their minimum", c200, 114 * time.Second, 171 * time.Second, 3, 114*time.Second - 3*(runOverhead+minRunDuration) - runOverhead, 200},
		{"tight: a short run gets a margin", runSpec{adaptiveConfig, c1Workload}, 100 * time.Second, 100 * time.Second, 2, 8*time.Second + tightMargin, 5},
		{"tight: several waves get fewer sessions", c10, 27 * time.Second, 27 * time.Second, 1, minRunDuration, 10},
		{"no time: at least the minimum", c200, 0, time.Minute, 4, minRunDuration, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.limitRun(tt.spec, tt.remaining, tt.later, tt.laterRuns)
			// The slack is computed in floating point.
			if diff := got.duration - tt.wantDuration; diff < -time.Millisecond || diff > time.Millisecond {
				t.Errorf("duration %s, want %s", got.duration, tt.wantDuration)
			}
			if got.load.sessions != tt.wantSessions {
				t.Errorf("sessions %d, want %d", got.load.sessions, tt.wantSessions)
			}
			if got.shrunk != (tt.wantSessions < tt.spec.load.sessions) {
				t.Errorf("shrunk %v with %d of %d sessions", got.shrunk, got.load.sessions, tt.spec.load.sessions)
			}
			if got.load.concurrency != tt.spec.load.concurrency {
				t.Errorf("concurrency %d, want %d", got.load.concurrency, tt.spec.load.concurrency)
			}
		})
	}
}
