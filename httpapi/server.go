// Package httpapi serves sessiond's HTTP API with echo. Handlers only
// translate. They check the syntax of requests, call actors.Service and map
// its replies and errors to JSON responses. Limits, image allowlists and
// admission are the actors' decisions.
package httpapi

import (
	"crypto/sha256"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessiond/sessiond/actors"
)

const (
	// DefaultMaxBodyBytes is the request body limit when Options.MaxBodyBytes is not set.
	DefaultMaxBodyBytes int64 = 1 << 20
	// DefaultMaxWait is the longest ?wait when Options.MaxWait is not set.
	DefaultMaxWait = 60 * time.Second
)

// Options configure the HTTP API.
type Options struct {
	// Service is the actor system behind the API. Required.
	Service actors.Service
	// Logger receives the access log, as the sub-logger "http", and the
	// errors the API cannot report to the client. Nil discards both.
	Logger hclog.Logger
	// Registry is served on /metrics and receives the HTTP metrics. Nil
	// means a registry of the API's own.
	Registry *prometheus.Registry
	// APIToken, when not empty, is the bearer token required on /v1 and
	// /admin.
	APIToken string
	// MaxBodyBytes is the request body limit in bytes. Zero or less means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxWait is the longest ?wait a request may ask for. Zero or less
	// means DefaultMaxWait.
	MaxWait time.Duration
}

// server contains the dependencies and settings that handlers and
// middleware share.
type server struct {
	service   actors.Service
	logger    hclog.Logger
	accessLog hclog.Logger
	metrics   *httpMetrics
	// tokenHash is the SHA-256 digest of the API token, nil when
	// authentication is off.
	tokenHash    []byte
	maxBodyBytes int64
	maxWait      time.Duration
}

// New builds the echo server with all routes and middleware. The caller
// runs Start and Shutdown, or uses it as an http.Handler. New panics when
// opts.Service is nil or when Registry already holds a different metric
// under one of the HTTP metric names.
func New(opts Options) *echo.Echo {
	if opts.Service == nil {
		panic("httpapi: Options.Service is nil")
	}
	s := &server{
		service:      opts.Service,
		logger:       opts.Logger,
		maxBodyBytes: opts.MaxBodyBytes,
		maxWait:      opts.MaxWait,
	}
	if s.logger == nil {
		s.logger = hclog.NewNullLogger()
	}
	s.accessLog = s.logger.Named("http")
	if s.maxBodyBytes <= 0 {
		s.maxBodyBytes = DefaultMaxBodyBytes
	}
	if s.maxWait <= 0 {
		s.maxWait = DefaultMaxWait
	}
	if opts.APIToken != "" {
		sum := sha256.Sum256([]byte(opts.APIToken))
		s.tokenHash = sum[:]
	}
	registry := opts.Registry
	if registry == nil {
		registry = prometheus.NewRegistry()
	}
	s.metrics = newHTTPMetrics(registry)

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	// sessiond serves clients directly, so forwarding headers are not
	// trusted for the remote address.
	e.IPExtractor = echo.ExtractIPDirect()

	// The request id comes first so that every response carries it.
	// observe wraps recover so that a panic is logged and counted as a 500.
	e.Use(s.assignRequestID, s.observe, s.recoverPanic(), s.authenticate, s.limitBody)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(registry, promhttp.HandlerOpts{})))

	e.POST("/v1/sessions", s.createSession)
	e.GET("/v1/sessions", s.listSessions)
	e.GET("/v1/sessions/:id", s.getSession)
	e.DELETE("/v1/sessions/:id", s.deleteSession)

	e.GET("/admin/tree", s.tree)
	return e
}
