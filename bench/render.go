package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sessiond/sessiond/stress"
)

// benchRun holds the figures and facts that docs/benchmarks.md reports.
type benchRun struct {
	runID     string
	started   time.Time
	elapsed   time.Duration
	budget    time.Duration
	scale     float64
	machine   machine
	loadStart float64
	loadEnd   float64
	// commonSettings are the sessiond settings of every configuration.
	commonSettings map[string]string
	results        resultSet
	goBench        []goBenchRun
	// notes are remarks about the run as a whole, such as failures.
	notes []string
}

const notAvailable = "n/a"

// renderDoc returns the content of docs/benchmarks.md.
func renderDoc(b *benchRun) string {
	var doc strings.Builder
	writeIntro(&doc)
	writeMachine(&doc, b)
	writeMethod(&doc, b)
	writeTargets(&doc, evaluateTargets(b.results, findGoBench(b.goBench, "BenchmarkIdleSessionMemory")))
	writeTableA(&doc, b.results)
	writeNoStall(&doc, b.results)
	writeTableB(&doc, b.results)
	writeGoBench(&doc, b.goBench)
	writeRuns(&doc, b)
	return doc.String()
}

func writeIntro(doc *strings.Builder) {
	doc.WriteString("# Benchmarks\n\n")
	doc.WriteString("This page is written by `make bench`, the program in `bench/`. Run it again\n" +
		"to replace the figures. The figures come from one run on the machine below,\n" +
		"while other work may have shared it: see the load and other containers in\n" +
		"[Runs](#runs).\n\n")
}

func writeMachine(doc *strings.Builder, b *benchRun) {
	m := b.machine
	doc.WriteString("## Machine and run\n\n")
	doc.WriteString("| | |\n|---|---|\n")
	rows := [][2]string{
		{"command", "`make bench`"},
		{"date", b.started.UTC().Format("2006-01-02 15:04 UTC")},
		{"total run time", fmt.Sprintf("%s (the benchmark program, after `make build image`; budget %s)", formatDuration(b.elapsed), formatDuration(b.budget))},
		{"sessiond commit", m.commit},
		{"CPU", fmt.Sprintf("%d cores (Go's runtime.NumCPU), %s", m.cores, m.cpuModel)},
		{"memory", m.memory + " (MemTotal in /proc/meminfo)"},
		{"Docker", fmt.Sprintf("%s; negotiated API %s; %s", m.dockerServer, m.dockerNegotiated, m.dockerStorage)},
		{"Go", m.goVersion},
		{"kernel", m.kernel},
		{"load average", fmt.Sprintf("%s at the start, %s at the end (1 minute)", formatLoad(b.loadStart), formatLoad(b.loadEnd))},
	}
	for _, row := range rows {
		fmt.Fprintf(doc, "| %s | %s |\n", row[0], escapeCell(row[1]))
	}
	doc.WriteString("\n")
	for _, note := range b.notes {
		fmt.Fprintf(doc, "- %s\n", note)
	}
	if len(b.notes) > 0 {
		doc.WriteString("\n")
	}
}

