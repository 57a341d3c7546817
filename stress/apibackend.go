package stress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes caps how much of a response body the harness reads. A
// list of a few thousand sessions fits.
const maxResponseBytes = 16 << 20

// Session states of the sessiond API that the harness acts on.
const (
	stateReady    = "ready"
	stateStopping = "stopping"
	stateStopped  = "stopped"
	stateFailed   = "failed"
)

// sessionInfo is the part of the API's session object that the harness reads.
type sessionInfo struct {
	ID        string `json:"id"`
	User      string `json:"user"`
	State     string `json:"state"`
	LastError string `json:"last_error"`
}

type sessionList struct {
	Sessions []sessionInfo `json:"sessions"`
	Count    int           `json:"count"`
}

type createBody struct {
	User  string `json:"user"`
	Image string `json:"image,omitempty"`
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// apiBackend runs sessions through the sessiond HTTP API.
type apiBackend struct {
	base   *url.URL
	token  string
	image  string
	client *http.Client
	rec    *recorder

	timeout      time.Duration
	createWait   time.Duration
	deleteWait   time.Duration
	pollInterval time.Duration
	// userPrefix starts the name of every user of this run, so that the
	// sweep finds the run's sessions and no one else's.
	userPrefix string
}

var _ backend = (*apiBackend)(nil)

func newAPIBackend(opts options, runID string, rec *recorder) *apiBackend {
	// One idle connection per worker and probe keeps connection setup out of
	// the measured latencies. Proxies from the environment are ignored
	// because a proxy would add its own latency to every figure.
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: opts.timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        opts.workers + 8,
		MaxIdleConnsPerHost: opts.workers + 8,
		IdleConnTimeout:     90 * time.Second,
	}
	return &apiBackend{
		base:         opts.target,
		token:        opts.token,
		image:        opts.image,
		client:       &http.Client{Transport: transport},
		rec:          rec,
		timeout:      opts.timeout,
		createWait:   opts.createWait,
		deleteWait:   min(opts.wait, maxServerWait),
		pollInterval: opts.pollInterval,
		userPrefix:   userPrefix(runID),
	}
}

func (b *apiBackend) close() { b.client.CloseIdleConnections() }

