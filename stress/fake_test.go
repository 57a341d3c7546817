package stress

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/docker"
)

// fakeSessiond is an in-memory stand-in for the sessiond HTTP API on a
// loopback httptest server. A session becomes ready after readyAfterPolls
// GETs, and DELETE stops it at once.
type fakeSessiond struct {
	server *httptest.Server

	// The settings below must be set before the first request.
	readyAfterPolls int
	// createDelay holds every POST this long, or until the client gives up.
	createDelay time.Duration
	// createStatus, when set, is the status of every POST response, with
	// createCode as the error code.
	createStatus int
	createCode   string
	retryAfter   string
	token        string
	// failFullList fails GET /v1/sessions without a user filter, which is
	// the sweep's request.
	failFullList bool

	creates atomic.Int64
	deletes atomic.Int64
	gets    atomic.Int64
	lists   atomic.Int64
	healthz atomic.Int64
	// inFlightCreates and maxInFlightCreates measure how many POSTs
	// overlapped.
	inFlightCreates    atomic.Int64
	maxInFlightCreates atomic.Int64

	mu       sync.Mutex
	nextID   int
	sessions map[string]*fakeSession
}

type fakeSession struct {
	info  sessionInfo
	polls int
}

func newFakeSessiond(t *testing.T) *fakeSessiond {
	t.Helper()
	f := &fakeSessiond{sessions: make(map[string]*fakeSession)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		f.healthz.Add(1)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /v1/sessions", f.authorized(f.create))
	mux.HandleFunc("GET /v1/sessions", f.authorized(f.list))
	mux.HandleFunc("GET /v1/sessions/{id}", f.authorized(f.get))
	mux.HandleFunc("DELETE /v1/sessions/{id}", f.authorized(f.delete))
	f.server = httptest.NewServer(mux)
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeSessiond) url() string { return f.server.URL }

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var body errorBody
	body.Error.Code = code
	body.Error.Message = message
	writeJSON(w, status, body)
}

func (f *fakeSessiond) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
			writeError(w, http.StatusUnauthorized, "unauthorized", "invalid bearer token")
			return
		}
		next(w, r)
	}
}

func (f *fakeSessiond) create(w http.ResponseWriter, r *http.Request) {
	f.creates.Add(1)
	inFlight := f.inFlightCreates.Add(1)
	defer f.inFlightCreates.Add(-1)
	for {
		seen := f.maxInFlightCreates.Load()
		if inFlight <= seen || f.maxInFlightCreates.CompareAndSwap(seen, inFlight) {
			break
		}
	}

	// The body is read first because the server notices a client that
	// gave up only once the request body has been consumed.
	var body createBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.User == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "user is missing")
		return
	}
	if f.createDelay > 0 {
		select {
		case <-time.After(f.createDelay):
		case <-r.Context().Done():
			return
		}
	}
	if f.createStatus != 0 {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		writeError(w, f.createStatus, f.createCode, "rejected by the fake")
		return
	}

	f.mu.Lock()
	f.nextID++
	s := &fakeSession{info: sessionInfo{ID: fmt.Sprintf("s%d", f.nextID), User: body.User, State: "pending"}}
	if f.readyAfterPolls == 0 {
		s.info.State = stateReady
	}
	f.sessions[s.info.ID] = s
	info := s.info
	f.mu.Unlock()

	status := http.StatusAccepted
	if info.State == stateReady {
		status = http.StatusCreated
	}
	writeJSON(w, status, info)
}

