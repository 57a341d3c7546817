package actors

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/docker"
)

// panicNow makes the test middleware panic inside a Session's Receive.
type panicNow struct{}

func panicOn() actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			if _, ok := env.Message.(*panicNow); ok {
				panic("injected panic")
			}
			next(c, env)
		}
	}
}

func TestSessionPanicKeepsItsContainer(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, nil)
	sys.rt.sessionMiddleware = []actor.ReceiverMiddleware{panicOn()}

	info, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil || info.State != StateReady {
		t.Fatalf("create: state %s, %v", info.State, err)
	}
	pid := actor.NewPID("nonhost", "sessiond/sessions/"+info.ID)
	sys.system.Root.Send(pid, &panicNow{})

	var node TreeNode
	waitFor(t, "the actor restart", func() bool {
		tree, _ := sys.Tree(testCtx(t))
		for _, n := range tree.Children[0].Children {
			if n.Name == "session/"+info.ID {
				node = n
			}
		}
		return node.Restarts == 1
	})
	got := waitState(t, sys, info.ID, StateReady)
	if got.ContainerID != info.ContainerID {
		t.Errorf("container after restart = %s, want %s", got.ContainerID, info.ContainerID)
	}
	if n := engine.containerCount(); n != 1 {
		t.Errorf("%d containers after the panic, want 1", n)
	}
	if n := engine.count("create"); n != 1 {
		t.Errorf("create called %d times, want 1", n)
	}
	if got.History[0].State != StatePending || len(got.History) < len(info.History) {
		t.Errorf("history lost in the restart: %+v", got.History)
	}
	if _, err := engine.InspectContainer(testCtx(t), docker.ContainerName(info.ID)); err != nil {
		t.Errorf("container gone: %v", err)
	}
}

func TestRepeatedPanicsStopSessionAndRemoveContainer(t *testing.T) {
	engine := newFakeEngine(t)
	sys := startSystem(t, engine, nil)
	sys.rt.sessionMiddleware = []actor.ReceiverMiddleware{panicOn()}

	info, err := sys.CreateSession(testCtx(t), CreateRequest{User: "alice"}, 5*time.Second)
	if err != nil || info.State != StateReady {
		t.Fatalf("create: state %s, %v", info.State, err)
	}
	pid := actor.NewPID("nonhost", "sessiond/sessions/"+info.ID)
	for range sessionMaxActorRestarts + 1 {
		sys.system.Root.Send(pid, &panicNow{})
	}
	got := waitState(t, sys, info.ID, StateFailed)
	if got.LastError != "session actor failed repeatedly" {
		t.Errorf("last error = %q", got.LastError)
	}
	waitFor(t, "the container removal", func() bool { return engine.containerCount() == 0 })
	if rd := sys.Readiness(testCtx(t)); rd.Sessions != 0 {
		t.Errorf("%d live sessions, want 0", rd.Sessions)
	}
}
