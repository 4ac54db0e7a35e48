package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"skirmish/server"
)

// TestRunAgainstServer runs 8 fighting bots for 3 s against a real server
// started in-process.
func TestRunAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	base := startServer(t, server.Options{FillTimeout: 200 * time.Millisecond})
	rep, err := run(context.Background(), Config{
		URL:      base,
		N:        8,
		Duration: 3 * time.Second,
		Mode:     "arena",
		Behavior: BehaviorFight,
		Ramp:     100 * time.Millisecond,
		Seed:     1,
		Progress: testWriter{t},
		Logger:   quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum bytesWriter
	rep.Summary(&sum)
	t.Logf("\n%s", sum)

	if rep.Bots != 8 || rep.Connected != 8 {
		t.Errorf("bots %d, connected %d: want 8, 8", rep.Bots, rep.Connected)
	}
	if rep.Matches < 1 {
		t.Errorf("matches %d, want >= 1", rep.Matches)
	}
	if rep.SnapshotsPerS < 20 || rep.SnapshotsPerS > 40 {
		t.Errorf("snapshots_per_s %.1f, want 20 to 40 (tick rate 30)", rep.SnapshotsPerS)
	}
	if rep.AckMS.P50 <= 0 {
		t.Errorf("ack p50 %v ms, want > 0", rep.AckMS.P50)
	}
	if rep.ProtocolErrors != 0 {
		t.Errorf("protocol_errors %d", rep.ProtocolErrors)
	}
	if rep.Errors != 0 {
		t.Errorf("errors %d: %v", rep.Errors, rep.ErrorSamples)
	}
	if rep.Disconnects != 0 {
		t.Errorf("disconnects %d", rep.Disconnects)
	}
	if rep.DurationS < 3 || rep.DurationS > 4 {
		t.Errorf("duration_s %.3f, want about 3", rep.DurationS)
	}
	if rep.InputsSent == 0 || rep.DownBytesPerS <= 0 || rep.UpBytesPerS <= 0 {
		t.Errorf("no traffic: %+v", rep)
	}
	if rep.Rejected > rep.InputsSent/100 {
		t.Errorf("%d of %d inputs rejected", rep.Rejected, rep.InputsSent)
	}
}

// TestRunRequeue plays matches of 1 s: the bots must queue again after each
// and their ack latency must not include the time between matches.
func TestRunRequeue(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	base := startServer(t, server.Options{FillTimeout: 200 * time.Millisecond, ArenaDuration: time.Second})
	rep, err := run(context.Background(), Config{
		URL: base, N: 8, Duration: 3500 * time.Millisecond, Mode: "arena",
		Behavior: BehaviorWander, Ramp: 100 * time.Millisecond, Seed: 2, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Matches < 2 {
		t.Errorf("matches %d, want >= 2 in 3.5 s of 1 s matches", rep.Matches)
	}
	if rep.AckMS.P99 <= 0 || rep.AckMS.P99 > 200 {
		t.Errorf("ack p99 %v ms, want (0, 200] on loopback", rep.AckMS.P99)
	}
	if rep.ProtocolErrors != 0 || rep.Errors != 0 || rep.Disconnects != 0 {
		t.Errorf("protocol errors %d, errors %d %v, disconnects %d", rep.ProtocolErrors, rep.Errors, rep.ErrorSamples, rep.Disconnects)
	}
	t.Logf("matches %d, ack p99 %.1f ms, %d stale acks left out", rep.Matches, rep.AckMS.P99, rep.StaleAcks)
}

// TestRunNoServer checks that a run where no bot can connect fails with
// ErrNoBots and counts the dial errors.
func TestRunNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	rep, err := run(context.Background(), Config{
		URL: "http://" + addr, N: 3, Duration: 2 * time.Second, Mode: "arena",
		Behavior: BehaviorWander, Logger: quiet,
	})
	if err != ErrNoBots {
		t.Fatalf("err %v, want ErrNoBots", err)
	}
	if rep.Errors != 3 || len(rep.ErrorSamples) != 3 || rep.Connected != 0 {
		t.Errorf("errors %d samples %q connected %d", rep.Errors, rep.ErrorSamples, rep.Connected)
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startServer runs a server in-process on a free port until the test ends
// and returns its base URL.
func startServer(t *testing.T, opts server.Options) string {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	opts.Logger = quiet
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
	return "http://" + ln.Addr().String()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }
func (b bytesWriter) String() string               { return string(b) }
