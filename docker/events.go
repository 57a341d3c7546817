package docker

import (
	"context"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
)

// Container event actions that sessiond reacts to. Event.Action carries
// Docker's action string unchanged.
const (
	ActionCreate  = "create"
	ActionStart   = "start"
	ActionKill    = "kill"
	ActionOOM     = "oom"
	ActionDie     = "die"
	ActionStop    = "stop"
	ActionDestroy = "destroy"
	// ActionHealthStatus is the prefix of health events: Docker sends
	// "health_status: healthy", "health_status: unhealthy" or
	// "health_status: starting". HealthStatus returns the status part.
	ActionHealthStatus = "health_status"
)

// HealthStatus returns the status of a health event, such as "unhealthy",
// and false for any other event.
func HealthStatus(e Event) (string, bool) {
	status, found := strings.CutPrefix(e.Action, ActionHealthStatus+": ")
	if !found {
		return "", false
	}
	return status, true
}

// Events streams container events for containers that carry every label
// in labels. The stream stays open until ctx ends, so give it a ctx without
// a deadline. When ctx ends, both channels close and no error is sent. When
// the stream fails (the daemon restarts or closes the connection), the
// error channel carries one classified error, usually KindTransient, and
// then both close. Events that happen before the caller subscribes again
// are lost, so the caller should list containers after it resubscribes.
//
// Event.Labels holds all attributes of the event: the container's labels
// plus Docker's own keys, such as "image", "name", "exitCode" and "signal".
func (c *Client) Events(ctx context.Context, labels map[string]string) (<-chan Event, <-chan error) {
	out := make(chan Event)
	errc := make(chan error, 1)

	filter := labelFilters(labels)
	filter.Add("type", string(events.ContainerEventType))
	messages, streamErrs := c.api.Events(ctx, events.ListOptions{Filters: filter})

	go func() {
		defer close(errc)
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case msg := <-messages:
				event := eventFromMessage(msg)
				select {
				case out <- event:
				case <-ctx.Done():
					return
				}
			case err, ok := <-streamErrs:
				// The library reports ctx's own end as an error too.
				if ctx.Err() != nil {
					return
				}
				if !ok || err == nil {
					err = io.ErrUnexpectedEOF
				}
				errc <- classify("read docker events", err)
				return
			}
		}
	}()
	return out, errc
}

// eventFromMessage converts one message of the daemon's event stream.
func eventFromMessage(msg events.Message) Event {
	event := Event{
		Action:      string(msg.Action),
		ContainerID: msg.Actor.ID,
		Labels:      maps.Clone(msg.Actor.Attributes),
	}
	switch {
	case msg.TimeNano != 0:
		event.Time = time.Unix(0, msg.TimeNano)
	case msg.Time != 0:
		event.Time = time.Unix(msg.Time, 0)
	}
	if event.Action == ActionDie {
		// A missing or malformed exitCode leaves ExitCode at 0.
		if code, err := strconv.Atoi(msg.Actor.Attributes["exitCode"]); err == nil {
			event.ExitCode = code
		}
	}
	return event
}
