# Skirmish: `make run` starts the server, `make test` runs every test.
SHELL := /bin/bash
GO      ?= go
ARGS    ?=
FUZZTIME ?= 10s

SOAK_BOTS ?= 256
SOAK_DURATION ?= 60s
SOAK_CHAOS ?= 0.1

LOAD_ARGS ?= -n 64 -duration 30s
SERVER_ARGS ?=

.PHONY: run build test vet unit fuzz e2e soak loadtest bench clean

## run: build and start the server on 127.0.0.1:8080 (ARGS="-addr :9000" or SKIRMISH_ADDR to change)
run: build
	./bin/skirmish $(ARGS)

## build: bin/skirmish (server) and bin/bots (bot runner)
build:
	$(GO) build -o bin/skirmish ./server/cmd/skirmish
	$(GO) build -o bin/bots ./bots

## test: vet, every unit and integration test with the race detector, a short fuzz of each decoder,
## the browser end-to-end tests and a short soak
test: vet unit fuzz e2e
	$(MAKE) soak SOAK_BOTS=128 SOAK_DURATION=30s

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

## fuzz: run each fuzz test of untrusted-bytes decoders for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeClient$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2000x -parallel 1 ./netcode
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeServer$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2000x -parallel 1 ./netcode

## e2e: browser end-to-end tests in Debian's Chromium (installed when missing, as root) with Playwright
e2e: build
	client/e2e/run.sh

## soak: the real server and SOAK_BOTS bots with chaos for SOAK_DURATION; fails on overruns,
## slow ticks or acks, errors, lost inputs, or goroutines/heap not back to baseline
soak: build
	tmp=$$(mktemp -d); \
	port=$$(( 20000 + $$$$ % 20000 )); dport=$$(( port + 1 )); \
	./bin/skirmish -addr 127.0.0.1:$$port -debug-addr 127.0.0.1:$$dport -log-level warn 2>$$tmp/server.log & spid=$$!; \
	trap 'kill $$spid 2>/dev/null' EXIT; \
	for i in $$(seq 50); do curl -fs http://127.0.0.1:$$port/healthz >/dev/null && break; sleep 0.1; done; \
	./bin/bots -url http://127.0.0.1:$$port -debug-url http://127.0.0.1:$$dport -n $(SOAK_BOTS) \
		-duration $(SOAK_DURATION) -chaos $(SOAK_CHAOS) -soak -report soak-report.json; rc=$$?; \
	kill -TERM $$spid; wait $$spid; exit $$rc

## loadtest: the real server (SERVER_ARGS) and bots (LOAD_ARGS, e.g. "-n 256 -duration 60s
## -report r.json"); prints the server's CPU time from /proc, all costs included
loadtest: build
	port=$$(( 20000 + $$$$ % 20000 )); \
	./bin/skirmish -addr 127.0.0.1:$$port -log-level warn $(SERVER_ARGS) & spid=$$!; \
	trap 'kill $$spid 2>/dev/null' EXIT; \
	for i in $$(seq 50); do curl -fs http://127.0.0.1:$$port/healthz >/dev/null && break; sleep 0.1; done; \
	read u0 s0 <<< "$$(awk '{print $$14, $$15}' /proc/$$spid/stat)"; t0=$$(date +%s.%N); \
	./bin/bots -url http://127.0.0.1:$$port $(LOAD_ARGS); rc=$$?; \
	read u1 s1 <<< "$$(awk '{print $$14, $$15}' /proc/$$spid/stat)"; t1=$$(date +%s.%N); \
	awk -v c=$$(( u1 + s1 - u0 - s0 )) -v hz=$$(getconf CLK_TCK) -v t0=$$t0 -v t1=$$t1 \
		'BEGIN { cpu = c / hz; printf "server CPU: %.2f s over %.1f s = %.1f%% of one core\n", cpu, t1 - t0, 100 * cpu / (t1 - t0) }'; \
	curl -s http://127.0.0.1:$$port/metrics | grep -E '^skirmish_(tick_overruns_total|views_skipped_total|frames_out_total) '; \
	kill -TERM $$spid; wait $$spid; exit $$rc

## bench: hot-path benchmarks with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./netcode ./match

clean:
	rm -rf bin
