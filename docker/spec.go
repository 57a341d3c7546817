package docker

import (
	"sort"
	"time"
)

// containerNamePrefix marks the containers that sessiond names.
const containerNamePrefix = "sessiond-"

// ContainerName returns the container name for a session. Naming the
// container after the session lets a create that timed out and is retried
// find its own container (a KindConflict error) instead of making a twin.
func ContainerName(sessionID string) string {
	return containerNamePrefix + sessionID
}

// SessionLabels returns the labels that sessiond puts on a session's
// container: the session ID, its user, the sessiond instance, the session
// spec as JSON and the session's creation time (UTC, RFC 3339 with
// nanoseconds). These are enough to rebuild the session from Docker alone.
func SessionLabels(instance, sessionID, user, specJSON string, created time.Time) map[string]string {
	return map[string]string{
		LabelSession:  sessionID,
		LabelUser:     user,
		LabelInstance: instance,
		LabelSpec:     specJSON,
		LabelCreated:  created.UTC().Format(time.RFC3339Nano),
	}
}

// ParseCreated parses the LabelCreated value that SessionLabels writes.
func ParseCreated(labels map[string]string) (time.Time, bool) {
	value, ok := labels[LabelCreated]
	if !ok {
		return time.Time{}, false
	}
	created, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}, false
	}
	return created, true
}

// EnvList turns env into the KEY=value list that Docker expects, sorted
// by key so that the same map always gives the same container config.
func EnvList(env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	keys := make([]string, 0, len(env))
	for key := range env {
		keys = append(keys, key)
	}
	sort.Strings(keys)

	list := make([]string, 0, len(keys))
	for _, key := range keys {
		list = append(list, key+"="+env[key])
	}
	return list
}
