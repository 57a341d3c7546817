package actors

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/docker"
)

// Queue priorities: user-facing creations go before removals, and both go
// before background work such as reconciliation.
const (
	PriorityCreate = iota
	PriorityRemove
	PriorityBackground
	numPriorities
)

// poolStats are the pool's counters, readable from any goroutine without a
// message round trip (admission, readiness, queue positions).
type poolStats struct {
	queued atomic.Int64
	// reserved counts admitted sessions whose create job has not reached
	// the pool yet. Admission adds it to queued, so concurrent admissions
	// cannot overfill the queue.
	reserved   atomic.Int64
	busy       atomic.Int64
	enqueued   atomic.Uint64
	dispatched atomic.Uint64
	alive      atomic.Bool
	// limit is the number of jobs allowed to run at once: the adaptive
	// limit, or workers when adaptation is off.
	limit    atomic.Int64
	capacity int
	workers  int
}

// position returns how many jobs are ahead of job in the queue. It is exact
// for jobs of one priority and an estimate across priorities.
func (s *poolStats) position(job *DockerJob) int {
	ahead := int64(job.queuedSeq.Load()) - int64(s.dispatched.Load()) - 1
	if ahead < 0 {
		return 0
	}
	return int(ahead)
}

// poolState lives outside the DockerPool instance so that an actor restart
// keeps the queued jobs instead of losing their senders' replies.
type poolState struct {
	queues  [numPriorities][]*DockerJob
	idle    []*actor.PID
	busy    map[string]busyJob
	workers []*actor.PID
	// limiter is nil when DOCKER_ADAPTIVE_LIMIT is off.
	limiter *vegasLimit
	// recheck is set while a timer will wake the pool to look again at
	// jobs that may have become stuck.
	recheck bool
}

type busyJob struct {
	job     *DockerJob
	started time.Time
	// limited is false for removals, which the adaptive limit does not
	// count.
	limited bool
}

// poolRecheck wakes the pool when a running job turns stuck.
type poolRecheck struct{}

// DockerPool owns the queue of Docker jobs and hands each job to an idle
// DockerWorker. A job waits only while the running jobs reach the limit, so
// one slow call never delays a job that another worker could run. Sending
// to the pool never blocks: the queue's bound is kept at admission, and a
// background job that finds the queue full gets ErrQueueFull at once.
type DockerPool struct {
	rt     *deps
	st     *poolState
	logger hclog.Logger
}

func newPoolProps(rt *deps) *actor.Props {
	st := &poolState{busy: map[string]busyJob{}}
	if rt.cfg.DockerAdaptiveLimit {
		st.limiter = newVegasLimit(rt.cfg.DockerLimitMin, rt.cfg.DockerLimitInitial, rt.cfg.AsyncPoolSize)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &DockerPool{rt: rt, st: st, logger: rt.logger.Named("docker_pool")}
	}, actor.WithReceiverMiddleware(panicLogger(rt.logger)),
		actor.WithSupervisor(actor.NewOneForOneStrategy(3, time.Minute, workerDecider(rt.logger))))
}

