package main

import (
	"testing"
)

func TestBuildPlanRunsEachOnce(t *testing.T) {
	plan := buildPlan()
	seen := make(map[string]int)
	for _, spec := range plan {
		seen[spec.id()]++
	}
	for id, count := range seen {
		if count != 1 {
			t.Errorf("%s runs %d times, want once", id, count)
		}
	}

	// Table A: 3 configurations × 4 concurrencies. Table B: burst for 8
	// configurations (inline included) and 200 users for 5 fixed pools,
	// adaptive and raw Docker, of which the last two are table A's c200.
	if want := 12 + 8 + 5; len(plan) != want {
		t.Errorf("plan has %d runs, want %d", len(plan), want)
	}
	for _, id := range []string{
		"raw-docker-c1", "adaptive-c10", "inline-c50", "inline-c200", "adaptive-c200", "raw-docker-c200",
		"adaptive-burst50", "inline-burst50", "raw-docker-burst50", "fixed-1-burst50", "fixed-20-c200",
	} {
		if seen[id] != 1 {
			t.Errorf("plan lacks %s", id)
		}
	}
	for _, id := range []string{"fixed-4-c10", "fixed-1-c1"} {
		if seen[id] != 0 {
			t.Errorf("plan has %s, which no table shows", id)
		}
	}
}

func TestBuildPlanOrder(t *testing.T) {
	plan := buildPlan()
	if first := plan[0].id(); first != "raw-docker-c1" {
		t.Errorf("first run %s, want raw-docker-c1", first)
	}
	if last := plan[len(plan)-1].id(); last != "fixed-1-c200" {
		t.Errorf("last run %s, want fixed-1-c200, the longest", last)
	}
	// Runs of one workload follow each other.
	for i := 1; i < len(plan); i++ {
		for j := i + 1; j < len(plan); j++ {
			if plan[j].load.key == plan[i-1].load.key && plan[i].load.key != plan[i-1].load.key {
				t.Fatalf("workload %s is split: %s comes between its runs", plan[j].load.key, plan[i].id())
			}
		}
	}
}

func TestWorkloadScaled(t *testing.T) {
	tests := []struct {
		name   string
		load   workload
		factor float64
		want   workload
	}{
		{"factor 1 keeps the workload", c10Workload, 1, c10Workload},
		{"fewer sessions, same workers", c10Workload, 0.5,
			workload{key: workloadC10, scenario: scenarioCycle, concurrency: 10, users: 10, sessions: 10}},
		{"fewer sessions than workers", c200Workload, 0.1,
			workload{key: workloadC200, scenario: scenarioCycle, concurrency: 20, users: 20, sessions: 20}},
		{"at least one session", c1Workload, 0.01,
			workload{key: workloadC1, scenario: scenarioCycle, concurrency: 1, users: 1, sessions: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.load.scaled(tt.factor); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
