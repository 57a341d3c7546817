package main

import (
	"strings"
	"testing"
	"time"
)

// tableRow returns the Markdown table row of doc that contains every one of
// parts, in any order.
func tableRow(t *testing.T, doc string, parts ...string) string {
	t.Helper()
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		found := true
		for _, part := range parts {
			if !strings.Contains(line, part) {
				found = false
				break
			}
		}
		if found {
			return line
		}
	}
	t.Fatalf("no table row contains %q", parts)
	return ""
}

func TestTableARatioAndCells(t *testing.T) {
	var doc strings.Builder
	writeTableA(&doc, goodResults())
	out := doc.String()

	raw := tableRow(t, out, "| 10 | raw Docker |")
	for _, want := range []string{"| 20 |", "| 5.00 |", "| baseline |", "| 1.00 s |", "| 3.00 s |", "| 400 ms |", "| 900 ms |", "| 0 |"} {
		if !strings.Contains(raw, want) {
			t.Errorf("raw row %q lacks %q", raw, want)
		}
	}
	adaptive := tableRow(t, out, "| 10 | async, adaptive limit |")
	for _, want := range []string{"| 4.80 |", "| 0.96 |", "| 1.10 s |", "| 2.00 ms |", "| 5.00 ms |"} {
		if !strings.Contains(adaptive, want) {
			t.Errorf("adaptive row %q lacks %q", adaptive, want)
		}
	}
	inline := tableRow(t, out, "| 200 | inline |")
	if !strings.Contains(inline, "| 0.80 |") {
		t.Errorf("inline row %q lacks the ratio 0.80", inline)
	}
}

func TestTableAMissingAndFailedRuns(t *testing.T) {
	failed := &runResult{spec: runSpec{inlineConfig, c50Workload}, planned: c50Workload, failure: "sessiond exited"}
	results := resultSet{runs: []*runResult{
		fakeRun(rawConfig, c50Workload, cycleOp(50, 5), readyOp(50, 2000, 4000), createOp(50, 900, 2000)),
		failed,
	}}
	var doc strings.Builder
	writeTableA(&doc, results)
	out := doc.String()

	adaptive := tableRow(t, out, "| 50 | async, adaptive limit |")
	if !strings.Contains(adaptive, "not run") || !strings.Contains(adaptive, notAvailable) {
		t.Errorf("missing run's row %q should say not run and %s", adaptive, notAvailable)
	}
	inline := tableRow(t, out, "| 50 | inline |")
	if !strings.Contains(inline, "failed") {
		t.Errorf("failed run's row %q should say failed", inline)
	}
}

func TestTableAErrorsAndCutRuns(t *testing.T) {
	ready := withErrors(readyOp(180, 9000, 40000), "ready_timeout", 12)
	create := withErrors(createOp(195, 3, 8), "http_429_queue_full", 5)
	cycle := cycleOp(180, 3)
	cycle.Canceled = 8
	cut := fakeRun(inlineConfig, c200Workload, create, ready, cycle)
	results := resultSet{runs: []*runResult{cut}}

	var doc strings.Builder
	writeTableA(&doc, results)
	out := doc.String()

	row := tableRow(t, out, "| 200 | inline |")
	if !strings.Contains(row, "180 of 200, cut short") {
		t.Errorf("row %q does not mark the run as cut short", row)
	}
	if !strings.Contains(row, "| 3.00 (cut short) |") {
		t.Errorf("row %q does not mark the throughput of a cut run", row)
	}
	if !strings.Contains(row, "| ≥ 9.00 s | ≥ 40.00 s |") {
		t.Errorf("row %q does not mark the ready percentiles as lower bounds", row)
	}
	if !strings.Contains(row, "| 3.00 ms | 8.00 ms |") {
		t.Errorf("row %q should show the create percentiles of a cut run as they are", row)
	}
	if !strings.Contains(row, "| 12, 429: 5 |") {
		t.Errorf("row %q does not split errors from 429 rejections", row)
	}
	if !strings.Contains(out, "- inline, concurrency 200: ready ready_timeout ×12, such as: example of ready_timeout") {
		t.Errorf("error kinds are not listed:\n%s", out)
	}
}

func TestNoStallTable(t *testing.T) {
	var doc strings.Builder
	writeNoStall(&doc, goodResults())
	out := doc.String()

	burst := tableRow(t, out, "| async, adaptive limit | burst of 50 |")
	if want := "| 0.50 | 1.50 | 2.00 | 0.70 | 3.00 | 4.00 | 300 (0) |"; !strings.HasSuffix(burst, want) {
		t.Errorf("burst row %q, want it to end with %q", burst, want)
	}
	inline := tableRow(t, out, "| inline | concurrency 50 |")
	if want := "| 0.50 | 30.0 | 40.0 | 0.60 | 35.0 | 50.0 | 200 (0) |"; !strings.HasSuffix(inline, want) {
		t.Errorf("inline row %q, want it to end with %q", inline, want)
	}
	// goodResults has no inline burst.
	missing := tableRow(t, out, "| inline | burst of 50 |")
	if strings.Count(missing, notAvailable) != 7 {
		t.Errorf("row of a missing run %q should have 7 cells %s", missing, notAvailable)
	}
}

