package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"skirmish/netcode"
)

// The overload rule, window by window, at 30 Hz (budget 33.3 ms: a
// quarter 8.3 ms, a half 16.7 ms).
func TestTickLoadRule(t *testing.T) {
	l := newTickLoad(30)
	window := func(fast, overQuarter, overHalf, overruns int) (bool, bool) {
		for range fast {
			l.tick(time.Millisecond)
		}
		for range overQuarter {
			l.tick(10 * time.Millisecond)
		}
		for range overHalf {
			l.tick(20 * time.Millisecond)
		}
		if overruns > 0 {
			l.overrun(overruns)
		}
		_, changed := l.roll()
		return l.overloaded(), changed
	}
	steps := []struct {
		name                                 string
		fast, overQuarter, overHalf, overrun int
		on, changed                          bool
	}{
		{"fast ticks", 1000, 0, 0, 0, false, false},
		{"1% over half the budget", 99, 0, 1, 0, false, false},
		{"2% over a quarter", 98, 2, 0, 0, false, false},
		{"2% over half: hot", 98, 0, 2, 0, false, false},
		{"fast: a blip is no overload", 100, 0, 0, 0, false, false},
		{"2% over half: hot", 98, 0, 2, 0, false, false},
		{"hot again: on", 98, 0, 2, 0, true, true},
		{"still hot", 98, 0, 2, 0, true, false},
		{"calm 1", 100, 0, 0, 0, true, false},
		{"calm 2", 100, 1, 0, 0, true, false},
		{"2% over a quarter: not calm, count again", 98, 2, 0, 0, true, false},
		{"calm 1 again", 100, 0, 0, 0, true, false},
		{"calm 2 again: no ticks", 0, 0, 0, 0, true, false},
		{"calm 3: off", 100, 0, 0, 0, false, true},
		{"overruns 1% of the ticks", 1000, 0, 0, 10, false, false},
		{"overruns 2%: hot", 1000, 0, 0, 20, false, false},
		{"overruns without ticks (skipped): hot, on", 0, 0, 0, 3, true, true},
		{"calm", 100, 0, 0, 0, true, false},
		{"one overrun: not calm", 1000, 0, 0, 1, true, false},
		{"calm 1", 100, 0, 0, 0, true, false},
		{"calm 2", 100, 0, 0, 0, true, false},
		{"calm 3: off", 100, 0, 0, 0, false, true},
	}
	for i, s := range steps {
		on, changed := window(s.fast, s.overQuarter, s.overHalf, s.overrun)
		if on != s.on || changed != s.changed {
			t.Fatalf("window %d (%s): overloaded %v changed %v, want %v %v", i, s.name, on, changed, s.on, s.changed)
		}
	}
}

// hello is the hello of this protocol version.
func hello() []byte { return netcode.AppendHello(nil, netcode.Version, netcode.Version) }

// seatedIn connects a raw client with tok, says hello and waits until it
// is seated in an arena match.
func seatedIn(t *testing.T, base, tok string) *rawClient {
	t.Helper()
	rc, _, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.send(t, hello())
	rc.send(t, netcode.AppendQueue(nil, "arena"))
	waitUntil(t, 5*time.Second, func() bool { return rc.has(netcode.MsgMatched, 0) })
	return rc
}

// dialStatus opens a WebSocket with tok and returns it (nil when refused)
// with the upgrade's status and, when refused, the error code of its body.
func dialStatus(t *testing.T, base, tok string) (*rawClient, int, string) {
	t.Helper()
	rc, resp, err := dialRaw(t, base, tok, nil)
	if err == nil {
		return rc, http.StatusSwitchingProtocols, ""
	}
	if resp == nil {
		t.Fatal(err)
	}
	var body struct{ Error string }
	if resp.Body != nil {
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
	}
	return nil, resp.StatusCode, body.Error
}

