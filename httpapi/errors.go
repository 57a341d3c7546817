package httpapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sessiond/sessiond/actors"
)

// Error codes that only the HTTP layer produces. Failures reported by the
// actors keep their actors.Code.
const (
	codeUnauthorized         = "unauthorized"
	codeMethodNotAllowed     = "method_not_allowed"
	codePayloadTooLarge      = "payload_too_large"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeCanceled             = "canceled"
)

// statusClientClosedRequest is the non-standard status (from nginx) recorded
// when the client closed the connection before the service replied. The client never
// sees it, but the access log and the metrics do.
const statusClientClosedRequest = 499

// apiError is a failure together with the HTTP status and JSON body that
// report it.
type apiError struct {
	Status  int
	Code    string
	Message string
	// Field names the request field, query parameter or path parameter at fault.
	Field string
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%d %s: %s: %s", e.Status, e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// invalidArgument returns a 400 error about field.
func invalidArgument(field, format string, args ...any) *apiError {
	return &apiError{
		Status:  http.StatusBadRequest,
		Code:    string(actors.CodeInvalid),
		Field:   field,
		Message: fmt.Sprintf(format, args...),
	}
}

// panicError marks a recovered panic, which the recover middleware has
// already logged with its stack.
type panicError struct{ err error }

func (e *panicError) Error() string { return "handler panicked: " + e.err.Error() }
func (e *panicError) Unwrap() error { return e.err }

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// handleError writes err as a JSON error body with the status that fits.
// It is echo's HTTPErrorHandler, so errors from the router and the
// middleware get the same shape as errors from handlers.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	apiErr := s.toAPIError(err, c)

	if apiErr.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(apiErr.RetryAfter)))
	}

	var writeErr error
	if c.Request().Method == http.MethodHead {
		writeErr = c.NoContent(apiErr.Status)
	} else {
		writeErr = c.JSON(apiErr.Status, errorBody{Error: errorDetail{
			Code:    apiErr.Code,
			Message: apiErr.Message,
			Field:   apiErr.Field,
		}})
	}
	if writeErr != nil {
		s.logger.Debug("write error response failed", "request_id", requestID(c), "error", writeErr)
	}
}

// toAPIError classifies err. Errors that the client cannot act on are logged
// here with the request id and replaced by a generic message.
func (s *server) toAPIError(err error, c echo.Context) *apiError {
	// A recovered panic comes first, because the panic value may itself be
	// one of the error types below and must still give a generic 500.
	var panicErr *panicError
	if errors.As(err, &panicErr) {
		return internalError(c)
	}

	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return apiErr
	}

	var actorErr *actors.Error
	if errors.As(err, &actorErr) {
		mapped := fromActorError(actorErr)
		// 503 and 504 are expected under load and show in the access log.
		// A 500 means a bug, so its error is logged.
		if mapped.Status == http.StatusInternalServerError {
			s.logger.Error("service failed", "request_id", requestID(c), "error", err)
		}
		return mapped
	}

	var httpErr *echo.HTTPError
	if errors.As(err, &httpErr) {
		return s.fromEchoError(httpErr, c)
	}

	if errors.Is(err, context.DeadlineExceeded) {
		return &apiError{
			Status:  http.StatusGatewayTimeout,
			Code:    string(actors.CodeTimeout),
			Message: "the request timed out waiting for the service",
		}
	}
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		return &apiError{
			Status:  statusClientClosedRequest,
			Code:    codeCanceled,
			Message: "the client closed the request",
		}
	}

	s.logger.Error("request failed", "request_id", requestID(c), "error", err)
	return internalError(c)
}

func internalError(c echo.Context) *apiError {
	return &apiError{
		Status:  http.StatusInternalServerError,
		Code:    string(actors.CodeInternal),
		Message: fmt.Sprintf("internal error; the server log has the details under request id %s", requestID(c)),
	}
}

// fromActorError maps an actors.Error to its HTTP status. Codes this package
// does not know count as internal errors.
func fromActorError(err *actors.Error) *apiError {
	apiErr := &apiError{
		Status:  http.StatusInternalServerError,
		Code:    string(err.Code),
		Message: err.Message,
		Field:   err.Field,
	}
	switch err.Code {
	case actors.CodeInvalid:
		apiErr.Status = http.StatusBadRequest
	case actors.CodeNotFound:
		apiErr.Status = http.StatusNotFound
	case actors.CodeConflict:
		apiErr.Status = http.StatusConflict
	case actors.CodeLimitReached, actors.CodeQueueFull:
		apiErr.Status = http.StatusTooManyRequests
		apiErr.RetryAfter = max(err.RetryAfter, time.Second)
	case actors.CodeUnavailable:
		apiErr.Status = http.StatusServiceUnavailable
		apiErr.RetryAfter = max(err.RetryAfter, time.Second)
	case actors.CodeShuttingDown:
		apiErr.Status = http.StatusServiceUnavailable
	case actors.CodeTimeout:
		apiErr.Status = http.StatusGatewayTimeout
	case actors.CodeInternal:
		apiErr.Status = http.StatusInternalServerError
	default:
		apiErr.Code = string(actors.CodeInternal)
	}
	if apiErr.Message == "" {
		apiErr.Message = http.StatusText(apiErr.Status)
	}
	return apiErr
}

// fromEchoError maps the errors that echo's router and middleware return,
// such as 404 for an unknown route and 405 for a wrong method.
func (s *server) fromEchoError(err *echo.HTTPError, c echo.Context) *apiError {
	req := c.Request()
	apiErr := &apiError{Status: err.Code, Code: codeForStatus(err.Code)}

	switch err.Code {
	case http.StatusNotFound:
		apiErr.Message = fmt.Sprintf("no route for %s %s", req.Method, req.URL.EscapedPath())
	case http.StatusMethodNotAllowed:
		apiErr.Message = fmt.Sprintf("method %s is not allowed on %s", req.Method, req.URL.EscapedPath())
		if allow := c.Response().Header().Get(echo.HeaderAllow); allow != "" {
			apiErr.Message += "; allowed: " + allow
		}
	default:
		if msg, ok := err.Message.(string); ok && msg != "" {
			apiErr.Message = msg
		} else {
			apiErr.Message = http.StatusText(err.Code)
		}
	}

	if err.Code >= http.StatusInternalServerError {
		s.logger.Error("request failed", "request_id", requestID(c), "error", err)
		return internalError(c)
	}
	return apiErr
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return string(actors.CodeInvalid)
	case http.StatusUnauthorized:
		return codeUnauthorized
	case http.StatusNotFound:
		return string(actors.CodeNotFound)
	case http.StatusMethodNotAllowed:
		return codeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return codePayloadTooLarge
	case http.StatusUnsupportedMediaType:
		return codeUnsupportedMediaType
	}
	text := http.StatusText(status)
	if text == "" {
		return "http_" + strconv.Itoa(status)
	}
	return strings.ReplaceAll(strings.ToLower(text), " ", "_")
}

// retryAfterSeconds rounds d up to whole seconds, at least 1, because
// Retry-After carries an integer number of seconds.
func retryAfterSeconds(d time.Duration) int {
	seconds := math.Ceil(d.Seconds())
	if seconds < 1 {
		return 1
	}
	if seconds > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(seconds)
}
