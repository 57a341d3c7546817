package main

import (
	"fmt"
	"math"
	"strconv"
)

// config is one way of running the workload: sessiond with a set of
// settings, or the raw-Docker baseline.
type config struct {
	// name is short and safe in container labels and file names.
	name string
	// title names the configuration in the tables.
	title string
	// raw marks the raw-Docker baseline, which runs without sessiond.
	raw bool
	// env holds the sessiond settings of this configuration on top of the
	// common ones.
	env map[string]string
	// wantMode, wantWorkers and wantLimit are what /readyz must show at
	// start, so that a setting that did not take effect stops the run.
	// Zero workers or limit skips that check.
	wantMode    string
	wantWorkers int
	wantLimit   int
}

// Configuration names. The tables and targets look results up by them.
const (
	configRaw      = "raw-docker"
	configAdaptive = "adaptive"
	configInline   = "inline"
)

var (
	rawConfig = config{name: configRaw, title: "raw Docker", raw: true}
	// adaptiveConfig runs sessiond's defaults: async Docker calls with the
	// adaptive limit, which starts at DOCKER_LIMIT_INITIAL (default 1).
	adaptiveConfig = config{
		name:        configAdaptive,
		title:       "async, adaptive limit",
		env:         map[string]string{"USE_ASYNC_DOCKER": "true", "DOCKER_ADAPTIVE_LIMIT": "true"},
		wantMode:    "async",
		wantWorkers: 20,
		wantLimit:   1,
	}
	inlineConfig = config{
		name:     configInline,
		title:    "inline",
		env:      map[string]string{"USE_ASYNC_DOCKER": "false"},
		wantMode: "inline",
	}
)

// fixedPoolSizes are the ASYNC_POOL_SIZE values run with the adaptive limit
// off, largest first.
var fixedPoolSizes = []int{20, 8, 4, 2, 1}

func fixedConfig(size int) config {
	return config{
		name:  fixedConfigName(size),
		title: fmt.Sprintf("async, fixed pool of %d", size),
		env: map[string]string{
			"USE_ASYNC_DOCKER":      "true",
			"DOCKER_ADAPTIVE_LIMIT": "false",
			"ASYNC_POOL_SIZE":       strconv.Itoa(size),
		},
		wantMode:    "async",
		wantWorkers: size,
		wantLimit:   size,
	}
}

func fixedConfigName(size int) string { return "fixed-" + strconv.Itoa(size) }

// Scenario names of the stress harness.
const (
	scenarioCycle = "create-ready-delete"
	scenarioBurst = "burst"
)

// workload is one harness invocation's shape.
type workload struct {
	// key names the workload in tables and file names.
	key         string
	scenario    string
	concurrency int
	users       int
	sessions    int
}

// Workload keys.
const (
	workloadC1      = "c1"
	workloadC10     = "c10"
	workloadC50     = "c50"
	workloadC200    = "c200"
	workloadBurst50 = "burst50"
)

var (
	c1Workload   = workload{key: workloadC1, scenario: scenarioCycle, concurrency: 1, users: 1, sessions: 5}
	c10Workload  = workload{key: workloadC10, scenario: scenarioCycle, concurrency: 10, users: 10, sessions: 20}
	c50Workload  = workload{key: workloadC50, scenario: scenarioCycle, concurrency: 50, users: 50, sessions: 50}
	c200Workload = workload{key: workloadC200, scenario: scenarioCycle, concurrency: 200, users: 200, sessions: 200}
	// burstWorkload sends 50 creates at the same instant.
	burstWorkload = workload{key: workloadBurst50, scenario: scenarioBurst, concurrency: 50, users: 50, sessions: 50}
)

// concurrencyWorkloads are the create-ready-delete runs of table A. The
// session counts give every worker at least one full cycle and keep the
// whole benchmark within its time budget on a 2-core machine, where Docker
// makes about 5 containers per second. c200 is also the 200-user run of
// table B: 200 users with one session each, all at once.
var concurrencyWorkloads = []workload{c1Workload, c10Workload, c50Workload, c200Workload}

// runSpec is one run: a workload against a configuration.
type runSpec struct {
	cfg  config
	load workload
}

func (s runSpec) id() string { return s.cfg.name + "-" + s.load.key }

// allConfigs lists every configuration in the order the runs of one
// workload follow each other.
func allConfigs() []config {
	configs := []config{rawConfig, adaptiveConfig, inlineConfig}
	for _, size := range fixedPoolSizes {
		configs = append(configs, fixedConfig(size))
	}
	return configs
}

// buildPlan returns every run of the benchmark, each once. Table A needs
// the concurrency workloads for raw Docker, adaptive and inline. Table B
// needs the burst and the 200-user workload for adaptive, every fixed pool
// size and raw Docker. The 200-user runs of adaptive and raw Docker are
// the c200 runs of table A and run once. Inline also gets a burst, so that
// the no-stall figure has a burst for both modes. The runs are ordered by
// workload, so that runs compared with each other follow each other, and
// the 200-user runs, the longest and the first a tight budget cuts, come
// last.
func buildPlan() []runSpec {
	needed := make(map[string]bool)
	for _, cfg := range []config{rawConfig, adaptiveConfig, inlineConfig} {
		for _, load := range concurrencyWorkloads {
			needed[runSpec{cfg, load}.id()] = true
		}
	}
	for _, cfg := range allConfigs() {
		needed[runSpec{cfg, burstWorkload}.id()] = true
		if cfg.name != configInline {
			needed[runSpec{cfg, c200Workload}.id()] = true
		}
	}

	var plan []runSpec
	for _, load := range []workload{c1Workload, c10Workload, c50Workload, burstWorkload, c200Workload} {
		for _, cfg := range allConfigs() {
			spec := runSpec{cfg: cfg, load: load}
			if needed[spec.id()] {
				plan = append(plan, spec)
				delete(needed, spec.id())
			}
		}
	}
	return plan
}

// scaled returns w with its session count multiplied by factor, at least
// one. Concurrency and users shrink only when fewer sessions than workers
// remain, because a run with fewer workers measures a different load.
func (w workload) scaled(factor float64) workload {
	if factor == 1 {
		return w
	}
	w.sessions = max(1, int(math.Round(float64(w.sessions)*factor)))
	w.concurrency = min(w.concurrency, w.sessions)
	w.users = min(w.users, w.concurrency)
	return w
}
