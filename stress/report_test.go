package stress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// sampleReport builds a report from a recorder with known samples: create
// has 1ms to 100ms and two errors, probe_healthz has one sample.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	rec := newRecorder()
	rec.bind(context.Background())
	for i := 1; i <= 100; i++ {
		rec.record(opCreate, ms(i), nil)
	}
	rec.record(opCreate, 0, &apiError{status: 429, code: "queue_full", message: "full"})
	rec.record(opCreate, 0, &kindError{kind: kindTransport, err: errors.New("connection reset")})
	rec.record("probe_healthz", 1500*time.Microsecond, nil)

	return &Report{
		RunID:      "abc",
		Target:     "http://127.0.0.1:8080",
		Scenario:   scenarioCreateReadyDelete,
		ElapsedS:   10,
		Settings:   Settings{Concurrency: 5, Users: 5, Sessions: 100},
		Operations: buildOperations(rec, []string{"probe_healthz"}, map[string]string{opCreate: "POST"}, 10*time.Second),
	}
}

func TestBuildOperations(t *testing.T) {
	report := sampleReport(t)

	var names []string
	for _, op := range report.Operations {
		names = append(names, op.Name)
	}
	if want := []string{opCreate, opReady, opGet, opDelete, opCycle, "probe_healthz"}; !slices.Equal(names, want) {
		t.Errorf("operations = %v, want %v", names, want)
	}

	create := report.Operations[0]
	if create.Count != 102 || create.OK != 100 || create.Errors != 2 || create.Canceled != 0 {
		t.Errorf("create count %d ok %d errors %d canceled %d, want 102, 100, 2, 0",
			create.Count, create.OK, create.Errors, create.Canceled)
	}
	if create.ThroughputPerS != 10 {
		t.Errorf("create throughput_per_s = %v, want 10 (100 ok in 10s)", create.ThroughputPerS)
	}
	if create.P50MS != 50 || create.P90MS != 90 || create.P99MS != 99 || create.MaxMS != 100 {
		t.Errorf("create p50 %v p90 %v p99 %v max %v, want 50, 90, 99, 100",
			create.P50MS, create.P90MS, create.P99MS, create.MaxMS)
	}
	if len(create.ErrorKinds) != 2 {
		t.Fatalf("create error kinds = %+v, want 2", create.ErrorKinds)
	}
	if create.Description != "POST" {
		t.Errorf("create description = %q, want POST", create.Description)
	}

	probe := report.Operations[5]
	if probe.P99MS != 1.5 {
		t.Errorf("probe p99 = %v ms, want 1.5", probe.P99MS)
	}

	unused := report.Operations[1]
	if unused.Count != 0 || unused.ErrorKinds == nil {
		t.Errorf("unused operation = %+v, want zero counts and an empty error list", unused)
	}
}

func TestReportJSONKeys(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport(t).writeJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("decode: %v\n%s", err, buf.String())
	}

	for _, key := range []string{"run_id", "target", "baseline", "scenario", "started_at", "elapsed_s",
		"interrupted", "settings", "sessions", "operations"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("report has no key %q", key)
		}
	}
	settings := doc["settings"].(map[string]any)
	for _, key := range []string{"concurrency", "users", "sessions", "ramp_s", "duration_s", "wait_s",
		"create_wait_s", "hold_s", "poll_interval_ms", "probe_interval_ms", "image"} {
		if _, ok := settings[key]; !ok {
			t.Errorf("settings has no key %q", key)
		}
	}
	sessions := doc["sessions"].(map[string]any)
	for _, key := range []string{"started", "ready", "completed", "cleaned_up", "leftover"} {
		if _, ok := sessions[key]; !ok {
			t.Errorf("sessions has no key %q", key)
		}
	}

	operations := doc["operations"].([]any)
	create := operations[0].(map[string]any)
	for _, key := range []string{"name", "description", "count", "ok", "errors", "canceled",
		"throughput_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "error_kinds"} {
		if _, ok := create[key]; !ok {
			t.Errorf("operation has no key %q", key)
		}
	}
	if got := create["p99_ms"]; got != 99.0 {
		t.Errorf("p99_ms = %v, want 99", got)
	}
	kinds := create["error_kinds"].([]any)
	kind := kinds[0].(map[string]any)
	for _, key := range []string{"kind", "count", "example"} {
		if _, ok := kind[key]; !ok {
			t.Errorf("error kind has no key %q", key)
		}
	}
}

func TestReportText(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport(t).writeText(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	t.Log("\n" + text)

	for _, fragment := range []string{
		"create-ready-delete against http://127.0.0.1:8080, run abc",
		"per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms",
		"create http_429_queue_full: 1, such as: HTTP 429 queue_full: full",
		"create transport: 1, such as: connection reset",
		"create: POST",
	} {
		if !strings.Contains(text, fragment) {
			t.Errorf("text report does not contain %q", fragment)
		}
	}

	var createRow string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "create ") {
			createRow = line
			break
		}
	}
	if got, want := strings.Fields(createRow), []string{"create", "102", "100", "2", "0", "10.00", "50.0", "90.0", "99.0", "100.0"}; !slices.Equal(got, want) {
		t.Errorf("create row = %q, want the fields %v", got, want)
	}
}

func TestReportFailedKinds(t *testing.T) {
	report := &Report{Operations: []OperationReport{
		{Name: opCreate, ErrorKinds: []ErrorKind{{Kind: "http_429_queue_full"}, {Kind: "http_503_docker_unavailable"}}},
		{Name: opCycle, ErrorKinds: []ErrorKind{{Kind: "http_503_docker_unavailable"}}},
		{Name: "probe_healthz", ErrorKinds: []ErrorKind{{Kind: kindTimeout}}},
	}}
	got := report.failedKinds()
	want := []string{"create http_503_docker_unavailable", "probe_healthz timeout"}
	if !slices.Equal(got, want) {
		t.Errorf("failedKinds = %v, want %v", got, want)
	}
}
