package docker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"
	"github.com/hashicorp/go-hclog"
)

// Options configures the connection to the Docker daemon. The fields mean what
// DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_API_VERSION
// mean to the docker CLI.
type Options struct {
	// Host is unix:///path or tcp://host:port. Empty means the DOCKER_HOST
	// environment variable, or unix:///var/run/docker.sock when that is
	// empty too.
	Host string
	// TLSVerify turns on TLS and verifies the daemon's certificate against
	// ca.pem in CertPath.
	TLSVerify bool
	// CertPath is the directory holding ca.pem, cert.pem and key.pem. When
	// it is set without TLSVerify, the connection uses TLS with client
	// certificates but does not verify the daemon's certificate, as the
	// Docker client library does. Empty means ~/.docker when TLSVerify is set.
	CertPath string
	// APIVersion pins the Engine API version, such as "1.41". Empty means
	// the version is negotiated with the daemon.
	APIVersion string
	// MaxIdleConns is the number of idle connections kept open to the
	// daemon; 0 means 32. Set it to the number of concurrent callers so that
	// busy workers reuse connections instead of dialing for every call.
	MaxIdleConns int
}

// defaultMaxIdleConns covers the default of 20 Docker workers with room
// for the event stream and probes of readiness.
const defaultMaxIdleConns = 32

// Client is the Engine implementation backed by the Docker client library.
// It is safe for concurrent use.
type Client struct {
	api    *client.Client
	host   string
	logger hclog.Logger

	// warned holds the daemon warnings already logged, so that a warning the
	// daemon repeats on every create is logged once.
	warnedMu sync.Mutex
	warned   map[string]bool
}

var _ Engine = (*Client)(nil)

// maxWarnedMessages bounds the remembered daemon warnings. Past it, new
// warnings are logged every time instead of once.
const maxWarnedMessages = 100

// apiVersionPattern is the form of an Engine API version, such as 1.41.
var apiVersionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// Connect builds a client for the daemon that opts names and pings it
// once to negotiate the API version. A daemon that does not respond is not
// an error: Connect logs a warning and returns the client, whose calls fail
// with KindTransient until the daemon responds, and whose first successful
// call negotiates the version. Connect fails only on invalid options, such
// as an unsupported host scheme or a missing TLS certificate file. It names
// logger "docker".
func Connect(ctx context.Context, opts Options, logger hclog.Logger) (*Client, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	logger = logger.Named("docker")

	clientOpts, host, err := clientOptions(opts, logger)
	if err != nil {
		return nil, err
	}
	api, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", host, err)
	}
	c := &Client{
		api:    api,
		host:   host,
		logger: logger,
		warned: make(map[string]bool),
	}

	if err := c.Ping(ctx); err != nil {
		logger.Warn("docker daemon not reachable, calls will fail until it responds",
			"docker_host", host, "error", err)
		return c, nil
	}
	logger.Info("connected to docker daemon", "docker_host", host, "api_version", c.APIVersion())
	return c, nil
}

// clientOptions turns opts into options of the Docker client library and
// returns the host it resolved.
func clientOptions(opts Options, logger hclog.Logger) ([]client.Opt, string, error) {
	host := opts.Host
	if host == "" {
		host = os.Getenv(client.EnvOverrideHost)
	}
	if host == "" {
		host = client.DefaultDockerHost
	}
	scheme, _, _ := strings.Cut(host, "://")
	if scheme != "unix" && scheme != "tcp" {
		return nil, "", fmt.Errorf("invalid docker host %q: want unix:///path/to/docker.sock or tcp://host:port", host)
	}

	transport := &http.Transport{
		MaxIdleConns:        defaultMaxIdleConns,
		MaxIdleConnsPerHost: defaultMaxIdleConns,
		// Idle connections are closed after this, so a long-lived process
		// does not keep sockets the daemon has forgotten.
		IdleConnTimeout: 30 * time.Second,
	}
	if opts.MaxIdleConns > 0 {
		transport.MaxIdleConns = opts.MaxIdleConns
		transport.MaxIdleConnsPerHost = opts.MaxIdleConns
	}

	if opts.TLSVerify || opts.CertPath != "" {
		if scheme != "tcp" {
			return nil, "", fmt.Errorf("invalid docker host %q: TLS (DOCKER_TLS_VERIFY or DOCKER_CERT_PATH) needs a tcp:// host", host)
		}
		tlsConfig, err := newTLSConfig(opts)
		if err != nil {
			return nil, "", err
		}
		transport.TLSClientConfig = tlsConfig
		if !opts.TLSVerify {
			logger.Warn("docker daemon certificate is not verified; set DOCKER_TLS_VERIFY=1 to verify it",
				"docker_host", host)
		}
	}

	// The HTTP client goes first because WithHost configures its transport
	// for the host's scheme. No client timeout is set: every call is bound
	// by its ctx, and the event stream must stay open.
	clientOpts := []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: transport, CheckRedirect: client.CheckRedirect}),
		client.WithHost(host),
	}
	if opts.APIVersion != "" {
		version := strings.TrimPrefix(opts.APIVersion, "v")
		if !apiVersionPattern.MatchString(version) {
			return nil, "", fmt.Errorf("invalid docker API version %q: want MAJOR.MINOR, such as 1.41, or empty to negotiate", opts.APIVersion)
		}
		clientOpts = append(clientOpts, client.WithVersion(version))
	} else {
		clientOpts = append(clientOpts, client.WithAPIVersionNegotiation())
	}
	return clientOpts, host, nil
}

