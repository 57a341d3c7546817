package stress

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func TestParseOptionsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// want lists fragments that the error must contain: the flag and
		// what to use instead.
		want []string
	}{
		{name: "unknown scenario", args: []string{"--scenario", "soak"},
			want: []string{"--scenario", `"soak"`, "create-ready-delete, create-hold or burst"}},
		{name: "unknown baseline", args: []string{"--baseline", "podman"},
			want: []string{"--baseline", `"podman"`, "raw-docker"}},
		{name: "target scheme", args: []string{"--target", "ftp://127.0.0.1"},
			want: []string{"--target", "http://"}},
		{name: "target without host", args: []string{"--target", "http://"},
			want: []string{"--target", "no host"}},
		{name: "target with query", args: []string{"--target", "http://127.0.0.1:8080/?x=1"},
			want: []string{"--target", "query"}},
		{name: "zero concurrency", args: []string{"--concurrency", "0"},
			want: []string{"--concurrency 0", "from 1 to 10000"}},
		{name: "negative sessions", args: []string{"--sessions", "-1"},
			want: []string{"--sessions -1", "from 0 to"}},
		{name: "negative users", args: []string{"--users", "-2"},
			want: []string{"--users -2"}},
		{name: "zero duration", args: []string{"--duration", "0s"},
			want: []string{"--duration 0s", "Go duration from 1ms to 24h0m0s"}},
		{name: "ramp not shorter than duration", args: []string{"--ramp", "10s", "--duration", "10s"},
			want: []string{"--ramp 10s", "shorter than --duration"}},
		{name: "create wait above server maximum", args: []string{"--create-wait", "2m"},
			want: []string{"--create-wait 2m0s", "0s to 1m0s"}},
		{name: "zero poll interval", args: []string{"--poll-interval", "0s"},
			want: []string{"--poll-interval 0s"}},
		{name: "zero probe interval", args: []string{"--probe-interval", "0s"},
			want: []string{"--probe-interval 0s"}},
		{name: "zero wait", args: []string{"--wait", "0s"},
			want: []string{"--wait 0s"}},
		{name: "hold without create-hold", args: []string{"--hold", "5s"},
			want: []string{"--hold", "create-hold"}},
		{name: "ramp with burst", args: []string{"--scenario", "burst", "--ramp", "1s"},
			want: []string{"--ramp", "burst"}},
		{name: "burst size disagrees", args: []string{"--scenario", "burst", "--sessions", "5", "--concurrency", "3"},
			want: []string{"--concurrency 3", "--sessions 5"}},
		{name: "target with raw docker", args: []string{"--baseline", "raw-docker", "--target", "http://127.0.0.1:9"},
			want: []string{"--target", "raw-docker"}},
		{name: "token with raw docker", args: []string{"--baseline", "raw-docker", "--token", "x"},
			want: []string{"--token", "raw-docker"}},
		{name: "container port without raw docker", args: []string{"--container-port", "9000"},
			want: []string{"--container-port", "raw-docker"}},
		{name: "container port out of range", args: []string{"--baseline", "raw-docker", "--container-port", "70000"},
			want: []string{"--container-port 70000", "1 to 65535"}},
		{name: "health path without slash", args: []string{"--baseline", "raw-docker", "--health-path", "healthz"},
			want: []string{"--health-path", "starts with /"}},
		{name: "not a number", args: []string{"--concurrency", "many"},
			want: []string{"-concurrency", `"many"`}},
		{name: "unknown flag", args: []string{"--users-count", "3"},
			want: []string{"users-count"}},
		{name: "positional argument", args: []string{"run"},
			want: []string{`unexpected argument "run"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseOptions(tt.args, noEnv)
			if err == nil {
				t.Fatalf("parseOptions(%q) succeeded, want an error", tt.args)
			}
			for _, fragment := range tt.want {
				if !strings.Contains(err.Error(), fragment) {
					t.Errorf("error %q does not contain %q", err, fragment)
				}
			}
		})
	}
}

func TestParseOptionsReportsEveryInvalidFlag(t *testing.T) {
	_, _, err := parseOptions([]string{"--concurrency", "0", "--scenario", "x"}, noEnv)
	if err == nil {
		t.Fatal("parseOptions succeeded, want an error")
	}
	for _, fragment := range []string{"--concurrency", "--scenario"} {
		if !strings.Contains(err.Error(), fragment) {
			t.Errorf("error %q does not mention %s", err, fragment)
		}
	}
}

func TestParseOptionsDefaults(t *testing.T) {
	opts, _, err := parseOptions(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := opts.target.String(); got != defaultTarget {
		t.Errorf("target = %q, want %q", got, defaultTarget)
	}
	if opts.scenario != scenarioCreateReadyDelete {
		t.Errorf("scenario = %q, want %q", opts.scenario, scenarioCreateReadyDelete)
	}
	if opts.workers != defaultConcurrency || opts.users != defaultConcurrency {
		t.Errorf("workers %d, users %d, want %d each", opts.workers, opts.users, defaultConcurrency)
	}
	if opts.sessions != 0 || opts.duration != defaultDuration {
		t.Errorf("sessions %d, duration %v, want 0 and %v", opts.sessions, opts.duration, defaultDuration)
	}
	if opts.hold != 0 {
		t.Errorf("hold = %v, want 0 outside create-hold", opts.hold)
	}
	if opts.image != "" {
		t.Errorf("image = %q, want empty so that sessiond picks its default", opts.image)
	}
}

func TestParseOptionsScenarios(t *testing.T) {
	opts, _, err := parseOptions([]string{"--scenario", "burst", "--sessions", "50"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if opts.workers != 50 || opts.sessions != 50 {
		t.Errorf("burst of 50: workers %d, sessions %d, want 50 each", opts.workers, opts.sessions)
	}

	opts, _, err = parseOptions([]string{"--scenario", "burst", "--concurrency", "7"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if opts.workers != 7 || opts.sessions != 7 {
		t.Errorf("burst from --concurrency 7: workers %d, sessions %d, want 7 each", opts.workers, opts.sessions)
	}

	opts, _, err = parseOptions([]string{"--scenario", "create-hold", "--hold", "3s"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if opts.hold != 3*time.Second {
		t.Errorf("hold = %v, want 3s", opts.hold)
	}

	opts, _, err = parseOptions([]string{"--baseline", "raw-docker"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if opts.image != defaultImage {
		t.Errorf("raw-docker image = %q, want %q", opts.image, defaultImage)
	}
}

func TestParseOptionsTarget(t *testing.T) {
	opts, _, err := parseOptions([]string{"--target", "http://127.0.0.1:18181/"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := opts.target.JoinPath("/v1/sessions").String(); got != "http://127.0.0.1:18181/v1/sessions" {
		t.Errorf("sessions URL = %q, want http://127.0.0.1:18181/v1/sessions", got)
	}
}

func TestParseOptionsTokenFromEnvironment(t *testing.T) {
	env := func(name string) string {
		if name == "API_TOKEN" {
			return "from-env"
		}
		return ""
	}
	opts, _, err := parseOptions(nil, env)
	if err != nil {
		t.Fatal(err)
	}
	if opts.token != "from-env" {
		t.Errorf("token = %q, want the API_TOKEN value", opts.token)
	}

	opts, _, err = parseOptions([]string{"--token", "from-flag"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if opts.token != "from-flag" {
		t.Errorf("token = %q, want the flag to win", opts.token)
	}

	// API_TOKEN in the environment is no reason to reject the baseline.
	if _, _, err := parseOptions([]string{"--baseline", "raw-docker"}, env); err != nil {
		t.Errorf("raw-docker with API_TOKEN set: %v", err)
	}
}

func TestParseOptionsHelp(t *testing.T) {
	_, fs, err := parseOptions([]string{"-h"}, noEnv)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	text := usage(fs)
	for _, fragment := range []string{"-concurrency", "-scenario", "-baseline", "Exit status"} {
		if !strings.Contains(text, fragment) {
			t.Errorf("usage does not mention %q", fragment)
		}
	}
}

func TestMainInvalidFlagExitsTwo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"--scenario", "soak", "--concurrency", "0"}, &stdout, &stderr)

	if code != exitInvalid {
		t.Errorf("exit code = %d, want %d", code, exitInvalid)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("stderr has %d lines, want one per invalid flag and a hint:\n%s", len(lines), stderr.String())
	}
	for _, line := range lines[:2] {
		if !strings.HasPrefix(line, "sessiond stress: invalid --") {
			t.Errorf("line %q does not name the invalid flag", line)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
}

func TestMainHelpExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"--help"}, &stdout, &stderr); code != exitOK {
		t.Errorf("exit code = %d, want %d", code, exitOK)
	}
	if !strings.HasPrefix(stdout.String(), "Usage: sessiond stress") {
		t.Errorf("stdout does not start with the usage:\n%s", stdout.String())
	}
}
