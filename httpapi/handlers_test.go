package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/actors"
)

// decodeJSON unmarshals the recorded body into a value of type T.
func decodeJSON[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("response body is not the expected JSON: %v\nbody: %s", err, body)
	}
	return v
}

// errorOf decodes a JSON error response and checks its content type.
func errorOf(t *testing.T, header http.Header, body []byte) errorDetail {
	t.Helper()
	if got := header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	return decodeJSON[errorBody](t, body).Error
}

func TestCreateSessionStatus(t *testing.T) {
	tests := []struct {
		name       string
		state      actors.State
		target     string
		wantStatus int
		wantWait   time.Duration
	}{
		{name: "pending without wait", state: actors.StatePending, target: "/v1/sessions", wantStatus: http.StatusAccepted},
		{name: "ready within wait", state: actors.StateReady, target: "/v1/sessions?wait=30s", wantStatus: http.StatusCreated, wantWait: 30 * time.Second},
		{name: "probing after wait", state: actors.StateProbing, target: "/v1/sessions?wait=1.5s", wantStatus: http.StatusAccepted, wantWait: 1500 * time.Millisecond},
		{name: "failed is not ready", state: actors.StateFailed, target: "/v1/sessions?wait=0s", wantStatus: http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{create: func(req actors.CreateRequest, _ time.Duration) (actors.SessionInfo, error) {
				return actors.SessionInfo{ID: "abc-123", User: req.User, State: tt.state}, nil
			}}
			e := newTestServer(t, svc, Options{})

			rec := serve(e, http.MethodPost, tt.target, `{"user":"alice"}`)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != "/v1/sessions/abc-123" {
				t.Errorf("Location = %q, want /v1/sessions/abc-123", got)
			}
			info := decodeJSON[actors.SessionInfo](t, rec.Body.Bytes())
			if info.ID != "abc-123" || info.State != tt.state {
				t.Errorf("body = %+v, want id abc-123 and state %s", info, tt.state)
			}
			calls := svc.Calls()
			if len(calls) != 1 || calls[0].Method != "CreateSession" {
				t.Fatalf("calls = %+v, want one CreateSession", calls)
			}
			if calls[0].Wait != tt.wantWait {
				t.Errorf("wait = %s, want %s", calls[0].Wait, tt.wantWait)
			}
		})
	}
}

func TestCreateSessionTranslatesBody(t *testing.T) {
	svc := &fakeService{}
	e := newTestServer(t, svc, Options{})
	body := `{
		"user": "alice@example.com",
		"image": "sandbox:latest",
		"memory": "256MiB",
		"cpus": 0.5,
		"pids": 64,
		"env": {"GREETING": "hi", "_X1": ""},
		"cmd": ["serve", "--port", "8080"]
	}`

	rec := serve(e, http.MethodPost, "/v1/sessions", body)

	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body: %s", rec.Code, rec.Body)
	}
	want := actors.CreateRequest{
		User:        "alice@example.com",
		Image:       "sandbox:latest",
		MemoryBytes: 256 << 20,
		CPUs:        0.5,
		Pids:        64,
		Env:         map[string]string{"GREETING": "hi", "_X1": ""},
		Cmd:         []string{"serve", "--port", "8080"},
	}
	calls := svc.Calls()
	if len(calls) != 1 {
		t.Fatalf("calls = %+v, want one", calls)
	}
	if !reflect.DeepEqual(calls[0].Request, want) {
		t.Errorf("request = %+v\nwant      %+v", calls[0].Request, want)
	}
}

