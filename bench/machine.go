package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where the benchmark ran. A field that could not be
// read is "unknown".
type machine struct {
	cores    int
	cpuModel string
	// memory is MemTotal from /proc/meminfo, formatted.
	memory    string
	kernel    string
	goVersion string
	// dockerServer is the daemon's version and API version, as `docker
	// version` reports them.
	dockerServer string
	// dockerNegotiated is the API version the docker package negotiated.
	dockerNegotiated string
	// dockerStorage is the storage driver and cgroup setup, which affect
	// the cost of creating a container.
	dockerStorage string
	commit        string
}

const unknown = "unknown"

// readMachine collects the machine's description. It runs docker and git
// with a short time limit each.
func readMachine(ctx context.Context, negotiatedAPI string) machine {
	m := machine{
		cores:            runtime.NumCPU(),
		cpuModel:         cpuModel(),
		memory:           memTotal(),
		kernel:           readTrimmed("/proc/sys/kernel/osrelease"),
		goVersion:        runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		dockerNegotiated: negotiatedAPI,
	}
	if m.dockerNegotiated == "" {
		m.dockerNegotiated = unknown
	}

	m.dockerServer = unknown
	if out, ok := command(ctx, "docker", "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"); ok {
		if fields := strings.Fields(out); len(fields) == 2 {
			m.dockerServer = "Docker Engine " + fields[0] + ", API " + fields[1]
		}
	}
	m.dockerStorage = unknown
	if out, ok := command(ctx, "docker", "info", "--format", "{{.Driver}} {{.CgroupDriver}} {{.CgroupVersion}}"); ok {
		if fields := strings.Fields(out); len(fields) == 3 {
			m.dockerStorage = "storage driver " + fields[0] + ", cgroup v" + fields[2] + " (" + fields[1] + ")"
		}
	}

	m.commit = unknown
	if out, ok := command(ctx, "git", "rev-parse", "--short", "HEAD"); ok && out != "" {
		m.commit = out
		if status, ok := command(ctx, "git", "status", "--porcelain", "--untracked-files=no"); ok && status != "" {
			m.commit += " with uncommitted changes in tracked files"
		}
	}
	return m
}

// command runs name with args and returns its trimmed standard output.
func command(ctx context.Context, name string, args ...string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

func readTrimmed(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return unknown
	}
	return strings.TrimSpace(string(data))
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return unknown
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return unknown
}

// memTotal returns MemTotal from /proc/meminfo in GiB.
func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return unknown
	}
	kib, ok := parseMemTotal(string(data))
	if !ok {
		return unknown
	}
	return strconv.FormatFloat(float64(kib)/(1<<20), 'f', 1, 64) + " GiB"
}

// parseMemTotal returns the MemTotal line of /proc/meminfo in KiB (the
// file writes "kB" but means KiB).
func parseMemTotal(meminfo string) (int64, bool) {
	for _, line := range strings.Split(meminfo, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kib, err := strconv.ParseInt(fields[1], 10, 64)
			return kib, err == nil
		}
	}
	return 0, false
}

// loadAverage returns the 1-minute load average, or -1 when it cannot be
// read.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return -1
	}
	load, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return -1
	}
	return load
}
