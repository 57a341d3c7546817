package main

import (
	"fmt"
	"strings"
)

// Targets of the benchmark.
const (
	// minThroughputRatio is the minimum sessiond throughput, as a share of
	// raw Docker's at the same concurrency.
	minThroughputRatio = 0.9
	maxHealthzP99MS    = 5.0
	maxListP99MS       = 20.0
	targetUsers        = 200
	// maxBurstP50Ratio is the maximum adaptive burst p50 time to ready, as
	// a share of raw Docker's.
	maxBurstP50Ratio = 0.65
	// maxIdleSessionBytes is the maximum memory per idle session: 10 KiB.
	maxIdleSessionBytes = 10 * 1024
)

type targetStatus int

const (
	statusMet targetStatus = iota
	statusMissed
	statusNotMeasured
)

func (s targetStatus) String() string {
	switch s {
	case statusMet:
		return "MET"
	case statusMissed:
		return "MISSED"
	default:
		return "NOT MEASURED"
	}
}

// worse returns the status that decides a target made of several checks:
// one missed check misses it, and otherwise one unmeasured check leaves it
// unmeasured.
func worse(a, b targetStatus) targetStatus {
	if a == statusMissed || b == statusMissed {
		return statusMissed
	}
	if a == statusNotMeasured || b == statusNotMeasured {
		return statusNotMeasured
	}
	return statusMet
}

// targetResult is one target with the figure that decides it.
type targetResult struct {
	target   string
	measured string
	status   targetStatus
}

// evaluateTargets checks every target against the runs and the idle
// memory benchmark. memory is nil when the benchmark did not run.
func evaluateTargets(results resultSet, memory *goBenchResult) []targetResult {
	var targets []targetResult
	for _, load := range concurrencyWorkloads {
		targets = append(targets, throughputTarget(results, load))
	}
	targets = append(targets,
		noStallTarget(results.find(configAdaptive, workloadBurst50), "burst of 50"),
		noStallTarget(results.find(configAdaptive, workloadC50), "50 users in create-ready-delete"),
		usersTarget(results.find(configAdaptive, workloadC200)),
		burstTarget(results),
		memoryTarget(memory),
	)
	return targets
}

// unusable explains why r cannot decide a target, or returns "".
func unusable(r *runResult, name string) string {
	switch {
	case r == nil:
		return name + " did not run"
	case !r.usable():
		return name + " failed: " + r.failure
	case !r.complete():
		return name + " did not complete its planned sessions"
	}
	return ""
}

func throughputTarget(results resultSet, load workload) targetResult {
	t := targetResult{target: fmt.Sprintf("create-ready-delete throughput at concurrency %d (async, adaptive) at least %.0f%% of raw Docker's",
		load.concurrency, minThroughputRatio*100)}
	sessiond := results.find(configAdaptive, load.key)
	raw := results.find(configRaw, load.key)
	for _, check := range []struct {
		r    *runResult
		name string
	}{{sessiond, "the sessiond run"}, {raw, "the raw-Docker run"}} {
		if reason := unusable(check.r, check.name); reason != "" {
			t.measured, t.status = reason, statusNotMeasured
			return t
		}
	}
	own, _ := sessiond.op(opCycle)
	base, _ := raw.op(opCycle)
	if base.ThroughputPerS <= 0 {
		t.measured, t.status = "raw Docker completed no cycle", statusNotMeasured
		return t
	}
	ratio := own.ThroughputPerS / base.ThroughputPerS
	t.measured = fmt.Sprintf("%.2f vs %.2f cycles/s: %.1f%%", own.ThroughputPerS, base.ThroughputPerS, ratio*100)
	t.status = statusMissed
	if ratio >= minThroughputRatio {
		t.status = statusMet
	}
	return t
}

func noStallTarget(r *runResult, runName string) targetResult {
	t := targetResult{target: fmt.Sprintf("GET /healthz p99 under %.0f ms and GET /v1/sessions p99 under %.0f ms with 50 creations in flight (async, adaptive; %s)",
		maxHealthzP99MS, maxListP99MS, runName)}
	if reason := unusable(r, "the run"); reason != "" {
		t.measured, t.status = reason, statusNotMeasured
		return t
	}
	healthz, okHealthz := r.op(opProbeHealthz)
	list, okList := r.op(opProbeList)
	if !okHealthz || !okList || healthz.OK == 0 || list.OK == 0 {
		t.measured, t.status = "the probe recorded no successful request", statusNotMeasured
		return t
	}
	t.measured = fmt.Sprintf("healthz p99 %s ms, list p99 %s ms (%d and %d requests)",
		formatMS(healthz.P99MS), formatMS(list.P99MS), healthz.Count, list.Count)
	t.status = statusMet
	if healthz.P99MS >= maxHealthzP99MS || list.P99MS >= maxListP99MS {
		t.status = statusMissed
	}
	if failed := healthz.Errors + list.Errors; failed > 0 {
		// A failed probe request is a stall that the percentiles of the
		// successful ones do not show.
		t.measured += fmt.Sprintf("; %d probe requests failed", failed)
		t.status = statusMissed
	}
	return t
}

