package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// readyTimeout bounds the wait for a new sessiond's /readyz.
	readyTimeout = 30 * time.Second
	// stopTimeout is how long a stopping sessiond may take before it is
	// killed: its SHUTDOWN_TIMEOUT of 30 s plus room to exit.
	stopTimeout = 45 * time.Second
	// startAttempts bounds the starts on a new port after another process
	// took the free port between its choice and sessiond's bind.
	startAttempts = 3
)

// inheritedEnv names the variables that sessiond inherits from the
// benchmark's environment. Every other sessiond setting is left at its
// default or set by the configuration, so that settings in the caller's
// shell cannot change what is measured.
var inheritedEnv = []string{"PATH", "HOME", "TMPDIR", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONFIG"}

// sessiondProcess is one running sessiond.
type sessiondProcess struct {
	cmd     *exec.Cmd
	baseURL string
	logFile *os.File
	logPath string
	// exited is closed when the process has ended, and waitErr is set
	// before that.
	exited  chan struct{}
	waitErr error
	// stopped describes how the process ended once stop has run.
	stopped string
}

// readiness is the part of GET /readyz that the benchmark checks.
type readiness struct {
	Ready            bool   `json:"ready"`
	Mode             string `json:"mode"`
	Workers          int    `json:"workers"`
	ConcurrencyLimit int    `json:"concurrency_limit"`
}

// sessiondEnv returns the environment of one sessiond: the inherited
// variables, the common settings and the configuration's own.
func sessiondEnv(getenv func(string) string, common, own map[string]string) []string {
	var env []string
	for _, name := range inheritedEnv {
		if value := getenv(name); value != "" {
			env = append(env, name+"="+value)
		}
	}
	for _, settings := range []map[string]string{common, own} {
		for name, value := range settings {
			env = append(env, name+"="+value)
		}
	}
	return env
}

// startSessiond starts binary with env plus LISTEN_ADDR on a free loopback
// port and waits until /readyz returns 200. Its log goes to logPath. On
// failure nothing is left running.
func startSessiond(ctx context.Context, binary string, env []string, logPath string) (*sessiondProcess, readiness, error) {
	var lastErr error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		p, ready, err := startOnce(ctx, binary, env, logPath)
		if err == nil {
			return p, ready, nil
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			break
		}
	}
	return nil, readiness{}, lastErr
}

var errExitedEarly = errors.New("sessiond exited before it was ready")

func startOnce(ctx context.Context, binary string, env []string, logPath string) (*sessiondProcess, readiness, error) {
	port, err := freePort()
	if err != nil {
		return nil, readiness{}, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, readiness{}, fmt.Errorf("open sessiond log: %w", err)
	}
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(env, "LISTEN_ADDR="+addr)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group keeps a Ctrl-C in the terminal from
		// reaching sessiond directly, so the benchmark stops it in order.
		Setpgid: true,
		// NOTE: Linux sends this signal when the thread that started the
		// process exits, which in Go is normally when the benchmark exits.
		// It stops sessiond, which removes its containers, if the benchmark
		// is killed.
		Pdeathsig: syscall.SIGTERM,
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, readiness{}, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &sessiondProcess{
		cmd:     cmd,
		baseURL: "http://" + addr,
		logFile: logFile,
		logPath: logPath,
		exited:  make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	ready, err := p.waitReady(ctx)
	if err != nil {
		p.stop()
		return nil, readiness{}, err
	}
	return p, ready, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls /readyz every 100 ms until it returns 200, the process
// exits, ctx ends or readyTimeout passes.
func (p *sessiondProcess) waitReady(ctx context.Context) (readiness, error) {
	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		ready, err := p.readyz(ctx, client)
		if err == nil && ready.Ready {
			return ready, nil
		}
		select {
		case <-p.exited:
			return readiness{}, fmt.Errorf("%w: %v; log %s: %s", errExitedEarly, p.waitErr, p.logPath, tailFile(p.logPath, 5))
		case <-ctx.Done():
			return readiness{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return readiness{}, fmt.Errorf("sessiond at %s not ready after %s; log %s: %s", p.baseURL, readyTimeout, p.logPath, tailFile(p.logPath, 5))
}

// readyz reads /readyz once. A 503 still carries the body.
func (p *sessiondProcess) readyz(ctx context.Context, client *http.Client) (readiness, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/readyz", nil)
	if err != nil {
		return readiness{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return readiness{}, err
	}
	defer resp.Body.Close()
	var ready readiness
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ready); err != nil {
		return readiness{}, fmt.Errorf("decode /readyz: %w", err)
	}
	return ready, nil
}

// currentReadiness reads /readyz once with a short time limit.
func (p *sessiondProcess) currentReadiness() (readiness, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.readyz(ctx, &http.Client{})
}

// stop sends SIGINT, which makes sessiond remove its containers and exit,
// and kills it after stopTimeout. It returns how the process ended. Calling
// it again returns the same description.
func (p *sessiondProcess) stop() string {
	if p.stopped != "" {
		return p.stopped
	}
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.exited
			p.stopped = fmt.Sprintf("killed after not stopping within %s", stopTimeout)
		}
	}
	p.logFile.Close()
	switch {
	case p.stopped != "":
	case p.waitErr != nil:
		p.stopped = p.waitErr.Error()
	default:
		p.stopped = "exit 0"
	}
	return p.stopped
}

// countWarnings counts the log lines at warn level or above in a sessiond
// text log, whose lines carry the level in brackets.
func countWarnings(logPath string) int {
	f, err := os.Open(logPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	count := 0
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.Contains(line, "[WARN]") || strings.Contains(line, "[ERROR]") {
			count++
		}
	}
	return count
}

// tailFile returns the last n lines of a file, joined by " | ".
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return lastLines(string(data), n)
}
