package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessiond/sessiond/actors"
)

// findLogLine returns the first JSON log line whose message is msg.
func findLogLine(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	for _, raw := range strings.Split(strings.TrimSpace(logs), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			continue
		}
		if line["@message"] == msg {
			return line
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs)
	return nil
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		target   string
		body     string
		incoming string
		wantEcho bool
	}{
		{name: "generated on success", method: http.MethodGet, target: "/healthz"},
		{name: "generated on 404", method: http.MethodGet, target: "/nope"},
		{name: "generated on 400", method: http.MethodGet, target: "/v1/sessions?state=bogus"},
		{name: "echoed on success", method: http.MethodGet, target: "/healthz", incoming: "frontend-42", wantEcho: true},
		{name: "echoed on error", method: http.MethodPost, target: "/v1/sessions", body: `{`, incoming: "abc:123/xyz", wantEcho: true},
		{name: "echoed at maximum length", method: http.MethodGet, target: "/healthz", incoming: strings.Repeat("r", 64), wantEcho: true},
		{name: "replaced when too long", method: http.MethodGet, target: "/healthz", incoming: strings.Repeat("r", 65)},
		{name: "replaced when it has spaces", method: http.MethodGet, target: "/healthz", incoming: "a b"},
		{name: "replaced when not ASCII", method: http.MethodGet, target: "/healthz", incoming: "ид"},
		{name: "replaced when it has control bytes", method: http.MethodGet, target: "/healthz", incoming: "a\x7fb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestServer(t, &fakeService{}, Options{})
			var headers []string
			if tt.incoming != "" {
				headers = []string{"X-Request-Id", tt.incoming}
			}

			rec := serve(e, tt.method, tt.target, tt.body, headers...)

			got := rec.Header().Get("X-Request-Id")
			if tt.wantEcho {
				if got != tt.incoming {
					t.Errorf("X-Request-Id = %q, want the incoming %q", got, tt.incoming)
				}
				return
			}
			if got == "" || got == tt.incoming {
				t.Errorf("X-Request-Id = %q, want a generated id", got)
			}
			if !validRequestID(got) {
				t.Errorf("generated id %q is not itself a valid id", got)
			}
		})
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	e := newTestServer(t, &fakeService{}, Options{})

	first := serve(e, http.MethodGet, "/healthz", "").Header().Get("X-Request-Id")
	second := serve(e, http.MethodGet, "/healthz", "").Header().Get("X-Request-Id")

	if first == second {
		t.Errorf("two requests got the same id %q", first)
	}
}

func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		name          string
		method        string
		target        string
		authorization string
		wantStatus    int
		wantChallenge string // substring of WWW-Authenticate; empty means none
	}{
		{name: "v1 without token", method: http.MethodGet, target: "/v1/sessions", wantStatus: 401, wantChallenge: `Bearer realm="sessiond"`},
		{name: "v1 wrong token", method: http.MethodGet, target: "/v1/sessions", authorization: "Bearer nope", wantStatus: 401, wantChallenge: `error="invalid_token"`},
		{name: "v1 token prefix", method: http.MethodGet, target: "/v1/sessions", authorization: "Bearer s3cret", wantStatus: 401, wantChallenge: "invalid_token"},
		{name: "v1 basic scheme", method: http.MethodGet, target: "/v1/sessions", authorization: "Basic czNjcmV0LXRva2Vu", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "v1 empty bearer", method: http.MethodGet, target: "/v1/sessions", authorization: "Bearer ", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "v1 session without token", method: http.MethodDelete, target: "/v1/sessions/s1", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "v1 unknown path without token", method: http.MethodGet, target: "/v1/other", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "admin without token", method: http.MethodGet, target: "/admin/tree", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "v1 with token", method: http.MethodGet, target: "/v1/sessions", authorization: "Bearer " + token, wantStatus: 200},
		{name: "v1 lowercase scheme", method: http.MethodGet, target: "/v1/sessions", authorization: "bearer " + token, wantStatus: 200},
		{name: "admin with token", method: http.MethodGet, target: "/admin/tree", authorization: "Bearer " + token, wantStatus: 200},
		{name: "healthz open", method: http.MethodGet, target: "/healthz", wantStatus: 200},
		{name: "readyz open", method: http.MethodGet, target: "/readyz", wantStatus: 200},
		{name: "metrics open", method: http.MethodGet, target: "/metrics", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{readiness: actors.Readiness{Ready: true}}
			e := newTestServer(t, svc, Options{APIToken: token})
			var headers []string
			if tt.authorization != "" {
				headers = []string{"Authorization", tt.authorization}
			}

			rec := serve(e, tt.method, tt.target, "", headers...)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			challenge := rec.Header().Get("WWW-Authenticate")
			if tt.wantChallenge == "" {
				if challenge != "" {
					t.Errorf("WWW-Authenticate = %q on a %d response", challenge, rec.Code)
				}
				return
			}
			if !strings.Contains(challenge, tt.wantChallenge) {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", challenge, tt.wantChallenge)
			}
			if detail := errorOf(t, rec.Header(), rec.Body.Bytes()); detail.Code != "unauthorized" {
				t.Errorf("code = %q, want unauthorized", detail.Code)
			}
			if strings.Contains(rec.Body.String(), token) {
				t.Error("401 body contains the token")
			}
			if len(svc.Calls()) != 0 {
				t.Errorf("service was called without authentication: %+v", svc.Calls())
			}
		})
	}
}

