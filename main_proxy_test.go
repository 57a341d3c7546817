package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/docker"
	"github.com/sessiond/sessiond/internal/faultproxy"
)

// These tests put a faultproxy.Proxy between sessiond and the real Docker
// daemon, so that each daemon failure happens on demand. sessiond reaches
// the daemon only through the proxy. The tests check the daemon's state
// with their own client, which connects to the daemon directly.

// Docker settings of the proxied server: each attempt of a Docker call
// times out after proxyDockerTimeout, and a transient failure is retried
// proxyDockerRetries times, so a call makes at most 3 attempts.
const (
	proxyDockerTimeout = 2 * time.Second
	proxyDockerRetries = 2
	proxyRetryBackoff  = 50 * time.Millisecond
)

// createPath matches Docker's container create endpoint at any API version.
var createPath = regexp.MustCompile(`^/v[0-9.]+/containers/create$`)

// startProxiedServer starts a fault proxy in front of the local daemon and
// sessiond behind it, with short Docker timeouts. edit may change more
// settings. Cleanup clears every fault and brings the proxy up before
// sessiond shuts down, because shutdown removes the containers through it.
func startProxiedServer(t *testing.T, edit func(*config.Config)) (*testServer, *faultproxy.Proxy) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the Docker daemon")
	}
	if os.Getenv("DOCKER_TLS_VERIFY") != "" || os.Getenv("DOCKER_CERT_PATH") != "" {
		t.Skip("the fault proxy forwards plain HTTP only, and DOCKER_TLS_VERIFY or DOCKER_CERT_PATH asks for TLS")
	}
	proxy, err := faultproxy.New(os.Getenv("DOCKER_HOST"))
	if err != nil {
		t.Fatalf("start fault proxy: %v", err)
	}
	t.Cleanup(proxy.Close)

	s := startServer(t, func(c *config.Config) {
		c.DockerHost = proxy.Addr()
		c.DockerOperationTimeout = proxyDockerTimeout
		c.DockerRetries = proxyDockerRetries
		c.DockerRetryBackoff = proxyRetryBackoff
		if edit != nil {
			edit(c)
		}
	})
	// Cleanups run last-registered first, so this one runs before the
	// shutdown that startServer registered.
	t.Cleanup(func() {
		proxy.ClearAll()
		if err := proxy.SetDown(false); err != nil {
			t.Errorf("bring the fault proxy up for shutdown: %v", err)
		}
	})
	return s, proxy
}

// sessionContainers lists the containers of one session, asking the daemon
// directly rather than through the proxy.
func sessionContainers(t *testing.T, s *testServer, id string) []docker.Container {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := s.engine.ListContainers(ctx, map[string]string{
		docker.LabelInstance: s.cfg.InstanceID,
		docker.LabelSession:  id,
	})
	if err != nil {
		t.Fatalf("list containers of session %s: %v", id, err)
	}
	return list
}

// waitNoContainers waits until the daemon has no container of the session.
// Removal runs in the background after a session fails, so it may lag.
func waitNoContainers(t *testing.T, s *testServer, id string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		list := sessionContainers(t, s, id)
		if len(list) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s: %d containers left %s after it failed, first %s (%s)",
				id, len(list), within, list[0].Name, list[0].State)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitNoOrphans waits until every container of the instance belongs to a
