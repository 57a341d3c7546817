// Package config reads sessiond's settings from environment variables and
// command-line flags. Each variable FOO_BAR has the flag --foo-bar; a flag
// wins over the variable. Defaults let sessiond start with no settings
// against the local Docker daemon.
package config

import "time"

// Config holds every setting of sessiond. Load fills it and validates it;
// the zero value is not usable.
type Config struct {
	// ListenAddr is the HTTP listen address (LISTEN_ADDR, default 127.0.0.1:8080).
	ListenAddr string
	// APIToken, when set, is required as "Authorization: Bearer <token>" on
	// /v1 and /admin routes (API_TOKEN, default empty: no auth).
	APIToken string
	// MaxBodyBytes limits request bodies (MAX_BODY_BYTES, default 64KiB).
	MaxBodyBytes int64

	// UseAsyncDocker selects pooled Docker calls (true) or inline calls that
	// block the session's mailbox (USE_ASYNC_DOCKER, default true).
	UseAsyncDocker bool
	// DockerOperationTimeout bounds each attempt of a Docker call
	// (DOCKER_OPERATION_TIMEOUT in seconds, default 30).
	DockerOperationTimeout time.Duration
	// DockerRetries is how many times a transient failure is retried
	// (DOCKER_RETRIES, default 2).
	DockerRetries int
	// DockerRetryBackoff is the first retry's base delay; it doubles per
	// attempt, with jitter (DOCKER_RETRY_BACKOFF, default 200ms).
	DockerRetryBackoff time.Duration
	// AsyncPoolSize is the number of Docker workers (ASYNC_POOL_SIZE, default 20).
	AsyncPoolSize int
	// DockerAdaptiveLimit lets the pool run fewer than AsyncPoolSize jobs
	// at once when the daemon's create latency shows calls queueing inside
	// it (DOCKER_ADAPTIVE_LIMIT, default true).
	DockerAdaptiveLimit bool
	// DockerLimitMin and DockerLimitInitial are the adaptive limit's floor
	// and start value, both capped at AsyncPoolSize (DOCKER_LIMIT_MIN
	// default 1, DOCKER_LIMIT_INITIAL default 1).
	DockerLimitMin     int
	DockerLimitInitial int
	// DockerQueueSize bounds the jobs waiting for a worker (DOCKER_QUEUE_SIZE,
	// default 1000).
	DockerQueueSize int

	// DockerHost, DockerTLSVerify and DockerCertPath mean what they mean to
	// the docker CLI (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH).
	DockerHost      string
	DockerTLSVerify bool
	DockerCertPath  string

	// InstanceID is written into every container's sessiond.instance label
	// (SESSIOND_INSTANCE, default "sessiond").
	InstanceID string
	// ContainerLabels are extra labels put on every session container, for
	// cost tracking or for tests to find what they made (CONTAINER_LABELS,
	// comma-separated key=value pairs, default none). Keys starting with
	// "sessiond." other than sessiond.test are reserved.
	ContainerLabels map[string]string

	// SessionImage is the image used when a request names none
	// (SESSION_IMAGE, default sessiond-sandbox:latest).
	SessionImage string
	// AllowedImages lists the images a request may name (ALLOWED_IMAGES,
	// comma-separated, default: SessionImage only).
	AllowedImages []string
	// SessionPort is the container port that serves the session
	// (SESSION_PORT, default 8080).
	SessionPort int
	// HealthPath is the HTTP path probed on the session port
	// (SESSION_HEALTH_PATH, default /healthz).
	HealthPath string
	// StartupTimeout bounds the time from container start to a passing
	// health probe (STARTUP_TIMEOUT, default 60s).
	StartupTimeout time.Duration
	// ProbeInterval is the pause between health probes (PROBE_INTERVAL,
	// default 100ms).
	ProbeInterval time.Duration

	// Per-session limits: defaults apply when a request names none; a
	// request may lower them but never raise them past the maximum.
	DefaultMemoryBytes int64   // DEFAULT_SESSION_MEMORY, default 256MiB
	MaxMemoryBytes     int64   // MAX_SESSION_MEMORY, default 1GiB
	DefaultCPUs        float64 // DEFAULT_SESSION_CPUS, default 0.5
	MaxCPUs            float64 // MAX_SESSION_CPUS, default 2
	DefaultPids        int64   // DEFAULT_SESSION_PIDS, default 128
	MaxPids            int64   // MAX_SESSION_PIDS, default 1024

	// MaxSessions and MaxSessionsPerUser count sessions that are not yet
	// stopped or failed (MAX_SESSIONS default 100, MAX_SESSIONS_PER_USER
	// default 10).
	MaxSessions        int
	MaxSessionsPerUser int

	// IdleTimeout stops a session no request touched for this long
	// (IDLE_TIMEOUT, default 30m; 0 disables).
	IdleTimeout time.Duration
	// SessionTTL stops a session this long after its creation
	// (SESSION_TTL, default 8h; 0 disables).
	SessionTTL time.Duration
	// RetainStopped keeps stopped and failed sessions visible to GET this
	// long (RETAIN_STOPPED, default 10m).
	RetainStopped time.Duration

	// RestartMax restarts a session's dead container at most this many
	// times within RestartWindow, then fails it (RESTART_MAX default 2,
	// RESTART_WINDOW default 10m, 0 never restarts).
	RestartMax    int
	RestartWindow time.Duration
	// RestartBackoff is the delay before the first re-creation; it doubles
	// per restart (RESTART_BACKOFF, default 1s).
	RestartBackoff time.Duration

	// ShutdownTimeout bounds graceful shutdown (SHUTDOWN_TIMEOUT, default 30s).
	ShutdownTimeout time.Duration
	// RemoveOnShutdown removes session containers on shutdown; false leaves
	// them running for the next start (REMOVE_ON_SHUTDOWN, default true).
	RemoveOnShutdown bool
	// RecoveryMode is "adopt" (rebuild sessions from the containers of this
	// instance found at start) or "remove-all" (remove them)
	// (RECOVERY_MODE, default adopt).
	RecoveryMode string
	// ReconcileInterval is how often sessiond adopts containers of its
	// instance that no session owns (RECONCILE_INTERVAL, default 30s; 0
	// disables).
	ReconcileInterval time.Duration

	// LogLevel is trace, debug, info, warn or error (LOG_LEVEL, default info).
	LogLevel string
	// LogFormat is text or json (LOG_FORMAT, default text).
	LogFormat string
}
