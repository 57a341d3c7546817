// Package actors holds sessiond's protoactor-go actors: the
// SessionSupervisor with one Session per session, the DockerPool with its
// DockerWorkers, and the event router. Nothing outside this package sees
// protoactor: callers use System, which implements Service.
package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/docker"
)

// deps are the settings, clients and counters that every actor of one
// System shares.
type deps struct {
	cfg           config.Config
	engine        docker.Engine
	exec          *executor
	logger        hclog.Logger
	metrics       *Metrics
	pool          *poolStats
	poolRef       atomic.Pointer[actor.PID]
	restartPolicy restartPolicy
	probeClient   *http.Client
	// baseCtx ends when the System shuts down; Docker jobs and probes
	// derive their deadlines from it.
	baseCtx context.Context

	// sessionMiddleware wraps every Session's Receive; tests use it to
	// inject panics.
	sessionMiddleware []actor.ReceiverMiddleware

	dockerReachable atomic.Bool
	dockerErr       atomic.Pointer[string]
	fallbackWarned  atomic.Bool
}

// useAsync reports whether Docker jobs go to the pool. When the pool is
// gone for good, sessions fall back to inline calls.
func (rt *deps) useAsync() bool {
	if !rt.cfg.UseAsyncDocker {
		return false
	}
	if rt.pool.alive.Load() {
		return true
	}
	if rt.fallbackWarned.CompareAndSwap(false, true) {
		rt.logger.Warn("docker pool is gone, sessions call docker inline")
		rt.metrics.inlineFallback.Set(1)
	}
	return false
}

func (rt *deps) poolPID() *actor.PID { return rt.poolRef.Load() }

func (rt *deps) dockerError() string {
	if p := rt.dockerErr.Load(); p != nil {
		return *p
	}
	return ""
}

// Options configure a System.
type Options struct {
	Config   config.Config
	Engine   docker.Engine
	Logger   hclog.Logger
	Registry prometheus.Registerer
	// SlogLogger receives protoactor's own log output; nil discards it.
	SlogLogger *slog.Logger
}

// System is a running actor tree. It implements Service.
type System struct {
	rt       *deps
	system   *actor.ActorSystem
	top      *actor.PID
	sessions *actor.PID
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

var _ Service = (*System)(nil)

// Start builds the actor tree:
//
//	sessiond
//	├── sessions   SessionSupervisor, one child per session
//	├── docker     DockerPool with ASYNC_POOL_SIZE workers (async mode only)
//	└── events     the daemon's event stream, routed to sessions
func Start(opts Options) (*System, error) {
	if opts.Engine == nil {
		return nil, errors.New("actors: no docker engine given")
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	metrics := NewMetrics(reg)
	baseCtx, cancel := context.WithCancel(context.Background())
	cfg := opts.Config
	rt := &deps{
		cfg:     cfg,
		engine:  opts.Engine,
		logger:  logger,
		metrics: metrics,
		pool:    &poolStats{capacity: cfg.DockerQueueSize, workers: cfg.AsyncPoolSize},
		exec: &executor{engine: opts.Engine, timeout: cfg.DockerOperationTimeout, retries: cfg.DockerRetries,
			backoff: cfg.DockerRetryBackoff, logger: logger.Named("docker"), metrics: metrics},
		restartPolicy: restartPolicy{Max: cfg.RestartMax, Window: cfg.RestartWindow, Backoff: cfg.RestartBackoff},
		probeClient: &http.Client{
			Timeout:   time.Second,
			Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		},
		baseCtx: baseCtx,
	}
	rt.dockerReachable.Store(true)

	slogLogger := opts.SlogLogger
	if slogLogger == nil {
		slogLogger = slog.New(slog.DiscardHandler)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slogLogger }))
	s := &System{rt: rt, system: system, cancel: cancel}

	top, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &topActor{rt: rt, logger: logger.Named("actors")}
	}, actor.WithReceiverMiddleware(panicLogger(logger))), "sessiond")
	if err != nil {
		cancel()
		return nil, fmt.Errorf("spawn actor tree: %w", err)
	}
	s.top = top
	reply := make(chan *actor.PID, 1)
	system.Root.Send(top, &sessionsPIDRequest{Reply: reply})
	select {
	case s.sessions = <-reply:
	case <-time.After(5 * time.Second):
		cancel()
		return nil, errors.New("actor tree did not start within 5s")
	}

	system.EventStream.Subscribe(s.answerDeadLetters)
	s.wg.Add(1)
	go s.watchDocker()
	logger.Info("actor system started", "mode", s.mode(), "workers", cfg.AsyncPoolSize, "queue_capacity", cfg.DockerQueueSize)
	return s, nil
}

