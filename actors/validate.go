package actors

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/sessiond/sessiond/config"
)

// minMemoryBytes is the smallest memory limit Docker Engine accepts (6 MiB).
const minMemoryBytes = 6 << 20

var (
	userPattern   = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	envKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// Limits on free-form request parts, so one request cannot make a huge
// container spec or label.
const (
	maxEnvVars   = 64
	maxCmdArgs   = 64
	maxValueSize = 4096
)

// sessionSpec is a validated CreateRequest with defaults applied.
type sessionSpec struct {
	User   string            `json:"user"`
	Image  string            `json:"image"`
	Limits Limits            `json:"limits"`
	Env    map[string]string `json:"env,omitempty"`
	Cmd    []string          `json:"cmd,omitempty"`
}

// resolveSpec checks req against the configured allowlist and maxima and
// fills in defaults. The returned error is an *Error with CodeInvalid that
// names the field.
func resolveSpec(cfg *config.Config, req CreateRequest) (sessionSpec, error) {
	spec := sessionSpec{User: req.User, Image: req.Image, Env: req.Env, Cmd: req.Cmd}
	if !userPattern.MatchString(req.User) {
		return spec, invalid("user", fmt.Sprintf("%q is not a valid user: use 1 to 64 letters, digits, '.', '_', '@' or '-'", req.User))
	}
	if spec.Image == "" {
		spec.Image = cfg.SessionImage
	}
	if !slices.Contains(cfg.AllowedImages, spec.Image) {
		return spec, invalid("image", fmt.Sprintf("image %q is not allowed; allowed images: %s", spec.Image, strings.Join(cfg.AllowedImages, ", ")))
	}

	switch {
	case req.MemoryBytes < 0:
		return spec, invalid("memory", fmt.Sprintf("memory %d is negative", req.MemoryBytes))
	case req.MemoryBytes == 0:
		spec.Limits.MemoryBytes = cfg.DefaultMemoryBytes
	case req.MemoryBytes < minMemoryBytes:
		return spec, invalid("memory", fmt.Sprintf("memory %d bytes is below Docker's minimum of 6MiB", req.MemoryBytes))
	case req.MemoryBytes > cfg.MaxMemoryBytes:
		return spec, invalid("memory", fmt.Sprintf("memory %d bytes exceeds the maximum of %d bytes", req.MemoryBytes, cfg.MaxMemoryBytes))
	default:
		spec.Limits.MemoryBytes = req.MemoryBytes
	}

	switch {
	case math.IsNaN(req.CPUs) || req.CPUs < 0:
		return spec, invalid("cpus", fmt.Sprintf("cpus %v must be a positive number", req.CPUs))
	case req.CPUs == 0:
		spec.Limits.CPUs = cfg.DefaultCPUs
	case req.CPUs < 0.01:
		return spec, invalid("cpus", fmt.Sprintf("cpus %v is below the minimum of 0.01", req.CPUs))
	case req.CPUs > cfg.MaxCPUs:
		return spec, invalid("cpus", fmt.Sprintf("cpus %v exceeds the maximum of %v", req.CPUs, cfg.MaxCPUs))
	default:
		spec.Limits.CPUs = req.CPUs
	}

	switch {
	case req.Pids < 0:
		return spec, invalid("pids", fmt.Sprintf("pids %d is negative", req.Pids))
	case req.Pids == 0:
		spec.Limits.Pids = cfg.DefaultPids
	case req.Pids > cfg.MaxPids:
		return spec, invalid("pids", fmt.Sprintf("pids %d exceeds the maximum of %d", req.Pids, cfg.MaxPids))
	default:
		spec.Limits.Pids = req.Pids
	}

	if len(req.Env) > maxEnvVars {
		return spec, invalid("env", fmt.Sprintf("%d variables given, at most %d allowed", len(req.Env), maxEnvVars))
	}
	for key, value := range req.Env {
		if !envKeyPattern.MatchString(key) {
			return spec, invalid("env", fmt.Sprintf("%q is not a valid variable name: use letters, digits and '_', not starting with a digit", key))
		}
		if len(value) > maxValueSize || strings.ContainsRune(value, 0) {
			return spec, invalid("env", fmt.Sprintf("value of %s must be at most %d bytes without NUL characters", key, maxValueSize))
		}
	}
	if len(req.Cmd) > maxCmdArgs {
		return spec, invalid("cmd", fmt.Sprintf("%d arguments given, at most %d allowed", len(req.Cmd), maxCmdArgs))
	}
	for i, arg := range req.Cmd {
		if len(arg) > maxValueSize || strings.ContainsRune(arg, 0) {
			return spec, invalid("cmd", fmt.Sprintf("argument %d must be at most %d bytes without NUL characters", i, maxValueSize))
		}
	}
	return spec, nil
}

func invalid(field, message string) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: message}
}
