package main

import (
	"testing"
)

const goBenchOutput = `goos: linux
goarch: amd64
pkg: github.com/sessiond/sessiond/actors
cpu: AMD EPYC
BenchmarkCreateDeleteRoundTrip-2   	    7592	    367359 ns/op
BenchmarkGetSessionUnderLoad-2     	  393291	      5872.5 ns/op
BenchmarkIdleSessionMemory-2   	       1	2442988885 ns/op	      5107 bytes/session
BenchmarkBroken-2   --- FAIL: BenchmarkBroken-2
BenchmarkOdd-2   12   3 ns/op   x
PASS
ok  	github.com/sessiond/sessiond/actors	3.658s
`

func TestParseGoBench(t *testing.T) {
	results := parseGoBench(goBenchOutput)
	if len(results) != 3 {
		t.Fatalf("parsed %d results, want 3: %+v", len(results), results)
	}

	first := results[0]
	if first.name != "BenchmarkCreateDeleteRoundTrip-2" || first.iterations != 7592 {
		t.Errorf("first result %+v", first)
	}
	if ns, ok := first.metric("ns/op"); !ok || ns != 367359 {
		t.Errorf("first ns/op %v, %v", ns, ok)
	}
	if ns, _ := results[1].metric("ns/op"); ns != 5872.5 {
		t.Errorf("fractional ns/op %v, want 5872.5", ns)
	}
	if bytes, ok := results[2].metric("bytes/session"); !ok || bytes != 5107 {
		t.Errorf("bytes/session %v, %v", bytes, ok)
	}
	if _, ok := results[2].metric("allocs/op"); ok {
		t.Error("found a metric that the line does not have")
	}
}

func TestFindGoBench(t *testing.T) {
	runs := []goBenchRun{{results: parseGoBench(goBenchOutput)}}
	if r := findGoBench(runs, "BenchmarkIdleSessionMemory"); r == nil || r.iterations != 1 {
		t.Errorf("found %+v, want the memory benchmark", r)
	}
	if r := findGoBench(runs, "BenchmarkIdleSession"); r != nil {
		t.Errorf("a name prefix found %s", r.name)
	}
	if r := findGoBench(nil, "BenchmarkIdleSessionMemory"); r != nil {
		t.Errorf("found %s without runs", r.name)
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\nb\nc\n", 2); got != "b | c" {
		t.Errorf("got %q", got)
	}
	if got := lastLines("only", 5); got != "only" {
		t.Errorf("got %q", got)
	}
}
