package stress

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessiond/sessiond/docker"
)

// Operation names as they appear in the report. Backends measure the same
// names so that a sessiond run and a raw-Docker run line up row by row.
const (
	opCreate = "create"
	opReady  = "ready"
	opGet    = "get"
	opDelete = "delete"
	opCycle  = "cycle"
)

// session is one session that the workload makes, or for the raw-Docker
// baseline one container.
type session struct {
	// seq numbers the sessions of a run from 1.
	seq  int
	user string
	// id is the session id, or the container id for raw Docker. It is set
	// as soon as the target has made something that must be deleted.
	id string
	// ready is set by create when the session was ready in its response.
	ready bool
	// hostPort is the container's port on 127.0.0.1 (raw Docker only).
	hostPort int
}

// backend runs the steps of one session against a target. Every method
// returns when its ctx ends.
type backend interface {
	// check fails when the target does not respond. It runs once, before
	// the workload.
	check(ctx context.Context) error
	// create requests a session from the target and returns once the
	// target accepted it. It sets s.id whenever something was made, even when it
	// also returns an error, so that the caller deletes it.
	create(ctx context.Context, s *session) error
	// waitReady polls until the session is ready, failed or ctx ends.
	waitReady(ctx context.Context, s *session) error
	// poll queries the session's status once.
	poll(ctx context.Context, s *session) error
	// delete removes the session and returns once it is gone.
	delete(ctx context.Context, s *session) error
	// release removes a session left over after the workload without
	// waiting for it to be gone.
	release(ctx context.Context, s *session) error
	// sweep finds what the run made but did not delete, by the run id, and
	// removes it. It returns how many it removed and how many remain.
	sweep(ctx context.Context) (removed, remaining int, err error)
	// probes are the requests that the probe repeats while the workload runs.
	probes() []probe
	// descriptions explains each operation name in the report.
	descriptions() map[string]string
	close()
}

// probe is one request that the probe repeats at a fixed rate.
type probe struct {
	name string
	do   func(ctx context.Context) error
}

// Error kinds that do not come from a status code or Docker error class.
const (
	kindTransport     = "transport"
	kindTimeout       = "timeout"
	kindReadyTimeout  = "ready_timeout"
	kindDeleteTimeout = "delete_timeout"
	kindSessionFailed = "session_failed"
	kindBadResponse   = "bad_response"
	kindOther         = "other"
)

// kindError is a failure tagged with the error kind under which the report
// counts it.
type kindError struct {
	kind string
	err  error
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

func newKindError(kind, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

// apiError is an error response of the sessiond HTTP API.
type apiError struct {
	status  int
	code    string
	message string
	// retryAfter is the Retry-After header, or zero without one.
	retryAfter time.Duration
}

func (e *apiError) Error() string {
	if e.code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.status, e.message)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.status, e.code, e.message)
}

// errorKind names the class of err for the report: http_<status>_<code> for
// API errors, docker_<class> for Docker errors, or one of the kind constants.
func errorKind(err error) string {
	var tagged *kindError
	if errors.As(err, &tagged) {
		return tagged.kind
	}
	var api *apiError
	if errors.As(err, &api) {
		if api.code == "" {
			return fmt.Sprintf("http_%d", api.status)
		}
		return fmt.Sprintf("http_%d_%s", api.status, api.code)
	}
	var dockerErr *docker.Error
	if errors.As(err, &dockerErr) {
		return "docker_" + dockerErr.Kind.String()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return kindTimeout
	}
	return kindOther
}

// retryAfter returns the delay that a 429 or 503 response asked for, or
// zero when err carries none.
func retryAfter(err error) time.Duration {
	var api *apiError
	if errors.As(err, &api) {
		return api.retryAfter
	}
	return 0
}

// isRejection reports an error kind that the target sends on purpose to
// shed load: 429 Too Many Requests.
func isRejection(kind string) bool {
	return kind == "http_429" || strings.HasPrefix(kind, "http_429_")
}
