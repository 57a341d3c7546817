package stress

import (
	"context"
	"errors"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// samples returns 1ms, 2ms, ... n ms.
func samples(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = ms(i + 1)
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 50, want: 0},
		{name: "one sample p0", sorted: samples(1), p: 0, want: ms(1)},
		{name: "one sample p50", sorted: samples(1), p: 50, want: ms(1)},
		{name: "one sample p100", sorted: samples(1), p: 100, want: ms(1)},
		{name: "two samples p50", sorted: samples(2), p: 50, want: ms(1)},
		{name: "two samples p51", sorted: samples(2), p: 51, want: ms(2)},
		{name: "hundred p50 exact rank", sorted: samples(100), p: 50, want: ms(50)},
		{name: "hundred p90 exact rank", sorted: samples(100), p: 90, want: ms(90)},
		{name: "hundred p99 exact rank", sorted: samples(100), p: 99, want: ms(99)},
		{name: "hundred p100 is max", sorted: samples(100), p: 100, want: ms(100)},
		{name: "ten p99 rounds up to max", sorted: samples(10), p: 99, want: ms(10)},
		{name: "ten p90", sorted: samples(10), p: 90, want: ms(9)},
		{name: "ten p91 next rank", sorted: samples(10), p: 91, want: ms(10)},
		{name: "p0 is min", sorted: samples(10), p: 0, want: ms(1)},
		{name: "p above 100 is max", sorted: samples(10), p: 150, want: ms(10)},
		{name: "thousand p99", sorted: samples(1000), p: 99, want: ms(990)},
		{name: "duplicates", sorted: []time.Duration{ms(5), ms(5), ms(5), ms(7)}, p: 75, want: ms(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d samples, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestRecorderSummarize(t *testing.T) {
	rec := newRecorder()
	rec.bind(context.Background())
	// Unsorted input: summarize must sort.
	for _, n := range []int{30, 10, 20} {
		rec.record(opCreate, ms(n), nil)
	}
	rec.record(opCreate, ms(1), &apiError{status: 429, code: "queue_full", message: "queue is full"})
	rec.record(opCreate, ms(1), &apiError{status: 429, code: "queue_full", message: "second"})
	rec.record(opCreate, ms(1), &kindError{kind: kindTransport, err: errors.New("connection refused")})

	s := rec.summarize(opCreate)
	if s.ok != 3 {
		t.Errorf("ok = %d, want 3", s.ok)
	}
	if s.p50 != ms(20) {
		t.Errorf("p50 = %v, want 20ms", s.p50)
	}
	if s.max != ms(30) {
		t.Errorf("max = %v, want 30ms", s.max)
	}
	if got := s.errors["http_429_queue_full"]; got.count != 2 || got.example != "HTTP 429 queue_full: queue is full" {
		t.Errorf("http_429_queue_full = %+v, want count 2 with the first message", got)
	}
	if got := s.errors[kindTransport].count; got != 1 {
		t.Errorf("transport errors = %d, want 1", got)
	}
	if got := s.errorCount(); got != 3 {
		t.Errorf("errorCount = %d, want 3", got)
	}
}

func TestRecorderCountsCanceledAfterRun(t *testing.T) {
	runCtx, cancel := context.WithCancel(context.Background())
	rec := newRecorder()
	rec.bind(runCtx)
	cancel()

	rec.record(opReady, ms(5), context.Canceled)
	s := rec.summarize(opReady)
	if s.canceled != 1 {
		t.Errorf("canceled = %d, want 1", s.canceled)
	}
	if s.errorCount() != 0 {
		t.Errorf("errors = %v, want none", s.errors)
	}
}

func TestRecorderUnknownOperation(t *testing.T) {
	s := newRecorder().summarize("never")
	if s.ok != 0 || s.canceled != 0 || len(s.errors) != 0 || s.max != 0 {
		t.Errorf("summary of an unused operation = %+v, want zero", s)
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "api error with code", err: &apiError{status: 503, code: "docker_unavailable"}, want: "http_503_docker_unavailable"},
		{name: "api error without code", err: &apiError{status: 502}, want: "http_502"},
		{name: "tagged", err: newKindError(kindReadyTimeout, "late"), want: kindReadyTimeout},
		{name: "deadline", err: context.DeadlineExceeded, want: kindTimeout},
		{name: "other", err: errors.New("boom"), want: kindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorKind(tt.err); got != tt.want {
				t.Errorf("errorKind(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestIsRejection(t *testing.T) {
	for kind, want := range map[string]bool{
		"http_429":               true,
		"http_429_queue_full":    true,
		"http_429_limit_reached": true,
		"http_4290":              false,
		"http_503_shutting_down": false,
		kindTransport:            false,
	} {
		if got := isRejection(kind); got != want {
			t.Errorf("isRejection(%q) = %v, want %v", kind, got, want)
		}
	}
}