// session that is neither stopped nor failed, and reports the others.
func waitNoOrphans(t *testing.T, s *testServer, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		list, err := s.engine.ListContainers(ctx, map[string]string{docker.LabelInstance: s.cfg.InstanceID})
		cancel()
		if err != nil {
			t.Fatalf("list containers: %v", err)
		}
		var orphans []string
		for _, c := range list {
			id := c.Labels[docker.LabelSession]
			var info actors.SessionInfo
			resp := s.do(t, http.MethodGet, "/v1/sessions/"+id, "", nil, &info)
			if resp.StatusCode != http.StatusOK || info.State.Terminal() {
				orphans = append(orphans, fmt.Sprintf("%s (%s) of session %s in state %q", c.Name, c.State, id, info.State))
			}
		}
		if len(orphans) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("containers without a live session after %s: %s", within, strings.Join(orphans, ", "))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createRequests returns the container creates in the proxy's log from
// index from on.
func createRequests(p *faultproxy.Proxy, from int) []faultproxy.Request {
	var creates []faultproxy.Request
	for _, r := range p.Requests()[from:] {
		if r.Method == http.MethodPost && createPath.MatchString(r.Path) {
			creates = append(creates, r)
		}
	}
	return creates
}

// waitReadyz polls /readyz until it returns status want and returns the
// time that took.
func waitReadyz(t *testing.T, s *testServer, want int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		resp := s.do(t, http.MethodGet, "/readyz", "", nil, nil)
		if resp.StatusCode == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("/readyz returned %d for %s, want %d", resp.StatusCode, within, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metricValue returns the value of one sample on /metrics, such as
// sessiond_docker_retries_total{kind="create"}, or 0 when it is absent.
func metricValue(t *testing.T, s *testServer, sample string) float64 {
	t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		value, found := strings.CutPrefix(lines.Text(), sample+" ")
		if !found {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metric %s has value %q: %v", sample, value, err)
		}
		return v
	}
	if err := lines.Err(); err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return 0
}

func TestHungCreateFailsSessionCleanly(t *testing.T) {
	s, p := startProxiedServer(t, nil)
	// The daemon makes the container, but its response never arrives, as
	// when a daemon under load finishes a create after the client gave up.
	hang := p.Inject(faultproxy.Fault{Method: http.MethodPost, Path: createPath, Action: faultproxy.ActionHang, AfterResponse: true})
	logStart := len(p.Requests())

	start := time.Now()
	info, status := s.create(t, `{"user":"alice"}`, "0s")
	if status != http.StatusAccepted {
		t.Fatalf("create: status %d, want 202", status)
	}
	failed := s.waitState(t, info.ID, actors.StateFailed, 30*time.Second)
	elapsed := time.Since(start)

	attempts := 1 + proxyDockerRetries
	shortest := time.Duration(attempts) * proxyDockerTimeout
	// The slack covers the retry backoff (at most 50ms + 100ms here) and
	// polling, with room for a loaded machine.
	longest := shortest + 3*time.Second
	if elapsed < shortest || elapsed > longest {
		t.Errorf("session failed after %s, want %d attempts of %s each: between %s and %s",
			elapsed, attempts, proxyDockerTimeout, shortest, longest)
	}
	if got := p.Matched(hang); got != attempts {
		t.Errorf("creates sent = %d, want %d", got, attempts)
	}
	reason := strings.ToLower(failed.LastError)
	if !strings.Contains(reason, "deadline exceeded") && !strings.Contains(reason, "timed out") && !strings.Contains(reason, "timeout") {
		t.Errorf("last error = %q, want a timeout", failed.LastError)
	}
	for _, tr := range failed.History {
		if tr.State == actors.StateProbing || tr.State == actors.StateReady {
			t.Errorf("session reached %s before failing: %+v", tr.State, failed.History)
		}
	}

	creates := createRequests(p, logStart)
	if len(creates) == 0 || creates[0].UpstreamStatus != http.StatusCreated {
		t.Fatalf("creates seen by the proxy = %+v, want the first made by the daemon (201)", creates)
	}
	waitNoContainers(t, s, info.ID, 15*time.Second)
}

func TestTransientCreateErrorsRetried(t *testing.T) {
	s, p := startProxiedServer(t, nil)
	serverError := faultproxy.Fault{Method: http.MethodPost, Path: createPath, Action: faultproxy.ActionFail}
	drop := faultproxy.Fault{Method: http.MethodPost, Path: createPath, Action: faultproxy.ActionDrop}
	dropAfterCreate := drop
	dropAfterCreate.AfterResponse = true

	cases := []struct {
		name string
		// faults are injected in order; each applies Times times.
		faults []faultproxy.Fault
	}{
		{"two daemon errors", []faultproxy.Fault{withTimes(serverError, 2)}},
		{"dropped connection", []faultproxy.Fault{withTimes(drop, 1)}},
		{"dropped after daemon created", []faultproxy.Fault{withTimes(dropAfterCreate, 1)}},
		{"daemon error then dropped connection", []faultproxy.Fault{withTimes(serverError, 1), withTimes(drop, 1)}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			retriesBefore := metricValue(t, s, `sessiond_docker_retries_total{kind="create"}`)
			logStart := len(p.Requests())
			var ids []faultproxy.FaultID
			for _, f := range tc.faults {
				ids = append(ids, p.Inject(f))
			}
			defer p.ClearAll()

			info, status := s.create(t, `{"user":"user`+strconv.Itoa(i)+`"}`, "30s")
			if status != http.StatusCreated || info.State != actors.StateReady {
				t.Fatalf("create: status %d, state %s, last error %q; want 201 and ready", status, info.State, info.LastError)
			}

			failures := 0
			for j, id := range ids {
				if got := p.Matched(id); got != tc.faults[j].Times {
					t.Errorf("fault %d applied %d times, want %d", j+1, got, tc.faults[j].Times)
				}
				failures += tc.faults[j].Times
			}
			if got := len(createRequests(p, logStart)); got != failures+1 {
				t.Errorf("creates sent = %d, want %d failed and 1 that succeeded", got, failures)
			}
			retries := metricValue(t, s, `sessiond_docker_retries_total{kind="create"}`) - retriesBefore
			if int(retries) != failures {
				t.Errorf("create retries counted = %v, want %d", retries, failures)
			}
			containers := sessionContainers(t, s, info.ID)
			if len(containers) != 1 {
				t.Fatalf("session has %d containers, want 1: %+v", len(containers), containers)
			}
			if containers[0].ID != info.ContainerID {
				t.Errorf("container on the daemon = %s, session reports %s", containers[0].ID, info.ContainerID)
			}
		})
	}
}

func withTimes(f faultproxy.Fault, times int) faultproxy.Fault {
	f.Times = times
	return f
}

func TestDaemonOutageRejectsOnlyCreates(t *testing.T) {
	s, p := startProxiedServer(t, nil)
	existing, status := s.create(t, `{"user":"alice"}`, "30s")
	if status != http.StatusCreated {
		t.Fatalf("create before the outage: status %d, state %s, last error %q", status, existing.State, existing.LastError)
	}

	if err := p.SetDown(true); err != nil {
		t.Fatalf("take the proxy down: %v", err)
	}
	// sessiond pings the daemon every 2s, and a refused connection fails
	// the ping at once.
	if took := waitReadyz(t, s, http.StatusServiceUnavailable, 10*time.Second); took > 5*time.Second {
		t.Errorf("/readyz turned 503 after %s, want within 5s", took)
	}

	var rejected struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	start := time.Now()
	resp := s.do(t, http.MethodPost, "/v1/sessions?wait=30s", "application/json", []byte(`{"user":"bob"}`), &rejected)
	took := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("create during the outage: status %d, want 503", resp.StatusCode)
	}
	if took > time.Second {
		t.Errorf("create during the outage took %s, want under 1s", took)
	}
	if rejected.Error.Code != string(actors.CodeUnavailable) {
		t.Errorf("error code = %q, want %q (message %q)", rejected.Error.Code, actors.CodeUnavailable, rejected.Error.Message)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}

	start = time.Now()
	during := s.get(t, existing.ID)
	if took := time.Since(start); took > time.Second {
		t.Errorf("GET of a session during the outage took %s, want under 1s", took)
	}
	if during.State != actors.StateReady {
		t.Errorf("session during the outage: state %s, last error %q; want ready", during.State, during.LastError)
	}
	if resp := s.do(t, http.MethodGet, "/v1/sessions", "", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("list during the outage: status %d, want 200", resp.StatusCode)
	}

	if err := p.SetDown(false); err != nil {
		t.Fatalf("bring the proxy up: %v", err)
	}
	if took := waitReadyz(t, s, http.StatusOK, 10*time.Second); took > 5*time.Second {
		t.Errorf("/readyz turned 200 after %s, want within 5s", took)
	}
	created, status := s.create(t, `{"user":"bob"}`, "30s")
	if status != http.StatusCreated {
		t.Errorf("create after the outage: status %d, state %s, last error %q; want 201", status, created.State, created.LastError)
	}
	// A few seconds without the daemon must not cost a session whose
	// container kept running.
	if after := s.get(t, existing.ID); after.State != actors.StateReady {
		t.Errorf("session after the outage: state %s, last error %q; want ready; history %+v",
			after.State, after.LastError, after.History)
	}
	waitNoOrphans(t, s, 10*time.Second)
}