func TestCreateSessionMemoryForms(t *testing.T) {
	tests := []struct {
		name   string
		memory string
		want   int64
	}{
		{name: "integer bytes", memory: `268435456`, want: 256 << 20},
		{name: "string bytes", memory: `"1024"`, want: 1024},
		{name: "docker suffix", memory: `"512m"`, want: 512 << 20},
		{name: "IEC suffix", memory: `"1GiB"`, want: 1 << 30},
		{name: "fraction with space", memory: `"1.5 g"`, want: 3 << 29},
		{name: "null is unset", memory: `null`, want: 0},
		{name: "zero takes default", memory: `0`, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{}
			e := newTestServer(t, svc, Options{})

			rec := serve(e, http.MethodPost, "/v1/sessions", `{"user":"u","memory":`+tt.memory+`}`)

			if rec.Code != http.StatusAccepted {
				t.Fatalf("status = %d, want 202; body: %s", rec.Code, rec.Body)
			}
			if got := svc.Calls()[0].Request.MemoryBytes; got != tt.want {
				t.Errorf("MemoryBytes = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestListSessions(t *testing.T) {
	sessions := []actors.SessionInfo{
		{ID: "a", User: "alice", State: actors.StateReady},
		{ID: "b", User: "alice", State: actors.StateReady},
	}
	tests := []struct {
		name       string
		target     string
		reply      []actors.SessionInfo
		wantFilter actors.ListFilter
		wantCount  int
	}{
		{name: "no filter empty", target: "/v1/sessions", reply: nil, wantCount: 0},
		{name: "user filter", target: "/v1/sessions?user=alice", reply: sessions, wantFilter: actors.ListFilter{User: "alice"}, wantCount: 2},
		{name: "state filter", target: "/v1/sessions?state=ready", reply: sessions, wantFilter: actors.ListFilter{State: actors.StateReady}, wantCount: 2},
		{name: "both filters", target: "/v1/sessions?user=bob&state=failed", wantFilter: actors.ListFilter{User: "bob", State: actors.StateFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{list: func(actors.ListFilter) ([]actors.SessionInfo, error) { return tt.reply, nil }}
			e := newTestServer(t, svc, Options{})

			rec := serve(e, http.MethodGet, tt.target, "")

			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body: %s", rec.Code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), `"sessions":[`) {
				t.Errorf("body %s has no sessions array", rec.Body)
			}
			list := decodeJSON[sessionList](t, rec.Body.Bytes())
			if list.Count != tt.wantCount || len(list.Sessions) != tt.wantCount {
				t.Errorf("count = %d with %d sessions, want %d", list.Count, len(list.Sessions), tt.wantCount)
			}
			if got := svc.Calls()[0].Filter; got != tt.wantFilter {
				t.Errorf("filter = %+v, want %+v", got, tt.wantFilter)
			}
		})
	}
}

func TestListSessionsRejectsBadQuery(t *testing.T) {
	tests := []struct {
		name      string
		target    string
		wantField string
	}{
		{name: "unknown state", target: "/v1/sessions?state=running", wantField: "state"},
		{name: "state wrong case", target: "/v1/sessions?state=READY", wantField: "state"},
		{name: "user with space", target: "/v1/sessions?user=a%20b", wantField: "user"},
		{name: "user too long", target: "/v1/sessions?user=" + strings.Repeat("u", 65), wantField: "user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{}
			e := newTestServer(t, svc, Options{})

			rec := serve(e, http.MethodGet, tt.target, "")

			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body: %s", rec.Code, rec.Body)
			}
			detail := errorOf(t, rec.Header(), rec.Body.Bytes())
			if detail.Field != tt.wantField {
				t.Errorf("field = %q, want %q", detail.Field, tt.wantField)
			}
			if len(svc.Calls()) != 0 {
				t.Errorf("service was called: %+v", svc.Calls())
			}
		})
	}
}

func TestGetSession(t *testing.T) {
	svc := &fakeService{}
	e := newTestServer(t, svc, Options{})

	rec := serve(e, http.MethodGet, "/v1/sessions/abc_123-X", "")

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", rec.Code, rec.Body)
	}
	info := decodeJSON[actors.SessionInfo](t, rec.Body.Bytes())
	if info.ID != "abc_123-X" {
		t.Errorf("id = %q, want abc_123-X", info.ID)
	}
	if calls := svc.Calls(); len(calls) != 1 || calls[0].ID != "abc_123-X" {
		t.Errorf("calls = %+v, want GetSession(abc_123-X)", calls)
	}
}

func TestGetSessionNotFound(t *testing.T) {
	svc := &fakeService{get: func(id string) (actors.SessionInfo, error) {
		return actors.SessionInfo{}, &actors.Error{Code: actors.CodeNotFound, Message: "session " + id + " not found"}
	}}
	e := newTestServer(t, svc, Options{})

	rec := serve(e, http.MethodGet, "/v1/sessions/missing", "")

	if rec.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404; body: %s", rec.Code, rec.Body)
	}
	detail := errorOf(t, rec.Header(), rec.Body.Bytes())
	if detail.Code != "not_found" || detail.Message != "session missing not found" {
		t.Errorf("error = %+v, want not_found with the service's message", detail)
	}
}

