package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/docker"
	"github.com/sessiond/sessiond/internal/faultproxy"
)

// Faults produced for real against the Docker daemon: containers killed
// or removed from outside, OOM kills, sessiond killed with SIGKILL, bursts
// over the limits, and shutdown while creations are in flight.

func dockerCLI(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func restartPolicy(c *config.Config) {
	c.RestartMax = 1
	c.RestartWindow = time.Minute
	c.RestartBackoff = 100 * time.Millisecond
}

func TestDockerKillRestartsThenFails(t *testing.T) {
	s := startServer(t, restartPolicy)
	info, status := s.create(t, `{"user":"alice"}`, "30s")
	if status != http.StatusCreated {
		t.Fatalf("create: status %d, %s", status, info.LastError)
	}
	dockerCLI(t, "kill", info.ContainerID)

	var restarted actors.SessionInfo
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		restarted = s.get(t, info.ID)
		if restarted.State == actors.StateReady && restarted.ContainerID != info.ContainerID {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if restarted.Restarts != 1 || restarted.ContainerID == info.ContainerID || restarted.State != actors.StateReady {
		t.Fatalf("after docker kill: state %s, restarts %d, container %s; history %+v",
			restarted.State, restarted.Restarts, restarted.ContainerID, restarted.History)
	}

	dockerCLI(t, "kill", restarted.ContainerID)
	failed := s.waitState(t, info.ID, actors.StateFailed, 30*time.Second)
	if !strings.Contains(failed.LastError, "exited with code 137") || !strings.Contains(failed.LastError, "gave up after 1 restarts") {
		t.Errorf("last error = %q", failed.LastError)
	}
}

func TestRemovedOutsideFails(t *testing.T) {
	s := startServer(t, nil)
	info, status := s.create(t, `{"user":"alice"}`, "30s")
	if status != http.StatusCreated {
		t.Fatalf("create: status %d, %s", status, info.LastError)
	}
	dockerCLI(t, "rm", "-f", info.ContainerID)
	failed := s.waitState(t, info.ID, actors.StateFailed, 30*time.Second)
	if !strings.Contains(failed.LastError, "removed outside sessiond") {
		t.Errorf("last error = %q, want removed outside sessiond", failed.LastError)
	}
}

func TestMemoryGrowthIsOOMKilled(t *testing.T) {
	s := startServer(t, nil)
	info, status := s.create(t, `{"user":"alice","memory":"16MiB","env":{"SANDBOX_GROW_MEMORY":"4MiB/20ms"}}`, "0s")
	if status != http.StatusAccepted && status != http.StatusCreated {
		t.Fatalf("create: status %d", status)
	}
	failed := s.waitState(t, info.ID, actors.StateFailed, 60*time.Second)
	if !strings.Contains(failed.LastError, "OOM killed") {
		t.Errorf("last error = %q, want OOM killed; history %+v", failed.LastError, failed.History)
	}
}

func TestBurstHoldsSessionLimits(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*config.Config)
		user  func(i int) string
		limit int
	}{
		{"global", func(c *config.Config) { c.MaxSessions = 4; c.MaxSessionsPerUser = 4 }, func(i int) string { return fmt.Sprintf("u%d", i) }, 4},
		{"per user", func(c *config.Config) { c.MaxSessionsPerUser = 2 }, func(int) string { return "alice" }, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.edit)
			const attempts = 5
			n := tc.limit * attempts
			statuses := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, statuses[i] = s.create(t, fmt.Sprintf(`{"user":%q}`, tc.user(i)), "0s")
				}()
			}
			close(start)
			wg.Wait()
			counts := map[int]int{}
			for _, st := range statuses {
				counts[st]++
			}
			if counts[http.StatusAccepted]+counts[http.StatusCreated] != tc.limit || counts[http.StatusTooManyRequests] != n-tc.limit {
				t.Errorf("statuses = %v, want %d admitted and %d rejected with 429", counts, tc.limit, n-tc.limit)
			}
		})
	}
}

func TestShutdownDuringCreationsLeavesNothing(t *testing.T) {
	s := startServer(t, nil)
	http.DefaultClient.CloseIdleConnections()
	before := runtime.NumGoroutine()

	for i := range 10 {
		if _, status := s.create(t, fmt.Sprintf(`{"user":"u%d"}`, i), "0s"); status != http.StatusAccepted && status != http.StatusCreated {
			t.Fatalf("create %d: status %d", i, status)
		}
	}
	s.app.close()

	list, err := s.engine.ListContainers(context.Background(), map[string]string{docker.LabelInstance: s.cfg.InstanceID})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, c := range list {
		t.Errorf("container %s (%s) left after shutdown", c.Name, c.State)
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after shutdown, %d before:\n%s", after, before, buf[:runtime.Stack(buf, true)])
	}
}

