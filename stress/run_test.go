package stress

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testRunID = "testrun1"

// syncBuffer collects the harness's stderr, which the progress goroutine
// writes concurrently, and copies each write to the test log.
type syncBuffer struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.t.Log(strings.TrimRight(string(p), "\n"))
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type runResult struct {
	code    int
	stdout  string
	stderr  string
	report  Report
	elapsed time.Duration
}

// runStress runs the harness with args plus --json and decodes the JSON
// report. It fails the test when the arguments are invalid.
func runStress(t *testing.T, args ...string) runResult {
	t.Helper()
	jsonPath := filepath.Join(t.TempDir(), "report.json")
	args = append(args, "--json", jsonPath)
	opts, _, err := parseOptions(args, func(string) string { return "" })
	if err != nil {
		t.Fatalf("parseOptions(%q): %v", args, err)
	}

	var stdout bytes.Buffer
	stderr := &syncBuffer{t: t}
	start := time.Now()
	code := run(context.Background(), opts, testRunID, &stdout, stderr)
	result := runResult{code: code, stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	t.Logf("report:\n%s", result.stdout)

	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatalf("read JSON report: %v", err)
	}
	if err := json.Unmarshal(data, &result.report); err != nil {
		t.Fatalf("decode JSON report: %v\n%s", err, data)
	}
	return result
}

func (r runResult) operation(t *testing.T, name string) OperationReport {
	t.Helper()
	for _, op := range r.report.Operations {
		if op.Name == name {
			return op
		}
	}
	t.Fatalf("report has no operation %q", name)
	return OperationReport{}
}

func TestRunMakesExactSessionCount(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.readyAfterPolls = 2

	res := runStress(t, "--target", fake.url(), "--sessions", "5", "--concurrency", "2",
		"--poll-interval", "5ms", "--probe-interval", "10ms", "--duration", "30s")

	if res.code != exitOK {
		t.Errorf("exit code = %d, want %d; stderr:\n%s", res.code, exitOK, res.stderr)
	}
	if got := fake.creates.Load(); got != 5 {
		t.Errorf("creates = %d, want 5", got)
	}
	if got := fake.deletes.Load(); got != 5 {
		t.Errorf("deletes = %d, want 5", got)
	}
	if got := fake.activeSessions(); got != 0 {
		t.Errorf("sessions left active = %d, want 0", got)
	}
	if got := res.report.Sessions.Completed; got != 5 {
		t.Errorf("completed = %d, want 5", got)
	}
	for _, name := range []string{opCreate, opReady, opDelete, opCycle} {
		op := res.operation(t, name)
		if op.Count != 5 || op.OK != 5 {
			t.Errorf("%s: count %d, ok %d, want 5 and 5", name, op.Count, op.OK)
		}
		if op.ThroughputPerS <= 0 {
			t.Errorf("%s: throughput_per_s = %v, want > 0", name, op.ThroughputPerS)
		}
	}
	if op := res.operation(t, opGet); op.OK < 10 {
		t.Errorf("get ok = %d, want at least 10 (two polls per session)", op.OK)
	}
	if op := res.operation(t, "probe_healthz"); op.OK < 1 {
		t.Errorf("probe_healthz ok = %d, want at least 1", op.OK)
	}
	if op := res.operation(t, "probe_list"); op.OK < 1 {
		t.Errorf("probe_list ok = %d, want at least 1", op.OK)
	}
}

func TestRunStopsAtDurationOnSlowServer(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.createDelay = 20 * time.Second

	res := runStress(t, "--target", fake.url(), "--concurrency", "3", "--duration", "300ms",
		"--probe-interval", "50ms")

	if res.elapsed > 5*time.Second {
		t.Errorf("run took %v, want it to stop soon after --duration 300ms", res.elapsed)
	}
	create := res.operation(t, opCreate)
	if create.Canceled != 3 {
		t.Errorf("create canceled = %d, want 3 (one per worker)", create.Canceled)
	}
	if create.OK != 0 || create.Errors != 0 {
		t.Errorf("create ok %d, errors %d, want 0 and 0", create.OK, create.Errors)
	}
	if got := fake.creates.Load(); got != 3 {
		t.Errorf("creates = %d, want 3", got)
	}
	if res.code != exitOK {
		t.Errorf("exit code = %d, want %d: canceled operations are not errors", res.code, exitOK)
	}
}

