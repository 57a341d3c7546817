package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// replyTimeout bounds how long a caller waits for an actor's reply, on top
// of any ?wait it requested. A session blocked in an inline Docker call
// (USE_ASYNC_DOCKER=false) can take that long, while async sessions reply
// in microseconds.
const replyTimeout = 10 * time.Second

// describeTimeout bounds how long the tree dump waits for one actor; an
// actor blocked in an inline Docker call shows as unresponsive.
const describeTimeout = 250 * time.Millisecond

// CreateSession implements Service.
func (s *System) CreateSession(ctx context.Context, req CreateRequest, wait time.Duration) (SessionInfo, error) {
	admitCtx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	reply := make(chan createReply, 1)
	s.system.Root.Send(s.sessions, &CreateSession{Request: req, Reply: reply})
	var created createReply
	select {
	case created = <-reply:
	case <-admitCtx.Done():
		return SessionInfo{}, ctxError(admitCtx)
	}
	if created.Err != nil {
		return SessionInfo{}, created.Err
	}
	if wait <= 0 {
		return created.Info, nil
	}
	info, err := s.wait(ctx, created.Info.ID, wait, false)
	if err != nil {
		// The session exists: report it as created, not as failed.
		return created.Info, nil
	}
	if info.State == StateFailed && info.FailureCode != "" {
		// The daemon timed out or was unreachable. Report that with the
		// status that fits, and name the session so the caller can look at it.
		return info, &Error{Code: info.FailureCode, RetryAfter: 5 * time.Second,
			Message: fmt.Sprintf("session %s failed: %s", info.ID, info.LastError)}
	}
	return info, nil
}

// GetSession implements Service.
func (s *System) GetSession(ctx context.Context, id string) (SessionInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	return s.askSession(ctx, func(reply chan infoReply) any { return &GetSessionRequest{ID: id, Reply: reply} })
}

// ListSessions implements Service.
func (s *System) ListSessions(ctx context.Context, filter ListFilter) ([]SessionInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	reply := make(chan []SessionInfo, 1)
	s.system.Root.Send(s.sessions, &ListSessionsRequest{Filter: filter, Reply: reply})
	select {
	case list := <-reply:
		return list, nil
	case <-ctx.Done():
		return nil, ctxError(ctx)
	}
}

// DeleteSession implements Service.
func (s *System) DeleteSession(ctx context.Context, id string, wait time.Duration) (SessionInfo, error) {
	stopCtx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	info, err := s.askSession(stopCtx, func(reply chan infoReply) any {
		return &StopSession{ID: id, Reason: "deleted by request", Reply: reply}
	})
	if err != nil || wait <= 0 || info.State.Terminal() {
		return info, err
	}
	if done, werr := s.wait(ctx, id, wait, true); werr == nil {
		return done, nil
	}
	return info, nil
}

// wait asks the session to reply once it is ready (or terminal with
// untilTerminal) or the wait has passed.
func (s *System) wait(ctx context.Context, id string, wait time.Duration, untilTerminal bool) (SessionInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+replyTimeout)
	defer cancel()
	deadline := time.Now().Add(wait)
	info, err := s.askSession(ctx, func(reply chan infoReply) any {
		return &WaitSessionRequest{ID: id, Deadline: deadline, UntilTerminal: untilTerminal, Reply: reply}
	})
	if err != nil {
		return s.GetSession(context.WithoutCancel(ctx), id)
	}
	return info, nil
}

// resendAfter is how long askSession waits before asking again.
const resendAfter = 2 * time.Second

// askSession sends a request made by build to the supervisor, which routes
// it to the session, and waits for the reply. protoactor drops the
// messages left in the mailbox of an actor that its supervisor stops,
// without a dead letter, so a request that finds no answer within
// resendAfter is sent once more with a new reply channel; every request
// sent this way is idempotent. Async sessions answer in microseconds; an
// inline session busy in a Docker call answers both, and the first reply
// wins.
func (s *System) askSession(ctx context.Context, build func(reply chan infoReply) any) (SessionInfo, error) {
	first := make(chan infoReply, 1)
	s.system.Root.Send(s.sessions, build(first))
	timer := time.NewTimer(resendAfter)
	defer timer.Stop()
	var second chan infoReply
	for {
		select {
		case r := <-first:
			return r.Info, r.Err
		case r := <-second:
			return r.Info, r.Err
		case <-timer.C:
			second = make(chan infoReply, 1)
			s.system.Root.Send(s.sessions, build(second))
		case <-ctx.Done():
			return SessionInfo{}, ctxError(ctx)
		}
	}
}

func ctxError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Message: fmt.Sprintf("the actors did not reply within %s; try again", replyTimeout)}
	}
	return ctx.Err()
}

// Tree implements Service by sending every actor a DescribeRequest, in
// parallel, level by level.
func (s *System) Tree(ctx context.Context) (TreeNode, error) {
	return s.describe(ctx, s.top), nil
}

func (s *System) describe(ctx context.Context, pid *actor.PID) TreeNode {
	reply := make(chan describeReply, 1)
	s.system.Root.Send(pid, &DescribeRequest{Reply: reply})
	timer := time.NewTimer(describeTimeout)
	defer timer.Stop()
	var r describeReply
	select {
	case r = <-reply:
	case <-timer.C:
		return TreeNode{Name: pid.Id, PID: pid.Id, Kind: "unknown", State: "unresponsive"}
	case <-ctx.Done():
		return TreeNode{Name: pid.Id, PID: pid.Id, Kind: "unknown", State: "unresponsive"}
	}
	node := r.Node
	if len(r.Children) == 0 {
		return node
	}
	node.Children = make([]TreeNode, len(r.Children))
	var wg sync.WaitGroup
	for i, child := range r.Children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node.Children[i] = s.describe(ctx, child)
		}()
	}
	wg.Wait()
	return node
}

// Readiness implements Service.
func (s *System) Readiness(ctx context.Context) Readiness {
	rd := Readiness{
		DockerReachable:  s.rt.dockerReachable.Load(),
		DockerError:      s.rt.dockerError(),
		PoolAlive:        s.rt.pool.alive.Load(),
		Mode:             s.mode(),
		QueueLength:      int(s.rt.pool.queued.Load()),
		QueueCapacity:    s.rt.pool.capacity,
		BusyWorkers:      int(s.rt.pool.busy.Load()),
		Workers:          s.rt.pool.workers,
		ConcurrencyLimit: int(s.rt.pool.limit.Load()),
	}
	if rd.DockerReachable {
		rd.DockerError = ""
	}
	if !s.rt.cfg.UseAsyncDocker {
		rd.Workers, rd.QueueCapacity, rd.ConcurrencyLimit = 0, 0, 0
	}
	reply := make(chan int, 1)
	s.system.Root.Send(s.sessions, &liveCountRequest{Reply: reply})
	select {
	case rd.Sessions = <-reply:
	case <-ctx.Done():
	}
	rd.Ready = rd.DockerReachable
	return rd
}
