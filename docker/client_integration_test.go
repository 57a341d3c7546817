package docker

// Integration tests against the real Docker daemon that DOCKER_HOST names,
// or /var/run/docker.sock. They skip when no daemon responds or with -short.
// TestMain builds the sandbox image from ./sandbox, labels every container
// it makes with sessiond.test=<run id> and fails the run if any of those
// containers remain at the end.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/versions"
	"github.com/hashicorp/go-hclog"
)

const (
	// testLabel marks every container a test makes, with the run ID as value.
	testLabel = "sessiond.test"
	// testCaseLabel separates the containers of one test from those of others.
	testCaseLabel = "sessiond.test.case"
	// testImage is built by TestMain from ./sandbox and kept between runs,
	// so an unchanged binary reuses the cached layer.
	testImage = "sessiond-sandbox:test"
	// testPort is the sandbox's default port.
	testPort = 8080
)

var (
	// integrationClient is nil when integration tests skip.
	integrationClient *Client
	skipReason        string
	testRunID         = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000)
	containerCounter  atomic.Int64
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

// runTests sets up the integration client, runs the tests and checks for
// leftover containers. It returns the exit status.
func runTests(m *testing.M) int {
	if testing.Short() {
		skipReason = "integration tests do not run with -short"
	} else if err := setupIntegration(); err != nil {
		if !isSetupSkip(err) {
			fmt.Fprintf(os.Stderr, "integration setup failed: %v\n", err)
			return 1
		}
		skipReason = err.Error()
	}

	code := m.Run()

	if integrationClient != nil {
		if err := checkLeftovers(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
			code = 1
		}
		integrationClient.Close()
	}
	return code
}

// setupSkip is a setup failure that skips the integration tests instead of
// failing the run: no daemon responds.
type setupSkip struct{ reason string }

func (s setupSkip) Error() string { return s.reason }

func isSetupSkip(err error) bool {
	_, ok := err.(setupSkip)
	return ok
}

func setupIntegration() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	logger := hclog.New(&hclog.LoggerOptions{Name: "integration", Level: hclog.Info, Output: os.Stderr})
	c, err := Connect(ctx, Options{}, logger)
	if err != nil {
		return setupSkip{fmt.Sprintf("no usable Docker host settings: %v", err)}
	}
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return setupSkip{fmt.Sprintf("no Docker daemon responds at %s: %v", c.DaemonHost(), err)}
	}

	buildCtx, buildCancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer buildCancel()
	if err := buildSandboxImage(buildCtx, c); err != nil {
		c.Close()
		return fmt.Errorf("build %s: %w", testImage, err)
	}
	integrationClient = c
	return nil
}

// buildSandboxImage compiles ./sandbox as a static binary and builds
// testImage from it and sandbox/Dockerfile through the Engine API, so the
// tests need no docker CLI. FROM scratch pulls nothing.
func buildSandboxImage(ctx context.Context, c *Client) error {
	dir, err := os.MkdirTemp("", "sessiond-sandbox-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	binary := filepath.Join(dir, "sandbox")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-o", binary, "./sandbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./sandbox: %w\n%s", err, output)
	}

	dockerfile, err := os.ReadFile(filepath.Join("sandbox", "Dockerfile"))
	if err != nil {
		return err
	}
	executable, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	var buildContext bytes.Buffer
	archive := tar.NewWriter(&buildContext)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, dockerfile},
		{"sandbox", 0o755, executable},
	}
	for _, file := range files {
		header := &tar.Header{Name: file.name, Mode: file.mode, Size: int64(len(file.data)), ModTime: time.Unix(0, 0)}
		if err := archive.WriteHeader(header); err != nil {
			return err
		}
		if _, err := archive.Write(file.data); err != nil {
			return err
		}
	}
	if err := archive.Close(); err != nil {
		return err
	}

	resp, err := c.api.ImageBuild(ctx, &buildContext, build.ImageBuildOptions{
		Tags:   []string{testImage},
		Remove: true,
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readBuildOutput(resp.Body)
}

// readBuildOutput reads the daemon's build progress to its end and returns
// the first build error in it.
func readBuildOutput(body io.Reader) error {
	decoder := json.NewDecoder(body)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := decoder.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read build output: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("daemon build error: %s", msg.Error)
		}
	}
}

// checkLeftovers removes and reports the containers of this run that a
// test left behind.
func checkLeftovers() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leftovers, err := integrationClient.ListContainers(ctx, map[string]string{testLabel: testRunID})
	if err != nil {
		return fmt.Errorf("list leftover containers: %w", err)
	}
	if len(leftovers) == 0 {
		return nil
	}
	var names []string
	for _, ctr := range leftovers {
		names = append(names, ctr.Name)
		integrationClient.RemoveContainer(ctx, ctr.ID)
	}
	return fmt.Errorf("%d containers with %s=%s were left behind: %v", len(leftovers), testLabel, testRunID, names)
}

