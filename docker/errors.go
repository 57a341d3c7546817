package docker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/docker/docker/client"
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

// classify wraps err from the Docker client as an *Error labelled op, such
// as "create container sessiond-abc", with the kind a caller needs to decide
// on a retry. It returns nil for a nil err and leaves an *Error as it is.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	return &Error{Kind: kindOf(err), Op: op, Err: err}
}

// kindOf maps an error of the Docker client to its ErrorKind. The client
// turns the daemon's HTTP status into containerd errdefs values, such as
// 404 not found, 409 conflict, 400 invalid argument, 500 internal and 503
// unavailable. unmappedStatus recovers the other statuses.
func kindOf(err error) ErrorKind {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		// The caller gave up, so repeating the call for it makes no sense.
		return KindUnknown
	case isTLSRejection(err):
		// The client library reports these as failed connections, but
		// certificates do not fix themselves on a retry.
		return KindUnknown
	case cerrdefs.IsNotFound(err):
		return KindNotFound
	case cerrdefs.IsConflict(err), cerrdefs.IsAlreadyExists(err):
		return KindConflict
	case cerrdefs.IsInvalidArgument(err),
		cerrdefs.IsFailedPrecondition(err),
		cerrdefs.IsPermissionDenied(err),
		cerrdefs.IsUnauthorized(err),
		cerrdefs.IsNotImplemented(err):
		return KindInvalid
	case cerrdefs.IsInternal(err),
		cerrdefs.IsUnavailable(err),
		cerrdefs.IsResourceExhausted(err),
		cerrdefs.IsDataLoss(err):
		return KindTransient
	case cerrdefs.IsUnknown(err):
		return kindOfStatus(errhttp.ToHTTP(err))
	case client.IsErrConnectionFailed(err),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return KindTransient
	}

	if status, ok := unmappedStatus(err); ok {
		return kindOfStatus(status)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return KindTimeout
	}
	return KindUnknown
}

// isTLSRejection reports a TLS handshake that failed on certificates: the
// daemon's certificate did not verify, or the daemon sent an alert such as
// bad_certificate for the client's.
func isTLSRejection(err error) bool {
	var verifyErr *tls.CertificateVerificationError
	var alert tls.AlertError
	return errors.As(err, &verifyErr) || errors.As(err, &alert)
}

// unmappedStatus returns the HTTP status of a daemon error whose status
// errdefs has no value for, such as 422 or 502. The client library keeps
// such a status only as a value that errors.Is compares with
// errhttp.ToNative(status), so each status from 400 to 599 is tried.
func unmappedStatus(err error) (int, bool) {
	for status := 400; status < 600; status++ {
		if errors.Is(err, errhttp.ToNative(status)) {
			return status, true
		}
	}
	return 0, false
}

// kindOfStatus maps an HTTP status that errdefs has no value for.
func kindOfStatus(status int) ErrorKind {
	switch {
	case status >= 500 && status < 600:
		return KindTransient
	case status >= 400 && status < 500:
		return KindInvalid
	default:
		return KindUnknown
	}
}
