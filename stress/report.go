package stress

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of one run, written as a text table and, with
// --json, as JSON. Latencies are in milliseconds, throughput in successful
// operations per second of the workload's elapsed time.
type Report struct {
	RunID string `json:"run_id"`
	// Target is the sessiond URL, or "docker" for the raw-Docker baseline.
	Target   string `json:"target"`
	Baseline string `json:"baseline"`
	Scenario string `json:"scenario"`

	StartedAt time.Time `json:"started_at"`
	// ElapsedS is the workload's duration in seconds, without the
	// preflight check and the cleanup.
	ElapsedS    float64 `json:"elapsed_s"`
	Interrupted bool    `json:"interrupted"`

	Settings   Settings          `json:"settings"`
	Sessions   SessionCounts     `json:"sessions"`
	Operations []OperationReport `json:"operations"`
}

// Settings are the flags that shaped the workload.
type Settings struct {
	Concurrency int `json:"concurrency"`
	Users       int `json:"users"`
	// Sessions is the run's session count; 0 means only the duration
	// bounded the run.
	Sessions        int     `json:"sessions"`
	RampS           float64 `json:"ramp_s"`
	DurationS       float64 `json:"duration_s"`
	WaitS           float64 `json:"wait_s"`
	CreateWaitS     float64 `json:"create_wait_s"`
	HoldS           float64 `json:"hold_s"`
	PollIntervalMS  float64 `json:"poll_interval_ms"`
	ProbeIntervalMS float64 `json:"probe_interval_ms"`
	Image           string  `json:"image"`
}

// SessionCounts are the numbers of sessions that reached each stage of the
// run, from start to cleanup.
type SessionCounts struct {
	Started   int `json:"started"`
	Ready     int `json:"ready"`
	Completed int `json:"completed"`
	// CleanedUp counts the sessions or containers that the workload left
	// behind and the cleanup after it removed.
	CleanedUp int `json:"cleaned_up"`
	// Leftover counts what is still there after the cleanup.
	Leftover int `json:"leftover"`
}

// OperationReport holds the figures of one operation. Count is every
// attempt: OK plus Errors plus Canceled. The latency percentiles cover the
// OK attempts only and are zero when there are none.
type OperationReport struct {
	Name           string      `json:"name"`
	Description    string      `json:"description"`
	Count          int         `json:"count"`
	OK             int         `json:"ok"`
	Errors         int         `json:"errors"`
	Canceled       int         `json:"canceled"`
	ThroughputPerS float64     `json:"throughput_per_s"`
	P50MS          float64     `json:"p50_ms"`
	P90MS          float64     `json:"p90_ms"`
	P99MS          float64     `json:"p99_ms"`
	MaxMS          float64     `json:"max_ms"`
	ErrorKinds     []ErrorKind `json:"error_kinds"`
}