func usersTarget(r *runResult) targetResult {
	t := targetResult{target: fmt.Sprintf("%d concurrent users with real containers, no error other than a deliberate 429 (async, adaptive)", targetUsers)}
	if r == nil || !r.usable() {
		t.measured, t.status = unusable(r, "the 200-user run"), statusNotMeasured
		return t
	}
	if r.spec.load.concurrency != targetUsers {
		t.measured, t.status = fmt.Sprintf("the run had %d users, not %d", r.spec.load.concurrency, targetUsers), statusNotMeasured
		return t
	}
	rejected, other := r.errorCounts()
	cycle, _ := r.op(opCycle)
	t.measured = fmt.Sprintf("%d of %d cycles completed, %d errors, %d rejected with 429", cycle.OK, r.spec.load.sessions, other, rejected)
	switch {
	case other > 0:
		t.status = statusMissed
	case !r.complete():
		t.measured += ", run cut short"
		t.status = statusNotMeasured
	default:
		t.status = statusMet
	}
	return t
}

func burstTarget(results resultSet) targetResult {
	t := targetResult{target: fmt.Sprintf("burst of 50 (async, adaptive): p50 time to ready at most %.2f× raw Docker's, at least %.0f%% of its throughput, and lower than with every fixed pool size",
		maxBurstP50Ratio, minThroughputRatio*100)}
	adaptive := results.find(configAdaptive, workloadBurst50)
	raw := results.find(configRaw, workloadBurst50)
	for _, check := range []struct {
		r    *runResult
		name string
	}{{adaptive, "the adaptive burst"}, {raw, "the raw-Docker burst"}} {
		if reason := unusable(check.r, check.name); reason != "" {
			t.measured, t.status = reason, statusNotMeasured
			return t
		}
	}
	ready, _ := adaptive.op(opReady)
	rawReady, _ := raw.op(opReady)
	cycle, _ := adaptive.op(opCycle)
	rawCycle, _ := raw.op(opCycle)
	if rawReady.P50MS <= 0 || rawCycle.ThroughputPerS <= 0 {
		t.measured, t.status = "the raw-Docker burst has no ready session", statusNotMeasured
		return t
	}

	var parts []string
	latencyRatio := ready.P50MS / rawReady.P50MS
	status := statusMissed
	if latencyRatio <= maxBurstP50Ratio {
		status = statusMet
	}
	parts = append(parts, fmt.Sprintf("p50 %s s vs raw %s s: %.3f×", formatSeconds(ready.P50MS), formatSeconds(rawReady.P50MS), latencyRatio))

	throughputRatio := cycle.ThroughputPerS / rawCycle.ThroughputPerS
	if throughputRatio < minThroughputRatio {
		status = worse(status, statusMissed)
	}
	parts = append(parts, fmt.Sprintf("%.2f vs %.2f cycles/s: %.1f%%", cycle.ThroughputPerS, rawCycle.ThroughputPerS, throughputRatio*100))

	var fixed []string
	for _, size := range fixedPoolSizes {
		r := results.find(fixedConfigName(size), workloadBurst50)
		if reason := unusable(r, fmt.Sprintf("pool of %d", size)); reason != "" {
			fixed = append(fixed, reason)
			status = worse(status, statusNotMeasured)
			continue
		}
		other, _ := r.op(opReady)
		fixed = append(fixed, fmt.Sprintf("pool of %d: %s s", size, formatSeconds(other.P50MS)))
		if ready.P50MS >= other.P50MS {
			status = worse(status, statusMissed)
		}
	}
	parts = append(parts, "fixed pools' p50: "+strings.Join(fixed, ", "))
	t.measured = strings.Join(parts, "; ")
	t.status = status
	return t
}

func memoryTarget(memory *goBenchResult) targetResult {
	t := targetResult{target: "under 10 KiB of sessiond memory per idle session (10,000 sessions, fake engine)"}
	if memory == nil {
		t.measured, t.status = "BenchmarkIdleSessionMemory did not run", statusNotMeasured
		return t
	}
	bytes, ok := memory.metric("bytes/session")
	if !ok {
		t.measured, t.status = "BenchmarkIdleSessionMemory reported no bytes/session", statusNotMeasured
		return t
	}
	t.measured = fmt.Sprintf("%.0f bytes/session (%.2f KiB)", bytes, bytes/1024)
	t.status = statusMissed
	if bytes < maxIdleSessionBytes {
		t.status = statusMet
	}
	return t
}