// requireDaemon returns the integration client or skips the test.
func requireDaemon(t *testing.T) *Client {
	t.Helper()
	if integrationClient == nil {
		t.Skip(skipReason)
	}
	return integrationClient
}

// testContext returns a context that ends with the test or after limit.
func testContext(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(cancel)
	return ctx
}

// newTestSpec returns a spec for the sandbox image with a unique name and
// the labels of this run and test.
func newTestSpec(t *testing.T) ContainerSpec {
	t.Helper()
	return ContainerSpec{
		Name:  fmt.Sprintf("sessiond-test-%s-%d", testRunID, containerCounter.Add(1)),
		Image: testImage,
		Labels: map[string]string{
			testLabel:     testRunID,
			testCaseLabel: t.Name(),
		},
		Port: testPort,
	}
}

// createTestContainer creates spec's container and removes it when the
// test ends, whether the test passed or not. The removal is registered
// before the create, so a create that timed out after the daemon made the
// container is cleaned up too.
func createTestContainer(t *testing.T, c *Client, spec ContainerSpec) string {
	t.Helper()
	t.Cleanup(func() {
		// The test's context has ended by now, so cleanup gets its own.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.RemoveContainer(ctx, spec.Name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	id, err := c.CreateContainer(testContext(t, 30*time.Second), spec)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	return id
}

// waitForState polls the container until accept returns true for it.
func waitForState(t *testing.T, c *Client, id string, limit time.Duration, accept func(Container) bool) Container {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctr, err := c.InspectContainer(testContext(t, 10*time.Second), id)
		if err != nil {
			t.Fatalf("InspectContainer: %v", err)
		}
		if accept(ctr) {
			return ctr
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still in state %q after %s", id, ctr.State, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getUntilOK polls url until it returns 200, and returns the body.
func getUntilOK(t *testing.T, url string, limit time.Duration) []byte {
	t.Helper()
	httpClient := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	var lastErr error
	for time.Now().Before(deadline) {
		resp, err := httpClient.Get(url)
		if err == nil {
			body, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && readErr == nil {
				return body
			}
			lastErr = fmt.Errorf("status %d, body %q, read error %v", resp.StatusCode, body, readErr)
		} else {
			lastErr = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s did not return 200 within %s: %v", url, limit, lastErr)
	return nil
}

func TestIntegrationNegotiatedVersion(t *testing.T) {
	c := requireDaemon(t)
	ctx := testContext(t, 10*time.Second)

	server, err := c.api.ServerVersion(ctx)
	if err != nil {
		t.Fatalf("ServerVersion: %v", err)
	}
	want := api.DefaultVersion
	if versions.LessThan(server.APIVersion, want) {
		want = server.APIVersion
	}
	if got := c.APIVersion(); got != want {
		t.Errorf("APIVersion = %q, want %q (daemon %s speaks %s, library maximum %s)",
			got, want, server.Version, server.APIVersion, api.DefaultVersion)
	}
}

func TestIntegrationContainerLifecycle(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, 2*time.Minute)

	spec := newTestSpec(t)
	spec.MemoryBytes = 64 << 20
	spec.NanoCPUs = 500_000_000
	spec.PidsLimit = 64
	spec.Env = map[string]string{"SANDBOX_PORT": fmt.Sprint(testPort)}
	id := createTestContainer(t, c, spec)

	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	if err := c.StartContainer(ctx, spec.Name); err != nil {
		t.Errorf("StartContainer on a running container = %v, want nil", err)
	}

	ctr, err := c.InspectContainer(ctx, spec.Name)
	if err != nil {
		t.Fatalf("InspectContainer: %v", err)
	}
	if ctr.ID != id {
		t.Errorf("ID = %q, want %q", ctr.ID, id)
	}
	if ctr.Name != spec.Name {
		t.Errorf("Name = %q, want %q", ctr.Name, spec.Name)
	}
	if ctr.Image != testImage {
		t.Errorf("Image = %q, want %q", ctr.Image, testImage)
	}
	if !ctr.Running || ctr.State != "running" {
		t.Errorf("State = %q, Running = %v; want running, true", ctr.State, ctr.Running)
	}
	if ctr.MemoryBytes != spec.MemoryBytes {
		t.Errorf("MemoryBytes = %d, want %d", ctr.MemoryBytes, spec.MemoryBytes)
	}
	if ctr.NanoCPUs != spec.NanoCPUs {
		t.Errorf("NanoCPUs = %d, want %d", ctr.NanoCPUs, spec.NanoCPUs)
	}
	if ctr.PidsLimit != spec.PidsLimit {
		t.Errorf("PidsLimit = %d, want %d", ctr.PidsLimit, spec.PidsLimit)
	}
	if ctr.Labels[testLabel] != testRunID {
		t.Errorf("label %s = %q, want %q", testLabel, ctr.Labels[testLabel], testRunID)
	}
	if ctr.StartedAt.IsZero() {
		t.Error("StartedAt is zero for a running container")
	}
	if ctr.HostPort <= 0 {
		t.Fatalf("HostPort = %d, want a port published on 127.0.0.1", ctr.HostPort)
	}

	getUntilOK(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", ctr.HostPort), 15*time.Second)
	body := getUntilOK(t, fmt.Sprintf("http://127.0.0.1:%d/", ctr.HostPort), 5*time.Second)
	var info struct {
		Hostname string `json:"hostname"`
	}
	if err := json.Unmarshal(body, &info); err != nil || info.Hostname == "" {
		t.Errorf("GET / body = %q, want JSON with a hostname (decode error %v)", body, err)
	}

	listed, err := c.ListContainers(ctx, map[string]string{testLabel: testRunID, testCaseLabel: t.Name()})
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	if len(listed) != 1 {
		t.Fatalf("ListContainers returned %d containers, want 1: %+v", len(listed), listed)
	}
	if listed[0].ID != id || listed[0].Name != spec.Name || !listed[0].Running {
		t.Errorf("listed container = %+v, want %s named %s, running", listed[0], id, spec.Name)
	}
	if listed[0].HostPort != ctr.HostPort {
		t.Errorf("listed HostPort = %d, want %d as inspected", listed[0].HostPort, ctr.HostPort)
	}

	if err := c.RemoveContainer(ctx, id); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	_, err = c.InspectContainer(ctx, id)
	if KindOf(err) != KindNotFound {
		t.Errorf("InspectContainer after remove = %v (kind %s), want kind not_found", err, KindOf(err))
	}
	if err := c.RemoveContainer(ctx, id); err != nil {
		t.Errorf("second RemoveContainer = %v, want nil", err)
	}
}

func TestIntegrationCreateNameConflict(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)

	spec := newTestSpec(t)
	createTestContainer(t, c, spec)
	_, err := c.CreateContainer(ctx, spec)
	if KindOf(err) != KindConflict {
		t.Errorf("second CreateContainer = %v (kind %s), want kind conflict", err, KindOf(err))
	}
}

func TestIntegrationCreateMissingImage(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)

	spec := newTestSpec(t)
	spec.Image = "sessiond-test-missing-image:" + testRunID
	t.Cleanup(func() {
		cleanupCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.RemoveContainer(cleanupCtx, spec.Name)
	})
	_, err := c.CreateContainer(ctx, spec)
	if KindOf(err) != KindNotFound {
		t.Errorf("CreateContainer with a missing image = %v (kind %s), want kind not_found", err, KindOf(err))
	}
}

func TestIntegrationCreateMemoryTooLow(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)

	spec := newTestSpec(t)
	// The daemon rejects memory limits below 6MB.
	spec.MemoryBytes = 1 << 20
	t.Cleanup(func() {
		cleanupCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.RemoveContainer(cleanupCtx, spec.Name)
	})
	_, err := c.CreateContainer(ctx, spec)
	if KindOf(err) != KindInvalid {
		t.Errorf("CreateContainer with 1MiB memory = %v (kind %s), want kind invalid", err, KindOf(err))
	}
}

func TestIntegrationExitCode(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)

	spec := newTestSpec(t)
	spec.Env = map[string]string{"SANDBOX_EXIT_AFTER": "0s", "SANDBOX_EXIT_CODE": "3"}
	id := createTestContainer(t, c, spec)
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}

	ctr := waitForState(t, c, id, 30*time.Second, func(ctr Container) bool { return ctr.State == "exited" })
	if ctr.ExitCode != 3 {
		t.Errorf("ExitCode = %d, want 3", ctr.ExitCode)
	}
	if ctr.Running {
		t.Error("Running is true for an exited container")
	}
	if ctr.OOMKilled {
		t.Error("OOMKilled is true for a container that exited by itself")
	}
	if ctr.FinishedAt.IsZero() {
		t.Error("FinishedAt is zero for an exited container")
	}
	if ctr.HostPort != 0 {
		t.Errorf("HostPort = %d for an exited container, want 0", ctr.HostPort)
	}
}

// collectEvents reads events for the test's containers until stop returns
// true for one or limit passes, and returns all events read.
func collectEvents(t *testing.T, eventsCh <-chan Event, errCh <-chan error, limit time.Duration, stop func(Event) bool) []Event {
	t.Helper()
	var got []Event
	timeout := time.After(limit)
	for {
		select {
		case event, ok := <-eventsCh:
			if !ok {
				t.Fatalf("event stream closed: %v; events so far: %+v", <-errCh, got)
			}
			got = append(got, event)
			if stop(event) {
				return got
			}
		case <-timeout:
			t.Fatalf("no matching event within %s; events so far: %+v", limit, got)
		}
	}
}

func TestIntegrationEventsDie(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)

	eventsCh, errCh := c.Events(ctx, map[string]string{testLabel: testRunID, testCaseLabel: t.Name()})

	spec := newTestSpec(t)
	spec.Env = map[string]string{"SANDBOX_EXIT_AFTER": "0s", "SANDBOX_EXIT_CODE": "3"}
	id := createTestContainer(t, c, spec)
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}

	got := collectEvents(t, eventsCh, errCh, 30*time.Second, func(e Event) bool { return e.Action == ActionDie })
	die := got[len(got)-1]
	if die.ContainerID != id {
		t.Errorf("die event for container %s, want %s", die.ContainerID, id)
	}
	if die.ExitCode != 3 {
		t.Errorf("die event exit code = %d, want 3", die.ExitCode)
	}
	if die.Labels[testCaseLabel] != t.Name() {
		t.Errorf("die event label %s = %q, want %q", testCaseLabel, die.Labels[testCaseLabel], t.Name())
	}
	if die.Time.IsZero() {
		t.Error("die event time is zero")
	}
	var sawStart bool
	for _, event := range got {
		if event.Action == ActionStart && event.ContainerID == id {
			sawStart = true
		}
	}
	if !sawStart {
		t.Errorf("no start event before die: %+v", got)
	}
}

