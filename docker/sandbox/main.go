// Command sandbox is the default session image of sessiond: a small HTTP
// server with a health path. Environment variables make it fail on purpose
// so that tests can provoke each failure sessiond must handle:
//
//	SANDBOX_PORT          TCP port to listen on (default 8080)
//	SANDBOX_START_DELAY   Go duration to wait before listening (slow start)
//	SANDBOX_EXIT_AFTER    Go duration after process start at which to exit
//	                      with SANDBOX_EXIT_CODE; "0s" exits before listening
//	SANDBOX_EXIT_CODE     exit status for SANDBOX_EXIT_AFTER (default 1)
//	SANDBOX_GROW_MEMORY   SIZE/INTERVAL, such as 8MiB/100ms: allocate and
//	                      touch SIZE every INTERVAL until the kernel kills it
//	SANDBOX_UNHEALTHY     "1" makes GET /healthz return 503
//
// It exits with status 0 on SIGTERM or SIGINT, and with status 2 when a
// variable is invalid. It uses only the standard library and is built with
// CGO_ENABLED=0 so that it runs in an image made FROM scratch.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// settings holds the parsed environment.
type settings struct {
	port         int
	startDelay   time.Duration
	exitAfter    time.Duration
	exitAfterSet bool
	exitCode     int
	growBytes    int64
	growInterval time.Duration
	unhealthy    bool
}

func main() {
	started := time.Now()
	log.SetFlags(log.LstdFlags | log.LUTC)
	log.SetPrefix("sandbox: ")

	s, err := parseSettings(os.Getenv)
	if err != nil {
		log.Print(err)
		os.Exit(2)
	}
	os.Exit(run(s, started))
}

// run serves until a signal or SANDBOX_EXIT_AFTER ends it, and returns the
// exit status.
func run(s settings, started time.Time) int {
	if s.exitAfterSet && s.exitAfter <= 0 {
		log.Printf("exiting at once with status %d (SANDBOX_EXIT_AFTER=%s)", s.exitCode, s.exitAfter)
		return s.exitCode
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	// A nil channel never fires, so the select below ignores an unset timer.
	var exitTimer <-chan time.Time
	if s.exitAfterSet {
		exitTimer = time.After(time.Until(started.Add(s.exitAfter)))
	}

	if s.growBytes > 0 {
		go growMemory(s.growBytes, s.growInterval)
	}

	if s.startDelay > 0 {
		log.Printf("waiting %s before listening", s.startDelay)
		select {
		case <-time.After(s.startDelay):
		case sig := <-signals:
			log.Printf("received %s while starting, exiting", sig)
			return 0
		case <-exitTimer:
			log.Printf("exiting with status %d (SANDBOX_EXIT_AFTER=%s)", s.exitCode, s.exitAfter)
			return s.exitCode
		}
	}

	listener, err := net.Listen("tcp", ":"+strconv.Itoa(s.port))
	if err != nil {
		log.Printf("listen on port %d: %v", s.port, err)
		return 1
	}
	server := &http.Server{
		Handler:           newHandler(s, started),
		ReadHeaderTimeout: 5 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()
	log.Printf("listening on %s", listener.Addr())

	select {
	case sig := <-signals:
		log.Printf("received %s, shutting down", sig)
	case <-exitTimer:
		log.Printf("exiting with status %d (SANDBOX_EXIT_AFTER=%s)", s.exitCode, s.exitAfter)
		return s.exitCode
	case err := <-serveErr:
		log.Printf("serve: %v", err)
		return 1
	}

	// Docker sends SIGKILL 10 seconds after SIGTERM by default, so finish
	// well before that.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Printf("shutdown: %v", err)
	}
	return 0
}

// newHandler returns the sandbox's routes: GET /healthz and GET /.
func newHandler(s settings, started time.Time) http.Handler {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "unknown"
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.unhealthy {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "unhealthy (SANDBOX_UNHEALTHY=1)")
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		body := struct {
			Hostname      string    `json:"hostname"`
			PID           int       `json:"pid"`
			Port          int       `json:"port"`
			StartedAt     time.Time `json:"started_at"`
			UptimeSeconds float64   `json:"uptime_seconds"`
		}{
			Hostname:      hostname,
			PID:           os.Getpid(),
			Port:          s.port,
			StartedAt:     started.UTC(),
			UptimeSeconds: time.Since(started).Seconds(),
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(body); err != nil {
			log.Printf("write response: %v", err)
		}
	})
	return mux
}

