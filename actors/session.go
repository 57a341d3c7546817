package actors

import (
	"context"
	"fmt"
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
	// deathPending is set from a die event until the inspect that finds
	// out why the container died returns. dieExitCode is the event's exit
	// code.
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
	// inspectPurpose is the reason the inspect in flight was issued.
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
func (s *Session) finish(ctx actor.Context, reason string) {
	r := s.rec
	if r.finished {
		return
	}
	r.finished = true
	if r.state != r.finalState {
		if r.finalState == StateFailed && r.lastError != "" {
			reason = r.lastError
		}
		s.transition(ctx, r.finalState, reason)
	}
	s.logger.Info("session ended", "state", r.state, "restarts", r.restarts)
	ctx.Send(ctx.Parent(), &sessionFinished{Info: s.snapshot(true)})
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

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
