// Package stress is sessiond's load harness. It drives a running sessiond
// through its HTTP API with concurrent sessions, or runs the same workload
// straight against the Docker daemon as a baseline, and reports throughput
// and latency percentiles per operation. A probe measures whether health
// and list requests stall while the workload runs.
package stress

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/docker"
)

// Exit codes of Main.
const (
	exitOK      = 0
	exitFailed  = 1
	exitInvalid = 2
)

// Main runs `sessiond stress` with args, which exclude the subcommand. It
// writes the report to stdout and the progress lines and errors to stderr.
// It returns the exit code: 0 for a clean run, 1 for a failed one and 2 for
// invalid flags. SIGINT and SIGTERM end the workload early; the cleanup still runs,
// and a second signal stops the process at once.
func Main(args []string, stdout, stderr io.Writer) int {
	opts, fs, err := parseOptions(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage(fs))
		return exitOK
	}
	if err != nil {
		// errors.Join puts one error on each line.
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "sessiond stress: %s\n", line)
		}
		fmt.Fprintln(stderr, "Run 'sessiond stress -h' to list the flags.")
		return exitInvalid
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Restoring the default handling after the first signal lets a second
	// one end the process during a slow cleanup.
	stopAfter := context.AfterFunc(ctx, func() {
		stop()
		fmt.Fprintln(stderr, "sessiond stress: interrupted, cleaning up; interrupt again to quit at once")
	})
	// stop cancels ctx as well, so the message above is disarmed first.
	defer stopAfter()

	return run(ctx, opts, newRunID(), stdout, stderr)
}

// newRunID returns 8 random hex digits that name the run's users and
// containers.
func newRunID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; the time still
		// separates runs.
		return strconv.FormatInt(time.Now().UnixNano()%1e8, 16)
	}
	return hex.EncodeToString(b[:])
}

// run connects to the target that opts name and executes the run. When ctx
// is canceled, the workload ends early and the cleanup still runs.
func run(ctx context.Context, opts options, runID string, stdout, stderr io.Writer) int {
	rec := newRecorder()
	b, err := newBackend(ctx, opts, runID, rec, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sessiond stress: %v\n", err)
		return exitFailed
	}
	defer b.close()
	return execute(ctx, opts, runID, b, rec, stdout, stderr)
}

// execute runs the workload on b after a preflight check, then cleans up
// and reports. rec must be the recorder that b records into.
func execute(ctx context.Context, opts options, runID string, b backend, rec *recorder, stdout, stderr io.Writer) int {
	checkCtx, cancelCheck := context.WithTimeout(ctx, opts.timeout)
	err := b.check(checkCtx)
	cancelCheck()
	if err != nil {
		fmt.Fprintf(stderr, "sessiond stress: %v\n", err)
		return exitFailed
	}

	// The run's deadline starts after the check, so that a slow check does
	// not shorten the workload.
	runCtx, cancelRun := context.WithTimeout(ctx, opts.duration)
	defer cancelRun()
	rec.bind(runCtx)

	r := newRunner(opts, b, rec, runID)
	probes := b.probes()
	probeNames := make([]string, len(probes))
	for i, p := range probes {
		probeNames[i] = p.name
	}

	startedAt := time.Now()
	waitProbes := startProbes(runCtx, probes, opts.probeInterval, opts.timeout, rec)
	waitProgress := startProgress(runCtx, stderr, r, probes)
	r.run(runCtx)
	elapsed := time.Since(startedAt)
	// Ending the run's context stops the probes, and the recorder counts a
	// probe request cut short by it as canceled rather than failed.
	cancelRun()
	waitProbes()
	waitProgress()
	interrupted := ctx.Err() != nil

	// The cleanup gets its own context because the run's has ended, and an
	// interrupt must not skip it.
	cleanupCtx, cancelCleanup := context.WithTimeout(context.Background(), opts.cleanupTimeout)
	cleaned := r.cleanup(cleanupCtx)
	cancelCleanup()

	report := &Report{
		RunID:       runID,
		Target:      opts.target.String(),
		Baseline:    opts.baseline,
		Scenario:    opts.scenario,
		StartedAt:   startedAt.UTC(),
		ElapsedS:    round3(elapsed.Seconds()),
		Interrupted: interrupted,
		Settings:    settingsOf(opts),
		Sessions: SessionCounts{
			Started:   int(r.started.Load()),
			Ready:     int(r.ready.Load()),
			Completed: int(r.completed.Load()),
			CleanedUp: cleaned.released + cleaned.swept,
			Leftover:  cleaned.leftover,
		},
		Operations: buildOperations(rec, probeNames, b.descriptions(), elapsed),
	}
	if opts.baseline == baselineRawDocker {
		report.Target = "docker"
	}
	return finish(report, cleaned, opts, runID, stdout, stderr)
}

