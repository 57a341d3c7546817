package stress

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Scenario names accepted by --scenario.
const (
	scenarioCreateReadyDelete = "create-ready-delete"
	scenarioCreateHold        = "create-hold"
	scenarioBurst             = "burst"
)

// baselineRawDocker is the only value of --baseline.
const baselineRawDocker = "raw-docker"

// maxServerWait is the longest ?wait that sessiond accepts with its default
// settings (httpapi.DefaultMaxWait). The harness never sends a longer one.
const maxServerWait = 60 * time.Second

// options are the parsed and validated flags of one run.
type options struct {
	target   *url.URL
	token    string
	baseline string
	scenario string

	// workers is the number of sessions in progress at once: --concurrency,
	// or the burst size for the burst scenario.
	workers int
	// users is the number of distinct user names that sessions rotate over.
	users int
	// sessions caps the sessions of the run. With 0, only --duration ends
	// the run.
	sessions int

	ramp           time.Duration
	duration       time.Duration
	wait           time.Duration
	createWait     time.Duration
	hold           time.Duration
	pollInterval   time.Duration
	probeInterval  time.Duration
	timeout        time.Duration
	cleanupTimeout time.Duration

	image         string
	containerPort int
	healthPath    string
	jsonPath      string
}

// Defaults of the flags.
const (
	defaultTarget         = "http://127.0.0.1:8080"
	defaultConcurrency    = 10
	defaultDuration       = time.Minute
	defaultWait           = time.Minute
	defaultHold           = 10 * time.Second
	defaultPollInterval   = 100 * time.Millisecond
	defaultProbeInterval  = 100 * time.Millisecond
	defaultTimeout        = 30 * time.Second
	defaultCleanupTimeout = 2 * time.Minute
	defaultImage          = "sessiond-sandbox:latest"
	defaultContainerPort  = 8080
	defaultHealthPath     = "/healthz"
)

const usageHeader = `Usage: sessiond stress [flags]

Drives a running sessiond through its HTTP API with concurrent sessions, or
with --baseline raw-docker runs the same workload straight against the Docker
daemon. While the workload runs, a probe repeats GET /healthz and
GET /v1/sessions (Docker ping and list for the baseline) to show whether
anything stalls. At the end it prints count, errors, throughput and latency
percentiles per operation.

Scenarios:
  create-ready-delete  each worker creates a session, waits until it is ready,
                       deletes it and starts the next one
  create-hold          as create-ready-delete, but each ready session is kept
                       for --hold while its status is polled every
                       --poll-interval
  burst                all --sessions creates start at the same instant, then
                       each session is awaited and deleted

The run ends when --sessions sessions are done or --duration has passed,
whichever comes first. Operations still in flight at that moment are counted
as canceled, and what they made is deleted afterwards.

Exit status: 0 when the run finished and every operation either succeeded or
was rejected with 429; 1 when the target did not respond, the run was
interrupted, another error occurred or something was left behind; 2 for
invalid flags.

Flags:
`

