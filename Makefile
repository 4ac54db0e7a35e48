# Skirmish: `make run` starts the server, `make test` runs every test.
SHELL := /bin/bash
GO      ?= go
ARGS    ?=
FUZZTIME ?= 10s

SOAK_BOTS ?= 256
SOAK_DURATION ?= 60s
SOAK_CHAOS ?= 0.1

LOAD_ARGS ?= -n 64 -duration 30s
FLOOR_N ?= 128
FLOOR_DURATION ?= 30s
SERVER_ARGS ?=

# make capacity: bots from CAPACITY_START by CAPACITY_STEP up to CAPACITY_MAX, CAPACITY_DURATION a step;
# CAPACITY_ARGS: the server's extra flags, CAPACITY_BOTS_ARGS: the bots'
CAPACITY_START ?= 128
CAPACITY_STEP ?= 128
CAPACITY_MAX ?= 4096
CAPACITY_DURATION ?= 30s
CAPACITY_RESOLUTION ?=
CAPACITY_ARGS ?=
CAPACITY_BOTS_ARGS ?=

# the server's timeouts under make attack, and what bin/attack expects
ATTACK_TIMEOUTS = -hello-timeout 1s -http-read-timeout 2s -http-idle-timeout 2s

# make fleet: the nodes' extra flags (e.g. FLEET_ARGS="-fill-timeout 1s")
FLEET_ARGS ?=

