// Command sessiond gives every user session its own Docker container,
// supervised by actors, behind an HTTP API.
//
//	sessiond [serve] [flags]   run the service (the default)
//	sessiond stress [flags]    drive a running sessiond, or Docker itself, with load
//	sessiond help              list every setting
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sessiond/sessiond/actors"
	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/docker"
	"github.com/sessiond/sessiond/httpapi"
	"github.com/sessiond/sessiond/logging"
	"github.com/sessiond/sessiond/stress"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches the subcommand and returns the exit code: 0 on success,
// 1 when the service fails, 2 for invalid usage or settings.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stdout, stderr)
	case "stress":
		return stress.Main(args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage())
		return 0
	default:
		fmt.Fprintf(stderr, "sessiond: unknown command %q; commands: serve, stress, help\n", cmd)
		return 2
	}
}

func usage() string {
	return "Usage: sessiond [serve] [flags]\n" +
		"       sessiond stress --help\n\n" + config.Usage()
}

func serve(args []string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sessiond: %v\n", err)
		return 2
	}
	logger := logging.New(cfg.LogLevel, cfg.LogFormat, stderr)
	if err := serveWith(cfg, logger); err != nil {
		logger.Error("sessiond stopped with an error", "error", err)
		return 1
	}
	return 0
}

// app is the wired service: Docker client, actor system and HTTP handler.
type app struct {
	cfg     config.Config
	logger  hclog.Logger
	engine  *docker.Client
	system  *actors.System
	handler http.Handler
}

// newApp connects to Docker and starts the actors and the HTTP handler.
func newApp(ctx context.Context, cfg config.Config, logger hclog.Logger) (*app, error) {
	connectCtx, cancel := context.WithTimeout(ctx, cfg.DockerOperationTimeout)
	engine, err := docker.Connect(connectCtx, docker.Options{
		Host:         cfg.DockerHost,
		TLSVerify:    cfg.DockerTLSVerify,
		CertPath:     cfg.DockerCertPath,
		MaxIdleConns: cfg.AsyncPoolSize + 8,
	}, logger)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("connect to docker: %w", err)
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	system, err := actors.Start(actors.Options{
		Config:     cfg,
		Engine:     engine,
		Logger:     logger,
		Registry:   registry,
		SlogLogger: logging.NewSlogLogger(logger.Named("protoactor")),
	})
	if err != nil {
		engine.Close()
		return nil, fmt.Errorf("start actors: %w", err)
	}
	recoverCtx, cancelRecover := context.WithTimeout(ctx, 2*cfg.DockerOperationTimeout)
	system.RecoverWithRetry(recoverCtx)
	cancelRecover()

	handler := httpapi.New(httpapi.Options{
		Service:      system,
		Logger:       logger,
		Registry:     registry,
		APIToken:     cfg.APIToken,
		MaxBodyBytes: cfg.MaxBodyBytes,
	})
	return &app{cfg: cfg, logger: logger, engine: engine, system: system, handler: handler}, nil
}

// close stops the sessions (removing their containers when
// REMOVE_ON_SHUTDOWN is set), then the actors, then the Docker client.
func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := a.system.Shutdown(ctx, a.cfg.RemoveOnShutdown); err != nil {
		a.logger.Warn("actor system shutdown incomplete", "error", err)
	}
	if err := a.engine.Close(); err != nil {
		a.logger.Warn("close docker client", "error", err)
	}
}

// serveWith runs the service until SIGINT or SIGTERM, then shuts down in
// order: stop accepting and finish in-flight requests, then stop the
// sessions and the actors.
func serveWith(cfg config.Config, logger hclog.Logger) error {
	signals, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()

	// Listen before anything else: a second sessiond started by mistake
	// with the same address must fail here, before it adopts the running
	// instance's containers and removes them on its way out.
	listener, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (LISTEN_ADDR): %w", cfg.ListenAddr, err)
	}
	a, err := newApp(signals, cfg, logger)
	if err != nil {
		listener.Close()
		return err
	}
	server := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()
	logger.Info("sessiond listening", "addr", listener.Addr().String(), "instance", cfg.InstanceID,
		"async_docker", cfg.UseAsyncDocker, "image", cfg.SessionImage)

	var runErr error
	select {
	case <-signals.Done():
		logger.Info("shutdown requested", "timeout", cfg.ShutdownTimeout, "remove_containers", cfg.RemoveOnShutdown)
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	}
	stopSignals()

	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		logger.Warn("http server did not finish in-flight requests in time", "error", err)
	}
	a.close()
	logger.Info("sessiond stopped")
	return runErr
}
