package actors

import (
	"testing"
	"time"
)

func TestVegasLimitObserve(t *testing.T) {
	base := 200 * time.Millisecond
	cases := []struct {
		name     string
		limit    int
		latency  time.Duration
		inflight int
		failed   bool
		want     int
	}{
		{"no queueing grows", 4, base, 4, false, 5},
		{"idle pool does not grow", 4, base, 1, false, 4},
		{"about two queued holds", 4, base * 2, 4, false, 4},
		{"long latency shrinks", 8, base * 3, 8, false, 7},
		{"error cuts a quarter", 8, base, 8, true, 6},
		{"never below min", 1, base * 10, 1, true, 1},
		{"never above max", 8, base, 8, false, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVegasLimit(1, tc.limit, 8)
			v.baseline = base
			v.slowStart = false
			v.observe(tc.latency, tc.inflight, tc.failed)
			if v.limit != tc.want {
				t.Errorf("limit = %d, want %d", v.limit, tc.want)
			}
		})
	}
}

// A daemon that completes at most rate creates per second, whatever the
// parallelism, answers a create in base + inflight/rate. The limit must
// settle where a few calls at most wait inside it, not at the maximum.
func TestVegasLimitConvergesBelowMax(t *testing.T) {
	const rate = 5.0
	base := 150 * time.Millisecond
	v := newVegasLimit(1, 1, 20)
	for range 500 {
		inflight := v.limit
		latency := base + time.Duration(float64(inflight)/rate*float64(time.Second))
		v.observe(latency, inflight, false)
	}
	if v.limit < 2 || v.limit > 6 {
		t.Errorf("limit settled at %d, want 2 to 6 for a daemon doing %v creates/s", v.limit, rate)
	}
}

func TestVegasLimitBounds(t *testing.T) {
	v := newVegasLimit(5, 50, 20)
	if v.min != 5 || v.limit != 20 || v.max != 20 {
		t.Errorf("min %d, limit %d, max %d; want 5, 20, 20", v.min, v.limit, v.max)
	}
	v = newVegasLimit(30, 1, 20)
	if v.min != 20 || v.limit != 20 {
		t.Errorf("min above max: min %d, limit %d; want both 20", v.min, v.limit)
	}
}

func TestVegasLimitSlowStartDoubles(t *testing.T) {
	base := 200 * time.Millisecond
	v := newVegasLimit(1, 1, 20)
	var limits []int
	for range 3 {
		v.observe(base, v.limit, false)
		limits = append(limits, v.limit)
	}
	if limits[0] != 2 || limits[1] != 4 || limits[2] != 8 {
		t.Errorf("limits = %v, want doubling 2, 4, 8 while the daemon shows no queue", limits)
	}
	// A queue ends slow start: from then on the limit moves by one.
	v.observe(base*2, v.limit, false)
	before := v.limit
	v.observe(base, v.limit, false)
	if v.limit != before+1 {
		t.Errorf("after slow start: limit %d, want %d", v.limit, before+1)
	}
}
