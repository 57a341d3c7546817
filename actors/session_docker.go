package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/docker"
)

func (s *Session) issueInspect(ctx actor.Context, purpose inspectPurpose, idOrName string) {
	s.rec.inspectPurpose = purpose
	priority := PriorityCreate
	if purpose == inspectResync {
		priority = PriorityBackground
	}
	s.issue(ctx, OpInspect, priority, false, func(c context.Context, e docker.Engine) (any, error) {
		return e.InspectContainer(c, idOrName)
	})
}

// issueCreate makes, starts and inspects the container in one job, so a
// session waits in the queue once and not three times. With replace set,
// an earlier container of this session is removed first.
func (s *Session) issueCreate(ctx actor.Context, replace bool) {
	r := s.rec
	r.generation++
	r.containerID, r.hostPort, r.oomSeen = "", 0, false
	spec := s.containerSpec()
	self, root, name := ctx.Self(), ctx.ActorSystem().Root, r.name
	opID := r.opSeq + 1
	s.issue(ctx, OpCreate, PriorityCreate, true, func(c context.Context, e docker.Engine) (any, error) {
		if replace {
			if err := e.RemoveContainer(c, name); err != nil {
				return nil, err
			}
		}
		id, err := e.CreateContainer(c, spec)
		if docker.KindOf(err) == docker.KindConflict {
			// The name is derived from the session id, so a create retried
			// after a timeout finds the container it already made.
			id, err = adoptContainer(c, e, name, spec.Labels[docker.LabelSession])
		}
		if err != nil {
			return nil, err
		}
		root.Send(self, &createProgress{OpID: opID, Stage: StateStarting})
		if err := e.StartContainer(c, id); err != nil {
			return nil, err
		}
		return e.InspectContainer(c, id)
	})
}

func adoptContainer(ctx context.Context, e docker.Engine, name, sessionID string) (string, error) {
	c, err := e.InspectContainer(ctx, name)
	if err != nil {
		return "", err
	}
	if c.Labels[docker.LabelSession] != sessionID {
		return "", &docker.Error{Kind: docker.KindConflict, Op: "create container " + name,
			Err: errors.New("the name is taken by a container of another session")}
	}
	return c.ID, nil
}

func (s *Session) containerSpec() docker.ContainerSpec {
	r := s.rec
	specJSON, _ := json.Marshal(r.spec)
	labels := docker.SessionLabels(s.rt.cfg.InstanceID, r.id, r.spec.User, string(specJSON), r.createdAt)
	for key, value := range s.rt.cfg.ContainerLabels {
		if _, reserved := labels[key]; !reserved {
			labels[key] = value
		}
	}
	return docker.ContainerSpec{
		Name:        r.name,
		Image:       r.spec.Image,
		Cmd:         r.spec.Cmd,
		Env:         r.spec.Env,
		Labels:      labels,
		Port:        s.rt.cfg.SessionPort,
		MemoryBytes: r.spec.Limits.MemoryBytes,
		NanoCPUs:    int64(r.spec.Limits.CPUs * 1e9),
		PidsLimit:   r.spec.Limits.Pids,
	}
}

func (s *Session) issueRemove(ctx actor.Context) {
	name := s.rec.name
	s.issue(ctx, OpRemove, PriorityRemove, true, func(c context.Context, e docker.Engine) (any, error) {
		return nil, e.RemoveContainer(c, name)
	})
}

// issue sends a job to the pool, or runs it inline when async Docker calls
// are off or the pool is gone. Inline runs block this mailbox: that is the
// baseline the stress harness compares against.
func (s *Session) issue(ctx actor.Context, kind OpKind, priority int, notifyStart bool, run func(context.Context, docker.Engine) (any, error)) {
	r := s.rec
	r.opSeq++
	job := &DockerJob{
		OpID: r.opSeq, SessionID: r.id, Kind: kind, Run: run, Idempotent: true,
		ReplyTo: ctx.Self(), NotifyStart: notifyStart, Priority: priority, Enqueued: time.Now(),
	}
	r.inflight = job
	r.inflightStarted = false
	if r.reserved {
		job.Reserved, r.reserved = true, false
	}
	if s.rt.useAsync() {
		ctx.Send(s.rt.poolPID(), job)
		return
	}
	s.runInline(ctx, job)
}