func TestAuthOffWithoutToken(t *testing.T) {
	e := newTestServer(t, &fakeService{}, Options{})

	rec := serve(e, http.MethodGet, "/v1/sessions", "")

	if rec.Code != http.StatusOK {
		t.Errorf("status = %d, want 200 when no token is configured", rec.Code)
	}
}

func TestAccessLog(t *testing.T) {
	var logs bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &logs, JSONFormat: true, Level: hclog.Info})
	e := newTestServer(t, &fakeService{}, Options{Logger: logger, APIToken: "tok-do-not-log"})

	serve(e, http.MethodPost, "/v1/sessions?wait=1s", `{"user":"alice"}`,
		"Authorization", "Bearer tok-do-not-log", "X-Request-Id", "log-1", "X-Forwarded-For", "203.0.113.9")

	line := findLogLine(t, logs.String(), "request")
	want := map[string]any{
		"@module":    "http",
		"@level":     "info",
		"request_id": "log-1",
		"method":     "POST",
		"path":       "/v1/sessions",
		"status":     float64(http.StatusAccepted),
		"remote_ip":  "192.0.2.1",
	}
	for key, value := range want {
		if line[key] != value {
			t.Errorf("%s = %v, want %v", key, line[key], value)
		}
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms = %v, want a number", line["duration_ms"])
	}
	if bytesOut, _ := line["bytes_out"].(float64); bytesOut <= 0 {
		t.Errorf("bytes_out = %v, want the body size", line["bytes_out"])
	}
	if strings.Contains(logs.String(), "tok-do-not-log") {
		t.Error("log output contains the bearer token")
	}
	if strings.Contains(logs.String(), "alice") {
		t.Error("log output contains the request body")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	registry := prometheus.NewRegistry()
	e := newTestServer(t, &fakeService{}, Options{Registry: registry})

	serve(e, http.MethodGet, "/v1/sessions", "")
	serve(e, http.MethodGet, "/v1/sessions/abc", "")
	serve(e, http.MethodGet, "/v1/sessions/def", "")
	serve(e, http.MethodGet, "/v1/sessions/%2e%2e", "")
	serve(e, http.MethodGet, "/no/such/route", "")
	serve(e, "BREW", "/healthz", "")
	rec := serve(e, http.MethodGet, "/metrics", "")

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`sessiond_http_requests_total{method="GET",route="/v1/sessions",status="200"} 1`,
		`sessiond_http_requests_total{method="GET",route="/v1/sessions/:id",status="200"} 2`,
		`sessiond_http_requests_total{method="GET",route="/v1/sessions/:id",status="400"} 1`,
		`sessiond_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`sessiond_http_requests_total{method="OTHER",route="/healthz",status="405"} 1`,
		`sessiond_http_request_duration_seconds_count{method="GET",route="/v1/sessions/:id"} 3`,
		`sessiond_http_request_duration_seconds_bucket{method="GET",route="/v1/sessions",le="+Inf"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "abc") || strings.Contains(body, "/no/such/route") {
		t.Error("metrics contain a raw URL instead of the route template")
	}
}

func TestNewTwiceWithOneRegistry(t *testing.T) {
	registry := prometheus.NewRegistry()
	first := newTestServer(t, &fakeService{}, Options{Registry: registry})
	second := newTestServer(t, &fakeService{}, Options{Registry: registry})

	serve(first, http.MethodGet, "/healthz", "")
	serve(second, http.MethodGet, "/healthz", "")
	rec := serve(first, http.MethodGet, "/metrics", "")

	want := `sessiond_http_requests_total{method="GET",route="/healthz",status="200"} 2`
	if !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %s; both servers should share the counters", want)
	}
}