func writeMethod(doc *strings.Builder, b *benchRun) {
	doc.WriteString("## Method\n\n")
	fmt.Fprintf(doc, "- Every run starts its own sessiond (`bin/sessiond serve`) on a free\n"+
		"  127.0.0.1 port and stops it with SIGINT afterwards, which removes its\n"+
		"  containers. A fresh process means that each adaptive run starts at\n"+
		"  `DOCKER_LIMIT_INITIAL` (1) and the session list holds only the run's\n"+
		"  own sessions. After each run the benchmark lists the containers\n"+
		"  labelled `%s=%s` through the Docker API and removes any that are\n"+
		"  left. The settings of every run, besides the configuration's own:\n\n",
		benchLabel, b.runID)
	for _, setting := range sortedSettings(b.commonSettings) {
		fmt.Fprintf(doc, "      %s\n", setting)
	}
	doc.WriteString("\n")
	doc.WriteString("- Configurations:\n" +
		"  - *async, adaptive limit*: sessiond's defaults (`USE_ASYNC_DOCKER=true`,\n" +
		"    `DOCKER_ADAPTIVE_LIMIT=true`, `ASYNC_POOL_SIZE=20`, `DOCKER_LIMIT_MIN=1`,\n" +
		"    `DOCKER_LIMIT_INITIAL=1`).\n" +
		"  - *inline*: `USE_ASYNC_DOCKER=false`.\n" +
		"  - *fixed pool of N*: `DOCKER_ADAPTIVE_LIMIT=false` with `ASYNC_POOL_SIZE=N`.\n" +
		"  - *raw Docker*: `sessiond stress --baseline raw-docker`, which creates,\n" +
		"    starts, probes and removes the containers straight through the Docker\n" +
		"    API with the same concurrency and no sessiond, every call at once.\n")
	fmt.Fprintf(doc, "- The load comes from the stress harness (package `stress`, the code of\n"+
		"  `sessiond stress`), run inside the benchmark with `--wait %s --timeout %s`\n"+
		"  and its default 100 ms poll and probe intervals. create-ready-delete\n"+
		"  runs with `--concurrency N --users N`, and the burst is `--scenario burst\n"+
		"  --sessions 50`: 50 creates released at the same instant. The `--duration`\n"+
		"  of each run is its share of the time budget (see [Runs](#runs)).\n",
		harnessWait, harnessTimeout)
	doc.WriteString("- *cycles/s* is completed create-ready-delete cycles per second of the\n" +
		"  workload's time. *ready* is the time from sending the create until the\n" +
		"  session is seen ready. The harness polls `GET /v1/sessions/{id}` (raw\n" +
		"  Docker: the container's health path) every 100 ms, so it is known to\n" +
		"  about 100 ms. *create* is the time until POST /v1/sessions returns 202\n" +
		"  (raw Docker: the create and start calls). Percentiles use the nearest\n" +
		"  rank over the successful operations. *errors* counts failed steps other\n" +
		"  than 429 rejections, which are listed apart.\n")
	doc.WriteString("- The probe sends `GET /healthz` and `GET /v1/sessions` every 100 ms for\n" +
		"  the whole workload, including its last phase when fewer sessions are in\n" +
		"  flight. For raw Docker it pings the daemon and lists the run's\n" +
		"  containers instead, which adds about 20 calls per second to the\n" +
		"  daemon's load that the sessiond runs do not have.\n")
	if b.scale != 1 {
		fmt.Fprintf(doc, "- Session counts were multiplied by %.2f (`--scale`), so these are not\n"+
			"  the standard workloads.\n", b.scale)
	}
	doc.WriteString("\n")
}

// missedTargetNotes explains the targets that runs on this kind of
// machine (2 cores, Docker 20.10 on fuse-overlayfs) missed, from what the
// runs of the adaptive limit showed. It is printed after the targets
// whatever the figures of the run are.
const missedTargetNotes = `Reading the misses, from four runs on this kind of machine:

- Throughput at one concurrency varied by up to 40% between runs of the
  same code (raw Docker at 200 users: 3.3 to 5.1 cycles/s), more than
  the 10% margin of the throughput target; a single miss at one
  concurrency says little.
- GET /healthz does not reach the actors, and its p50 stays under 1 ms;
  its p99 follows the load of the two cores, which dockerd, containerd,
  runc and the starting containers saturate while 50 creations are in
  flight. Inline mode, where nothing runs on the pool, shows the same.
- The burst target assumes that raw Docker finishes a burst near its
  end. This daemon already spreads it out (p50 near half of p99), so a
  queue in front of it gains less than the target asks; fixed pools of 4
  to 20 and the adaptive limit land within noise of each other.

`

func writeTargets(doc *strings.Builder, targets []targetResult) {
	doc.WriteString("## Targets\n\n")
	met := 0
	for _, t := range targets {
		if t.status == statusMet {
			met++
		}
	}
	fmt.Fprintf(doc, "%d of %d targets met.\n\n", met, len(targets))
	doc.WriteString("| target | measured | result |\n|---|---|---|\n")
	for _, t := range targets {
		fmt.Fprintf(doc, "| %s | %s | %s |\n", escapeCell(t.target), escapeCell(t.measured), t.status)
	}
	doc.WriteString("\n")
	if met < len(targets) {
		doc.WriteString(missedTargetNotes)
	}
}

// tableAConfigs are the rows of table A within each concurrency.
var tableAConfigs = []string{configRaw, configAdaptive, configInline}

