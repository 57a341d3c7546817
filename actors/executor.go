package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sessiond/sessiond/docker"
)

// Errors that Docker jobs end with besides the engine's own.
var (
	ErrQueueFull   = errors.New("docker queue is full")
	ErrJobCanceled = errors.New("docker job canceled before it started")
	ErrPoolStopped = errors.New("docker pool stopped")
)

// executor runs Docker jobs with a per-attempt deadline and retries
// transient failures with jittered exponential backoff. Workers and inline
// sessions share it, so both modes behave the same apart from blocking.
type executor struct {
	engine  docker.Engine
	timeout time.Duration
	retries int
	backoff time.Duration
	logger  hclog.Logger
	metrics *Metrics
}

// run executes job until it succeeds, fails for good, or base ends.
func (e *executor) run(base context.Context, job *DockerJob) *DockerResult {
	start := time.Now()
	res := &DockerResult{OpID: job.OpID, Kind: job.Kind}
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		ctx, cancel := context.WithTimeout(base, e.timeout)
		value, err := e.call(ctx, job)
		cancel()
		if err == nil {
			res.Value, res.Err = value, nil
			break
		}
		if errors.Is(err, context.DeadlineExceeded) && docker.KindOf(err) == docker.KindUnknown {
			err = &docker.Error{Kind: docker.KindTimeout, Op: "docker " + string(job.Kind) + " job", Err: err}
		}
		res.Err = err
		if !e.retryable(job, err) || attempt > e.retries || base.Err() != nil {
			break
		}
		delay := e.delay(attempt)
		e.logger.Debug("retrying docker job", "kind", job.Kind, "session_id", job.SessionID, "op_id", job.OpID,
			"attempt", attempt, "delay", delay, "error", err)
		e.metrics.dockerRetries.WithLabelValues(string(job.Kind)).Inc()
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-base.Done():
			timer.Stop()
		}
		if base.Err() != nil {
			break
		}
	}
	res.Elapsed = time.Since(start)
	outcome := "ok"
	if res.Err != nil {
		outcome = docker.KindOf(res.Err).String()
	}
	e.metrics.dockerCalls.WithLabelValues(string(job.Kind), outcome).Observe(res.Elapsed.Seconds())
	return res
}

// call runs one attempt and turns a panic in the engine into an error,
// because it runs on a plain goroutine where a panic would end the process.
func (e *executor) call(ctx context.Context, job *DockerJob) (value any, err error) {
	defer func() {
		if r := recover(); r != nil {
			e.logger.Error("docker job panicked", "kind", job.Kind, "session_id", job.SessionID, "op_id", job.OpID,
				"panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("docker job %s panicked: %v", job.Kind, r)
		}
	}()
	return job.Run(ctx, e.engine)
}

func (e *executor) retryable(job *DockerJob, err error) bool {
	switch docker.KindOf(err) {
	case docker.KindTransient:
		return true
	case docker.KindTimeout:
		return job.Idempotent
	default:
		return false
	}
}

// delay returns the pause before retry number attempt: backoff doubled per
// attempt, with full jitter on the upper half so that callers that failed
// together do not retry together.
func (e *executor) delay(attempt int) time.Duration {
	d := e.backoff << (attempt - 1)
	if d <= 0 || d > 10*time.Second {
		d = 10 * time.Second
	}
	return d/2 + rand.N(d/2+1)
}
