package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/docker"
)

// sessionRecord is a session's state. It lives in the producer's closure,
// outside the actor instance, so that an actor restart after a panic keeps
// the spec, the container and the history.
type sessionRecord struct {
	id        string
	spec      sessionSpec
	name      string // container name, derived from the id
	createdAt time.Time

	state        State
	history      []Transition
	containerID  string
	hostPort     int
	readyAt      time.Time
	lastActivity time.Time
	lastError    string

	restarts     int
	restartTimes []time.Time
	failureCode  Code

	// opSeq numbers Docker jobs; inflight is the one job in flight, if any.
	// A session runs at most one Docker job at a time.
	opSeq           uint64
	inflight        *DockerJob
	inflightStarted bool

	// generation increases with every container made or probe started, so
	// that late probe results and timers of an earlier container are ignored.
	generation  uint64
	probeCancel context.CancelFunc
	oomSeen     bool
	// deathPending is set from a die event until the inspect that tells
	// why the container died returns; dieExitCode is the event's exit code.
	deathPending bool
	dieExitCode  int
	// retries counts Docker jobs repeated after the daemon was
	// unreachable, for the backoff; it resets when a job succeeds.
	retries     int
	retryTimer  *time.Timer
	retryWarned bool

	// cleaning is set once the session is on its way to a terminal state;
	// finalState is where it ends after its container is removed.
	cleaning   bool
	finalState State
	finished   bool

	idleTimer    *time.Timer
	ttlTimer     *time.Timer
	restartTimer *time.Timer

	waiters       []*WaitSessionRequest
	actorRestarts int
	started       bool
	// adopted marks a session rebuilt from a container found at start.
	adopted bool
	// reserved marks a place in the Docker queue taken at admission, which
	// the first job uses.
	reserved bool
	// readyObserved is set once time-to-ready went into the metric, so
	// restarts and adoptions do not count as slow starts.
	readyObserved bool
	// inspectPurpose says why the inspect in flight was issued.
	inspectPurpose inspectPurpose
}

type inspectPurpose int

const (
	// inspectReconcile reads the container back after an actor restart or
	// an adoption at start.
	inspectReconcile inspectPurpose = iota
	// inspectProbeFailed finds out why the health probe gave up.
	inspectProbeFailed
	// inspectResync checks the container after the event stream was down.
	inspectResync
	// inspectDeath finds out why the container died: a container removed
	// with "docker rm -f" also sends die, with the daemon's kill signal as
	// exit code, but inspect then finds it gone or being removed.
	inspectDeath
)

// Session owns exactly one container through its whole lifecycle. It never
// blocks its mailbox on Docker or on a probe in async mode: Docker work goes
// to the DockerPool as a DockerJob and the result comes back as a message.
type Session struct {
	rt     *deps
	rec    *sessionRecord
	logger hclog.Logger
}

func newSessionProps(rt *deps, rec *sessionRecord) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &Session{rt: rt, rec: rec, logger: rt.logger.Named("session").With("session_id", rec.id, "user", rec.spec.User)}
	}, actor.WithReceiverMiddleware(append([]actor.ReceiverMiddleware{panicLogger(rt.logger)}, rt.sessionMiddleware...)...))
}

