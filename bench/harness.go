package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessiond/sessiond/stress"
)

// Harness settings shared by every run.
const (
	// harnessWait is the time a session may take to become ready. The
	// 200-user run with a pool of one worker makes its last session after
	// about 200 serial creates, so it is far above the harness's default
	// of one minute.
	harnessWait = 5 * time.Minute
	// harnessTimeout bounds each HTTP request and each raw Docker call.
	// With 200 raw creates at once, one create call waits behind the
	// others inside the daemon for far longer than the default 30 s.
	harnessTimeout = 2 * time.Minute
)

// harnessArgs returns the stress flags of one run. target is sessiond's
// base URL and is ignored for raw Docker, which gets image instead.
func harnessArgs(spec runSpec, load workload, target, image string, duration time.Duration, jsonPath string) []string {
	var args []string
	if spec.cfg.raw {
		args = append(args, "--baseline", "raw-docker", "--image", image)
	} else {
		args = append(args, "--target", target)
	}
	args = append(args, "--scenario", load.scenario)
	if load.scenario == scenarioBurst {
		// A burst starts all its sessions at once, so --concurrency would
		// only repeat --sessions.
		args = append(args, "--sessions", strconv.Itoa(load.sessions))
	} else {
		args = append(args,
			"--concurrency", strconv.Itoa(load.concurrency),
			"--users", strconv.Itoa(load.users),
			"--sessions", strconv.Itoa(load.sessions))
	}
	args = append(args,
		"--duration", duration.String(),
		"--wait", harnessWait.String(),
		"--timeout", harnessTimeout.String(),
		"--json", jsonPath)
	return args
}

// runHarness runs the stress harness in this process and decodes its JSON
// report. textPath receives the text report. Progress lines go to progress
// with prefix, one in progressEvery.
func runHarness(args []string, jsonPath, textPath string, progress io.Writer, prefix string) (*stress.Report, int, error) {
	var text bytes.Buffer
	filter := newProgressFilter(progress, prefix, progressEvery)
	code := stress.Main(args, &text, filter)
	filter.flush()
	if err := os.WriteFile(textPath, text.Bytes(), 0o644); err != nil {
		fmt.Fprintf(progress, "%swrite text report: %v\n", prefix, err)
	}

	data, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, code, fmt.Errorf("harness exited with %d and wrote no JSON report: %w", code, err)
	}
	var report stress.Report
	if err := json.Unmarshal(data, &report); err != nil {
		return nil, code, fmt.Errorf("decode harness report %s: %w", jsonPath, err)
	}
	return &report, code, nil
}

// progressEvery is the share of the harness's once-a-second progress
// lines that reach the terminal.
const progressEvery = 10

// progressPrefix starts the harness's progress lines.
const progressPrefix = "stress: "

// progressFilter passes every line to w with a prefix, except the
// harness's progress lines, of which it passes one in every. It is safe
// for concurrent use.
type progressFilter struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	every   int
	seen    int
	partial []byte
}

func newProgressFilter(w io.Writer, prefix string, every int) *progressFilter {
	return &progressFilter{w: w, prefix: prefix, every: max(every, 1)}
}

func (f *progressFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			break
		}
		f.writeLine(string(f.partial[:i]))
		f.partial = f.partial[i+1:]
	}
	return len(p), nil
}

// flush writes a last line that has no newline.
func (f *progressFilter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.partial) > 0 {
		f.writeLine(string(f.partial))
		f.partial = nil
	}
}

func (f *progressFilter) writeLine(line string) {
	if strings.HasPrefix(line, progressPrefix) {
		f.seen++
		if f.seen%f.every != 0 {
			return
		}
	}
	fmt.Fprintf(f.w, "%s%s\n", f.prefix, line)
}
