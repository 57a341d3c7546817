# sessiond build, run and test targets. Every target works on a machine with
# Go and a running Docker Engine; nothing is pulled from a registry.

GO            ?= go
BIN           := bin
SANDBOX_IMAGE ?= sessiond-sandbox:latest
GOTEST_FLAGS  ?= -race -count=1 -timeout 20m

.PHONY: all build image run test test-unit bench vet fmt-check clean-containers clean

all: build image

build:
	$(GO) build -o $(BIN)/sessiond .

# The sandbox is a static Go binary in an image FROM scratch; its build
# context holds only the binary and the Dockerfile.
image:
	mkdir -p $(BIN)/sandbox
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/sandbox/sandbox ./docker/sandbox
	cp docker/sandbox/Dockerfile $(BIN)/sandbox/Dockerfile
	docker build -q -t $(SANDBOX_IMAGE) $(BIN)/sandbox

# ARGS passes flags, such as make run ARGS='--listen-addr 127.0.0.1:9090'.
run: build image
	./$(BIN)/sessiond serve $(ARGS)

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# test runs every test: unit tests, the race detector, and the integration
# tests against the local Docker daemon and the sandbox image.
test: fmt-check vet image
	$(GO) test $(GOTEST_FLAGS) ./...

# test-unit skips the tests that need Docker.
test-unit:
	$(GO) test -short $(GOTEST_FLAGS) ./...

# bench runs sessiond in several configurations and the raw-Docker baseline
# under load and writes docs/benchmarks.md. It needs the local Docker daemon,
# takes up to 15 minutes, and measures best while nothing else loads Docker.
bench: build image
	$(GO) run ./bench --sessiond $(BIN)/sessiond --image $(SANDBOX_IMAGE) --go $(GO)

# clean-containers removes containers left by interrupted test runs: all
# of them, including those of another run still going on this daemon.
clean-containers:
	@ids=$$(docker ps -aq --filter label=sessiond.test); [ -z "$$ids" ] || docker rm -f $$ids

clean:
	rm -rf $(BIN)
