# Build, test and demo targets for ferry. Run `make help` for a summary.

GO          ?= go
BIN         ?= bin
PLUGIN_DIR  ?= /opt/nomad/plugins
# go test's own limit for one package's test binary; make test stays well
# under it because the end-to-end package is the slowest and takes minutes.
TEST_TIMEOUT ?= 20m
ARGS        ?=

# Plugin binaries, each built from plugins/cmd/<name> and named after the
# plugin, as Nomad requires. Commands are the other programs ferry ships.
PLUGINS  := video camera vsphere
COMMANDS := plugins/cmd/ferry-harness scheduler/cmd/ferry-registrar scheduler/cmd/ferry-scheduler jobspecs/report

.PHONY: help build consul image test e2e demo bench bench-nomad bench-placement bench-vsphere faults install clean

help:
	@echo "make build    build the plugins into $(BIN)/plugins and the commands into $(BIN)"
	@echo "make consul   build the Consul agent the tests start into ~/.cache/ferry (once)"
	@echo "make image    build the ferry/motion-detect and ferry/pause images into the local Docker daemon"
	@echo "make test     go vet and go test ./... (Nomad end-to-end tests run when a nomad binary is found)"
	@echo "make e2e      only the Nomad end-to-end tests"
	@echo "make demo     run the motion-detect demo on a loopback Nomad cluster (ARGS='-o json', KEEP=1)"
	@echo "               ARGS=--hybrid adds a vCenter simulator and the city report made in a VM"
	@echo "make bench    Go benchmarks, as go test -json output in $(BIN)/bench.json"
	@echo "make bench-nomad      the video driver's budgets inside a real Nomad agent (about 9 minutes)"
	@echo "make bench-placement  ferry's placement against models of Nomad's on a synthetic city"
	@echo "make bench-vsphere    the vsphere plugin's start and destroy times on vCenter's simulator"
	@echo "make faults   seeded plugin crashes, dockerd restarts, offline reboots, client restarts,"
	@echo "              link cuts, Consul and vCenter outages"
	@echo "make install  copy the plugin binaries into PLUGIN_DIR ($(PLUGIN_DIR))"
	@echo "make clean    remove $(BIN) and the footage cache"

build:
	@mkdir -p $(BIN)/plugins
	@for p in $(PLUGINS); do \
		echo "$(GO) build -o $(BIN)/plugins/$$p ./plugins/cmd/$$p"; \
		$(GO) build -o $(BIN)/plugins/$$p ./plugins/cmd/$$p || exit 1; \
	done
	@for c in $(COMMANDS); do \
		echo "$(GO) build -o $(BIN)/$$(basename $$c) ./$$c"; \
		$(GO) build -o $(BIN)/$$(basename $$c) ./$$c || exit 1; \
	done

# The Consul agent the registrar tests start, built once from the Go module
# into a cache folder (a cold build takes a few minutes).
consul:
	@e2e/tools/build-consul.sh >/dev/null

image:
	jobspecs/motion/build-image.sh
	drivers/video/pause/build-image.sh

# go test hides the end-to-end package's own skip message unless -v is
# given, so make says it once here.
test: build image consul
	$(GO) vet ./...
	CONSUL_BIN="$${CONSUL_BIN:-$$(e2e/tools/build-consul.sh)}" $(GO) test -timeout $(TEST_TIMEOUT) ./...
	@nomad="$${NOMAD_BIN:-$$(command -v nomad || true)}"; \
	if [ -z "$$nomad" ] || [ ! -x "$$nomad" ]; then \
		echo "e2e: skipped the Nomad end-to-end tests: no nomad binary in NOMAD_BIN or on PATH (install Nomad from HashiCorp, or set NOMAD_BIN)"; \
	fi

e2e: build image consul
	CONSUL_BIN="$${CONSUL_BIN:-$$(e2e/tools/build-consul.sh)}" $(GO) test -timeout $(TEST_TIMEOUT) -count=1 -v ./e2e/

# The build steps print to stderr, so that ARGS='-o json' leaves clean JSON
# on stdout.
demo:
	@$(MAKE) --no-print-directory build image >&2
	@$(GO) run ./e2e/cmd/ferry-demo $(ARGS)

bench:
	@mkdir -p $(BIN)
	$(GO) test -run '^$$' -bench . -benchmem -json ./... > $(BIN)/bench.json
	@echo "benchmark results: $(BIN)/bench.json"

# Needs a Nomad binary from NOMAD_BIN or PATH; prints one JSON object.
bench-nomad: build
	$(GO) run ./e2e/bench -json -plugin $(BIN)/plugins/video

bench-placement:
	$(GO) run ./scheduler/bench -json

bench-vsphere: build
	$(GO) run ./e2e/vcsim/cmd/vsphere-bench -plugin $(BIN)/plugins/vsphere

# Seeded fault rounds; the last line is a JSON summary, and the exit status
# is non-zero if a task, log line or container was lost, duplicated or left.
faults: build
	$(GO) run ./e2e/faults -rounds 50 -timeout 30m

install: build
	install -d $(PLUGIN_DIR)
	@for p in $(PLUGINS); do \
		echo "install -m 0755 $(BIN)/plugins/$$p $(PLUGIN_DIR)/$$p"; \
		install -m 0755 $(BIN)/plugins/$$p $(PLUGIN_DIR)/$$p || exit 1; \
	done

clean:
	rm -rf $(BIN) .cache/footage
