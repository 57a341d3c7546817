package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// jsonLogger returns an hclog logger at level that writes JSON lines to a
// buffer, and a function that decodes the lines written so far.
func jsonLogger(t *testing.T, level hclog.Level) (hclog.Logger, func() []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Name: "test", Level: level, Output: &buf, JSONFormat: true})
	lines := func() []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			var entry map[string]any
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Fatalf("decode log line %q: %v", line, err)
			}
			out = append(out, entry)
		}
		return out
	}
	return logger, lines
}

// onlyLine returns the single line logged, failing the test otherwise.
func onlyLine(t *testing.T, lines []map[string]any) map[string]any {
	t.Helper()
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1: %v", len(lines), lines)
	}
	return lines[0]
}

func TestSlogLevels(t *testing.T) {
	cases := []struct {
		name  string
		level slog.Level
		want  string
	}{
		{"below debug is trace", slog.LevelDebug - 4, "trace"},
		{"debug", slog.LevelDebug, "debug"},
		{"between debug and info", slog.LevelDebug + 2, "debug"},
		{"info", slog.LevelInfo, "info"},
		{"between info and warn", slog.LevelInfo + 1, "info"},
		{"warn", slog.LevelWarn, "warn"},
		{"error", slog.LevelError, "error"},
		{"above error", slog.LevelError + 4, "error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hl, lines := jsonLogger(t, hclog.Trace)
			NewSlogLogger(hl).Log(context.Background(), tc.level, "hello")

			line := onlyLine(t, lines())
			if line["@level"] != tc.want {
				t.Errorf("@level = %v, want %s", line["@level"], tc.want)
			}
			if line["@message"] != "hello" {
				t.Errorf("@message = %v, want hello", line["@message"])
			}
			if line["@module"] != "test" {
				t.Errorf("@module = %v, want test", line["@module"])
			}
		})
	}
}

func TestSlogEnabled(t *testing.T) {
	levels := []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}
	cases := []struct {
		hclogLevel hclog.Level
		// want[i] is whether levels[i] is enabled.
		want []bool
	}{
		{hclog.Trace, []bool{true, true, true, true, true}},
		{hclog.Debug, []bool{false, true, true, true, true}},
		{hclog.Info, []bool{false, false, true, true, true}},
		{hclog.Warn, []bool{false, false, false, true, true}},
		{hclog.Error, []bool{false, false, false, false, true}},
		{hclog.Off, []bool{false, false, false, false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.hclogLevel.String(), func(t *testing.T) {
			hl, lines := jsonLogger(t, tc.hclogLevel)
			handler := NewSlogHandler(hl)
			logger := slog.New(handler)
			written := 0
			for i, level := range levels {
				if got := handler.Enabled(context.Background(), level); got != tc.want[i] {
					t.Errorf("Enabled(%v) = %v, want %v", level, got, tc.want[i])
				}
				logger.Log(context.Background(), level, "m")
				if tc.want[i] {
					written++
				}
			}
			if got := len(lines()); got != written {
				t.Errorf("wrote %d lines, want %d", got, written)
			}
		})
	}
}

func TestSlogEnabledFollowsLevelChange(t *testing.T) {
	hl, _ := jsonLogger(t, hclog.Info)
	handler := NewSlogHandler(hl)
	if handler.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("debug enabled at hclog level info")
	}
	hl.SetLevel(hclog.Debug)
	if !handler.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("debug not enabled after SetLevel(Debug)")
	}
}

type stringer struct{ id string }

func (s stringer) String() string { return "pid/" + s.id }

type lazyValue struct{}

func (lazyValue) LogValue() slog.Value { return slog.StringValue("resolved") }

type messageWithChannel struct {
	SessionID string
	Reply     chan error
}

func TestSlogAttrValues(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	hl, lines := jsonLogger(t, hclog.Info)

	NewSlogLogger(hl).Info("values",
		slog.String("s", "text"),
		slog.Int("i", -3),
		slog.Uint64("u", 7),
		slog.Float64("f", 1.5),
		slog.Float64("nan", math.NaN()),
		slog.Bool("b", true),
		slog.Duration("d", 1500*time.Millisecond),
		slog.Time("t", when),
		slog.Any("err", errors.New("boom")),
		slog.Any("pid", stringer{id: "a1"}),
		slog.Any("lazy", lazyValue{}),
		slog.Any("message", &messageWithChannel{SessionID: "s1", Reply: make(chan error)}),
		slog.Any("nil", nil),
	)

	line := onlyLine(t, lines())
	want := map[string]any{
		"s":       "text",
		"i":       float64(-3),
		"u":       float64(7),
		"f":       1.5,
		"nan":     "NaN",
		"b":       true,
		"d":       "1.5s",
		"t":       "2024-05-06T07:08:09.00000001Z",
		"err":     "boom",
		"pid":     "pid/a1",
		"lazy":    "resolved",
		"message": "&{SessionID:s1 Reply:",
		"nil":     "<nil>",
	}
	for key, value := range want {
		got, ok := line[key]
		if !ok {
			t.Errorf("key %q missing from %v", key, line)
			continue
		}
		if key == "message" {
			// The channel's address differs per run.
			if s, _ := got.(string); !strings.HasPrefix(s, value.(string)) {
				t.Errorf("%s = %v, want prefix %v", key, got, value)
			}
			continue
		}
		if got != value {
			t.Errorf("%s = %#v, want %#v", key, got, value)
		}
	}
}

