package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/docker"
)

// These tests run sessiond in-process against the real Docker daemon and
// the sandbox image (make image). Every container they make carries the
// label sessiond.test=<run id>, and TestMain fails the run if any is left.

const testLabel = "sessiond.test"

var (
	runID     = randomID()
	dockerErr error
)

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func TestMain(m *testing.M) {
	code := m.Run()
	if !testing.Short() && dockerErr == nil {
		if n, err := leftovers(); err != nil {
			fmt.Fprintf(os.Stderr, "leak check failed: %v\n", err)
			code = 1
		} else if n > 0 {
			fmt.Fprintf(os.Stderr, "leak check: %d containers labelled %s=%s left behind\n", n, testLabel, runID)
			code = 1
		}
	}
	os.Exit(code)
}

func leftovers() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	engine, err := docker.Connect(ctx, docker.Options{}, hclog.NewNullLogger())
	if err != nil {
		return 0, err
	}
	defer engine.Close()
	list, err := engine.ListContainers(ctx, map[string]string{testLabel: runID})
	for _, c := range list {
		_ = engine.RemoveContainer(ctx, c.ID)
	}
	return len(list), err
}

type testServer struct {
	app    *app
	url    string
	engine *docker.Client
	cfg    config.Config
}

// startServer runs sessiond on an httptest server with settings for the
// test; edit may change them. Cleanup removes every container the test
// made, also when it fails.
func startServer(t *testing.T, edit func(*config.Config)) *testServer {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the Docker daemon")
	}
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	cfg.InstanceID = "itest-" + runID
	cfg.ContainerLabels = map[string]string{testLabel: runID}
	cfg.StartupTimeout = 30 * time.Second
	cfg.RestartMax = 0
	if edit != nil {
		edit(&cfg)
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "sessiond", Level: hclog.Info, Output: testWriter{t}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		dockerErr = err
		t.Skipf("no Docker daemon answers (%v); integration tests need one", err)
	}
	if err := a.engine.Ping(ctx); err != nil {
		a.close()
		dockerErr = err
		t.Skipf("no Docker daemon answers (%v); integration tests need one", err)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		a.close()
		// Nothing may log through t after the test ends, or the test
		// binary panics.
		logger.SetLevel(hclog.Off)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, err := a.engine.ListContainers(ctx, map[string]string{docker.LabelInstance: cfg.InstanceID})
		if err != nil {
			t.Errorf("list containers after test: %v", err)
		}
		for _, c := range list {
			t.Errorf("container %s (%s) left after shutdown", c.Name, c.State)
			_ = a.engine.RemoveContainer(ctx, c.ID)
		}
	})
	engine, err := docker.Connect(ctx, docker.Options{}, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("connect test client: %v", err)
	}
	t.Cleanup(func() { engine.Close() })
	return &testServer{app: a, url: srv.URL, engine: engine, cfg: cfg}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// do sends a request and decodes the JSON answer into out when out is set.
func (s *testServer) do(t *testing.T, method, path, contentType string, body []byte, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp
}

func (s *testServer) create(t *testing.T, body string, wait string) (actors.SessionInfo, int) {
	t.Helper()
	var info actors.SessionInfo
	resp := s.do(t, http.MethodPost, "/v1/sessions?wait="+wait, "application/json", []byte(body), &info)
	return info, resp.StatusCode
}

func (s *testServer) get(t *testing.T, id string) actors.SessionInfo {
	t.Helper()
	var info actors.SessionInfo
	if resp := s.do(t, http.MethodGet, "/v1/sessions/"+id, "", nil, &info); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET session %s: status %d", id, resp.StatusCode)
	}
	return info
}

