package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skirmish/server"
	"skirmish/server/servertest"
)

// TestRunAgainstServer runs 8 fighting bots for 3 s against a real server
// started in-process.
func TestRunAgainstServer(t *testing.T) {
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
	base := startServer(t, server.Options{FillTimeout: 200 * time.Millisecond, ModeOpts: []string{"arena.duration=1s"}})
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

// TestRunCTF plays ctf (bots -mode ctf): 8 fighters fill a match of two
// teams, play for the flag to its end, and queue again.
func TestRunCTF(t *testing.T) {
	base := startServer(t, server.Options{FillTimeout: 200 * time.Millisecond,
		ModeOpts: []string{"ctf.duration=2s"}})
	rep, err := run(context.Background(), Config{
		URL: base, N: 8, Duration: 5 * time.Second, Mode: "ctf", Behavior: BehaviorFight,
		Ramp: 100 * time.Millisecond, Seed: 4, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Matches < 2 {
		t.Errorf("matches %d, want >= 2 in 5 s of 2 s matches", rep.Matches)
	}
	if rep.ProtocolErrors != 0 || rep.Errors != 0 || rep.Disconnects != 0 {
		t.Errorf("protocol errors %d, errors %d %v, disconnects %d", rep.ProtocolErrors, rep.Errors, rep.ErrorSamples, rep.Disconnects)
	}
	if rep.InputsSent == 0 || rep.Rejected > rep.InputsSent/100 {
		t.Errorf("%d of %d inputs rejected", rep.Rejected, rep.InputsSent)
	}
	t.Logf("matches %d, inputs %d, rejected %d", rep.Matches, rep.InputsSent, rep.Rejected)
}

// TestRunChaos cuts a connection every 0.75 s (chaos 10 with 8 bots: 80 a
// minute) for 6 s: every cut bot must reconnect, every one that was
// playing must get its seat back, and no input may be lost.
func TestRunChaos(t *testing.T) {
	base := startServer(t, server.Options{FillTimeout: 200 * time.Millisecond})
	rep, err := run(context.Background(), Config{
		URL: base, N: 8, Duration: 6 * time.Second, Mode: "arena", Behavior: BehaviorFight,
		Ramp: 100 * time.Millisecond, Seed: 3, Chaos: 10, Progress: testWriter{t}, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum bytesWriter
	rep.Summary(&sum)
	t.Logf("\n%s", sum)

	// Cuts at 0.75, 1.5, … 5.25 s, and maybe one at 6 s.
	if rep.ChaosCuts < 6 || rep.ChaosCuts > 8 {
		t.Errorf("chaos_cuts %d, want about 7", rep.ChaosCuts)
	}
	if rep.Disconnects < rep.ChaosCuts || rep.Disconnects == 0 {
		t.Errorf("disconnects %d < %d cuts", rep.Disconnects, rep.ChaosCuts)
	}
	if rep.Reconnects != rep.Disconnects {
		t.Errorf("reconnects %d, disconnects %d: every bot must get its connection back", rep.Reconnects, rep.Disconnects)
	}
	if rep.Resumed != rep.ChaosCutsPlaying || rep.Resumed < rep.Disconnects-1 {
		t.Errorf("resumed %d, cuts of playing bots %d, disconnects %d: every seat must be resumed",
			rep.Resumed, rep.ChaosCutsPlaying, rep.Disconnects)
	}
	if rep.InputsLost != 0 {
		t.Errorf("inputs_lost %d", rep.InputsLost)
	}
	if rep.ReconnectMS.P50 <= 0 || rep.ReconnectMS.P99 < rep.ReconnectMS.P50 || rep.ReconnectMS.Max > 5000 {
		t.Errorf("reconnect_ms %+v", rep.ReconnectMS)
	}
	if rep.GaveUp != 0 || rep.ProtocolErrors != 0 || rep.Errors != 0 {
		t.Errorf("gave up %d, protocol errors %d, errors %d %v", rep.GaveUp, rep.ProtocolErrors, rep.Errors, rep.ErrorSamples)
	}
	if rep.Connected != 8 || rep.Matches < 1 || rep.AckMS.P50 <= 0 || rep.TickRate != 30 {
		t.Errorf("connected %d, matches %d, ack p50 %v, tick rate %d", rep.Connected, rep.Matches, rep.AckMS.P50, rep.TickRate)
	}
	// The series: a sample a second, with the running totals.
	if n := len(rep.Series); n < 5 || n > 6 {
		t.Fatalf("%d samples in 6 s", n)
	}
	last := rep.Series[len(rep.Series)-1]
	if last.Disconnects == 0 || last.Disconnects > rep.Disconnects || last.Reconnects > last.Disconnects || last.Playing == 0 {
		t.Errorf("last sample %+v", last)
	}
	for i, s := range rep.Series {
		if s.Connected+s.Reconnecting > 8 || (i > 0 && s.T <= rep.Series[i-1].T) {
			t.Errorf("sample %d: %+v", i, s)
		}
	}
	if s := rep.Series[len(rep.Series)-2]; s.Acks == 0 || s.AckP99MS < s.AckP50MS || s.DownBytesPerBot <= 0 || s.UpBytesPerBot <= 0 {
		t.Errorf("sample %+v", s)
	}
}

// TestSoak runs the soak gate against a server in-process, with its
// debug handlers on an httptest server: the bots leave, the server's
// goroutines and heap come back to their baseline, and the checks that do
// not depend on the machine's speed pass.
func TestSoak(t *testing.T) {
	base := startServer(t, server.Options{FillTimeout: 200 * time.Millisecond})
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	debug := httptest.NewServer(mux)
	t.Cleanup(debug.Close)
	dir := t.TempDir()
	report := filepath.Join(dir, "soak.json")

	var out bytesWriter
	code := soakMain(t, []string{"-url", base, "-debug-url", debug.URL, "-n", "8", "-duration", "4s",
		"-ramp", "100ms", "-chaos", "10", "-seed", "4", "-soak", "-report", report}, &out)
	t.Logf("exit %d\n%s", code, out)

	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Soak == nil || len(rep.Soak.Checks) != 12 {
		t.Fatalf("soak %+v", rep.Soak)
	}
	// Timing on a busy machine under the race detector is no gate: the
	// tick and ack p99 and overruns are logged, not checked.
	timing := map[string]bool{"server tick p99": true, "bots ack p99": true, "server tick overruns": true}
	pass := true
	for _, c := range rep.Soak.Checks {
		pass = pass && c.Pass
		if !c.Pass && !timing[c.Name] {
			t.Errorf("check %s failed: %v > %v (%s)", c.Name, float64(c.Value), float64(c.Limit), c.Detail)
		}
	}
	if want := map[bool]int{true: 0, false: 3}[pass]; code != want || rep.Soak.Pass != pass {
		t.Errorf("exit %d, soak pass %v; want exit %d", code, rep.Soak.Pass, want)
	}
	if rep.Disconnects == 0 || rep.InputsLost != 0 {
		t.Errorf("disconnects %d, inputs lost %d", rep.Disconnects, rep.InputsLost)
	}
	page, err := os.ReadFile(filepath.Join(dir, "soak.html"))
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, string(page))
	if !strings.Contains(string(page), "Soak checks") || !strings.Contains(string(page), "server goroutines") {
		t.Error("the page lacks the soak checks")
	}
}

// soakMain runs mainExit with args, its output to out.
func soakMain(t *testing.T, args []string, out io.Writer) int {
	t.Helper()
	stdout := os.Stdout
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = w
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, r)
		close(copied)
	}()
	defer func() {
		os.Stdout = stdout
		w.Close()
		<-copied
		r.Close()
	}()
	return mainExit(args)
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
	opts.Logger = quiet
	_, base := servertest.Start(t, opts)
	return base
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }
func (b bytesWriter) String() string               { return string(b) }

// TestRunRefusedIsNoError runs 6 bots against a node capped at 4 players
// (-max-players): the 2 refused with 503 are refusals, not errors, and
// they try again with a backoff.
func TestRunRefusedIsNoError(t *testing.T) {
	base := startServer(t, server.Options{FillTimeout: 200 * time.Millisecond, MaxPlayers: 4})
	rep, err := run(context.Background(), Config{
		URL: base, N: 6, Duration: 4 * time.Second, Mode: "arena", Behavior: BehaviorWander,
		Ramp: 100 * time.Millisecond, Seed: 5, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 {
		t.Errorf("errors %d %v: a full server's refusals counted as errors", rep.Errors, rep.ErrorSamples)
	}
	if rep.Refused < 2 {
		t.Errorf("refused %d, want at least the 2 bots over the cap", rep.Refused)
	}
	if rep.Connected != 4 {
		t.Errorf("connected %d, want the 4 the node holds", rep.Connected)
	}
	t.Logf("refused %d, connected %d, matches %d", rep.Refused, rep.Connected, rep.Matches)
}