// watchDocker pings the daemon every two seconds for /readyz and admission,
// and logs when reachability changes rather than on every failed ping.
func (s *System) watchDocker() {
	defer s.wg.Done()
	logger := s.rt.logger.Named("docker")
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for {
		ctx, cancel := context.WithTimeout(s.rt.baseCtx, 2*time.Second)
		err := s.rt.engine.Ping(ctx)
		cancel()
		if s.rt.baseCtx.Err() != nil {
			return
		}
		was := s.rt.dockerReachable.Swap(err == nil)
		if err != nil {
			msg := err.Error()
			s.rt.dockerErr.Store(&msg)
			if was {
				logger.Warn("docker daemon unreachable", "error", err)
			}
		} else if !was {
			logger.Info("docker daemon reachable again")
		}
		select {
		case <-s.rt.baseCtx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (s *System) mode() string { return modeOf(s.rt) }

// sessionsPIDRequest asks the top actor for the supervisor's PID once the
// tree is up.
type sessionsPIDRequest struct {
	Reply chan *actor.PID
}

// topActor is the root of sessiond's tree. It resumes the supervisor on
// failure (a restart would stop every session), restarts the pool and the
// event router, and marks the pool dead once its restarts are exhausted.
type topActor struct {
	rt       *deps
	logger   hclog.Logger
	sessions *actor.PID
	pool     *actor.PID
	events   *actor.PID
	stopping bool
}

// Pool restarts allowed per minute before sessions fall back to inline calls.
const poolMaxRestarts = 3

func (t *topActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		t.onStarted(ctx)
	case *sessionsPIDRequest:
		msg.Reply <- t.sessions
	case *DescribeRequest:
		children := []*actor.PID{t.sessions}
		if t.pool != nil && t.rt.pool.alive.Load() {
			children = append(children, t.pool)
		}
		if t.events != nil {
			children = append(children, t.events)
		}
		msg.Reply <- describeReply{Node: TreeNode{Name: "sessiond", PID: ctx.Self().Id, Kind: "Root", State: "running",
			Detail: map[string]any{"mode": modeOf(t.rt)}}, Children: children}
	case *actor.Stopping:
		t.stopping = true
	case *actor.Terminated:
		if t.pool != nil && msg.Who.Equal(t.pool) && !t.stopping {
			t.rt.pool.alive.Store(false)
			t.logger.Error("docker pool stopped after repeated failures; sessions call docker inline from now on")
			t.rt.metrics.inlineFallback.Set(1)
		}
	case *actor.Stopped, *actor.Restarting:
	default:
		t.logger.Warn("unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

func (t *topActor) onStarted(ctx actor.Context) {
	var err error
	if t.rt.cfg.UseAsyncDocker {
		if t.pool, err = ctx.SpawnNamed(newPoolProps(t.rt), "docker"); err != nil {
			t.logger.Error("spawn docker pool failed", "error", err)
		} else {
			t.rt.poolRef.Store(t.pool)
			t.rt.pool.alive.Store(true)
		}
	}
	if t.sessions, err = ctx.SpawnNamed(newSupervisorProps(t.rt), "sessions"); err != nil {
		t.logger.Error("spawn session supervisor failed", "error", err)
	}
	if t.events, err = ctx.SpawnNamed(newEventsProps(t.rt, t.sessions), "events"); err != nil {
		t.logger.Error("spawn event router failed", "error", err)
	}
}

// HandleFailure makes topActor the supervisor strategy of its children.
func (t *topActor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, _ any) {
	if t.sessions != nil && child.Equal(t.sessions) {
		t.logger.Error("session supervisor failed, resuming it", "reason", fmt.Sprint(reason))
		sup.ResumeChildren(child)
		return
	}
	rs.Fail()
	if rs.NumberOfFailures(time.Minute) > poolMaxRestarts {
		t.logger.Error("actor failed too often, stopping it", "pid", child.Id, "reason", fmt.Sprint(reason))
		sup.StopChildren(child)
		return
	}
	t.logger.Warn("restarting failed actor", "pid", child.Id, "reason", fmt.Sprint(reason))
	sup.RestartChildren(child)
}

func modeOf(rt *deps) string {
	switch {
	case !rt.cfg.UseAsyncDocker:
		return "inline"
	case !rt.pool.alive.Load():
		return "inline-fallback"
	default:
		return "async"
	}
}

// Shutdown stops every session (removing its container when remove is
// set), waits for that within ctx, then stops the actors and goroutines.
func (s *System) Shutdown(ctx context.Context, remove bool) error {
	var err error
	s.stopOnce.Do(func() {
		reply := make(chan int, 1)
		s.system.Root.Send(s.sessions, &StopAllSessions{Remove: remove, Reply: reply})
		select {
		case <-reply:
		case <-ctx.Done():
		}
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()
		for s.liveSessions(ctx) > 0 {
			select {
			case <-ctx.Done():
				err = fmt.Errorf("sessions still stopping at shutdown deadline: %w", ctx.Err())
			case <-ticker.C:
				continue
			}
			break
		}
		if perr := s.system.Root.PoisonFuture(s.top).Wait(); perr != nil && err == nil {
			err = fmt.Errorf("stop actor tree: %w", perr)
		}
		s.cancel()
		s.wg.Wait()
		s.system.Shutdown()
		s.rt.logger.Info("actor system stopped")
	})
	return err
}

func (s *System) liveSessions(ctx context.Context) int {
	reply := make(chan int, 1)
	s.system.Root.Send(s.sessions, &liveCountRequest{Reply: reply})
	select {
	case n := <-reply:
		return n
	case <-ctx.Done():
		return 0
	}
}

// liveCountRequest asks the supervisor how many session actors still run,
// including failed ones that are still removing their container.
type liveCountRequest struct {
	Reply chan int
}
