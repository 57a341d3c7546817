package actors

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// FuzzResolveSpec checks that validation never panics, rejects with a
// named field, and never lets a limit past its configured maximum.
func FuzzResolveSpec(f *testing.F) {
	cfg := testConfig(f, nil)
	f.Add("alice", "", int64(0), 0.0, int64(0), "KEY", "value", "arg")
	f.Add("bob", "alpine", int64(-1), -1.0, int64(-1), "1X", "", "")
	f.Add("a/b", "sessiond-sandbox:latest", int64(1<<40), math.Inf(1), int64(1<<40), "", "\x00", "\x00")
	f.Add("", "", int64(6<<20), 0.01, int64(1), "_", "v", "")
	f.Fuzz(func(t *testing.T, user, image string, memory int64, cpus float64, pids int64, envKey, envValue, arg string) {
		req := CreateRequest{User: user, Image: image, MemoryBytes: memory, CPUs: cpus, Pids: pids,
			Env: map[string]string{envKey: envValue}, Cmd: []string{arg}}
		spec, err := resolveSpec(&cfg, req)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != CodeInvalid || ae.Field == "" || ae.Message == "" {
				t.Fatalf("error %v is not an invalid_argument naming a field", err)
			}
			return
		}
		if !slices.Contains(cfg.AllowedImages, spec.Image) {
			t.Fatalf("image %q accepted but not allowed", spec.Image)
		}
		l := spec.Limits
		if l.MemoryBytes < minMemoryBytes || l.MemoryBytes > cfg.MaxMemoryBytes {
			t.Fatalf("memory %d accepted outside [6MiB, %d]", l.MemoryBytes, cfg.MaxMemoryBytes)
		}
		if !(l.CPUs >= 0.01 && l.CPUs <= cfg.MaxCPUs) {
			t.Fatalf("cpus %v accepted outside [0.01, %v]", l.CPUs, cfg.MaxCPUs)
		}
		if l.Pids < 1 || l.Pids > cfg.MaxPids {
			t.Fatalf("pids %d accepted outside [1, %d]", l.Pids, cfg.MaxPids)
		}
	})
}
