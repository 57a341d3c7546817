// Package faultproxy is an HTTP proxy for the Docker Engine API that tests
// put between sessiond and the daemon. It listens on 127.0.0.1 and forwards
// every request to the daemon. On command it delays, fails, drops or holds
// back the requests that a Fault matches, or goes down so that connections
// are refused as they are when the daemon is unreachable.
//
// Responses stream through as the daemon writes them, so the long-lived
// GET /events stream works. Hijacked connections (attach, exec) are not
// tested.
package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultTarget is the daemon address that New uses for an empty target.
const DefaultTarget = "unix:///var/run/docker.sock"

// maxRequests bounds the request log that Requests returns. The oldest
// entries are dropped first.
const maxRequests = 10000

// ErrClosed is returned by SetDown after Close.
var ErrClosed = errors.New("faultproxy: proxy is closed")

// errAborted makes handleForwardError close the client connection without
// a response.
var errAborted = errors.New("faultproxy: request aborted")

// failError is the response of an ActionFail applied after the daemon
// responded.
type failError struct {
	status  int
	message string
}

func (e *failError) Error() string { return fmt.Sprintf("faultproxy: injected status %d", e.status) }

// discardLogger silences net/http's own logs, because the proxy cuts
// connections and streams on purpose and the server and the forwarder would
// log each cut as an error.
var discardLogger = log.New(io.Discard, "", 0)

// Proxy forwards Docker Engine API requests from 127.0.0.1 to a daemon and
// injects faults into them. It is safe for concurrent use.
type Proxy struct {
	target    string
	addr      string // host:port, the same for the proxy's whole life
	transport *http.Transport
	forwarder *httputil.ReverseProxy

	// closeCtx ends on Close. Each period in which the proxy is up has a
	// context derived from it that ends when the proxy goes down, and every
	// request's context derives from that one.
	closeCtx    context.Context
	closeCancel context.CancelFunc

	// handlers counts the Serve goroutines and the requests in flight, so
	// that Close can wait for all of them.
	handlers sync.WaitGroup

	mu         sync.Mutex
	server     *http.Server // nil while down or closed
	upCancel   context.CancelFunc
	down       bool
	closed     bool
	active     []*fault // faults that still match, in the order injected
	faultsByID map[FaultID]*fault
	lastID     FaultID
	requests   []*Request
}

// Request is one request that the proxy received.
type Request struct {
	Method string
	// Path is the URL path without the query, such as
	// /v1.41/containers/create.
	Path string
	// Fault is the ID of the fault applied to the request, or 0.
	Fault FaultID
	// UpstreamStatus is the daemon's status code, or 0 while the daemon
	// has not responded or when the request never reached it.
	UpstreamStatus int
	// Status is the status code sent to the client, or 0 while none is
	// sent yet or when the connection was closed without a response.
	Status int
}

// requestState travels in the forwarded request's context from serveHTTP
// to the forwarder's hooks.
type requestState struct {
	fault  *fault
	record *Request
}

type requestStateKey struct{}

// New starts a proxy on 127.0.0.1 with a port the system chooses, in front
// of the daemon at target: unix:///path/to/docker.sock or tcp://host:port
// (plain HTTP, no TLS). An empty target means DefaultTarget. New does not
// check that the daemon is reachable. Requests that cannot reach it get 502.
func New(target string) (*Proxy, error) {
	if target == "" {
		target = DefaultTarget
	}
	network, address, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen on 127.0.0.1: %w", err)
	}

	p := &Proxy{
		target:     target,
		addr:       listener.Addr().String(),
		faultsByID: make(map[FaultID]*fault),
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	p.transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, address)
		},
		MaxIdleConns:        32,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	// The host name only fills the URL: every connection goes to target.
	upstream := &url.URL{Scheme: "http", Host: "docker"}
	p.forwarder = &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(upstream) },
		Transport: p.transport,
		// Flush after every write, so that each event of GET /events
		// reaches the client when the daemon sends it.
		FlushInterval:  -1,
		ModifyResponse: p.afterResponse,
		ErrorHandler:   p.handleForwardError,
		ErrorLog:       discardLogger,
	}
	p.closeCtx, p.closeCancel = context.WithCancel(context.Background())

	p.mu.Lock()
	p.serveLocked(listener)
	p.mu.Unlock()
	return p, nil
}