func TestRemovalDuringOutageNoticed(t *testing.T) {
	s, p := startProxiedServer(t, nil)
	info, status := s.create(t, `{"user":"alice"}`, "30s")
	if status != http.StatusCreated {
		t.Fatalf("create: status %d, state %s, last error %q", status, info.State, info.LastError)
	}

	if err := p.SetDown(true); err != nil {
		t.Fatalf("take the proxy down: %v", err)
	}
	waitReadyz(t, s, http.StatusServiceUnavailable, 10*time.Second)
	// The destroy event goes nowhere while the event stream is cut, so only
	// the check after the reconnect can find out.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.engine.RemoveContainer(ctx, info.ContainerID); err != nil {
		t.Fatalf("remove the container behind sessiond's back: %v", err)
	}
	if err := p.SetDown(false); err != nil {
		t.Fatalf("bring the proxy up: %v", err)
	}

	// The event stream reconnects with a backoff that doubles from 0.5s,
	// so after a few seconds down the next attempt is at most about 8s away.
	failed := s.waitState(t, info.ID, actors.StateFailed, 30*time.Second)
	if !strings.Contains(failed.LastError, "removed outside sessiond") {
		t.Errorf("last error = %q, want the container removed outside sessiond; history %+v", failed.LastError, failed.History)
	}
}

