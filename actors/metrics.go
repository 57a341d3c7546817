package actors

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the actor system's Prometheus instruments. All names start
// with sessiond_.
type Metrics struct {
	sessions         *prometheus.GaugeVec
	created          prometheus.Counter
	rejected         *prometheus.CounterVec
	failed           prometheus.Counter
	restarts         prometheus.Counter
	timeToReady      prometheus.Histogram
	dockerCalls      *prometheus.HistogramVec
	dockerRetries    *prometheus.CounterVec
	dockerQueueWait  prometheus.Histogram
	queueLength      prometheus.Gauge
	busyWorkers      prometheus.Gauge
	inlineFallback   prometheus.Gauge
	concurrencyLimit prometheus.Gauge
}

// NewMetrics creates the instruments and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sessiond_sessions",
			Help: "Sessions with a live actor, by state; ended sessions leave it once their container is gone.",
		}, []string{"state"}),
		created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sessiond_sessions_created_total",
			Help: "Sessions admitted.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessiond_sessions_rejected_total",
			Help: "Session creations rejected at admission, by error code.",
		}, []string{"code"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sessiond_sessions_failed_total",
			Help: "Sessions that ended in the failed state.",
		}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sessiond_session_container_restarts_total",
			Help: "Containers re-created after they died.",
		}),
		timeToReady: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sessiond_session_time_to_ready_seconds",
			Help:    "Time from admission to a passing health probe.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
		dockerCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sessiond_docker_job_duration_seconds",
			Help:    "Run time of Docker jobs including retries, by kind and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"kind", "outcome"}),
		dockerRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessiond_docker_retries_total",
			Help: "Docker job attempts retried after a transient error, by kind.",
		}, []string{"kind"}),
		dockerQueueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sessiond_docker_queue_wait_seconds",
			Help:    "Time Docker jobs waited for a worker.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		queueLength: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sessiond_docker_queue_length",
			Help: "Docker jobs waiting for a worker.",
		}),
		busyWorkers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sessiond_docker_busy_workers",
			Help: "Docker workers running a job.",
		}),
		concurrencyLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sessiond_docker_concurrency_limit",
			Help: "Docker jobs allowed to run at once: the adaptive limit, or ASYNC_POOL_SIZE.",
		}),
		inlineFallback: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sessiond_docker_inline_fallback",
			Help: "1 when the Docker pool is gone and sessions call Docker inline.",
		}),
	}
	// Known label values start at zero, so dashboards see the series
	// before the first event.
	for _, kind := range []OpKind{OpCreate, OpInspect, OpRemove, OpList} {
		m.dockerRetries.WithLabelValues(string(kind))
	}
	for _, code := range []Code{CodeInvalid, CodeLimitReached, CodeQueueFull, CodeUnavailable, CodeShuttingDown} {
		m.rejected.WithLabelValues(string(code))
	}
	reg.MustRegister(m.sessions, m.created, m.rejected, m.failed, m.restarts,
		m.timeToReady, m.dockerCalls, m.dockerRetries, m.dockerQueueWait,
		m.queueLength, m.busyWorkers, m.inlineFallback, m.concurrencyLimit)
	return m
}