func TestIntegrationOOMKilled(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)

	info, err := c.api.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !info.MemoryLimit {
		t.Skip("the daemon does not support memory limits")
	}

	eventsCh, errCh := c.Events(ctx, map[string]string{testLabel: testRunID, testCaseLabel: t.Name()})

	spec := newTestSpec(t)
	spec.MemoryBytes = 32 << 20
	spec.Env = map[string]string{"SANDBOX_GROW_MEMORY": "8MiB/50ms"}
	id := createTestContainer(t, c, spec)
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}

	got := collectEvents(t, eventsCh, errCh, 30*time.Second, func(e Event) bool { return e.Action == ActionDie })
	var sawOOM bool
	for _, event := range got {
		if event.Action == ActionOOM && event.ContainerID == id {
			sawOOM = true
		}
	}
	if !sawOOM {
		t.Errorf("no oom event before die: %+v", got)
	}

	ctr := waitForState(t, c, id, 30*time.Second, func(ctr Container) bool { return ctr.State == "exited" })
	if !ctr.OOMKilled {
		t.Error("OOMKilled is false after the memory limit was hit")
	}
	if ctr.ExitCode != 137 {
		t.Errorf("ExitCode = %d, want 137 (SIGKILL)", ctr.ExitCode)
	}
}

func TestIntegrationListLabelFilter(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)

	const groupLabel = "sessiond.test.group"
	first := newTestSpec(t)
	first.Labels[groupLabel] = "a"
	second := newTestSpec(t)
	second.Labels[groupLabel] = "b"
	firstID := createTestContainer(t, c, first)
	createTestContainer(t, c, second)

	byValue, err := c.ListContainers(ctx, map[string]string{testLabel: testRunID, groupLabel: "a"})
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	if len(byValue) != 1 || byValue[0].ID != firstID {
		t.Errorf("ListContainers(%s=a) = %+v, want only %s", groupLabel, byValue, firstID)
	}
	if len(byValue) == 1 && byValue[0].State != "created" {
		t.Errorf("State = %q, want created for a container never started", byValue[0].State)
	}

	byKey, err := c.ListContainers(ctx, map[string]string{testLabel: testRunID, groupLabel: ""})
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	if len(byKey) != 2 {
		t.Errorf("ListContainers(%s) returned %d containers, want 2: %+v", groupLabel, len(byKey), byKey)
	}
}

func TestIntegrationRemoveMissing(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)

	if err := c.RemoveContainer(ctx, "sessiond-test-never-created-"+testRunID); err != nil {
		t.Errorf("RemoveContainer of a missing container = %v, want nil", err)
	}
}

func TestIntegrationRemoveConcurrent(t *testing.T) {
	c := requireDaemon(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)

	spec := newTestSpec(t)
	id := createTestContainer(t, c, spec)
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}

	// Concurrent removals meet a removal in progress or a container that is
	// already gone, and each counts as removed.
	const removers = 4
	errs := make([]error, removers)
	var wg sync.WaitGroup
	for i := range removers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.RemoveContainer(ctx, id)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("RemoveContainer %d = %v, want nil", i, err)
		}
	}
	_, err := c.InspectContainer(ctx, id)
	if KindOf(err) != KindNotFound {
		t.Errorf("InspectContainer after remove = %v (kind %s), want kind not_found", err, KindOf(err))
	}
}
