package main

import (
	"strings"
	"testing"

	"github.com/sessiond/sessiond/stress"
)

func statusOf(t *testing.T, targets []targetResult, prefix string) targetResult {
	t.Helper()
	for _, target := range targets {
		if strings.HasPrefix(target.target, prefix) {
			return target
		}
	}
	t.Fatalf("no target starts with %q", prefix)
	return targetResult{}
}

func memoryResult(bytes float64) *goBenchResult {
	return &goBenchResult{name: "BenchmarkIdleSessionMemory-2", iterations: 1,
		metrics: []goBenchMetric{{value: 2e9, unit: "ns/op"}, {value: bytes, unit: "bytes/session"}}}
}

func TestTargetsAllMet(t *testing.T) {
	targets := evaluateTargets(goodResults(), memoryResult(5107))
	if len(targets) != 9 {
		t.Fatalf("got %d targets, want 9", len(targets))
	}
	for _, target := range targets {
		if target.status != statusMet {
			t.Errorf("%s: %s (%s), want MET", target.target, target.status, target.measured)
		}
		if target.measured == "" {
			t.Errorf("%s: no measured figure", target.target)
		}
	}
}

func TestThroughputTargetRatio(t *testing.T) {
	tests := []struct {
		name       string
		throughput float64
		want       targetStatus
		measured   string
	}{
		{"exactly 90 percent", 4.5, statusMet, "4.50 vs 5.00 cycles/s: 90.0%"},
		{"below 90 percent", 4.4, statusMissed, "4.40 vs 5.00 cycles/s: 88.0%"},
		{"above raw", 6, statusMet, "6.00 vs 5.00 cycles/s: 120.0%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := resultSet{runs: []*runResult{
				fakeRun(rawConfig, c10Workload, cycleOp(20, 5)),
				fakeRun(adaptiveConfig, c10Workload, cycleOp(20, tt.throughput)),
			}}
			got := throughputTarget(results, c10Workload)
			if got.status != tt.want {
				t.Errorf("status %s, want %s", got.status, tt.want)
			}
			if got.measured != tt.measured {
				t.Errorf("measured %q, want %q", got.measured, tt.measured)
			}
		})
	}
}

func TestThroughputTargetNotMeasured(t *testing.T) {
	cut := fakeRun(adaptiveConfig, c10Workload, cycleOp(12, 4.8))
	cut.report.Sessions.Started = 14
	cut.report.Operations[0].Canceled = 2

	failed := &runResult{spec: runSpec{adaptiveConfig, c10Workload}, planned: c10Workload, failure: "sessiond exited"}

	tests := []struct {
		name     string
		sessiond *runResult
		contains string
	}{
		{"run missing", nil, "did not run"},
		{"run failed", failed, "failed: sessiond exited"},
		{"run cut short", cut, "did not complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := []*runResult{fakeRun(rawConfig, c10Workload, cycleOp(20, 5))}
			if tt.sessiond != nil {
				runs = append(runs, tt.sessiond)
			}
			got := throughputTarget(resultSet{runs: runs}, c10Workload)
			if got.status != statusNotMeasured {
				t.Errorf("status %s, want NOT MEASURED", got.status)
			}
			if !strings.Contains(got.measured, tt.contains) {
				t.Errorf("measured %q does not contain %q", got.measured, tt.contains)
			}
		})
	}
}

func TestNoStallTarget(t *testing.T) {
	tests := []struct {
		name    string
		healthz float64
		list    float64
		failed  int
		want    targetStatus
	}{
		{"both fast", 4.9, 19.9, 0, statusMet},
		{"healthz at limit", 5, 3, 0, statusMissed},
		{"list at limit", 1, 20, 0, statusMissed},
		{"failed probe", 1, 3, 2, statusMissed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			healthz := probeOp(opProbeHealthz, 100, 0.5, tt.healthz, tt.healthz)
			if tt.failed > 0 {
				healthz = withErrors(healthz, "timeout", tt.failed)
			}
			r := fakeRun(adaptiveConfig, burstWorkload, cycleOp(50, 5), healthz, probeOp(opProbeList, 100, 0.5, tt.list, tt.list))
			got := noStallTarget(r, "burst of 50")
			if got.status != tt.want {
				t.Errorf("status %s (%s), want %s", got.status, got.measured, tt.want)
			}
		})
	}
}

