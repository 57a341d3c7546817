package main

import (
	"github.com/sessiond/sessiond/stress"
)

// fakeRun returns a complete run of load against cfg with the given
// operations in its report.
func fakeRun(cfg config, load workload, ops ...stress.OperationReport) *runResult {
	return &runResult{
		spec:    runSpec{cfg: cfg, load: load},
		planned: load,
		report: &stress.Report{
			Sessions:   stress.SessionCounts{Started: load.sessions, Ready: load.sessions, Completed: load.sessions},
			Operations: ops,
		},
		sessiondExit: "exit 0",
	}
}

func cycleOp(ok int, throughput float64) stress.OperationReport {
	return stress.OperationReport{Name: opCycle, Count: ok, OK: ok, ThroughputPerS: throughput}
}

func readyOp(ok int, p50, p99 float64) stress.OperationReport {
	return stress.OperationReport{Name: opReady, Count: ok, OK: ok, P50MS: p50, P99MS: p99, MaxMS: p99}
}

func createOp(ok int, p50, p99 float64) stress.OperationReport {
	return stress.OperationReport{Name: opCreate, Count: ok, OK: ok, P50MS: p50, P99MS: p99, MaxMS: p99}
}

func probeOp(name string, count int, p50, p99, maxMS float64) stress.OperationReport {
	return stress.OperationReport{Name: name, Count: count, OK: count, P50MS: p50, P99MS: p99, MaxMS: maxMS}
}

// withErrors adds failed attempts of one kind to op.
func withErrors(op stress.OperationReport, kind string, count int) stress.OperationReport {
	op.Errors += count
	op.Count += count
	op.ErrorKinds = append(op.ErrorKinds, stress.ErrorKind{Kind: kind, Count: count, Example: "example of " + kind})
	return op
}

// goodResults returns a result set in which every target is met: sessiond
// matches raw Docker's throughput, the probes are fast, and the adaptive
// burst beats raw Docker and every fixed pool.
func goodResults() resultSet {
	var runs []*runResult
	for _, load := range concurrencyWorkloads {
		runs = append(runs,
			fakeRun(rawConfig, load, createOp(load.sessions, 400, 900), readyOp(load.sessions, 1000, 3000), cycleOp(load.sessions, 5)),
			fakeRun(adaptiveConfig, load, createOp(load.sessions, 2, 5), readyOp(load.sessions, 1100, 3100), cycleOp(load.sessions, 4.8),
				probeOp(opProbeHealthz, 100, 0.5, 2, 3), probeOp(opProbeList, 100, 0.6, 4, 6)),
			fakeRun(inlineConfig, load, createOp(load.sessions, 3, 9), readyOp(load.sessions, 1500, 4000), cycleOp(load.sessions, 4),
				probeOp(opProbeHealthz, 100, 0.5, 30, 40), probeOp(opProbeList, 100, 0.6, 35, 50)),
		)
	}
	runs = append(runs,
		fakeRun(rawConfig, burstWorkload, readyOp(50, 8000, 10000), cycleOp(50, 5)),
		fakeRun(adaptiveConfig, burstWorkload, readyOp(50, 4000, 9500), cycleOp(50, 5.1),
			probeOp(opProbeHealthz, 150, 0.5, 1.5, 2), probeOp(opProbeList, 150, 0.7, 3, 4)),
	)
	for _, size := range fixedPoolSizes {
		runs = append(runs, fakeRun(fixedConfig(size), burstWorkload, readyOp(50, 5000+float64(size), 9000), cycleOp(50, 4.5)))
	}
	return resultSet{runs: runs}
}