// finish writes the report and decides the exit code.
func finish(report *Report, cleaned cleanupResult, opts options, runID string, stdout, stderr io.Writer) int {
	code := exitOK
	if err := report.writeText(stdout); err != nil {
		fmt.Fprintf(stderr, "sessiond stress: write report: %v\n", err)
		code = exitFailed
	}
	if opts.jsonPath != "" {
		if err := writeJSONFile(opts.jsonPath, report); err != nil {
			fmt.Fprintf(stderr, "sessiond stress: %v\n", err)
			code = exitFailed
		}
	}

	for _, err := range cleaned.errors {
		fmt.Fprintf(stderr, "sessiond stress: cleanup: %v\n", err)
	}
	if cleaned.sweepFailed {
		code = exitFailed
	}
	if cleaned.leftover > 0 {
		code = exitFailed
		if opts.baseline == baselineRawDocker {
			fmt.Fprintf(stderr, "sessiond stress: %d containers were left behind; remove them with: docker rm -f $(docker ps -aq --filter label=%s=%s)\n",
				cleaned.leftover, LabelRun, runID)
		} else {
			fmt.Fprintf(stderr, "sessiond stress: %d sessions of users %s* were left behind; delete them through the API\n",
				cleaned.leftover, userPrefix(runID))
		}
	}
	if report.Interrupted {
		code = exitFailed
	}
	if kinds := report.failedKinds(); len(kinds) > 0 {
		fmt.Fprintf(stderr, "sessiond stress: operations failed: %s\n", strings.Join(kinds, ", "))
		code = exitFailed
	}
	return code
}

func writeJSONFile(path string, report *Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	if err := report.writeJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("write JSON report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write JSON report %s: %w", path, err)
	}
	return nil
}

// newBackend connects to the target that opts name.
func newBackend(ctx context.Context, opts options, runID string, rec *recorder, stderr io.Writer) (backend, error) {
	if opts.baseline != baselineRawDocker {
		return newAPIBackend(opts, runID, rec), nil
	}

	// Warnings such as "daemon not reachable" would repeat what the check
	// reports, so only errors are logged.
	logger := hclog.New(&hclog.LoggerOptions{Name: "stress", Level: hclog.Error, Output: stderr})
	dockerOpts := docker.Options{
		// One idle connection per worker and probe, as for the API client.
		MaxIdleConns: opts.workers + 8,
		CertPath:     os.Getenv("DOCKER_CERT_PATH"),
		TLSVerify:    envTrue(os.Getenv("DOCKER_TLS_VERIFY")),
	}
	connectCtx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	client, err := docker.Connect(connectCtx, dockerOpts, logger)
	if err != nil {
		return nil, err
	}
	return newDockerBackend(client, func() { client.Close() }, opts, runID), nil
}

// envTrue reads a boolean environment variable as sessiond does: empty,
// false and 0 are false, and any other value is true.
func envTrue(value string) bool {
	if value == "" {
		return false
	}
	parsed, err := strconv.ParseBool(value)
	return err != nil || parsed
}

func settingsOf(opts options) Settings {
	return Settings{
		Concurrency:     opts.workers,
		Users:           opts.users,
		Sessions:        opts.sessions,
		RampS:           round3(opts.ramp.Seconds()),
		DurationS:       round3(opts.duration.Seconds()),
		WaitS:           round3(opts.wait.Seconds()),
		CreateWaitS:     round3(opts.createWait.Seconds()),
		HoldS:           round3(opts.hold.Seconds()),
		PollIntervalMS:  milliseconds(opts.pollInterval),
		ProbeIntervalMS: milliseconds(opts.probeInterval),
		Image:           opts.image,
	}
}

// round3 rounds x to three decimals.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
