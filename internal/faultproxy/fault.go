package faultproxy

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// Action is the effect of a Fault on the requests it matches.
type Action int

const (
	// ActionDelay waits for Fault.Delay, then lets the request go on.
	ActionDelay Action = iota + 1
	// ActionFail responds with Fault.Status and a Docker-style JSON body
	// {"message": Fault.Message}.
	ActionFail
	// ActionDrop closes the client connection without a response.
	ActionDrop
	// ActionHang sends no response until the fault is cleared, the proxy
	// goes down or closes, or the client gives up. After Clear the request
	// goes on as if the fault had never matched it.
	ActionHang
)

// String returns the action's name, such as "hang".
func (a Action) String() string {
	switch a {
	case ActionDelay:
		return "delay"
	case ActionFail:
		return "fail"
	case ActionDrop:
		return "drop"
	case ActionHang:
		return "hang"
	default:
		return fmt.Sprintf("Action(%d)", int(a))
	}
}

// Fault selects requests by method and path and names the action to take
// on them. When several faults match a request, the one injected first is
// applied and the others neither act nor count the request.
type Fault struct {
	// Method matches the request method exactly, such as "POST". Empty
	// matches every method.
	Method string
	// Path is matched against the request's URL path, without the query.
	// It is not anchored, so anchor it with ^ and $ where needed:
	// `^/v[0-9.]+/containers/create$` matches Docker's create endpoint at
	// any API version. Nil matches every path.
	Path *regexp.Regexp

	Action Action
	// Delay is the wait of ActionDelay; it must be positive for that
	// action. Clear does not cut a running delay short.
	Delay time.Duration
	// Status is the HTTP status of ActionFail, from 400 to 599. Zero
	// means 500, which Docker's client reports as a daemon error.
	Status int
	// Message is the "message" of ActionFail's JSON body. Empty means a
	// message naming the proxy and the status.
	Message string

	// Times is how many matching requests the fault applies to before it
	// stops matching. Zero means every matching request until Clear.
	Times int
	// AfterResponse applies the action after the daemon has responded, so
	// the daemon carries the request out but the client sees the fault:
	// ActionDelay delays the daemon's response, ActionHang holds it back,
	// ActionDrop closes the connection instead of sending it and
	// ActionFail replaces it. When false, the action happens before the
	// request reaches the daemon, and ActionFail and ActionDrop keep it
	// from reaching the daemon at all.
	AfterResponse bool
}

// FaultID identifies an injected fault. IDs start at 1.
type FaultID uint64

// validate checks f and fills in the defaults of ActionFail.
func (f *Fault) validate() error {
	switch f.Action {
	case ActionDelay:
		if f.Delay <= 0 {
			return fmt.Errorf("delay fault needs a positive Delay, got %s", f.Delay)
		}
	case ActionFail:
		if f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		if f.Status < 400 || f.Status > 599 {
			return fmt.Errorf("fail fault needs a Status from 400 to 599, got %d", f.Status)
		}
		if f.Message == "" {
			f.Message = fmt.Sprintf("faultproxy: injected %d %s", f.Status, http.StatusText(f.Status))
		}
	case ActionDrop, ActionHang:
	default:
		return fmt.Errorf("unknown fault action %s", f.Action)
	}
	if f.Times < 0 {
		return fmt.Errorf("fault Times must be 0 (until cleared) or positive, got %d", f.Times)
	}
	return nil
}

// fault is an injected Fault with its state. The proxy's mutex guards
// remaining, matched and cleared.
type fault struct {
	id   FaultID
	spec Fault
	// remaining counts the matches left when spec.Times is positive.
	remaining int
	matched   int
	cleared   bool
	// released is closed by Clear and Close to free the requests that
	// ActionHang holds.
	released chan struct{}
}

func (f *fault) matches(r *http.Request) bool {
	if f.spec.Method != "" && f.spec.Method != r.Method {
		return false
	}
	return f.spec.Path == nil || f.spec.Path.MatchString(r.URL.Path)
}

// release frees the requests that the fault holds. It is safe to call more
// than once.
func (f *fault) release() {
	if !f.cleared {
		f.cleared = true
		close(f.released)
	}
}

// Inject adds a fault that applies to the requests that arrive from now on
// and returns its ID for Clear and Matched. It panics on an invalid fault,
// such as ActionDelay without a Delay, because that is a mistake in the
// calling test and not a condition to handle.
func (p *Proxy) Inject(spec Fault) FaultID {
	if err := spec.validate(); err != nil {
		panic("faultproxy: " + err.Error())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastID++
	f := &fault{id: p.lastID, spec: spec, remaining: spec.Times, released: make(chan struct{})}
	p.faultsByID[f.id] = f
	if p.closed {
		// A fault injected after Close never matches and holds nothing.
		f.release()
		return f.id
	}
	p.active = append(p.active, f)
	return f.id
}

// Clear removes the fault so that it matches no more requests, and lets
// the requests it holds with ActionHang go on. Clearing an unknown or
// already cleared fault does nothing. Matched still reports the fault's
// count afterwards.
func (p *Proxy) Clear(id FaultID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.faultsByID[id]
	if !ok {
		return
	}
	p.removeActiveLocked(f)
	f.release()
}

// ClearAll clears every fault injected so far.
func (p *Proxy) ClearAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.faultsByID {
		f.release()
	}
	p.active = nil
}

// Matched returns how many requests the fault has been applied to so far,
// counted when each request arrives. It returns 0 for an unknown ID.
func (p *Proxy) Matched(id FaultID) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.faultsByID[id]; ok {
		return f.matched
	}
	return 0
}

// matchLocked returns the first active fault that matches r and counts the
// match, or returns nil. A fault whose Times are used up leaves the active
// list.
func (p *Proxy) matchLocked(r *http.Request) *fault {
	for _, f := range p.active {
		if !f.matches(r) {
			continue
		}
		f.matched++
		if f.spec.Times > 0 {
			f.remaining--
			if f.remaining == 0 {
				p.removeActiveLocked(f)
			}
		}
		return f
	}
	return nil
}

func (p *Proxy) removeActiveLocked(f *fault) {
	for i, active := range p.active {
		if active == f {
			p.active = slices.Delete(p.active, i, i+1)
			return
		}
	}
}