// ErrorKind counts the failures of one kind, such as http_429_queue_full,
// transport or ready_timeout, with the first message as an example.
type ErrorKind struct {
	Kind    string `json:"kind"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// reportOrder is the order of the workload's operations in the report. The
// probes follow them.
var reportOrder = []string{opCreate, opReady, opGet, opDelete, opCycle}

// buildOperations summarizes every operation of the run. The probe names
// come after the workload's operations. elapsed is the divisor of the
// throughput.
func buildOperations(rec *recorder, probeNames []string, descriptions map[string]string, elapsed time.Duration) []OperationReport {
	names := append(slices.Clone(reportOrder), probeNames...)
	operations := make([]OperationReport, 0, len(names))
	for _, name := range names {
		s := rec.summarize(name)
		op := OperationReport{
			Name:        name,
			Description: descriptions[name],
			OK:          s.ok,
			Errors:      s.errorCount(),
			Canceled:    s.canceled,
			P50MS:       milliseconds(s.p50),
			P90MS:       milliseconds(s.p90),
			P99MS:       milliseconds(s.p99),
			MaxMS:       milliseconds(s.max),
			ErrorKinds:  []ErrorKind{},
		}
		op.Count = op.OK + op.Errors + op.Canceled
		if elapsed > 0 {
			op.ThroughputPerS = math.Round(float64(s.ok)/elapsed.Seconds()*1000) / 1000
		}
		for kind, tally := range s.errors {
			op.ErrorKinds = append(op.ErrorKinds, ErrorKind{Kind: kind, Count: tally.count, Example: tally.example})
		}
		slices.SortFunc(op.ErrorKinds, func(a, b ErrorKind) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Kind, b.Kind)
		})
		operations = append(operations, op)
	}
	return operations
}

// milliseconds converts d to milliseconds rounded to the microsecond.
func milliseconds(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// failedKinds returns the error kinds of the workload's steps and probes
// other than 429 rejections, which a target sends on purpose to shed load.
// The cycle is left out because it repeats its steps' errors.
func (r *Report) failedKinds() []string {
	var kinds []string
	for _, op := range r.Operations {
		if op.Name == opCycle {
			continue
		}
		for _, kind := range op.ErrorKinds {
			if !isRejection(kind.Kind) {
				kinds = append(kinds, op.Name+" "+kind.Kind)
			}
		}
	}
	return kinds
}

// writeJSON writes the report as indented JSON.
func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeText writes the report as a table with one row per operation,
// followed by the error kinds and what each operation measures.
func (r *Report) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "sessiond stress: %s against %s, run %s\n", r.Scenario, r.Target, r.RunID)
	sessions := "unlimited"
	if r.Settings.Sessions > 0 {
		sessions = fmt.Sprint(r.Settings.Sessions)
	}
	fmt.Fprintf(&b, "concurrency %d, users %d, sessions %s, workload %.1fs", r.Settings.Concurrency, r.Settings.Users,
		sessions, r.ElapsedS)
	if r.Interrupted {
		b.WriteString(" (interrupted)")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "sessions: %d started, %d ready, %d completed, %d cleaned up, %d left over\n\n",
		r.Sessions.Started, r.Sessions.Ready, r.Sessions.Completed, r.Sessions.CleanedUp, r.Sessions.Leftover)

	// The numbers align right. Padding the names to one width first keeps
	// the name column aligned left.
	nameWidth := len("operation")
	for _, op := range r.Operations {
		nameWidth = max(nameWidth, len(op.Name))
	}
	table := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(table, "%-*s\tcount\tok\terrors\tcanceled\tper_s\tp50_ms\tp90_ms\tp99_ms\tmax_ms\t\n", nameWidth, "operation")
	for _, op := range r.Operations {
		name := fmt.Sprintf("%-*s", nameWidth, op.Name)
		if op.Count == 0 {
			fmt.Fprintf(table, "%s\t0\t0\t0\t0\t-\t-\t-\t-\t-\t\n", name)
			continue
		}
		latency := func(ms float64) string {
			if op.OK == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f", ms)
		}
		fmt.Fprintf(table, "%s\t%d\t%d\t%d\t%d\t%.2f\t%s\t%s\t%s\t%s\t\n", name, op.Count, op.OK, op.Errors,
			op.Canceled, op.ThroughputPerS, latency(op.P50MS), latency(op.P90MS), latency(op.P99MS), latency(op.MaxMS))
	}
	if err := table.Flush(); err != nil {
		return err
	}

	var errorLines []string
	for _, op := range r.Operations {
		for _, kind := range op.ErrorKinds {
			errorLines = append(errorLines, fmt.Sprintf("  %s %s: %d, such as: %s", op.Name, kind.Kind, kind.Count, kind.Example))
		}
	}
	if len(errorLines) > 0 {
		b.WriteString("\nerrors:\n")
		b.WriteString(strings.Join(errorLines, "\n"))
		b.WriteString("\n")
	}

	b.WriteString("\noperations:\n")
	for _, op := range r.Operations {
		if op.Description != "" {
			fmt.Fprintf(&b, "  %s: %s\n", op.Name, op.Description)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