func TestDeleteSession(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		state      actors.State
		wantStatus int
		wantWait   time.Duration
	}{
		{name: "stopped within wait", target: "/v1/sessions/s1?wait=10s", state: actors.StateStopped, wantStatus: http.StatusOK, wantWait: 10 * time.Second},
		{name: "failed is terminal", target: "/v1/sessions/s1", state: actors.StateFailed, wantStatus: http.StatusOK},
		{name: "still stopping", target: "/v1/sessions/s1", state: actors.StateStopping, wantStatus: http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{del: func(id string, _ time.Duration) (actors.SessionInfo, error) {
				return actors.SessionInfo{ID: id, State: tt.state}, nil
			}}
			e := newTestServer(t, svc, Options{})

			rec := serve(e, http.MethodDelete, tt.target, "")

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			info := decodeJSON[actors.SessionInfo](t, rec.Body.Bytes())
			if info.State != tt.state {
				t.Errorf("state = %q, want %q", info.State, tt.state)
			}
			calls := svc.Calls()
			if len(calls) != 1 || calls[0].Method != "DeleteSession" || calls[0].ID != "s1" {
				t.Fatalf("calls = %+v, want DeleteSession(s1)", calls)
			}
			if calls[0].Wait != tt.wantWait {
				t.Errorf("wait = %s, want %s", calls[0].Wait, tt.wantWait)
			}
		})
	}
}

func TestSessionIDValidation(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
	}{
		{name: "encoded slash traversal", method: http.MethodGet, target: "/v1/sessions/..%2F..%2Fadmin"},
		{name: "encoded dots", method: http.MethodGet, target: "/v1/sessions/%2e%2e"},
		{name: "dot dot", method: http.MethodDelete, target: "/v1/sessions/.."},
		{name: "unicode", method: http.MethodGet, target: "/v1/sessions/s%C3%A9ance"},
		{name: "NUL byte", method: http.MethodGet, target: "/v1/sessions/a%00b"},
		{name: "space", method: http.MethodDelete, target: "/v1/sessions/a%20b"},
		{name: "too long", method: http.MethodGet, target: "/v1/sessions/" + strings.Repeat("a", 65)},
		// echo lets the trailing :id match across slashes, so an extra
		// segment arrives as part of the id.
		{name: "extra segment", method: http.MethodGet, target: "/v1/sessions/s1/logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{}
			e := newTestServer(t, svc, Options{})

			rec := serve(e, tt.method, tt.target, "")

			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body: %s", rec.Code, rec.Body)
			}
			detail := errorOf(t, rec.Header(), rec.Body.Bytes())
			if detail.Field != "id" || detail.Code != "invalid_argument" {
				t.Errorf("error = %+v, want invalid_argument on id", detail)
			}
			if len(svc.Calls()) != 0 {
				t.Errorf("service was called: %+v", svc.Calls())
			}
		})
	}
}

func TestSessionIDMaxLength(t *testing.T) {
	svc := &fakeService{}
	e := newTestServer(t, svc, Options{})
	id := strings.Repeat("a", 64)

	rec := serve(e, http.MethodGet, "/v1/sessions/"+id, "")

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", rec.Code, rec.Body)
	}
}

func TestWaitValidation(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
	}{
		{name: "create not a duration", method: http.MethodPost, target: "/v1/sessions?wait=soon"},
		{name: "create missing unit", method: http.MethodPost, target: "/v1/sessions?wait=30"},
		{name: "create negative", method: http.MethodPost, target: "/v1/sessions?wait=-1s"},
		{name: "create above maximum", method: http.MethodPost, target: "/v1/sessions?wait=61s"},
		{name: "delete not a duration", method: http.MethodDelete, target: "/v1/sessions/s1?wait=1x"},
		{name: "delete above maximum", method: http.MethodDelete, target: "/v1/sessions/s1?wait=1h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{}
			e := newTestServer(t, svc, Options{})
			body := ""
			if tt.method == http.MethodPost {
				body = `{"user":"alice"}`
			}

			rec := serve(e, tt.method, tt.target, body)

			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body: %s", rec.Code, rec.Body)
			}
			if detail := errorOf(t, rec.Header(), rec.Body.Bytes()); detail.Field != "wait" {
				t.Errorf("field = %q, want wait", detail.Field)
			}
			if len(svc.Calls()) != 0 {
				t.Errorf("service was called: %+v", svc.Calls())
			}
		})
	}
}

func TestWaitMaximumIsConfigurable(t *testing.T) {
	svc := &fakeService{}
	e := newTestServer(t, svc, Options{MaxWait: 5 * time.Minute})

	rec := serve(e, http.MethodPost, "/v1/sessions?wait=5m", `{"user":"alice"}`)

	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body: %s", rec.Code, rec.Body)
	}
	if got := svc.Calls()[0].Wait; got != 5*time.Minute {
		t.Errorf("wait = %s, want 5m", got)
	}
}