func (p *DockerPool) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.onStarted(ctx)
	case *DockerJob:
		p.onJob(ctx, msg)
	case *workerDone:
		p.onWorkerDone(ctx, msg)
	case *CancelDockerJob:
		p.onCancel(ctx, msg)
	case *poolRecheck:
		p.st.recheck = false
		p.dispatch(ctx)
	case *DescribeRequest:
		p.onDescribe(ctx, msg)
	case *actor.Stopping:
		p.onStopping(ctx)
	case *actor.Restarting, *actor.Stopped, *actor.Terminated:
	default:
		p.logger.Warn("unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

// onStarted spawns the workers. After a restart the old workers are gone,
// because protoactor stops a restarted actor's children. Their running
// jobs still deliver results, because workers reply to senders directly.
func (p *DockerPool) onStarted(ctx actor.Context) {
	p.st.idle = p.st.idle[:0]
	p.st.workers = p.st.workers[:0]
	clear(p.st.busy)
	for i := 1; i <= p.rt.pool.workers; i++ {
		pid, err := ctx.SpawnNamed(newWorkerProps(p.rt, i), fmt.Sprintf("worker-%d", i))
		if err != nil {
			p.logger.Error("spawn docker worker failed", "worker", i, "error", err)
			continue
		}
		p.st.workers = append(p.st.workers, pid)
		p.st.idle = append(p.st.idle, pid)
	}
	p.rt.pool.busy.Store(0)
	p.rt.metrics.busyWorkers.Set(0)
	p.rt.pool.alive.Store(true)
	p.publishLimit()
	p.logger.Info("docker pool started", "workers", len(p.st.workers), "queue_capacity", p.rt.pool.capacity,
		"adaptive_limit", p.st.limiter != nil, "limit", p.rt.pool.limit.Load())
	p.dispatch(ctx)
}

// onJob queues a job. The queue's bound is enforced at admission, where
// a new session reserves its place: jobs of admitted sessions, removals
// above all, are never rejected here, or a full queue would fail sessions
// it had accepted and leave containers behind. Only background jobs are
// dropped when the queue is full.
func (p *DockerPool) onJob(ctx actor.Context, job *DockerJob) {
	if job.Priority < 0 || job.Priority >= numPriorities {
		job.Priority = PriorityBackground
	}
	if job.Reserved {
		p.rt.pool.reserved.Add(-1)
	}
	if job.Priority == PriorityBackground && int(p.rt.pool.queued.Load()) >= p.rt.pool.capacity {
		p.logger.Warn("docker queue full, background job dropped", "kind", job.Kind, "session_id", job.SessionID, "op_id", job.OpID)
		ctx.Send(job.ReplyTo, &DockerResult{OpID: job.OpID, Kind: job.Kind, Err: ErrQueueFull})
		return
	}
	if job.Enqueued.IsZero() {
		job.Enqueued = time.Now()
	}
	job.queuedSeq.Store(p.rt.pool.enqueued.Add(1))
	p.st.queues[job.Priority] = append(p.st.queues[job.Priority], job)
	p.setQueued(p.rt.pool.queued.Add(1))
	p.dispatch(ctx)
}

func (p *DockerPool) onWorkerDone(ctx actor.Context, msg *workerDone) {
	if _, ok := p.st.busy[msg.Worker.Id]; !ok {
		// A worker of an earlier incarnation of the pool: not ours to reuse.
		return
	}
	inflight := len(p.st.busy)
	delete(p.st.busy, msg.Worker.Id)
	p.st.idle = append(p.st.idle, msg.Worker)
	p.rt.metrics.busyWorkers.Set(float64(p.rt.pool.busy.Add(-1)))
	if p.st.limiter != nil && msg.Result != nil && msg.Result.Kind == OpCreate {
		p.observe(msg.Result, inflight)
	}
	p.dispatch(ctx)
}

// observe feeds a finished create to the adaptive limit. Only a clean
// first attempt is a latency sample; a transient error or a timeout cuts
// the limit, while errors of the request itself (a missing image, a name
// conflict) say nothing about load.
func (p *DockerPool) observe(res *DockerResult, inflight int) {
	before := p.st.limiter.limit
	switch kind := docker.KindOf(res.Err); {
	case res.Err == nil && res.Attempts == 1:
		p.st.limiter.observe(res.Elapsed, inflight, false)
	case kind == docker.KindTransient || kind == docker.KindTimeout || res.Attempts > 1:
		p.st.limiter.observe(0, inflight, true)
	}
	if p.st.limiter.limit != before {
		p.logger.Debug("docker concurrency limit changed", "from", before, "to", p.st.limiter.limit,
			"latency", res.Elapsed, "baseline", p.st.limiter.baseline, "inflight", inflight)
		p.publishLimit()
	}
}

func (p *DockerPool) publishLimit() {
	limit := len(p.st.workers)
	if p.st.limiter != nil {
		limit = p.st.limiter.limit
	}
	p.rt.pool.limit.Store(int64(limit))
	p.rt.metrics.concurrencyLimit.Set(float64(limit))
}

func (p *DockerPool) onCancel(ctx actor.Context, msg *CancelDockerJob) {
	q := p.st.queues[msg.Job.Priority]
	for i, job := range q {
		if job != msg.Job {
			continue
		}
		p.st.queues[msg.Job.Priority] = append(q[:i], q[i+1:]...)
		p.setQueued(p.rt.pool.queued.Add(-1))
		// The seq of a canceled job is never dispatched: count it as
		// passed so the positions of the jobs behind it stay right.
		p.rt.pool.dispatched.Add(1)
		ctx.Send(job.ReplyTo, &DockerResult{OpID: job.OpID, Kind: job.Kind, Err: ErrJobCanceled})
		return
	}
}

// dispatch gives queued jobs to idle workers, highest priority first,
// while fewer jobs than the limit run.
//
// One removal at a time may run beyond the adaptive limit: removals are
// short and free the daemon's resources, and would otherwise wait behind
// every queued creation while the limit holds creations back. Only one,
// because each removal in flight slows the creations that users wait for.
func (p *DockerPool) dispatch(ctx actor.Context) {
	for len(p.st.idle) > 0 {
		var job *DockerJob
		switch {
		case p.underLimit(ctx):
			job = p.next(0)
		case p.removalsRunning() == 0:
			job = p.next(PriorityRemove)
		}
		if job == nil {
			return
		}
		worker := p.st.idle[len(p.st.idle)-1]
		p.st.idle = p.st.idle[:len(p.st.idle)-1]
		p.st.busy[worker.Id] = busyJob{job: job, started: time.Now(), limited: job.Priority != PriorityRemove}
		p.rt.metrics.busyWorkers.Set(float64(p.rt.pool.busy.Add(1)))
		p.rt.pool.dispatched.Add(1)
		p.rt.metrics.dockerQueueWait.Observe(time.Since(job.Enqueued).Seconds())
		ctx.Send(worker, job)
	}
}

// underLimit reports whether another job may start under the adaptive
// limit. Jobs running longer than stuckAfter do not count: a call that
// hangs until its timeout must not hold back the queue, as it would with a
// limit of one. When the limit is reached, a timer wakes the pool once the
// oldest running job turns stuck.
func (p *DockerPool) underLimit(ctx actor.Context) bool {
	if p.st.limiter == nil {
		return true
	}
	now := time.Now()
	stuckAfter := p.stuckAfter()
	running := 0
	var oldest time.Time
	for _, b := range p.st.busy {
		if !b.limited || now.Sub(b.started) >= stuckAfter {
			continue
		}
		running++
		if oldest.IsZero() || b.started.Before(oldest) {
			oldest = b.started
		}
	}
	if running < p.st.limiter.limit {
		return true
	}
	if !p.st.recheck && p.rt.pool.queued.Load() > 0 {
		p.st.recheck = true
		self, root := ctx.Self(), ctx.ActorSystem().Root
		time.AfterFunc(oldest.Add(stuckAfter).Sub(now), func() { root.Send(self, &poolRecheck{}) })
	}
	return false
}

// stuckAfter is four no-load create latencies, and at least a second.
func (p *DockerPool) stuckAfter() time.Duration {
	return max(time.Second, 4*p.st.limiter.baseline)
}

// removalsRunning counts the removals that run outside the limit.
func (p *DockerPool) removalsRunning() int {
	n := 0
	for _, b := range p.st.busy {
		if !b.limited {
			n++
		}
	}
	return n
}

// next takes the first job of the highest priority at or below from (0
// is the highest).
func (p *DockerPool) next(from int) *DockerJob {
	for prio := from; prio < numPriorities; prio++ {
		q := p.st.queues[prio]
		if len(q) == 0 {
			continue
		}
		job := q[0]
		q[0] = nil
		if len(q) == 1 {
			p.st.queues[prio] = q[:0]
		} else {
			p.st.queues[prio] = q[1:]
		}
		p.setQueued(p.rt.pool.queued.Add(-1))
		return job
	}
	return nil
}

func (p *DockerPool) setQueued(n int64) { p.rt.metrics.queueLength.Set(float64(n)) }

func (p *DockerPool) onDescribe(ctx actor.Context, msg *DescribeRequest) {
	node := TreeNode{
		Name:  "docker",
		PID:   ctx.Self().Id,
		Kind:  "DockerPool",
		State: "running",
		Detail: map[string]any{
			"queue_length":   p.rt.pool.queued.Load(),
			"queue_capacity": p.rt.pool.capacity,
			"busy_workers":   len(p.st.busy),
			"workers":        len(p.st.workers),
			"limit":          p.rt.pool.limit.Load(),
		},
	}
	msg.Reply <- describeReply{Node: node, Children: append([]*actor.PID(nil), p.st.workers...)}
}

// onStopping fails every queued job so that no sender waits forever.
func (p *DockerPool) onStopping(ctx actor.Context) {
	for prio := range p.st.queues {
		for _, job := range p.st.queues[prio] {
			ctx.Send(job.ReplyTo, &DockerResult{OpID: job.OpID, Kind: job.Kind, Err: ErrPoolStopped})
		}
		p.st.queues[prio] = nil
	}
	p.setQueued(0)
	p.rt.pool.queued.Store(0)
	p.logger.Info("docker pool stopping")
}
