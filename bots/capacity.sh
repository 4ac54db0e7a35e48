#!/usr/bin/env bash
# capacity.sh: how many bots this machine's server holds with every check
# passing. The server and the bots run on this box: each step starts a
# fresh bin/skirmish and a fresh bin/bots run (arena, fight) of DURATION
# with N bots, N from START by STEP up to MAX, until a check fails; then it
# bisects between the last step that passed and the first that failed
# (down to RESOLUTION bots), and prints the largest N held with its figures.
# The bots connect from loopback addresses of their own (bin/bots' default
# -source-addrs 127.1.0.0/16 on Linux), so the server's per-IP limits see
# each bot as a client of its own; they start spread over a ramp of N/128 s
# (at least 2 s).
#
#   bots/capacity.sh            (make capacity; settings from the environment)
#
# Environment (make capacity passes its CAPACITY_* variables):
#   CAPACITY_START (128), CAPACITY_STEP (128), CAPACITY_MAX (4096) bots;
#   CAPACITY_DURATION (30s) per step; CAPACITY_RESOLUTION (STEP/8, at least
#   8) bots, the bisection's precision, 0 for no bisection;
#   CAPACITY_ARGS: extra flags for bin/skirmish; CAPACITY_BOTS_ARGS: extra
#   flags for bin/bots; CAPACITY_KEEP=1 keeps the run's directory.
#
# The checks of a step (the issue's bar, as make soak's):
#   overruns   skirmish_tick_overruns_total over the run: 0
#   tick p99   the smallest bound of skirmish_tick_duration_seconds holding
#              99% of the run's ticks: at most 25% of the tick budget
#   ack p99    the bots' ack_ms.p99: at most 2 ticks
#   snaps/s    snapshots per playing bot per second over the steady window
#              (the bots' per-second series): at least 29
#   lost       the bots' inputs_lost: 0
#   errors     the bots' errors and protocol errors, bots that never
#              connected, the server's panics: 0; and no player refused
#              (skirmish_refused_total: overload or -max-players)
# Figures: server CPU (% of one core, and us per client-tick: utime+stime
# from /proc over the steady window divided by skirmish_frames_out_total's
# increase), server RSS above its idle base per bot, bots CPU (% of one
# core), tick p99, overruns, ack p50/p99, snaps/s, inputs lost. The steady
# window leaves out the ramp, the first match's fill and the last second.
set -euo pipefail
cd "$(dirname "$0")/.."

dur_s() { local d=${1%s}; echo "${d%.*}"; }
start=${CAPACITY_START:-128}
step=${CAPACITY_STEP:-128}
max=${CAPACITY_MAX:-4096}
dur=$(dur_s "${CAPACITY_DURATION:-30s}")
res=${CAPACITY_RESOLUTION:-$((step / 8 > 8 ? step / 8 : 8))}
server_args=${CAPACITY_ARGS:-}
bots_args=${CAPACITY_BOTS_ARGS:-}
fill=3 # the server's default -fill-timeout, s

for v in start step max dur res; do
  case ${!v} in '' | *[!0-9]*)
    echo "capacity: $v must be a whole number (got '${!v}')" >&2; exit 2 ;;
  esac
done
if [ "$start" -lt 1 ] || [ "$step" -lt 1 ] || [ "$max" -lt "$start" ]; then
  echo "capacity: need 1 <= CAPACITY_START <= CAPACITY_MAX and CAPACITY_STEP >= 1" >&2; exit 2
fi
if [ "$dur" -lt 12 ]; then
  echo "capacity: CAPACITY_DURATION must be at least 12s (ramp, fill and a steady window)" >&2; exit 2
fi
for b in bin/skirmish bin/bots; do
  [ -x "$b" ] || { echo "capacity: $b is missing (make build)" >&2; exit 2; }
done