func writeTableA(doc *strings.Builder, results resultSet) {
	doc.WriteString("## A: create-ready-delete by concurrency\n\n")
	doc.WriteString("*vs raw* is the configuration's cycles/s divided by raw Docker's at the same concurrency.\n\n")
	doc.WriteString("| concurrency | configuration | cycles | cycles/s | vs raw | ready p50 | ready p99 | create p50 | create p99 | errors |\n")
	doc.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, load := range concurrencyWorkloads {
		raw := results.find(configRaw, load.key)
		for _, name := range tableAConfigs {
			r := results.find(name, load.key)
			concurrency := load.concurrency
			if r != nil {
				concurrency = r.spec.load.concurrency
			}
			fmt.Fprintf(doc, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				concurrency, configTitle(name), cyclesCell(r), throughputCell(r), ratioCell(r, raw, name == configRaw),
				secondsCell(r, opReady, p50), secondsCell(r, opReady, p99),
				msCell(r, opCreate, p50), msCell(r, opCreate, p99), errorsCell(r))
		}
	}
	doc.WriteString("\n")
	writeErrorKinds(doc, results, concurrencyWorkloads, tableAConfigs)
}

// noStallRows are the runs with 50 creations in flight.
var noStallRows = []struct{ config, workload, label string }{
	{configAdaptive, workloadBurst50, "burst of 50"},
	{configAdaptive, workloadC50, "concurrency 50"},
	{configInline, workloadBurst50, "burst of 50"},
	{configInline, workloadC50, "concurrency 50"},
}

func writeNoStall(doc *strings.Builder, results resultSet) {
	doc.WriteString("## No stall: health and list while 50 creations are in flight\n\n")
	doc.WriteString("Latency in ms of the probe's requests during the burst of 50 and the\n" +
		"create-ready-delete run at concurrency 50. `GET /healthz` does not reach\n" +
		"the actors, so its latency is that of the HTTP server on a machine\n" +
		"shared with the Docker daemon, the containers and the harness.\n" +
		"`GET /v1/sessions` asks the actors for the session list.\n\n")
	doc.WriteString("| mode | run | healthz p50 | healthz p99 | healthz max | list p50 | list p99 | list max | requests (failed) |\n")
	doc.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range noStallRows {
		r := results.find(row.config, row.workload)
		healthz, okHealthz := r.op(opProbeHealthz)
		list, okList := r.op(opProbeList)
		requests := notAvailable
		if okHealthz && okList {
			requests = fmt.Sprintf("%d (%d)", healthz.Count+list.Count, healthz.Errors+list.Errors)
		}
		fmt.Fprintf(doc, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			configTitle(row.config), row.label,
			probeCell(healthz, okHealthz, p50), probeCell(healthz, okHealthz, p99), probeCell(healthz, okHealthz, maxLatency),
			probeCell(list, okList, p50), probeCell(list, okList, p99), probeCell(list, okList, maxLatency), requests)
	}
	doc.WriteString("\n")
}

// tableBConfigs are the rows of table B.
func tableBConfigs() []string {
	names := []string{configAdaptive}
	for i := len(fixedPoolSizes) - 1; i >= 0; i-- {
		names = append(names, fixedConfigName(fixedPoolSizes[i]))
	}
	return append(names, configInline, configRaw)
}

func writeTableB(doc *strings.Builder, results resultSet) {
	doc.WriteString("## B: burst of 50 and 200 users by Docker concurrency\n\n")
	doc.WriteString("*vs raw* is the p50 time to ready divided by raw Docker's in the same\n" +
		"workload. Below 1 means that sessions become ready sooner than with every\n" +
		"call sent to the daemon at once. The 200-user runs of adaptive, inline\n" +
		"and raw Docker are the concurrency-200 runs of table A.\n\n")
	doc.WriteString("| configuration | burst: ready p50 | ready p99 | cycles/s | p50 vs raw | errors | 200 users: ready p50 | ready p99 | cycles/s | p50 vs raw | errors |\n")
	doc.WriteString("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n")
	rawBurst := results.find(configRaw, workloadBurst50)
	rawUsers := results.find(configRaw, workloadC200)
	for _, name := range tableBConfigs() {
		burst := results.find(name, workloadBurst50)
		users := results.find(name, workloadC200)
		fmt.Fprintf(doc, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", configTitle(name),
			secondsCell(burst, opReady, p50), secondsCell(burst, opReady, p99), throughputCell(burst), latencyRatioCell(burst, rawBurst), errorsCell(burst),
			secondsCell(users, opReady, p50), secondsCell(users, opReady, p99), throughputCell(users), latencyRatioCell(users, rawUsers), errorsCell(users))
	}
	doc.WriteString("\n")
	writeErrorKinds(doc, results, []workload{burstWorkload}, tableBConfigs())
	var fixedUsers []string
	for i := len(fixedPoolSizes) - 1; i >= 0; i-- {
		fixedUsers = append(fixedUsers, fixedConfigName(fixedPoolSizes[i]))
	}
	writeErrorKinds(doc, results, []workload{c200Workload}, fixedUsers)
}

