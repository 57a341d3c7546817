package actors

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/docker"
)

func TestSessionLifecycleToReady(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, nil)

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.State != StateReady {
		t.Fatalf("state after wait = %s, want ready; history %+v", created.State, created.History)
	}
	want := []State{StatePending, StateCreating, StateStarting, StateProbing, StateReady}
	if got := states(created); !slices.Equal(got, want) {
		t.Errorf("history = %v, want %v", got, want)
	}
	if want := fmt.Sprintf("127.0.0.1:%d", engine.hostPort); created.Endpoint != want {
		t.Errorf("endpoint = %q, want %q", created.Endpoint, want)
	}
	if created.ReadyAt == nil {
		t.Error("ready_at not set")
	}
	c, err := engine.InspectContainer(testCtx(t), docker.ContainerName(created.ID))
	if err != nil {
		t.Fatalf("inspect fake container: %v", err)
	}
	if c.Labels[docker.LabelSession] != created.ID || c.Labels[docker.LabelUser] != "alice" {
		t.Errorf("labels = %v", c.Labels)
	}
	if c.MemoryBytes != 256<<20 || c.NanoCPUs != 5e8 || c.PidsLimit != 128 {
		t.Errorf("limits = %d bytes, %d nanocpus, %d pids", c.MemoryBytes, c.NanoCPUs, c.PidsLimit)
	}

	deleted, err := sys.DeleteSession(testCtx(t), created.ID, 5*time.Second)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if deleted.State != StateStopped {
		t.Errorf("state after delete = %s, want stopped", deleted.State)
	}
	if n := engine.containerCount(); n != 0 {
		t.Errorf("%d containers left after delete", n)
	}
}

func TestHungCallTimesOut(t *testing.T) {
	engine := newFakeEngine(t)
	_, release := engine.gate("create")
	defer release()
	sys := startSystem(t, engine, func(c *config.Config) {
		c.DockerOperationTimeout = 50 * time.Millisecond
		c.DockerRetries = 0
	})

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 0)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info := waitState(t, sys, created.ID, StateFailed)
	if !strings.Contains(info.LastError, "deadline exceeded") {
		t.Errorf("last error = %q, want a deadline error", info.LastError)
	}
	waitFor(t, "the cleanup remove", func() bool { return engine.count("remove") >= 1 })
}

func TestTransientErrorIsRetried(t *testing.T) {
	engine := newFakeEngine(t)
	refused := &docker.Error{Kind: docker.KindTransient, Op: "create container", Err: syscall.ECONNREFUSED}
	engine.failNext("create", refused, refused)
	sys := startSystem(t, engine, func(c *config.Config) { c.DockerRetries = 2 })

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.State != StateReady {
		t.Fatalf("state = %s, want ready; last error %q", created.State, created.LastError)
	}
	if n := engine.count("create"); n != 3 {
		t.Errorf("create called %d times, want 3", n)
	}
}

func TestInvalidErrorIsNotRetried(t *testing.T) {
	engine := newFakeEngine(t)
	engine.failNext("create", &docker.Error{Kind: docker.KindInvalid, Op: "create container", Err: errors.New("bad spec")})
	sys := startSystem(t, engine, func(c *config.Config) { c.DockerRetries = 3 })

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info := waitState(t, sys, created.ID, StateFailed)
	if !strings.Contains(info.LastError, "bad spec") {
		t.Errorf("last error = %q, want the daemon's message", info.LastError)
	}
	if n := engine.count("create"); n != 1 {
		t.Errorf("create called %d times, want 1", n)
	}
}

func TestCreateAdoptsItsOwnContainerAfterTimeout(t *testing.T) {
	engine := newFakeEngine(t)
	// The first attempt makes the container but reports a timeout, as a
	// daemon does when the reply is lost; the retry gets a 409.
	engine.failNext("start", &docker.Error{Kind: docker.KindTimeout, Op: "start container", Err: errors.New("context deadline exceeded")})
	sys := startSystem(t, engine, func(c *config.Config) { c.DockerRetries = 1 })

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.State != StateReady {
		t.Fatalf("state = %s, want ready; last error %q", created.State, created.LastError)
	}
	if n := engine.containerCount(); n != 1 {
		t.Errorf("%d containers, want 1 (no twin)", n)
	}
}

