package actors

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/config"
)

// testWriter routes log output to t.Log so it shows only for failed tests.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testConfig(t testing.TB, edit func(*config.Config)) config.Config {
	t.Helper()
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatalf("load default config: %v", err)
	}
	cfg.DockerOperationTimeout = 2 * time.Second
	cfg.DockerRetryBackoff = time.Millisecond
	cfg.ProbeInterval = 5 * time.Millisecond
	cfg.StartupTimeout = 2 * time.Second
	cfg.RestartBackoff = 10 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

func startSystem(t testing.TB, engine *fakeEngine, edit func(*config.Config)) *System {
	t.Helper()
	level := hclog.Debug
	if _, ok := t.(*testing.B); ok {
		// t.Log keeps every line in memory: benchmarks log only problems.
		level = hclog.Warn
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "test", Level: level, Output: testWriter{t}})
	sys, err := Start(Options{Config: testConfig(t, edit), Engine: engine, Logger: logger})
	if err != nil {
		t.Fatalf("start actor system: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sys.Shutdown(ctx, true); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return sys
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitState polls GetSession until the session reaches want or 10s pass.
func waitState(t testing.TB, sys *System, id string, want State) SessionInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var info SessionInfo
	for time.Now().Before(deadline) {
		var err error
		info, err = sys.GetSession(testCtx(t), id)
		if err != nil {
			t.Fatalf("get session %s: %v", id, err)
		}
		if info.State == want {
			return info
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("session %s: state %s, want %s; history %+v", id, info.State, want, info.History)
	return info
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func states(info SessionInfo) []State {
	out := make([]State, 0, len(info.History))
	for _, tr := range info.History {
		out = append(out, tr.State)
	}
	return out
}

func codeOf(err error) Code {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}
