package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/sessiond/sessiond/docker"
)

// errAlreadyLive is the adoption of a session that a live actor owns
// already, as when recovery is retried.
var errAlreadyLive = errors.New("session is already live")

// sessionIDPattern matches the ids newSessionID makes.
var sessionIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// RecoveryReport counts what recovery did with the containers it found.
type RecoveryReport struct {
	Adopted int
	Removed int
}

// Recover handles the containers of this instance that exist at start,
// per RECOVERY_MODE: with "adopt" it rebuilds their sessions from the
// labels (running ones come back after a probe, dead ones go through the
// restart policy) and removes containers whose labels cannot be read; with
// "remove-all" it removes them all. Call it before serving requests.
func (s *System) Recover(ctx context.Context) (RecoveryReport, error) {
	return s.reconcile(ctx, s.rt.cfg.RecoveryMode == "remove-all")
}

// reconcile adopts the containers of this instance that no live session
// owns, or removes them all with removeAll, and removes containers whose
// labels cannot be read.
func (s *System) reconcile(ctx context.Context, removeAll bool) (RecoveryReport, error) {
	var report RecoveryReport
	labels := map[string]string{docker.LabelInstance: s.rt.cfg.InstanceID}
	res := s.rt.exec.run(ctx, &DockerJob{Kind: OpList, Idempotent: true,
		Run: func(c context.Context, e docker.Engine) (any, error) { return e.ListContainers(c, labels) }})
	if res.Err != nil {
		return report, fmt.Errorf("list containers of instance %s: %w", s.rt.cfg.InstanceID, res.Err)
	}
	logger := s.rt.logger.Named("recovery")
	var errs []error
	for _, c := range res.Value.([]docker.Container) {
		spec, created, err := s.readLabels(c)
		if err == nil && !removeAll {
			reply := make(chan error, 1)
			s.system.Root.Send(s.sessions, &adoptSession{Container: c, Spec: spec, Created: created, Reply: reply})
			select {
			case err = <-reply:
			case <-ctx.Done():
				err = ctx.Err()
			}
			if err == nil {
				report.Adopted++
				continue
			}
			if errors.Is(err, errAlreadyLive) {
				continue
			}
		}
		reason := "RECOVERY_MODE is remove-all"
		if err != nil {
			reason = err.Error()
		}
		logger.Warn("removing container found at start", "container", c.Name, "container_id", shortID(c.ID), "reason", reason)
		id := c.ID
		rm := s.rt.exec.run(ctx, &DockerJob{Kind: OpRemove, Idempotent: true,
			Run: func(c context.Context, e docker.Engine) (any, error) { return nil, e.RemoveContainer(c, id) }})
		if rm.Err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.Name, rm.Err))
			continue
		}
		report.Removed++
	}
	if report.Adopted+report.Removed > 0 || removeAll {
		logger.Info("reconciled containers", "remove_all", removeAll, "adopted", report.Adopted, "removed", report.Removed)
	}
	return report, errors.Join(errs...)
}

// readLabels rebuilds a session spec from a container's labels.
func (s *System) readLabels(c docker.Container) (sessionSpec, time.Time, error) {
	var spec sessionSpec
	id := c.Labels[docker.LabelSession]
	if !sessionIDPattern.MatchString(id) {
		return spec, time.Time{}, fmt.Errorf("label %s %q is not a session id", docker.LabelSession, id)
	}
	if c.Name != docker.ContainerName(id) {
		return spec, time.Time{}, fmt.Errorf("container name %q does not match session %s", c.Name, id)
	}
	if err := json.Unmarshal([]byte(c.Labels[docker.LabelSpec]), &spec); err != nil {
		return spec, time.Time{}, fmt.Errorf("label %s: %w", docker.LabelSpec, err)
	}
	if spec.User == "" || spec.User != c.Labels[docker.LabelUser] {
		return spec, time.Time{}, fmt.Errorf("label %s %q does not match the spec", docker.LabelUser, c.Labels[docker.LabelUser])
	}
	created, ok := docker.ParseCreated(c.Labels)
	if !ok {
		return spec, time.Time{}, fmt.Errorf("label %s is missing or invalid", docker.LabelCreated)
	}
	return spec, created, nil
}

// recoveryRetryInterval is the pause between recovery attempts while the
// daemon does not answer.
const recoveryRetryInterval = 5 * time.Second

// RecoverWithRetry runs Recover within ctx. When that fails, for instance
// because the daemon is down at start, it retries in the background until
// an attempt succeeds. After that, every RECONCILE_INTERVAL it adopts
// containers that no session owns: a create sent by a process killed
// mid-call can finish inside the daemon after the recovery listed the
// containers.
func (s *System) RecoverWithRetry(ctx context.Context) {
	_, err := s.Recover(ctx)
	logger := s.rt.logger.Named("recovery")
	if err != nil {
		logger.Warn("recovery at start failed, retrying in the background", "error", err, "interval", recoveryRetryInterval)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for err != nil {
			if !sleepCtx(s.rt.baseCtx, recoveryRetryInterval) {
				return
			}
			if _, err = s.Recover(s.rt.baseCtx); err != nil {
				logger.Debug("recovery failed again", "error", err)
			}
		}
		if s.rt.cfg.ReconcileInterval <= 0 {
			return
		}
		for sleepCtx(s.rt.baseCtx, s.rt.cfg.ReconcileInterval) {
			if _, err := s.reconcile(s.rt.baseCtx, false); err != nil {
				logger.Debug("periodic reconcile failed", "error", err)
			}
		}
	}()
}

// sleepCtx waits d and reports whether ctx is still alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
