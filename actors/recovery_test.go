package actors

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/docker"
)

func TestRecoverAdoptsSessionsOfPreviousRun(t *testing.T) {
	engine := newFakeEngine(t)
	logger := hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Debug, Output: testWriter{t}})
	first, err := Start(Options{Config: testConfig(t, nil), Engine: engine, Logger: logger})
	if err != nil {
		t.Fatalf("start first system: %v", err)
	}
	ids := map[string]string{}
	for _, user := range []string{"alice", "bob", "carol"} {
		info, err := first.CreateSession(testCtx(t), CreateRequest{User: user, Pids: 64}, 5*time.Second)
		if err != nil || info.State != StateReady {
			t.Fatalf("create %s: state %s, %v", user, info.State, err)
		}
		ids[info.ID] = info.Endpoint
	}
	// Leave the containers running, as a crash or REMOVE_ON_SHUTDOWN=false would.
	if err := first.Shutdown(testCtx(t), false); err != nil {
		t.Fatalf("shutdown first: %v", err)
	}
	if n := engine.containerCount(); n != 3 {
		t.Fatalf("%d containers after shutdown without removal, want 3", n)
	}
	// A container of this instance whose labels are broken is an orphan.
	if _, err := engine.CreateContainer(context.Background(), docker.ContainerSpec{
		Name: "stray", Labels: map[string]string{docker.LabelInstance: "sessiond", docker.LabelSession: "not-an-id"},
	}); err != nil {
		t.Fatalf("create stray: %v", err)
	}

	second := startSystem(t, engine, nil)
	report, err := second.Recover(testCtx(t))
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if report.Adopted != 3 || report.Removed != 1 {
		t.Errorf("report = %+v, want 3 adopted and 1 removed", report)
	}
	for id, endpoint := range ids {
		info := waitState(t, second, id, StateReady)
		if info.Endpoint != endpoint {
			t.Errorf("session %s endpoint = %q, want %q", id, info.Endpoint, endpoint)
		}
		if info.Limits.Pids != 64 {
			t.Errorf("session %s pids = %d, want 64 from the spec label", id, info.Limits.Pids)
		}
	}
	if _, err := engine.InspectContainer(context.Background(), "stray"); docker.KindOf(err) != docker.KindNotFound {
		t.Errorf("stray container still there: %v", err)
	}
	// A second recovery finds every session live and changes nothing.
	report, err = second.Recover(testCtx(t))
	if err != nil || report.Adopted != 0 || report.Removed != 0 {
		t.Errorf("second recovery = %+v, %v; want nothing done", report, err)
	}
}

func TestRecoverRemoveAll(t *testing.T) {
	engine := newFakeEngine(t)
	first := startSystem(t, engine, nil)
	if _, err := first.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := first.Shutdown(testCtx(t), false); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	second := startSystem(t, engine, func(c *config.Config) { c.RecoveryMode = "remove-all" })
	report, err := second.Recover(testCtx(t))
	if err != nil || report.Removed != 1 || report.Adopted != 0 {
		t.Fatalf("recover = %+v, %v; want 1 removed", report, err)
	}
	if n := engine.containerCount(); n != 0 {
		t.Errorf("%d containers left", n)
	}
}

func TestDeadContainerAdoptedIsRestarted(t *testing.T) {
	engine := newFakeEngine(t)
	first := startSystem(t, engine, nil)
	info, err := first.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := first.Shutdown(testCtx(t), false); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	engine.mu.Lock()
	c := engine.containers[docker.ContainerName(info.ID)]
	c.Running, c.State, c.ExitCode = false, "exited", 137
	engine.mu.Unlock()

	second := startSystem(t, engine, func(c *config.Config) { c.RestartMax = 1 })
	if _, err := second.Recover(testCtx(t)); err != nil {
		t.Fatalf("recover: %v", err)
	}
	got := waitState(t, second, info.ID, StateReady)
	if got.Restarts != 1 {
		t.Errorf("restarts = %d, want 1; history %+v", got.Restarts, got.History)
	}
}
