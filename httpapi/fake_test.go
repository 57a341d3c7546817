package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/labstack/echo/v4"

	"github.com/sessiond/sessiond/actors"
)

// fakeCall is one recorded call to fakeService.
type fakeCall struct {
	Method  string
	ID      string
	Wait    time.Duration
	Request actors.CreateRequest
	Filter  actors.ListFilter
}

// fakeService records every call and replies with the scripted functions.
// A nil function gives a plain successful reply.
type fakeService struct {
	mu    sync.Mutex
	calls []fakeCall

	create    func(req actors.CreateRequest, wait time.Duration) (actors.SessionInfo, error)
	get       func(id string) (actors.SessionInfo, error)
	list      func(filter actors.ListFilter) ([]actors.SessionInfo, error)
	del       func(id string, wait time.Duration) (actors.SessionInfo, error)
	tree      func() (actors.TreeNode, error)
	readiness actors.Readiness
}

var _ actors.Service = (*fakeService)(nil)

func (f *fakeService) record(call fakeCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

// Calls returns a copy of the calls recorded so far.
func (f *fakeService) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func (f *fakeService) CreateSession(_ context.Context, req actors.CreateRequest, wait time.Duration) (actors.SessionInfo, error) {
	f.record(fakeCall{Method: "CreateSession", Request: req, Wait: wait})
	if f.create != nil {
		return f.create(req, wait)
	}
	return actors.SessionInfo{ID: "s-1", User: req.User, State: actors.StatePending}, nil
}

func (f *fakeService) GetSession(_ context.Context, id string) (actors.SessionInfo, error) {
	f.record(fakeCall{Method: "GetSession", ID: id})
	if f.get != nil {
		return f.get(id)
	}
	return actors.SessionInfo{ID: id, User: "alice", State: actors.StateReady}, nil
}

func (f *fakeService) ListSessions(_ context.Context, filter actors.ListFilter) ([]actors.SessionInfo, error) {
	f.record(fakeCall{Method: "ListSessions", Filter: filter})
	if f.list != nil {
		return f.list(filter)
	}
	return nil, nil
}

func (f *fakeService) DeleteSession(_ context.Context, id string, wait time.Duration) (actors.SessionInfo, error) {
	f.record(fakeCall{Method: "DeleteSession", ID: id, Wait: wait})
	if f.del != nil {
		return f.del(id, wait)
	}
	return actors.SessionInfo{ID: id, State: actors.StateStopping}, nil
}

func (f *fakeService) Tree(context.Context) (actors.TreeNode, error) {
	f.record(fakeCall{Method: "Tree"})
	if f.tree != nil {
		return f.tree()
	}
	return actors.TreeNode{Name: "root", Kind: "root", PID: "nonhost/$1"}, nil
}

func (f *fakeService) Readiness(context.Context) actors.Readiness {
	f.record(fakeCall{Method: "Readiness"})
	return f.readiness
}

// testLogger sends log output to t.Log.
func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "test",
		Level:  hclog.Debug,
		Output: testWriter{t},
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newTestServer builds the API around svc. Options default to a test logger
// and the given service.
func newTestServer(t testing.TB, svc actors.Service, opts Options) *echo.Echo {
	t.Helper()
	opts.Service = svc
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	return New(opts)
}

// serve runs one request through e and returns the recorded response.
// A non-empty body is sent as application/json unless headers set another
// Content-Type.
func serve(e http.Handler, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, reader)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}