func (s *Session) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.onStarted(ctx)
	case *GetSessionRequest:
		s.touch()
		msg.Reply <- infoReply{Info: s.snapshot(true)}
	case *WaitSessionRequest:
		s.onWait(msg)
	case *StopSession:
		s.onStop(ctx, msg)
	case *DockerJobStarted:
		s.onJobStarted(ctx, msg)
	case *createProgress:
		s.onCreateProgress(ctx, msg)
	case *DockerResult:
		s.onResult(ctx, msg)
	case *probeFinished:
		s.onProbeFinished(ctx, msg)
	case *ContainerEventReceived:
		s.onContainerEvent(ctx, msg)
	case *timerFired:
		s.onTimer(ctx, msg)
	case *checkContainer:
		s.onCheckContainer(ctx)
	case *DescribeRequest:
		s.onDescribe(ctx, msg)
	case *actor.Restarting:
		s.rec.actorRestarts++
	case *actor.Stopping:
		s.onStopping()
	case *actor.Stopped:
	default:
		s.logger.Warn("unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

func (s *Session) onStarted(ctx actor.Context) {
	r := s.rec
	if r.started {
		s.reconcile(ctx)
		return
	}
	r.started = true
	if r.adopted {
		r.lastActivity = time.Now()
		s.transition(ctx, StatePending, "adopted container "+shortID(r.containerID)+" found at start")
		s.armTimers(ctx)
		s.logger.Info("session adopted", "container_id", shortID(r.containerID))
		s.issueInspect(ctx, inspectReconcile, r.name)
		return
	}
	r.lastActivity = r.createdAt
	s.transition(ctx, StatePending, "admitted")
	s.armTimers(ctx)
	s.logger.Info("session started", "image", r.spec.Image)
	s.issueCreate(ctx, false)
}

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

// onCheckContainer inspects the container of a probing or ready session
// after the event stream was down, so that a death missed meanwhile is seen.
func (s *Session) onCheckContainer(ctx actor.Context) {
	r := s.rec
	if r.cleaning || r.inflight != nil || r.containerID == "" || (r.state != StateReady && r.state != StateProbing) {
		return
	}
	s.issueInspect(ctx, inspectResync, r.containerID)
}

// reconcile runs after an actor restart: the message that caused the panic
// is lost, so the session forgets its job in flight and reads its
// container's state back from Docker instead.
func (s *Session) reconcile(ctx actor.Context) {
	r := s.rec
	s.logger.Warn("session actor restarted, reading container state back from docker",
		"restarts", r.actorRestarts, "state", r.state)
	r.inflight = nil
	s.cancelProbe()
	if r.finished {
		return
	}
	if r.cleaning {
		s.issueRemove(ctx)
		return
	}
	s.issueInspect(ctx, inspectReconcile, r.name)
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

// adoptStaleContainer notes the container of a create result that arrived
// after the session stopped waiting for it (an actor restart), so that
// cleanup removes it by name anyway; nothing else needs doing here.
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
			s.finish(ctx)
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
	c := res.Value.(docker.Container)
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
		// The container must not be left behind: try again until the
		// daemon answers.
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
	s.finish(ctx)
}

// onInspectUnreachable handles an inspect that failed because the daemon
// did not answer. A daemon outage says nothing about the container, so it
// must not fail a healthy session.
func (s *Session) onInspectUnreachable(ctx actor.Context, err error) {
	r := s.rec
	switch r.inspectPurpose {
	case inspectResync:
		// Every reconnect of the event stream asks for another check.
		s.logger.Debug("container check failed, daemon unreachable", "error", err)
	case inspectDeath:
		// The die event already said how the container ended.
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
		s.logger.Info("docker answers again")
	}
	s.rec.retries, s.rec.retryWarned = 0, false
}

// daemonTrouble reports whether err means the daemon did not answer
// rather than that the request was wrong.
func daemonTrouble(err error) bool {
	switch docker.KindOf(err) {
	case docker.KindTransient, docker.KindTimeout:
		return true
	}
	return errors.Is(err, ErrQueueFull) || errors.Is(err, ErrPoolStopped)
}

// startProbe polls the health path on a goroutine until it answers 200,
// the startup timeout passes or the probe is canceled.
func (s *Session) startProbe(ctx actor.Context) {
	r := s.rec
	s.cancelProbe()
	r.generation++
	gen := r.generation
	probeCtx, cancel := context.WithTimeout(s.rt.baseCtx, s.rt.cfg.StartupTimeout)
	r.probeCancel = cancel
	url := "http://127.0.0.1:" + strconv.Itoa(r.hostPort) + s.rt.cfg.HealthPath
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		err := s.rt.probe(probeCtx, url)
		root.Send(self, &probeFinished{Generation: gen, Err: err})
	}()
}

func (s *Session) cancelProbe() {
	if s.rec.probeCancel != nil {
		s.rec.probeCancel()
		s.rec.probeCancel = nil
	}
}

