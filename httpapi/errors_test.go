package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/actors"
)

func TestActorErrorMapping(t *testing.T) {
	tests := []struct {
		name           string
		err            *actors.Error
		wantStatus     int
		wantCode       string
		wantRetryAfter string // empty means no header
	}{
		{name: "invalid argument", err: &actors.Error{Code: actors.CodeInvalid, Message: "memory above maximum", Field: "memory"}, wantStatus: 400, wantCode: "invalid_argument"},
		{name: "not found", err: &actors.Error{Code: actors.CodeNotFound, Message: "no such session"}, wantStatus: 404, wantCode: "not_found"},
		{name: "conflict", err: &actors.Error{Code: actors.CodeConflict, Message: "session exists"}, wantStatus: 409, wantCode: "conflict"},
		{name: "limit reached", err: &actors.Error{Code: actors.CodeLimitReached, Message: "too many sessions", RetryAfter: 10 * time.Second}, wantStatus: 429, wantCode: "limit_reached", wantRetryAfter: "10"},
		{name: "limit reached without hint", err: &actors.Error{Code: actors.CodeLimitReached, Message: "too many sessions"}, wantStatus: 429, wantCode: "limit_reached", wantRetryAfter: "1"},
		{name: "queue full rounds up", err: &actors.Error{Code: actors.CodeQueueFull, Message: "queue full", RetryAfter: 1500 * time.Millisecond}, wantStatus: 429, wantCode: "queue_full", wantRetryAfter: "2"},
		{name: "queue full below a second", err: &actors.Error{Code: actors.CodeQueueFull, Message: "queue full", RetryAfter: 100 * time.Millisecond}, wantStatus: 429, wantCode: "queue_full", wantRetryAfter: "1"},
		{name: "docker unavailable", err: &actors.Error{Code: actors.CodeUnavailable, Message: "daemon unreachable", RetryAfter: 5 * time.Second}, wantStatus: 503, wantCode: "docker_unavailable", wantRetryAfter: "5"},
		{name: "shutting down", err: &actors.Error{Code: actors.CodeShuttingDown, Message: "shutting down"}, wantStatus: 503, wantCode: "shutting_down"},
		{name: "timeout", err: &actors.Error{Code: actors.CodeTimeout, Message: "create timed out"}, wantStatus: 504, wantCode: "timeout"},
		{name: "internal", err: &actors.Error{Code: actors.CodeInternal, Message: "unexpected reply"}, wantStatus: 500, wantCode: "internal"},
		{name: "unknown code", err: &actors.Error{Code: "brand_new", Message: "something"}, wantStatus: 500, wantCode: "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{create: func(actors.CreateRequest, time.Duration) (actors.SessionInfo, error) {
				// Wrapping must not hide the code.
				return actors.SessionInfo{}, fmt.Errorf("create session: %w", tt.err)
			}}
			e := newTestServer(t, svc, Options{})

			rec := serve(e, http.MethodPost, "/v1/sessions", `{"user":"alice"}`)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			detail := errorOf(t, rec.Header(), rec.Body.Bytes())
			if detail.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", detail.Code, tt.wantCode)
			}
			if detail.Message != tt.err.Message {
				t.Errorf("message = %q, want %q", detail.Message, tt.err.Message)
			}
			if detail.Field != tt.err.Field {
				t.Errorf("field = %q, want %q", detail.Field, tt.err.Field)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
		})
	}
}

func TestServiceErrorsWithoutCode(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{name: "deadline exceeded", err: fmt.Errorf("request future: %w", context.DeadlineExceeded), wantStatus: 504, wantCode: "timeout"},
		{name: "plain error", err: errors.New("dial unix /var/run/docker.sock: secret detail"), wantStatus: 500, wantCode: "internal"},
		// The request context is still live, so this cancellation came
		// from inside the server and is a server failure.
		{name: "canceled inside", err: context.Canceled, wantStatus: 500, wantCode: "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{get: func(string) (actors.SessionInfo, error) { return actors.SessionInfo{}, tt.err }}
			e := newTestServer(t, svc, Options{})

			rec := serve(e, http.MethodGet, "/v1/sessions/s1", "")

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			detail := errorOf(t, rec.Header(), rec.Body.Bytes())
			if detail.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", detail.Code, tt.wantCode)
			}
			if strings.Contains(detail.Message, "secret detail") {
				t.Errorf("message %q leaks the internal error", detail.Message)
			}
		})
	}
}

func TestInternalErrorIsLoggedWithRequestID(t *testing.T) {
	var logs bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &logs, JSONFormat: true})
	svc := &fakeService{list: func(actors.ListFilter) ([]actors.SessionInfo, error) {
		return nil, errors.New("registry corrupted")
	}}
	e := newTestServer(t, svc, Options{Logger: logger})

	rec := serve(e, http.MethodGet, "/v1/sessions", "", "X-Request-Id", "req-500")

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	detail := errorOf(t, rec.Header(), rec.Body.Bytes())
	if !strings.Contains(detail.Message, "req-500") {
		t.Errorf("message %q does not name the request id", detail.Message)
	}
	line := findLogLine(t, logs.String(), "request failed")
	if line["request_id"] != "req-500" || line["error"] != "registry corrupted" || line["@level"] != "error" {
		t.Errorf("log line = %v, want error level with request_id and error", line)
	}
}

