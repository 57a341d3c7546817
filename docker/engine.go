// Package docker is the only package of sessiond that talks to the Docker
// Engine. It connects to the daemon, builds container specs from session
// specs, classifies errors and reads the event stream. The actors use it
// through the narrow Engine interface so that tests can swap in a fake.
package docker

import (
	"context"
	"time"
)

// Engine is the part of the Docker Engine API that sessiond uses. Every
// method honours ctx: the caller sets the deadline. Errors are wrapped in
// *Error so that callers can tell transient failures from final ones.
type Engine interface {
	// Ping checks that the daemon answers.
	Ping(ctx context.Context) error
	// CreateContainer creates (does not start) a container and returns its
	// ID. A name that is already taken returns an error of KindConflict.
	CreateContainer(ctx context.Context, spec ContainerSpec) (string, error)
	// StartContainer starts a created container. Starting a running
	// container succeeds.
	StartContainer(ctx context.Context, idOrName string) error
	// InspectContainer returns the container's current state.
	InspectContainer(ctx context.Context, idOrName string) (Container, error)
	// RemoveContainer kills and removes a container and its anonymous
	// volumes. A container that is already gone counts as removed.
	RemoveContainer(ctx context.Context, idOrName string) error
	// ListContainers returns all containers, running or not, that carry
	// every label in labels (a label with an empty value matches any value).
	ListContainers(ctx context.Context, labels map[string]string) ([]Container, error)
	// Events streams container events for containers that carry every label
	// in labels. Both channels close when ctx ends or the stream fails; the
	// error channel then carries at most one error.
	Events(ctx context.Context, labels map[string]string) (<-chan Event, <-chan error)
}

// ContainerSpec is what sessiond asks the daemon to create for one session.
type ContainerSpec struct {
	Name   string
	Image  string
	Cmd    []string
	Env    map[string]string
	Labels map[string]string
	// Port is the container's TCP port. It is published on 127.0.0.1 with a
	// host port chosen by Docker.
	Port int
	// MemoryBytes is the hard memory limit; swap is disabled by setting
	// the memory+swap limit to the same value.
	MemoryBytes int64
	// NanoCPUs is the CPU quota in billionths of a CPU (1e9 = one CPU).
	NanoCPUs int64
	// PidsLimit caps the number of processes and threads.
	PidsLimit int64
}

// Container is the state of one container as the daemon reports it.
type Container struct {
	ID     string
	Name   string // without the leading slash
	Image  string
	Labels map[string]string
	// State is Docker's status word: created, running, paused, restarting,
	// removing, exited or dead.
	State     string
	Running   bool
	ExitCode  int
	OOMKilled bool
	// Error is the daemon's message when the container failed to start.
	Error string
	// HostPort is the host port on 127.0.0.1 that maps to the spec's Port,
	// or 0 while none is published (the container is not running).
	HostPort   int
	StartedAt  time.Time
	FinishedAt time.Time
	// Limits as set on the container; filled by InspectContainer only.
	MemoryBytes int64
	NanoCPUs    int64
	PidsLimit   int64
}

// Event is one container event from the daemon's event stream.
type Event struct {
	// Action is Docker's action word: create, start, die, oom, kill,
	// destroy, health_status and others.
	Action      string
	ContainerID string
	// Labels are the container's labels, as attributes of the event.
	Labels map[string]string
	// ExitCode is set for die events.
	ExitCode int
	Time     time.Time
}
