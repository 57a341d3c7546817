package stress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sessiond/sessiond/docker"
)

// LabelRun marks every container of a raw-Docker run, with the run id as
// its value, so that cleanup finds exactly what the run made.
const LabelRun = "sessiond.stress"

// Limits of the baseline's containers. They are sessiond's defaults
// (DEFAULT_SESSION_MEMORY, DEFAULT_SESSION_CPUS, DEFAULT_SESSION_PIDS), so
// that the daemon does the same cgroup work for both.
const (
	baselineMemoryBytes = 256 << 20
	baselineNanoCPUs    = 500_000_000
	baselinePidsLimit   = 128
)

// dockerBackend runs the workload straight against the Docker daemon: one
// container per session, created, started, probed on its published port and
// removed, with no sessiond in between.
type dockerBackend struct {
	engine    docker.Engine
	closeFunc func()
	runID     string
	// extraLabels go on every container besides LabelRun.
	extraLabels map[string]string
	image       string
	port        int
	healthPath  string

	timeout      time.Duration
	pollInterval time.Duration
	// health probes the containers' published ports. Keep-alive is off
	// because every container has its own port, so a pooled connection
	// would never be reused.
	health *http.Client
}

var _ backend = (*dockerBackend)(nil)

func newDockerBackend(engine docker.Engine, closeFunc func(), opts options, runID string) *dockerBackend {
	return &dockerBackend{
		engine:       engine,
		closeFunc:    closeFunc,
		runID:        runID,
		image:        opts.image,
		port:         opts.containerPort,
		healthPath:   opts.healthPath,
		timeout:      opts.timeout,
		pollInterval: opts.pollInterval,
		health: &http.Client{
			Transport: &http.Transport{DisableKeepAlives: true},
			Timeout:   opts.timeout,
		},
	}
}

func (b *dockerBackend) close() {
	if b.closeFunc != nil {
		b.closeFunc()
	}
}

// call runs one Docker call with the per-call time limit.
func (b *dockerBackend) call(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	return fn(ctx)
}

func (b *dockerBackend) check(ctx context.Context) error {
	err := b.call(ctx, b.engine.Ping)
	if err != nil {
		return fmt.Errorf("docker daemon does not respond (set DOCKER_HOST to choose another): %w", err)
	}
	return nil
}

// create creates and starts the container. Both calls count as create,
// because together they are the work that sessiond does before its
// sessions can be probed.
func (b *dockerBackend) create(ctx context.Context, s *session) error {
	spec := docker.ContainerSpec{
		Name:        fmt.Sprintf("sessiond-stress-%s-%d", b.runID, s.seq),
		Image:       b.image,
		Labels:      b.labels(),
		Port:        b.port,
		MemoryBytes: baselineMemoryBytes,
		NanoCPUs:    baselineNanoCPUs,
		PidsLimit:   baselinePidsLimit,
	}
	err := b.call(ctx, func(ctx context.Context) error {
		id, err := b.engine.CreateContainer(ctx, spec)
		if err == nil {
			s.id = id
		}
		return err
	})
	if err != nil {
		return err
	}
	return b.call(ctx, func(ctx context.Context) error {
		return b.engine.StartContainer(ctx, s.id)
	})
}

func (b *dockerBackend) labels() map[string]string {
	labels := map[string]string{LabelRun: b.runID}
	for key, value := range b.extraLabels {
		labels[key] = value
	}
	return labels
}

// waitReady finds the container's host port and polls its health path on
// 127.0.0.1 until it returns 200.
func (b *dockerBackend) waitReady(ctx context.Context, s *session) error {
	var ctr docker.Container
	err := b.call(ctx, func(ctx context.Context) error {
		var err error
		ctr, err = b.engine.InspectContainer(ctx, s.id)
		return err
	})
	if err != nil {
		return err
	}
	if !ctr.Running || ctr.HostPort == 0 {
		return newKindError(kindSessionFailed, "container %s is %s (exit code %d) with no published port: %s",
			shortID(s.id), ctr.State, ctr.ExitCode, ctr.Error)
	}
	s.hostPort = ctr.HostPort

	url := "http://127.0.0.1:" + strconv.Itoa(ctr.HostPort) + b.healthPath
	for {
		if b.healthy(ctx, url) {
			return nil
		}
		if !sleep(ctx, b.pollInterval) {
			return newKindError(kindReadyTimeout, "container %s: %s did not return 200 in time", shortID(s.id), url)
		}
	}
}

// healthy reports whether one GET of url returns 200. Refused and reset
// connections are expected while the container's server starts.
func (b *dockerBackend) healthy(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := b.health.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode == http.StatusOK
}

// poll inspects the container, the baseline's status query.
func (b *dockerBackend) poll(ctx context.Context, s *session) error {
	return b.call(ctx, func(ctx context.Context) error {
		ctr, err := b.engine.InspectContainer(ctx, s.id)
		if err != nil {
			return err
		}
		if !ctr.Running {
			return newKindError(kindSessionFailed, "container %s is %s (exit code %d)", shortID(s.id), ctr.State, ctr.ExitCode)
		}
		return nil
	})
}

// delete kills and removes the container. A container that is already gone
// counts as removed.
func (b *dockerBackend) delete(ctx context.Context, s *session) error {
	return b.call(ctx, func(ctx context.Context) error {
		return b.engine.RemoveContainer(ctx, s.id)
	})
}

func (b *dockerBackend) release(ctx context.Context, s *session) error { return b.delete(ctx, s) }

// sweep removes every container that carries the run's label and counts
// the ones still listed afterwards.
func (b *dockerBackend) sweep(ctx context.Context) (removed, remaining int, err error) {
	labels := map[string]string{LabelRun: b.runID}
	var found []docker.Container
	err = b.call(ctx, func(ctx context.Context) error {
		var err error
		found, err = b.engine.ListContainers(ctx, labels)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("list containers labelled %s=%s: %w", LabelRun, b.runID, err)
	}

	var errs []error
	for _, ctr := range found {
		if err := b.delete(ctx, &session{id: ctr.ID}); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}

	var left []docker.Container
	err = b.call(ctx, func(ctx context.Context) error {
		var err error
		left, err = b.engine.ListContainers(ctx, labels)
		return err
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("list containers labelled %s=%s: %w", LabelRun, b.runID, err))
		return removed, len(found) - removed, errors.Join(errs...)
	}
	for _, ctr := range left {
		// The daemon lists a container in state "removing" while another
		// remove call of the run is still deleting it, which needs no help.
		if ctr.State != "removing" {
			remaining++
		}
	}
	return removed, remaining, errors.Join(errs...)
}

func (b *dockerBackend) probes() []probe {
	labels := map[string]string{LabelRun: b.runID}
	return []probe{
		{name: "probe_docker_ping", do: func(ctx context.Context) error {
			return b.call(ctx, b.engine.Ping)
		}},
		{name: "probe_docker_list", do: func(ctx context.Context) error {
			return b.call(ctx, func(ctx context.Context) error {
				_, err := b.engine.ListContainers(ctx, labels)
				return err
			})
		}},
	}
}

func (b *dockerBackend) descriptions() map[string]string {
	return map[string]string{
		opCreate:            "Docker create and start calls",
		opReady:             "from the create call until the container's health path returns 200",
		opGet:               "Docker inspect while holding",
		opDelete:            "Docker remove (kill and remove)",
		opCycle:             "from the create call until the container is removed",
		"probe_docker_ping": "Docker ping repeated while the workload runs",
		"probe_docker_list": "Docker list of the run's containers repeated while the workload runs",
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