func usage(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString(usageHeader)
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// flagValues are the raw flag values before validation.
type flagValues struct {
	target         string
	token          string
	baseline       string
	scenario       string
	users          int
	concurrency    int
	sessions       int
	ramp           time.Duration
	duration       time.Duration
	wait           time.Duration
	createWait     time.Duration
	hold           time.Duration
	pollInterval   time.Duration
	probeInterval  time.Duration
	timeout        time.Duration
	cleanupTimeout time.Duration
	image          string
	containerPort  int
	healthPath     string
	jsonPath       string
}

func newFlagSet(v *flagValues) *flag.FlagSet {
	fs := flag.NewFlagSet("sessiond stress", flag.ContinueOnError)
	fs.SetOutput(io.Discard)

	fs.StringVar(&v.target, "target", defaultTarget, "base `URL` of the sessiond HTTP API")
	fs.StringVar(&v.token, "token", "",
		"bearer `token` for /v1 requests; defaults to the API_TOKEN environment variable, which other users cannot read in the process list")
	fs.StringVar(&v.baseline, "baseline", "",
		"`name` of a baseline to run instead of sessiond; the only one is raw-docker, which calls the Docker daemon named by DOCKER_HOST")
	fs.StringVar(&v.scenario, "scenario", scenarioCreateReadyDelete,
		"workload `name`: create-ready-delete, create-hold or burst")
	fs.IntVar(&v.users, "users", 0,
		"distinct user names that sessions rotate over; 0 means one per worker")
	fs.IntVar(&v.concurrency, "concurrency", defaultConcurrency,
		"sessions in progress at once (workers); for burst, the burst size when --sessions is not set")
	fs.IntVar(&v.sessions, "sessions", 0,
		"total sessions of the run; 0 means as many as fit in --duration")
	fs.DurationVar(&v.ramp, "ramp", 0,
		"time over which the workers start, evenly spaced; 0 starts them all at once")
	fs.DurationVar(&v.duration, "duration", defaultDuration,
		"time limit of the workload; operations still in flight then are canceled")
	fs.DurationVar(&v.wait, "wait", defaultWait,
		"time limit for a session to become ready after its create request, and for a delete to finish")
	fs.DurationVar(&v.createWait, "create-wait", 0,
		"?wait sent with POST /v1/sessions, at most 60s; 0 makes sessiond reply 202 at once so that time to accepted and time to ready are measured apart")
	fs.DurationVar(&v.hold, "hold", defaultHold,
		"time each ready session is kept in the create-hold scenario")
	fs.DurationVar(&v.pollInterval, "poll-interval", defaultPollInterval,
		"pause between status polls while waiting for ready or stopped and while holding")
	fs.DurationVar(&v.probeInterval, "probe-interval", defaultProbeInterval,
		"pause between the probe's requests, separately for each probed path")
	fs.DurationVar(&v.timeout, "timeout", defaultTimeout,
		"time limit of each HTTP request or Docker call, on top of any ?wait it sends")
	fs.DurationVar(&v.cleanupTimeout, "cleanup-timeout", defaultCleanupTimeout,
		"time limit for deleting what the run left behind after the workload")
	fs.StringVar(&v.image, "image", "",
		"session `image`; sent in each create request when set, and used by the raw-docker baseline (default "+defaultImage+" there)")
	fs.IntVar(&v.containerPort, "container-port", defaultContainerPort,
		"container `port` that the raw-docker baseline publishes on 127.0.0.1 and probes")
	fs.StringVar(&v.healthPath, "health-path", defaultHealthPath,
		"HTTP `path` that the raw-docker baseline probes until it returns 200")
	fs.StringVar(&v.jsonPath, "json", "", "also write the report as JSON to `file`")
	return fs
}

// parseOptions parses and validates args. getenv reads API_TOKEN, the
// token's default. It returns flag.ErrHelp for -h and an error that names
// the flag and its allowed values for anything invalid.
func parseOptions(args []string, getenv func(string) string) (options, *flag.FlagSet, error) {
	var v flagValues
	fs := newFlagSet(&v)
	if err := fs.Parse(args); err != nil {
		return options{}, fs, err
	}
	if fs.NArg() > 0 {
		return options{}, fs, fmt.Errorf("unexpected argument %q: sessiond stress takes only flags", fs.Arg(0))
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["token"] {
		v.token = getenv("API_TOKEN")
	}

	opts, err := validate(v, set)
	return opts, fs, err
}

// validate checks every flag value and the combinations that do not apply.
// set names the flags given on the command line.
func validate(v flagValues, set map[string]bool) (options, error) {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	switch v.scenario {
	case scenarioCreateReadyDelete, scenarioCreateHold, scenarioBurst:
	default:
		fail("invalid --scenario %q: use %s, %s or %s",
			v.scenario, scenarioCreateReadyDelete, scenarioCreateHold, scenarioBurst)
	}
	if v.baseline != "" && v.baseline != baselineRawDocker {
		fail("invalid --baseline %q: the only baseline is %s", v.baseline, baselineRawDocker)
	}

	target, err := parseTarget(v.target)
	if err != nil {
		fail("invalid --target %q: %v", v.target, err)
	}

	checkInt := func(name string, value, low, high int) {
		if value < low || value > high {
			fail("invalid --%s %d: use an integer from %d to %d", name, value, low, high)
		}
	}
	checkInt("concurrency", v.concurrency, 1, 10_000)
	checkInt("users", v.users, 0, 1_000_000)
	checkInt("sessions", v.sessions, 0, 1_000_000)
	checkInt("container-port", v.containerPort, 1, 65535)

	checkDuration := func(name string, value, low, high time.Duration) {
		if value < low || value > high {
			fail("invalid --%s %s: use a Go duration from %s to %s", name, value, low, high)
		}
	}
	checkDuration("duration", v.duration, time.Millisecond, 24*time.Hour)
	checkDuration("ramp", v.ramp, 0, 24*time.Hour)
	checkDuration("wait", v.wait, time.Millisecond, time.Hour)
	checkDuration("create-wait", v.createWait, 0, maxServerWait)
	checkDuration("hold", v.hold, 0, 24*time.Hour)
	checkDuration("poll-interval", v.pollInterval, time.Millisecond, time.Minute)
	checkDuration("probe-interval", v.probeInterval, time.Millisecond, time.Minute)
	checkDuration("timeout", v.timeout, time.Millisecond, time.Hour)
	checkDuration("cleanup-timeout", v.cleanupTimeout, time.Second, time.Hour)
	if v.ramp > 0 && v.ramp >= v.duration {
		fail("invalid --ramp %s: it must be shorter than --duration %s", v.ramp, v.duration)
	}

	if !strings.HasPrefix(v.healthPath, "/") || strings.ContainsAny(v.healthPath, " \t\r\n") {
		fail("invalid --health-path %q: use a path that starts with / and has no whitespace", v.healthPath)
	}
	if strings.ContainsAny(v.image, " \t\r\n") {
		fail("invalid --image %q: an image reference has no whitespace", v.image)
	}

	errs = append(errs, checkApplicable(v, set)...)

	workers := v.concurrency
	if v.scenario == scenarioBurst {
		workers, err = burstSize(v, set)
		if err != nil {
			errs = append(errs, err)
		}
	}

	if len(errs) > 0 {
		return options{}, errors.Join(errs...)
	}

	opts := options{
		target:         target,
		token:          v.token,
		baseline:       v.baseline,
		scenario:       v.scenario,
		workers:        workers,
		users:          v.users,
		sessions:       v.sessions,
		ramp:           v.ramp,
		duration:       v.duration,
		wait:           v.wait,
		createWait:     v.createWait,
		hold:           v.hold,
		pollInterval:   v.pollInterval,
		probeInterval:  v.probeInterval,
		timeout:        v.timeout,
		cleanupTimeout: v.cleanupTimeout,
		image:          v.image,
		containerPort:  v.containerPort,
		healthPath:     v.healthPath,
		jsonPath:       v.jsonPath,
	}
	if opts.users == 0 {
		opts.users = workers
	}
	if opts.baseline == baselineRawDocker && opts.image == "" {
		opts.image = defaultImage
	}
	if opts.scenario == scenarioBurst {
		opts.sessions = workers
	}
	if opts.scenario != scenarioCreateHold {
		opts.hold = 0
	}
	return opts, nil
}

// checkApplicable rejects flags that were given but have no effect with the
// chosen scenario or baseline, so that a typo in a script does not go
// unnoticed.
func checkApplicable(v flagValues, set map[string]bool) []error {
	var errs []error
	if set["hold"] && v.scenario != scenarioCreateHold {
		errs = append(errs, fmt.Errorf("--hold applies only to --scenario %s, not %s", scenarioCreateHold, v.scenario))
	}
	if set["ramp"] && v.scenario == scenarioBurst {
		errs = append(errs, fmt.Errorf("--ramp does not apply to --scenario %s, which starts every create at the same instant", scenarioBurst))
	}
	if v.baseline == baselineRawDocker {
		for _, name := range []string{"target", "token", "create-wait"} {
			if set[name] {
				errs = append(errs, fmt.Errorf("--%s does not apply to --baseline %s, which calls the Docker daemon instead of sessiond",
					name, baselineRawDocker))
			}
		}
	} else {
		for _, name := range []string{"container-port", "health-path"} {
			if set[name] {
				errs = append(errs, fmt.Errorf("--%s applies only to --baseline %s; sessiond's own settings decide it otherwise",
					name, baselineRawDocker))
			}
		}
	}
	return errs
}

// burstSize returns the number of creates in a burst: --sessions when set,
// otherwise --concurrency.
func burstSize(v flagValues, set map[string]bool) (int, error) {
	if v.sessions == 0 {
		return v.concurrency, nil
	}
	if set["concurrency"] && v.concurrency != v.sessions {
		return 0, fmt.Errorf("--concurrency %d and --sessions %d disagree: --scenario %s runs all sessions at once, so set one of them",
			v.concurrency, v.sessions, scenarioBurst)
	}
	return v.sessions, nil
}

// parseTarget accepts an absolute http or https URL without query or
// fragment. A trailing slash is dropped so that API paths can be appended.
func parseTarget(raw string) (*url.URL, error) {
	target, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if target.Scheme != "http" && target.Scheme != "https" {
		return nil, errors.New("use an http:// or https:// URL such as " + defaultTarget)
	}
	if target.Host == "" {
		return nil, errors.New("the URL has no host; use a URL such as " + defaultTarget)
	}
	if target.RawQuery != "" || target.Fragment != "" {
		return nil, errors.New("the URL must not have a query or fragment")
	}
	target.Path = strings.TrimSuffix(target.Path, "/")
	target.RawPath = ""
	return target, nil
}
