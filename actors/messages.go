package actors

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/docker"
)

// Messages between the HTTP-facing Service and the actors carry a reply
// channel with room for one value instead of using protoactor futures:
// futures race between reply and timeout under -race, and the caller
// already owns a context with a deadline.

// CreateSession requests that the SessionSupervisor admit and start a session.
type CreateSession struct {
	Request CreateRequest
	Reply   chan createReply
}

type createReply struct {
	Info SessionInfo
	PID  *actor.PID
	Err  error
}

// infoReply carries one session snapshot or an error.
type infoReply struct {
	Info SessionInfo
	Err  error
}

// GetSessionRequest requests one session. It counts as activity.
type GetSessionRequest struct {
	ID    string
	Reply chan infoReply
	// hops counts redeliveries after the session actor was found stopped.
	hops int
}

// ListSessionsRequest requests every session that matches Filter.
type ListSessionsRequest struct {
	Filter ListFilter
	Reply  chan []SessionInfo
}

// StopSession stops a session and removes its container.
type StopSession struct {
	ID     string
	Reason string
	Reply  chan infoReply
	hops   int
}

// WaitSessionRequest replies once the session is ready or terminal, or
// with the current snapshot when Deadline passes first.
type WaitSessionRequest struct {
	ID       string
	Deadline time.Time
	// UntilTerminal waits for stopped or failed instead of ready.
	UntilTerminal bool
	Reply         chan infoReply
	hops          int
}

// DescribeRequest requests an actor's node in the supervision tree.
// Children are filled by the tree walker, not by the actor.
type DescribeRequest struct {
	Reply chan describeReply
}

type describeReply struct {
	Node     TreeNode
	Children []*actor.PID
}

// StopAllSessions stops every session for shutdown. With Remove false the
// containers are left running and only the actors stop.
type StopAllSessions struct {
	Remove bool
	Reply  chan int
}

// ContainerEventReceived is a container event from the daemon, routed by the
// supervisor to the session named in the container's labels.
type ContainerEventReceived struct {
	Event docker.Event
}

// sessionChanged carries a session's new summary to the supervisor.
type sessionChanged struct {
	Info SessionInfo
}

// sessionFinished reports to the supervisor that a session reached a
// terminal state and its container is gone or could not be removed.
type sessionFinished struct {
	Info SessionInfo
}

// adoptSession requests that the supervisor rebuild a session from a
// container found at start.
type adoptSession struct {
	Container docker.Container
	Spec      sessionSpec
	Created   time.Time
	Reply     chan error
}

// resyncSessions reports that the event stream was down. The supervisor
// then has every session check its container.
type resyncSessions struct{}

// checkContainer requests that a session inspect its container.
type checkContainer struct{}

// purgeTick makes the supervisor forget sessions past their retention.
type purgeTick struct{}

// DockerJob is one unit of Docker work for the DockerPool. Run must be
// idempotent when Idempotent is set, because timeouts of such jobs are
// retried.
type DockerJob struct {
	// OpID matches the result to the request on the sender's side.
	OpID uint64
	// SessionID names the session the job is for, in logs; empty for
	// jobs of the supervisor or of recovery.
	SessionID string
	Kind      OpKind
	// Run performs the Docker calls. ctx carries the per-attempt deadline.
	Run        func(ctx context.Context, engine docker.Engine) (any, error)
	Idempotent bool
	// ReplyTo receives DockerJobStarted (when NotifyStart is set) and
	// DockerResult.
	ReplyTo     *actor.PID
	NotifyStart bool
	// Priority orders the queue: lower values are dispatched first.
	Priority int
	// Reserved marks the first job of an admitted session, which holds a
	// place in the queue since admission.
	Reserved  bool
	Enqueued  time.Time
	queuedSeq atomic.Uint64
}

// OpKind names a Docker job for logs and metrics.
type OpKind string

const (
	OpCreate  OpKind = "create"
	OpInspect OpKind = "inspect"
	OpRemove  OpKind = "remove"
	OpList    OpKind = "list"
	OpPing    OpKind = "ping"
)

// DockerJobStarted reports to the job's sender that a worker took the job.
type DockerJobStarted struct {
	OpID uint64
}

// DockerResult is the outcome of a DockerJob.
type DockerResult struct {
	OpID     uint64
	Kind     OpKind
	Value    any
	Err      error
	Attempts int
	// Waited is the time spent in the queue, Elapsed the time running.
	Waited  time.Duration
	Elapsed time.Duration
}

// CancelDockerJob removes a job from the pool's queue if no worker has
// taken it yet; the pool then replies with ErrJobCanceled.
type CancelDockerJob struct {
	Job *DockerJob
}

// workerDone reports to the pool that a worker is idle again. It carries
// the result of the job for the adaptive limit.
type workerDone struct {
	Worker *actor.PID
	Result *DockerResult
}

// jobFinished carries a job's result from a worker's goroutine back into
// the worker's mailbox.
type jobFinished struct {
	Job    *DockerJob
	Result *DockerResult
}

// Messages a Session sends to itself.
type (
	createProgress struct {
		OpID  uint64
		Stage State
	}
	probeFinished struct {
		Generation uint64
		Err        error
	}
	timerFired struct {
		Kind       timerKind
		Generation uint64
	}
)

type timerKind int

const (
	timerIdle timerKind = iota
	timerTTL
	timerRestart
	// timerRetry repeats a Docker job that failed while the daemon was
	// unreachable.
	timerRetry
)
