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
		if err == nil && s.rt.cfg.RecoveryMode != "remove-all" {
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
	logger.Info("recovery finished", "mode", s.rt.cfg.RecoveryMode, "adopted", report.Adopted, "removed", report.Removed)
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
// an attempt succeeds or the System shuts down.
func (s *System) RecoverWithRetry(ctx context.Context) {
	_, err := s.Recover(ctx)
	if err == nil {
		return
	}
	logger := s.rt.logger.Named("recovery")
	logger.Warn("recovery at start failed, retrying in the background", "error", err, "interval", recoveryRetryInterval)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ticker := time.NewTicker(recoveryRetryInterval)
		defer ticker.Stop()
		for {
			select {
			case <-s.rt.baseCtx.Done():
				return
			case <-ticker.C:
			}
			if _, err := s.Recover(s.rt.baseCtx); err == nil {
				return
			} else {
				logger.Debug("recovery failed again", "error", err)
			}
		}
	}()
}