func parseTarget(target string) (network, address string, err error) {
	scheme, rest, _ := strings.Cut(target, "://")
	if rest != "" && (scheme == "unix" || scheme == "tcp") {
		return scheme, rest, nil
	}
	return "", "", fmt.Errorf("faultproxy: invalid target %q: want unix:///path/to/docker.sock or tcp://host:port", target)
}

// Addr returns the proxy's address in DOCKER_HOST form, such as
// tcp://127.0.0.1:40321. It stays the same while the proxy is down.
func (p *Proxy) Addr() string {
	return "tcp://" + p.addr
}

// serveLocked serves HTTP on listener until the proxy goes down or closes.
func (p *Proxy) serveLocked(listener net.Listener) {
	upCtx, upCancel := context.WithCancel(p.closeCtx)
	server := &http.Server{
		Handler:     http.HandlerFunc(p.serveHTTP),
		BaseContext: func(net.Listener) context.Context { return upCtx },
		ErrorLog:    discardLogger,
	}
	p.server, p.upCancel = server, upCancel
	p.handlers.Add(1)
	go func() {
		defer p.handlers.Done()
		// Serve returns http.ErrServerClosed once the proxy goes down or
		// closes. NOTE: any other error also ends serving, without a
		// report, until the next SetDown(false).
		_ = server.Serve(listener)
	}()
}

// SetDown(true) makes the daemon unreachable through the proxy. The proxy
// stops listening, so new connections are refused, and it closes every open
// connection, which ends requests in flight and held requests without a
// response. SetDown(false) listens on the same address again. Setting the
// state the proxy is already in does nothing. SetDown returns ErrClosed
// after Close, and an error when the address cannot be bound again.
func (p *Proxy) SetDown(down bool) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if down == p.down {
		p.mu.Unlock()
		return nil
	}
	if !down {
		defer p.mu.Unlock()
		// NOTE: another socket may take the port while the proxy is down;
		// the kernel picks free ports for outgoing connections from the
		// same range. Listen then fails with EADDRINUSE.
		listener, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("faultproxy: listen on %s again: %w", p.addr, err)
		}
		p.down = false
		p.serveLocked(listener)
		return nil
	}

	p.down = true
	server, upCancel := p.server, p.upCancel
	p.server, p.upCancel = nil, nil
	p.mu.Unlock()
	// Close the server first: it closes the listener and every client
	// connection, so a handler that ends when upCancel fires finds no
	// live client to respond to.
	_ = server.Close()
	upCancel()
	p.transport.CloseIdleConnections()
	return nil
}

// Close stops the proxy, ends every request in flight without a response,
// and returns once all of the proxy's goroutines have ended. Faults stay
// readable through Matched, and the log through Requests. Close is safe to
// call more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	server, upCancel := p.server, p.upCancel
	p.server, p.upCancel = nil, nil
	p.mu.Unlock()

	if server != nil {
		_ = server.Close()
		upCancel()
	}
	// Ends the contexts of every up period, so held requests and streams
	// of an earlier period end as well.
	p.closeCancel()
	p.handlers.Wait()
	p.transport.CloseIdleConnections()
}

// Requests returns the requests received so far, oldest first, at most the
// latest 10000.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Request, len(p.requests))
	for i, r := range p.requests {
		out[i] = *r
	}
	return out
}

