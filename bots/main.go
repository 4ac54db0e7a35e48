// Command bots is a headless load generator for a Skirmish server: it runs
// many simulated players, each a skirmish/client connection, that queue for
// a mode, play (wander or fight) and queue again when their match ends. It
// prints a progress line every second and a summary at the end, and can
// write a JSON report.
//
//	go run ./bots -url http://127.0.0.1:8080 -n 64 -duration 30s -behavior fight -report report.json
//
// Exit status: 0 on success, 1 if any bot saw a protocol error, 2 if not a
// single bot could connect or the flags are invalid. SIGINT or SIGTERM ends
// the run early; the summary and report are still produced.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(mainExit(os.Args[1:]))
}

func mainExit(args []string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, report, err := parseFlags(args)
	if err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0
		case !errors.Is(err, errParse): // the flag package printed those
			fmt.Fprintln(os.Stderr, "bots:", err)
		}
		return 2
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	cfg.Progress, cfg.Logger = os.Stdout, log

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if err != nil && !errors.Is(err, ErrNoBots) {
		fmt.Fprintln(os.Stderr, "bots:", err)
		return 2
	}
	rep.Summary(os.Stdout)
	if report != "" {
		if werr := rep.WriteFile(report); werr != nil {
			log.Error("write report", "path", report, "err", werr)
		} else {
			fmt.Printf("report written to %s\n", report)
		}
	}
	switch {
	case errors.Is(err, ErrNoBots):
		fmt.Fprintln(os.Stderr, "bots:", err)
		return 2
	case rep.ProtocolErrors > 0:
		fmt.Fprintf(os.Stderr, "bots: %d protocol errors\n", rep.ProtocolErrors)
		return 1
	}
	return 0
}

// errParse reports a command line the flag package rejected (and
// explained).
var errParse = errors.New("bad command line")

// parseFlags returns the run's configuration and the report path.
func parseFlags(args []string) (Config, string, error) {
	var cfg Config
	var report string
	fs := flag.NewFlagSet("bots", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: bots [flags]\n\nRuns simulated players against a Skirmish server and reports what they saw.\nExit status: 0 ok, 1 a bot saw a protocol error, 2 no bot could connect or bad flags.\n\nFlags:\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "server base URL")
	fs.IntVar(&cfg.N, "n", 8, "number of bots")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "length of the run, from the first bot's start (SIGINT ends it sooner)")
	fs.StringVar(&cfg.Mode, "mode", "arena", "game mode to queue for")
	fs.StringVar(&report, "report", "", "write the JSON report to this file (default: none; the summary is always printed)")
	fs.StringVar(&cfg.Behavior, "behavior", BehaviorFight, "bot behavior: wander (move only, a new random heading every 1 to 2 s) or fight (chase, circle and shoot the nearest other player or NPC)")
	fs.DurationVar(&cfg.Ramp, "ramp", 2*time.Second, "time over which to start the bots, evenly spaced")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the bots' random choices (0: from the clock)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, "", err
		}
		return cfg, "", errParse
	}
	if fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg, report, cfg.Validate()
}