// -max-players refuses a newcomer's WebSocket past N open ones with 503
// server_full, lets a player the node holds (seated, away) back in even
// then, and admits newcomers again once a player leaves.
func TestMaxPlayers(t *testing.T) {
	srv, base := startServer(t, Options{MaxPlayers: 2, FillTimeout: 50 * time.Millisecond})
	tokA, tokB, tokC := createSession(t, base), createSession(t, base), createSession(t, base)
	a := seatedIn(t, base, tokA)
	b, code, _ := dialStatus(t, base, tokB)
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("second player: %d", code)
	}
	b.send(t, hello())
	if _, code, why := dialStatus(t, base, tokC); code != http.StatusServiceUnavailable || why != "server_full" {
		t.Fatalf("third player: %d %q, want 503 server_full", code, why)
	}
	if n := labeledCounter(t, srv, "skirmish_refused_total", "why", refusedMaxPlayers); n != 1 {
		t.Errorf("refused{max_players} = %v, want 1", n)
	}
	if n := nodeRecord(t, base); n.Capacity != 2 || !n.Full {
		t.Errorf("node record %+v: want capacity 2, full", n)
	}

	// a drops; c takes the place; a, seated and away, still gets back in.
	_ = a.conn.NetConn().Close()
	var c *rawClient
	waitUntil(t, 5*time.Second, func() bool {
		c, code, _ = dialStatus(t, base, tokC)
		return code == http.StatusSwitchingProtocols
	})
	c.send(t, hello())
	a2, code, why := dialStatus(t, base, tokA)
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("seated player's reconnect at the cap: %d %q", code, why)
	}
	a2.send(t, hello())
	waitUntil(t, 5*time.Second, func() bool { return a2.has(netcode.MsgMatched, 0) && a2.snapshots() > 0 })

	// a's reconnect took the node over its cap (3 connections): when b
	// leaves, it is still at it; when c leaves too, a newcomer is admitted.
	tokD := createSession(t, base)
	if _, code, _ := dialStatus(t, base, tokD); code != http.StatusServiceUnavailable {
		t.Fatalf("newcomer over the cap: %d, want 503", code)
	}
	b.conn.WriteClose(1000, nil)
	waitUntil(t, 5*time.Second, func() bool { return srv.ips.held() == 2 })
	if _, code, _ := dialStatus(t, base, tokD); code != http.StatusServiceUnavailable {
		t.Fatalf("newcomer at the cap: %d, want 503", code)
	}
	c.conn.WriteClose(1000, nil)
	waitUntil(t, 5*time.Second, func() bool {
		_, code, _ := dialStatus(t, base, tokD)
		return code == http.StatusSwitchingProtocols
	})
	if n := labeledCounter(t, srv, "skirmish_refused_total", "why", refusedMaxPlayers); n < 3 {
		t.Errorf("refused{max_players} = %v, want at least 3", n)
	}
}

// nodeRecord returns the node record GET /v1/fleet lists for a server
// without Redis.
func nodeRecord(t *testing.T, base string) NodeInfo {
	t.Helper()
	resp, err := http.Get(base + "/v1/fleet")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Nodes []NodeInfo }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Nodes) != 1 {
		t.Fatalf("fleet: %v %+v", err, body)
	}
	return body.Nodes[0]
}

// Under overload (ticks over half the budget, injected through the
// Observer as a match reports them) the node refuses a queue with
// server_full and a newcomer's WebSocket with 503 server_full, while a
// seated player's match keeps ticking and the player may reconnect to it;
// when the load falls back it admits again, and both changes are logged.
func TestOverloadRefusesNewcomersKeepsSeated(t *testing.T) {
	log, lines := newLogSink()
	// Windows of 100 ms: a real tick late once (a busy test machine) is
	// not two hot windows in a row.
	srv, base := startServer(t, Options{FillTimeout: 50 * time.Millisecond, loadWindow: 100 * time.Millisecond, Logger: log})
	tokA, tokB := createSession(t, base), createSession(t, base)
	a := seatedIn(t, base, tokA)
	b, code, _ := dialStatus(t, base, tokB)
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("b: %d", code)
	}
	b.send(t, hello())
	waitUntil(t, 5*time.Second, func() bool { return b.has(netcode.MsgWelcome, 0) })

	stopLoad := slowTicks(srv)
	defer stopLoad()
	waitUntil(t, 5*time.Second, srv.metrics.load.overloaded)
	if g := gaugeValue(t, srv, "skirmish_overloaded"); g != 1 {
		t.Errorf("skirmish_overloaded = %v, want 1", g)
	}

	b.send(t, netcode.AppendQueue(nil, "arena"))
	waitUntil(t, 5*time.Second, func() bool { return b.has(netcode.MsgError, netcode.ErrServerFull) })
	if b.has(netcode.MsgQueued, 0) || b.has(netcode.MsgMatched, 0) {
		t.Error("b queued or seated while overloaded")
	}
	if _, code, why := dialStatus(t, base, createSession(t, base)); code != http.StatusServiceUnavailable || why != "server_full" {
		t.Errorf("newcomer while overloaded: %d %q, want 503 server_full", code, why)
	}
	if n := labeledCounter(t, srv, "skirmish_refused_total", "why", refusedOverload); n < 2 {
		t.Errorf("refused{overload} = %v, want at least 2", n)
	}
	if n := nodeRecord(t, base); !n.Full {
		t.Errorf("node record %+v: want full", n)
	}

	// a's match keeps ticking, and a's reconnect finds it.
	n0 := a.snapshots()
	waitUntil(t, 5*time.Second, func() bool { return a.snapshots() >= n0+10 })
	a2, code, why := dialStatus(t, base, tokA)
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("seated player's reconnect while overloaded: %d %q", code, why)
	}
	a2.send(t, hello())
	waitUntil(t, 5*time.Second, func() bool { return a2.has(netcode.MsgMatched, 0) && a2.snapshots() >= 10 })
	if !srv.metrics.load.overloaded() {
		t.Fatal("overload ended while slow ticks went on")
	}

	// The load falls: the node admits again.
	stopLoad()
	waitUntil(t, 5*time.Second, func() bool { return !srv.metrics.load.overloaded() })
	if g := gaugeValue(t, srv, "skirmish_overloaded"); g != 0 {
		t.Errorf("skirmish_overloaded = %v, want 0", g)
	}
	b.send(t, netcode.AppendQueue(nil, "arena"))
	waitUntil(t, 5*time.Second, func() bool { return b.has(netcode.MsgMatched, 0) })
	if _, code, _ := dialStatus(t, base, createSession(t, base)); code != http.StatusSwitchingProtocols {
		t.Errorf("newcomer after the overload: %d", code)
	}
	on, _ := countLines(lines(), "overload: refusing new matches")
	off, _ := countLines(lines(), "overload over: admitting again")
	if on < 1 || off < 1 {
		t.Errorf("logged %d overload and %d recovery lines, want both", on, off)
	}
	for _, l := range lines() {
		if strings.HasPrefix(l, "overload: ") && !strings.Contains(l, "over_half_budget=") {
			t.Errorf("overload line without its figures: %s", l)
		}
	}
}

