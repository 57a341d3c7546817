package docker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// testLogger returns an hclog logger that writes to t.Log.
func testLogger(t *testing.T) hclog.Logger {
	t.Helper()
	return hclog.New(&hclog.LoggerOptions{
		Name:   t.Name(),
		Level:  hclog.Debug,
		Output: testLogWriter{t},
	})
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// connectForTest connects with opts and closes the client when the test ends.
func connectForTest(t *testing.T, opts Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Connect(ctx, opts, testLogger(t))
	if err != nil {
		t.Fatalf("Connect(%+v): %v", opts, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newUnreachableClient returns a client whose unix socket does not exist.
func newUnreachableClient(t *testing.T) *Client {
	t.Helper()
	return connectForTest(t, Options{Host: "unix://" + filepath.Join(t.TempDir(), "missing.sock")})
}

// fakeDaemon is an HTTP server that speaks enough of the Engine API for
// the client library: /_ping reports API version 1.41 and every other
// request goes to handler. It records the paths it receives.
type fakeDaemon struct {
	server *httptest.Server

	mu    sync.Mutex
	paths []string
}

func newFakeDaemon(t *testing.T, handler http.HandlerFunc) *fakeDaemon {
	t.Helper()
	fake := &fakeDaemon{}
	fake.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fake.mu.Lock()
		fake.paths = append(fake.paths, r.URL.Path)
		fake.mu.Unlock()
		if r.URL.Path == "/_ping" {
			w.Header().Set("Api-Version", "1.41")
			w.Write([]byte("OK"))
			return
		}
		handler(w, r)
	}))
	t.Cleanup(fake.server.Close)
	return fake
}

// host returns the fake's address as a DOCKER_HOST value.
func (f *fakeDaemon) host() string {
	return "tcp://" + strings.TrimPrefix(f.server.URL, "http://")
}

func (f *fakeDaemon) lastPath() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.paths) == 0 {
		return ""
	}
	return f.paths[len(f.paths)-1]
}

// respondError writes an Engine API error response.
func respondError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": message})
}

func TestConnectDaemonDown(t *testing.T) {
	closedListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closedListener.Addr().String()
	closedListener.Close()

	tests := []struct {
		name string
		host string
	}{
		{"missing unix socket", "unix://" + filepath.Join(t.TempDir(), "missing.sock")},
		{"refused tcp port", "tcp://" + closedAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connectForTest(t, Options{Host: tt.host})

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := c.Ping(ctx)
			if KindOf(err) != KindTransient {
				t.Errorf("Ping error = %v (kind %s), want kind transient", err, KindOf(err))
			}
		})
	}
}

func TestPingHonoursDeadline(t *testing.T) {
	// The listener accepts connections and never responds.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
		}
	}()

	// Connect's own ping times out too, and Connect still returns the client.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := Connect(ctx, Options{Host: "tcp://" + listener.Addr().String()}, testLogger(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Connect returned after %s, want about 200ms", elapsed)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = c.Ping(ctx)

	if KindOf(err) != KindTimeout {
		t.Errorf("Ping error = %v (kind %s), want kind timeout", err, KindOf(err))
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Ping returned after %s, want about 200ms", elapsed)
	}
}

func TestConnectNegotiatesVersion(t *testing.T) {
	fake := newFakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		respondError(w, http.StatusNotFound, "No such container: x")
	})
	c := connectForTest(t, Options{Host: fake.host()})

	if got := c.APIVersion(); got != "1.41" {
		t.Errorf("APIVersion = %q, want 1.41 from the daemon's ping", got)
	}
	c.InspectContainer(context.Background(), "x")
	if got := fake.lastPath(); got != "/v1.41/containers/x/json" {
		t.Errorf("request path = %q, want /v1.41/containers/x/json", got)
	}
}

func TestConnectPinnedVersion(t *testing.T) {
	fake := newFakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		respondError(w, http.StatusNotFound, "No such container: x")
	})
	c := connectForTest(t, Options{Host: fake.host(), APIVersion: "1.40"})

	if got := c.APIVersion(); got != "1.40" {
		t.Errorf("APIVersion = %q, want the pinned 1.40", got)
	}
	c.InspectContainer(context.Background(), "x")
	if got := fake.lastPath(); got != "/v1.40/containers/x/json" {
		t.Errorf("request path = %q, want /v1.40/containers/x/json", got)
	}
}

