// Command bots is a headless load generator for a Skirmish server: it runs
// many simulated players, each a skirmish/client connection, that queue for
// a mode, play (wander or fight) and queue again when their match ends. It
// prints a progress line every second and a summary at the end, and can
// write a JSON report with a sample of every second, and beside it an HTML
// page charting the run (report.json: report.html).
//
//	go run ./bots -url http://127.0.0.1:8080 -n 64 -duration 30s -behavior fight -report report.json
//
// -url may list a fleet's nodes, comma-separated (make fleet):
//
//	go run ./bots -url http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083 -n 192 -duration 60s
//
// Bot i then creates its session and makes its first connection on node
// i mod n; when its connection drops it reconnects round robin over the
// others, starting with the node after the one that dropped. The bots
// follow moved messages (close 4007: no disconnect) to the node that holds
// their seat; the report counts them (moved), and the seats resumed on
// another node after a node died or drained (migrated). It also times, per
// seating in a new match, the queue → matched wait across nodes
// (queue_ms, and queue_match_min_ms without the fill wait), and per
// migration the time from losing the node (the drop, or the moved
// message) to the resumed seat (migrate_ms; migrate_drain_ms and
// migrate_death_ms apart). make fleet-drill runs them against a fleet of
// three nodes and kills or drains one of them mid-run.
//
// -latency D -jitter J delays every frame of every bot by D ± J (uniform,
// never reordering a connection's frames), each way. The report tells how
// the netcode felt (docs/NETCODE.md): interp_delay_ms (p50, p99: how far
// behind the newest snapshot the bots drew others, per control update),
// empty_buffer_pct, corrections_over_1u, and in a mode with an action and
// an event named "hitscan", hit_ratio (hitscan_hits / hitscan_shots: the
// shots fired at the target under a bot's crosshair in its own view, and
// the events naming the bot as the shooter).
//
// The bots always reconnect when their connection drops, and resume their
// seat. -chaos F cuts F×n connections a minute (at random among the playing
// bots, evenly spread, without a close frame) to exercise that.
//
// -source-addrs CIDR (default 127.1.0.0/16 on Linux, off elsewhere) gives
// each bot a source address of its own when the server is on the loopback
// (a host in 127.0.0.0/8, ::1 or localhost; an IPv4 range cannot reach
// ::1, so then it is not used): bot i connects, and reconnects, from the
// i-th address of the range that does not end in .0 or .255, wrapping
// around when there are more bots than addresses. A server's per-IP limits
// (session rate, connections per IP) then see many clients, as they would
// in production, not one. Linux lets a socket bind any 127.x.y.z address;
// "off" or "" connects from the system's choice.
//
// -soak turns the run into a gate (make soak): it reads the server's
// /metrics before and after the run and checks that the server's goroutines
// and heap come back near their baseline, that no tick overran, that the
// tick p99 fits in a quarter of the tick, that the server counted no
// protocol error, panic or store error, and that the bots' ack p99 is at
// most 2 ticks with no protocol error, lost input, error, or client that
// gave up (see soak.go).
//
// Exit status: 0 on success, 1 if any bot saw a protocol error, 2 if not a
// single bot could connect, the server could not be reached for -soak's
// baseline, or the flags are invalid, 3 if a -soak check failed (it takes
// precedence over 1). SIGINT or SIGTERM ends the run early; the summary and
// report are still produced.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"skirmish/game"
)

func main() {
	os.Exit(mainExit(os.Args[1:]))
}

func mainExit(args []string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, out, err := parseFlags(args)
	if err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0
		case !errors.Is(err, errParse): // the flag package printed those
			fmt.Fprintln(os.Stderr, "bots:", err)
		}
		return exitSetup
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	cfg.Progress, cfg.Logger = os.Stdout, log
	report := out.report
	if out.cpuProfile != "" {
		stop, perr := startCPUProfile(out.cpuProfile)
		if perr != nil {
			fmt.Fprintln(os.Stderr, "bots:", perr)
			return exitSetup
		}
		defer stop(log)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runf := run
	if cfg.Soak {
		runf = runSoak
	}
	rep, err := runf(ctx, cfg)
	if err != nil && !errors.Is(err, ErrNoBots) {
		fmt.Fprintln(os.Stderr, "bots:", err)
		return exitSetup
	}
	rep.Summary(os.Stdout)
	if report != "" {
		if werr := rep.WriteFile(report); werr != nil {
			log.Error("write report", "path", report, "err", werr)
		} else {
			fmt.Printf("report written to %s\n", report)
		}
		page := htmlPath(report)
		if werr := rep.WriteHTMLFile(page); werr != nil {
			log.Error("write report", "path", page, "err", werr)
		} else {
			fmt.Printf("charts written to %s\n", page)
		}
	}
	code, why := exitStatus(&rep, err)
	if why != "" {
		fmt.Fprintln(os.Stderr, "bots:", why)
	}
	return code
}