func (s *Session) runInline(ctx actor.Context, job *DockerJob) {
	if job.NotifyStart {
		ctx.Send(ctx.Self(), &DockerJobStarted{OpID: job.OpID})
	}
	res := s.rt.exec.run(s.rt.baseCtx, job)
	res.Waited = time.Since(job.Enqueued) - res.Elapsed
	ctx.Send(ctx.Self(), res)
}

func (s *Session) onJobStarted(ctx actor.Context, msg *DockerJobStarted) {
	r := s.rec
	if r.inflight == nil || r.inflight.OpID != msg.OpID {
		return
	}
	r.inflightStarted = true
	if r.state == StatePending && r.inflight.Kind == OpCreate && !r.cleaning {
		s.transition(ctx, StateCreating, "docker worker took the create job")
	}
}

func (s *Session) onCreateProgress(ctx actor.Context, msg *createProgress) {
	r := s.rec
	if r.inflight == nil || r.inflight.OpID != msg.OpID || r.cleaning {
		return
	}
	if r.state == StateCreating || r.state == StatePending {
		s.transition(ctx, msg.Stage, "container created")
	}
}

func (s *Session) onResult(ctx actor.Context, res *DockerResult) {
	r := s.rec
	if r.inflight == nil || r.inflight.OpID != res.OpID {
		s.logger.Debug("ignoring stale docker result", "kind", res.Kind, "op_id", res.OpID)
		s.adoptStaleContainer(res)
		return
	}
	job := r.inflight
	if errors.Is(res.Err, ErrPoolStopped) {
		s.logger.Warn("docker pool is gone, running the job inline", "kind", job.Kind)
		s.runInline(ctx, job)
		return
	}
	r.inflight = nil
	if res.Err != nil {
		s.logger.Debug("docker job failed", "kind", res.Kind, "attempts", res.Attempts, "error", res.Err)
	}

	switch res.Kind {
	case OpCreate:
		s.onCreateResult(ctx, res)
	case OpInspect:
		s.onInspectResult(ctx, res)
	case OpRemove:
		s.onRemoveResult(ctx, res)
	}
}

// adoptStaleContainer records the container of a create result that
// arrived after an actor restart made the session stop waiting for it.
// Cleanup removes the container by name in any case.
func (s *Session) adoptStaleContainer(res *DockerResult) {
	if c, ok := res.Value.(docker.Container); ok && res.Kind == OpCreate && s.rec.containerID == "" {
		s.rec.containerID = c.ID
	}
}

func (s *Session) onCreateResult(ctx actor.Context, res *DockerResult) {
	r := s.rec
	if r.cleaning {
		if errors.Is(res.Err, ErrJobCanceled) {
			// The job never left the queue: no container exists.
			s.finish(ctx, "left the Docker queue before a container was made")
			return
		}
		s.issueRemove(ctx)
		return
	}
	if res.Err != nil {
		s.fail(ctx, res.Err.Error(), res.Err)
		return
	}
	c := res.Value.(docker.Container)
	r.containerID = c.ID
	s.logger = s.logger.With("container_id", shortID(c.ID))
	if !c.Running {
		s.containerDied(ctx, exitReason(c))
		return
	}
	if c.HostPort == 0 {
		s.fail(ctx, fmt.Sprintf("container %s publishes no host port for port %d", shortID(c.ID), s.rt.cfg.SessionPort), nil)
		return
	}
	r.hostPort = c.HostPort
	s.transition(ctx, StateProbing, fmt.Sprintf("container %s running, probing 127.0.0.1:%d", shortID(c.ID), c.HostPort))
	s.startProbe(ctx)
}

// onInspectResult handles an inspect issued after an actor restart or an
// adoption, after the probe gave up, or after the event stream was down.
func (s *Session) onInspectResult(ctx actor.Context, res *DockerResult) {
	r := s.rec
	if r.cleaning {
		s.issueRemove(ctx)
		return
	}
	if r.inspectPurpose == inspectDeath && r.state != StateProbing && r.state != StateReady {
		return
	}

	if docker.KindOf(res.Err) == docker.KindNotFound {
		if r.inspectPurpose == inspectReconcile && (r.state == StatePending || r.state == StateCreating || r.state == StateStarting) {
			s.issueCreate(ctx, false)
			return
		}
		s.containerDied(ctx, "container removed outside sessiond")
		return
	}
	if res.Err != nil && daemonTrouble(res.Err) {
		s.onInspectUnreachable(ctx, res.Err)
		return
	}
	if res.Err != nil {
		s.fail(ctx, res.Err.Error(), res.Err)
		return
	}
	s.resetRetries()
	s.onContainerInspected(ctx, res.Value.(docker.Container))
}