func (s *Session) onProbeFinished(ctx actor.Context, msg *probeFinished) {
	r := s.rec
	if msg.Generation != r.generation || r.state != StateProbing || r.cleaning {
		return
	}
	s.cancelProbe()
	if msg.Err == nil {
		r.readyAt = time.Now()
		if !r.readyObserved && !r.adopted {
			r.readyObserved = true
			s.rt.metrics.timeToReady.Observe(r.readyAt.Sub(r.createdAt).Seconds())
		}
		s.transition(ctx, StateReady, fmt.Sprintf("health check passed on 127.0.0.1:%d", r.hostPort))
		s.logger.Info("session ready", "host_port", r.hostPort, "time_to_ready", r.readyAt.Sub(r.createdAt))
		return
	}
	s.logger.Debug("health probe gave up, inspecting container", "error", msg.Err)
	s.issueInspect(ctx, inspectProbeFailed, r.containerID)
}

// onContainerEvent reacts to the daemon's events for this session's
// container.
func (s *Session) onContainerEvent(ctx actor.Context, msg *ContainerEventReceived) {
	r := s.rec
	ev := msg.Event
	if r.cleaning || r.containerID == "" || ev.ContainerID != r.containerID {
		return
	}
	if r.state != StateProbing && r.state != StateReady {
		// A restart is already scheduled for this container's death.
		return
	}
	switch ev.Action {
	case "oom":
		r.oomSeen = true
	case "die":
		if r.deathPending {
			return
		}
		r.deathPending = true
		r.dieExitCode = ev.ExitCode
		s.cancelProbe()
		s.issueInspect(ctx, inspectDeath, r.containerID)
	case "destroy":
		if r.deathPending {
			// The inspect in flight finds the container gone.
			return
		}
		s.containerDied(ctx, "container removed outside sessiond")
	}
}

// containerDied restarts the container per the restart policy or fails the
// session for good.
func (s *Session) containerDied(ctx actor.Context, reason string) {
	r := s.rec
	s.cancelProbe()
	r.deathPending = false
	r.lastError = reason
	now := time.Now()
	restart, delay := s.rt.restartPolicy.decide(r.restartTimes, now)
	if !restart {
		if r.restarts > 0 {
			reason = fmt.Sprintf("%s; gave up after %d restarts", reason, r.restarts)
		}
		s.fail(ctx, reason, nil)
		return
	}
	r.restartTimes = append(s.rt.restartPolicy.prune(r.restartTimes, now), now)
	r.restarts++
	r.readyAt = time.Time{}
	s.rt.metrics.restarts.Inc()
	s.logger.Warn("container died, re-creating", "reason", reason, "delay", delay, "restarts", r.restarts)
	s.transition(ctx, StatePending, fmt.Sprintf("%s; re-creating in %s", reason, delay))
	gen := r.generation
	self, root := ctx.Self(), ctx.ActorSystem().Root
	r.restartTimer = time.AfterFunc(delay, func() {
		root.Send(self, &timerFired{Kind: timerRestart, Generation: gen})
	})
}

// fail moves the session to failed at once and removes its container in
// the background; the actor stops once the container is gone.
func (s *Session) fail(ctx actor.Context, reason string, cause error) {
	r := s.rec
	r.lastError = reason
	switch docker.KindOf(cause) {
	case docker.KindTimeout:
		r.failureCode = CodeTimeout
	case docker.KindTransient:
		r.failureCode = CodeUnavailable
	}
	s.rt.metrics.failed.Inc()
	s.logger.Warn("session failed", "reason", reason)
	s.beginCleanup(ctx, StateFailed)
	s.transition(ctx, StateFailed, reason)
}

func (s *Session) onStop(ctx actor.Context, msg *StopSession) {
	r := s.rec
	if !r.cleaning {
		s.logger.Info("stopping session", "reason", msg.Reason)
		s.transition(ctx, StateStopping, msg.Reason)
		s.beginCleanup(ctx, StateStopped)
	}
	if msg.Reply != nil {
		msg.Reply <- infoReply{Info: s.snapshot(true)}
	}
}