// newTLSConfig loads the client certificate, its key and the CA from
// opts.CertPath, or from ~/.docker when CertPath is empty.
func newTLSConfig(opts Options) (*tls.Config, error) {
	dir := opts.CertPath
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("docker TLS: no DOCKER_CERT_PATH and no home directory for ~/.docker: %w", err)
		}
		dir = filepath.Join(home, ".docker")
	}

	files := map[string]string{
		"ca.pem":   filepath.Join(dir, "ca.pem"),
		"cert.pem": filepath.Join(dir, "cert.pem"),
		"key.pem":  filepath.Join(dir, "key.pem"),
	}
	// tlsconfig names a missing CA file but not a missing key pair file,
	// so check each file first and name the one that is missing.
	for _, name := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if _, err := os.Stat(files[name]); err != nil {
			return nil, fmt.Errorf("docker TLS: %s: %w (DOCKER_CERT_PATH must name a directory holding ca.pem, cert.pem and key.pem)",
				files[name], unwrapPathError(err))
		}
	}

	config, err := tlsconfig.Client(tlsconfig.Options{
		CAFile:             files["ca.pem"],
		CertFile:           files["cert.pem"],
		KeyFile:            files["key.pem"],
		InsecureSkipVerify: !opts.TLSVerify,
		ExclusiveRootPools: true,
	})
	if err != nil {
		return nil, fmt.Errorf("docker TLS: load certificates from %s: %w", dir, err)
	}
	return config, nil
}

// unwrapPathError drops the *fs.PathError wrapper, whose text repeats the
// path that the caller already names.
func unwrapPathError(err error) error {
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// Close releases the client's idle connections. Calls made after Close
// open new ones.
func (c *Client) Close() error {
	return c.api.Close()
}

// DaemonHost returns the daemon address in use, such as
// unix:///var/run/docker.sock.
func (c *Client) DaemonHost() string {
	return c.host
}

// APIVersion returns the Engine API version the client speaks: the pinned
// version, or the negotiated one after the first call that reached the
// daemon. Before that it is the client library's own maximum.
func (c *Client) APIVersion() string {
	return c.api.ClientVersion()
}

// Ping checks that the daemon responds and, unless the version is pinned,
// negotiates the API version with it.
func (c *Client) Ping(ctx context.Context) error {
	ping, err := c.api.Ping(ctx)
	if err != nil {
		return classify("ping docker daemon", err)
	}
	c.api.NegotiateAPIVersionPing(ping)
	return nil
}

// warnDaemonWarnings logs each warning in a daemon response the first
// time the daemon sends it.
func (c *Client) warnDaemonWarnings(op string, warnings []string) {
	for _, warning := range warnings {
		c.warnedMu.Lock()
		seen := c.warned[warning]
		if !seen && len(c.warned) < maxWarnedMessages {
			c.warned[warning] = true
		}
		c.warnedMu.Unlock()
		if !seen {
			c.logger.Warn("docker daemon warning, logged once", "operation", op, "warning", warning)
		}
	}
}