// do sends one request and decodes a 2xx body into out. It returns the
// status code, or an *apiError for a 4xx or 5xx response. wait is the ?wait
// that the request sends, and the request may take that long plus the
// timeout.
func (b *apiBackend) do(ctx context.Context, method, path string, query url.Values, body any, wait time.Duration, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+b.timeout)
	defer cancel()

	endpoint := b.base.JoinPath(path)
	endpoint.RawQuery = query.Encode()

	var reader io.Reader
	if body != nil {
		payload, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode request body: %w", err)
		}
		reader = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint.String(), reader)
	if err != nil {
		return 0, fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}

	resp, err := b.client.Do(req)
	if err != nil {
		return 0, transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return resp.StatusCode, transportError(ctx, fmt.Errorf("%s %s: read response: %w", method, path, err))
	}

	if resp.StatusCode >= 400 {
		return resp.StatusCode, newAPIError(resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, newKindError(kindBadResponse, "%s %s: decode %d response: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

// transportError tags a failed round trip as a timeout when the request's
// own time limit ran out, and as a transport error otherwise. The client's
// *url.Error already names the method and URL.
func transportError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &kindError{kind: kindTimeout, err: err}
	}
	return &kindError{kind: kindTransport, err: err}
}

func newAPIError(resp *http.Response, data []byte) *apiError {
	apiErr := &apiError{status: resp.StatusCode}
	var body errorBody
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		apiErr.code = body.Error.Code
		apiErr.message = body.Error.Message
	} else {
		apiErr.message = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	// sessiond sends Retry-After in seconds. The HTTP-date form is ignored
	// because sessiond does not send it.
	if seconds, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && seconds > 0 {
		apiErr.retryAfter = time.Duration(seconds) * time.Second
	}
	return apiErr
}

func isNotFound(err error) bool {
	var api *apiError
	return errors.As(err, &api) && api.status == http.StatusNotFound
}

// check requires GET /healthz to return 200, then lists sessions once so
// that a missing or wrong token is found before the workload starts.
func (b *apiBackend) check(ctx context.Context) error {
	if _, err := b.do(ctx, http.MethodGet, "/healthz", nil, nil, 0, nil); err != nil {
		return fmt.Errorf("sessiond at %s does not respond: %w", b.base, err)
	}
	query := url.Values{"user": {b.userPrefix + "check"}}
	if _, err := b.do(ctx, http.MethodGet, "/v1/sessions", query, nil, 0, nil); err != nil {
		return fmt.Errorf("sessiond at %s rejected GET /v1/sessions: %w", b.base, err)
	}
	return nil
}

func (b *apiBackend) create(ctx context.Context, s *session) error {
	query := url.Values{}
	if b.createWait > 0 {
		query.Set("wait", b.createWait.String())
	}
	var info sessionInfo
	status, err := b.do(ctx, http.MethodPost, "/v1/sessions", query, createBody{User: s.user, Image: b.image}, b.createWait, &info)
	if err != nil {
		return err
	}
	if info.ID == "" {
		return newKindError(kindBadResponse, "POST /v1/sessions: %d response has no session id", status)
	}
	s.id = info.ID
	switch info.State {
	case stateReady:
		s.ready = true
	case stateFailed, stateStopping, stateStopped:
		return newKindError(kindSessionFailed, "session %s is %s after create: %s", s.id, info.State, info.LastError)
	}
	return nil
}

// waitReady polls GET /v1/sessions/{id} every poll interval and records
// each poll as a get. Failed polls are retried until ctx ends, except 404
// and other 4xx responses, which end the wait.
func (b *apiBackend) waitReady(ctx context.Context, s *session) error {
	lastState := "unknown"
	for {
		if !sleep(ctx, b.pollInterval) {
			return newKindError(kindReadyTimeout, "session %s not ready in time, last state %s", s.id, lastState)
		}
		start := time.Now()
		info, err := b.get(ctx, s.id)
		if ctx.Err() != nil {
			// The wait ran out during the poll. Such a poll does not measure
			// the latency of GET, so it is not recorded.
			return newKindError(kindReadyTimeout, "session %s not ready in time, last state %s", s.id, lastState)
		}
		b.rec.record(opGet, time.Since(start), err)
		var api *apiError
		if errors.As(err, &api) && api.status < 500 {
			return err
		}
		if err != nil {
			continue
		}
		lastState = info.State
		switch info.State {
		case stateReady:
			return nil
		case stateFailed, stateStopping, stateStopped:
			return newKindError(kindSessionFailed, "session %s is %s: %s", s.id, info.State, info.LastError)
		}
	}
}

func (b *apiBackend) get(ctx context.Context, id string) (sessionInfo, error) {
	var info sessionInfo
	_, err := b.do(ctx, http.MethodGet, "/v1/sessions/"+url.PathEscape(id), nil, nil, 0, &info)
	return info, err
}

func (b *apiBackend) poll(ctx context.Context, s *session) error {
	info, err := b.get(ctx, s.id)
	if err != nil {
		return err
	}
	if info.State != stateReady {
		return newKindError(kindSessionFailed, "session %s is %s while held: %s", s.id, info.State, info.LastError)
	}
	return nil
}

// delete sends DELETE with ?wait and, when sessiond replies 202 because the
// session is still stopping, polls until it is stopped or failed. A session
// that is already gone (404) counts as deleted.
func (b *apiBackend) delete(ctx context.Context, s *session) error {
	query := url.Values{"wait": {b.deleteWait.String()}}
	var info sessionInfo
	status, err := b.do(ctx, http.MethodDelete, "/v1/sessions/"+url.PathEscape(s.id), query, nil, b.deleteWait, &info)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if status == http.StatusOK || isTerminal(info.State) {
		return nil
	}

	for {
		if !sleep(ctx, b.pollInterval) {
			return newKindError(kindDeleteTimeout, "session %s not stopped in time, last state %s", s.id, info.State)
		}
		info, err = b.get(ctx, s.id)
		switch {
		case isNotFound(err):
			return nil
		case ctx.Err() != nil:
			return newKindError(kindDeleteTimeout, "session %s not stopped in time, last state %s", s.id, info.State)
		case err == nil && isTerminal(info.State):
			return nil
		}
	}
}

func isTerminal(state string) bool { return state == stateStopped || state == stateFailed }

// release sends DELETE without ?wait, so sessiond stops the session in the
// background.
func (b *apiBackend) release(ctx context.Context, s *session) error {
	_, err := b.do(ctx, http.MethodDelete, "/v1/sessions/"+url.PathEscape(s.id), nil, nil, 0, nil)
	if isNotFound(err) {
		return nil
	}
	return err
}

// sweep lists all sessions and releases those of this run's users that are
// neither stopping nor finished.
func (b *apiBackend) sweep(ctx context.Context) (removed, remaining int, err error) {
	var list sessionList
	if _, err := b.do(ctx, http.MethodGet, "/v1/sessions", nil, nil, 0, &list); err != nil {
		return 0, 0, fmt.Errorf("list sessions: %w", err)
	}
	var errs []error
	for _, info := range list.Sessions {
		if !strings.HasPrefix(info.User, b.userPrefix) || isTerminal(info.State) || info.State == stateStopping {
			continue
		}
		if err := b.release(ctx, &session{id: info.ID}); err != nil {
			remaining++
			errs = append(errs, fmt.Errorf("delete session %s: %w", info.ID, err))
			continue
		}
		removed++
	}
	return removed, remaining, errors.Join(errs...)
}

func (b *apiBackend) probes() []probe {
	return []probe{
		{name: "probe_healthz", do: func(ctx context.Context) error {
			_, err := b.do(ctx, http.MethodGet, "/healthz", nil, nil, 0, nil)
			return err
		}},
		{name: "probe_list", do: func(ctx context.Context) error {
			_, err := b.do(ctx, http.MethodGet, "/v1/sessions", nil, nil, 0, nil)
			return err
		}},
	}
}

func (b *apiBackend) descriptions() map[string]string {
	return map[string]string{
		opCreate:        "POST /v1/sessions until its 201 or 202 response",
		opReady:         "from sending POST until the session is ready (201, or state ready in a GET)",
		opGet:           "GET /v1/sessions/{id}, while waiting for ready and while holding",
		opDelete:        "DELETE /v1/sessions/{id} until the session is stopped",
		opCycle:         "from sending POST until the session is deleted",
		"probe_healthz": "GET /healthz repeated while the workload runs",
		"probe_list":    "GET /v1/sessions repeated while the workload runs",
	}
}

// userPrefix starts every user name of the run with id.
func userPrefix(runID string) string { return "stress-" + runID + "-" }

// sleep waits for d or until ctx ends, and reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