func TestRunDeletesSessionsLeftAtDeadline(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.readyAfterPolls = 1_000_000

	res := runStress(t, "--target", fake.url(), "--concurrency", "4", "--duration", "300ms",
		"--poll-interval", "10ms")

	if got := fake.creates.Load(); got != 4 {
		t.Errorf("creates = %d, want 4", got)
	}
	if got := fake.activeSessions(); got != 0 {
		t.Errorf("sessions left active = %d, want 0", got)
	}
	if got := res.report.Sessions.CleanedUp; got != 4 {
		t.Errorf("cleaned_up = %d, want 4", got)
	}
	if got := res.report.Sessions.Leftover; got != 0 {
		t.Errorf("leftover = %d, want 0", got)
	}
	if got := res.operation(t, opReady).Canceled; got != 4 {
		t.Errorf("ready canceled = %d, want 4", got)
	}
	if got := res.operation(t, opDelete).Count; got != 0 {
		t.Errorf("delete count = %d, want 0: the cleanup deletes after the run", got)
	}
}

func TestRunFailedSweepFails(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.failFullList = true

	res := runStress(t, "--target", fake.url(), "--sessions", "1", "--duration", "30s", "--probe-interval", "1m")

	if res.code != exitFailed {
		t.Errorf("exit code = %d, want %d when the sweep cannot list sessions", res.code, exitFailed)
	}
	if !strings.Contains(res.stderr, "cleanup: list sessions") {
		t.Errorf("stderr does not report the failed sweep:\n%s", res.stderr)
	}
}

func TestRunReadyTimeoutIsError(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.readyAfterPolls = 1_000_000

	res := runStress(t, "--target", fake.url(), "--sessions", "2", "--concurrency", "2",
		"--wait", "100ms", "--poll-interval", "10ms", "--duration", "10s")

	ready := res.operation(t, opReady)
	if ready.Errors != 2 || len(ready.ErrorKinds) != 1 || ready.ErrorKinds[0].Kind != kindReadyTimeout {
		t.Errorf("ready errors = %d %+v, want 2 of kind %s", ready.Errors, ready.ErrorKinds, kindReadyTimeout)
	}
	if got := fake.deletes.Load(); got != 2 {
		t.Errorf("deletes = %d, want 2: a session that never got ready is still deleted", got)
	}
	if res.code != exitFailed {
		t.Errorf("exit code = %d, want %d", res.code, exitFailed)
	}
}

func TestRunBurstStartsAllCreatesAtOnce(t *testing.T) {
	fake := newFakeSessiond(t)
	// Each POST is held long enough for all of the burst's requests to
	// arrive while the first is still open.
	fake.createDelay = 200 * time.Millisecond

	res := runStress(t, "--target", fake.url(), "--scenario", "burst", "--sessions", "10",
		"--duration", "30s")

	if res.code != exitOK {
		t.Errorf("exit code = %d, want %d", res.code, exitOK)
	}
	if got := fake.creates.Load(); got != 10 {
		t.Errorf("creates = %d, want 10", got)
	}
	if got := fake.maxInFlightCreates.Load(); got != 10 {
		t.Errorf("creates in flight at once = %d, want 10", got)
	}
	if got := fake.deletes.Load(); got != 10 {
		t.Errorf("deletes = %d, want 10", got)
	}
	if got := res.report.Settings.Concurrency; got != 10 {
		t.Errorf("settings.concurrency = %d, want 10", got)
	}
}

func TestRunCreateHoldPollsUntilHoldEnds(t *testing.T) {
	fake := newFakeSessiond(t)

	res := runStress(t, "--target", fake.url(), "--scenario", "create-hold", "--sessions", "2",
		"--concurrency", "2", "--hold", "200ms", "--poll-interval", "20ms", "--duration", "30s")

	if res.code != exitOK {
		t.Errorf("exit code = %d, want %d", res.code, exitOK)
	}
	// 200ms of holding at 20ms per poll is about 10 polls per session. The
	// bounds are wide because scheduling delays on a loaded machine lower
	// that count.
	get := res.operation(t, opGet)
	if get.OK < 4 || get.OK > 22 {
		t.Errorf("get ok = %d, want between 4 and 22", get.OK)
	}
	cycle := res.operation(t, opCycle)
	if cycle.OK != 2 || cycle.P50MS < 200 {
		t.Errorf("cycle ok %d p50 %.1fms, want 2 cycles of at least the 200ms hold", cycle.OK, cycle.P50MS)
	}
	if got := fake.deletes.Load(); got != 2 {
		t.Errorf("deletes = %d, want 2", got)
	}
}

