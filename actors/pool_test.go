package actors

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/docker"
)

// collector spawns an actor that copies every DockerResult it gets to a
// channel, standing in for a Session.
func collector(t *testing.T, sys *System) (*actor.PID, <-chan *DockerResult) {
	t.Helper()
	out := make(chan *DockerResult, 100)
	pid := sys.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if res, ok := c.Message().(*DockerResult); ok {
			out <- res
		}
	}))
	t.Cleanup(func() { sys.system.Root.Stop(pid) })
	return pid, out
}

// heldUntil returns a job body that runs until hold closes or its
// deadline passes.
func heldUntil(hold <-chan struct{}) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-hold:
		case <-ctx.Done():
		}
		return nil
	}
}

func job(id uint64, replyTo *actor.PID, run func(context.Context) error) *DockerJob {
	return &DockerJob{OpID: id, Kind: OpInspect, ReplyTo: replyTo, Enqueued: time.Now(), Priority: PriorityBackground,
		Run: func(ctx context.Context, _ docker.Engine) (any, error) { return nil, run(ctx) }}
}

func TestPoolHungJobDoesNotDelayOthers(t *testing.T) {
	// With a fixed pool the quick jobs run on the other workers at once.
	// With the adaptive limit at one, they wait until the held job counts
	// as stuck (one second), then run.
	for _, adaptive := range []bool{false, true} {
		t.Run(fmt.Sprintf("adaptive=%v", adaptive), func(t *testing.T) {
			testHungJob(t, adaptive)
		})
	}
}

func testHungJob(t *testing.T, adaptive bool) {
	const workers = 4
	sys := startSystem(t, newFakeEngine(t), func(c *config.Config) {
		c.AsyncPoolSize = workers
		c.DockerAdaptiveLimit = adaptive
	})
	pid, results := collector(t, sys)
	hold := make(chan struct{})
	defer close(hold)

	sys.system.Root.Send(sys.rt.poolPID(), job(0, pid, heldUntil(hold)))
	const quick = 3 * (workers - 1)
	for i := 1; i <= quick; i++ {
		sys.system.Root.Send(sys.rt.poolPID(), job(uint64(i), pid, func(context.Context) error { return nil }))
	}
	// Every quick job must finish while the first job is still held.
	seen := map[uint64]bool{}
	timeout := time.After(5 * time.Second)
	for len(seen) < quick {
		select {
		case res := <-results:
			if res.OpID == 0 {
				t.Fatal("the held job finished before it was released")
			}
			seen[res.OpID] = true
		case <-timeout:
			t.Fatalf("only %d of %d quick jobs finished while one job was held", len(seen), quick)
		}
	}
}

