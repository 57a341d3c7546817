package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSessiondEnvKeepsOnlyInherited(t *testing.T) {
	caller := map[string]string{
		"PATH":            "/usr/bin",
		"DOCKER_HOST":     "unix:///run/docker.sock",
		"ASYNC_POOL_SIZE": "3",
		"API_TOKEN":       "secret",
	}
	env := sessiondEnv(func(name string) string { return caller[name] },
		map[string]string{"LOG_LEVEL": "warn"},
		map[string]string{"USE_ASYNC_DOCKER": "false"})
	slices.Sort(env)

	want := []string{"DOCKER_HOST=unix:///run/docker.sock", "LOG_LEVEL=warn", "PATH=/usr/bin", "USE_ASYNC_DOCKER=false"}
	if !slices.Equal(env, want) {
		t.Errorf("got %q, want %q", env, want)
	}
}

func TestCheckReadiness(t *testing.T) {
	tests := []struct {
		name  string
		cfg   config
		ready readiness
		ok    bool
	}{
		{"adaptive as configured", adaptiveConfig, readiness{Ready: true, Mode: "async", Workers: 20, ConcurrencyLimit: 1}, true},
		{"adaptive with a fixed limit", adaptiveConfig, readiness{Ready: true, Mode: "async", Workers: 20, ConcurrencyLimit: 20}, false},
		{"inline", inlineConfig, readiness{Ready: true, Mode: "inline"}, true},
		{"inline fallback", inlineConfig, readiness{Ready: true, Mode: "inline-fallback"}, false},
		{"fixed pool size ignored", fixedConfig(4), readiness{Ready: true, Mode: "async", Workers: 20, ConcurrencyLimit: 4}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problem := checkReadiness(tt.cfg, tt.ready)
			if (problem == "") != tt.ok {
				t.Errorf("problem %q, want ok %v", problem, tt.ok)
			}
		})
	}
}

func TestCountWarnings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessiond.log")
	log := "2026-12-04T20:00:00.000Z [INFO]  sessiond: started\n" +
		"2026-12-04T20:00:01.000Z [WARN]  sessiond.docker_pool: slow docker call\n" +
		"2026-12-04T20:00:02.000Z [ERROR] sessiond.session: create failed: error=timeout\n"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := countWarnings(path); got != 2 {
		t.Errorf("counted %d warnings, want 2", got)
	}
	if got := countWarnings(filepath.Join(t.TempDir(), "missing.log")); got != 0 {
		t.Errorf("counted %d warnings in a missing file", got)
	}
}

func TestParseMemTotal(t *testing.T) {
	kib, ok := parseMemTotal("MemFree:  100 kB\nMemTotal:       24683492 kB\n")
	if !ok || kib != 24683492 {
		t.Errorf("got %d, %v", kib, ok)
	}
	if _, ok := parseMemTotal("MemFree: 100 kB\n"); ok {
		t.Error("found MemTotal in a file without it")
	}
}
