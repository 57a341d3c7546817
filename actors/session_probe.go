package actors

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/docker"
)

// startProbe polls the health path on a goroutine until it returns 200,
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
		if r.restarts == 0 && !r.adopted {
			s.logger.Info("session ready", "host_port", r.hostPort, "time_to_ready", r.readyAt.Sub(r.createdAt))
		} else {
			s.logger.Info("session ready again", "host_port", r.hostPort, "restarts", r.restarts, "adopted", r.adopted)
		}
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

// firstProbeDelay is the pause after the first failed probe. Pauses grow
// by half each time up to PROBE_INTERVAL: most containers answer within a
// few hundred milliseconds of their start, and a fixed 100 ms interval
// would add 50 ms to every session's time to ready on average.
const firstProbeDelay = 10 * time.Millisecond

// probe polls url until it returns 200 or ctx ends.
func (rt *deps) probe(ctx context.Context, url string) error {
	var lastErr error
	delay := min(firstProbeDelay, rt.cfg.ProbeInterval)
	timer := time.NewTimer(delay)
	defer timer.Stop()
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
			err = fmt.Errorf("health check returned %s", resp.Status)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), lastErr)
		case <-timer.C:
		}
		delay = min(rt.cfg.ProbeInterval, delay*3/2)
		timer.Reset(delay)
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