func TestStatusAnsweredWhileCreateInFlight(t *testing.T) {
	engine := newFakeEngine(t)
	entered, release := engine.gate("create")
	sys := startSystem(t, engine, nil)

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 0)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	<-entered
	// The create call is held at the gate: a blocked mailbox would not
	// answer until release.
	info, err := sys.GetSession(testCtx(t), created.ID)
	if err != nil {
		t.Fatalf("get during create: %v", err)
	}
	if info.State != StateCreating {
		t.Errorf("state during create = %s, want creating", info.State)
	}
	list, err := sys.ListSessions(testCtx(t), ListFilter{User: "alice"})
	if err != nil || len(list) != 1 {
		t.Fatalf("list during create = %d sessions, %v", len(list), err)
	}
	release()
	waitState(t, sys, created.ID, StateReady)
}

func TestInlineModeBlocksOnlyItsSession(t *testing.T) {
	engine := newFakeEngine(t)
	entered, release := engine.gate("create")
	sys := startSystem(t, engine, func(c *config.Config) { c.UseAsyncDocker = false })

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 0)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	<-entered
	if rd := sys.Readiness(testCtx(t)); rd.Mode != "inline" {
		t.Errorf("mode = %q, want inline", rd.Mode)
	}
	// The supervisor still answers while the session's mailbox is blocked.
	if _, err := sys.ListSessions(testCtx(t), ListFilter{}); err != nil {
		t.Fatalf("list: %v", err)
	}
	release()
	waitState(t, sys, created.ID, StateReady)
}

func TestContainerExitAtStartFails(t *testing.T) {
	engine := newFakeEngine(t)
	engine.exitAtOnce = true
	sys := startSystem(t, engine, func(c *config.Config) { c.RestartMax = 0 })

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 0)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info := waitState(t, sys, created.ID, StateFailed)
	if !strings.Contains(info.LastError, "exited with code 3") {
		t.Errorf("last error = %q, want the exit code", info.LastError)
	}
	waitFor(t, "container removal", func() bool { return engine.containerCount() == 0 })
}

func TestContainerDeathRestartsThenFails(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, func(c *config.Config) {
		c.RestartMax = 1
		c.RestartWindow = time.Minute
	})

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil || created.State != StateReady {
		t.Fatalf("create: state %s, %v", created.State, err)
	}
	name := docker.ContainerName(created.ID)
	firstID := engine.kill(name, 1)

	waitFor(t, "a new container", func() bool {
		c, err := engine.InspectContainer(testCtx(t), name)
		return err == nil && c.ID != firstID && c.Running
	})
	info := waitState(t, sys, created.ID, StateReady)
	if info.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", info.Restarts)
	}

	engine.kill(name, 2)
	info = waitState(t, sys, created.ID, StateFailed)
	if !strings.Contains(info.LastError, "exited with code 2") || !strings.Contains(info.LastError, "gave up after 1 restarts") {
		t.Errorf("last error = %q", info.LastError)
	}
}

func TestIdleTimeoutStopsSession(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, func(c *config.Config) { c.IdleTimeout = 100 * time.Millisecond })

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info := waitForEnded(t, sys, created.ID)
	if info.State != StateStopped || !strings.Contains(info.History[len(info.History)-2].Reason, "idle for") {
		t.Errorf("final state %s, history %+v", info.State, info.History)
	}
}

func TestTTLStopsSession(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, func(c *config.Config) { c.SessionTTL = 150 * time.Millisecond })

	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info := waitForEnded(t, sys, created.ID)
	if info.State != StateStopped || !strings.Contains(info.History[len(info.History)-2].Reason, "TTL") {
		t.Errorf("final state %s, history %+v", info.State, info.History)
	}
	if engine.containerCount() != 0 {
		t.Error("container left after TTL")
	}
}

