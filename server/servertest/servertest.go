// Package servertest runs a Skirmish server in-process for other packages'
// tests (the Go client, the bots).
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"skirmish/server"
)

// Start runs a server with opts on a free loopback port until the test
// ends (a quiet logger unless opts has one) and returns it and its base
// URL. The test fails if it does not shut down cleanly.
func Start(t testing.TB, opts server.Options) (*server.Server, string) {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	})
	return srv, "http://" + ln.Addr().String()
}

// StartBehind runs a server with opts behind wrap, on an httptest server,
// until the test ends, and returns it and the test server's base URL.
// wrap sees every request first: a proxy's path prefix
// (http.StripPrefix), or a recorder of what reached the server.
func StartBehind(t testing.TB, opts server.Options, wrap func(http.Handler) http.Handler) (*server.Server, string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(wrap(srv.Handler()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return srv, hs.URL
}
