package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// contextKeyRequestID is the echo.Context key of the request id.
const contextKeyRequestID = "request_id"

// maxRequestIDLen bounds an incoming X-Request-Id that is reused as is.
const maxRequestIDLen = 64

// assignRequestID reuses a valid incoming X-Request-Id or generates one, and
// sets it on the response before anything else runs, so that error
// responses carry it too.
func (s *server) assignRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = rand.Text()
		}
		c.Set(contextKeyRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// validRequestID accepts 1 to 64 visible ASCII characters, which are safe in
// log lines and response headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '!' || id[i] > '~' {
			return false
		}
	}
	return true
}

func requestID(c echo.Context) string {
	id, _ := c.Get(contextKeyRequestID).(string)
	return id
}

// observe writes the access log line and the HTTP metrics. It hands a
// returned error to the error handler first, so that both record the status
// the client received.
func (s *server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		elapsed := time.Since(start)

		req := c.Request()
		res := c.Response()
		method := methodLabel(req.Method)
		route := routeLabel(c)
		s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(res.Status)).Inc()
		s.metrics.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())

		s.accessLog.Info("request",
			"request_id", requestID(c),
			"method", req.Method,
			"path", req.URL.EscapedPath(),
			"status", res.Status,
			"duration_ms", float64(elapsed.Microseconds())/1000,
			"bytes_out", res.Size,
			"remote_ip", c.RealIP(),
		)
		return nil
	}
}

// recoverPanic turns a panic in a handler into a 500 response and logs the
// panic with the stack of the panicking goroutine.
func (s *server) recoverPanic() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		StackSize:       16 << 10,
		DisableStackAll: true,
		// Hand the error back to observe, which calls the error handler once.
		DisableErrorHandler: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.logger.Error("handler panicked",
				"request_id", requestID(c),
				"method", c.Request().Method,
				"path", c.Request().URL.EscapedPath(),
				"error", err,
				"stack", string(stack),
			)
			return &panicError{err: err}
		},
	})
}

// authenticate requires "Authorization: Bearer <APIToken>" on /v1 and
// /admin when a token is configured. Health and metrics stay open for
// probes and scrapers.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.tokenHash == nil || !requiresAuth(c) {
			return next(c)
		}

		header := c.Response().Header()
		token, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			header.Set(echo.HeaderWWWAuthenticate, `Bearer realm="sessiond"`)
			return &apiError{
				Status:  http.StatusUnauthorized,
				Code:    codeUnauthorized,
				Message: `missing bearer token; send "Authorization: Bearer <token>"`,
			}
		}

		// Comparing digests of equal length keeps the comparison time
		// independent of the token's length and content.
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], s.tokenHash) != 1 {
			header.Set(echo.HeaderWWWAuthenticate, `Bearer realm="sessiond", error="invalid_token"`)
			return &apiError{
				Status:  http.StatusUnauthorized,
				Code:    codeUnauthorized,
				Message: "invalid bearer token",
			}
		}
		return next(c)
	}
}

// requiresAuth checks both the matched route and the raw path, so that an
// unknown path under /v1 or /admin is rejected before it is reported as 404.
func requiresAuth(c echo.Context) bool {
	for _, path := range []string{c.Path(), echo.GetPath(c.Request()), c.Request().URL.Path} {
		if hasPathPrefix(path, "/v1") || hasPathPrefix(path, "/admin") {
			return true
		}
	}
	return false
}

func hasPathPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// bearerToken extracts the token of an "Authorization: Bearer" header. The
// scheme is case-insensitive (RFC 9110, section 11.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// limitBody rejects a request whose Content-Length exceeds the limit and
// caps the body of any other, so that a chunked body fails while it is read.
func (s *server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength > s.maxBodyBytes {
			return bodyTooLarge(s.maxBodyBytes)
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, s.maxBodyBytes)
		return next(c)
	}
}

// methodLabel keeps the method label of the metrics to a fixed set.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "OTHER"
}

// routeLabel returns the route template, such as "/v1/sessions/:id", or
// "unmatched" when no route matched, so that raw URLs never become labels.
func routeLabel(c echo.Context) string {
	if c.Path() == "" {
		return "unmatched"
	}
	return c.Path()
}
