package actors

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when goroutines outlive the tests: every System
// the tests start is shut down, and a shut-down System must leave none of
// its actors, workers, probes or timers running.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	// Fuzzing starts a signal-handling goroutine of its own that stays.
	fuzzing := flag.Lookup("test.fuzz") != nil && flag.Lookup("test.fuzz").Value.String() != ""
	if code == 0 && !fuzzing {
		if leaked := waitGoroutines(before, 10*time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutine leak: %d before the tests, still running after:\n%s\n", before, leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func waitGoroutines(limit int, within time.Duration) string {
	deadline := time.Now().Add(within)
	for runtime.NumGoroutine() > limit {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			return strings.TrimSpace(stacks)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ""
}