func writeGoBench(doc *strings.Builder, runs []goBenchRun) {
	doc.WriteString("## Go benchmarks of the actor path\n\n")
	doc.WriteString("The actors with an in-memory fake engine, no Docker: a create and delete\n" +
		"round trip, GET of one session while four goroutines create and delete\n" +
		"others, and the heap per ready idle session with 10,000 sessions.\n\n")
	for _, run := range runs {
		fmt.Fprintf(doc, "`go %s`", strings.Join(quoteArgs(run.args), " "))
		if run.failure != "" {
			fmt.Fprintf(doc, " failed: %s\n\n", run.failure)
			continue
		}
		fmt.Fprintf(doc, " (%s)\n\n", formatDuration(run.elapsed))
		doc.WriteString("| benchmark | iterations | result |\n|---|---:|---|\n")
		for _, r := range run.results {
			var metrics []string
			for _, m := range r.metrics {
				metrics = append(metrics, fmt.Sprintf("%s %s", formatFloat(m.value), m.unit))
			}
			fmt.Fprintf(doc, "| %s | %d | %s |\n", r.name, r.iterations, strings.Join(metrics, ", "))
		}
		doc.WriteString("\n")
	}
}

func writeRuns(doc *strings.Builder, b *benchRun) {
	doc.WriteString("## Runs\n\n")
	doc.WriteString("In the order they ran. *sessions* is started / ready / completed of\n" +
		"planned. *limit* is the Docker concurrency limit that `/readyz` showed\n" +
		"before and after the workload. *load* is the 1-minute load average and\n" +
		"*other containers* the containers of any owner on the daemon when the run\n" +
		"started. *leftovers* are containers of the run found after it ended,\n" +
		"which the benchmark removed. *warnings* counts sessiond's log lines at\n" +
		"WARN or ERROR.\n\n")
	doc.WriteString("| run | sessions | time limit | workload | wall | limit | load | other containers | leftovers | warnings | notes |\n")
	doc.WriteString("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|\n")
	shrunkOrCut := 0
	for _, r := range b.results.runs {
		sessions, workloadTime := notAvailable, notAvailable
		if r.usable() {
			s := r.report.Sessions
			sessions = fmt.Sprintf("%d / %d / %d of %d", s.Started, s.Ready, s.Completed, r.spec.load.sessions)
			workloadTime = fmt.Sprintf("%.1f s", r.report.ElapsedS)
		}
		limit := notAvailable
		if !r.spec.cfg.raw && r.spec.cfg.name != configInline {
			limit = fmt.Sprintf("%d → %d", r.limitStart, r.limitEnd)
		}
		notes := runNotes(r)
		if r.spec.load != r.planned || r.cutShort() {
			shrunkOrCut++
		}
		warnings := notAvailable
		if !r.spec.cfg.raw {
			warnings = fmt.Sprint(r.sessiondWarnings)
		}
		fmt.Fprintf(doc, "| %s | %s | %s | %s | %.1f s | %s | %s | %s | %d | %s | %s |\n",
			r.spec.id(), sessions, formatDuration(r.duration), workloadTime, r.wall.Seconds(), limit,
			formatLoad(r.loadBefore), formatCount(r.otherContainers), r.leftovers, warnings, escapeCell(strings.Join(notes, "; ")))
	}
	doc.WriteString("\n")
	if shrunkOrCut == 0 {
		doc.WriteString("No run was shrunk or cut short by the time budget.\n")
	} else {
		fmt.Fprintf(doc, "Runs shrunk or cut short by the time budget: %d (see their notes). The\n"+
			"cycles/s of a cut run counts only the cycles completed before the cut.\n"+
			"When not all its sessions became ready, its time-to-ready percentiles\n"+
			"cover only the earliest ones and are marked ≥, because the true figures\n"+
			"are at least as long.\n", shrunkOrCut)
	}
}