// beginCleanup stops all activity of the session and removes its
// container. A job still queued is taken out of the queue; a job already
// running is waited for, and its container removed after it.
func (s *Session) beginCleanup(ctx actor.Context, final State) {
	r := s.rec
	if r.cleaning {
		return
	}
	r.cleaning = true
	r.finalState = final
	s.cancelProbe()
	s.stopTimers()
	if r.inflight != nil {
		if !r.inflightStarted && s.rt.useAsync() {
			ctx.Send(s.rt.poolPID(), &CancelDockerJob{Job: r.inflight})
		}
		return
	}
	s.issueRemove(ctx)
}

// finish records the terminal state and hands the final snapshot to the
// supervisor, which stops this actor after the messages already queued.
func (s *Session) finish(ctx actor.Context) {
	r := s.rec
	if r.finished {
		return
	}
	r.finished = true
	if r.state != r.finalState {
		reason := "container removed"
		if r.finalState == StateFailed && r.lastError != "" {
			reason = r.lastError
		}
		s.transition(ctx, r.finalState, reason)
	}
	s.logger.Info("session ended", "state", r.state, "restarts", r.restarts)
	ctx.Send(ctx.Parent(), &sessionFinished{Info: s.snapshot(true)})
}

func (s *Session) onTimer(ctx actor.Context, msg *timerFired) {
	r := s.rec
	if msg.Kind == timerRetry {
		s.onRetryTimer(ctx, msg)
		return
	}
	if r.cleaning {
		return
	}
	switch msg.Kind {
	case timerIdle:
		idle := time.Since(r.lastActivity)
		if idle >= s.rt.cfg.IdleTimeout {
			s.onStop(ctx, &StopSession{ID: r.id, Reason: fmt.Sprintf("idle for %s", idle.Round(time.Second))})
			return
		}
		s.armIdle(ctx, s.rt.cfg.IdleTimeout-idle)
	case timerTTL:
		s.onStop(ctx, &StopSession{ID: r.id, Reason: fmt.Sprintf("TTL of %s reached", s.rt.cfg.SessionTTL)})
	case timerRestart:
		if msg.Generation == r.generation && r.state == StatePending {
			s.issueCreate(ctx, true)
		}
	}
}

func (s *Session) onRetryTimer(ctx actor.Context, msg *timerFired) {
	r := s.rec
	if msg.Generation != r.generation || r.inflight != nil || r.finished {
		return
	}
	if r.cleaning {
		s.issueRemove(ctx)
		return
	}
	target := r.containerID
	if r.inspectPurpose == inspectReconcile || target == "" {
		target = r.name
	}
	s.issueInspect(ctx, r.inspectPurpose, target)
}

func (s *Session) armTimers(ctx actor.Context) {
	if s.rt.cfg.IdleTimeout > 0 {
		s.armIdle(ctx, s.rt.cfg.IdleTimeout)
	}
	if ttl := s.rt.cfg.SessionTTL; ttl > 0 {
		self, root := ctx.Self(), ctx.ActorSystem().Root
		s.rec.ttlTimer = time.AfterFunc(time.Until(s.rec.createdAt.Add(ttl)), func() {
			root.Send(self, &timerFired{Kind: timerTTL})
		})
	}
}

func (s *Session) armIdle(ctx actor.Context, d time.Duration) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.rec.idleTimer = time.AfterFunc(d, func() {
		root.Send(self, &timerFired{Kind: timerIdle})
	})
}

func (s *Session) stopTimers() {
	r := s.rec
	for _, t := range []*time.Timer{r.idleTimer, r.ttlTimer, r.restartTimer, r.retryTimer} {
		if t != nil {
			t.Stop()
		}
	}
}

// onStopping runs when the actor stops for good, also at shutdown without
// removal: no goroutine or timer of this session may outlive it.
func (s *Session) onStopping() {
	s.cancelProbe()
	s.stopTimers()
	for _, w := range s.rec.waiters {
		w.Reply <- infoReply{Info: s.snapshot(true)}
	}
	s.rec.waiters = nil
}

func (s *Session) touch() { s.rec.lastActivity = time.Now() }

