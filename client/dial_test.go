package client_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/server"
)

// peers records the peer IP of every request by path, and of the session
// requests that asked to keep their connection alive.
type peers struct {
	mu        sync.Mutex
	byPath    map[string][]string
	keepAlive []string
}

func (p *peers) get(path string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.byPath[path]...)
}

// startRecordingServer runs a real server behind a handler that records
// the peer IP the listener saw for each request, and returns its base URL.
func startRecordingServer(t *testing.T) (string, *peers) {
	t.Helper()
	srv, err := server.New(server.Options{
		FillTimeout: 100 * time.Millisecond,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &peers{byPath: map[string][]string{}}
	h := srv.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		p.mu.Lock()
		p.byPath[r.URL.Path] = append(p.byPath[r.URL.Path], host)
		if r.URL.Path == "/v1/sessions" && !r.Close {
			p.keepAlive = append(p.keepAlive, host)
		}
		p.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil { // closes the WebSockets
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return hs.URL, p
}

// TestLocalAddr: the session request and the WebSocket of a client with
// Options.LocalAddr leave from that address, reconnects too; without it,
// from the system's choice (127.0.0.1 towards 127.0.0.1).
func TestLocalAddr(t *testing.T) {
	base, seen := startRecordingServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.Dial(ctx, base, client.Options{LocalAddr: "127.9.8.7", Reconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Drop() // the reconnect must leave from the same address
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().Reconnects == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no reconnect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	plain, err := client.Dial(ctx, base, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()

	want := map[string][]string{
		"/v1/sessions": {"127.9.8.7", "127.0.0.1"},
		"/ws":          {"127.9.8.7", "127.9.8.7", "127.0.0.1"},
	}
	for path, w := range want {
		if got := seen.get(path); !slices.Equal(got, w) {
			t.Errorf("%s from %q, want %q", path, got, w)
		}
	}
	// A bound client's transport keeps no idle connection.
	seen.mu.Lock()
	defer seen.mu.Unlock()
	if !slices.Equal(seen.keepAlive, []string{"127.0.0.1"}) {
		t.Errorf("session requests that kept their connection alive came from %q, want only the unbound client's", seen.keepAlive)
	}
}

func TestLocalAddrInvalid(t *testing.T) {
	for _, addr := range []string{"localhost", "127.0.0.1:80", "300.1.1.1", "fe80::1%eth0"} {
		if _, err := client.Dial(context.Background(), "http://127.0.0.1:1", client.Options{LocalAddr: addr}); err == nil {
			t.Errorf("LocalAddr %q: no error", addr)
		}
	}
}
