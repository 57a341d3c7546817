package actors

import (
	"context"
	"fmt"
	"time"
)

// State is a session's place in its lifecycle:
// pending -> creating -> starting -> probing -> ready -> stopping -> stopped,
// and failed from any state before stopped.
type State string

const (
	StatePending  State = "pending"
	StateCreating State = "creating"
	StateStarting State = "starting"
	StateProbing  State = "probing"
	StateReady    State = "ready"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
	StateFailed   State = "failed"
)

// Terminal reports whether no further transition can happen.
func (s State) Terminal() bool { return s == StateStopped || s == StateFailed }

// CreateRequest is a request for a new session. Zero limits take the
// configured defaults.
type CreateRequest struct {
	User  string
	Image string
	// MemoryBytes, CPUs and Pids lower the configured defaults; a value
	// above the configured maximum is rejected.
	MemoryBytes int64
	CPUs        float64
	Pids        int64
	// Env is passed to the container; names must be valid environment
	// variable names.
	Env map[string]string
	// Cmd replaces the image's default arguments when not empty.
	Cmd []string
}

// ListFilter selects sessions; empty fields match everything.
type ListFilter struct {
	User  string
	State State
}

// Limits are the resource limits applied to a session's container.
type Limits struct {
	MemoryBytes int64   `json:"memory_bytes"`
	CPUs        float64 `json:"cpus"`
	Pids        int64   `json:"pids"`
}

// Transition is one entry of a session's history.
type Transition struct {
	State  State     `json:"state"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// SessionInfo is a snapshot of one session.
type SessionInfo struct {
	ID          string `json:"id"`
	User        string `json:"user"`
	Image       string `json:"image"`
	State       State  `json:"state"`
	ContainerID string `json:"container_id,omitempty"`
	// Endpoint is host:port on 127.0.0.1 where the session's port is published.
	Endpoint       string            `json:"endpoint,omitempty"`
	Limits         Limits            `json:"limits"`
	Env            map[string]string `json:"env,omitempty"`
	Cmd            []string          `json:"cmd,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	ReadyAt        *time.Time        `json:"ready_at,omitempty"`
	LastActivityAt time.Time         `json:"last_activity_at"`
	// ExpiresAt is when the TTL stops the session; nil without a TTL.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Restarts  int        `json:"restarts"`
	LastError string     `json:"last_error,omitempty"`
	// FailureCode classifies why a failed session failed when the Docker
	// daemon was the cause: "timeout" or "docker_unavailable".
	FailureCode Code `json:"failure_code,omitempty"`
	// QueuePosition is the number of Docker jobs ahead of this session's
	// next job, set only while the session is pending.
	QueuePosition *int         `json:"queue_position,omitempty"`
	History       []Transition `json:"history,omitempty"`
}

// TreeNode is one actor in the supervision tree dump.
type TreeNode struct {
	Name     string         `json:"name"`
	PID      string         `json:"pid"`
	Kind     string         `json:"kind"`
	State    string         `json:"state,omitempty"`
	Restarts int            `json:"restarts"`
	Detail   map[string]any `json:"detail,omitempty"`
	Children []TreeNode     `json:"children,omitempty"`
}

// Readiness is whether sessiond can create sessions now, with the state
// behind that answer.
type Readiness struct {
	Ready           bool   `json:"ready"`
	DockerReachable bool   `json:"docker_reachable"`
	DockerError     string `json:"docker_error,omitempty"`
	PoolAlive       bool   `json:"pool_alive"`
	// Mode is "async", "inline", or "inline-fallback" after the pool died.
	Mode          string `json:"mode"`
	QueueLength   int    `json:"queue_length"`
	QueueCapacity int    `json:"queue_capacity"`
	BusyWorkers   int    `json:"busy_workers"`
	Workers       int    `json:"workers"`
	// ConcurrencyLimit is how many Docker jobs may run at once now.
	ConcurrencyLimit int `json:"concurrency_limit"`
	Sessions         int `json:"sessions"`
}

// Code classifies an Error for callers such as the HTTP layer.
type Code string

const (
	CodeInvalid      Code = "invalid_argument"   // 400
	CodeNotFound     Code = "not_found"          // 404
	CodeConflict     Code = "conflict"           // 409
	CodeLimitReached Code = "limit_reached"      // 429
	CodeQueueFull    Code = "queue_full"         // 429
	CodeUnavailable  Code = "docker_unavailable" // 503
	CodeShuttingDown Code = "shutting_down"      // 503
	CodeTimeout      Code = "timeout"            // 504
	CodeInternal     Code = "internal"           // 500
)

// Error is a failure that the actors report to their callers.
type Error struct {
	Code    Code
	Message string
	// Field names the request field at fault, for CodeInvalid.
	Field string
	// RetryAfter suggests when to try again, for 429 and 503 codes.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Service is what the HTTP layer needs from the actor system. Every method
// returns an *Error for failures a caller can act on.
type Service interface {
	// CreateSession admits a session and returns once it is ready or wait
	// has passed, whichever comes first.
	CreateSession(ctx context.Context, req CreateRequest, wait time.Duration) (SessionInfo, error)
	// GetSession returns one session and counts as activity on it.
	GetSession(ctx context.Context, id string) (SessionInfo, error)
	ListSessions(ctx context.Context, filter ListFilter) ([]SessionInfo, error)
	// DeleteSession stops a session and returns once it is stopped or wait
	// has passed.
	DeleteSession(ctx context.Context, id string, wait time.Duration) (SessionInfo, error)
	Tree(ctx context.Context) (TreeNode, error)
	Readiness(ctx context.Context) Readiness
}