func (s *Session) onWait(msg *WaitSessionRequest) {
	if s.waitDone(msg) {
		msg.Reply <- infoReply{Info: s.snapshot(true)}
		return
	}
	s.rec.waiters = append(s.rec.waiters, msg)
}

func (s *Session) waitDone(w *WaitSessionRequest) bool {
	st := s.rec.state
	if st.Terminal() {
		return true
	}
	if !w.UntilTerminal && st == StateReady {
		return true
	}
	return !time.Now().Before(w.Deadline)
}

func (s *Session) transition(ctx actor.Context, to State, reason string) {
	r := s.rec
	r.state = to
	r.history = append(r.history, Transition{State: to, At: time.Now(), Reason: reason})
	s.logger.Debug("session state changed", "state", to, "reason", reason)
	if len(r.waiters) > 0 {
		kept := r.waiters[:0]
		var info *SessionInfo
		for _, w := range r.waiters {
			if s.waitDone(w) {
				if info == nil {
					snap := s.snapshot(true)
					info = &snap
				}
				w.Reply <- infoReply{Info: *info}
				continue
			}
			kept = append(kept, w)
		}
		r.waiters = kept
	}
	ctx.Send(ctx.Parent(), &sessionChanged{Info: s.snapshot(false)})
}

// snapshot copies the session's state; withHistory adds the history and
// the queue position, which the supervisor's summary leaves out.
func (s *Session) snapshot(withHistory bool) SessionInfo {
	r := s.rec
	info := SessionInfo{
		ID:             r.id,
		User:           r.spec.User,
		Image:          r.spec.Image,
		State:          r.state,
		ContainerID:    r.containerID,
		Limits:         r.spec.Limits,
		Env:            r.spec.Env,
		Cmd:            r.spec.Cmd,
		CreatedAt:      r.createdAt,
		LastActivityAt: r.lastActivity,
		Restarts:       r.restarts,
		LastError:      r.lastError,
		FailureCode:    r.failureCode,
	}
	if r.hostPort != 0 && (r.state == StateProbing || r.state == StateReady) {
		info.Endpoint = "127.0.0.1:" + strconv.Itoa(r.hostPort)
	}
	if !r.readyAt.IsZero() {
		t := r.readyAt
		info.ReadyAt = &t
	}
	if ttl := s.rt.cfg.SessionTTL; ttl > 0 {
		t := r.createdAt.Add(ttl)
		info.ExpiresAt = &t
	}
	if withHistory {
		info.History = append([]Transition(nil), r.history...)
		if r.state == StatePending && r.inflight != nil && !r.inflightStarted && s.rt.useAsync() {
			pos := s.rt.pool.position(r.inflight)
			info.QueuePosition = &pos
		}
	}
	return info
}

func (s *Session) onDescribe(ctx actor.Context, msg *DescribeRequest) {
	r := s.rec
	detail := map[string]any{"user": r.spec.User}
	if r.containerID != "" {
		detail["container_id"] = shortID(r.containerID)
	}
	if r.inflight != nil {
		detail["docker_job"] = string(r.inflight.Kind)
	}
	msg.Reply <- describeReply{Node: TreeNode{
		Name:     "session/" + r.id,
		PID:      ctx.Self().Id,
		Kind:     "Session",
		State:    string(r.state),
		Restarts: r.actorRestarts,
		Detail:   detail,
	}}
}

// probe polls url until it answers 200 or ctx ends.
func (rt *deps) probe(ctx context.Context, url string) error {
	var lastErr error
	ticker := time.NewTicker(rt.cfg.ProbeInterval)
	defer ticker.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := rt.probeClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("health check answered %s", resp.Status)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), lastErr)
		case <-ticker.C:
		}
	}
}

func exitReason(c docker.Container) string {
	switch {
	case c.OOMKilled:
		return fmt.Sprintf("container OOM killed (exit code %d)", c.ExitCode)
	case c.Error != "":
		return fmt.Sprintf("container failed to start: %s", c.Error)
	default:
		return fmt.Sprintf("container exited with code %d", c.ExitCode)
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