func (s *testServer) waitState(t *testing.T, id string, want actors.State, within time.Duration) actors.SessionInfo {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		info := s.get(t, id)
		if info.State == want {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s: state %s after %s, want %s; history %+v", id, info.State, within, want, info.History)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSessionEndToEnd(t *testing.T) {
	s := startServer(t, nil)
	info, status := s.create(t, `{"user":"alice","memory":"64MiB","cpus":0.25,"pids":50}`, "30s")
	if status != http.StatusCreated || info.State != actors.StateReady {
		t.Fatalf("create: status %d, state %s, error %q", status, info.State, info.LastError)
	}

	ctx := context.Background()
	c, err := s.engine.InspectContainer(ctx, info.ContainerID)
	if err != nil {
		t.Fatalf("docker inspect: %v", err)
	}
	if c.MemoryBytes != 64<<20 {
		t.Errorf("memory limit = %d, want %d", c.MemoryBytes, 64<<20)
	}
	if c.NanoCPUs != 250_000_000 {
		t.Errorf("nano cpus = %d, want 250000000", c.NanoCPUs)
	}
	if c.PidsLimit != 50 {
		t.Errorf("pids limit = %d, want 50", c.PidsLimit)
	}
	for key, want := range map[string]string{
		docker.LabelSession:  info.ID,
		docker.LabelUser:     "alice",
		docker.LabelInstance: s.cfg.InstanceID,
		testLabel:            runID,
	} {
		if got := c.Labels[key]; got != want {
			t.Errorf("label %s = %q, want %q", key, got, want)
		}
	}

	got := s.get(t, info.ID)
	if got.Endpoint == "" || !strings.HasPrefix(got.Endpoint, "127.0.0.1:") {
		t.Fatalf("endpoint = %q, want 127.0.0.1:<port>", got.Endpoint)
	}
	resp, err := http.Get("http://" + got.Endpoint + "/healthz")
	if err != nil {
		t.Fatalf("session endpoint: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("session endpoint answered %d", resp.StatusCode)
	}

	var tree actors.TreeNode
	s.do(t, http.MethodGet, "/admin/tree", "", nil, &tree)
	if !strings.Contains(fmt.Sprintf("%+v", tree), "session/"+info.ID) {
		t.Errorf("tree does not show session %s", info.ID)
	}

	var deleted actors.SessionInfo
	if resp := s.do(t, http.MethodDelete, "/v1/sessions/"+info.ID+"?wait=30s", "", nil, &deleted); resp.StatusCode != http.StatusOK {
		t.Fatalf("delete: status %d, state %s", resp.StatusCode, deleted.State)
	}
	if deleted.State != actors.StateStopped {
		t.Errorf("state after delete = %s", deleted.State)
	}
	if _, err := s.engine.InspectContainer(ctx, info.ContainerID); docker.KindOf(err) != docker.KindNotFound {
		t.Errorf("container after delete: %v, want not found", err)
	}
}

func TestTwentyConcurrentSessions(t *testing.T) {
	s := startServer(t, nil)
	const n = 20
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, status := s.create(t, fmt.Sprintf(`{"user":"user%d"}`, i), "0s")
			if status != http.StatusAccepted && status != http.StatusCreated {
				errs <- fmt.Sprintf("create %d: status %d", i, status)
				return
			}
			ids[i] = info.ID
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, id := range ids {
		if id != "" {
			s.waitState(t, id, actors.StateReady, 90*time.Second)
		}
	}
	var list struct {
		Sessions []actors.SessionInfo `json:"sessions"`
		Count    int                  `json:"count"`
	}
	s.do(t, http.MethodGet, "/v1/sessions?state=ready", "", nil, &list)
	if list.Count != n {
		t.Errorf("ready sessions listed = %d, want %d", list.Count, n)
	}
}

func TestContainerExitAtStartEndsFailed(t *testing.T) {
	s := startServer(t, nil)
	info, status := s.create(t, `{"user":"alice","env":{"SANDBOX_EXIT_AFTER":"0s","SANDBOX_EXIT_CODE":"3"}}`, "0s")
	if status != http.StatusAccepted {
		t.Fatalf("create: status %d", status)
	}
	failed := s.waitState(t, info.ID, actors.StateFailed, 60*time.Second)
	if !strings.Contains(failed.LastError, "code 3") {
		t.Errorf("last error = %q, want the exit code 3", failed.LastError)
	}
	for _, tr := range failed.History {
		if tr.State == actors.StateReady {
			t.Errorf("session was ready before failing: %+v", failed.History)
		}
	}
}

func TestInvalidRequestsCreateNothing(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.MaxBodyBytes = 4096 })
	cases := []struct {
		name        string
		contentType string
		body        string
		status      int
	}{
		{"unknown image", "application/json", `{"user":"a","image":"alpine:latest"}`, http.StatusBadRequest},
		{"memory over maximum", "application/json", `{"user":"a","memory":"64GiB"}`, http.StatusBadRequest},
		{"malformed json", "application/json", `{"user":`, http.StatusBadRequest},
		{"unknown field", "application/json", `{"user":"a","privileged":true}`, http.StatusBadRequest},
		{"huge body", "application/json", `{"user":"a","cmd":["` + strings.Repeat("x", 10000) + `"]}`, http.StatusRequestEntityTooLarge},
		{"wrong content type", "text/plain", `{"user":"a"}`, http.StatusUnsupportedMediaType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			resp := s.do(t, http.MethodPost, "/v1/sessions", tc.contentType, []byte(tc.body), &body)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tc.status, body.Error.Message)
			}
			if body.Error.Message == "" {
				t.Error("no error message")
			}
		})
	}
	list, err := s.engine.ListContainers(context.Background(), map[string]string{docker.LabelInstance: s.cfg.InstanceID})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list) != 0 {
		t.Errorf("invalid requests made %d containers", len(list))
	}
}
