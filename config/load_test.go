package config

import (
	"errors"
	"flag"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// env returns a getenv function that reads vars.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func defaultConfig() Config {
	return Config{
		ListenAddr:             "127.0.0.1:8080",
		APIToken:               "",
		MaxBodyBytes:           64 << 10,
		UseAsyncDocker:         true,
		DockerOperationTimeout: 30 * time.Second,
		DockerRetries:          2,
		DockerRetryBackoff:     200 * time.Millisecond,
		AsyncPoolSize:          20,
		DockerQueueSize:        1000,
		DockerHost:             "",
		DockerTLSVerify:        false,
		DockerCertPath:         "",
		InstanceID:             "sessiond",
		SessionImage:           "sessiond-sandbox:latest",
		AllowedImages:          []string{"sessiond-sandbox:latest"},
		SessionPort:            8080,
		HealthPath:             "/healthz",
		StartupTimeout:         60 * time.Second,
		ProbeInterval:          100 * time.Millisecond,
		DefaultMemoryBytes:     256 << 20,
		MaxMemoryBytes:         1 << 30,
		DefaultCPUs:            0.5,
		MaxCPUs:                2,
		DefaultPids:            128,
		MaxPids:                1024,
		MaxSessions:            100,
		MaxSessionsPerUser:     10,
		IdleTimeout:            30 * time.Minute,
		SessionTTL:             8 * time.Hour,
		RetainStopped:          10 * time.Minute,
		RestartMax:             2,
		RestartWindow:          10 * time.Minute,
		RestartBackoff:         time.Second,
		ShutdownTimeout:        30 * time.Second,
		RemoveOnShutdown:       true,
		RecoveryMode:           "adopt",
		ReconcileInterval:      30 * time.Second,
		DockerAdaptiveLimit:    true,
		DockerLimitMin:         1,
		DockerLimitInitial:     1,
		LogLevel:               "info",
		LogFormat:              "text",
	}
}

