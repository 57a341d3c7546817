package docker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/errdefs"
)

// timeoutError is a net.Error whose Timeout method reports true, as a read
// deadline error does.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// dialError returns the error net.Dial gives for errno, wrapped as
// http.Client wraps it.
func dialError(errno syscall.Errno) error {
	return &url.Error{
		Op:  "Get",
		URL: "http://api.moby.localhost/v1.41/containers/json",
		Err: &net.OpError{
			Op:  "dial",
			Net: "unix",
			Err: os.NewSyscallError("connect", errno),
		},
	}
}

func TestKindOfClassification(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want ErrorKind
	}{
		{"errdefs not found", errdefs.NotFound(errors.New("No such container: sessiond-x")), KindNotFound},
		{"containerd not found", fmt.Errorf("inspect: %w", cerrdefs.ErrNotFound), KindNotFound},
		{"errdefs conflict", errdefs.Conflict(errors.New("name already in use")), KindConflict},
		{"containerd already exists", cerrdefs.ErrAlreadyExists, KindConflict},
		{"errdefs invalid parameter", errdefs.InvalidParameter(errors.New("Minimum memory limit allowed is 6MB")), KindInvalid},
		{"containerd invalid argument", cerrdefs.ErrInvalidArgument, KindInvalid},
		{"errdefs forbidden", errdefs.Forbidden(errors.New("denied")), KindInvalid},
		{"errdefs not implemented", errdefs.NotImplemented(errors.New("no")), KindInvalid},
		{"errdefs system", errdefs.System(errors.New("driver failed")), KindTransient},
		{"errdefs unavailable", errdefs.Unavailable(errors.New("shutting down")), KindTransient},
		{"errdefs unknown", errdefs.Unknown(errors.New("odd")), KindTransient},
		{"containerd resource exhausted", cerrdefs.ErrResourceExhausted, KindTransient},
		{"connection refused", dialError(syscall.ECONNREFUSED), KindTransient},
		{"connection reset", dialError(syscall.ECONNRESET), KindTransient},
		{"broken pipe", dialError(syscall.EPIPE), KindTransient},
		{"eof", fmt.Errorf("read body: %w", io.EOF), KindTransient},
		{"unexpected eof", fmt.Errorf("decode: %w", io.ErrUnexpectedEOF), KindTransient},
		{"deadline exceeded", fmt.Errorf("get: %w", context.DeadlineExceeded), KindTimeout},
		{"net timeout", &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}}, KindTimeout},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), KindUnknown},
		{"tls alert", &net.OpError{Op: "remote error", Err: tls.AlertError(42)}, KindUnknown},
		{"plain error", errors.New("something else"), KindUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := KindOf(classify("inspect container sessiond-x", tt.err))
			if got != tt.want {
				t.Errorf("kind of %v = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

func TestKindOfStatus(t *testing.T) {
	tests := []struct {
		status int
		want   ErrorKind
	}{
		{422, KindInvalid},
		{499, KindInvalid},
		{502, KindTransient},
		{504, KindTransient},
		{302, KindUnknown},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			if got := kindOfStatus(tt.status); got != tt.want {
				t.Errorf("kindOfStatus(%d) = %s, want %s", tt.status, got, tt.want)
			}
		})
	}
}

func TestClassifyNil(t *testing.T) {
	if err := classify("start container x", nil); err != nil {
		t.Errorf("classify(nil) = %v, want nil", err)
	}
}

func TestClassifyMessageAndChain(t *testing.T) {
	cause := errdefs.Conflict(errors.New("name in use"))
	err := classify("create container sessiond-abc", cause)

	if got, want := err.Error(), "create container sessiond-abc: name in use"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Error("classified error does not wrap its cause")
	}
	if !cerrdefs.IsConflict(err) {
		t.Error("classified error hides the errdefs conflict of its cause")
	}
}

func TestClassifyKeepsError(t *testing.T) {
	inner := &Error{Kind: KindNotFound, Op: "inspect container x", Err: errors.New("gone")}
	err := classify("remove container x", inner)
	if err != inner {
		t.Errorf("classify returned %v, want the *Error unchanged", err)
	}
}