// growMemory allocates size bytes every interval and keeps all of it, so
// the resident set grows until the memory limit makes the kernel kill the
// process.
func growMemory(size int64, interval time.Duration) {
	const pageSize = 4096
	var blocks [][]byte
	var total int64
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for range ticker.C {
		block := make([]byte, size)
		// Writing one byte per page makes the kernel back every page, which
		// an untouched allocation would not.
		for i := 0; i < len(block); i += pageSize {
			block[i] = 1
		}
		blocks = append(blocks, block)
		total += size
		log.Printf("holding %d bytes in %d blocks", total, len(blocks))
	}
}

// parseSettings reads the SANDBOX_* variables through getenv.
func parseSettings(getenv func(string) string) (settings, error) {
	s := settings{port: 8080, exitCode: 1}

	if v := getenv("SANDBOX_PORT"); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 {
			return s, fmt.Errorf("invalid SANDBOX_PORT %q: want a TCP port from 1 to 65535", v)
		}
		s.port = port
	}

	if v := getenv("SANDBOX_START_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, fmt.Errorf("invalid SANDBOX_START_DELAY %q: want a Go duration of 0s or more, such as 5s", v)
		}
		s.startDelay = d
	}

	if v := getenv("SANDBOX_EXIT_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, fmt.Errorf("invalid SANDBOX_EXIT_AFTER %q: want a Go duration of 0s or more, such as 30s", v)
		}
		s.exitAfter = d
		s.exitAfterSet = true
	}

	if v := getenv("SANDBOX_EXIT_CODE"); v != "" {
		code, err := strconv.Atoi(v)
		if err != nil || code < 0 || code > 255 {
			return s, fmt.Errorf("invalid SANDBOX_EXIT_CODE %q: want an integer from 0 to 255", v)
		}
		s.exitCode = code
	}

	if v := getenv("SANDBOX_GROW_MEMORY"); v != "" {
		size, interval, err := parseGrowth(v)
		if err != nil {
			return s, fmt.Errorf("invalid SANDBOX_GROW_MEMORY %q: %w", v, err)
		}
		s.growBytes = size
		s.growInterval = interval
	}

	switch v := getenv("SANDBOX_UNHEALTHY"); v {
	case "", "0":
	case "1":
		s.unhealthy = true
	default:
		return s, fmt.Errorf("invalid SANDBOX_UNHEALTHY %q: want 1 or 0", v)
	}

	return s, nil
}

// parseGrowth parses SIZE/INTERVAL, such as 8MiB/100ms.
func parseGrowth(v string) (int64, time.Duration, error) {
	sizeText, intervalText, ok := strings.Cut(v, "/")
	if !ok {
		return 0, 0, errors.New("want SIZE/INTERVAL, such as 8MiB/100ms")
	}
	size, err := parseSize(sizeText)
	if err != nil {
		return 0, 0, err
	}
	interval, err := time.ParseDuration(intervalText)
	if err != nil || interval <= 0 {
		return 0, 0, fmt.Errorf("invalid interval %q: want a Go duration above 0, such as 100ms", intervalText)
	}
	return size, interval, nil
}

// parseSize parses a byte count with an optional binary unit: B, KiB, MiB
// or GiB.
func parseSize(v string) (int64, error) {
	units := []struct {
		suffix     string
		multiplier int64
	}{
		{"GiB", 1 << 30},
		{"MiB", 1 << 20},
		{"KiB", 1 << 10},
		{"B", 1},
	}
	multiplier := int64(1)
	number := v
	for _, u := range units {
		if trimmed, found := strings.CutSuffix(v, u.suffix); found {
			number = trimmed
			multiplier = u.multiplier
			break
		}
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/multiplier {
		return 0, fmt.Errorf("invalid size %q: want a positive integer with B, KiB, MiB or GiB, up to 1TiB", v)
	}
	return n * multiplier, nil
}