// runNotes returns the remarks about one run: failures, shrinking, cuts,
// exit statuses and cleanup problems.
func runNotes(r *runResult) []string {
	var notes []string
	if r.failure != "" {
		notes = append(notes, "failed: "+r.failure)
	}
	if r.spec.load != r.planned {
		notes = append(notes, fmt.Sprintf("shrunk from %d sessions to fit the budget", r.planned.sessions))
	}
	if r.cutShort() {
		ready, _ := r.op(opReady)
		cycle, _ := r.op(opCycle)
		notes = append(notes, fmt.Sprintf("cut short by its time limit with %d of %d sessions ready and %d completed",
			ready.OK, r.spec.load.sessions, cycle.OK))
	}
	if r.usable() && r.report.Interrupted {
		notes = append(notes, "interrupted")
	}
	if r.exitCode != 0 && r.failure == "" {
		notes = append(notes, fmt.Sprintf("harness exit status %d", r.exitCode))
	}
	if r.usable() && r.report.Sessions.Leftover > 0 {
		notes = append(notes, fmt.Sprintf("harness left %d sessions", r.report.Sessions.Leftover))
	}
	if !r.spec.cfg.raw && r.sessiondExit != "" && r.sessiondExit != "exit 0" {
		notes = append(notes, "sessiond: "+r.sessiondExit)
	}
	if r.cleanupProblem != "" {
		notes = append(notes, "cleanup: "+r.cleanupProblem)
	}
	return notes
}

