package actors

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/docker"
)

// fakeEngine is an in-memory docker.Engine for actor tests. Each method
// can be delayed, failed a number of times, or held at a gate until the
// test releases it. Running containers "publish" the port of a local
// health server so that probes go to 127.0.0.1 as in production.
type fakeEngine struct {
	mu         sync.Mutex
	containers map[string]*docker.Container // by name
	calls      map[string]int
	failures   map[string][]error
	gates      map[string]chan struct{}
	entered    map[string]chan struct{}
	hostPort   int
	exitAtOnce bool
	seq        int
	events     chan docker.Event
}

func newFakeEngine(t testing.TB) *fakeEngine {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	return &fakeEngine{
		containers: map[string]*docker.Container{},
		calls:      map[string]int{},
		failures:   map[string][]error{},
		gates:      map[string]chan struct{}{},
		entered:    map[string]chan struct{}{},
		hostPort:   p,
		events:     make(chan docker.Event, 100),
	}
}

var _ docker.Engine = (*fakeEngine)(nil)

// failNext makes the next len(errs) calls of op return those errors.
func (f *fakeEngine) failNext(op string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[op] = append(f.failures[op], errs...)
}

// gate holds every call of op until release is called; entered receives a
// value each time a call reaches the gate.
func (f *fakeEngine) gate(op string) (entered <-chan struct{}, release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := make(chan struct{})
	e := make(chan struct{}, 100)
	f.gates[op] = g
	f.entered[op] = e
	var once sync.Once
	return e, func() { once.Do(func() { close(g) }) }
}

func (f *fakeEngine) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeEngine) containerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.containers)
}

// enter records a call and applies the gate and scripted failures.
func (f *fakeEngine) enter(ctx context.Context, op string) error {
	f.mu.Lock()
	f.calls[op]++
	g, e := f.gates[op], f.entered[op]
	var err error
	if errs := f.failures[op]; len(errs) > 0 {
		err, f.failures[op] = errs[0], errs[1:]
	}
	f.mu.Unlock()
	if g != nil {
		e <- struct{}{}
		select {
		case <-g:
		case <-ctx.Done():
			return &docker.Error{Kind: docker.KindTimeout, Op: op, Err: ctx.Err()}
		}
	}
	return err
}

func (f *fakeEngine) Ping(ctx context.Context) error { return f.enter(ctx, "ping") }

func (f *fakeEngine) CreateContainer(ctx context.Context, spec docker.ContainerSpec) (string, error) {
	if err := f.enter(ctx, "create"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.containers[spec.Name]; ok {
		return "", &docker.Error{Kind: docker.KindConflict, Op: "create container " + spec.Name, Err: fmt.Errorf("name in use")}
	}
	f.seq++
	c := &docker.Container{ID: fmt.Sprintf("%064d", f.seq), Name: spec.Name, Image: spec.Image, Labels: spec.Labels,
		State: "created", MemoryBytes: spec.MemoryBytes, NanoCPUs: spec.NanoCPUs, PidsLimit: spec.PidsLimit}
	f.containers[spec.Name] = c
	return c.ID, nil
}

func (f *fakeEngine) find(idOrName string) *docker.Container {
	if c, ok := f.containers[idOrName]; ok {
		return c
	}
	for _, c := range f.containers {
		if c.ID == idOrName {
			return c
		}
	}
	return nil
}

func (f *fakeEngine) StartContainer(ctx context.Context, id string) error {
	if err := f.enter(ctx, "start"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.find(id)
	if c == nil {
		return &docker.Error{Kind: docker.KindNotFound, Op: "start container " + id, Err: fmt.Errorf("no such container")}
	}
	if f.exitAtOnce {
		c.State, c.Running, c.ExitCode = "exited", false, 3
		return nil
	}
	c.State, c.Running, c.HostPort = "running", true, f.hostPort
	return nil
}

func (f *fakeEngine) InspectContainer(ctx context.Context, id string) (docker.Container, error) {
	if err := f.enter(ctx, "inspect"); err != nil {
		return docker.Container{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.find(id)
	if c == nil {
		return docker.Container{}, &docker.Error{Kind: docker.KindNotFound, Op: "inspect container " + id, Err: fmt.Errorf("no such container")}
	}
	return *c, nil
}

func (f *fakeEngine) RemoveContainer(ctx context.Context, id string) error {
	if err := f.enter(ctx, "remove"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.find(id); c != nil {
		delete(f.containers, c.Name)
	}
	return nil
}

func (f *fakeEngine) ListContainers(ctx context.Context, labels map[string]string) ([]docker.Container, error) {
	if err := f.enter(ctx, "list"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []docker.Container
	for _, c := range f.containers {
		out = append(out, *c)
	}
	return out, nil
}

func (f *fakeEngine) Events(ctx context.Context, labels map[string]string) (<-chan docker.Event, <-chan error) {
	out := make(chan docker.Event)
	errs := make(chan error, 1)
	go func() {
		defer close(out)
		defer close(errs)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-f.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, errs
}

// kill makes a running container exit as the daemon would report it.
func (f *fakeEngine) kill(name string, exitCode int) string {
	f.mu.Lock()
	c := f.containers[name]
	c.State, c.Running, c.ExitCode, c.HostPort = "exited", false, exitCode, 0
	id, labels := c.ID, c.Labels
	f.mu.Unlock()
	f.events <- docker.Event{Action: "die", ContainerID: id, Labels: labels, ExitCode: exitCode, Time: time.Now()}
	return id
}
