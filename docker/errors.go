package docker

import (
	"errors"
	"fmt"
)

// ErrorKind says how a caller should react to a failed Docker call.
type ErrorKind int

const (
	// KindUnknown is an error that fits no other kind; do not retry it.
	KindUnknown ErrorKind = iota
	// KindTransient is worth retrying: connection refused or reset, daemon
	// 5xx answers, an unreachable daemon.
	KindTransient
	// KindTimeout is a call that ran out of time; retry it only when the
	// call is idempotent.
	KindTimeout
	// KindNotFound is a missing container or image.
	KindNotFound
	// KindConflict is a name already in use or a container in the wrong state.
	KindConflict
	// KindInvalid is a request the daemon rejected as malformed (4xx).
	KindInvalid
)

// String returns the kind's name as used in logs and metrics.
func (k ErrorKind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindTimeout:
		return "timeout"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindInvalid:
		return "invalid"
	default:
		return "unknown"
	}
}

// Error is a failed Docker call with its classification.
type Error struct {
	Kind ErrorKind
	// Op is the call that failed, such as "create container".
	Op  string
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the first *Error in err's chain, or
// KindUnknown when there is none.
func KindOf(err error) ErrorKind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return KindUnknown
}
