// Command bench measures sessiond under load against the raw Docker daemon
// and writes docs/benchmarks.md. For each configuration and workload it
// starts bin/sessiond on a free loopback port, runs the stress harness
// against it in this process, stops it and checks that no container is
// left. The raw-Docker baseline runs the same workloads without sessiond.
// It also runs the Go benchmarks of the actors. `make bench` builds
// bin/sessiond and the sandbox image first and then runs it. It needs the
// local Docker daemon and takes up to about 15 minutes.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/docker"
	"github.com/sessiond/sessiond/stress"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// options are the command-line flags.
type options struct {
	sessiond  string
	out       string
	image     string
	goCommand string
	budget    time.Duration
	scale     float64
	keepLogs  bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var opts options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.sessiond, "sessiond", "bin/sessiond", "path of the sessiond `binary` to measure")
	fs.StringVar(&opts.out, "out", "docs/benchmarks.md", "Markdown `file` to write the results to")
	fs.StringVar(&opts.image, "image", "sessiond-sandbox:latest", "session `image` for sessiond and raw Docker")
	fs.StringVar(&opts.goCommand, "go", "go", "go `command` that runs the Go benchmarks")
	fs.DurationVar(&opts.budget, "budget", 13*time.Minute,
		"time limit of the whole benchmark; runs get shares of it, and the last runs are shrunk or cut short when it runs out")
	fs.Float64Var(&opts.scale, "scale", 1,
		"factor on every session count, from 0.01 to 1, for a quick trial; the results then are not the standard workloads")
	fs.BoolVar(&opts.keepLogs, "keep-logs", false, "keep the sessiond logs and harness reports even after a clean run")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q: bench takes only flags", fs.Arg(0))
	}
	if opts.scale < 0.01 || opts.scale > 1 {
		return opts, fmt.Errorf("invalid --scale %v: use a number from 0.01 to 1", opts.scale)
	}
	if opts.budget < time.Minute {
		return opts, fmt.Errorf("invalid --budget %s: use at least 1m", opts.budget)
	}
	return opts, nil
}