func TestRunCountsRejectionsWithoutFailing(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.createStatus = 429
	fake.createCode = "queue_full"
	fake.retryAfter = "1"

	res := runStress(t, "--target", fake.url(), "--sessions", "3", "--concurrency", "3", "--duration", "30s")

	if res.code != exitOK {
		t.Errorf("exit code = %d, want %d: 429 is a deliberate rejection", res.code, exitOK)
	}
	create := res.operation(t, opCreate)
	if create.Errors != 3 {
		t.Errorf("create errors = %d, want 3", create.Errors)
	}
	if len(create.ErrorKinds) != 1 || create.ErrorKinds[0].Kind != "http_429_queue_full" {
		t.Errorf("create error kinds = %+v, want only http_429_queue_full", create.ErrorKinds)
	}
	if got := fake.deletes.Load(); got != 0 {
		t.Errorf("deletes = %d, want 0: rejected creates made nothing", got)
	}
}

func TestRunRetryAfterPausesWorker(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.createStatus = 429
	fake.createCode = "queue_full"
	fake.retryAfter = "60"

	res := runStress(t, "--target", fake.url(), "--concurrency", "1", "--duration", "300ms")

	if got := fake.creates.Load(); got != 1 {
		t.Errorf("creates = %d, want 1: Retry-After 60 must hold the worker until the run ends", got)
	}
	if res.elapsed > 5*time.Second {
		t.Errorf("run took %v, want the Retry-After pause cut short by --duration", res.elapsed)
	}
}

func TestRunServerErrorFails(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.createStatus = 500
	fake.createCode = "internal"

	res := runStress(t, "--target", fake.url(), "--sessions", "2", "--concurrency", "1", "--duration", "30s",
		"--poll-interval", "1ms")

	if res.code != exitFailed {
		t.Errorf("exit code = %d, want %d", res.code, exitFailed)
	}
	if !strings.Contains(res.stderr, "create http_500_internal") {
		t.Errorf("stderr does not name the failed operation and kind:\n%s", res.stderr)
	}
}

func TestRunSendsToken(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.token = "s3cret"

	res := runStress(t, "--target", fake.url(), "--token", "s3cret", "--sessions", "1", "--duration", "30s")

	if res.code != exitOK {
		t.Errorf("exit code = %d, want %d; stderr:\n%s", res.code, exitOK, res.stderr)
	}
	if got := fake.creates.Load(); got != 1 {
		t.Errorf("creates = %d, want 1", got)
	}
}

func TestRunWrongTokenFailsBeforeWorkload(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.token = "s3cret"
	opts, _, err := parseOptions([]string{"--target", fake.url(), "--token", "wrong"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}

	var stdout bytes.Buffer
	stderr := &syncBuffer{t: t}
	code := run(context.Background(), opts, testRunID, &stdout, stderr)

	if code != exitFailed {
		t.Errorf("exit code = %d, want %d", code, exitFailed)
	}
	if !strings.Contains(stderr.String(), "401 unauthorized") {
		t.Errorf("stderr does not report the 401:\n%s", stderr.String())
	}
	if got := fake.creates.Load(); got != 0 {
		t.Errorf("creates = %d, want 0", got)
	}
}

func TestMainUnreachableTarget(t *testing.T) {
	// A port that was just free and is now closed refuses connections.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()

	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := Main([]string{"--target", "http://" + addr, "--duration", "1m"}, &stdout, &stderr)
	elapsed := time.Since(start)

	if code != exitFailed {
		t.Errorf("exit code = %d, want %d", code, exitFailed)
	}
	if elapsed > 5*time.Second {
		t.Errorf("Main took %v, want it to give up at once", elapsed)
	}
	if got := strings.Count(stderr.String(), "does not respond"); got != 1 {
		t.Errorf("stderr reports the unreachable target %d times, want once:\n%s", got, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want no report", stdout.String())
	}
}

func TestRunInterruptedCleansUp(t *testing.T) {
	fake := newFakeSessiond(t)
	fake.readyAfterPolls = 1_000_000
	opts, _, err := parseOptions([]string{"--target", fake.url(), "--concurrency", "2", "--duration", "1m",
		"--poll-interval", "10ms"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for fake.creates.Load() < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	var stdout bytes.Buffer
	code := run(ctx, opts, testRunID, &stdout, &syncBuffer{t: t})

	if code != exitFailed {
		t.Errorf("exit code = %d, want %d for an interrupted run", code, exitFailed)
	}
	if got := fake.activeSessions(); got != 0 {
		t.Errorf("sessions left active = %d, want 0", got)
	}
	if !strings.Contains(stdout.String(), "(interrupted)") {
		t.Errorf("report does not say the run was interrupted:\n%s", stdout.String())
	}
}

func TestRunUsersRotate(t *testing.T) {
	r := newRunner(options{users: 3}, nil, newRecorder(), "abc")
	want := []string{"stress-abc-1", "stress-abc-2", "stress-abc-3", "stress-abc-1"}
	for i, user := range want {
		if got := r.userFor(i + 1); got != user {
			t.Errorf("userFor(%d) = %q, want %q", i+1, got, user)
		}
	}
}
