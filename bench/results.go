package main

import (
	"strings"
	"time"

	"github.com/sessiond/sessiond/stress"
)

// Operation names in the harness's report.
const (
	opCreate       = "create"
	opReady        = "ready"
	opGet          = "get"
	opDelete       = "delete"
	opCycle        = "cycle"
	opProbeHealthz = "probe_healthz"
	opProbeList    = "probe_list"
)

// stepOperations are the operations whose errors count as the run's
// errors. The cycle repeats its steps' errors and the probes are reported
// apart.
var stepOperations = []string{opCreate, opReady, opGet, opDelete}

// runResult holds the outcome of one run.
type runResult struct {
	spec runSpec
	// planned is the workload before the budget shrank it.
	planned workload
	// duration is the workload's time limit (--duration).
	duration time.Duration

	// report is nil when the harness wrote none.
	report   *stress.Report
	exitCode int
	// failure describes why the run produced no usable report, or is empty.
	failure string

	wall time.Duration
	// loadBefore is the 1-minute load average when the run started.
	loadBefore float64
	// otherContainers counts the containers on the daemon, of any owner,
	// when the run started: other work that competes for the daemon.
	otherContainers int
	// leftovers counts the containers of this run still present after
	// sessiond stopped or the harness cleaned up, which the benchmark then
	// removed.
	leftovers int
	// cleanupProblem describes a leftover check that failed, or is empty.
	cleanupProblem string

	// sessiondWarnings counts sessiond's log lines at warn level or above.
	sessiondWarnings int
	// sessiondExit describes how sessiond ended, such as "exit 0".
	sessiondExit string
	// limitStart and limitEnd are the Docker concurrency limit that
	// /readyz showed before and after the workload. They stay 0 for inline
	// and raw Docker.
	limitStart, limitEnd int
}

// op returns the report's figures for one operation.
func (r *runResult) op(name string) (stress.OperationReport, bool) {
	if r == nil || r.report == nil {
		return stress.OperationReport{}, false
	}
	for _, op := range r.report.Operations {
		if op.Name == name {
			return op, true
		}
	}
	return stress.OperationReport{}, false
}

// usable reports whether the run has a report to show.
func (r *runResult) usable() bool { return r != nil && r.report != nil }

// complete reports whether every planned session of the run went through
// its cycle or failed on its own: the run was neither shrunk, cut short by
// its time limit nor interrupted.
func (r *runResult) complete() bool {
	if !r.usable() || r.report.Interrupted {
		return false
	}
	if r.spec.load != r.planned {
		return false
	}
	cycle, _ := r.op(opCycle)
	return cycle.Canceled == 0 && r.report.Sessions.Started >= r.planned.sessions
}

// cutShort reports whether the time limit ended the workload with
// sessions in flight or not yet started.
func (r *runResult) cutShort() bool {
	if !r.usable() {
		return false
	}
	cycle, _ := r.op(opCycle)
	return cycle.Canceled > 0 || r.report.Sessions.Started < r.spec.load.sessions
}

// errorCounts returns the errors of the run's steps, split into 429
// rejections, which sessiond sends on purpose to shed load, and all others.
func (r *runResult) errorCounts() (rejected, other int) {
	for _, name := range stepOperations {
		op, ok := r.op(name)
		if !ok {
			continue
		}
		for _, kind := range op.ErrorKinds {
			if isRejection(kind.Kind) {
				rejected += kind.Count
			} else {
				other += kind.Count
			}
		}
	}
	return rejected, other
}

// isRejection reports a 429 error kind of the harness: http_429 or
// http_429_<code>.
func isRejection(kind string) bool {
	return kind == "http_429" || strings.HasPrefix(kind, "http_429_")
}

// resultSet finds runs by configuration and workload.
type resultSet struct {
	runs []*runResult
}

func (s resultSet) find(configName, workloadKey string) *runResult {
	for _, r := range s.runs {
		if r.spec.cfg.name == configName && r.spec.load.key == workloadKey {
			return r
		}
	}
	return nil
}
