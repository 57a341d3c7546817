package logging

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestNewTextFormat(t *testing.T) {
	var buf bytes.Buffer
	logger := New("info", "text", &buf)

	logger.Debug("hidden")
	logger.Info("session created", "session_id", "s1")

	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Errorf("debug line written at level info: %q", out)
	}
	// hclog's default timestamp, such as 2024-05-06T07:08:09.123+0200.
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[-+Z]\S* \[INFO\]  sessiond: session created: session_id=s1\n$`)
	if !line.MatchString(out) {
		t.Errorf("output = %q, want a timestamped info line from sessiond", out)
	}
}

func TestNewJSONFormat(t *testing.T) {
	var buf bytes.Buffer
	logger := New("debug", "json", &buf)

	logger.Debug("probe failed", "attempt", 2)

	var entry map[string]any
	if err := json.Unmarshal(buf.Bytes(), &entry); err != nil {
		t.Fatalf("output %q is not one JSON object: %v", buf.String(), err)
	}
	want := map[string]any{"@level": "debug", "@module": "sessiond", "@message": "probe failed", "attempt": float64(2)}
	for key, value := range want {
		if entry[key] != value {
			t.Errorf("%s = %#v, want %#v", key, entry[key], value)
		}
	}
	if ts, _ := entry["@timestamp"].(string); ts == "" {
		t.Errorf("@timestamp missing from %v", entry)
	}
}

func TestNewLevels(t *testing.T) {
	cases := []struct {
		level string
		// want lists which of trace, debug, info, warn, error are written.
		want [5]bool
	}{
		{"trace", [5]bool{true, true, true, true, true}},
		{"debug", [5]bool{false, true, true, true, true}},
		{"info", [5]bool{false, false, true, true, true}},
		{"warn", [5]bool{false, false, false, true, true}},
		{"error", [5]bool{false, false, false, false, true}},
		{"WARN", [5]bool{false, false, false, true, true}},
		{"unknown", [5]bool{false, false, true, true, true}},
	}
	for _, tc := range cases {
		t.Run(tc.level, func(t *testing.T) {
			var buf bytes.Buffer
			logger := New(tc.level, "text", &buf)
			logger.Trace("trace-line")
			logger.Debug("debug-line")
			logger.Info("info-line")
			logger.Warn("warn-line")
			logger.Error("error-line")

			for i, name := range []string{"trace", "debug", "info", "warn", "error"} {
				if got := strings.Contains(buf.String(), name+"-line"); got != tc.want[i] {
					t.Errorf("%s line written = %v, want %v", name, got, tc.want[i])
				}
			}
		})
	}
}