func TestRetriedCreateAdoptsContainer(t *testing.T) {
	s, p := startProxiedServer(t, nil)
	// The daemon makes the container at once, but its response arrives
	// only after the attempt timed out, so the retry meets the name taken.
	late := p.Inject(faultproxy.Fault{Method: http.MethodPost, Path: createPath, Action: faultproxy.ActionDelay,
		Delay: proxyDockerTimeout + 2*time.Second, AfterResponse: true, Times: 1})
	logStart := len(p.Requests())

	info, status := s.create(t, `{"user":"alice"}`, "30s")
	if status != http.StatusCreated || info.State != actors.StateReady {
		t.Fatalf("create: status %d, state %s, last error %q; want 201 and ready", status, info.State, info.LastError)
	}
	if got := p.Matched(late); got != 1 {
		t.Errorf("delayed creates = %d, want 1", got)
	}

	var statuses []int
	for _, r := range createRequests(p, logStart) {
		statuses = append(statuses, r.UpstreamStatus)
	}
	if len(statuses) != 2 || statuses[0] != http.StatusCreated || statuses[1] != http.StatusConflict {
		t.Errorf("daemon statuses of the creates = %v, want [201 409]: made, then found by name", statuses)
	}
	containers := sessionContainers(t, s, info.ID)
	if len(containers) != 1 {
		t.Fatalf("session has %d containers, want 1: %+v", len(containers), containers)
	}
	if containers[0].ID != info.ContainerID {
		t.Errorf("container on the daemon = %s, session reports %s", containers[0].ID, info.ContainerID)
	}
	if want := docker.ContainerName(info.ID); containers[0].Name != want {
		t.Errorf("container name = %q, want %q", containers[0].Name, want)
	}
}