func TestUsersTarget(t *testing.T) {
	ops := func(errorKind string) []stress.OperationReport {
		create := createOp(200, 2, 5)
		if errorKind != "" {
			create = withErrors(create, errorKind, 3)
		}
		return []stress.OperationReport{create, readyOp(200, 9000, 30000), cycleOp(200, 5)}
	}
	tests := []struct {
		name      string
		errorKind string
		load      workload
		want      targetStatus
	}{
		{"no errors", "", c200Workload, statusMet},
		{"only 429 rejections", "http_429_queue_full", c200Workload, statusMet},
		{"ready timeouts", "ready_timeout", c200Workload, statusMissed},
		{"fewer users", "", c200Workload.scaled(0.5), statusNotMeasured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeRun(adaptiveConfig, tt.load, ops(tt.errorKind)...)
			got := usersTarget(r)
			if got.status != tt.want {
				t.Errorf("status %s (%s), want %s", got.status, got.measured, tt.want)
			}
		})
	}
}

func TestBurstTarget(t *testing.T) {
	tests := []struct {
		name       string
		p50        float64
		throughput float64
		fixedP50   float64
		want       targetStatus
		contains   string
	}{
		{"met", 4800, 5, 6000, statusMet, "p50 4.80 s vs raw 8.00 s: 0.600×"},
		{"p50 too close to raw", 6000, 5, 7000, statusMissed, "0.750×"},
		{"throughput too low", 5000, 4, 6000, statusMissed, "80.0%"},
		{"a fixed pool is faster", 5000, 5, 4900, statusMissed, "pool of 1: 4.90 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := []*runResult{
				fakeRun(rawConfig, burstWorkload, readyOp(50, 8000, 10000), cycleOp(50, 5)),
				fakeRun(adaptiveConfig, burstWorkload, readyOp(50, tt.p50, 9000), cycleOp(50, tt.throughput)),
			}
			for _, size := range fixedPoolSizes {
				p50 := 9000.0
				if size == 1 {
					p50 = tt.fixedP50
				}
				runs = append(runs, fakeRun(fixedConfig(size), burstWorkload, readyOp(50, p50, 12000), cycleOp(50, 4)))
			}
			got := burstTarget(resultSet{runs: runs})
			if got.status != tt.want {
				t.Errorf("status %s (%s), want %s", got.status, got.measured, tt.want)
			}
			if !strings.Contains(got.measured, tt.contains) {
				t.Errorf("measured %q does not contain %q", got.measured, tt.contains)
			}
		})
	}
}

func TestBurstTargetMissingFixedPool(t *testing.T) {
	runs := []*runResult{
		fakeRun(rawConfig, burstWorkload, readyOp(50, 8000, 10000), cycleOp(50, 5)),
		fakeRun(adaptiveConfig, burstWorkload, readyOp(50, 4000, 9000), cycleOp(50, 5)),
		fakeRun(fixedConfig(20), burstWorkload, readyOp(50, 9000, 12000), cycleOp(50, 4)),
	}
	got := burstTarget(resultSet{runs: runs})
	if got.status != statusNotMeasured {
		t.Errorf("status %s (%s), want NOT MEASURED", got.status, got.measured)
	}
	if !strings.Contains(got.measured, "pool of 8 did not run") {
		t.Errorf("measured %q does not name the missing pool of 8", got.measured)
	}
}

func TestMemoryTarget(t *testing.T) {
	tests := []struct {
		name   string
		memory *goBenchResult
		want   targetStatus
	}{
		{"under 10 KiB", memoryResult(10239), statusMet},
		{"at 10 KiB", memoryResult(10240), statusMissed},
		{"benchmark missing", nil, statusNotMeasured},
		{"metric missing", &goBenchResult{name: "BenchmarkIdleSessionMemory-2"}, statusNotMeasured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := memoryTarget(tt.memory)
			if got.status != tt.want {
				t.Errorf("status %s (%s), want %s", got.status, got.measured, tt.want)
			}
		})
	}
}

func TestWorseStatus(t *testing.T) {
	tests := []struct {
		a, b, want targetStatus
	}{
		{statusMet, statusMet, statusMet},
		{statusMet, statusNotMeasured, statusNotMeasured},
		{statusNotMeasured, statusMissed, statusMissed},
		{statusMissed, statusMet, statusMissed},
	}
	for _, tt := range tests {
		if got := worse(tt.a, tt.b); got != tt.want {
			t.Errorf("worse(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}
