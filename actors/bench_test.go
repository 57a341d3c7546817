package actors

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/config"
)

func benchConfig(c *config.Config) {
	c.MaxSessions = 1_000_000
	c.MaxSessionsPerUser = 1_000_000
	c.DockerQueueSize = 1_000_000
	c.ProbeInterval = time.Millisecond
}

// BenchmarkCreateDeleteRoundTrip measures one session's whole path through
// the actors with an engine that answers at once: admission, the create
// job on the pool, the probe, then the delete and its remove job.
func BenchmarkCreateDeleteRoundTrip(b *testing.B) {
	sys := startSystem(b, newFakeEngine(b), benchConfig)
	ctx := testCtx(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		info, err := sys.CreateSession(ctx, CreateRequest{User: "bench"}, 10*time.Second)
		if err != nil || info.State != StateReady {
			b.Fatalf("create: state %s, %v", info.State, err)
		}
		if info, err = sys.DeleteSession(ctx, info.ID, 10*time.Second); err != nil || info.State != StateStopped {
			b.Fatalf("delete: state %s, %v", info.State, err)
		}
	}
}

// BenchmarkGetSessionUnderLoad measures GET of one session while other
// goroutines keep creating and deleting sessions.
func BenchmarkGetSessionUnderLoad(b *testing.B) {
	sys := startSystem(b, newFakeEngine(b), benchConfig)
	ctx := testCtx(b)
	target, err := sys.CreateSession(ctx, CreateRequest{User: "target"}, 10*time.Second)
	if err != nil {
		b.Fatalf("create: %v", err)
	}
	var stop atomic.Bool
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for !stop.Load() {
				info, err := sys.CreateSession(ctx, CreateRequest{User: fmt.Sprintf("load%d", w)}, 10*time.Second)
				if err == nil {
					_, _ = sys.DeleteSession(ctx, info.ID, 10*time.Second)
				}
			}
		}()
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sys.GetSession(ctx, target.ID); err != nil {
				b.Errorf("get: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	stop.Store(true)
	for range 4 {
		<-done
	}
}

// BenchmarkIdleSessionMemory reports the heap that 10,000 ready, idle
// sessions hold in sessiond, per session. The containers are fake, so the
// figure is sessiond's own cost only.
func BenchmarkIdleSessionMemory(b *testing.B) {
	const sessions = 10_000
	for i := 0; i < b.N; i++ {
		engine := newFakeEngine(b)
		sys := startSystem(b, engine, benchConfig)
		ctx := testCtx(b)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		ids := make([]string, 0, sessions)
		for j := range sessions {
			info, err := sys.CreateSession(ctx, CreateRequest{User: fmt.Sprintf("u%d", j)}, 0)
			if err != nil {
				b.Fatalf("create %d: %v", j, err)
			}
			ids = append(ids, info.ID)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			list, _ := sys.ListSessions(ctx, ListFilter{State: StateReady})
			if len(list) == sessions {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d sessions ready after 2m", len(list), sessions)
			}
			time.Sleep(50 * time.Millisecond)
		}
		engine.mu.Lock()
		clear(engine.calls)
		engine.mu.Unlock()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/sessions, "bytes/session")
		runtime.KeepAlive(ids)
	}
}
