package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"
)

// DockerWorker runs one Docker job at a time on a goroutine of its own, so
// its mailbox stays free to answer DescribeRequest while the call runs.
type DockerWorker struct {
	rt      *deps
	index   int
	logger  hclog.Logger
	current *DockerJob
	since   time.Time
	done    int
}

func newWorkerProps(rt *deps, index int) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &DockerWorker{rt: rt, index: index, logger: rt.logger.Named("docker_worker").With("worker", index)}
	}, actor.WithReceiverMiddleware(panicLogger(rt.logger)))
}

func (w *DockerWorker) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *DockerJob:
		w.onJob(ctx, msg)
	case *jobFinished:
		w.onFinished(ctx, msg)
	case *DescribeRequest:
		w.onDescribe(ctx, msg)
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		w.logger.Warn("unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

func (w *DockerWorker) onJob(ctx actor.Context, job *DockerJob) {
	w.current = job
	w.since = time.Now()
	if job.NotifyStart {
		ctx.Send(job.ReplyTo, &DockerJobStarted{OpID: job.OpID})
	}
	waited := w.since.Sub(job.Enqueued)
	self := ctx.Self()
	root := ctx.ActorSystem().Root
	go func() {
		res := w.rt.exec.run(w.rt.baseCtx, job)
		res.Waited = waited
		// The result goes straight to the sender: it must arrive even if
		// this worker was stopped meanwhile by a restart of its pool.
		root.Send(job.ReplyTo, res)
		root.Send(self, &jobFinished{Job: job, Result: res})
	}()
}

func (w *DockerWorker) onFinished(ctx actor.Context, msg *jobFinished) {
	w.current = nil
	w.done++
	ctx.Send(ctx.Parent(), &workerDone{Worker: ctx.Self(), Result: msg.Result})
}

func (w *DockerWorker) onDescribe(ctx actor.Context, msg *DescribeRequest) {
	node := TreeNode{
		Name:   fmt.Sprintf("worker-%d", w.index),
		PID:    ctx.Self().Id,
		Kind:   "DockerWorker",
		State:  "idle",
		Detail: map[string]any{"jobs_done": w.done},
	}
	if w.current != nil {
		node.State = "busy"
		node.Detail["job_kind"] = string(w.current.Kind)
		node.Detail["running_ms"] = time.Since(w.since).Milliseconds()
	}
	msg.Reply <- describeReply{Node: node}
}