func TestTableBRatios(t *testing.T) {
	var doc strings.Builder
	writeTableB(&doc, goodResults())
	out := doc.String()

	adaptive := tableRow(t, out, "| async, adaptive limit |")
	if !strings.HasPrefix(adaptive, "| async, adaptive limit | 4.00 s | 9.50 s | 5.10 | 0.50 | 0 |") {
		t.Errorf("adaptive row %q", adaptive)
	}
	// The 200-user columns reuse table A's c200 runs.
	if !strings.HasSuffix(adaptive, "| 1.10 s | 3.10 s | 4.80 | 1.10 | 0 |") {
		t.Errorf("adaptive row %q lacks the 200-user figures of the c200 run", adaptive)
	}
	fixed := tableRow(t, out, "| async, fixed pool of 4 |")
	if !strings.HasPrefix(fixed, "| async, fixed pool of 4 | 5.00 s | 9.00 s | 4.50 | 0.63 | 0 | n/a |") {
		t.Errorf("fixed row %q", fixed)
	}
	if strings.Index(out, "fixed pool of 1 |") > strings.Index(out, "fixed pool of 20 |") {
		t.Error("fixed pools should be listed smallest first")
	}
}

func TestRenderDocSections(t *testing.T) {
	b := &benchRun{
		runID:          "0123abcd",
		started:        time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC),
		elapsed:        12*time.Minute + 31*time.Second,
		budget:         13 * time.Minute,
		scale:          1,
		machine:        machine{cores: 2, cpuModel: "AMD EPYC", memory: "23.5 GiB", kernel: "6.1", goVersion: "go1.26.8 linux/amd64", dockerServer: "Docker Engine 20.10.24, API 1.41", dockerNegotiated: "1.41", dockerStorage: "storage driver overlay2, cgroup v2 (systemd)", commit: "abc1234"},
		loadStart:      0.5,
		loadEnd:        3.25,
		commonSettings: commonSettings("0123abcd", "bench-0123abcd-<run>", "sessiond-sandbox:latest"),
		results:        goodResults(),
		goBench: []goBenchRun{
			{args: memoryBenchArgs, results: []goBenchResult{*memoryResult(5107)}, elapsed: 6 * time.Second},
			{args: actorBenchArgs, failure: "exit status 1: build failed"},
		},
	}
	doc := renderDoc(b)
	for _, want := range []string{
		"# Benchmarks",
		"| command | `make bench` |",
		"| date | 2026-12-04 20:00 UTC |",
		"| total run time | 12m31s",
		"| CPU | 2 cores (Go's runtime.NumCPU), AMD EPYC |",
		"| load average | 0.50 at the start, 3.25 at the end (1 minute) |",
		"      CONTAINER_LABELS=sessiond-bench=0123abcd\n",
		"      MAX_SESSIONS=1000\n",
		"## Targets",
		"9 of 9 targets met.",
		"| 5107 bytes/session (4.99 KiB) | MET |",
		"## A: create-ready-delete by concurrency",
		"## No stall",
		"## B: burst of 50 and 200 users",
		"| BenchmarkIdleSessionMemory-2 | 1 | 2000000000 ns/op, 5107 bytes/session |",
		"`go test -run '^$' -bench 'BenchmarkCreateDeleteRoundTrip|BenchmarkGetSessionUnderLoad' -benchtime 2s ./actors` failed: exit status 1: build failed",
		"## Runs",
		"No run was shrunk or cut short by the time budget.",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(doc, "--scale") {
		t.Error("page mentions --scale for a standard run")
	}
}

func TestRunNotes(t *testing.T) {
	shrunk := fakeRun(adaptiveConfig, c10Workload.scaled(0.5), cycleOp(10, 4))
	shrunk.planned = c10Workload
	shrunk.exitCode = 1
	shrunk.sessiondExit = "killed after not stopping within 45s"
	shrunk.cleanupProblem = "list containers: timeout"

	got := strings.Join(runNotes(shrunk), "; ")
	for _, want := range []string{
		"shrunk from 20 sessions to fit the budget",
		"harness exit status 1",
		"sessiond: killed after not stopping within 45s",
		"cleanup: list containers: timeout",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("notes %q lack %q", got, want)
		}
	}
	cycle := cycleOp(112, 1.48)
	cycle.Canceled = 88
	cut := fakeRun(fixedConfig(1), c200Workload, readyOp(200, 26000, 54000), cycle)
	if got := strings.Join(runNotes(cut), "; "); got != "cut short by its time limit with 200 of 200 sessions ready and 112 completed" {
		t.Errorf("notes of a cut run %q", got)
	}

	if notes := runNotes(fakeRun(rawConfig, c10Workload, cycleOp(20, 5))); len(notes) != 0 {
		t.Errorf("a clean run has notes %q", notes)
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{formatMS(0.456), "0.46"},
		{formatMS(12.34), "12.3"},
		{formatMS(1234.5), "1234"},
		{formatSeconds(1234.5), "1.23"},
		{formatFloat(5107), "5107"},
		{formatFloat(0.25), "0.2"},
		{formatLoad(-1), notAvailable},
		{formatCount(-1), notAvailable},
		{escapeCell("a|b\nc"), `a\|b c`},
		{truncate("ääää", 2), "ää…"},
		{strings.Join(quoteArgs([]string{"-run", "^$", "a|b", "./x"}), " "), "-run '^$' 'a|b' ./x"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