// slowTicks reports slow ticks to srv's metrics, as slow matches would,
// until the function it returns is called (any number of times).
func slowTicks(srv *Server) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-quit:
				return
			case <-time.After(time.Millisecond):
			}
			for range 5 {
				srv.metrics.TickDone(20 * time.Millisecond)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); wg.Wait() }) }
}

func gaugeValue(t *testing.T, srv *Server, name string) float64 {
	t.Helper()
	vals, ok := metricValues(t, srv, name)
	if !ok || len(vals) == 0 {
		t.Fatalf("no metric %s", name)
	}
	return vals[0]
}

// In a fleet, an overloaded node says so in its record (full), and the
// matchmaker starts no match there: two players queued on a busy node are
// seated on it, not on the idle node that is overloaded (the one with the
// fewest players, where the match would go otherwise).
func TestFleetPlacesNoMatchOnFullNode(t *testing.T) {
	rs := newStoppableRedis(t)
	opts := Options{Redis: rs.Addr, FillTimeout: 100 * time.Millisecond, loadWindow: 20 * time.Millisecond}
	opts.NodeID = "a-idle" // first in the order of ids: a tie of loads goes to it
	idle, idleBase := startServer(t, opts)
	opts.NodeID = "b-busy"
	busy, busyBase := startServer(t, opts)

	defer slowTicks(idle)()
	// Both nodes see the record (either may hold the matchmaker's lease).
	sees := func(base string) bool {
		resp, err := http.Get(base + "/v1/fleet")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct{ Nodes []NodeInfo }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		full := map[string]bool{}
		for _, n := range body.Nodes {
			full[n.ID] = n.Full
		}
		return len(body.Nodes) == 2 && full["a-idle"] && !full["b-busy"]
	}
	waitUntil(t, 10*time.Second, func() bool { return sees(idleBase) && sees(busyBase) })

	var players []*rawClient
	for range 2 {
		rc, code, _ := dialStatus(t, busyBase, createSession(t, busyBase))
		if code != http.StatusSwitchingProtocols {
			t.Fatalf("player on the busy node: %d", code)
		}
		rc.send(t, hello())
		rc.send(t, netcode.AppendQueue(nil, "arena"))
		players = append(players, rc)
	}
	for i, rc := range players {
		waitUntil(t, 10*time.Second, func() bool { return rc.has(netcode.MsgMatched, 0) || rc.has(netcode.MsgMoved, 0) })
		if rc.has(netcode.MsgMoved, 0) {
			t.Errorf("player %d moved to another node", i)
		}
	}
	if ids := idle.lobby.MatchIDs(); len(ids) != 0 {
		t.Errorf("matches on the overloaded node: %v", ids)
	}
	if ids := busy.lobby.MatchIDs(); len(ids) != 1 {
		t.Errorf("matches on the busy node: %v, want 1", ids)
	}
	// The matchmaker never asked the overloaded node to host: it would
	// have refused (and counted) the tickets.
	if n := labeledCounter(t, idle, "skirmish_refused_total", "why", refusedOverload); n != 0 {
		t.Errorf("the overloaded node was asked to seat %v players", n)
	}
}
