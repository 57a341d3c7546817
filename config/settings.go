package config

import (
	"strings"
	"time"
)

// Bounds shared by several settings.
const (
	// minSessionMemory is the Docker daemon's minimum memory limit,
	// linuxMinMemory in moby's daemon/daemon_unix.go: 6291456 bytes in
	// v28.5.2, although the daemon's error message calls it "6MB".
	minSessionMemory = 6 << 20
	// minSessionCPUs is the smallest CPU limit that works. Docker turns CPUs
	// into a CFS quota per 100ms period, and moby's daemon/daemon_unix.go
	// names 1ms as the smallest quota.
	minSessionCPUs = 0.01
	// maxSessionCPUs is a sanity bound, not the host's CPU count, because
	// the daemon may run on another machine. The daemon itself rejects a
	// container with more CPUs than it has.
	maxSessionCPUs = 1024
)

// setting is one environment variable and its flag.
type setting struct {
	env string
	// def is the default in the syntax the setting accepts.
	def string
	// defText replaces def in Usage where def alone would mislead.
	defText string
	help    string
	value   value
	// secret keeps the value out of error messages.
	secret bool
}

// flagName returns the flag for the variable: LISTEN_ADDR has --listen-addr.
func (s *setting) flagName() string {
	return strings.ToLower(strings.ReplaceAll(s.env, "_", "-"))
}

// isBool reports whether the flag may be given without a value.
func (s *setting) isBool() bool {
	_, ok := s.value.(boolValue)
	return ok
}

