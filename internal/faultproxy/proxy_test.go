package faultproxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const createPath = "/v1.41/containers/create"

var createPattern = regexp.MustCompile(`^/v[0-9.]+/containers/create$`)

// fakeDaemon replaces the Docker daemon in unit tests. It counts requests,
// responds to POST .../containers/create with 201, streams the lines sent
// to events on GET .../events, and responds to everything else with 200.
type fakeDaemon struct {
	events chan string

	mu        sync.Mutex
	hits      map[string]int       // by "METHOD path"
	firstHit  map[string]time.Time // by "METHOD path"
	lastBody  string
	eventsOut int // event streams open
}

func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	d.mu.Lock()
	d.hits[key]++
	if _, ok := d.firstHit[key]; !ok {
		d.firstHit[key] = time.Now()
	}
	d.lastBody = string(body)
	d.mu.Unlock()

	switch {
	case strings.HasSuffix(r.URL.Path, "/events"):
		d.streamEvents(w, r)
	case r.Method == http.MethodPost && createPattern.MatchString(r.URL.Path):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"Id":"c1","Warnings":[]}`+"\n")
	default:
		_, _ = io.WriteString(w, "OK")
	}
}

func (d *fakeDaemon) streamEvents(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.eventsOut++
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.eventsOut--
		d.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	for {
		select {
		case line := <-d.events:
			_, _ = io.WriteString(w, line+"\n")
			http.NewResponseController(w).Flush()
		case <-r.Context().Done():
			return
		}
	}
}

func (d *fakeDaemon) hitCount(method, path string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hits[method+" "+path]
}

func (d *fakeDaemon) firstHitAt(method, path string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.firstHit[method+" "+path]
}

func (d *fakeDaemon) openStreams() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.eventsOut
}

// startDaemon serves a fakeDaemon on a unix socket in a temporary
// directory and returns it with its address for New.
func startDaemon(t *testing.T) (*fakeDaemon, string) {
	t.Helper()
	d := &fakeDaemon{events: make(chan string), hits: map[string]int{}, firstHit: map[string]time.Time{}}
	socket := filepath.Join(t.TempDir(), "d.sock")
	listener, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatalf("listen on %s: %v", socket, err)
	}
	server := httptest.NewUnstartedServer(d)
	server.Listener.Close()
	server.Listener = listener
	server.Start()
	t.Cleanup(server.Close)
	return d, "unix://" + socket
}

// startProxy starts a proxy in front of target and closes it when the
// test ends.
func startProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatalf("New(%q): %v", target, err)
	}
	t.Cleanup(p.Close)
	return p
}

// testClient sends requests to a proxy over its own connection pool.
type testClient struct {
	base   string
	client *http.Client
}

func newTestClient(t *testing.T, p *Proxy) *testClient {
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	return &testClient{
		base:   "http://" + strings.TrimPrefix(p.Addr(), "tcp://"),
		client: &http.Client{Transport: transport},
	}
}

// result is a response, or the error that took its place.
type result struct {
	status int
	body   string
	err    error
}

func (c *testClient) do(ctx context.Context, method, path, body string) result {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(data), err: err}
}

// start sends a request on a goroutine and returns the channel that
// receives its result.
func (c *testClient) start(ctx context.Context, method, path, body string) <-chan result {
	out := make(chan result, 1)
	go func() { out <- c.do(ctx, method, path, body) }()
	return out
}

func dockerMessage(t *testing.T, body string) string {
	t.Helper()
	var msg struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		t.Fatalf("error body %q is not Docker's JSON: %v", body, err)
	}
	return msg.Message
}

// waitFor polls cond every 10ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewRejectsInvalidTarget(t *testing.T) {
	for _, target := range []string{"/var/run/docker.sock", "unix://", "http://127.0.0.1:2375", "npipe:////./pipe/docker_engine"} {
		t.Run(target, func(t *testing.T) {
			p, err := New(target)
			if err == nil {
				p.Close()
				t.Fatalf("New(%q) succeeded, want an error", target)
			}
			if !strings.Contains(err.Error(), "invalid target") {
				t.Errorf("error %q does not say the target is invalid", err)
			}
		})
	}
}

func TestForwardsRequestAndResponse(t *testing.T) {
	daemon, target := startDaemon(t)
	p := startProxy(t, target)
	c := newTestClient(t, p)

	res := c.do(context.Background(), http.MethodPost, createPath+"?name=abc", `{"Image":"x"}`)
	if res.err != nil {
		t.Fatalf("create through proxy: %v", res.err)
	}
	if res.status != http.StatusCreated {
		t.Errorf("status = %d, want 201", res.status)
	}
	if !strings.Contains(res.body, `"Id":"c1"`) {
		t.Errorf("body = %q, want the daemon's", res.body)
	}
	daemon.mu.Lock()
	gotBody := daemon.lastBody
	daemon.mu.Unlock()
	if gotBody != `{"Image":"x"}` {
		t.Errorf("daemon got body %q, want the client's", gotBody)
	}

	log := p.Requests()
	want := Request{Method: http.MethodPost, Path: createPath, UpstreamStatus: 201, Status: 201}
	if len(log) != 1 || log[0] != want {
		t.Errorf("Requests() = %+v, want [%+v]", log, want)
	}
}

func TestStreamsResponseAsWritten(t *testing.T) {
	daemon, target := startDaemon(t)
	p := startProxy(t, target)
	c := newTestClient(t, p)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1.41/events", nil)
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("GET events: %v", err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)

	// Each line must arrive while the daemon still holds the stream open:
	// a proxy that buffered the body would block here until the 10s
	// context ends.
	for _, event := range []string{`{"status":"create"}`, `{"status":"start"}`} {
		daemon.events <- event
		if !lines.Scan() {
			t.Fatalf("stream ended before %s: %v", event, lines.Err())
		}
		if lines.Text() != event {
			t.Errorf("stream line = %q, want %q", lines.Text(), event)
		}
	}
}

func TestFaultActions(t *testing.T) {
	const delay = 300 * time.Millisecond
	cases := []struct {
		name  string
		fault Fault
		// status is the client's status; 0 means the connection must fail.
		status int
		// message is the expected "message" of an error body.
		message string
		// reachesDaemon is whether the daemon must see the request.
		reachesDaemon bool
	}{
		{"fail before daemon", Fault{Action: ActionFail}, 500, "faultproxy: injected 500 Internal Server Error", false},
		{"fail after daemon", Fault{Action: ActionFail, Status: 503, Message: "daemon busy", AfterResponse: true}, 503, "daemon busy", true},
		{"drop before daemon", Fault{Action: ActionDrop}, 0, "", false},
		{"drop after daemon", Fault{Action: ActionDrop, AfterResponse: true}, 0, "", true},
		{"delay before daemon", Fault{Action: ActionDelay, Delay: delay}, 201, "", true},
		{"delay after daemon", Fault{Action: ActionDelay, Delay: delay, AfterResponse: true}, 201, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			daemon, target := startDaemon(t)
			p := startProxy(t, target)
			c := newTestClient(t, p)
			tc.fault.Method, tc.fault.Path = http.MethodPost, createPattern
			id := p.Inject(tc.fault)

			start := time.Now()
			res := c.do(context.Background(), http.MethodPost, createPath, `{}`)
			elapsed := time.Since(start)

			switch {
			case tc.status == 0 && res.err == nil:
				t.Errorf("got status %d, want a failed connection", res.status)
			case tc.status != 0 && res.err != nil:
				t.Errorf("request failed: %v, want status %d", res.err, tc.status)
			case res.status != tc.status:
				t.Errorf("status = %d, want %d", res.status, tc.status)
			}
			if tc.message != "" && res.err == nil {
				if got := dockerMessage(t, res.body); got != tc.message {
					t.Errorf("message = %q, want %q", got, tc.message)
				}
			}
			wantHits := 0
			if tc.reachesDaemon {
				wantHits = 1
			}
			if got := daemon.hitCount(http.MethodPost, createPath); got != wantHits {
				t.Errorf("daemon saw %d creates, want %d", got, wantHits)
			}
			if got := p.Matched(id); got != 1 {
				t.Errorf("Matched = %d, want 1", got)
			}

			if tc.fault.Action == ActionDelay {
				if elapsed < delay {
					t.Errorf("answered after %s, want at least the %s delay", elapsed, delay)
				}
				// Before the daemon, the delay holds the request back.
				// After it, the delay holds the daemon's response back.
				reachedAfter := daemon.firstHitAt(http.MethodPost, createPath).Sub(start)
				if tc.fault.AfterResponse && reachedAfter >= delay {
					t.Errorf("request reached the daemon after %s, want before the %s delay", reachedAfter, delay)
				}
				if !tc.fault.AfterResponse && reachedAfter < delay {
					t.Errorf("request reached the daemon after %s, want after the %s delay", reachedAfter, delay)
				}
			}
		})
	}
}

func TestHangHoldsUntilCleared(t *testing.T) {
	for _, afterResponse := range []bool{false, true} {
		name := "before daemon"
		if afterResponse {
			name = "after daemon"
		}
		t.Run(name, func(t *testing.T) {
			daemon, target := startDaemon(t)
			p := startProxy(t, target)
			c := newTestClient(t, p)
			id := p.Inject(Fault{Method: http.MethodPost, Path: createPattern, Action: ActionHang, AfterResponse: afterResponse})

			answer := c.start(context.Background(), http.MethodPost, createPath, `{}`)
			if afterResponse {
				waitFor(t, 5*time.Second, "daemon sees the held create", func() bool {
					return daemon.hitCount(http.MethodPost, createPath) == 1
				})
			}
			select {
			case res := <-answer:
				t.Fatalf("held request answered before Clear: %+v", res)
			case <-time.After(300 * time.Millisecond):
			}
			if !afterResponse {
				if got := daemon.hitCount(http.MethodPost, createPath); got != 0 {
					t.Errorf("daemon saw %d creates while the request was held before it, want 0", got)
				}
			}

			p.Clear(id)
			select {
			case res := <-answer:
				if res.err != nil || res.status != http.StatusCreated {
					t.Errorf("after Clear: status %d, error %v; want 201", res.status, res.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("held request not answered within 5s of Clear")
			}
			if got := daemon.hitCount(http.MethodPost, createPath); got != 1 {
				t.Errorf("daemon saw %d creates, want 1", got)
			}
		})
	}
}

func TestHangEndsWhenClientGivesUp(t *testing.T) {
	daemon, target := startDaemon(t)
	p := startProxy(t, target)
	c := newTestClient(t, p)
	id := p.Inject(Fault{Method: http.MethodPost, Path: createPattern, Action: ActionHang})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if res := c.do(ctx, http.MethodPost, createPath, `{"Image":"x"}`); !errors.Is(res.err, context.DeadlineExceeded) {
		t.Fatalf("held request: status %d, error %v; want the client's deadline", res.status, res.err)
	}

	// The proxy must have dropped the request when the client left: a
	// request still held would reach the daemon once the fault is cleared.
	time.Sleep(200 * time.Millisecond)
	p.Clear(id)
	time.Sleep(200 * time.Millisecond)
	if got := daemon.hitCount(http.MethodPost, createPath); got != 0 {
		t.Errorf("daemon saw %d creates after the client gave up, want 0", got)
	}
	log := p.Requests()
	if len(log) != 1 || log[0].Status != 0 || log[0].Fault != id {
		t.Errorf("Requests() = %+v, want one request with fault %d and no status", log, id)
	}
}

func TestTimesLimitsMatches(t *testing.T) {
	_, target := startDaemon(t)
	p := startProxy(t, target)
	c := newTestClient(t, p)
	id := p.Inject(Fault{Method: http.MethodPost, Path: createPattern, Action: ActionFail, Times: 2})

	for i, want := range []int{500, 500, 201, 201} {
		res := c.do(context.Background(), http.MethodPost, createPath, `{}`)
		if res.err != nil || res.status != want {
			t.Errorf("request %d: status %d, error %v; want %d", i+1, res.status, res.err, want)
		}
	}
	if got := p.Matched(id); got != 2 {
		t.Errorf("Matched = %d, want 2", got)
	}
	var faults []FaultID
	for _, r := range p.Requests() {
		faults = append(faults, r.Fault)
	}
	if want := []FaultID{id, id, 0, 0}; !equalIDs(faults, want) {
		t.Errorf("faults per request = %v, want %v", faults, want)
	}
}

func equalIDs(a, b []FaultID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMatcherSelectsMethodAndPath(t *testing.T) {
	_, target := startDaemon(t)
	p := startProxy(t, target)
	c := newTestClient(t, p)
	id := p.Inject(Fault{Method: http.MethodPost, Path: createPattern, Action: ActionFail})

	cases := []struct {
		method, path string
		matched      bool
	}{
		{http.MethodPost, "/v1.41/containers/create", true},
		{http.MethodPost, "/v1.51/containers/create?name=sessiond-x", true},
		{http.MethodGet, "/v1.41/containers/create", false},
		{http.MethodPost, "/containers/create", false},
		{http.MethodPost, "/v1.41/containers/create/extra", false},
		{http.MethodPost, "/v1.41/containers/abc/start", false},
	}
	for _, tc := range cases {
		res := c.do(context.Background(), tc.method, tc.path, `{}`)
		if res.err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, res.err)
			continue
		}
		if got := res.status == http.StatusInternalServerError; got != tc.matched {
			t.Errorf("%s %s: status %d, matched = %v, want %v", tc.method, tc.path, res.status, got, tc.matched)
		}
	}
	if got := p.Matched(id); got != 2 {
		t.Errorf("Matched = %d, want 2", got)
	}
}

func TestFirstInjectedFaultWins(t *testing.T) {
	daemon, target := startDaemon(t)
	p := startProxy(t, target)
	c := newTestClient(t, p)
	fail := p.Inject(Fault{Method: http.MethodPost, Path: createPattern, Action: ActionFail, Times: 1})
	drop := p.Inject(Fault{Path: createPattern, Action: ActionDrop, Times: 1})

	if res := c.do(context.Background(), http.MethodPost, createPath, `{}`); res.status != 500 {
		t.Errorf("first request: status %d, error %v; want 500 from the fault injected first", res.status, res.err)
	}
	if res := c.do(context.Background(), http.MethodPost, createPath, `{}`); res.err == nil {
		t.Errorf("second request: status %d, want a dropped connection", res.status)
	}
	if res := c.do(context.Background(), http.MethodPost, createPath, `{}`); res.status != 201 {
		t.Errorf("third request: status %d, error %v; want 201 once both faults are used up", res.status, res.err)
	}
	if p.Matched(fail) != 1 || p.Matched(drop) != 1 {
		t.Errorf("Matched = %d and %d, want 1 each", p.Matched(fail), p.Matched(drop))
	}
	if got := daemon.hitCount(http.MethodPost, createPath); got != 1 {
		t.Errorf("daemon saw %d creates, want 1", got)
	}
}

func TestClearStopsMatching(t *testing.T) {
	_, target := startDaemon(t)
	p := startProxy(t, target)
	c := newTestClient(t, p)
	id := p.Inject(Fault{Action: ActionFail})

	if res := c.do(context.Background(), http.MethodGet, "/_ping", ""); res.status != 500 {
		t.Errorf("before Clear: status %d, error %v; want 500", res.status, res.err)
	}
	p.Clear(id)
	p.Clear(id)
	p.Clear(id + 100)
	if res := c.do(context.Background(), http.MethodGet, "/_ping", ""); res.status != 200 {
		t.Errorf("after Clear: status %d, error %v; want 200", res.status, res.err)
	}
	if got := p.Matched(id); got != 1 {
		t.Errorf("Matched = %d after Clear, want 1", got)
	}

	p.Inject(Fault{Action: ActionFail})
	p.Inject(Fault{Action: ActionDrop})
	p.ClearAll()
	if res := c.do(context.Background(), http.MethodGet, "/_ping", ""); res.status != 200 {
		t.Errorf("after ClearAll: status %d, error %v; want 200", res.status, res.err)
	}
}

func TestDownRefusesConnections(t *testing.T) {
	daemon, target := startDaemon(t)
	p := startProxy(t, target)
	c := newTestClient(t, p)
	p.Inject(Fault{Method: http.MethodPost, Path: createPattern, Action: ActionHang, Times: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1.41/events", nil)
	stream, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("GET events: %v", err)
	}
	defer stream.Body.Close()
	heldCreate := c.start(ctx, http.MethodPost, createPath, `{}`)
	waitFor(t, 5*time.Second, "create is held", func() bool { return len(p.Requests()) == 2 })

	if err := p.SetDown(true); err != nil {
		t.Fatalf("SetDown(true): %v", err)
	}
	if _, err := io.ReadAll(stream.Body); err == nil {
		t.Error("event stream ended cleanly when the proxy went down, want an error")
	}
	if res := <-heldCreate; res.err == nil {
		t.Errorf("held request got status %d when the proxy went down, want a failed connection", res.status)
	}
	res := c.do(ctx, http.MethodGet, "/_ping", "")
	if !errors.Is(res.err, syscall.ECONNREFUSED) {
		t.Errorf("request while down: status %d, error %v; want connection refused", res.status, res.err)
	}
	if err := p.SetDown(true); err != nil {
		t.Errorf("second SetDown(true): %v", err)
	}
	// The daemon must see the cut stream too, or its connection leaks.
	waitFor(t, 5*time.Second, "daemon's event stream closes", func() bool { return daemon.openStreams() == 0 })

	if err := p.SetDown(false); err != nil {
		t.Fatalf("SetDown(false): %v", err)
	}
	if res := c.do(ctx, http.MethodGet, "/_ping", ""); res.err != nil || res.status != 200 {
		t.Errorf("request after SetDown(false): status %d, error %v; want 200", res.status, res.err)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	target := "unix://" + filepath.Join(t.TempDir(), "missing.sock")
	p := startProxy(t, target)
	c := newTestClient(t, p)

	res := c.do(context.Background(), http.MethodGet, "/_ping", "")
	if res.err != nil || res.status != http.StatusBadGateway {
		t.Fatalf("status %d, error %v; want 502", res.status, res.err)
	}
	if msg := dockerMessage(t, res.body); !strings.Contains(msg, target) {
		t.Errorf("message %q does not name the target %s", msg, target)
	}
}

func TestInjectPanicsOnInvalidFault(t *testing.T) {
	cases := []struct {
		name  string
		fault Fault
	}{
		{"no action", Fault{}},
		{"delay without duration", Fault{Action: ActionDelay}},
		{"status below 400", Fault{Action: ActionFail, Status: 200}},
		{"negative times", Fault{Action: ActionDrop, Times: -1}},
	}
	_, target := startDaemon(t)
	p := startProxy(t, target)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Inject(%+v) did not panic", tc.fault)
				}
			}()
			p.Inject(tc.fault)
		})
	}
}

func TestSetDownAfterClose(t *testing.T) {
	_, target := startDaemon(t)
	p := startProxy(t, target)
	p.Close()
	p.Close()
	if err := p.SetDown(false); !errors.Is(err, ErrClosed) {
		t.Errorf("SetDown after Close = %v, want ErrClosed", err)
	}
}

// TestCloseEndsEveryGoroutine closes the proxy while requests of every
// kind are in flight and checks that no goroutine outlives them.
func TestCloseEndsEveryGoroutine(t *testing.T) {
	daemon, target := startDaemon(t)
	before := runtime.NumGoroutine()

	p, err := New(target)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := newTestClient(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p.Inject(Fault{Method: http.MethodPost, Path: regexp.MustCompile(`/hang-before$`), Action: ActionHang})
	p.Inject(Fault{Method: http.MethodPost, Path: regexp.MustCompile(`/hang-after$`), Action: ActionHang, AfterResponse: true})
	p.Inject(Fault{Method: http.MethodPost, Path: regexp.MustCompile(`/delay$`), Action: ActionDelay, Delay: time.Hour})
	answers := []<-chan result{
		c.start(ctx, http.MethodPost, "/hang-before", `{}`),
		c.start(ctx, http.MethodPost, "/hang-after", `{}`),
		c.start(ctx, http.MethodPost, "/delay", `{}`),
		c.start(ctx, http.MethodGet, "/v1.41/events", ""),
	}
	waitFor(t, 5*time.Second, "every request reaches the proxy", func() bool { return len(p.Requests()) == 4 })
	waitFor(t, 5*time.Second, "held response arrives", func() bool { return daemon.hitCount(http.MethodPost, "/hang-after") == 1 })
	waitFor(t, 5*time.Second, "event stream opens", func() bool { return daemon.openStreams() == 1 })
	// One ordinary request, sent while every other connection is busy,
	// leaves an idle connection on each side of the proxy.
	if res := c.do(ctx, http.MethodGet, "/_ping", ""); res.status != 200 {
		t.Fatalf("ping: status %d, error %v", res.status, res.err)
	}

	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10s")
	}
	for i, answer := range answers {
		if res := <-answer; res.err == nil {
			t.Errorf("request %d got status %d after Close, want a failed connection", i, res.status)
		}
	}
	c.client.CloseIdleConnections()

	// Connections close asynchronously on the client's and the daemon's
	// side, so the count may take a moment to settle.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines after Close, %d before New:\n%s", runtime.NumGoroutine(), before, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