// Only background jobs are dropped by the pool when its queue is full:
// creations are bounded at admission, and removals are never refused.
func TestPoolRejectsWhenQueueFull(t *testing.T) {
	sys := startSystem(t, newFakeEngine(t), func(c *config.Config) {
		c.AsyncPoolSize = 1
		c.DockerQueueSize = 2
		c.DockerAdaptiveLimit = false
	})
	pid, results := collector(t, sys)
	hold := make(chan struct{})
	block := heldUntil(hold)
	for i := range 4 {
		sys.system.Root.Send(sys.rt.poolPID(), job(uint64(i), pid, block))
	}
	// One job runs, two wait, the fourth is rejected.
	select {
	case res := <-results:
		if res.OpID != 3 || !errors.Is(res.Err, ErrQueueFull) {
			t.Fatalf("first result: op %d, err %v; want op 3 rejected with ErrQueueFull", res.OpID, res.Err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no rejection for the job over capacity")
	}
	close(hold)
	for range 3 {
		select {
		case res := <-results:
			if res.Err != nil {
				t.Errorf("op %d: %v", res.OpID, res.Err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("queued jobs did not finish")
		}
	}
}

func TestPoolCancelRemovesQueuedJob(t *testing.T) {
	sys := startSystem(t, newFakeEngine(t), func(c *config.Config) { c.AsyncPoolSize = 1 })
	pid, results := collector(t, sys)
	hold := make(chan struct{})
	defer close(hold)
	sys.system.Root.Send(sys.rt.poolPID(), job(1, pid, heldUntil(hold)))
	ran := make(chan struct{}, 1)
	queued := job(2, pid, func(context.Context) error { ran <- struct{}{}; return nil })
	sys.system.Root.Send(sys.rt.poolPID(), queued)
	sys.system.Root.Send(sys.rt.poolPID(), &CancelDockerJob{Job: queued})
	select {
	case res := <-results:
		if res.OpID != 2 || !errors.Is(res.Err, ErrJobCanceled) {
			t.Fatalf("result op %d err %v, want op 2 canceled", res.OpID, res.Err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel got no reply")
	}
	select {
	case <-ran:
		t.Error("canceled job ran")
	default:
	}
}

func TestRestartPolicyDecide(t *testing.T) {
	now := time.Now()
	policy := restartPolicy{Max: 2, Window: time.Minute, Backoff: time.Second}
	cases := []struct {
		name      string
		policy    restartPolicy
		previous  []time.Time
		restart   bool
		wantDelay time.Duration
	}{
		{"first death", policy, nil, true, time.Second},
		{"second death doubles delay", policy, []time.Time{now.Add(-time.Second)}, true, 2 * time.Second},
		{"limit reached", policy, []time.Time{now.Add(-2 * time.Second), now.Add(-time.Second)}, false, 0},
		{"old restarts fall out of window", policy, []time.Time{now.Add(-2 * time.Minute), now.Add(-time.Second)}, true, 2 * time.Second},
		{"restarts disabled", restartPolicy{Max: 0, Window: time.Minute, Backoff: time.Second}, nil, false, 0},
		{"delay capped at a minute", restartPolicy{Max: 100, Window: time.Hour, Backoff: time.Minute}, []time.Time{now}, true, time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			restart, delay := tc.policy.decide(tc.previous, now)
			if restart != tc.restart || delay != tc.wantDelay {
				t.Errorf("decide = (%v, %s), want (%v, %s)", restart, delay, tc.restart, tc.wantDelay)
			}
		})
	}
}

func TestPoolAcceptsRemovalsWhenQueueFull(t *testing.T) {
	sys := startSystem(t, newFakeEngine(t), func(c *config.Config) {
		c.AsyncPoolSize = 1
		c.DockerQueueSize = 1
		c.DockerAdaptiveLimit = false
	})
	pid, results := collector(t, sys)
	hold := make(chan struct{})
	block := heldUntil(hold)
	sys.system.Root.Send(sys.rt.poolPID(), job(1, pid, block))
	sys.system.Root.Send(sys.rt.poolPID(), job(2, pid, block))
	removal := job(3, pid, func(context.Context) error { return nil })
	removal.Priority = PriorityRemove
	sys.system.Root.Send(sys.rt.poolPID(), removal)
	close(hold)
	seen := map[uint64]error{}
	for len(seen) < 3 {
		select {
		case res := <-results:
			seen[res.OpID] = res.Err
		case <-time.After(5 * time.Second):
			t.Fatalf("results so far: %v", seen)
		}
	}
	if seen[3] != nil {
		t.Errorf("removal with a full queue: %v, want it run", seen[3])
	}
}

func TestRemovalsBypassAdaptiveLimit(t *testing.T) {
	sys := startSystem(t, newFakeEngine(t), func(c *config.Config) {
		c.AsyncPoolSize = 4
		c.DockerLimitInitial = 1
	})
	pid, results := collector(t, sys)
	hold := make(chan struct{})
	defer close(hold)
	held := job(1, pid, heldUntil(hold))
	held.Priority = PriorityCreate
	waiting := job(2, pid, func(context.Context) error { return nil })
	waiting.Priority = PriorityCreate
	removal := job(3, pid, func(context.Context) error { return nil })
	removal.Priority = PriorityRemove
	for _, j := range []*DockerJob{held, waiting, removal} {
		sys.system.Root.Send(sys.rt.poolPID(), j)
	}
	// The limit of one is taken by the held create, so the second create
	// waits; the removal must not wait behind it.
	select {
	case res := <-results:
		if res.OpID != 3 {
			t.Fatalf("first result is op %d, want the removal (op 3)", res.OpID)
		}
	case <-time.After(900 * time.Millisecond):
		t.Fatal("the removal waited behind the limited creates")
	}
}

func TestSessionsFallBackInlineWhenPoolStops(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, nil)
	if err := sys.system.Root.StopFuture(sys.rt.poolPID()).Wait(); err != nil {
		t.Fatalf("stop pool: %v", err)
	}
	waitFor(t, "the fallback", func() bool { return sys.Readiness(testCtx(t)).Mode == "inline-fallback" })

	info, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil || info.State != StateReady {
		t.Fatalf("create without the pool: state %s, %v", info.State, err)
	}
	rd := sys.Readiness(testCtx(t))
	if rd.PoolAlive {
		t.Error("readiness says the pool is alive")
	}
	if _, err := sys.DeleteSession(testCtx(t), info.ID, 5*time.Second); err != nil {
		t.Fatalf("delete without the pool: %v", err)
	}
	if n := engine.containerCount(); n != 0 {
		t.Errorf("%d containers left", n)
	}
}
