package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// goBenchTimeout bounds one `go test -bench` command, compilation included.
const goBenchTimeout = 4 * time.Minute

// goBenchMetric is one value/unit pair of a benchmark line, such as
// 367359 ns/op.
type goBenchMetric struct {
	value float64
	unit  string
}

// goBenchResult is one line of `go test -bench` output.
type goBenchResult struct {
	// name is the benchmark's name with the GOMAXPROCS suffix, such as
	// BenchmarkIdleSessionMemory-2.
	name       string
	iterations int64
	metrics    []goBenchMetric
}

func (r *goBenchResult) metric(unit string) (float64, bool) {
	for _, m := range r.metrics {
		if m.unit == unit {
			return m.value, true
		}
	}
	return 0, false
}

// goBenchRun is one `go test -bench` command and its outcome.
type goBenchRun struct {
	args    []string
	results []goBenchResult
	// failure holds the error and the output's last lines when the command
	// failed, or is empty.
	failure string
	elapsed time.Duration
}

// The Go benchmarks that the benchmark runs.
var (
	memoryBenchArgs = []string{"test", "-run", "^$", "-bench", "BenchmarkIdleSessionMemory", "-benchtime", "1x", "./actors"}
	actorBenchArgs  = []string{"test", "-run", "^$", "-bench", "BenchmarkCreateDeleteRoundTrip|BenchmarkGetSessionUnderLoad", "-benchtime", "2s", "./actors"}
)

// runGoBench runs the go command with args in the current directory.
func runGoBench(ctx context.Context, goCommand string, args []string) goBenchRun {
	ctx, cancel := context.WithTimeout(ctx, goBenchTimeout)
	defer cancel()
	run := goBenchRun{args: args}
	cmd := exec.CommandContext(ctx, goCommand, args...)
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	start := time.Now()
	err := cmd.Run()
	run.elapsed = time.Since(start)
	run.results = parseGoBench(output.String())
	if err != nil {
		run.failure = fmt.Sprintf("%v: %s", err, lastLines(output.String(), 10))
	} else if len(run.results) == 0 {
		run.failure = "no benchmark result in the output: " + lastLines(output.String(), 10)
	}
	return run
}

// parseGoBench reads the result lines of `go test -bench` output and
// ignores every other line.
func parseGoBench(output string) []goBenchResult {
	var results []goBenchResult
	for _, line := range strings.Split(output, "\n") {
		fields := strings.Fields(line)
		// A result line has a name, an iteration count and value/unit pairs.
		if len(fields) < 4 || len(fields)%2 != 0 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		iterations, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		result := goBenchResult{name: fields[0], iterations: iterations}
		valid := true
		for i := 2; i+1 < len(fields); i += 2 {
			value, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				valid = false
				break
			}
			result.metrics = append(result.metrics, goBenchMetric{value: value, unit: fields[i+1]})
		}
		if valid {
			results = append(results, result)
		}
	}
	return results
}

// findGoBench returns the result whose name, without the GOMAXPROCS suffix,
// is name.
func findGoBench(runs []goBenchRun, name string) *goBenchResult {
	for i := range runs {
		for j := range runs[i].results {
			r := &runs[i].results[j]
			if r.name == name || strings.HasPrefix(r.name, name+"-") {
				return r
			}
		}
	}
	return nil
}

// lastLines returns the last n lines of text, joined by " | ".
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
