package httpapi

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sessiond/sessiond/actors"
)

var sessionIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// knownStates lists every actors.State in lifecycle order.
var knownStates = []actors.State{
	actors.StatePending, actors.StateCreating, actors.StateStarting, actors.StateProbing,
	actors.StateReady, actors.StateStopping, actors.StateStopped, actors.StateFailed,
}

// sessionList is the body of GET /v1/sessions.
type sessionList struct {
	Sessions []actors.SessionInfo `json:"sessions"`
	Count    int                  `json:"count"`
}

// createSession responds with 201 when the session is ready and 202
// otherwise, and sets Location to the session's URL in both cases.
func (s *server) createSession(c echo.Context) error {
	wait, err := s.parseWait(c)
	if err != nil {
		return err
	}
	req, err := decodeCreateRequest(c.Request())
	if err != nil {
		return err
	}

	info, err := s.service.CreateSession(c.Request().Context(), req, wait)
	if err != nil {
		return err
	}

	c.Response().Header().Set(echo.HeaderLocation, "/v1/sessions/"+url.PathEscape(info.ID))
	status := http.StatusAccepted
	if info.State == actors.StateReady {
		status = http.StatusCreated
	}
	return c.JSON(status, info)
}

func (s *server) listSessions(c echo.Context) error {
	var filter actors.ListFilter
	if user := c.QueryParam("user"); user != "" {
		if !userPattern.MatchString(user) {
			return invalidArgument("user",
				"user %q is invalid: use 1 to 64 characters from a-z, A-Z, 0-9, '.', '_', '@' and '-'", truncate(user))
		}
		filter.User = user
	}
	if state := c.QueryParam("state"); state != "" {
		if !slices.Contains(knownStates, actors.State(state)) {
			return invalidArgument("state", "state %q is unknown; use one of %s", truncate(state), stateNames())
		}
		filter.State = actors.State(state)
	}

	sessions, err := s.service.ListSessions(c.Request().Context(), filter)
	if err != nil {
		return err
	}
	if sessions == nil {
		// An empty list is written as [] rather than null.
		sessions = []actors.SessionInfo{}
	}
	return c.JSON(http.StatusOK, sessionList{Sessions: sessions, Count: len(sessions)})
}

func (s *server) getSession(c echo.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	info, err := s.service.GetSession(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, info)
}

// deleteSession responds with 200 once the session is in a terminal state,
// and with 202 while it is still stopping.
func (s *server) deleteSession(c echo.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	wait, err := s.parseWait(c)
	if err != nil {
		return err
	}

	info, err := s.service.DeleteSession(c.Request().Context(), id, wait)
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if info.State.Terminal() {
		status = http.StatusOK
	}
	return c.JSON(status, info)
}

// healthz reports only that the process serves HTTP. Docker and the pool
// are checked by readyz.
func (s *server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(c echo.Context) error {
	readiness := s.service.Readiness(c.Request().Context())
	status := http.StatusOK
	if !readiness.Ready {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, readiness)
}

func (s *server) tree(c echo.Context) error {
	format := c.QueryParam("format")
	if format != "" && format != "json" && format != "text" {
		return invalidArgument("format", "format %q is unknown; use json or text", truncate(format))
	}

	root, err := s.service.Tree(c.Request().Context())
	if err != nil {
		return err
	}
	if format == "text" {
		return c.String(http.StatusOK, formatTree(root))
	}
	return c.JSON(http.StatusOK, root)
}

// sessionID returns the :id path parameter after checking its syntax, so
// that encoded slashes, dots and other path tricks never reach the service,
// which uses the id in actor and container names.
func sessionID(c echo.Context) (string, error) {
	id := c.Param("id")
	if !sessionIDPattern.MatchString(id) {
		return "", invalidArgument("id",
			"session id %q is invalid: use 1 to 64 characters from a-z, A-Z, 0-9, '_' and '-'", truncate(id))
	}
	return id, nil
}

// parseWait reads ?wait, a Go duration such as "30s", from 0 to s.maxWait.
// A missing ?wait is 0, so the service replies at once.
func (s *server) parseWait(c echo.Context) (time.Duration, error) {
	raw := c.QueryParam("wait")
	if raw == "" {
		return 0, nil
	}
	wait, err := time.ParseDuration(raw)
	if err != nil {
		return 0, invalidArgument("wait", `wait %q is not a duration; use a Go duration such as "30s" or "1m30s"`,
			truncate(raw))
	}
	if wait < 0 {
		return 0, invalidArgument("wait", "wait %s is negative", wait)
	}
	if wait > s.maxWait {
		return 0, invalidArgument("wait", "wait %s exceeds the maximum of %s", wait, s.maxWait)
	}
	return wait, nil
}

func stateNames() string {
	names := make([]string, len(knownStates))
	for i, state := range knownStates {
		names[i] = string(state)
	}
	return strings.Join(names, ", ")
}