// waitForEnded polls without touching the session, so idle timers run.
func waitForEnded(t *testing.T, sys *System, id string) SessionInfo {
	t.Helper()
	var found SessionInfo
	waitFor(t, "session end", func() bool {
		list, _ := sys.ListSessions(testCtx(t), ListFilter{})
		for _, info := range list {
			if info.ID == id && info.State.Terminal() {
				found = info
				return true
			}
		}
		return false
	})
	info, err := sys.GetSession(testCtx(t), id)
	if err != nil {
		t.Fatalf("get ended session: %v", err)
	}
	_ = found
	return info
}

func TestDeleteInEachState(t *testing.T) {
	cases := []struct {
		name  string
		setup func(e *fakeEngine) (release func())
		state State
	}{
		{"creating", func(e *fakeEngine) func() { _, r := e.gate("create"); return r }, StateCreating},
		{"starting", func(e *fakeEngine) func() { _, r := e.gate("start"); return r }, StateStarting},
		{"probing", func(e *fakeEngine) func() { e.hostPort = closedPort(t); return func() {} }, StateProbing},
		{"ready", func(e *fakeEngine) func() { return func() {} }, StateReady},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			engine := newFakeEngine(t)
			release := tc.setup(engine)
			defer release()
			sys := startSystem(t, engine, nil)

			created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 0)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			waitState(t, sys, created.ID, tc.state)
			info, err := sys.DeleteSession(testCtx(t), created.ID, 0)
			if err != nil {
				t.Fatalf("delete: %v", err)
			}
			if info.State != StateStopping && info.State != StateStopped {
				t.Errorf("state after delete = %s, want stopping or stopped", info.State)
			}
			release()
			info = waitState(t, sys, created.ID, StateStopped)
			if n := engine.containerCount(); n != 0 {
				t.Errorf("%d containers left, history %+v", n, info.History)
			}
		})
	}
}

func TestDeletePendingLeavesQueueAtOnce(t *testing.T) {
	engine := newFakeEngine(t)
	entered, release := engine.gate("create")
	defer release()
	sys := startSystem(t, engine, func(c *config.Config) { c.AsyncPoolSize = 1 })

	first, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 0)
	if err != nil {
		t.Fatalf("create first: %v", err)
	}
	<-entered
	second, err := sys.CreateSession(testCtx(t), CreateRequest{User: "bob"}, 0)
	if err != nil {
		t.Fatalf("create second: %v", err)
	}
	info, err := sys.GetSession(testCtx(t), second.ID)
	if err != nil {
		t.Fatalf("get pending: %v", err)
	}
	if info.State != StatePending || info.QueuePosition == nil || *info.QueuePosition != 0 {
		t.Fatalf("pending session: state %s, queue position %v", info.State, info.QueuePosition)
	}

	// The only worker is still held by the first create: the second
	// session must stop without waiting for it.
	stopped, err := sys.DeleteSession(testCtx(t), second.ID, 5*time.Second)
	if err != nil {
		t.Fatalf("delete pending: %v", err)
	}
	if stopped.State != StateStopped {
		t.Errorf("state = %s, want stopped while the worker is busy", stopped.State)
	}
	if n := engine.count("create"); n != 1 {
		t.Errorf("create called %d times, want only the first session's", n)
	}
	release()
	waitState(t, sys, first.ID, StateReady)
}

func TestAdmissionLimits(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, func(c *config.Config) {
		c.MaxSessions = 3
		c.MaxSessionsPerUser = 2
	})
	for i, user := range []string{"alice", "alice", "bob"} {
		if _, err := sys.CreateSession(testCtx(t), CreateRequest{User: user}, 0); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	_, err := sys.CreateSession(testCtx(t), CreateRequest{User: "carol"}, 0)
	if codeOf(err) != CodeLimitReached || !strings.Contains(err.Error(), "MAX_SESSIONS") {
		t.Errorf("fourth session: %v, want limit_reached naming MAX_SESSIONS", err)
	}
}

func TestPerUserLimit(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, func(c *config.Config) { c.MaxSessionsPerUser = 1 })
	if _, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 0); err != nil {
		t.Fatalf("create: %v", err)
	}
	_, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 0)
	if codeOf(err) != CodeLimitReached || !strings.Contains(err.Error(), "MAX_SESSIONS_PER_USER") {
		t.Errorf("second session of alice: %v", err)
	}
	if _, err := sys.CreateSession(testCtx(t), CreateRequest{User: "bob"}, 0); err != nil {
		t.Errorf("bob's session: %v", err)
	}
}

