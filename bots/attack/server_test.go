package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"skirmish/server"
	"skirmish/server/servertest"
)

// TestPingFloodMechanics runs the ping flood against a real server
// in-process: the player plays beside it and the pings are sent and
// counted. (Whether the server limits the pongs is the assertion's
// business, not this test's.)
func TestPingFloodMechanics(t *testing.T) {
	t.Parallel()
	_, base := servertest.Start(t, server.Options{FillTimeout: 200 * time.Millisecond})
	a, err := newAttacker(testConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	o := a.pingFlood(t.Context()).(*pingObs)
	t.Log(o.saw())
	if o.err != nil {
		t.Fatal(o.err)
	}
	if o.pings != a.cfg.Pings && !o.flooderClosed {
		t.Errorf("%d of %d pings sent, flooder open", o.pings, a.cfg.Pings)
	}
	if o.pongs > o.pings || o.snapshots == 0 || o.playerClosed || o.flood < a.cfg.PingFor*9/10 && !o.flooderClosed {
		t.Errorf("pongs %d of %d pings, player snapshots %d, closed %v, flood %v", o.pongs, o.pings, o.snapshots, o.playerClosed, o.flood)
	}
}

// TestRunOutput runs every attack, small, against a real server
// in-process (whose RSS is this process's): one line per attack, each
// followed by its assertion, then the run's assertions and the result.
func TestRunOutput(t *testing.T) {
	t.Parallel()
	_, base := servertest.Start(t, server.Options{FillTimeout: 200 * time.Millisecond})
	cfg := testConfig(base)
	cfg.PID = os.Getpid()
	cfg.SessionBurst = 50
	var out bytes.Buffer
	start := time.Now()
	results, err := run(t.Context(), cfg, &out)
	t.Logf("in %v:\n%s", time.Since(start), out.String())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	var want []*regexp.Regexp
	want = append(want, regexp.MustCompile(`^attacking http://127\.0\.0\.1:\d+ \(pid \d+, RSS \d+\.\d MB\)$`))
	for _, at := range attacks {
		want = append(want,
			regexp.MustCompile(`^attack `+at.name+`: \S.*$`),
			regexp.MustCompile(`^(PASS|FAIL) `+at.name+`: \S.*$`))
	}
	for _, name := range []string{"healthz", "server-alive", "server-rss"} {
		want = append(want, regexp.MustCompile(`^(PASS|FAIL) `+name+`: \S.*$`))
	}
	want = append(want, regexp.MustCompile(`^result: (PASS, 11 assertions|FAIL, \d+ of 11 assertions failed \([a-z, -]+\))$`))
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i+1, lines[i], re)
		}
	}
	if len(results) != 11 {
		t.Errorf("%d results", len(results))
	}
	if strings.Contains(out.String(), "could not attack") {
		t.Error("an attack could not be set up")
	}
}

// TestMainExitNoServer: a server that does not answer is a setup failure.
func TestMainExitNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if code := mainExit(ctx, []string{"-url", "http://" + addr}, &out, &errs); code != exitSetup {
		t.Errorf("exit %d, want %d; %s", code, exitSetup, errs.String())
	}
	if !strings.Contains(errs.String(), "not reachable") {
		t.Errorf("stderr %q", errs.String())
	}
}