// run returns the exit code: 0 when the page was written and every run
// ended cleanly, 1 when a run failed, left containers or was interrupted,
// and 2 for invalid flags. Missed targets are results, not failures.
func run(args []string, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal the default handling returns, so a second one
	// ends the benchmark at once. Its sessiond children then get SIGTERM
	// from the kernel (Pdeathsig) and remove their containers themselves.
	stopAfter := context.AfterFunc(ctx, func() {
		stop()
		fmt.Fprintln(stderr, "bench: interrupted; stopping sessiond and removing containers; interrupt again to quit at once")
	})
	defer stopAfter()

	b, err := newBencher(ctx, opts, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	defer b.close()
	return b.run(ctx)
}

// endReserve is kept free at the end of the budget for the final sweep and
// for writing the page.
const endReserve = 30 * time.Second

// bencher runs the benchmark.
type bencher struct {
	opts    options
	runID   string
	engine  *docker.Client
	logDir  string
	stderr  io.Writer
	started time.Time
	// deadline is when the budget runs out.
	deadline  time.Time
	estimator *estimator
	failed    bool
}

func newBencher(ctx context.Context, opts options, stderr io.Writer) (*bencher, error) {
	if _, err := os.Stat(opts.sessiond); err != nil {
		return nil, fmt.Errorf("sessiond binary: %w; run `make build` first", err)
	}
	started := time.Now()
	runID := newRunID()

	logger := hclog.New(&hclog.LoggerOptions{Name: "bench", Level: hclog.Error, Output: stderr})
	connectCtx, cancel := context.WithTimeout(ctx, dockerCallTimeout)
	defer cancel()
	engine, err := docker.Connect(connectCtx, docker.Options{
		CertPath:  os.Getenv("DOCKER_CERT_PATH"),
		TLSVerify: envTrue(os.Getenv("DOCKER_TLS_VERIFY")),
	}, logger)
	if err != nil {
		return nil, err
	}
	if err := engine.Ping(connectCtx); err != nil {
		engine.Close()
		return nil, fmt.Errorf("docker daemon does not respond (set DOCKER_HOST to choose another): %w", err)
	}

	logDir, err := os.MkdirTemp("", "sessiond-bench-"+runID+"-")
	if err != nil {
		engine.Close()
		return nil, fmt.Errorf("create the log directory: %w", err)
	}
	return &bencher{
		opts:      opts,
		runID:     runID,
		engine:    engine,
		logDir:    logDir,
		stderr:    stderr,
		started:   started,
		deadline:  started.Add(opts.budget),
		estimator: newEstimator(),
	}, nil
}

// close removes the log directory after a clean run and reports where it
// is otherwise.
func (b *bencher) close() {
	b.engine.Close()
	if b.failed || b.opts.keepLogs {
		fmt.Fprintf(b.stderr, "bench: sessiond logs and harness reports are in %s\n", b.logDir)
		return
	}
	os.RemoveAll(b.logDir)
}

func (b *bencher) logf(format string, args ...any) {
	elapsed := time.Since(b.started).Round(time.Second)
	fmt.Fprintf(b.stderr, "bench: %s: %s\n", elapsed, fmt.Sprintf(format, args...))
}

func (b *bencher) run(ctx context.Context) int {
	b.logf("run %s, budget %s, logs in %s", b.runID, b.opts.budget, b.logDir)
	report := &benchRun{
		runID:          b.runID,
		started:        b.started,
		budget:         b.opts.budget,
		scale:          b.opts.scale,
		loadStart:      loadAverage(),
		commonSettings: commonSettings(b.runID, "bench-"+b.runID+"-<run>", b.opts.image),
	}
	report.machine = readMachine(ctx, b.engine.APIVersion())

	for _, args := range [][]string{memoryBenchArgs, actorBenchArgs} {
		if ctx.Err() != nil {
			break
		}
		b.logf("go %v", args)
		goRun := runGoBench(ctx, b.opts.goCommand, args)
		if goRun.failure != "" {
			b.logf("go test failed: %s", goRun.failure)
		}
		report.goBench = append(report.goBench, goRun)
	}

	plan := buildPlan()
	for i := range plan {
		plan[i].load = plan[i].load.scaled(b.opts.scale)
	}
	for i, spec := range plan {
		if ctx.Err() != nil {
			break
		}
		var later time.Duration
		for _, next := range plan[i+1:] {
			later += b.estimator.estimate(next)
		}
		remaining := time.Until(b.deadline) - endReserve
		limits := b.estimator.limitRun(spec, remaining, later, len(plan)-i-1)
		r := b.runOne(ctx, spec, limits, i+1, len(plan))
		report.results.runs = append(report.results.runs, r)
		if r.usable() {
			b.estimator.observe(r.spec, r.report.Sessions.Completed, time.Duration(r.report.ElapsedS*float64(time.Second)))
		}
		if r.failure != "" || r.leftovers > 0 || r.cleanupProblem != "" {
			b.failed = true
		}
	}

	// A last sweep finds anything of this benchmark that a run's own check
	// missed, such as containers of a sessiond that was killed.
	if leftovers, err := removeLeftovers(b.engine, map[string]string{benchLabel: b.runID}); err != nil || leftovers > 0 {
		b.failed = true
		note := fmt.Sprintf("The final sweep removed %d containers labelled %s=%s", leftovers, benchLabel, b.runID)
		if err != nil {
			note += fmt.Sprintf(" and failed: %v", err)
		}
		report.notes = append(report.notes, note+".")
		b.logf("%s", note)
	}
	if ctx.Err() != nil {
		b.failed = true
		b.logf("interrupted; %s was not written", b.opts.out)
		return 1
	}

	report.elapsed = time.Since(b.started)
	report.loadEnd = loadAverage()
	if report.elapsed > b.opts.budget {
		report.notes = append(report.notes, fmt.Sprintf("The run took %s, over its budget of %s.",
			formatDuration(report.elapsed), formatDuration(b.opts.budget)))
	}
	if err := writeDoc(b.opts.out, renderDoc(report)); err != nil {
		b.failed = true
		b.logf("%v", err)
		return 1
	}
	b.logf("wrote %s", b.opts.out)
	for _, t := range evaluateTargets(report.results, findGoBench(report.goBench, "BenchmarkIdleSessionMemory")) {
		fmt.Fprintf(b.stderr, "  %-12s %s: %s\n", t.status, t.target, t.measured)
	}
	if b.failed {
		return 1
	}
	return 0
}

// runOne runs one workload against one configuration and checks for
// leftovers afterwards.
func (b *bencher) runOne(ctx context.Context, spec runSpec, limits runLimits, index, total int) *runResult {
	r := &runResult{
		spec:            runSpec{cfg: spec.cfg, load: limits.load},
		planned:         spec.load,
		duration:        limits.duration,
		loadBefore:      loadAverage(),
		otherContainers: countContainers(b.engine),
	}
	start := time.Now()
	prefix := fmt.Sprintf("  [%s] ", spec.id())
	shrunk := ""
	if limits.shrunk {
		shrunk = fmt.Sprintf(", shrunk from %d sessions", spec.load.sessions)
	}
	b.logf("run %d of %d: %s, %s, %d sessions%s, time limit %s", index, total, spec.cfg.title,
		describeWorkload(limits.load), limits.load.sessions, shrunk, formatDuration(limits.duration))

	jsonPath := filepath.Join(b.logDir, spec.id()+".json")
	textPath := filepath.Join(b.logDir, spec.id()+".txt")
	if spec.cfg.raw {
		args := harnessArgs(r.spec, limits.load, "", b.opts.image, limits.duration, jsonPath)
		b.harness(r, args, jsonPath, textPath, prefix)
		if r.report != nil {
			b.checkLeftovers(r, map[string]string{stress.LabelRun: r.report.RunID})
		} else {
			r.cleanupProblem = "the harness wrote no report, so its run id and containers are unknown"
		}
	} else {
		b.runSessiond(ctx, r, prefix, jsonPath, textPath)
	}
	r.wall = time.Since(start)
	b.logf("%s", summarize(r))
	return r
}

// runSessiond starts sessiond for r's configuration, runs the harness
// against it, stops it and checks for leftovers.
func (b *bencher) runSessiond(ctx context.Context, r *runResult, prefix, jsonPath, textPath string) {
	instance := "bench-" + b.runID + "-" + r.spec.id()
	common := commonSettings(b.runID, instance, b.opts.image)
	logPath := filepath.Join(b.logDir, r.spec.id()+".log")
	labels := map[string]string{benchLabel: b.runID, docker.LabelInstance: instance}

	p, ready, err := startSessiond(ctx, b.opts.sessiond, sessiondEnv(os.Getenv, common, r.spec.cfg.env), logPath)
	if err != nil {
		r.failure = err.Error()
		b.checkLeftovers(r, labels)
		return
	}
	defer func() {
		r.sessiondExit = p.stop()
		r.sessiondWarnings = countWarnings(logPath)
		b.checkLeftovers(r, labels)
	}()

	r.limitStart = ready.ConcurrencyLimit
	if problem := checkReadiness(r.spec.cfg, ready); problem != "" {
		r.failure = problem
		return
	}
	args := harnessArgs(r.spec, r.spec.load, p.baseURL, b.opts.image, r.duration, jsonPath)
	b.harness(r, args, jsonPath, textPath, prefix)
	if after, err := p.currentReadiness(); err == nil {
		r.limitEnd = after.ConcurrencyLimit
	}
}

// commonSettings are the sessiond settings of every configuration. The
// limits on sessions are far above the 200 sessions of the largest run, so
// that no create is rejected by them. The text log format is what
// countWarnings reads.
func commonSettings(runID, instance, image string) map[string]string {
	return map[string]string{
		"MAX_SESSIONS":          "1000",
		"MAX_SESSIONS_PER_USER": "1000",
		"LOG_LEVEL":             "warn",
		"LOG_FORMAT":            "text",
		"SESSIOND_INSTANCE":     instance,
		"CONTAINER_LABELS":      benchLabel + "=" + runID,
		"SESSION_IMAGE":         image,
	}
}

// checkReadiness compares /readyz with what the configuration sets, so
// that a setting sessiond ignored does not go unnoticed.
func checkReadiness(cfg config, ready readiness) string {
	if ready.Mode != cfg.wantMode {
		return fmt.Sprintf("/readyz shows mode %q, expected %q", ready.Mode, cfg.wantMode)
	}
	if cfg.wantWorkers > 0 && ready.Workers != cfg.wantWorkers {
		return fmt.Sprintf("/readyz shows %d workers, expected %d", ready.Workers, cfg.wantWorkers)
	}
	if cfg.wantLimit > 0 && ready.ConcurrencyLimit != cfg.wantLimit {
		return fmt.Sprintf("/readyz shows concurrency limit %d, expected %d", ready.ConcurrencyLimit, cfg.wantLimit)
	}
	return ""
}

func (b *bencher) harness(r *runResult, args []string, jsonPath, textPath, prefix string) {
	report, code, err := runHarness(args, jsonPath, textPath, b.stderr, prefix)
	r.report, r.exitCode = report, code
	if err != nil {
		r.failure = err.Error()
	}
}

func (b *bencher) checkLeftovers(r *runResult, labels map[string]string) {
	leftovers, err := removeLeftovers(b.engine, labels)
	r.leftovers = leftovers
	if err != nil {
		r.cleanupProblem = err.Error()
	}
	if leftovers > 0 {
		b.logf("removed %d leftover containers labelled %s", leftovers, formatLabels(labels))
	}
}

// summarize returns one progress line about a finished run.
func summarize(r *runResult) string {
	if !r.usable() {
		return fmt.Sprintf("%s failed after %s: %s", r.spec.id(), formatDuration(r.wall), r.failure)
	}
	cycle, _ := r.op(opCycle)
	ready, _ := r.op(opReady)
	rejected, other := r.errorCounts()
	line := fmt.Sprintf("%s: %d of %d cycles, %.2f cycles/s, ready p50 %s s p99 %s s, errors %d, 429 %d, wall %s",
		r.spec.id(), cycle.OK, r.spec.load.sessions, cycle.ThroughputPerS, formatSeconds(ready.P50MS),
		formatSeconds(ready.P99MS), other, rejected, formatDuration(r.wall))
	if r.leftovers > 0 {
		line += fmt.Sprintf(", %d leftovers removed", r.leftovers)
	}
	return line
}

// writeDoc writes the page through a temporary file, so that an error
// leaves the previous page in place.
func writeDoc(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// newRunID returns 8 random hex digits that name the benchmark's sessiond
// instances and label its containers.
func newRunID() string {
	var buf [4]byte
	if _, err := rand.Read(buf[:]); err != nil {
		// crypto/rand does not fail on supported platforms, and the time
		// still separates runs.
		return strconv.FormatInt(time.Now().UnixNano()%1e8, 16)
	}
	return hex.EncodeToString(buf[:])
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