func TestClientGoneIsNotAServerError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	svc := &fakeService{get: func(string) (actors.SessionInfo, error) {
		cancel()
		return actors.SessionInfo{}, context.Canceled
	}}
	e := newTestServer(t, svc, Options{})
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/sessions/s1", nil)
	rec := httptest.NewRecorder()

	e.ServeHTTP(rec, req)

	if rec.Code != statusClientClosedRequest {
		t.Errorf("status = %d, want %d", rec.Code, statusClientClosedRequest)
	}
}

func TestRouterErrorsAreJSON(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantCode   string
		wantAllow  string
	}{
		{name: "unknown route", method: http.MethodGet, target: "/nope", wantStatus: 404, wantCode: "not_found"},
		{name: "unknown route under v1", method: http.MethodGet, target: "/v1/other", wantStatus: 404, wantCode: "not_found"},
		{name: "wrong method on collection", method: http.MethodPut, target: "/v1/sessions", wantStatus: 405, wantCode: "method_not_allowed", wantAllow: "POST"},
		{name: "wrong method on session", method: http.MethodPost, target: "/v1/sessions/s1", wantStatus: 405, wantCode: "method_not_allowed", wantAllow: "DELETE"},
		{name: "wrong method on healthz", method: http.MethodPost, target: "/healthz", wantStatus: 405, wantCode: "method_not_allowed", wantAllow: "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{}
			e := newTestServer(t, svc, Options{})

			rec := serve(e, tt.method, tt.target, "")

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			detail := errorOf(t, rec.Header(), rec.Body.Bytes())
			if detail.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", detail.Code, tt.wantCode)
			}
			if !strings.Contains(detail.Message, tt.method) {
				t.Errorf("message %q does not name the method", detail.Message)
			}
			if tt.wantAllow != "" && !strings.Contains(rec.Header().Get("Allow"), tt.wantAllow) {
				t.Errorf("Allow = %q, want it to contain %s", rec.Header().Get("Allow"), tt.wantAllow)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Error("response has no X-Request-Id")
			}
		})
	}
}

func TestErrorBodyShape(t *testing.T) {
	e := newTestServer(t, &fakeService{}, Options{})

	rec := serve(e, http.MethodPost, "/v1/sessions", `{"user":"a","x":1}`)

	want := `{"error":{"code":"invalid_argument","message":"unknown field \"x\"; accepted fields are user, image, memory, cpus, pids, env, cmd","field":"x"}}`
	if got := strings.TrimSpace(rec.Body.String()); got != want {
		t.Errorf("body =\n%s\nwant\n%s", got, want)
	}
}

// panickingService panics with value in GetSession and behaves like
// fakeService otherwise.
type panickingService struct {
	fakeService
	value any
}

func (p *panickingService) GetSession(context.Context, string) (actors.SessionInfo, error) {
	panic(p.value)
}

// syncBuffer is a bytes.Buffer safe for the server goroutines and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestPanicBecomes500(t *testing.T) {
	var logs syncBuffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &logs, JSONFormat: true})
	srv := httptest.NewServer(newTestServer(t, &panickingService{value: "nil map in session registry"}, Options{Logger: logger}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1/sessions/s1")
	if err != nil {
		t.Fatalf("GET after panic failed: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500; body: %s", resp.StatusCode, body)
	}
	detail := errorOf(t, resp.Header, body)
	if detail.Code != "internal" || strings.Contains(detail.Message, "nil map") {
		t.Errorf("error = %+v, want internal with a generic message", detail)
	}
	panicRequestID := resp.Header.Get("X-Request-Id")
	if panicRequestID == "" {
		t.Error("500 response has no X-Request-Id")
	}

	// The server keeps serving after the panic.
	resp, err = http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz after panic failed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz status = %d, want 200", resp.StatusCode)
	}

	srv.Close()
	line := findLogLine(t, logs.String(), "handler panicked")
	if line["@level"] != "error" {
		t.Errorf("panic logged at %v, want error", line["@level"])
	}
	if stack, _ := line["stack"].(string); !strings.Contains(stack, "GetSession") {
		t.Errorf("panic log stack does not show the panicking method:\n%s", stack)
	}
	if line["request_id"] != panicRequestID {
		t.Errorf("panic log request_id = %v, want %q", line["request_id"], panicRequestID)
	}
	if n := strings.Count(logs.String(), `"request failed"`); n != 0 {
		t.Errorf("panic was logged again as a failed request %d times", n)
	}
}

func TestPanicValueIsNotMapped(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{name: "actors error", value: &actors.Error{Code: actors.CodeNotFound, Message: "no such session"}},
		{name: "api error", value: invalidArgument("id", "bad id")},
		{name: "deadline exceeded", value: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestServer(t, &panickingService{value: tt.value}, Options{})

			rec := serve(e, http.MethodGet, "/v1/sessions/s1", "")

			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status = %d, want 500; body: %s", rec.Code, rec.Body)
			}
			if detail := errorOf(t, rec.Header(), rec.Body.Bytes()); detail.Code != "internal" {
				t.Errorf("code = %q, want internal", detail.Code)
			}
		})
	}
}