func (f *fakeSessiond) get(w http.ResponseWriter, r *http.Request) {
	f.gets.Add(1)
	f.mu.Lock()
	s, ok := f.sessions[r.PathValue("id")]
	if ok && s.info.State != stateReady && !isTerminal(s.info.State) {
		s.polls++
		if s.polls >= f.readyAfterPolls {
			s.info.State = stateReady
		}
	}
	var info sessionInfo
	if ok {
		info = s.info
	}
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such session")
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (f *fakeSessiond) delete(w http.ResponseWriter, r *http.Request) {
	f.deletes.Add(1)
	f.mu.Lock()
	s, ok := f.sessions[r.PathValue("id")]
	var info sessionInfo
	if ok {
		s.info.State = stateStopped
		info = s.info
	}
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such session")
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (f *fakeSessiond) list(w http.ResponseWriter, r *http.Request) {
	f.lists.Add(1)
	user := r.URL.Query().Get("user")
	if f.failFullList && user == "" {
		writeError(w, http.StatusInternalServerError, "internal", "list failed in the fake")
		return
	}
	f.mu.Lock()
	list := sessionList{Sessions: []sessionInfo{}}
	for _, s := range f.sessions {
		if user == "" || s.info.User == user {
			list.Sessions = append(list.Sessions, s.info)
		}
	}
	f.mu.Unlock()
	list.Count = len(list.Sessions)
	writeJSON(w, http.StatusOK, list)
}

// activeSessions counts the sessions that are not stopped.
func (f *fakeSessiond) activeSessions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.sessions {
		if !isTerminal(s.info.State) {
			n++
		}
	}
	return n
}

// fakeEngine is an in-memory docker.Engine whose containers publish the
// port of one loopback health server, so that the raw-Docker backend can
// probe them without a daemon.
type fakeEngine struct {
	healthPort int
	// startErr fails every StartContainer when set.
	startErr error

	mu         sync.Mutex
	nextID     int
	containers map[string]docker.Container

	creates atomic.Int64
	starts  atomic.Int64
	removes atomic.Int64
}

var _ docker.Engine = (*fakeEngine)(nil)

func newFakeEngine(t *testing.T) *fakeEngine {
	t.Helper()
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(health.Close)
	var port int
	if _, err := fmt.Sscanf(health.URL, "http://127.0.0.1:%d", &port); err != nil {
		t.Fatalf("parse health server URL %s: %v", health.URL, err)
	}
	return &fakeEngine{healthPort: port, containers: make(map[string]docker.Container)}
}

func (e *fakeEngine) Ping(ctx context.Context) error { return ctx.Err() }

func (e *fakeEngine) CreateContainer(ctx context.Context, spec docker.ContainerSpec) (string, error) {
	e.creates.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	id := fmt.Sprintf("%064d", e.nextID)
	e.containers[id] = docker.Container{ID: id, Name: spec.Name, Image: spec.Image, Labels: spec.Labels, State: "created"}
	return id, nil
}

func (e *fakeEngine) StartContainer(ctx context.Context, id string) error {
	e.starts.Add(1)
	if e.startErr != nil {
		return e.startErr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ctr, ok := e.containers[id]
	if !ok {
		return &docker.Error{Kind: docker.KindNotFound, Op: "start container " + id, Err: fmt.Errorf("no such container")}
	}
	ctr.State, ctr.Running, ctr.HostPort = "running", true, e.healthPort
	e.containers[id] = ctr
	return nil
}

func (e *fakeEngine) InspectContainer(ctx context.Context, id string) (docker.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ctr, ok := e.containers[id]
	if !ok {
		return docker.Container{}, &docker.Error{Kind: docker.KindNotFound, Op: "inspect container " + id, Err: fmt.Errorf("no such container")}
	}
	return ctr, nil
}

func (e *fakeEngine) RemoveContainer(ctx context.Context, id string) error {
	e.removes.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.containers, id)
	return nil
}

func (e *fakeEngine) ListContainers(ctx context.Context, labels map[string]string) ([]docker.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []docker.Container
	for _, ctr := range e.containers {
		match := true
		for key, value := range labels {
			if got, ok := ctr.Labels[key]; !ok || (value != "" && got != value) {
				match = false
			}
		}
		if match {
			out = append(out, ctr)
		}
	}
	return out, nil
}

func (e *fakeEngine) Events(ctx context.Context, labels map[string]string) (<-chan docker.Event, <-chan error) {
	events, errs := make(chan docker.Event), make(chan error)
	close(events)
	close(errs)
	return events, errs
}

// add puts a container into the fake as if an earlier run had left it.
func (e *fakeEngine) add(labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	id := fmt.Sprintf("%064d", e.nextID)
	e.containers[id] = docker.Container{ID: id, Labels: labels, State: "exited"}
}

func (e *fakeEngine) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.containers)
}
