package httpapi

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the request metrics of the HTTP API.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newHTTPMetrics registers the metrics in reg. It reuses metrics that an
// earlier call registered in the same registry, so that New can be called
// more than once per registry.
func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	return &httpMetrics{
		requests: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessiond_http_requests_total",
			Help: "HTTP requests handled, by method, route template and status code.",
		}, []string{"method", "route", "status"})),
		duration: registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sessiond_http_request_duration_seconds",
			Help:    "Time from receiving an HTTP request to writing its response, in seconds.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"})),
	}
}

// registerOrReuse panics when a different metric with the same name is
// already registered, because that is a wiring mistake.
func registerOrReuse[T prometheus.Collector](reg prometheus.Registerer, collector T) T {
	err := reg.Register(collector)
	if err == nil {
		return collector
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(T); ok {
			return existing
		}
	}
	panic(fmt.Sprintf("httpapi: register metric: %v", err))
}