// settings lists every setting in the order Usage prints them and Load
// reports their errors.
var settings = []setting{
	{
		env:   "LISTEN_ADDR",
		def:   "127.0.0.1:8080",
		help:  "Address the HTTP API listens on.",
		value: stringValue{accepted: "host:port with a port from 0 to 65535, such as 127.0.0.1:8080", check: checkListenAddr, store: func(c *Config, s string) { c.ListenAddr = s }},
	},
	{
		env:     "API_TOKEN",
		defText: "empty (no authentication)",
		help:    `Token required as "Authorization: Bearer <token>" on /v1 and /admin routes. Prefer the variable, because other users can read flags in the process list.`,
		value:   stringValue{accepted: "printable ASCII without spaces", check: checkToken, store: func(c *Config, s string) { c.APIToken = s }},
		secret:  true,
	},
	{
		env:   "MAX_BODY_BYTES",
		def:   "64KiB",
		help:  "Largest request body the HTTP API accepts.",
		value: sizeValue{min: 1 << 10, max: 1 << 30, store: func(c *Config, n int64) { c.MaxBodyBytes = n }},
	},
	{
		env:   "USE_ASYNC_DOCKER",
		def:   "true",
		help:  "With true, Docker calls run on the worker pool. With false, each session calls Docker itself and blocks its mailbox meanwhile, which is the baseline for comparisons.",
		value: boolValue{store: func(c *Config, b bool) { c.UseAsyncDocker = b }},
	},
	{
		env:   "DOCKER_OPERATION_TIMEOUT",
		def:   "30",
		help:  "Time limit of each attempt of a Docker call, in seconds.",
		value: secondsValue{min: 0, max: time.Hour, aboveMin: true, store: func(c *Config, d time.Duration) { c.DockerOperationTimeout = d }},
	},
	{
		env:   "DOCKER_RETRIES",
		def:   "2",
		help:  "Retries of a Docker call after a transient failure.",
		value: intValue{min: 0, max: 10, store: func(c *Config, n int64) { c.DockerRetries = int(n) }},
	},
	{
		env:   "DOCKER_RETRY_BACKOFF",
		def:   "200ms",
		help:  "Delay before the first retry of a Docker call. It doubles with each attempt, with jitter.",
		value: durationValue{min: 0, max: time.Minute, store: func(c *Config, d time.Duration) { c.DockerRetryBackoff = d }},
	},
	{
		env:   "ASYNC_POOL_SIZE",
		def:   "20",
		help:  "Docker workers, which is the number of Docker calls in flight at once.",
		value: intValue{min: 1, max: 1000, store: func(c *Config, n int64) { c.AsyncPoolSize = int(n) }},
	},
	{
		env:   "DOCKER_ADAPTIVE_LIMIT",
		def:   "true",
		help:  "With true, the number of Docker calls in flight adapts between DOCKER_LIMIT_MIN and ASYNC_POOL_SIZE to the create latency the pool measures, so that calls wait in sessiond's queue instead of inside the daemon. With false, ASYNC_POOL_SIZE calls run at once.",
		value: boolValue{store: func(c *Config, b bool) { c.DockerAdaptiveLimit = b }},
	},
	{
		env:   "DOCKER_LIMIT_MIN",
		def:   "1",
		help:  "Lowest adaptive limit of Docker calls in flight; values above ASYNC_POOL_SIZE are capped to it.",
		value: intValue{min: 1, max: 1000, store: func(c *Config, n int64) { c.DockerLimitMin = int(n) }},
	},
	{
		env:   "DOCKER_LIMIT_INITIAL",
		def:   "1",
		help:  "Adaptive limit of Docker calls in flight at start, kept between DOCKER_LIMIT_MIN and ASYNC_POOL_SIZE. With 1, the first create measures the daemon's latency without load.",
		value: intValue{min: 1, max: 1000, store: func(c *Config, n int64) { c.DockerLimitInitial = int(n) }},
	},
	{
		env:   "DOCKER_QUEUE_SIZE",
		def:   "1000",
		help:  "Docker calls that may wait for a free worker. When the queue is full, new sessions are rejected with 429.",
		value: intValue{min: 1, max: 1_000_000, store: func(c *Config, n int64) { c.DockerQueueSize = int(n) }},
	},
	{
		env:     "DOCKER_HOST",
		defText: "empty (the Docker client's default)",
		help:    "Docker daemon address, as for the docker CLI.",
		value:   stringValue{accepted: "empty or an address that starts with unix://, tcp:// or npipe://", check: checkDockerHost, store: func(c *Config, s string) { c.DockerHost = s }},
	},
	{
		env:   "DOCKER_TLS_VERIFY",
		def:   "false",
		help:  "Verify the daemon's TLS certificate. Unlike the docker CLI, which treats any non-empty value as true, false and 0 turn verification off.",
		value: boolValue{store: func(c *Config, b bool) { c.DockerTLSVerify = b }},
	},
	{
		env:     "DOCKER_CERT_PATH",
		defText: "empty",
		help:    "Directory with ca.pem, cert.pem and key.pem for TLS to the daemon.",
		value:   stringValue{accepted: "empty or an existing directory", check: checkDirectory, store: func(c *Config, s string) { c.DockerCertPath = s }},
	},
	{
		env:   "SESSIOND_INSTANCE",
		def:   "sessiond",
		help:  "Value of the sessiond.instance label on every container, so that instances sharing a daemon tell their containers apart.",
		value: stringValue{accepted: "non-empty text without whitespace", check: checkNonEmpty, store: func(c *Config, s string) { c.InstanceID = s }},
	},
	{
		env:     "CONTAINER_LABELS",
		defText: "none",
		help:    "Extra labels put on every session container, such as team=data,env=prod.",
		value:   labelListValue{store: func(c *Config, labels map[string]string) { c.ContainerLabels = labels }},
	},
	{
		env:   "SESSION_IMAGE",
		def:   "sessiond-sandbox:latest",
		help:  "Image of a session whose request sets none. It is always in ALLOWED_IMAGES.",
		value: stringValue{accepted: "an image reference without whitespace", check: checkImage, store: func(c *Config, s string) { c.SessionImage = s }},
	},
	{
		env:     "ALLOWED_IMAGES",
		defText: "SESSION_IMAGE only",
		help:    "Images a request may name, separated by commas. SESSION_IMAGE is added when missing.",
		value:   imageListValue{store: func(c *Config, images []string) { c.AllowedImages = images }},
	},
	{
		env:   "SESSION_PORT",
		def:   "8080",
		help:  "Container port that serves the session. Docker publishes it on 127.0.0.1.",
		value: intValue{min: 1, max: 65535, store: func(c *Config, n int64) { c.SessionPort = int(n) }},
	},
	{
		env:   "SESSION_HEALTH_PATH",
		def:   "/healthz",
		help:  "HTTP path probed on the session port until it returns a success status.",
		value: stringValue{accepted: "a path that starts with / and has no whitespace", check: checkHealthPath, store: func(c *Config, s string) { c.HealthPath = s }},
	},
	{
		env:   "STARTUP_TIMEOUT",
		def:   "60s",
		help:  "Time from container start to the first passing health probe. A session that takes longer fails.",
		value: durationValue{min: 0, max: time.Hour, aboveMin: true, store: func(c *Config, d time.Duration) { c.StartupTimeout = d }},
	},
	{
		env:   "PROBE_INTERVAL",
		def:   "100ms",
		help:  "Pause between health probes, at most STARTUP_TIMEOUT.",
		value: durationValue{min: time.Millisecond, max: time.Minute, store: func(c *Config, d time.Duration) { c.ProbeInterval = d }},
	},
	{
		env:   "DEFAULT_SESSION_MEMORY",
		def:   "256MiB",
		help:  "Memory limit of a session whose request sets none, at most MAX_SESSION_MEMORY.",
		value: sizeValue{min: minSessionMemory, max: 1 << 40, store: func(c *Config, n int64) { c.DefaultMemoryBytes = n }},
	},
	{
		env:   "MAX_SESSION_MEMORY",
		def:   "1GiB",
		help:  "Maximum memory limit a request may set.",
		value: sizeValue{min: minSessionMemory, max: 1 << 40, store: func(c *Config, n int64) { c.MaxMemoryBytes = n }},
	},
	{
		env:   "DEFAULT_SESSION_CPUS",
		def:   "0.5",
		help:  "CPU limit of a session whose request sets none, in CPUs, at most MAX_SESSION_CPUS.",
		value: floatValue{min: minSessionCPUs, max: maxSessionCPUs, store: func(c *Config, f float64) { c.DefaultCPUs = f }},
	},
	{
		env:   "MAX_SESSION_CPUS",
		def:   "2",
		help:  "Maximum CPU limit a request may set, in CPUs. The daemon rejects a container with more CPUs than its host has.",
		value: floatValue{min: minSessionCPUs, max: maxSessionCPUs, store: func(c *Config, f float64) { c.MaxCPUs = f }},
	},
	{
		env:   "DEFAULT_SESSION_PIDS",
		def:   "128",
		help:  "Process limit (pids) of a session whose request sets none, at most MAX_SESSION_PIDS.",
		value: intValue{min: 1, store: func(c *Config, n int64) { c.DefaultPids = n }},
	},
	{
		env:   "MAX_SESSION_PIDS",
		def:   "1024",
		help:  "Maximum process limit a request may set.",
		value: intValue{min: 1, store: func(c *Config, n int64) { c.MaxPids = n }},
	},
	{
		env:   "MAX_SESSIONS",
		def:   "100",
		help:  "Sessions that are neither stopped nor failed, across all users.",
		value: intValue{min: 1, store: func(c *Config, n int64) { c.MaxSessions = int(n) }},
	},
	{
		env:   "MAX_SESSIONS_PER_USER",
		def:   "10",
		help:  "Sessions that are neither stopped nor failed, per user, at most MAX_SESSIONS.",
		value: intValue{min: 1, store: func(c *Config, n int64) { c.MaxSessionsPerUser = int(n) }},
	},
	{
		env:   "IDLE_TIMEOUT",
		def:   "30m",
		help:  "Time after which a session that no request touched is stopped. 0 disables it.",
		value: durationValue{min: 0, store: func(c *Config, d time.Duration) { c.IdleTimeout = d }},
	},
	{
		env:   "SESSION_TTL",
		def:   "8h",
		help:  "Age at which a session is stopped. 0 disables it.",
		value: durationValue{min: 0, store: func(c *Config, d time.Duration) { c.SessionTTL = d }},
	},
	{
		env:   "RETAIN_STOPPED",
		def:   "10m",
		help:  "How long stopped and failed sessions stay visible to GET.",
		value: durationValue{min: 0, store: func(c *Config, d time.Duration) { c.RetainStopped = d }},
	},
	{
		env:   "RESTART_MAX",
		def:   "2",
		help:  "Re-creations of a session's dead container within RESTART_WINDOW before the session fails. 0 never restarts.",
		value: intValue{min: 0, max: 100, store: func(c *Config, n int64) { c.RestartMax = int(n) }},
	},
	{
		env:   "RESTART_WINDOW",
		def:   "10m",
		help:  "Period in which RESTART_MAX counts restarts.",
		value: durationValue{min: 0, aboveMin: true, store: func(c *Config, d time.Duration) { c.RestartWindow = d }},
	},
	{
		env:   "RESTART_BACKOFF",
		def:   "1s",
		help:  "Delay before the first re-creation of a dead container. It doubles with each restart.",
		value: durationValue{min: 0, max: time.Hour, store: func(c *Config, d time.Duration) { c.RestartBackoff = d }},
	},
	{
		env:   "SHUTDOWN_TIMEOUT",
		def:   "30s",
		help:  "Time limit of graceful shutdown.",
		value: durationValue{min: 0, max: time.Hour, aboveMin: true, store: func(c *Config, d time.Duration) { c.ShutdownTimeout = d }},
	},
	{
		env:   "REMOVE_ON_SHUTDOWN",
		def:   "true",
		help:  "Remove session containers on shutdown. With false, they keep running for the next start.",
		value: boolValue{store: func(c *Config, b bool) { c.RemoveOnShutdown = b }},
	},
	{
		env:   "RECOVERY_MODE",
		def:   "adopt",
		help:  "What sessiond does at start with containers of its instance that it finds running or stopped. With adopt, it rebuilds their sessions from the container labels and removes containers whose labels are broken. With remove-all, it removes every one of them.",
		value: choiceValue{choices: []string{"adopt", "remove-all"}, store: func(c *Config, s string) { c.RecoveryMode = s }},
	},
	{
		env:   "RECONCILE_INTERVAL",
		def:   "30s",
		help:  "How often sessiond lists the containers of its instance and adopts those no session owns, such as one whose create finished inside the daemon after sessiond was killed. 0 disables it.",
		value: durationValue{min: 0, max: time.Hour, store: func(c *Config, d time.Duration) { c.ReconcileInterval = d }},
	},
	{
		env:   "LOG_LEVEL",
		def:   "info",
		help:  "Lowest level that is logged.",
		value: choiceValue{choices: []string{"trace", "debug", "info", "warn", "error"}, store: func(c *Config, s string) { c.LogLevel = s }},
	},
	{
		env:   "LOG_FORMAT",
		def:   "text",
		help:  "Log line format.",
		value: choiceValue{choices: []string{"text", "json"}, store: func(c *Config, s string) { c.LogFormat = s }},
	},
}
