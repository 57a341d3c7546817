package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func envOf(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestParseSettingsValid(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want settings
	}{
		{
			name: "defaults",
			env:  nil,
			want: settings{port: 8080, exitCode: 1},
		},
		{
			name: "all switches",
			env: map[string]string{
				"SANDBOX_PORT":        "9090",
				"SANDBOX_START_DELAY": "2s",
				"SANDBOX_EXIT_AFTER":  "0s",
				"SANDBOX_EXIT_CODE":   "3",
				"SANDBOX_GROW_MEMORY": "8MiB/100ms",
				"SANDBOX_UNHEALTHY":   "1",
			},
			want: settings{
				port:         9090,
				startDelay:   2 * time.Second,
				exitAfter:    0,
				exitAfterSet: true,
				exitCode:     3,
				growBytes:    8 << 20,
				growInterval: 100 * time.Millisecond,
				unhealthy:    true,
			},
		},
		{
			name: "plain byte count",
			env:  map[string]string{"SANDBOX_GROW_MEMORY": "4096/1s"},
			want: settings{port: 8080, exitCode: 1, growBytes: 4096, growInterval: time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSettings(envOf(tt.env))
			if err != nil {
				t.Fatalf("parseSettings: %v", err)
			}
			if got != tt.want {
				t.Errorf("parseSettings = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSettingsInvalid(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		variable string
	}{
		{"port zero", map[string]string{"SANDBOX_PORT": "0"}, "SANDBOX_PORT"},
		{"port text", map[string]string{"SANDBOX_PORT": "http"}, "SANDBOX_PORT"},
		{"delay without unit", map[string]string{"SANDBOX_START_DELAY": "5"}, "SANDBOX_START_DELAY"},
		{"negative exit after", map[string]string{"SANDBOX_EXIT_AFTER": "-1s"}, "SANDBOX_EXIT_AFTER"},
		{"exit code too large", map[string]string{"SANDBOX_EXIT_CODE": "256"}, "SANDBOX_EXIT_CODE"},
		{"growth without interval", map[string]string{"SANDBOX_GROW_MEMORY": "8MiB"}, "SANDBOX_GROW_MEMORY"},
		{"growth with decimal unit", map[string]string{"SANDBOX_GROW_MEMORY": "8MB/1s"}, "SANDBOX_GROW_MEMORY"},
		{"growth with zero interval", map[string]string{"SANDBOX_GROW_MEMORY": "8MiB/0s"}, "SANDBOX_GROW_MEMORY"},
		{"unhealthy yes", map[string]string{"SANDBOX_UNHEALTHY": "yes"}, "SANDBOX_UNHEALTHY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSettings(envOf(tt.env))
			if err == nil {
				t.Fatal("parseSettings returned no error")
			}
			if !strings.Contains(err.Error(), tt.variable) {
				t.Errorf("error %q does not name %s", err, tt.variable)
			}
		})
	}
}

func TestHandlerHealth(t *testing.T) {
	tests := []struct {
		name      string
		unhealthy bool
		want      int
	}{
		{"healthy", false, http.StatusOK},
		{"unhealthy switch", true, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handler := newHandler(settings{port: 8080, unhealthy: tt.unhealthy}, time.Now())
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != tt.want {
				t.Errorf("GET /healthz status = %d, want %d", rec.Code, tt.want)
			}
		})
	}
}

func TestHandlerRootJSON(t *testing.T) {
	started := time.Now().Add(-time.Minute)
	handler := newHandler(settings{port: 8080}, started)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))

	if rec.Code != http.StatusOK {
		t.Fatalf("GET / status = %d, want 200", rec.Code)
	}
	var body struct {
		Hostname      string  `json:"hostname"`
		Port          int     `json:"port"`
		UptimeSeconds float64 `json:"uptime_seconds"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode body %q: %v", rec.Body.String(), err)
	}
	if body.Hostname == "" {
		t.Error("hostname is empty")
	}
	if body.Port != 8080 {
		t.Errorf("port = %d, want 8080", body.Port)
	}
	if body.UptimeSeconds < 60 {
		t.Errorf("uptime_seconds = %v, want at least 60", body.UptimeSeconds)
	}
}

func TestHandlerUnknownPath(t *testing.T) {
	handler := newHandler(settings{port: 8080}, time.Now())
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/missing", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /missing status = %d, want 404", rec.Code)
	}
}

func TestRunExitAfterZero(t *testing.T) {
	code := run(settings{port: 8080, exitAfterSet: true, exitCode: 3}, time.Now())
	if code != 3 {
		t.Errorf("run exit status = %d, want 3", code)
	}
}