// onContainerInspected acts on the state an inspect found, per the reason
// the inspect was issued.
func (s *Session) onContainerInspected(ctx actor.Context, c docker.Container) {
	r := s.rec
	r.containerID = c.ID
	if c.State == "created" && r.inspectPurpose == inspectReconcile {
		// Made but never started, by a process killed between the two
		// calls: the create job adopts it by name and starts it.
		s.issueCreate(ctx, false)
		return
	}
	if c.State == "removing" {
		s.containerDied(ctx, "container removed outside sessiond")
		return
	}
	if !c.Running {
		if r.oomSeen && !c.OOMKilled {
			c.OOMKilled = true
		}
		s.containerDied(ctx, exitReason(c))
		return
	}

	r.hostPort = c.HostPort
	switch r.inspectPurpose {
	case inspectDeath:
		// Started again from outside: carry on as before.
		r.deathPending = false
		if r.state == StateProbing {
			s.startProbe(ctx)
		}
	case inspectProbeFailed:
		s.fail(ctx, fmt.Sprintf("health check %s on 127.0.0.1:%d did not pass within %s", s.rt.cfg.HealthPath, r.hostPort, s.rt.cfg.StartupTimeout), nil)
	case inspectResync:
		if r.state == StateProbing && r.probeCancel == nil {
			s.startProbe(ctx)
		}
	case inspectReconcile:
		if r.state != StateProbing {
			s.transition(ctx, StateProbing, fmt.Sprintf("container %s running, probing 127.0.0.1:%d", shortID(c.ID), c.HostPort))
		}
		s.startProbe(ctx)
	}
}

func (s *Session) onRemoveResult(ctx actor.Context, res *DockerResult) {
	r := s.rec
	if res.Err != nil && daemonTrouble(res.Err) && s.rt.baseCtx.Err() == nil {
		// The container must not be left behind, so the removal is retried
		// until the daemon responds.
		s.retryLater(ctx, "remove container", res.Err)
		return
	}
	if res.Err != nil {
		s.logger.Error("remove container failed, container may be left behind", "container", r.name, "error", res.Err)
		if r.lastError == "" {
			r.lastError = res.Err.Error()
		} else {
			r.lastError += "; then " + res.Err.Error()
		}
		r.finalState = StateFailed
	} else {
		s.logger.Debug("container removed", "container", r.name)
	}
	s.finish(ctx, "container removed")
}

// onInspectUnreachable handles an inspect that failed because the daemon
// did not respond. An outage is no evidence about the container, so it
// must not fail a healthy session.
func (s *Session) onInspectUnreachable(ctx actor.Context, err error) {
	r := s.rec
	switch r.inspectPurpose {
	case inspectResync:
		// Every reconnect of the event stream triggers another check.
		s.logger.Debug("container check failed, daemon unreachable", "error", err)
	case inspectDeath:
		// The die event already carried the exit code.
		s.containerDied(ctx, fmt.Sprintf("container exited with code %d", r.dieExitCode))
	default:
		s.retryLater(ctx, "inspect container", err)
	}
}

// retryLater repeats the failed job after a backoff that doubles from 2s
// to 30s. The first failure of a series is logged at WARN, later ones at
// DEBUG.
func (s *Session) retryLater(ctx actor.Context, what string, err error) {
	r := s.rec
	delay := min(30*time.Second, (2*time.Second)<<min(r.retries, 4))
	r.retries++
	if !r.retryWarned {
		r.retryWarned = true
		s.logger.Warn(what+" failed, daemon unreachable; retrying", "error", err, "delay", delay)
	} else {
		s.logger.Debug(what+" failed again", "error", err, "attempt", r.retries, "delay", delay)
	}
	gen := r.generation
	self, root := ctx.Self(), ctx.ActorSystem().Root
	r.retryTimer = time.AfterFunc(delay, func() {
		root.Send(self, &timerFired{Kind: timerRetry, Generation: gen})
	})
}

func (s *Session) resetRetries() {
	if s.rec.retries > 0 {
		s.logger.Info("docker daemon reachable again")
	}
	s.rec.retries, s.rec.retryWarned = 0, false
}

// daemonTrouble reports whether err means the daemon did not respond,
// rather than that the request was wrong.
func daemonTrouble(err error) bool {
	switch docker.KindOf(err) {
	case docker.KindTransient, docker.KindTimeout:
		return true
	}
	return errors.Is(err, ErrQueueFull) || errors.Is(err, ErrPoolStopped)
}