// serveHTTP applies the matching fault, if any, and forwards the request.
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	p.handlers.Add(1)
	f := p.matchLocked(r)
	record := p.recordLocked(r, f)
	p.mu.Unlock()
	defer p.handlers.Done()

	if f != nil && !f.spec.AfterResponse {
		switch f.spec.Action {
		case ActionFail:
			p.setStatus(record, f.spec.Status)
			writeDockerError(w, f.spec.Status, f.spec.Message)
			return
		case ActionDrop:
			// Closes the connection without writing anything.
			panic(http.ErrAbortHandler)
		case ActionDelay, ActionHang:
			// net/http notices that a client went away only once the
			// request body is read, so read it before holding the request.
			// Docker API bodies that tests hold are small JSON documents.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if !hold(r.Context(), f) {
				panic(http.ErrAbortHandler)
			}
		}
	}

	ctx := context.WithValue(r.Context(), requestStateKey{}, &requestState{fault: f, record: record})
	p.forwarder.ServeHTTP(w, r.WithContext(ctx))
}

// afterResponse runs when the daemon has responded and before the
// response goes to the client. It applies a fault with AfterResponse set. An error
// makes the forwarder close the daemon's response and call
// handleForwardError.
func (p *Proxy) afterResponse(resp *http.Response) error {
	state := resp.Request.Context().Value(requestStateKey{}).(*requestState)
	p.setUpstreamStatus(state.record, resp.StatusCode)

	if f := state.fault; f != nil && f.spec.AfterResponse {
		switch f.spec.Action {
		case ActionFail:
			return &failError{status: f.spec.Status, message: f.spec.Message}
		case ActionDrop:
			return errAborted
		case ActionDelay, ActionHang:
			if !hold(resp.Request.Context(), f) {
				return errAborted
			}
		}
	}
	p.setStatus(state.record, resp.StatusCode)
	return nil
}

// handleForwardError responds to a request that the daemon did not respond
// to, or whose response a fault replaced or suppressed.
func (p *Proxy) handleForwardError(w http.ResponseWriter, r *http.Request, err error) {
	state := r.Context().Value(requestStateKey{}).(*requestState)
	var fail *failError
	switch {
	case errors.As(err, &fail):
		p.setStatus(state.record, fail.status)
		writeDockerError(w, fail.status, fail.message)
	case errors.Is(err, errAborted), r.Context().Err() != nil:
		// A dropped request, or one whose client went away or whose proxy
		// went down, has no client left to read a response.
		panic(http.ErrAbortHandler)
	default:
		p.setStatus(state.record, http.StatusBadGateway)
		writeDockerError(w, http.StatusBadGateway, fmt.Sprintf("faultproxy: forward to %s: %v", p.target, err))
	}
}

// hold waits for f.spec.Delay with ActionDelay, or until f is cleared with
// ActionHang. It returns false when ctx ends first, because
// the client went away or the proxy went down or closed.
func hold(ctx context.Context, f *fault) bool {
	var timeout <-chan time.Time
	var released <-chan struct{}
	if f.spec.Action == ActionDelay {
		timer := time.NewTimer(f.spec.Delay)
		defer timer.Stop()
		timeout = timer.C
	} else {
		released = f.released
	}
	select {
	case <-ctx.Done():
	case <-timeout:
	case <-released:
	}
	// When the fault was cleared as ctx ended, ending wins.
	return ctx.Err() == nil
}

// writeDockerError writes an error the way the daemon does: a JSON body
// {"message": "..."}, which Docker's client turns into its error text.
func writeDockerError(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func (p *Proxy) recordLocked(r *http.Request, f *fault) *Request {
	record := &Request{Method: r.Method, Path: r.URL.Path}
	if f != nil {
		record.Fault = f.id
	}
	if len(p.requests) == maxRequests {
		copy(p.requests, p.requests[1:])
		p.requests = p.requests[:maxRequests-1]
	}
	p.requests = append(p.requests, record)
	return record
}

func (p *Proxy) setStatus(record *Request, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	record.Status = status
}

func (p *Proxy) setUpstreamStatus(record *Request, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	record.UpstreamStatus = status
}
