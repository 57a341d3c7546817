package stress

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/docker"
)

// runFakeDocker runs the raw-Docker workload with args against engine.
func runFakeDocker(t *testing.T, engine *fakeEngine, args ...string) (int, string, string) {
	t.Helper()
	args = append([]string{"--baseline", "raw-docker", "--probe-interval", "10ms", "--poll-interval", "5ms"}, args...)
	opts, _, err := parseOptions(args, noEnv)
	if err != nil {
		t.Fatalf("parseOptions(%q): %v", args, err)
	}
	rec := newRecorder()
	b := newDockerBackend(engine, nil, opts, testRunID)
	var stdout bytes.Buffer
	stderr := &syncBuffer{t: t}
	code := execute(context.Background(), opts, testRunID, b, rec, &stdout, stderr)
	t.Logf("report:\n%s", stdout.String())
	return code, stdout.String(), stderr.String()
}

func TestDockerBackendRunsCycles(t *testing.T) {
	engine := newFakeEngine(t)

	code, stdout, stderr := runFakeDocker(t, engine, "--sessions", "4", "--concurrency", "2")

	if code != exitOK {
		t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if got := engine.creates.Load(); got != 4 {
		t.Errorf("creates = %d, want 4", got)
	}
	if got := engine.starts.Load(); got != 4 {
		t.Errorf("starts = %d, want 4", got)
	}
	if got := engine.count(); got != 0 {
		t.Errorf("containers left = %d, want 0", got)
	}
	if !strings.Contains(stdout, "against docker") {
		t.Errorf("report does not name docker as the target:\n%s", stdout)
	}
}

func TestDockerBackendRemovesContainerWhenStartFails(t *testing.T) {
	engine := newFakeEngine(t)
	engine.startErr = &docker.Error{Kind: docker.KindInvalid, Op: "start container", Err: errors.New("port is already allocated")}

	code, stdout, _ := runFakeDocker(t, engine, "--sessions", "2", "--concurrency", "1")

	if code != exitFailed {
		t.Errorf("exit code = %d, want %d", code, exitFailed)
	}
	if got := engine.count(); got != 0 {
		t.Errorf("containers left = %d, want 0", got)
	}
	if got := engine.removes.Load(); got != 2 {
		t.Errorf("removes = %d, want 2, one per created container", got)
	}
	if !strings.Contains(stdout, "docker_invalid") {
		t.Errorf("report does not count the docker_invalid error:\n%s", stdout)
	}
}

func TestDockerBackendSweepsByLabel(t *testing.T) {
	engine := newFakeEngine(t)
	// One container of this run that the workload does not know about, and
	// one of another run, which must stay.
	engine.add(map[string]string{LabelRun: testRunID})
	engine.add(map[string]string{LabelRun: "otherrun"})

	code, stdout, _ := runFakeDocker(t, engine, "--sessions", "1")

	if code != exitOK {
		t.Errorf("exit code = %d, want %d", code, exitOK)
	}
	if got := engine.count(); got != 1 {
		t.Errorf("containers left = %d, want 1 (the other run's)", got)
	}
	if !strings.Contains(stdout, "1 cleaned up, 0 left over") {
		t.Errorf("report does not count the swept container:\n%s", stdout)
	}
}

func TestDockerBackendLabelsContainers(t *testing.T) {
	engine := newFakeEngine(t)
	opts, _, err := parseOptions([]string{"--baseline", "raw-docker"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	b := newDockerBackend(engine, nil, opts, testRunID)
	s := &session{seq: 7, user: "u"}
	if err := b.create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.delete(context.Background(), s) })

	ctr, err := engine.InspectContainer(context.Background(), s.id)
	if err != nil {
		t.Fatal(err)
	}
	if got := ctr.Labels[LabelRun]; got != testRunID {
		t.Errorf("label %s = %q, want %q", LabelRun, got, testRunID)
	}
	if want := "sessiond-stress-" + testRunID + "-7"; ctr.Name != want {
		t.Errorf("name = %q, want %q", ctr.Name, want)
	}
	if ctr.Image != defaultImage {
		t.Errorf("image = %q, want %q", ctr.Image, defaultImage)
	}
}