func TestSlogGroupsAndAttrs(t *testing.T) {
	cases := []struct {
		name string
		log  func(l *slog.Logger)
		want map[string]any
		// absent lists keys that must not appear.
		absent []string
	}{
		{
			name: "keys become snake case",
			log: func(l *slog.Logger) {
				l.Info("m", "spawned-pid", "p1", "actorPID", "p2", "HTTPServer", "h", "already_snake", 1)
			},
			want: map[string]any{"spawned_pid": "p1", "actor_pid": "p2", "http_server": "h", "already_snake": float64(1)},
		},
		{
			name: "with attrs kept on later lines",
			log: func(l *slog.Logger) {
				l.With("system", "sys1", slog.Int("restarts", 2)).Info("m", "pid", "p1")
			},
			want: map[string]any{"system": "sys1", "restarts": float64(2), "pid": "p1"},
		},
		{
			name: "group prefixes record attrs",
			log: func(l *slog.Logger) {
				l.WithGroup("request").Info("m", "remoteAddr", "127.0.0.1")
			},
			want:   map[string]any{"request_remote_addr": "127.0.0.1"},
			absent: []string{"remote_addr"},
		},
		{
			name: "attrs before group stay unprefixed",
			log: func(l *slog.Logger) {
				l.With("lib", "Proto.Actor").WithGroup("actor").With("id", "a1").Info("m", "kind", "Session")
			},
			want:   map[string]any{"lib": "Proto.Actor", "actor_id": "a1", "actor_kind": "Session"},
			absent: []string{"actor_lib", "id", "kind"},
		},
		{
			name: "nested groups",
			log: func(l *slog.Logger) {
				l.WithGroup("a").WithGroup("b").Info("m", slog.Group("c", "d", 1, slog.Group("e", "f", 2)))
			},
			want: map[string]any{"a_b_c_d": float64(1), "a_b_c_e_f": float64(2)},
		},
		{
			name: "group without key is inlined",
			log: func(l *slog.Logger) {
				l.Info("m", slog.Group("", "x", 1))
			},
			want: map[string]any{"x": float64(1)},
		},
		{
			name: "empty group and empty attr dropped",
			log: func(l *slog.Logger) {
				l.WithGroup("unused").Info("m", slog.Group("empty"), slog.Attr{})
			},
			want:   map[string]any{"@message": "m"},
			absent: []string{"empty", "unused", "value", ""},
		},
		{
			name: "empty group name ignored",
			log: func(l *slog.Logger) {
				l.WithGroup("").Info("m", "k", "v")
			},
			want: map[string]any{"k": "v"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hl, lines := jsonLogger(t, hclog.Info)
			tc.log(NewSlogLogger(hl))

			line := onlyLine(t, lines())
			for key, value := range tc.want {
				if got, ok := line[key]; !ok || got != value {
					t.Errorf("%s = %#v (present %v), want %#v; line %v", key, got, ok, value, line)
				}
			}
			for _, key := range tc.absent {
				if _, ok := line[key]; ok {
					t.Errorf("key %q present, want it absent; line %v", key, line)
				}
			}
		})
	}
}

func TestSlogTextFormat(t *testing.T) {
	var buf bytes.Buffer
	hl := hclog.New(&hclog.LoggerOptions{Name: "sessiond", Level: hclog.Debug, Output: &buf})

	NewSlogLogger(hl).Debug("actor started", "pid", "p1")

	out := buf.String()
	if !strings.Contains(out, "[DEBUG] sessiond: actor started: pid=p1") {
		t.Errorf("output = %q, want the debug line with pid=p1", out)
	}
}

func TestSlogConcurrentUse(t *testing.T) {
	hl, lines := jsonLogger(t, hclog.Info)
	logger := NewSlogLogger(hl).With("system", "s1")

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			child := logger.WithGroup("worker").With("n", i)
			for range 10 {
				child.Info("tick")
			}
		}()
	}
	wg.Wait()

	if got := len(lines()); got != 80 {
		t.Errorf("wrote %d lines, want 80", got)
	}
}
