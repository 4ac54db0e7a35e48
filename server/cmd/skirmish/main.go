// Command skirmish runs the Skirmish game server.
//
//	skirmish [-addr 127.0.0.1:8080] [-tick-rate 30] …
//
// It serves the browser client at /, the game WebSocket at /ws, guest
// sessions at /v1/sessions, /healthz and /metrics. SIGINT or SIGTERM shuts
// it down gracefully: matches end, clients get a close frame, exit 0.
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
	"syscall"

	"skirmish/server"
)

func main() {
	var opts server.Options
	fs := flag.NewFlagSet("skirmish", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: skirmish [flags]\n\nRuns the Skirmish game server. Flags:\n\n")
		fs.PrintDefaults()
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
		dln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		fmt.Printf("pprof: http://%s/debug/pprof/\n", displayAddr(dln.Addr()))
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go func() { _ = http.Serve(dln, mux) }()
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
