package stress

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/docker"
)

// testLabel marks containers made by tests, as everywhere in sessiond, so
// that `make clean-containers` finds those of an interrupted run.
const testLabel = "sessiond.test"

// TestRawDockerBaselineIntegration runs two sessions of the baseline
// against the real daemon and the sandbox image, and checks that nothing
// labelled with the run's id remains.
func TestRawDockerBaselineIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test does not run with -short")
	}
	client, err := docker.Connect(context.Background(), docker.Options{}, hclog.NewNullLogger())
	if err != nil {
		t.Skipf("no Docker client: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	pingCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx); err != nil {
		t.Skipf("no Docker daemon responds: %v", err)
	}

	runID := newRunID()
	opts, _, err := parseOptions([]string{"--baseline", "raw-docker", "--sessions", "2", "--concurrency", "2",
		"--wait", "30s", "--duration", "2m", "--timeout", "30s"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	b := newDockerBackend(client, nil, opts, runID)
	b.extraLabels = map[string]string{testLabel: runID}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if removed, remaining, err := b.sweep(ctx); removed > 0 || remaining > 0 || err != nil {
			t.Errorf("after the test: removed %d containers, %d remain, error %v", removed, remaining, err)
		}
	})

	var stdout bytes.Buffer
	code := execute(context.Background(), opts, runID, b, newRecorder(), &stdout, &syncBuffer{t: t})
	t.Logf("report:\n%s", stdout.String())

	if strings.Contains(stdout.String(), "docker_not_found") {
		t.Skipf("image %s is missing; build it with make image", defaultImage)
	}
	if code != exitOK {
		t.Errorf("exit code = %d, want %d", code, exitOK)
	}
	if !strings.Contains(stdout.String(), "2 completed, 0 cleaned up, 0 left over") {
		t.Errorf("report does not show 2 completed sessions and no leftovers")
	}

	left, err := client.ListContainers(context.Background(), map[string]string{LabelRun: runID})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("%d containers labelled %s=%s remain", len(left), LabelRun, runID)
	}
}