// process is a sessiond binary run as a child, so the test can SIGKILL it.
type process struct {
	cmd  *exec.Cmd
	url  string
	logs *strings.Builder
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sessiond")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startProcess(t *testing.T, bin, addr, instance string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"LISTEN_ADDR="+addr,
		"SESSIOND_INSTANCE="+instance,
		"CONTAINER_LABELS="+testLabel+"="+runID,
		"LOG_LEVEL=debug",
	)
	cmd.Env = append(cmd.Env, env...)
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: logs}, &lockedWriter{w: logs}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sessiond: %v", err)
	}
	p := &process{cmd: cmd, url: "http://" + addr, logs: logs}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessiond did not become ready: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func removeInstance(t *testing.T, engine *docker.Client, instance string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	list, _ := engine.ListContainers(ctx, map[string]string{docker.LabelInstance: instance})
	for _, c := range list {
		_ = engine.RemoveContainer(ctx, c.ID)
	}
}

func TestSIGKILLRecoversSessions(t *testing.T) {
	s := startServer(t, nil) // for the skip logic and the docker client
	bin := buildBinary(t)
	instance := "itest-kill-" + runID
	t.Cleanup(func() { removeInstance(t, s.engine, instance) })
	addr := freeAddr(t)

	first := startProcess(t, bin, addr, instance)
	client := &testServer{url: first.url, engine: s.engine}
	want := map[string]string{}
	for i := range 10 {
		info, status := client.create(t, fmt.Sprintf(`{"user":"u%d"}`, i), "0s")
		if status != http.StatusAccepted && status != http.StatusCreated {
			t.Fatalf("create %d: status %d", i, status)
		}
		want[info.ID] = ""
	}
	for id := range want {
		want[id] = client.waitState(t, id, actors.StateReady, 60*time.Second).Endpoint
	}
	first.kill()

	second := startProcess(t, bin, addr, instance)
	client.url = second.url
	for id, endpoint := range want {
		got := client.waitState(t, id, actors.StateReady, 60*time.Second)
		if got.Endpoint != endpoint {
			t.Errorf("session %s endpoint = %q, want %q", id, got.Endpoint, endpoint)
		}
	}
	second.kill()
}

func TestSIGKILLDuringCreationsLeavesNoOrphan(t *testing.T) {
	s := startServer(t, nil)
	bin := buildBinary(t)
	instance := "itest-kill2-" + runID
	t.Cleanup(func() { removeInstance(t, s.engine, instance) })
	addr := freeAddr(t)

	first := startProcess(t, bin, addr, instance)
	client := &testServer{url: first.url, engine: s.engine}
	for i := range 10 {
		client.create(t, fmt.Sprintf(`{"user":"u%d"}`, i), "0s")
	}
	time.Sleep(300 * time.Millisecond) // some creates are in flight inside the daemon now
	first.kill()

	second := startProcess(t, bin, addr, instance, "RECONCILE_INTERVAL=1s")
	client.url = second.url
	// A create that the killed process sent may finish inside the daemon
	// after the second process listed the containers; the periodic
	// reconcile adopts it. Poll until every session settled and every
	// container belongs to a ready session.
	var listed map[string]bool
	var orphans []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list struct {
			Sessions []actors.SessionInfo `json:"sessions"`
		}
		client.do(t, http.MethodGet, "/v1/sessions", "", nil, &list)
		settled := true
		listed = map[string]bool{}
		for _, info := range list.Sessions {
			switch {
			case info.State == actors.StateReady:
				listed[info.ID] = true
			case !info.State.Terminal():
				settled = false
			}
		}
		containers, err := s.engine.ListContainers(context.Background(), map[string]string{docker.LabelInstance: instance})
		if err != nil {
			t.Fatalf("list containers: %v", err)
		}
		orphans = orphans[:0]
		for _, c := range containers {
			if !listed[c.Labels[docker.LabelSession]] {
				orphans = append(orphans, fmt.Sprintf("%s (%s)", c.Name, c.State))
			}
		}
		if settled && len(orphans) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: settled %v, containers of no ready session: %v", settled, orphans)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d sessions recovered after a kill during 10 creations", len(listed))
	second.kill()
}

func TestHungCreateWithWaitAnswers504(t *testing.T) {
	s, p := startProxiedServer(t, nil)
	p.Inject(faultproxy.Fault{Method: http.MethodPost, Path: createPath, Action: faultproxy.ActionHang})

	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	resp := s.do(t, http.MethodPost, "/v1/sessions?wait=30s", "application/json", []byte(`{"user":"alice"}`), &body)
	if resp.StatusCode != http.StatusGatewayTimeout || body.Error.Code != "timeout" {
		t.Fatalf("status %d, error %+v; want 504 timeout", resp.StatusCode, body.Error)
	}
	if !strings.Contains(body.Error.Message, "session ") || !strings.Contains(body.Error.Message, "deadline exceeded") {
		t.Errorf("message %q should name the session and the timeout", body.Error.Message)
	}
}
