package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHarnessArgs(t *testing.T) {
	tests := []struct {
		name string
		spec runSpec
		want []string
	}{
		{"sessiond create-ready-delete", runSpec{adaptiveConfig, c200Workload}, []string{
			"--target", "http://127.0.0.1:4000", "--scenario", "create-ready-delete",
			"--concurrency", "200", "--users", "200", "--sessions", "200",
			"--duration", "1m30s", "--wait", "5m0s", "--timeout", "2m0s", "--json", "/tmp/r.json"}},
		{"sessiond burst", runSpec{inlineConfig, burstWorkload}, []string{
			"--target", "http://127.0.0.1:4000", "--scenario", "burst", "--sessions", "50",
			"--duration", "1m30s", "--wait", "5m0s", "--timeout", "2m0s", "--json", "/tmp/r.json"}},
		{"raw Docker", runSpec{rawConfig, c10Workload}, []string{
			"--baseline", "raw-docker", "--image", "sandbox:1", "--scenario", "create-ready-delete",
			"--concurrency", "10", "--users", "10", "--sessions", "20",
			"--duration", "1m30s", "--wait", "5m0s", "--timeout", "2m0s", "--json", "/tmp/r.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := harnessArgs(tt.spec, tt.spec.load, "http://127.0.0.1:4000", "sandbox:1", 90*time.Second, "/tmp/r.json")
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestProgressFilter(t *testing.T) {
	var out strings.Builder
	f := newProgressFilter(&out, "[run] ", 3)
	for i := 1; i <= 7; i++ {
		f.Write([]byte("stress: " + string(rune('0'+i)) + "s\n"))
	}
	// A line split over writes, and a last line without a newline.
	f.Write([]byte("sessiond stress: operations "))
	f.Write([]byte("failed: ready ready_timeout\nsessiond stress: end"))
	f.flush()

	want := "[run] stress: 3s\n" +
		"[run] stress: 6s\n" +
		"[run] sessiond stress: operations failed: ready ready_timeout\n" +
		"[run] sessiond stress: end\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
