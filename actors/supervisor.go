package actors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/docker"
)

// sessionEntry is the supervisor's view of one live session actor.
type sessionEntry struct {
	pid     *actor.PID
	summary SessionInfo
	// counted is set while the session counts against the limits.
	counted bool
}

// registry lives outside the SessionSupervisor instance: a failure of the
// supervisor is resumed, never restarted, because a restart would stop
// every session actor, but the registry must survive either way.
type registry struct {
	live         map[string]*sessionEntry
	byPID        map[string]string
	ended        map[string]SessionInfo
	active       int
	activeByUser map[string]int
	shuttingDown bool
	purgeTimer   *time.Timer
}

// SessionSupervisor admits sessions (global and per-user limits, queue
// capacity), keeps the registry id -> PID, routes requests and container
// events to sessions, and restarts a session actor that panics.
type SessionSupervisor struct {
	rt     *deps
	reg    *registry
	logger hclog.Logger
	// self and root let HandleFailure, which gets no actor context, send.
	self *actor.PID
	root *actor.RootContext
}

func newSupervisorProps(rt *deps) *actor.Props {
	reg := &registry{
		live:         map[string]*sessionEntry{},
		byPID:        map[string]string{},
		ended:        map[string]SessionInfo{},
		activeByUser: map[string]int{},
	}
	logger := rt.logger.Named("sessions")
	return actor.PropsFromProducer(func() actor.Actor {
		return &SessionSupervisor{rt: rt, reg: reg, logger: logger}
	}, actor.WithReceiverMiddleware(panicLogger(rt.logger)))
}

// HandleFailure makes the supervisor the strategy for its sessions: one
// for one, restarting a failed session actor at once (the restarted
// session reads its container back from Docker) until it failed more than
// sessionMaxActorRestarts times within a minute. Then the session ends
// failed and its container is removed. It runs on the supervisor's own
// goroutine, so the registry changes before any later request is routed
// to the stopped actor. Escalating would restart the supervisor and stop
// every session, so it is never used.
func (sv *SessionSupervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, _ any) {
	rs.Fail()
	if rs.NumberOfFailures(time.Minute) <= sessionMaxActorRestarts {
		sv.logger.Warn("restarting failed session actor", "pid", child.Id, "reason", fmt.Sprint(reason))
		sup.RestartChildren(child)
		return
	}
	id := sv.reg.byPID[child.Id]
	sv.logger.Error("session actor failed too often, stopping it and removing its container",
		"session_id", id, "failures", rs.FailureCount(), "reason", fmt.Sprint(reason))
	sv.retire(id, "session actor failed repeatedly")
	sup.StopChildren(child)
}

// sessionMaxActorRestarts is how often a session actor may be restarted
// after a panic within a minute; the next panic stops it and removes its
// container.
const sessionMaxActorRestarts = 5

