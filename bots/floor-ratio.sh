#!/usr/bin/env bash
# floor-ratio.sh: the server's CPU per client-tick against the I/O floor
# (../shared/floor, a gws server that only reads one 12 B input and writes
# one 100 B frame per client per tick at 30 Hz), measured one after the
# other in the same run on this machine, with the same number of clients.
#
#   bots/floor-ratio.sh [N [DURATION]]        default 128 clients, 30 s each
#
# Environment: FLOOR_DIR (default ../shared/floor from the repository),
# SERVER_ARGS (extra flags for bin/skirmish), BOTS_ARGS (extra flags for
# bin/bots; default -behavior wander). Needs bin/skirmish and bin/bots
# (make build). CPU is utime+stime from /proc over a window that leaves out
# the first and last 5 s (ramp and teardown); a client-tick is one frame
# sent to one client (the server's skirmish_frames_out_total; for the floor,
# clients × 30 × seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-128}
dur=${2:-30}
dur=${dur%s}
floor_dir=${FLOOR_DIR:-../shared/floor}
bots_args=${BOTS_ARGS:--behavior wander}
hz=$(getconf CLK_TCK)
tmp=$(mktemp -d -t skirmish-floor.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ ! -f "$floor_dir/main.go" ]; then
  echo "floor-ratio: no floor program at $floor_dir (set FLOOR_DIR)" >&2
  exit 2
fi
(cd "$floor_dir" && go build -o "$tmp/floor" .)
window=$((dur - 10))
if [ "$window" -lt 5 ]; then
  echo "floor-ratio: duration must be at least 15 s" >&2
  exit 2
fi

# --- the floor ---
port=$(free_port)
"$tmp/floor" -mode server -addr "127.0.0.1:$port" >"$tmp/floor-server.log" 2>&1 &
fpid=$!; pids+=("$fpid")
sleep 0.5
"$tmp/floor" -mode client -addr "127.0.0.1:$port" -n "$n" -d "${dur}s" >"$tmp/floor-client.log" 2>&1 &
cpid=$!; pids+=("$cpid")
sleep 5
c0=$(cpu_ticks "$fpid"); t0=$(date +%s.%N)
sleep "$window"
c1=$(cpu_ticks "$fpid"); t1=$(date +%s.%N)
frss=$(rss_kb "$fpid")
wait "$cpid" || true
kill "$fpid" 2>/dev/null || true
floor_us=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$n" -v t0="$t0" -v t1="$t1" \
  'BEGIN { printf "%.1f", 1e6 * c / hz / (n * 30 * (t1 - t0)) }')
floor_pct=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f", 100 * c / hz / (t1 - t0) }')
echo "floor:  $n clients, ${window} s window: CPU ${floor_pct}% of one core = ${floor_us} us per client-tick; RSS $((frss / 1024)) MB"

# --- the server ---
port=$(free_port)
./bin/skirmish -addr "127.0.0.1:$port" -log-level warn ${SERVER_ARGS:-} >"$tmp/server.out" 2>"$tmp/server.log" &
spid=$!; pids+=("$spid")
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
frames() { curl -fs "http://127.0.0.1:$port/metrics" | awk '/^skirmish_frames_out_total / {printf "%d", $2}'; }
# The idle base: after one /metrics scrape, as make loadtest takes it.
frames >/dev/null || true
sleep 1
idle=$(rss_kb "$spid")
# shellcheck disable=SC2086
./bin/bots -url "http://127.0.0.1:$port" -n "$n" -duration "${dur}s" $bots_args >"$tmp/bots.out" 2>&1 &
bpid=$!; pids+=("$bpid")
sleep 5
c0=$(cpu_ticks "$spid"); f0=$(frames); t0=$(date +%s.%N)
sleep "$window"
c1=$(cpu_ticks "$spid"); f1=$(frames); t1=$(date +%s.%N)
srss=$(rss_kb "$spid")
wait "$bpid" || true
server_us=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v f=$((f1 - f0)) 'BEGIN { printf "%.1f", 1e6 * c / hz / f }')
server_pct=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f", 100 * c / hz / (t1 - t0) }')
echo "server: $n bots ($bots_args), ${window} s window: CPU ${server_pct}% of one core, $((f1 - f0)) frames = ${server_us} us per client-tick; RSS idle $((idle / 1024)) MB, loaded $((srss / 1024)) MB = $(((srss - idle) / n)) KB per player"
grep -E "^(ack latency|disconnects|errors):" "$tmp/bots.out" | sed 's/^/  bots: /'
awk -v s="$server_us" -v f="$floor_us" 'BEGIN { printf "ratio:  %.2f x the floor\n", s / f }'