// writeErrorKinds lists the error kinds of the runs in the given workloads
// and configurations, when there are any.
func writeErrorKinds(doc *strings.Builder, results resultSet, loads []workload, configs []string) {
	var lines []string
	for _, load := range loads {
		for _, name := range configs {
			r := results.find(name, load.key)
			for _, opName := range stepOperations {
				op, ok := r.op(opName)
				if !ok {
					continue
				}
				for _, kind := range op.ErrorKinds {
					lines = append(lines, fmt.Sprintf("- %s, %s: %s %s ×%d, such as: %s",
						configTitle(name), describeWorkload(r.spec.load), opName, kind.Kind, kind.Count, truncate(kind.Example, 160)))
				}
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	doc.WriteString("Errors by kind:\n\n")
	doc.WriteString(strings.Join(lines, "\n"))
	doc.WriteString("\n\n")
}

func describeWorkload(load workload) string {
	if load.scenario == scenarioBurst {
		return fmt.Sprintf("burst of %d", load.sessions)
	}
	return fmt.Sprintf("concurrency %d", load.concurrency)
}

func configTitle(name string) string {
	for _, cfg := range allConfigs() {
		if cfg.name == name {
			return cfg.title
		}
	}
	return name
}

// percentileOf picks one latency of an operation.
type percentileOf func(op stress.OperationReport) float64

func p50(op stress.OperationReport) float64        { return op.P50MS }
func p99(op stress.OperationReport) float64        { return op.P99MS }
func maxLatency(op stress.OperationReport) float64 { return op.MaxMS }

// cyclesCell shows the completed cycles, and the planned count when the
// run did not complete them all.
func cyclesCell(r *runResult) string {
	cycle, ok := r.op(opCycle)
	if !ok {
		return failedCell(r)
	}
	switch {
	case r.cutShort():
		return fmt.Sprintf("%d of %d, cut short", cycle.OK, r.spec.load.sessions)
	case r.spec.load != r.planned:
		return fmt.Sprintf("%d (shrunk from %d)", cycle.OK, r.planned.sessions)
	case cycle.OK < r.spec.load.sessions:
		return fmt.Sprintf("%d of %d", cycle.OK, r.spec.load.sessions)
	}
	return fmt.Sprint(cycle.OK)
}

// failedCell marks a run without figures: not run, or failed.
func failedCell(r *runResult) string {
	if r == nil {
		return "not run"
	}
	return "failed"
}

func throughputCell(r *runResult) string {
	cycle, ok := r.op(opCycle)
	if !ok {
		return notAvailable
	}
	if r.cutShort() {
		return fmt.Sprintf("%.2f (cut short)", cycle.ThroughputPerS)
	}
	return fmt.Sprintf("%.2f", cycle.ThroughputPerS)
}

func ratioCell(r, raw *runResult, isRaw bool) string {
	if isRaw {
		if r.usable() {
			return "baseline"
		}
		return notAvailable
	}
	own, ok := r.op(opCycle)
	base, okBase := raw.op(opCycle)
	if !ok || !okBase || base.ThroughputPerS <= 0 {
		return notAvailable
	}
	return fmt.Sprintf("%.2f", own.ThroughputPerS/base.ThroughputPerS)
}

func latencyRatioCell(r, raw *runResult) string {
	own, ok := r.op(opReady)
	base, okBase := raw.op(opReady)
	if !ok || !okBase || own.OK == 0 || base.OK == 0 || base.P50MS <= 0 {
		return notAvailable
	}
	return fmt.Sprintf("%.2f", own.P50MS/base.P50MS)
}

// secondsCell shows one latency of an operation in seconds. It marks a
// lower bound: the figure of a run cut short before all its sessions got
// through the operation.
func secondsCell(r *runResult, name string, pick percentileOf) string {
	op, ok := r.op(name)
	if !ok || op.OK == 0 {
		return notAvailable
	}
	cell := formatSeconds(pick(op)) + " s"
	if r.cutShort() && op.OK < r.spec.load.sessions {
		cell = "≥ " + cell
	}
	return cell
}

// msCell shows one latency of an operation in milliseconds.
func msCell(r *runResult, name string, pick percentileOf) string {
	op, ok := r.op(name)
	if !ok || op.OK == 0 {
		return notAvailable
	}
	return formatMS(pick(op)) + " ms"
}

func probeCell(op stress.OperationReport, ok bool, pick percentileOf) string {
	if !ok || op.OK == 0 {
		return notAvailable
	}
	return formatMS(pick(op))
}

func errorsCell(r *runResult) string {
	if !r.usable() {
		return failedCell(r)
	}
	rejected, other := r.errorCounts()
	cell := fmt.Sprint(other)
	if rejected > 0 {
		cell += fmt.Sprintf(", 429: %d", rejected)
	}
	canceled := 0
	for _, name := range stepOperations {
		op, _ := r.op(name)
		canceled += op.Canceled
	}
	if canceled > 0 {
		cell += fmt.Sprintf(", canceled: %d", canceled)
	}
	return cell
}

// formatMS writes a latency in milliseconds with about three significant
// digits.
func formatMS(ms float64) string {
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f", ms)
	default:
		return fmt.Sprintf("%.0f", ms)
	}
}

// formatSeconds writes a latency given in milliseconds as seconds.
func formatSeconds(ms float64) string {
	return fmt.Sprintf("%.2f", ms/1000)
}

func formatFloat(value float64) string {
	if value == float64(int64(value)) {
		return fmt.Sprint(int64(value))
	}
	return fmt.Sprintf("%.1f", value)
}

func formatDuration(d time.Duration) string {
	return d.Round(time.Second).String()
}

func formatLoad(load float64) string {
	if load < 0 {
		return notAvailable
	}
	return fmt.Sprintf("%.2f", load)
}

func formatCount(count int) string {
	if count < 0 {
		return notAvailable
	}
	return fmt.Sprint(count)
}

// sortedSettings returns settings as KEY=value in key order.
func sortedSettings(settings map[string]string) []string {
	keys := make([]string, 0, len(settings))
	for key := range settings {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	lines := make([]string, 0, len(keys))
	for _, key := range keys {
		lines = append(lines, key+"="+settings[key])
	}
	return lines
}

// quoteArgs quotes the arguments that a shell would split or expand.
func quoteArgs(args []string) []string {
	quoted := make([]string, len(args))
	for i, arg := range args {
		if strings.ContainsAny(arg, " |^$*") {
			arg = "'" + arg + "'"
		}
		quoted[i] = arg
	}
	return quoted
}

// escapeCell keeps text from breaking a Markdown table row.
func escapeCell(text string) string {
	text = strings.ReplaceAll(text, "\n", " ")
	return strings.ReplaceAll(text, "|", "\\|")
}

// truncate shortens text to n runes.
func truncate(text string, n int) string {
	runes := []rune(text)
	if len(runes) <= n {
		return text
	}
	return string(runes[:n]) + "…"
}
