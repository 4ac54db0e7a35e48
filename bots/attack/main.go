// Command attack attacks a running Skirmish server the way a hostile
// client would, and checks that the server's per-client limits hold:
//
//	attack -url http://127.0.0.1:8080 -pid 1234 -hello-timeout 1s -http-read-timeout 2s -http-idle-timeout 2s
//
// The attacks, in this order, each with its assertion:
//
//   - session-flood: 2,000 POST /v1/sessions as fast as possible from one
//     address; at most burst + rate × elapsed (+5) get 201, more than half
//     get 429, every 429 with a Retry-After header. The server's RSS before
//     and after is printed.
//   - hello-timeout: 100 WebSockets, each with a token of its own, that
//     never say hello (but answer pings); each is closed with 4006 within
//     -hello-timeout + 2 s of its upgrade.
//   - one-token: 100 upgrades with one token at once, nobody says hello;
//     exactly one is upgraded, 99 get 429.
//   - ping-flood: a hello'd connection sends 5,000 pings over 2 s while a
//     normal player (skirmish/client) plays arena; fewer than pings/10
//     pongs come back (a close with 1008 is fine), and the player keeps
//     getting snapshots, never 500 ms apart.
//   - close-then-hello: player A is hello'd with token T; an attacker with
//     T sends, in one TCP write, a frame that breaks the protocol (msgpack
//     0xc1) and a valid hello; the attacker is closed with 4000 and A is
//     not closed (still connected a second later).
//   - slow-post: 50 connections send a POST /v1/sessions with
//     Content-Length: 100, then one byte a second; each is closed within
//     -http-read-timeout + 2 s.
//   - idle-keepalive: 50 connections make one keep-alive GET /healthz and
//     stay idle; each is closed within -http-idle-timeout + 2 s.
//   - upgrade-cap: 2,000 upgrades from one address, with as many tokens;
//     each upgraded one says hello and is kept open; at most
//     -max-conns-per-ip are upgraded, the rest get 429.
//
// Throughout, a watcher gets /healthz every 100 ms: every answer must come
// within 50 ms (healthz). At the end the server must be alive and answer
// (server-alive), and with -pid its RSS must have grown by less than
// 100 MB since the start (server-rss).
//
// Each attack comes from loopback source addresses of its own (the
// server's per-IP limits are what is tested; Linux lets a socket bind any
// 127.x.y.z): the flood from 127.2.0.1, the tokens the attacks use from
// 127.3.x.y (10 sessions an address), the upgrades from one IP from
// 127.4.0.1, the watcher from 127.5.0.1, the WebSocket attacks from
// 127.6.0.x, the slow POSTs and idle connections from 127.7.0.x and
// 127.7.1.x. So the server must be on the loopback.
//
// Output: a line "attack NAME: what it saw" per attack, each followed by
// its assertion "PASS NAME: numbers" or "FAIL NAME: numbers", then the
// lines of the healthz, server-alive and server-rss assertions, and last
// "result: PASS, N assertions" or "result: FAIL, K of N assertions failed
// (NAMES)". Exit status: 0 if every assertion passed, 1 if one failed, 2
// if the run could not start (bad flags, server not answering, -pid not
// readable) or was interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(mainExit(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitPass  = 0
	exitFail  = 1 // an assertion failed
	exitSetup = 2 // bad flags, no server, interrupted
)

func mainExit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitSetup
	}
	start := time.Now()
	results, err := run(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "attack:", err)
		return exitSetup
	}
	fmt.Fprintf(stderr, "attack: done in %s\n", secs(time.Since(start)))
	for _, r := range results {
		if !r.Pass {
			return exitFail
		}
	}
	return exitPass
}

// parseFlags returns the run's configuration; the flag package explains a
// bad command line on stderr.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	var cfg Config
	d := Config{}.withDefaults()
	fs := flag.NewFlagSet("attack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: attack -url URL [-pid PID] [flags]\n\nAttacks a running Skirmish server on the loopback (session flood, connections without hello,\none token many times, ping flood, close-then-hello, slow POSTs, idle keep-alives, many upgrades\nfrom one IP) and checks its limits. Exit status: 0 every assertion passed, 1 one failed,\n2 the run could not start.\n\nFlags (the timeouts and limits are what the server is expected to enforce):\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "server base URL (on the loopback)")
	fs.IntVar(&cfg.PID, "pid", 0, "server process id: its RSS (/proc/PID/status VmRSS) and life are checked (0: not checked)")
	fs.DurationVar(&cfg.HelloTimeout, "hello-timeout", d.HelloTimeout, "the server's -hello-timeout: connections without hello must be closed with 4006 within it + 2s")
	fs.DurationVar(&cfg.HTTPReadTimeout, "http-read-timeout", d.HTTPReadTimeout, "the server's -http-read-timeout: slow POST bodies must be cut within it + 2s")
	fs.DurationVar(&cfg.HTTPIdleTimeout, "http-idle-timeout", d.HTTPIdleTimeout, "the server's -http-idle-timeout: idle keep-alive connections must be closed within it + 2s")
	fs.Float64Var(&cfg.SessionRate, "session-rate", d.SessionRate, "the server's session rate limit per IP, per second")
	fs.IntVar(&cfg.SessionBurst, "session-burst", d.SessionBurst, "the burst of the server's session rate limit per IP")
	fs.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", d.MaxConnsPerIP, "the server's -max-conns-per-ip")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "attack: unexpected argument %q\n", fs.Arg(0))
		return cfg, errors.New("bad command line")
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "attack:", err)
		return cfg, err
	}
	return cfg, nil
}