func (sv *SessionSupervisor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		sv.self, sv.root = ctx.Self(), ctx.ActorSystem().Root
		sv.schedulePurge(ctx)
	case *CreateSession:
		sv.onCreate(ctx, msg)
	case *GetSessionRequest:
		sv.route(ctx, msg.ID, msg, func(info SessionInfo, err error) { msg.Reply <- infoReply{Info: info, Err: err} })
	case *WaitSessionRequest:
		sv.route(ctx, msg.ID, msg, func(info SessionInfo, err error) { msg.Reply <- infoReply{Info: info, Err: err} })
	case *StopSession:
		sv.route(ctx, msg.ID, msg, func(info SessionInfo, err error) { msg.Reply <- infoReply{Info: info, Err: err} })
	case *ListSessionsRequest:
		msg.Reply <- sv.list(msg.Filter)
	case *adoptSession:
		msg.Reply <- sv.onAdopt(ctx, msg)
	case *resyncSessions:
		for _, entry := range sv.reg.live {
			ctx.Send(entry.pid, &checkContainer{})
		}
	case *liveCountRequest:
		msg.Reply <- len(sv.reg.live)
	case *ContainerEventReceived:
		sv.onContainerEvent(ctx, msg)
	case *sessionChanged:
		sv.onSessionChanged(msg)
	case *sessionFinished:
		sv.onSessionFinished(ctx, msg)
	case *actor.Terminated:
		sv.onTerminated(msg)
	case *StopAllSessions:
		sv.onStopAll(ctx, msg)
	case *purgeTick:
		sv.purge()
		sv.schedulePurge(ctx)
	case *DescribeRequest:
		sv.onDescribe(ctx, msg)
	case *DockerResult:
		if msg.Err != nil {
			sv.logger.Error("remove container of a failed session actor failed", "error", msg.Err)
		}
	case *actor.Stopping:
		if sv.reg.purgeTimer != nil {
			sv.reg.purgeTimer.Stop()
		}
	case *actor.Stopped, *actor.Restarting:
	default:
		sv.logger.Warn("unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

func (sv *SessionSupervisor) onCreate(ctx actor.Context, msg *CreateSession) {
	reject := func(err *Error) {
		sv.rt.metrics.rejected.WithLabelValues(string(err.Code)).Inc()
		msg.Reply <- createReply{Err: err}
	}
	if sv.reg.shuttingDown {
		reject(&Error{Code: CodeShuttingDown, Message: "sessiond is shutting down", RetryAfter: 5 * time.Second})
		return
	}
	spec, err := resolveSpec(&sv.rt.cfg, msg.Request)
	if err != nil {
		reject(err.(*Error))
		return
	}
	if sv.reg.active >= sv.rt.cfg.MaxSessions {
		reject(&Error{Code: CodeLimitReached, RetryAfter: 10 * time.Second,
			Message: fmt.Sprintf("%d of %d sessions in use (MAX_SESSIONS); delete a session or try later", sv.reg.active, sv.rt.cfg.MaxSessions)})
		return
	}
	if n := sv.reg.activeByUser[spec.User]; n >= sv.rt.cfg.MaxSessionsPerUser {
		reject(&Error{Code: CodeLimitReached, Field: "user", RetryAfter: 10 * time.Second,
			Message: fmt.Sprintf("user %s has %d of %d sessions (MAX_SESSIONS_PER_USER); delete one first", spec.User, n, sv.rt.cfg.MaxSessionsPerUser)})
		return
	}
	if sv.rt.useAsync() && int(sv.rt.pool.queued.Load()+sv.rt.pool.reserved.Load()) >= sv.rt.pool.capacity {
		reject(&Error{Code: CodeQueueFull, RetryAfter: time.Second,
			Message: fmt.Sprintf("the Docker queue is full (%d jobs, DOCKER_QUEUE_SIZE); try again shortly", sv.rt.pool.capacity)})
		return
	}
	if !sv.rt.dockerReachable.Load() {
		reject(&Error{Code: CodeUnavailable, RetryAfter: 5 * time.Second,
			Message: "the Docker daemon is not reachable: " + sv.rt.dockerError()})
		return
	}

	id := newSessionID()
	rec := &sessionRecord{
		id:        id,
		spec:      spec,
		name:      docker.ContainerName(id),
		createdAt: time.Now(),
		state:     StatePending,
	}
	if sv.rt.useAsync() {
		rec.reserved = true
		sv.rt.pool.reserved.Add(1)
	}
	pid, spawnErr := ctx.SpawnNamed(newSessionProps(sv.rt, rec), id)
	if spawnErr != nil {
		if rec.reserved {
			sv.rt.pool.reserved.Add(-1)
		}
		sv.logger.Error("spawn session actor failed", "session_id", id, "error", spawnErr)
		msg.Reply <- createReply{Err: &Error{Code: CodeInternal, Message: "could not start the session actor"}}
		return
	}
	entry := sv.register(pid, rec)
	sv.rt.metrics.created.Inc()
	msg.Reply <- createReply{Info: entry.summary, PID: pid}
}

// onAdopt rebuilds a session from a container found at start. Adopted
// sessions count against the limits but are never rejected by them: the
// containers exist already.
func (sv *SessionSupervisor) onAdopt(ctx actor.Context, msg *adoptSession) error {
	c := msg.Container
	id := c.Labels[docker.LabelSession]
	if _, ok := sv.reg.live[id]; ok {
		return errAlreadyLive
	}
	rec := &sessionRecord{
		id:          id,
		spec:        msg.Spec,
		name:        docker.ContainerName(id),
		createdAt:   msg.Created,
		state:       StatePending,
		containerID: c.ID,
		adopted:     true,
	}
	pid, err := ctx.SpawnNamed(newSessionProps(sv.rt, rec), id)
	if err != nil {
		return fmt.Errorf("spawn session actor %s: %w", id, err)
	}
	sv.register(pid, rec)
	return nil
}

func (sv *SessionSupervisor) register(pid *actor.PID, rec *sessionRecord) *sessionEntry {
	entry := &sessionEntry{pid: pid, counted: true, summary: SessionInfo{
		ID: rec.id, User: rec.spec.User, Image: rec.spec.Image, State: StatePending, Limits: rec.spec.Limits,
		CreatedAt: rec.createdAt, LastActivityAt: rec.createdAt,
	}}
	sv.reg.live[rec.id] = entry
	sv.reg.byPID[pid.Id] = rec.id
	sv.reg.active++
	sv.reg.activeByUser[rec.spec.User]++
	sv.rt.metrics.sessions.WithLabelValues(string(StatePending)).Inc()
	return entry
}

// route forwards msg to the live session id, or replies from the record
// of an ended session, or reports that the id is unknown.
func (sv *SessionSupervisor) route(ctx actor.Context, id string, msg any, reply func(SessionInfo, error)) {
	if entry, ok := sv.reg.live[id]; ok {
		ctx.Send(entry.pid, msg)
		return
	}
	if info, ok := sv.reg.ended[id]; ok {
		reply(info, nil)
		return
	}
	reply(SessionInfo{}, &Error{Code: CodeNotFound, Message: fmt.Sprintf("session %q not found", id)})
}

func (sv *SessionSupervisor) onContainerEvent(ctx actor.Context, msg *ContainerEventReceived) {
	id := msg.Event.Labels[docker.LabelSession]
	if entry, ok := sv.reg.live[id]; ok {
		ctx.Send(entry.pid, msg)
	}
}

func (sv *SessionSupervisor) onSessionChanged(msg *sessionChanged) {
	entry, ok := sv.reg.live[msg.Info.ID]
	if !ok {
		return
	}
	old := entry.summary.State
	entry.summary = msg.Info
	if old != msg.Info.State {
		sv.rt.metrics.sessions.WithLabelValues(string(old)).Dec()
		sv.rt.metrics.sessions.WithLabelValues(string(msg.Info.State)).Inc()
	}
	if msg.Info.State.Terminal() {
		sv.uncount(entry)
	}
}

func (sv *SessionSupervisor) uncount(entry *sessionEntry) {
	if !entry.counted {
		return
	}
	entry.counted = false
	sv.reg.active--
	user := entry.summary.User
	if sv.reg.activeByUser[user]--; sv.reg.activeByUser[user] <= 0 {
		delete(sv.reg.activeByUser, user)
	}
}

// onSessionFinished keeps the final snapshot for RETAIN_STOPPED and stops
// the actor with a poison pill, so requests already in its mailbox are
// still answered.
func (sv *SessionSupervisor) onSessionFinished(ctx actor.Context, msg *sessionFinished) {
	entry, ok := sv.reg.live[msg.Info.ID]
	if !ok {
		return
	}
	sv.forget(msg.Info.ID)
	sv.reg.ended[msg.Info.ID] = msg.Info
	ctx.Poison(entry.pid)
}

// onTerminated forgets a session actor that stopped without finishing,
// which happens at shutdown, when its actor failed too often (already
// retired by HandleFailure), or when it stopped for a reason nobody
// recorded; that last kind is retired here.
func (sv *SessionSupervisor) onTerminated(msg *actor.Terminated) {
	id, ok := sv.reg.byPID[msg.Who.Id]
	if !ok {
		return
	}
	delete(sv.reg.byPID, msg.Who.Id)
	if _, live := sv.reg.live[id]; !live {
		return
	}
	if sv.reg.shuttingDown {
		sv.forget(id)
		return
	}
	sv.retire(id, "session actor stopped unexpectedly")
}

// forget drops a live session from the registry and the limits.
func (sv *SessionSupervisor) forget(id string) (SessionInfo, bool) {
	entry, ok := sv.reg.live[id]
	if !ok {
		return SessionInfo{}, false
	}
	sv.uncount(entry)
	sv.rt.metrics.sessions.WithLabelValues(string(entry.summary.State)).Dec()
	delete(sv.reg.live, id)
	return entry.summary, true
}

// retire ends a session whose actor cannot go on: it is recorded as failed
// with reason and its container is removed by name.
func (sv *SessionSupervisor) retire(id, reason string) {
	info, ok := sv.forget(id)
	if !ok {
		return
	}
	info.State = StateFailed
	info.LastError = reason
	info.History = append(info.History, Transition{State: StateFailed, At: time.Now(), Reason: reason})
	sv.reg.ended[id] = info
	sv.rt.metrics.failed.Inc()
	name := docker.ContainerName(id)
	job := &DockerJob{
		SessionID: id, Kind: OpRemove, Idempotent: true, Priority: PriorityRemove, ReplyTo: sv.self, Enqueued: time.Now(),
		Run: func(c context.Context, e docker.Engine) (any, error) { return nil, e.RemoveContainer(c, name) },
	}
	if sv.rt.useAsync() {
		sv.root.Send(sv.rt.poolPID(), job)
		return
	}
	// Without a pool the removal runs on a goroutine: the supervisor's
	// mailbox must not wait for Docker.
	go func() { sv.root.Send(sv.self, sv.rt.exec.run(sv.rt.baseCtx, job)) }()
}

func (sv *SessionSupervisor) onStopAll(ctx actor.Context, msg *StopAllSessions) {
	sv.reg.shuttingDown = true
	n := 0
	for id, entry := range sv.reg.live {
		n++
		if msg.Remove {
			ctx.Send(entry.pid, &StopSession{ID: id, Reason: "sessiond shutting down"})
		} else {
			ctx.Stop(entry.pid)
		}
	}
	sv.logger.Info("stopping all sessions", "sessions", n, "remove_containers", msg.Remove)
	msg.Reply <- n
}

func (sv *SessionSupervisor) list(filter ListFilter) []SessionInfo {
	out := make([]SessionInfo, 0, len(sv.reg.live)+len(sv.reg.ended))
	keep := func(info SessionInfo) bool {
		return (filter.User == "" || info.User == filter.User) && (filter.State == "" || info.State == filter.State)
	}
	for _, entry := range sv.reg.live {
		if keep(entry.summary) {
			out = append(out, entry.summary)
		}
	}
	for _, info := range sv.reg.ended {
		if keep(info) {
			info.History = nil
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (sv *SessionSupervisor) schedulePurge(ctx actor.Context) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	sv.reg.purgeTimer = time.AfterFunc(purgeInterval, func() { root.Send(self, &purgeTick{}) })
}

// purgeInterval is how often ended sessions past RETAIN_STOPPED are dropped.
const purgeInterval = 15 * time.Second

func (sv *SessionSupervisor) purge() {
	cutoff := time.Now().Add(-sv.rt.cfg.RetainStopped)
	for id, info := range sv.reg.ended {
		last := info.CreatedAt
		if n := len(info.History); n > 0 {
			last = info.History[n-1].At
		}
		if last.Before(cutoff) {
			delete(sv.reg.ended, id)
		}
	}
}

func (sv *SessionSupervisor) onDescribe(ctx actor.Context, msg *DescribeRequest) {
	children := make([]*actor.PID, 0, len(sv.reg.live))
	for _, entry := range sv.reg.live {
		children = append(children, entry.pid)
	}
	msg.Reply <- describeReply{
		Node: TreeNode{
			Name:  "sessions",
			PID:   ctx.Self().Id,
			Kind:  "SessionSupervisor",
			State: "running",
			Detail: map[string]any{
				"active":   sv.reg.active,
				"live":     len(sv.reg.live),
				"retained": len(sv.reg.ended),
				"strategy": fmt.Sprintf("one-for-one, at most %d actor restarts per minute", sessionMaxActorRestarts),
			},
		},
		Children: children,
	}
}

func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