func TestConnectHostFromEnvironment(t *testing.T) {
	fake := newFakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {})
	t.Setenv("DOCKER_HOST", fake.host())

	c := connectForTest(t, Options{})
	if got := c.DaemonHost(); got != fake.host() {
		t.Errorf("DaemonHost = %q, want %q from DOCKER_HOST", got, fake.host())
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestConnectInvalidOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		mention string
	}{
		{"ssh host", Options{Host: "ssh://user@host"}, "ssh://user@host"},
		{"host without scheme", Options{Host: "/var/run/docker.sock"}, "/var/run/docker.sock"},
		{"api version word", Options{Host: "unix:///x.sock", APIVersion: "latest"}, "latest"},
		{"tls on unix socket", Options{Host: "unix:///x.sock", TLSVerify: true}, "tcp://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Connect(context.Background(), tt.opts, testLogger(t))
			if err == nil {
				t.Fatal("Connect returned no error")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestInspectStatusKinds(t *testing.T) {
	tests := []struct {
		status int
		want   ErrorKind
	}{
		{http.StatusBadRequest, KindInvalid},
		{http.StatusForbidden, KindInvalid},
		{http.StatusNotFound, KindNotFound},
		{http.StatusConflict, KindConflict},
		{http.StatusUnprocessableEntity, KindInvalid},
		{http.StatusInternalServerError, KindTransient},
		{http.StatusBadGateway, KindTransient},
		{http.StatusServiceUnavailable, KindTransient},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			fake := newFakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
				respondError(w, tt.status, "daemon says no")
			})
			c := connectForTest(t, Options{Host: fake.host()})

			_, err := c.InspectContainer(context.Background(), "sessiond-x")
			if KindOf(err) != tt.want {
				t.Errorf("InspectContainer error = %v (kind %s), want kind %s", err, KindOf(err), tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "inspect container sessiond-x: ") {
				t.Errorf("error %q lacks the label \"inspect container sessiond-x: \"", err)
			}
		})
	}
}

func TestStartContainerNotModified(t *testing.T) {
	fake := newFakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	})
	c := connectForTest(t, Options{Host: fake.host()})

	if err := c.StartContainer(context.Background(), "sessiond-x"); err != nil {
		t.Errorf("StartContainer on a running container = %v, want nil", err)
	}
}

func TestRemoveContainerResults(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		message string
		want    ErrorKind
		wantNil bool
	}{
		{"removed", http.StatusNoContent, "", 0, true},
		{"already gone", http.StatusNotFound, "No such container: sessiond-x", 0, true},
		{"removal in progress", http.StatusConflict, "removal of container sessiond-x is already in progress", 0, true},
		{"other conflict", http.StatusConflict, "You cannot remove a running container", KindConflict, false},
		{"daemon error", http.StatusInternalServerError, "driver failed", KindTransient, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var query string
			fake := newFakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
				query = r.URL.RawQuery
				if tt.status == http.StatusNoContent {
					w.WriteHeader(tt.status)
					return
				}
				respondError(w, tt.status, tt.message)
			})
			c := connectForTest(t, Options{Host: fake.host()})

			err := c.RemoveContainer(context.Background(), "sessiond-x")
			if tt.wantNil {
				if err != nil {
					t.Errorf("RemoveContainer = %v, want nil", err)
				}
			} else if KindOf(err) != tt.want {
				t.Errorf("RemoveContainer error = %v (kind %s), want kind %s", err, KindOf(err), tt.want)
			}
			if !strings.Contains(query, "force=1") || !strings.Contains(query, "v=1") {
				t.Errorf("remove query = %q, want force=1 and v=1", query)
			}
		})
	}
}

func TestEventsStreamEnd(t *testing.T) {
	var query string
	fake := newFakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query().Get("filters")
		w.Header().Set("Content-Type", "application/json")
		encoder := json.NewEncoder(w)
		encoder.Encode(map[string]any{
			"Type": "container", "Action": "start",
			"Actor":    map[string]any{"ID": "abc", "Attributes": map[string]string{"sessiond.test": "1"}},
			"timeNano": 1,
		})
		encoder.Encode(map[string]any{
			"Type": "container", "Action": "die",
			"Actor":    map[string]any{"ID": "abc", "Attributes": map[string]string{"sessiond.test": "1", "exitCode": "3"}},
			"timeNano": 2,
		})
		// Returning ends the stream, as a daemon that shuts down does.
	})
	c := connectForTest(t, Options{Host: fake.host()})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	eventsCh, errCh := c.Events(ctx, map[string]string{"sessiond.test": "1"})

	var got []Event
	for event := range eventsCh {
		got = append(got, event)
	}
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2: %+v", len(got), got)
	}
	if got[1].Action != ActionDie || got[1].ExitCode != 3 {
		t.Errorf("second event = %+v, want die with exit code 3", got[1])
	}
	err, ok := <-errCh
	if !ok {
		t.Fatal("error channel closed without an error, want the stream's end")
	}
	if KindOf(err) != KindTransient {
		t.Errorf("stream error = %v (kind %s), want kind transient", err, KindOf(err))
	}
	if _, ok := <-errCh; ok {
		t.Error("error channel carries a second value")
	}
	if !strings.Contains(query, `"type":{"container":true}`) || !strings.Contains(query, `"sessiond.test=1":true`) {
		t.Errorf("events filters = %s, want type=container and label sessiond.test=1", query)
	}
}