func TestHealthz(t *testing.T) {
	e := newTestServer(t, &fakeService{}, Options{})

	rec := serve(e, http.MethodGet, "/healthz", "")

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	if got := decodeJSON[map[string]string](t, rec.Body.Bytes()); got["status"] != "ok" {
		t.Errorf("body = %v, want status ok", got)
	}
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name       string
		readiness  actors.Readiness
		wantStatus int
	}{
		{
			name:       "ready",
			readiness:  actors.Readiness{Ready: true, DockerReachable: true, PoolAlive: true, Mode: "async", Workers: 20},
			wantStatus: http.StatusOK,
		},
		{
			name:       "docker unreachable",
			readiness:  actors.Readiness{DockerError: "connection refused", PoolAlive: true, Mode: "async"},
			wantStatus: http.StatusServiceUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestServer(t, &fakeService{readiness: tt.readiness}, Options{})

			rec := serve(e, http.MethodGet, "/readyz", "")

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := decodeJSON[actors.Readiness](t, rec.Body.Bytes()); got != tt.readiness {
				t.Errorf("body = %+v, want %+v", got, tt.readiness)
			}
		})
	}
}

func sampleTree() actors.TreeNode {
	return actors.TreeNode{
		Name: "root", PID: "nonhost/$1", Kind: "root", State: "running",
		Children: []actors.TreeNode{
			{
				Name: "sessions", PID: "nonhost/$2", Kind: "supervisor", State: "running",
				Children: []actors.TreeNode{
					{Name: "session/abc", PID: "nonhost/$4", Kind: "session", State: "ready", Restarts: 2},
				},
			},
			{Name: "docker", PID: "nonhost/$3", Kind: "pool", State: "degraded mode"},
		},
	}
}

func TestTreeJSON(t *testing.T) {
	svc := &fakeService{tree: func() (actors.TreeNode, error) { return sampleTree(), nil }}
	e := newTestServer(t, svc, Options{})

	for _, target := range []string{"/admin/tree", "/admin/tree?format=json"} {
		t.Run(target, func(t *testing.T) {
			rec := serve(e, http.MethodGet, target, "")

			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body: %s", rec.Code, rec.Body)
			}
			if got := decodeJSON[actors.TreeNode](t, rec.Body.Bytes()); !reflect.DeepEqual(got, sampleTree()) {
				t.Errorf("tree = %+v, want %+v", got, sampleTree())
			}
		})
	}
}

func TestTreeText(t *testing.T) {
	svc := &fakeService{tree: func() (actors.TreeNode, error) { return sampleTree(), nil }}
	e := newTestServer(t, svc, Options{})

	rec := serve(e, http.MethodGet, "/admin/tree?format=text", "")

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", got)
	}
	want := `root kind=root state=running restarts=0 pid=nonhost/$1
  sessions kind=supervisor state=running restarts=0 pid=nonhost/$2
    session/abc kind=session state=ready restarts=2 pid=nonhost/$4
  docker kind=pool state="degraded mode" restarts=0 pid=nonhost/$3
`
	if got := rec.Body.String(); got != want {
		t.Errorf("text tree =\n%s\nwant\n%s", got, want)
	}
}

func TestTreeTextShowsDetails(t *testing.T) {
	got := formatTree(actors.TreeNode{Name: "docker", Kind: "DockerPool", State: "running",
		Detail: map[string]any{"limit": 4, "mode": "async", "note": "two words"}})

	want := "docker kind=DockerPool state=running restarts=0 pid=- limit=4 mode=async note=\"two words\"\n"
	if got != want {
		t.Errorf("formatTree = %q, want %q", got, want)
	}
}

func TestTreeTextEmptyFields(t *testing.T) {
	got := formatTree(actors.TreeNode{Name: "odd\nname"})

	want := "\"odd\\nname\" kind=- state=- restarts=0 pid=-\n"
	if got != want {
		t.Errorf("formatTree = %q, want %q", got, want)
	}
}

func TestTreeUnknownFormat(t *testing.T) {
	svc := &fakeService{}
	e := newTestServer(t, svc, Options{})

	rec := serve(e, http.MethodGet, "/admin/tree?format=yaml", "")

	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", rec.Code)
	}
	if detail := errorOf(t, rec.Header(), rec.Body.Bytes()); detail.Field != "format" {
		t.Errorf("field = %q, want format", detail.Field)
	}
	if len(svc.Calls()) != 0 {
		t.Errorf("service was called: %+v", svc.Calls())
	}
}