# make fleet-drill: the bots' flags, when after the bots start to send which signal to node n1
DRILL_ARGS ?= -n 192 -duration 60s
DRILL_AT ?= 20s
DRILL_SIGNAL ?= KILL
# the metrics fleet-drill prints of each surviving node
DRILL_METRICS = ^skirmish_(checkpoints_total|checkpoint_bytes_total|checkpoint_encode_seconds_(sum|count)|tick_duration_seconds_(sum|count)|matches_adopted_total|fleet_queue_fallbacks_total)[ {]
.PHONY: fleet-drill

.PHONY: run build wasm fleet test vet nginx unit fuzz e2e soak loadtest floor-ratio capacity attack bench clean

# await_url DIR SED: waits up to 10 s for the server started as $$spid to
# print a URL line to DIR/server.out, and prints the URL that the sed
# script SED takes from it; fails, showing what the server said, if it
# exits or prints none. The server listens before it prints.
AWAIT_URL = await_url() { \
	for i in $$(seq 100); do \
		u=$$(sed -n "$$2" "$$1/server.out" | head -n 1); \
		if [ -n "$$u" ]; then echo "$$u"; return 0; fi; \
		kill -0 $$spid 2>/dev/null || break; sleep 0.1; \
	done; \
	echo "make: the server printed no URL:" >&2; cat "$$1/server.out" "$$1/server.log" >&2 2>/dev/null; return 1; \
};
# start_redis DIR: starts redis-server (no persistence, data in DIR/redis) on
# a free port of 127.0.0.1 in a session of its own ($$own: setsid), and sets
# rport and rpid; fails, showing its log, if it does not start.
START_REDIS = start_redis() { \
	for try in $$(seq 20); do \
		rport=$$(( 20000 + RANDOM % 20000 )); \
		(exec 3<>/dev/tcp/127.0.0.1/$$rport) 2>/dev/null && continue; \
		mkdir -p $$1/redis; \
		$$own redis-server --port $$rport --bind 127.0.0.1 --save "" --appendonly no --dir $$1/redis \
			>$$1/redis/redis.log 2>&1 & rpid=$$!; \
		for i in $$(seq 50); do \
			(exec 3<>/dev/tcp/127.0.0.1/$$rport) 2>/dev/null && break; \
			kill -0 $$rpid 2>/dev/null || break; sleep 0.1; \
		done; \
		(exec 3<>/dev/tcp/127.0.0.1/$$rport) 2>/dev/null && kill -0 $$rpid 2>/dev/null && return 0; \
		kill $$rpid 2>/dev/null; wait $$rpid 2>/dev/null; rpid=; \
	done; \
	echo "make: redis-server did not start:" >&2; cat $$1/redis/redis.log >&2; return 1; \
};
# sed scripts taking the URLs from the lines the server prints
SERVER_URL = s|^Skirmish is running\. Open \(http://[^/ ]*\)/ in a browser.*|\1|p
PPROF_URL = s|^pprof: \(http://[^/ ]*\)/debug/pprof/$$|\1|p

## run: build and start the server on 127.0.0.1:8080 (ARGS="-addr :9000" or SKIRMISH_ADDR to change)
run: build
	./bin/skirmish $(ARGS)

## fleet: a redis-server on a free port (no persistence) and three nodes on 127.0.0.1:8081-8083
## (n1-n3) sharing it; prints their URLs and the logs' directory; Ctrl-C stops everything it started
fleet: build
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "make fleet: redis-server is missing: install it with apt-get install redis-server (as root)" >&2; exit 1; }
	@tmp=$$(mktemp -d -t skirmish-fleet.XXXXXX); pids=; rpid=; $(AWAIT_URL) $(START_REDIS) \
	own=$$(command -v setsid); \
	stop() { \
		trap - EXIT; trap 'kill -KILL $$pids $$rpid 2>/dev/null' INT TERM HUP; \
		if [ -n "$$pids" ]; then echo "make fleet: stopping the nodes (Ctrl-C again kills them)"; \
			kill -TERM $$pids 2>/dev/null; wait $$pids 2>/dev/null; fi; \
		if [ -n "$$rpid" ]; then kill -TERM $$rpid 2>/dev/null; wait $$rpid 2>/dev/null; fi; \
		echo "make fleet: stopped (logs in $$tmp)"; \
	}; \
	trap 'stop; exit 0' INT TERM HUP; trap stop EXIT; \
	start_redis $$tmp || exit 1; \
	echo "redis: 127.0.0.1:$$rport (no persistence)"; \
	for n in 1 2 3; do \
		mkdir -p $$tmp/n$$n; \
		$$own ./bin/skirmish -addr 127.0.0.1:808$$n -redis 127.0.0.1:$$rport -node-id n$$n \
			-public-url http://127.0.0.1:808$$n $(FLEET_ARGS) >$$tmp/n$$n/server.out 2>$$tmp/n$$n/server.log & spid=$$!; \
		pids="$$pids $$spid"; \
		url=$$(await_url $$tmp/n$$n '$(SERVER_URL)') || exit 1; \
		echo "n$$n: $$url/"; \
	done; \
	echo "logs: $$tmp/n1 … n3 (server.log), $$tmp/redis"; \
	echo "fleet: curl http://127.0.0.1:8081/v1/fleet; Ctrl-C stops the nodes and redis-server"; \
	wait $$pids; echo "make fleet: every node exited" >&2; exit 1

## fleet-drill: a redis-server and three fleet nodes n1-n3 on free ports (SERVER_ARGS) played by bin/bots over
## all three (DRILL_ARGS, default "-n 192 -duration 60s"); DRILL_AT (20s) after the bots start, sends DRILL_SIGNAL
## to n1 (KILL, the default: a node death; TERM: a drain) and, after the bots' summary, when the seats it held
## resumed elsewhere; prints the surviving nodes' checkpoint, tick, adoption and queue fallback metrics (and n1's
## drain log lines), stops everything and exits with the bots' status
fleet-drill: build
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "make fleet-drill: redis-server is missing: install it with apt-get install redis-server (as root)" >&2; exit 1; }
	@tmp=$$(mktemp -d -t skirmish-drill.XXXXXX); pids=; rpid=; bpid=; $(AWAIT_URL) $(START_REDIS) \
	own=$$(command -v setsid); \
	stop() { \
		trap - EXIT; trap 'kill -KILL $$pids $$rpid 2>/dev/null' INT TERM HUP; \
		if [ -n "$$bpid" ]; then kill -TERM $$bpid 2>/dev/null; wait $$bpid 2>/dev/null; fi; \
		if [ -n "$$pids" ]; then kill -TERM $$pids 2>/dev/null; wait $$pids 2>/dev/null; fi; \
		if [ -n "$$rpid" ]; then kill -TERM $$rpid 2>/dev/null; wait $$rpid 2>/dev/null; fi; \
		echo "fleet-drill: stopped the nodes and redis-server (logs in $$tmp)"; \
	}; \
	trap 'stop; exit 130' INT TERM HUP; trap stop EXIT; \
	free_port() { \
		for try in $$(seq 50); do \
			p=$$(( 20000 + RANDOM % 20000 )); \
			(exec 3<>/dev/tcp/127.0.0.1/$$p) 2>/dev/null || { echo $$p; return 0; }; \
		done; return 1; \
	}; \
	start_redis $$tmp || exit 1; \
	echo "redis: 127.0.0.1:$$rport (no persistence)"; \
	declare -a pid url; \
	for n in 1 2 3; do \
		mkdir -p $$tmp/n$$n; \
		for try in 1 2 3; do \
			port=$$(free_port) || exit 1; \
			$$own ./bin/skirmish -addr 127.0.0.1:$$port -redis 127.0.0.1:$$rport -node-id n$$n \
				-public-url http://127.0.0.1:$$port $(SERVER_ARGS) >$$tmp/n$$n/server.out 2>$$tmp/n$$n/server.log & spid=$$!; \
			if u=$$(await_url $$tmp/n$$n '$(SERVER_URL)' 2>$$tmp/n$$n/await.err); then break; fi; \
			kill -KILL $$spid 2>/dev/null; wait $$spid 2>/dev/null; spid=; \
		done; \
		if [ -z "$$spid" ]; then echo "make fleet-drill: node n$$n did not start:" >&2; cat $$tmp/n$$n/await.err >&2; exit 1; fi; \
		pids="$$pids $$spid"; pid[$$n]=$$spid; url[$$n]=$$u; \
		echo "n$$n: $$u/"; \
	done; \
	echo "bots: ./bin/bots -url $${url[1]},$${url[2]},$${url[3]} $(DRILL_ARGS); SIG$(DRILL_SIGNAL) to n1 after $(DRILL_AT)"; \
	: >$$tmp/bots.out; ./bin/bots -url $${url[1]},$${url[2]},$${url[3]} $(DRILL_ARGS) >>$$tmp/bots.out 2>&1 & bpid=$$!; \
	tail -n +1 -f --pid=$$bpid $$tmp/bots.out & tpid=$$!; \
	sleep $(DRILL_AT) & slp=$$!; at=; \
	while kill -0 $$bpid 2>/dev/null && kill -0 $$slp 2>/dev/null; do sleep 0.05; done; \
	if kill -0 $$bpid 2>/dev/null; then \
		at=$$(date +%T.%3N); \
		if kill -$(DRILL_SIGNAL) $${pid[1]}; then echo "drill: sent SIG$(DRILL_SIGNAL) to n1 at $$at"; \
		else echo "drill: could not send SIG$(DRILL_SIGNAL) to n1" >&2; at=; fi; \
		[ "$(DRILL_SIGNAL)" = KILL ] && wait $${pid[1]} 2>/dev/null; \
	else \
		kill $$slp 2>/dev/null; echo "drill: the bots ended before DRILL_AT=$(DRILL_AT): no signal sent" >&2; \
	fi; \
	wait $$bpid; rc=$$?; bpid=; wait $$tpid; \
	echo "--- fleet-drill: bots exit status $$rc"; \
	if [ -n "$$at" ]; then \
		sed -n 's/^ *resumed: *first at \([0-9:.]*\), last at \([0-9:.]*\)$$/\1 \2/p' $$tmp/bots.out | awk -v at=$$at -v sig=SIG$(DRILL_SIGNAL) ' \
			function s(t, f) { split(t, f, ":"); return f[1] * 3600 + f[2] * 60 + f[3] } \
			function since(t, d) { d = s(t) - s(at); return d < -43200 ? d + 86400 : d } \
			{ printf "drill: seats migrated to other nodes %.3f s to %.3f s after the %s (the last at %s)\n", since($$1), since($$2), sig, $$2; found = 1 } \
			END { if (!found) print "drill: no seat migrated to another node" }'; \
	fi; \
	echo "--- fleet-drill: the nodes' metrics"; \
	for n in 1 2 3; do \
		if ! kill -0 $${pid[$$n]} 2>/dev/null; then echo "n$$n: gone"; continue; fi; \
		curl -s --max-time 5 $${url[$$n]}/metrics >$$tmp/n$$n/metrics.txt; \
		grep -E '$(DRILL_METRICS)' $$tmp/n$$n/metrics.txt | sed "s/^/n$$n: /"; \
		awk -v n=n$$n '/^skirmish_checkpoints_total\{result="written"\}/ { w = $$2 } \
			/^skirmish_checkpoint_bytes_total / { b = $$2 } \
			/^skirmish_checkpoint_encode_seconds_sum / { es = $$2 } /^skirmish_checkpoint_encode_seconds_count / { ec = $$2 } \
			/^skirmish_tick_duration_seconds_sum / { ts = $$2 } /^skirmish_tick_duration_seconds_count / { tc = $$2 } \
			END { if (tc > 0) printf "%s: per checkpoint %.0f bytes written, %.1f us to take and encode; per tick %.1f us; checkpoint time %.2f%% of tick time\n", \
				n, (w > 0 ? b / w : 0), (ec > 0 ? 1e6 * es / ec : 0), (tc > 0 ? 1e6 * ts / tc : 0), (ts > 0 ? 100 * es / ts : 0) }' $$tmp/n$$n/metrics.txt; \
	done; \
	if [ "$(DRILL_SIGNAL)" != KILL ]; then \
		for i in $$(seq 100); do kill -0 $${pid[1]} 2>/dev/null || break; sleep 0.1; done; \
		echo "n1 log, drained:"; grep -i drained $$tmp/n1/server.log | tail -n 5; \
	fi; \
	exit $$rc

## build: bin/skirmish (server, with the browser client and its WebAssembly predictor), bin/bots (bot
## runner) and bin/attack (attack tool)
build: wasm
	$(GO) build -o bin/skirmish ./server/cmd/skirmish
	$(GO) build -o bin/bots ./bots
	$(GO) build -o bin/attack ./bots/attack

# The browser's predictor: web/predict compiled to WebAssembly, and the
# wasm_exec.js of the same Go beside it; both are embedded by package web
# (git ignores them; without them the page predicts in JavaScript).
WASM_DIR = web/static/wasm

## wasm: web/static/wasm/predict.wasm (the modes' Go movement code for the browser) and wasm_exec.js
wasm:
	GOOS=js GOARCH=wasm GOFLAGS= CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(WASM_DIR)/predict.wasm ./web/predict
	@src="$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js"; \
		cmp -s "$$src" $(WASM_DIR)/wasm_exec.js || cp "$$src" $(WASM_DIR)/wasm_exec.js

# make test fuzzes for a count of inputs, not a time: Go 1.26's fuzzer can
# fail a run whose -fuzztime duration ends while a worker is busy, with no
# failing input (golang/go#75804, fixed in Go 1.27).
test: FUZZTIME = 100000x

## test: vet, every unit and integration test with the race detector, a short fuzz of each decoder,
## the browser end-to-end tests, a short soak and the attacks
test: vet nginx wasm unit fuzz e2e
	$(MAKE) soak SOAK_BOTS=128 SOAK_DURATION=30s
	$(MAKE) attack

vet:
	$(GO) vet ./...

## nginx: Debian's nginx, for the test of docs/DEPLOY.md's config (installed when missing, as root)
nginx:
	@if [ ! -x /usr/sbin/nginx ]; then \
		if [ "$$(id -u)" -ne 0 ]; then \
			echo "make: /usr/sbin/nginx is missing and only root can install it: apt-get install nginx-light" >&2; exit 1; \
		fi; \
		echo "make: installing nginx-light with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	fi

unit:
	$(GO) test -race -count=1 ./...

## fuzz: run each fuzz test of untrusted-bytes decoders for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeClient$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2000x -parallel 1 ./netcode
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeServer$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2000x -parallel 1 ./netcode
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCheckpoint$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2000x -parallel 1 ./match
	$(GO) test -run '^$$' -fuzz '^FuzzReplayLog$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2000x -parallel 1 ./match

## e2e: browser end-to-end tests in Debian's Chromium (installed when missing, as root) with Playwright
e2e: build
	client/e2e/run.sh

## soak: the real server and SOAK_BOTS bots with chaos for SOAK_DURATION; fails on overruns,
## slow ticks or acks, errors, lost inputs, or goroutines/heap not back to baseline
soak: build
	tmp=$$(mktemp -d); $(AWAIT_URL) \
	./bin/skirmish -addr 127.0.0.1:0 -debug-addr 127.0.0.1:0 -log-level warn >$$tmp/server.out 2>$$tmp/server.log & spid=$$!; \
	trap 'kill $$spid 2>/dev/null' EXIT; \
	url=$$(await_url $$tmp '$(SERVER_URL)') && durl=$$(await_url $$tmp '$(PPROF_URL)') || exit 1; \
	./bin/bots -url $$url -debug-url $$durl -n $(SOAK_BOTS) \
		-duration $(SOAK_DURATION) -chaos $(SOAK_CHAOS) -soak -report soak-report.json; rc=$$?; \
	kill -TERM $$spid; wait $$spid; exit $$rc

## loadtest: the real server (SERVER_ARGS) and bots (LOAD_ARGS, e.g. "-n 256 -duration 60s
## -report r.json"); prints the server's CPU time from /proc, all costs included, per client-tick
## (one frame sent to one client), and its peak RSS while the bots run, per player, above the idle base
## (the server after one /metrics scrape, as a scraped idle node is)
loadtest: build
	tmp=$$(mktemp -d); $(AWAIT_URL) \
	./bin/skirmish -addr 127.0.0.1:0 -log-level warn $(SERVER_ARGS) >$$tmp/server.out & spid=$$!; \
	trap 'kill $$spid 2>/dev/null' EXIT; \
	url=$$(await_url $$tmp '$(SERVER_URL)') || exit 1; \
	frames() { curl -s $$url/metrics | awk '/^skirmish_frames_out_total / {printf "%d", $$2}'; }; \
	vmrss() { awk '/^VmRSS:/ {print $$2}' /proc/$$spid/status; }; \
	f0=$$(frames); sleep 1; idle=$$(vmrss); \
	read u0 s0 <<< "$$(awk '{print $$14, $$15}' /proc/$$spid/stat)"; t0=$$(date +%s.%N); \
	( peak=0; while kill -0 $$spid 2>/dev/null && [ ! -e $$tmp/done ]; do \
		r=$$(vmrss); [ "$${r:-0}" -gt $$peak ] && peak=$$r && echo $$peak >$$tmp/peak; sleep 0.5; done ) & rpid=$$!; \
	./bin/bots -url $$url $(LOAD_ARGS) | tee $$tmp/bots.out; rc=$${PIPESTATUS[0]}; \
	read u1 s1 <<< "$$(awk '{print $$14, $$15}' /proc/$$spid/stat)"; t1=$$(date +%s.%N); \
	touch $$tmp/done; wait $$rpid; rss=$$(cat $$tmp/peak 2>/dev/null || vmrss); f1=$$(frames); \
	n=$$(sed -n 's/^--- \([0-9]*\) bots.*/\1/p' $$tmp/bots.out); \
	awk -v c=$$(( u1 + s1 - u0 - s0 )) -v hz=$$(getconf CLK_TCK) -v t0=$$t0 -v t1=$$t1 -v f=$$(( f1 - f0 )) \
		'BEGIN { cpu = c / hz; printf "server CPU: %.2f s over %.1f s = %.1f%% of one core; %.1f us per client-tick (%d frames out)\n", cpu, t1 - t0, 100 * cpu / (t1 - t0), (f > 0 ? 1e6 * cpu / f : 0), f }'; \
	awk -v idle=$$idle -v rss=$$rss -v n=$${n:-0} \
		'BEGIN { printf "server RSS: idle %.1f MB, peak while the bots ran %.1f MB = %.0f KB per player (%d bots)\n", idle / 1024, rss / 1024, (n > 0 ? (rss - idle) / n : 0), n }'; \
	curl -s $$url/metrics | grep -E '^skirmish_(tick_overruns_total|views_skipped_total|frames_out_total) '; \
	kill -TERM $$spid; wait $$spid; exit $$rc

## floor-ratio: the server's CPU per client-tick against ../shared/floor's (the I/O floor), one after the
## other in the same run, FLOOR_N clients (128) for FLOOR_DURATION (30s) each; prints both and the ratio
floor-ratio: build
	bots/floor-ratio.sh $(FLOOR_N) $(FLOOR_DURATION)

## capacity: the most bots this machine holds with every check passing (0 overruns, tick p99 <= 25% of the
## tick, ack p99 <= 2 ticks, >= 29 snapshots/s per bot, no input lost, no error): a fresh server and bin/bots
## run (arena, fight) of CAPACITY_DURATION per step from CAPACITY_START bots by CAPACITY_STEP to CAPACITY_MAX,
## then a bisection down to CAPACITY_RESOLUTION bots; prints each step's figures and the largest held
capacity: build
	CAPACITY_START=$(CAPACITY_START) CAPACITY_STEP=$(CAPACITY_STEP) CAPACITY_MAX=$(CAPACITY_MAX) \
	CAPACITY_DURATION=$(CAPACITY_DURATION) CAPACITY_RESOLUTION=$(CAPACITY_RESOLUTION) \
	CAPACITY_ARGS="$(CAPACITY_ARGS)" CAPACITY_BOTS_ARGS="$(CAPACITY_BOTS_ARGS)" bots/capacity.sh

## attack: the real server (short timeouts) attacked by bin/attack: a session flood, connections that say
## no hello, one token many times, a ping flood, close-then-hello, slow POSTs, idle keep-alives and
## 2,000 upgrades from one IP, each with its assertion; fails if one does not hold
attack: build
	tmp=$$(mktemp -d); $(AWAIT_URL) \
	./bin/skirmish -addr 127.0.0.1:0 -log-level warn $(ATTACK_TIMEOUTS) -fill-timeout 200ms >$$tmp/server.out 2>$$tmp/server.log & spid=$$!; \
	trap 'kill $$spid 2>/dev/null' EXIT; \
	url=$$(await_url $$tmp '$(SERVER_URL)') || exit 1; \
	./bin/attack -url $$url -pid $$spid $(ATTACK_TIMEOUTS); rc=$$?; \
	if [ $$rc -ne 0 ]; then echo "server log ($$tmp/server.log), last lines:"; tail -n 20 $$tmp/server.log; fi; \
	kill -TERM $$spid; wait $$spid; exit $$rc

## bench: hot-path benchmarks with allocations: the tick, the views, the decoders, and the server's
## write path (a snapshot to a real socket) and read path (an input frame from one)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./netcode ./match
	$(GO) test -run '^$$' -bench 'WritePath|ReadPath' -benchmem ./server

clean:
	rm -rf bin