func TestEventsCancelClosesQuietly(t *testing.T) {
	fake := newFakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c := connectForTest(t, Options{Host: fake.host()})

	ctx, cancel := context.WithCancel(context.Background())
	eventsCh, errCh := c.Events(ctx, nil)
	cancel()

	select {
	case _, ok := <-eventsCh:
		if ok {
			t.Error("got an event, want the channel closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event channel still open 5s after cancel")
	}
	if err, ok := <-errCh; ok {
		t.Errorf("error channel carries %v after cancel, want it closed empty", err)
	}
}

func TestTLSConfigMissingFile(t *testing.T) {
	for _, missing := range []string{"ca.pem", "cert.pem", "key.pem"} {
		t.Run(missing, func(t *testing.T) {
			dir := t.TempDir()
			writeTestCerts(t, dir, newTestPKI(t))
			os.Remove(filepath.Join(dir, missing))

			_, err := newTLSConfig(Options{TLSVerify: true, CertPath: dir})
			if err == nil {
				t.Fatal("newTLSConfig returned no error")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, missing)) {
				t.Errorf("error %q does not name %s", err, filepath.Join(dir, missing))
			}
			if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("error %q does not wrap os.ErrNotExist", err)
			}
		})
	}
}

func TestTLSConfigDefaultCertPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)

	_, err := newTLSConfig(Options{TLSVerify: true})
	if err == nil {
		t.Fatal("newTLSConfig returned no error for an empty ~/.docker")
	}
	if want := filepath.Join(home, ".docker", "ca.pem"); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}

func TestTLSConfigVerifyMode(t *testing.T) {
	dir := t.TempDir()
	writeTestCerts(t, dir, newTestPKI(t))

	verified, err := newTLSConfig(Options{TLSVerify: true, CertPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	if verified.InsecureSkipVerify {
		t.Error("TLSVerify=true skips verification")
	}
	if len(verified.Certificates) != 1 {
		t.Errorf("got %d client certificates, want 1", len(verified.Certificates))
	}

	unverified, err := newTLSConfig(Options{CertPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !unverified.InsecureSkipVerify {
		t.Error("CertPath without TLSVerify verifies the daemon, want no verification as the docker client library does")
	}
}

func TestTLSPingWithClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
	fake := newTLSFakeDaemon(t, pki)

	tests := []struct {
		name   string
		verify bool
	}{
		{"verified", true},
		{"unverified", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTestCerts(t, dir, pki)
			c := connectForTest(t, Options{Host: fake, TLSVerify: tt.verify, CertPath: dir})

			if err := c.Ping(context.Background()); err != nil {
				t.Errorf("Ping over TLS: %v", err)
			}
		})
	}
}

func TestTLSPingUnknownAuthority(t *testing.T) {
	fake := newTLSFakeDaemon(t, newTestPKI(t))
	dir := t.TempDir()
	// Certificates from another CA: the daemon's certificate does not
	// verify, and the daemon rejects the client's.
	writeTestCerts(t, dir, newTestPKI(t))
	c := connectForTest(t, Options{Host: fake, TLSVerify: true, CertPath: dir})

	err := c.Ping(context.Background())
	if err == nil {
		t.Fatal("Ping succeeded with certificates of another CA")
	}
	if KindOf(err) != KindUnknown {
		t.Errorf("Ping error = %v (kind %s), want kind unknown, which is not retried", err, KindOf(err))
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, all in PEM.
type testPKI struct {
	caPEM, serverCertPEM, serverKeyPEM, clientCertPEM, clientKeyPEM []byte
	caPool                                                          *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	caKey := newTestKey(t)
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sessiond test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}

	issue := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		key := newTestKey(t)
		template := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: "sessiond test"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, template, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	}

	pki := testPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	pki.serverCertPEM, pki.serverKeyPEM = issue(2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	pki.clientCertPEM, pki.clientKeyPEM = issue(3, x509.ExtKeyUsageClientAuth, nil)
	pki.caPool = x509.NewCertPool()
	pki.caPool.AddCert(caCert)
	return pki
}

func newTestKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// writeTestCerts writes the files a DOCKER_CERT_PATH directory holds.
func writeTestCerts(t *testing.T, dir string, pki testPKI) {
	t.Helper()
	files := map[string][]byte{"ca.pem": pki.caPEM, "cert.pem": pki.clientCertPEM, "key.pem": pki.clientKeyPEM}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// newTLSFakeDaemon starts a fake daemon that serves TLS with pki's server
// certificate and requires a client certificate from pki's CA, as a daemon
// started with --tlsverify does. It returns the DOCKER_HOST value.
func newTLSFakeDaemon(t *testing.T, pki testPKI) string {
	t.Helper()
	serverCert, err := tls.X509KeyPair(pki.serverCertPEM, pki.serverKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Write([]byte("OK"))
	}))
	server.TLS = &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pki.caPool,
	}
	// The TLS server logs each rejected handshake; keep those out of the
	// test output.
	server.Config.ErrorLog = newDiscardLogger()
	server.StartTLS()
	t.Cleanup(server.Close)
	return "tcp://" + strings.TrimPrefix(server.URL, "https://")
}

func newDiscardLogger() *log.Logger {
	return log.New(io.Discard, "", 0)
}
