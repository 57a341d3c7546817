package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/docker"
)

// eventActions are the container events that sessions act on.
var eventActions = map[string]bool{"die": true, "oom": true, "destroy": true}

// eventRouter reads the daemon's event stream for this instance's
// containers and forwards die, oom and destroy events to the supervisor,
// which routes them to the owning session. The stream is a long-lived call
// without a deadline, so it runs on its own goroutine and not in the pool.
type eventRouter struct {
	rt       *deps
	sessions *actor.PID
	logger   hclog.Logger
	cancel   context.CancelFunc
	done     chan struct{}
	state    *eventState
}

// eventState is shared with the reading goroutine for the tree dump.
type eventState struct {
	isConnected bool
	reconnects  int
}

func newEventsProps(rt *deps, sessions *actor.PID) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &eventRouter{rt: rt, sessions: sessions, logger: rt.logger.Named("events")}
	}, actor.WithReceiverMiddleware(panicLogger(rt.logger)))
}

type eventsConnected struct{ Connected bool }

func (r *eventRouter) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.state = &eventState{}
		var c context.Context
		c, r.cancel = context.WithCancel(r.rt.baseCtx)
		r.done = make(chan struct{})
		go r.run(c, ctx.ActorSystem().Root, ctx.Self())
	case *eventsConnected:
		if msg.Connected && !r.state.isConnected && r.state.reconnects > 0 {
			r.logger.Info("event stream reconnected", "reconnects", r.state.reconnects)
		}
		if !msg.Connected {
			r.state.reconnects++
		}
		r.state.isConnected = msg.Connected
	case *DescribeRequest:
		state := "disconnected"
		if r.state.isConnected {
			state = "connected"
		}
		msg.Reply <- describeReply{Node: TreeNode{Name: "events", PID: ctx.Self().Id, Kind: "EventRouter",
			State: state, Detail: map[string]any{"reconnects": r.state.reconnects}}}
	case *actor.Stopping, *actor.Restarting:
		if r.cancel != nil {
			r.cancel()
			<-r.done
		}
	case *actor.Stopped:
	default:
		r.logger.Warn("unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

// run keeps the stream open, reconnecting with a backoff that doubles up
// to 30s. A failure is logged once per outage. After a reconnect every
// session inspects its container, because events sent while the stream
// was down are lost.
func (r *eventRouter) run(ctx context.Context, root *actor.RootContext, self *actor.PID) {
	defer close(r.done)
	labels := map[string]string{docker.LabelInstance: r.rt.cfg.InstanceID}
	backoff := 500 * time.Millisecond
	warned, failed := false, false
	for ctx.Err() == nil {
		events, errs := r.rt.engine.Events(ctx, labels)
		root.Send(self, &eventsConnected{Connected: true})
		if failed && r.daemonAnswers(ctx) {
			root.Send(r.sessions, &resyncSessions{})
		}
		for ev := range events {
			backoff, warned = 500*time.Millisecond, false
			if eventActions[ev.Action] {
				root.Send(r.sessions, &ContainerEventReceived{Event: ev})
			}
		}
		err := <-errs
		if ctx.Err() != nil {
			return
		}
		failed = true
		root.Send(self, &eventsConnected{Connected: false})
		if !warned {
			r.logger.Warn("event stream failed, reconnecting", "error", err, "delay", backoff)
			warned = true
		} else {
			r.logger.Debug("event stream failed again", "error", err, "delay", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff *= 2; backoff > 30*time.Second {
			backoff = 30 * time.Second
		}
	}
}

// daemonAnswers pings the daemon, so that sessions check their containers
// only once the daemon responds.
func (r *eventRouter) daemonAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, r.rt.cfg.DockerOperationTimeout)
	defer cancel()
	return r.rt.engine.Ping(ctx) == nil
}