func TestQueueFullRejectsAtAdmission(t *testing.T) {
	engine := newFakeEngine(t)
	entered, release := engine.gate("create")
	defer release()
	sys := startSystem(t, engine, func(c *config.Config) {
		c.AsyncPoolSize = 1
		c.DockerQueueSize = 1
	})
	if _, err := sys.CreateSession(testCtx(t), CreateRequest{User: "a"}, 0); err != nil {
		t.Fatalf("create a: %v", err)
	}
	<-entered
	if _, err := sys.CreateSession(testCtx(t), CreateRequest{User: "b"}, 0); err != nil {
		t.Fatalf("create b: %v", err)
	}
	waitFor(t, "b queued", func() bool { return sys.Readiness(testCtx(t)).QueueLength == 1 })
	_, err := sys.CreateSession(testCtx(t), CreateRequest{User: "c"}, 0)
	if codeOf(err) != CodeQueueFull {
		t.Fatalf("third create: %v, want queue_full", err)
	}
	var ae *Error
	if errors.As(err, &ae) && ae.RetryAfter <= 0 {
		t.Error("queue_full without RetryAfter")
	}
}

func TestValidationErrorsNameTheField(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, nil)
	cases := []struct {
		name  string
		req   CreateRequest
		field string
	}{
		{"missing user", CreateRequest{}, "user"},
		{"user with slash", CreateRequest{User: "a/b"}, "user"},
		{"image not allowed", CreateRequest{User: "a", Image: "alpine"}, "image"},
		{"memory over max", CreateRequest{User: "a", MemoryBytes: 64 << 30}, "memory"},
		{"memory below docker minimum", CreateRequest{User: "a", MemoryBytes: 1 << 20}, "memory"},
		{"negative memory", CreateRequest{User: "a", MemoryBytes: -1}, "memory"},
		{"cpus over max", CreateRequest{User: "a", CPUs: 64}, "cpus"},
		{"negative cpus", CreateRequest{User: "a", CPUs: -1}, "cpus"},
		{"pids over max", CreateRequest{User: "a", Pids: 1 << 20}, "pids"},
		{"bad env name", CreateRequest{User: "a", Env: map[string]string{"1X": "y"}}, "env"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sys.CreateSession(testCtx(t), tc.req, 0)
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != CodeInvalid || ae.Field != tc.field {
				t.Fatalf("error = %v, want invalid_argument on %s", err, tc.field)
			}
		})
	}
	if n := engine.count("create"); n != 0 {
		t.Errorf("invalid requests made %d create calls", n)
	}
}

func TestGetUnknownSession(t *testing.T) {
	sys := startSystem(t, newFakeEngine(t), nil)
	_, err := sys.GetSession(testCtx(t), "nope")
	if codeOf(err) != CodeNotFound {
		t.Errorf("error = %v, want not_found", err)
	}
}

func TestTreeListsActors(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, func(c *config.Config) { c.AsyncPoolSize = 3 })
	created, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	tree, err := sys.Tree(testCtx(t))
	if err != nil {
		t.Fatalf("tree: %v", err)
	}
	kinds := map[string]int{}
	var walk func(TreeNode)
	walk = func(n TreeNode) {
		kinds[n.Kind]++
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(tree)
	want := map[string]int{"Root": 1, "SessionSupervisor": 1, "Session": 1, "DockerPool": 1, "DockerWorker": 3, "EventRouter": 1}
	for kind, n := range want {
		if kinds[kind] != n {
			t.Errorf("%d nodes of kind %s, want %d (tree kinds %v)", kinds[kind], kind, n, kinds)
		}
	}
	sessions := tree.Children[0]
	if len(sessions.Children) != 1 || sessions.Children[0].Name != "session/"+created.ID {
		t.Errorf("sessions children = %+v", sessions.Children)
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	// A port nothing listens on: probes get connection refused.
	return 1
}
