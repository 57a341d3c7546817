package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

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