func TestLoadDefaults(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		getenv func(string) string
	}{
		{name: "no args empty env", args: nil, getenv: env(nil)},
		{name: "empty variables count as unset", args: []string{}, getenv: func(string) string { return "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(tc.args, tc.getenv)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if want := defaultConfig(); !reflect.DeepEqual(got, want) {
				t.Errorf("Load() =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	certDir := t.TempDir()
	vars := map[string]string{
		"LISTEN_ADDR":              "0.0.0.0:9000",
		"API_TOKEN":                "s3cret-token",
		"MAX_BODY_BYTES":           "1MiB",
		"USE_ASYNC_DOCKER":         "false",
		"DOCKER_OPERATION_TIMEOUT": "2.5",
		"DOCKER_RETRIES":           "0",
		"DOCKER_RETRY_BACKOFF":     "50ms",
		"ASYNC_POOL_SIZE":          "7",
		"DOCKER_QUEUE_SIZE":        "12",
		"DOCKER_HOST":              "tcp://127.0.0.1:2376",
		"DOCKER_TLS_VERIFY":        "1",
		"DOCKER_CERT_PATH":         certDir,
		"SESSIOND_INSTANCE":        "ci-42",
		"CONTAINER_LABELS":         "team=data, sessiond.test=run1,",
		"RECOVERY_MODE":            "remove-all",
		"RECONCILE_INTERVAL":       "0",
		"DOCKER_ADAPTIVE_LIMIT":    "false",
		"DOCKER_LIMIT_MIN":         "2",
		"DOCKER_LIMIT_INITIAL":     "3",
		"SESSION_IMAGE":            "alpine:3.20",
		"ALLOWED_IMAGES":           " busybox:1.36 ,, alpine:3.20,busybox:1.36,",
		"SESSION_PORT":             "9090",
		"SESSION_HEALTH_PATH":      "/ready?full=1",
		"STARTUP_TIMEOUT":          "5s",
		"PROBE_INTERVAL":           "250ms",
		"DEFAULT_SESSION_MEMORY":   "512m",
		"MAX_SESSION_MEMORY":       "2g",
		"DEFAULT_SESSION_CPUS":     "0.25",
		"MAX_SESSION_CPUS":         "4",
		"DEFAULT_SESSION_PIDS":     "64",
		"MAX_SESSION_PIDS":         "256",
		"MAX_SESSIONS":             "50",
		"MAX_SESSIONS_PER_USER":    "50",
		"IDLE_TIMEOUT":             "0",
		"SESSION_TTL":              "1h30m",
		"RETAIN_STOPPED":           "0s",
		"RESTART_MAX":              "0",
		"RESTART_WINDOW":           "1m",
		"RESTART_BACKOFF":          "0s",
		"SHUTDOWN_TIMEOUT":         "5s",
		"REMOVE_ON_SHUTDOWN":       "false",
		"LOG_LEVEL":                "DEBUG",
		"LOG_FORMAT":               "json",
	}
	if len(vars) != len(settings) {
		t.Fatalf("test sets %d variables, but there are %d settings", len(vars), len(settings))
	}

	got, err := Load(nil, env(vars))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	want := Config{
		ListenAddr:             "0.0.0.0:9000",
		APIToken:               "s3cret-token",
		MaxBodyBytes:           1 << 20,
		UseAsyncDocker:         false,
		DockerOperationTimeout: 2500 * time.Millisecond,
		DockerRetries:          0,
		DockerRetryBackoff:     50 * time.Millisecond,
		AsyncPoolSize:          7,
		DockerQueueSize:        12,
		DockerHost:             "tcp://127.0.0.1:2376",
		DockerTLSVerify:        true,
		DockerCertPath:         certDir,
		InstanceID:             "ci-42",
		ContainerLabels:        map[string]string{"team": "data", "sessiond.test": "run1"},
		RecoveryMode:           "remove-all",
		DockerLimitMin:         2,
		DockerLimitInitial:     3,
		SessionImage:           "alpine:3.20",
		AllowedImages:          []string{"busybox:1.36", "alpine:3.20"},
		SessionPort:            9090,
		HealthPath:             "/ready?full=1",
		StartupTimeout:         5 * time.Second,
		ProbeInterval:          250 * time.Millisecond,
		DefaultMemoryBytes:     512 << 20,
		MaxMemoryBytes:         2 << 30,
		DefaultCPUs:            0.25,
		MaxCPUs:                4,
		DefaultPids:            64,
		MaxPids:                256,
		MaxSessions:            50,
		MaxSessionsPerUser:     50,
		IdleTimeout:            0,
		SessionTTL:             90 * time.Minute,
		RetainStopped:          0,
		RestartMax:             0,
		RestartWindow:          time.Minute,
		RestartBackoff:         0,
		ShutdownTimeout:        5 * time.Second,
		RemoveOnShutdown:       false,
		LogLevel:               "debug",
		LogFormat:              "json",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoadFlags(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		vars  map[string]string
		check func(t *testing.T, c Config)
	}{
		{
			name: "flag overrides env",
			args: []string{"--async-pool-size=5", "--log-format", "json"},
			vars: map[string]string{"ASYNC_POOL_SIZE": "9", "LOG_FORMAT": "text", "MAX_SESSIONS": "30"},
			check: func(t *testing.T, c Config) {
				if c.AsyncPoolSize != 5 {
					t.Errorf("AsyncPoolSize = %d, want 5 from the flag", c.AsyncPoolSize)
				}
				if c.LogFormat != "json" {
					t.Errorf("LogFormat = %q, want json from the flag", c.LogFormat)
				}
				if c.MaxSessions != 30 {
					t.Errorf("MaxSessions = %d, want 30 from the variable", c.MaxSessions)
				}
			},
		},
		{
			name: "single dash works",
			args: []string{"-async-pool-size=3"},
			check: func(t *testing.T, c Config) {
				if c.AsyncPoolSize != 3 {
					t.Errorf("AsyncPoolSize = %d, want 3", c.AsyncPoolSize)
				}
			},
		},
		{
			name: "bool flag without value",
			args: []string{"--use-async-docker"},
			vars: map[string]string{"USE_ASYNC_DOCKER": "false"},
			check: func(t *testing.T, c Config) {
				if !c.UseAsyncDocker {
					t.Error("UseAsyncDocker = false, want true from the bare flag")
				}
			},
		},
		{
			name: "bool flag set false",
			args: []string{"--remove-on-shutdown=false"},
			check: func(t *testing.T, c Config) {
				if c.RemoveOnShutdown {
					t.Error("RemoveOnShutdown = true, want false")
				}
			},
		},
		{
			name: "empty flag clears env",
			args: []string{"--docker-host="},
			vars: map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375"},
			check: func(t *testing.T, c Config) {
				if c.DockerHost != "" {
					t.Errorf("DockerHost = %q, want empty from the flag", c.DockerHost)
				}
			},
		},
		{
			name: "timeout as Go duration",
			args: []string{"--docker-operation-timeout=1m30s"},
			check: func(t *testing.T, c Config) {
				if c.DockerOperationTimeout != 90*time.Second {
					t.Errorf("DockerOperationTimeout = %v, want 1m30s", c.DockerOperationTimeout)
				}
			},
		},
		{
			name: "last repeated flag wins",
			args: []string{"--max-sessions=3", "--max-sessions=4"},
			check: func(t *testing.T, c Config) {
				if c.MaxSessions != 4 {
					t.Errorf("MaxSessions = %d, want 4", c.MaxSessions)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, env(tc.vars))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoadDerivedValues(t *testing.T) {
	cases := []struct {
		name  string
		vars  map[string]string
		check func(t *testing.T, c Config)
	}{
		{
			name: "allowed images default to session image",
			vars: map[string]string{"SESSION_IMAGE": "alpine:3.20"},
			check: func(t *testing.T, c Config) {
				if want := []string{"alpine:3.20"}; !slices.Equal(c.AllowedImages, want) {
					t.Errorf("AllowedImages = %q, want %q", c.AllowedImages, want)
				}
			},
		},
		{
			name: "session image added to allowed images",
			vars: map[string]string{"ALLOWED_IMAGES": "busybox:1.36,alpine:3.20"},
			check: func(t *testing.T, c Config) {
				want := []string{"busybox:1.36", "alpine:3.20", "sessiond-sandbox:latest"}
				if !slices.Equal(c.AllowedImages, want) {
					t.Errorf("AllowedImages = %q, want %q", c.AllowedImages, want)
				}
			},
		},
		{
			name: "only commas leave session image",
			vars: map[string]string{"ALLOWED_IMAGES": " , ,"},
			check: func(t *testing.T, c Config) {
				if want := []string{"sessiond-sandbox:latest"}; !slices.Equal(c.AllowedImages, want) {
					t.Errorf("AllowedImages = %q, want %q", c.AllowedImages, want)
				}
			},
		},
		{
			name: "default limits lowered to lower maximums",
			vars: map[string]string{
				"MAX_SESSION_MEMORY": "128MiB",
				"MAX_SESSION_CPUS":   "0.25",
				"MAX_SESSION_PIDS":   "16",
				"MAX_SESSIONS":       "5",
				"STARTUP_TIMEOUT":    "50ms",
			},
			check: func(t *testing.T, c Config) {
				if c.DefaultMemoryBytes != 128<<20 {
					t.Errorf("DefaultMemoryBytes = %d, want %d", c.DefaultMemoryBytes, 128<<20)
				}
				if c.DefaultCPUs != 0.25 {
					t.Errorf("DefaultCPUs = %g, want 0.25", c.DefaultCPUs)
				}
				if c.DefaultPids != 16 {
					t.Errorf("DefaultPids = %d, want 16", c.DefaultPids)
				}
				if c.MaxSessionsPerUser != 5 {
					t.Errorf("MaxSessionsPerUser = %d, want 5", c.MaxSessionsPerUser)
				}
				if c.ProbeInterval != 50*time.Millisecond {
					t.Errorf("ProbeInterval = %v, want 50ms", c.ProbeInterval)
				}
			},
		},
		{
			name: "values trimmed and case folded",
			vars: map[string]string{"ASYNC_POOL_SIZE": " 8 ", "LOG_LEVEL": "Warn", "LOG_FORMAT": "JSON"},
			check: func(t *testing.T, c Config) {
				if c.AsyncPoolSize != 8 {
					t.Errorf("AsyncPoolSize = %d, want 8", c.AsyncPoolSize)
				}
				if c.LogLevel != "warn" {
					t.Errorf("LogLevel = %q, want warn", c.LogLevel)
				}
				if c.LogFormat != "json" {
					t.Errorf("LogFormat = %q, want json", c.LogFormat)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(nil, env(tc.vars))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	notDir := t.TempDir() + "/file"
	cases := []struct {
		name string
		args []string
		vars map[string]string
		// want is the whole one-line error.
		want string
	}{
		{
			name: "negative pool size",
			vars: map[string]string{"ASYNC_POOL_SIZE": "-3"},
			want: `invalid ASYNC_POOL_SIZE (--async-pool-size) "-3": must be an integer from 1 to 1000`,
		},
		{
			name: "pool size too large by flag",
			args: []string{"--async-pool-size=1001"},
			want: `invalid ASYNC_POOL_SIZE (--async-pool-size) "1001": must be an integer from 1 to 1000`,
		},
		{
			name: "queue size zero",
			vars: map[string]string{"DOCKER_QUEUE_SIZE": "0"},
			want: `invalid DOCKER_QUEUE_SIZE (--docker-queue-size) "0": must be an integer from 1 to 1000000`,
		},
		{
			name: "timeout not a number",
			vars: map[string]string{"DOCKER_OPERATION_TIMEOUT": "abc"},
			want: `invalid DOCKER_OPERATION_TIMEOUT (--docker-operation-timeout) "abc": must be a number of seconds such as 30 or 2.5, or a Go duration such as 30s, greater than 0s and at most 1h`,
		},
		{
			name: "timeout zero",
			vars: map[string]string{"DOCKER_OPERATION_TIMEOUT": "0"},
			want: `invalid DOCKER_OPERATION_TIMEOUT (--docker-operation-timeout) "0": must be a number of seconds such as 30 or 2.5, or a Go duration such as 30s, greater than 0s and at most 1h`,
		},
		{
			name: "timeout over an hour",
			vars: map[string]string{"DOCKER_OPERATION_TIMEOUT": "3601"},
			want: `invalid DOCKER_OPERATION_TIMEOUT (--docker-operation-timeout) "3601": must be a number of seconds such as 30 or 2.5, or a Go duration such as 30s, greater than 0s and at most 1h`,
		},
		{
			name: "timeout NaN",
			vars: map[string]string{"DOCKER_OPERATION_TIMEOUT": "NaN"},
			want: `invalid DOCKER_OPERATION_TIMEOUT (--docker-operation-timeout) "NaN": must be a number of seconds such as 30 or 2.5, or a Go duration such as 30s, greater than 0s and at most 1h`,
		},
		{
			name: "retries above ten",
			vars: map[string]string{"DOCKER_RETRIES": "11"},
			want: `invalid DOCKER_RETRIES (--docker-retries) "11": must be an integer from 0 to 10`,
		},
		{
			name: "duration without unit",
			vars: map[string]string{"IDLE_TIMEOUT": "30"},
			want: `invalid IDLE_TIMEOUT (--idle-timeout) "30": must be a Go duration such as 30s or 5m, 0s or more`,
		},
		{
			name: "negative ttl",
			vars: map[string]string{"SESSION_TTL": "-1h"},
			want: `invalid SESSION_TTL (--session-ttl) "-1h": must be a Go duration such as 30s or 5m, 0s or more`,
		},
		{
			name: "memory unknown unit",
			vars: map[string]string{"DEFAULT_SESSION_MEMORY": "12XB"},
			want: `invalid DEFAULT_SESSION_MEMORY (--default-session-memory) "12XB": must be a size in bytes or with a unit (k, m, g, KB, MB, GB for KiB, MiB, GiB) from 6MiB to 1TiB`,
		},
		{
			name: "memory below docker minimum",
			vars: map[string]string{"MAX_SESSION_MEMORY": "4m"},
			want: `invalid MAX_SESSION_MEMORY (--max-session-memory) "4m": must be a size in bytes or with a unit (k, m, g, KB, MB, GB for KiB, MiB, GiB) from 6MiB to 1TiB`,
		},
		{
			name: "default memory over max",
			vars: map[string]string{"DEFAULT_SESSION_MEMORY": "2GiB"},
			want: `invalid DEFAULT_SESSION_MEMORY (--default-session-memory) "2GiB": must be at most MAX_SESSION_MEMORY (1GiB)`,
		},
		{
			name: "default memory over given max",
			vars: map[string]string{"DEFAULT_SESSION_MEMORY": "512MiB", "MAX_SESSION_MEMORY": "256m"},
			want: `invalid DEFAULT_SESSION_MEMORY (--default-session-memory) "512MiB": must be at most MAX_SESSION_MEMORY (256MiB)`,
		},
		{
			name: "cpus zero",
			vars: map[string]string{"MAX_SESSION_CPUS": "0"},
			want: `invalid MAX_SESSION_CPUS (--max-session-cpus) "0": must be a number from 0.01 to 1024`,
		},
		{
			name: "cpus infinite",
			vars: map[string]string{"MAX_SESSION_CPUS": "Inf"},
			want: `invalid MAX_SESSION_CPUS (--max-session-cpus) "Inf": must be a number from 0.01 to 1024`,
		},
		{
			name: "default cpus over max",
			vars: map[string]string{"DEFAULT_SESSION_CPUS": "3"},
			want: `invalid DEFAULT_SESSION_CPUS (--default-session-cpus) "3": must be at most MAX_SESSION_CPUS (2)`,
		},
		{
			name: "pids zero",
			vars: map[string]string{"DEFAULT_SESSION_PIDS": "0"},
			want: `invalid DEFAULT_SESSION_PIDS (--default-session-pids) "0": must be an integer of at least 1`,
		},
		{
			name: "default pids over max",
			vars: map[string]string{"DEFAULT_SESSION_PIDS": "2000"},
			want: `invalid DEFAULT_SESSION_PIDS (--default-session-pids) "2000": must be at most MAX_SESSION_PIDS (1024)`,
		},
		{
			name: "max sessions zero",
			vars: map[string]string{"MAX_SESSIONS": "0"},
			want: `invalid MAX_SESSIONS (--max-sessions) "0": must be an integer of at least 1`,
		},
		{
			name: "per user over max sessions",
			vars: map[string]string{"MAX_SESSIONS": "5", "MAX_SESSIONS_PER_USER": "6"},
			want: `invalid MAX_SESSIONS_PER_USER (--max-sessions-per-user) "6": must be at most MAX_SESSIONS (5)`,
		},
		{
			name: "probe interval over startup timeout",
			vars: map[string]string{"PROBE_INTERVAL": "2s", "STARTUP_TIMEOUT": "1s"},
			want: `invalid PROBE_INTERVAL (--probe-interval) "2s": must be at most STARTUP_TIMEOUT (1s)`,
		},
		{
			name: "session port zero",
			vars: map[string]string{"SESSION_PORT": "0"},
			want: `invalid SESSION_PORT (--session-port) "0": must be an integer from 1 to 65535`,
		},
		{
			name: "health path without slash",
			vars: map[string]string{"SESSION_HEALTH_PATH": "healthz"},
			want: `invalid SESSION_HEALTH_PATH (--session-health-path) "healthz": does not start with /; must be a path that starts with / and has no whitespace`,
		},
		{
			name: "unknown log level",
			vars: map[string]string{"LOG_LEVEL": "verbose"},
			want: `invalid LOG_LEVEL (--log-level) "verbose": must be one of "trace", "debug", "info", "warn", "error"`,
		},
		{
			name: "unknown log format",
			args: []string{"--log-format=yaml"},
			want: `invalid LOG_FORMAT (--log-format) "yaml": must be one of "text", "json"`,
		},
		{
			name: "listen addr without port",
			vars: map[string]string{"LISTEN_ADDR": "localhost"},
			want: `invalid LISTEN_ADDR (--listen-addr) "localhost": not host:port; must be host:port with a port from 0 to 65535, such as 127.0.0.1:8080`,
		},
		{
			name: "listen addr port out of range",
			vars: map[string]string{"LISTEN_ADDR": "127.0.0.1:70000"},
			want: `invalid LISTEN_ADDR (--listen-addr) "127.0.0.1:70000": port "70000" is not a number from 0 to 65535; must be host:port with a port from 0 to 65535, such as 127.0.0.1:8080`,
		},
		{
			name: "docker host http scheme",
			vars: map[string]string{"DOCKER_HOST": "http://127.0.0.1:2375"},
			want: `invalid DOCKER_HOST (--docker-host) "http://127.0.0.1:2375": unsupported scheme; must be empty or an address that starts with unix://, tcp:// or npipe://`,
		},
		{
			name: "docker host ssh scheme",
			vars: map[string]string{"DOCKER_HOST": "ssh://user@host"},
			want: `invalid DOCKER_HOST (--docker-host) "ssh://user@host": unsupported scheme; must be empty or an address that starts with unix://, tcp:// or npipe://`,
		},
		{
			name: "docker host scheme only",
			vars: map[string]string{"DOCKER_HOST": "unix://"},
			want: `invalid DOCKER_HOST (--docker-host) "unix://": the address after the scheme is empty; must be empty or an address that starts with unix://, tcp:// or npipe://`,
		},
		{
			name: "cert path missing",
			vars: map[string]string{"DOCKER_CERT_PATH": notDir},
			want: `invalid DOCKER_CERT_PATH (--docker-cert-path) "` + notDir + `": no such directory; must be empty or an existing directory`,
		},
		{
			name: "tls verify not boolean",
			vars: map[string]string{"DOCKER_TLS_VERIFY": "yes"},
			want: `invalid DOCKER_TLS_VERIFY (--docker-tls-verify) "yes": must be true or false (1, 0, t and f also work)`,
		},
		{
			name: "session image with space",
			vars: map[string]string{"SESSION_IMAGE": "alpine 3"},
			want: `invalid SESSION_IMAGE (--session-image) "alpine 3": contains whitespace or a control character; must be an image reference without whitespace`,
		},
		{
			name: "empty session image flag",
			args: []string{"--session-image="},
			want: `invalid SESSION_IMAGE (--session-image) "": empty; must be an image reference without whitespace`,
		},
		{
			name: "allowed image with tab",
			vars: map[string]string{"ALLOWED_IMAGES": "alpine:3.20,busy\tbox"},
			want: `invalid ALLOWED_IMAGES (--allowed-images) "alpine:3.20,busy\tbox": image "busy\tbox": contains whitespace or a control character; must be a comma-separated list of image references such as alpine:3.20`,
		},
		{
			name: "instance id empty flag",
			args: []string{"--sessiond-instance="},
			want: `invalid SESSIOND_INSTANCE (--sessiond-instance) "": empty; must be non-empty text without whitespace`,
		},
		{
			name: "body limit below minimum",
			vars: map[string]string{"MAX_BODY_BYTES": "100"},
			want: `invalid MAX_BODY_BYTES (--max-body-bytes) "100": must be a size in bytes or with a unit (k, m, g, KB, MB, GB for KiB, MiB, GiB) from 1KiB to 1GiB`,
		},
		{
			name: "restart window zero",
			vars: map[string]string{"RESTART_WINDOW": "0s"},
			want: `invalid RESTART_WINDOW (--restart-window) "0s": must be a Go duration such as 30s or 5m, greater than 0s`,
		},
		{
			name: "probe interval too short",
			vars: map[string]string{"PROBE_INTERVAL": "10us"},
			want: `invalid PROBE_INTERVAL (--probe-interval) "10us": must be a Go duration such as 30s or 5m, from 1ms to 1m`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, env(tc.vars))
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want error %q", c, tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error =\n%s\nwant\n%s", got, tc.want)
			}
			if !reflect.DeepEqual(c, Config{}) {
				t.Errorf("Load returned a non-zero Config with its error: %+v", c)
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	vars := map[string]string{
		"LOG_LEVEL":              "loud",
		"ASYNC_POOL_SIZE":        "-3",
		"DEFAULT_SESSION_MEMORY": "12XB",
		"MAX_SESSIONS_PER_USER":  "200",
	}
	args := []string{"--docker-operation-timeout=abc"}

	_, err := Load(args, env(vars))
	if err == nil {
		t.Fatal("Load succeeded, want errors")
	}

	// Lines follow the order of the settings, then checks between settings.
	lines := strings.Split(err.Error(), "\n")
	wantPrefixes := []string{
		`invalid DOCKER_OPERATION_TIMEOUT (--docker-operation-timeout) "abc": `,
		`invalid ASYNC_POOL_SIZE (--async-pool-size) "-3": `,
		`invalid DEFAULT_SESSION_MEMORY (--default-session-memory) "12XB": `,
		`invalid LOG_LEVEL (--log-level) "loud": `,
		`invalid MAX_SESSIONS_PER_USER (--max-sessions-per-user) "200": must be at most MAX_SESSIONS (100)`,
	}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(wantPrefixes), err)
	}
	for i, prefix := range wantPrefixes {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], prefix)
		}
	}
}

func TestLoadInvalidValueSkipsRelationCheck(t *testing.T) {
	// An invalid maximum is reported once, not again as a bound on its default.
	_, err := Load(nil, env(map[string]string{"MAX_SESSION_MEMORY": "1XB", "DEFAULT_SESSION_MEMORY": "512MiB"}))
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != 1 {
		t.Errorf("got %d lines, want 1:\n%s", len(lines), err)
	}
}

func TestLoadSecretNotInError(t *testing.T) {
	const token = "abc def"
	_, err := Load(nil, env(map[string]string{"API_TOKEN": token}))
	if err == nil {
		t.Fatal("Load succeeded, want an error for a token with a space")
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error contains the token: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "invalid API_TOKEN (--api-token): ") {
		t.Errorf("error = %q, want it to name API_TOKEN and --api-token", err)
	}
}

func TestLoadCommandLine(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantHelp bool
		want     string
	}{
		{name: "double dash help", args: []string{"--help"}, wantHelp: true},
		{name: "short help", args: []string{"-h"}, wantHelp: true},
		{name: "help after a setting", args: []string{"--max-sessions=3", "-help"}, wantHelp: true},
		{name: "unknown flag", args: []string{"--pool-size=3"}, want: "flag provided but not defined: -pool-size"},
		{name: "value missing", args: []string{"--listen-addr"}, want: "flag needs an argument: -listen-addr"},
		{name: "positional argument", args: []string{"serve"}, want: `unexpected argument "serve"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.args, env(nil))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if tc.wantHelp {
				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("error = %v, want flag.ErrHelp", err)
				}
				return
			}
			if errors.Is(err, flag.ErrHelp) {
				t.Errorf("error = %v, want no flag.ErrHelp", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "invalid command line: ") {
				t.Errorf("error = %q, want prefix %q", err, "invalid command line: ")
			}
		})
	}
}

func TestUsageListsEverySetting(t *testing.T) {
	usage := Usage()
	for _, s := range settings {
		t.Run(s.env, func(t *testing.T) {
			if !strings.Contains(usage, s.env+", --"+s.flagName()+"\n") {
				t.Errorf("usage has no line for %s, --%s", s.env, s.flagName())
			}
			def := s.defText
			if def == "" {
				def = s.def
			}
			// Wrapping may break the default across lines, so compare words.
			if !strings.Contains(strings.Join(strings.Fields(usage), " "), "Default: "+def+".") {
				t.Errorf("usage does not give the default %q of %s", def, s.env)
			}
		})
	}
	for _, line := range strings.Split(usage, "\n") {
		// A single word longer than a line cannot be wrapped.
		if len(line) > 80 && len(strings.Fields(line)) > 1 {
			t.Errorf("line longer than 80 columns: %q", line)
		}
	}
}

func TestSettingsTable(t *testing.T) {
	seen := make(map[string]bool)
	for _, s := range settings {
		if seen[s.env] {
			t.Errorf("setting %s is listed twice", s.env)
		}
		seen[s.env] = true
		if s.def == "" && s.defText == "" {
			t.Errorf("setting %s has neither a default nor a text for it", s.env)
		}
		if err := s.value.apply(&Config{}, s.def); err != nil {
			t.Errorf("default %q of %s is invalid: %v", s.def, s.env, err)
		}
	}
}

func TestContainerLabelsRejectReservedAndMalformed(t *testing.T) {
	cases := []struct {
		name, value, want string
	}{
		{"reserved key", "sessiond.user=x", `label key "sessiond.user" is reserved`},
		{"missing equals", "team", `label "team": must be key=value`},
		{"empty key", "=x", `label "=x": must be key=value`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(nil, func(k string) string {
				if k == "CONTAINER_LABELS" {
					return tc.value
				}
				return ""
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "CONTAINER_LABELS") {
				t.Errorf("error = %v, want one naming CONTAINER_LABELS and %q", err, tc.want)
			}
		})
	}
}