// Exit statuses.
const (
	exitOK            = 0
	exitProtocolError = 1 // a bot saw a protocol error
	exitSetup         = 2 // bad flags, no bot connected, no server for -soak
	exitSoakFailed    = 3 // a -soak check failed
)

// exitStatus returns the exit status of a run that returned rep and err
// (nil or ErrNoBots), and why if not 0.
func exitStatus(rep *Report, err error) (int, string) {
	switch {
	case err != nil:
		return exitSetup, err.Error()
	case rep.Soak != nil && !rep.Soak.Pass:
		return exitSoakFailed, "soak failed"
	case rep.ProtocolErrors > 0:
		return exitProtocolError, fmt.Sprintf("%d protocol errors", rep.ProtocolErrors)
	}
	return exitOK, ""
}

// errParse reports a command line the flag package rejected (and
// explained).
var errParse = errors.New("bad command line")

// outputs are the files a run writes besides its summary.
type outputs struct {
	report     string // the JSON report (and its HTML page beside it)
	cpuProfile string // a CPU profile of the bots process
}

// startCPUProfile starts a CPU profile of the process written to path;
// stop ends it.
func startCPUProfile(path string) (stop func(*slog.Logger), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func(log *slog.Logger) {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			log.Error("write cpu profile", "path", path, "err", err)
		}
	}, nil
}

// parseFlags returns the run's configuration and the files it writes.
func parseFlags(args []string) (Config, outputs, error) {
	var cfg Config
	var out outputs
	fs := flag.NewFlagSet("bots", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: bots [flags]\n\nRuns simulated players against a Skirmish server and reports what they saw.\nExit status: 0 ok, 1 a bot saw a protocol error, 2 no bot could connect, no server for -soak or bad flags,\n3 a -soak check failed.\n\nFlags:\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "server base URL, or the comma-separated base URLs of a fleet's nodes: bot i creates its session and connects first on node i mod n, and falls back to the others round robin")
	fs.IntVar(&cfg.N, "n", 8, "number of bots")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "length of the run, from the first bot's start (SIGINT ends it sooner)")
	fs.StringVar(&cfg.Mode, "mode", "arena", "game mode to queue for: "+modeNames()+" (or any the server registers: GET /v1/modes); bots play any mode from what matched declares")
	fs.StringVar(&out.report, "report", "", "write the JSON report to this file, and charts of the run to the same name with .html (default: none; the summary is always printed)")
	fs.StringVar(&cfg.Behavior, "behavior", BehaviorFight, "bot behavior: wander (move only, a new random heading every 1 to 2 s) or fight (chase, circle and shoot the nearest other player or NPC, never a teammate; in a mode with flags and bases, such as ctf, play for the flag)")
	fs.DurationVar(&cfg.Ramp, "ramp", 2*time.Second, "time over which to start the bots, evenly spaced")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the bots' random choices (0: from the clock)")
	fs.Float64Var(&cfg.Chaos, "chaos", 0, "cut this many connections per bot per minute (F×n a minute, evenly spread, random playing bots, no close frame); the bots reconnect and resume")
	fs.DurationVar(&cfg.Latency, "latency", 0, "delay every frame of every bot by this much, each way (an injected network latency)")
	fs.DurationVar(&cfg.Jitter, "jitter", 0, "vary each frame's delay by a value drawn uniformly from [-jitter, +jitter] (never below 0), each way; frames are never reordered (TCP)")
	fs.BoolVar(&cfg.Soak, "soak", false, "check the server (its /metrics before and after) and the bots after the run; exit 3 if a check fails")
	fs.StringVar(&out.cpuProfile, "cpuprofile", "", "write a CPU profile of the bots process over the whole run to this file (go tool pprof)")
	fs.StringVar(&cfg.DebugURL, "debug-url", "", "base URL of the server's -debug-addr (net/http/pprof), where -soak forces a GC before measuring the heap")
	fs.StringVar(&cfg.SourceAddrs, "source-addrs", defaultSourceAddrs(), "when the server is on the loopback (127.0.0.0/8, localhost), bot i connects from the i-th address of this IPv4 range (skipping .0 and .255, wrapping around), so that the server's per-IP limits see each bot as its own client; off or empty: the system's choice")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, out, err
		}
		return cfg, out, errParse
	}
	if fs.NArg() > 0 {
		return cfg, out, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg, out, cfg.Validate()
}

// modeNames lists the modes of the registry this binary was built with.
func modeNames() string {
	var names []string
	for _, d := range game.Modes() {
		names = append(names, d.Name)
	}
	return strings.Join(names, ", ")
}
