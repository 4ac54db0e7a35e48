// Command skirmish runs the Skirmish game server.
//
//	skirmish [-addr 127.0.0.1:8080] [-tick-rate 30] …
//
// It serves the browser client at /, the game WebSocket at /ws, guest
// sessions at /v1/sessions, /healthz and /metrics (or /metrics on
// -metrics-addr only). It prints the URL to open; with -addr
// 127.0.0.1:0 the kernel picks the port, and the printed URL has it (as
// do the "pprof:" and "metrics:" lines of -debug-addr and -metrics-addr).
// SIGINT or SIGTERM shuts it down gracefully: matches end, clients get a
// close frame, exit 0.
//
//	skirmish replay FILE
//
// re-simulates a match's input log (recorded with -record, or fetched
// from GET /v1/matches/{id}/replay) and prints its tick count, final state
// hash and standings; it exits with status 1 and says why if the log is
// malformed, incomplete, or does not re-simulate to the end it recorded
// (a desync).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"skirmish/server"
)

// gcPercent is the server's GOGC when the environment sets none. Its heap
// is mostly long-lived (worlds, views, connections) and it allocates
// almost nothing per tick, so collecting at 25% growth instead of Go's
// 100% costs little CPU and keeps RSS near the live heap. GOGC and
// GOMEMLIMIT in the environment take precedence, as usual.
const gcPercent = 25

func main() {
	if len(os.Args) > 1 && os.Args[1] == "replay" {
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: skirmish replay FILE")
			os.Exit(2)
		}
		if err := server.ReplayFile(os.Args[2], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "skirmish replay:", err)
			os.Exit(1)
		}
		return
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	var opts server.Options
	fs := flag.NewFlagSet("skirmish", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: skirmish [flags]\n       skirmish replay FILE\n\nRuns the Skirmish game server, or re-simulates a recorded match (replay). Flags:\n\n")
		fs.PrintDefaults()
		server.PrintModeOptions(fs.Output())
	}
	opts.RegisterFlags(fs)
	_ = fs.Parse(os.Args[1:])
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "skirmish:", err)
		os.Exit(1)
	}
}

func run(opts server.Options) error {
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", srv.Options().Addr)
	if err != nil {
		return err
	}
	fmt.Printf("Skirmish is running. Open http://%s/ in a browser (Ctrl-C stops it).\n", displayAddr(ln.Addr()))
	if addr := srv.Options().DebugAddr; addr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		dln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		fmt.Printf("pprof: http://%s/debug/pprof/\n", displayAddr(dln.Addr()))
		go func() { _ = http.Serve(dln, mux) }()
	}
	if ms := srv.MetricsServer(); ms != nil {
		mln, err := net.Listen("tcp", ms.Addr)
		if err != nil {
			return err
		}
		fmt.Printf("metrics: http://%s/metrics\n", displayAddr(mln.Addr()))
		go func() { _ = ms.Serve(mln) }() // Shutdown stops it
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), srv.Options().ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return fmt.Sprintf("localhost:%d", tcp.Port)
}