hz=$(getconf CLK_TCK)
tmp=$(mktemp -d -t skirmish-capacity.XXXXXX)
spid= bpid= napid=
# stop PID: SIGTERM, then SIGKILL if it is still there after 10 s.
stop() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
stop_step() {
  if [ -n "$bpid" ]; then stop "$bpid"; bpid=; fi
  if [ -n "$spid" ]; then stop "$spid"; spid=; fi
}
cleanup() {
  trap - EXIT INT TERM HUP
  if [ -n "$napid" ]; then kill "$napid" 2>/dev/null || true; fi
  stop_step
  if [ "${CAPACITY_KEEP:-}" = 1 ]; then echo "capacity: the runs are in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'echo "capacity: interrupted" >&2; cleanup; exit 130' INT TERM HUP

# nap S: sleep S seconds in a way a signal interrupts (the traps run at once).
nap() { sleep "$1" & napid=$!; wait "$napid" || true; napid=; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
metric() { # metric FILE NAME: the value of an unlabelled series, 0 if none
  awk -v n="$2" '$1 == n {v = $2} END {printf "%d", v}' "$1"
}

# run_step N: one step with N bots; prints its summary line and sets
# step_ok (1: every check passed) and step_line.
run_step() {
  local n=$1 d="$tmp/n$1"
  mkdir -p "$d"
  local ramp=$((n / 128 > 2 ? n / 128 : 2))
  local warm=$((ramp + fill + 2)) window
  window=$((dur - warm - 1))
  if [ "$window" -lt 3 ]; then window=3; warm=$((dur - 4)); fi
  # shellcheck disable=SC2086
  ./bin/skirmish -addr 127.0.0.1:0 -log-level warn $server_args >"$d/server.out" 2>"$d/server.log" &
  spid=$!
  local url=
  for _ in $(seq 100); do
    url=$(sed -n 's|^Skirmish is running\. Open \(http://[^/ ]*\)/ in a browser.*|\1|p' "$d/server.out" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "capacity: the server did not start:" >&2; cat "$d/server.out" "$d/server.log" >&2; exit 1
  fi
  # The idle base: the server after one /metrics scrape, as a scraped idle
  # node is (the first scrape alone adds about 1.5 MB).
  curl -fs --max-time 5 "$url/metrics" >/dev/null || true
  sleep 1
  local idle; idle=$(rss_kb "$spid")
  # shellcheck disable=SC2086
  ./bin/bots -url "$url" -n "$n" -duration "${dur}s" -ramp "${ramp}s" -mode arena -behavior fight \
    -report "$d/report.json" $bots_args >"$d/bots.out" 2>&1 &
  bpid=$!
  nap "$warm"
  curl -fs --max-time 5 "$url/metrics" >"$d/m0.txt" || true
  local c0 b0 t0 c1 b1 t1 rss
  c0=$(cpu_ticks "$spid"); b0=$(cpu_ticks "$bpid" 2>/dev/null || echo 0); t0=$(date +%s.%N)
  nap "$window"
  curl -fs --max-time 5 "$url/metrics" >"$d/m1.txt" || true
  c1=$(cpu_ticks "$spid"); b1=$(cpu_ticks "$bpid" 2>/dev/null || echo "$b0"); t1=$(date +%s.%N)
  rss=$(rss_kb "$spid")
  local brc=0
  wait "$bpid" || brc=$?
  bpid=
  curl -fs --max-time 5 "$url/metrics" >"$d/m2.txt" || true
  kill -TERM "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; spid=
  local f0 f1
  f0=$(metric "$d/m0.txt" skirmish_frames_out_total); f1=$(metric "$d/m1.txt" skirmish_frames_out_total)
  step_line=$(python3 - "$d" "$n" "$hz" "$((c1 - c0))" "$((b1 - b0))" "$t0" "$t1" "$f0" "$f1" "$idle" "$rss" "$warm" "$brc" <<'EOF'
import json, math, sys
d, n, hz, cpu, bcpu, t0, t1, f0, f1, idle, rss, warm, brc = sys.argv[1:]
n, hz, cpu, bcpu, f0, f1, idle, rss, warm, brc = map(int, (n, hz, cpu, bcpu, f0, f1, idle, rss, warm, brc))
secs = float(t1) - float(t0)

def series(path):
    out = {}
    try:
        for line in open(path):
            if line.startswith("#") or not line.strip():
                continue
            name, _, val = line.rpartition(" ")
            out[name.strip()] = float(val)
    except OSError:
        pass
    return out

m = series(d + "/m2.txt")
try:
    rep = json.load(open(d + "/report.json"))
except (OSError, ValueError):
    rep = None
rate = (rep or {}).get("tick_rate") or 30
budget_ms = 1000.0 / rate
# tick p99: the smallest bucket bound holding 99% of the run's ticks
buckets = sorted((float(k.split('le="')[1].split('"')[0]), v) for k, v in m.items()
                 if k.startswith("skirmish_tick_duration_seconds_bucket{"))
total = m.get("skirmish_tick_duration_seconds_count", 0)
p99 = float("nan")
for le, c in buckets:
    if total > 0 and c >= 0.99 * total:
        p99 = le * 1000
        break
overruns = int(m.get("skirmish_tick_overruns_total", 0))
panics = int(m.get("skirmish_panics_total", 0))
refused = int(sum(v for k, v in m.items() if k.startswith("skirmish_refused_total{")))
frames = f1 - f0
us = 1e6 * cpu / hz / frames if frames > 0 else float("nan")
cpu_pct = 100.0 * cpu / hz / secs
bots_pct = 100.0 * bcpu / hz / secs
kb = (rss - idle) / n
fails = []
if rep is None:
    ack50 = ack99 = snaps = float("nan"); lost = errors = -1
    fails.append("no bots report (exit %d)" % brc)
else:
    ack50, ack99 = rep["ack_ms"]["p50"], rep["ack_ms"]["p99"]
    lost = rep.get("inputs_lost", 0)
    errors = rep.get("errors", 0) + rep.get("protocol_errors", 0) + (rep.get("bots", n) - rep.get("connected", n)) + panics
    # snapshots per playing bot per second over the steady window
    ss = [s for s in rep.get("series", []) if s["t"] > warm][:-1]
    got = sum(s["snapshots_per_bot_s"] * s["connected"] for s in ss)
    playing = sum(s["playing"] for s in ss)
    snaps = got / playing if playing else float("nan")
if overruns != 0:
    fails.append("overruns %d" % overruns)
if not p99 <= 0.25 * budget_ms + 1e-9:
    fails.append("tick p99 %.2f ms > %.2f" % (p99, 0.25 * budget_ms))
if rep is not None:
    if not ack99 <= 2 * budget_ms:
        fails.append("ack p99 %.1f ms > %.1f" % (ack99, 2 * budget_ms))
    if not snaps >= 29:
        fails.append("snaps/s %.1f < 29" % snaps)
    if lost:
        fails.append("inputs lost %d" % lost)
    if errors:
        fails.append("errors %d" % errors)
if refused:
    fails.append("the server refused %d players (server_full)" % refused)
status = "PASS" if not fails else "FAIL (" + "; ".join(fails) + ")"
print("%d %d bots: server CPU %.0f%% = %.1f us/client-tick, RSS %.0f KB/bot above idle; bots CPU %.0f%%; "
      "tick p99 %.2f ms, overruns %d; ack p50 %.1f p99 %.1f ms; snaps/s %.1f; lost %d; errors %d: %s"
      % (0 if fails else 1, n, cpu_pct, us, kb, bots_pct, p99, overruns, ack50, ack99, snaps, lost, errors, status))
EOF
)
  step_ok=${step_line%% *}
  step_line=${step_line#* }
  echo "$step_line"
}

echo "capacity: server and bots on this machine ($(nproc) CPUs), arena, fight; ${dur} s per step; bots $start to $max by $step"
best=0 best_line= fail_n=
n=$start
while [ "$n" -le "$max" ]; do
  run_step "$n"
  if [ "$step_ok" = 1 ]; then
    best=$n; best_line=$step_line
    n=$((n + step))
  else
    fail_n=$n
    break
  fi
done
if [ -n "$fail_n" ] && [ "$res" -gt 0 ]; then
  lo=$best hi=$fail_n
  while [ $((hi - lo)) -gt "$res" ]; do
    mid=$(((lo + hi) / 2))
    echo "bisect: between $lo and $hi bots"
    run_step "$mid"
    if [ "$step_ok" = 1 ]; then
      lo=$mid; best=$mid; best_line=$step_line
    else
      hi=$mid
    fi
  done
fi
echo "---"
if [ "$best" -eq 0 ]; then
  echo "capacity: no step held: even $start bots failed a check on this machine"
  exit 1
fi
if [ -z "$fail_n" ]; then
  echo "capacity: $best bots held (every check passing) on this machine; CAPACITY_MAX reached, no step failed"
else
  echo "capacity: $best bots held (every check passing) on this machine"
fi
echo "  $best_line"
