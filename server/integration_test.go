package server

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/game"
	"skirmish/netcode"
)

// startServer runs a server on 127.0.0.1:0 and returns its base URL; it is
// shut down when the test ends.
func startServer(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := New(opts)
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
		_ = srv.Shutdown(ctx)
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	})
	return srv, "http://" + ln.Addr().String()
}

// playing dials a Go client that queues for the arena; it is closed when
// the test ends.
func playing(t *testing.T, base string, opts client.Options) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, base, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.Queue("arena")
	return c
}

// seen records what one client saw in its snapshots.
type seen struct {
	mu       sync.Mutex
	entities map[uint32]uint8 // id → kind
}

func (s *seen) record(m *netcode.ServerMsg) {
	if m.Type != netcode.MsgSnapshot {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range m.Snapshot.Creates {
		s.entities[c.ID] = c.Kind
	}
}

// TestSixteenClientsTwoMatches seats 16 Go clients in two arena matches
// that move in straight lines, and checks prediction, acks and isolation.
func TestSixteenClientsTwoMatches(t *testing.T) {
	_, base := startServer(t, Options{FillTimeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	const n = 16
	clients := make([]*client.Client, n)
	seens := make([]*seen, n)
	for i := range clients {
		sn := &seen{entities: map[uint32]uint8{}}
		c, err := client.Dial(ctx, base, client.Options{Name: "bot", OnMessage: sn.record})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i], seens[i] = c, sn
		// A straight line, different for each client; length exactly 1.
		a := float64(i) * 2 * math.Pi / n
		c.SetControl(client.Control{MoveX: float32(math.Cos(a)), MoveY: float32(math.Sin(a))})
		c.Queue("arena")
	}
	// Both matches fill at 8 and start at once; let them play.
	deadline := time.Now().Add(10 * time.Second)
	for {
		playing := 0
		for _, c := range clients {
			if v := c.View(); v.Phase == client.PhasePlaying && v.AckSeq > 30 {
				playing++
			}
		}
		if playing == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d clients playing with acks", playing, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)

	groups := map[string][]int{}
	for i, c := range clients {
		v := c.View()
		groups[v.MatchID] = append(groups[v.MatchID], i)
		st := c.Stats()
		if st.MaxPredictionError > 1 {
			t.Errorf("client %d: prediction off the server by %.3f units", i, st.MaxPredictionError)
		}
		if st.AckNonMonotonic != 0 {
			t.Errorf("client %d: ackSeq went backwards %d times", i, st.AckNonMonotonic)
		}
		if st.Rejected != 0 || st.ProtocolErrors != 0 {
			t.Errorf("client %d: %d rejected inputs, %d protocol errors", i, st.Rejected, st.ProtocolErrors)
		}
		if d := math.Hypot(float64(v.Self.X-v.SelfServer.X), float64(v.Self.Y-v.SelfServer.Y)); d > float64(v.Pending)*game.ArenaSpeed/30+1 {
			t.Errorf("client %d: predicted %v far from server %v with %d pending", i, v.Self, v.SelfServer, v.Pending)
		}
	}
	if len(groups) != 2 {
		t.Fatalf("want 2 matches, got %d: %v", len(groups), groups)
	}
	// Isolation: the entities each client saw are its own match's.
	all := map[string]map[uint32]bool{}
	for id, members := range groups {
		if len(members) != 8 {
			t.Errorf("match %s has %d players, want 8", id, len(members))
		}
		all[id] = map[uint32]bool{}
		avatars := map[uint32]bool{}
		for _, i := range members {
			avatars[clients[i].View().Entity] = true
		}
		for _, i := range members {
			sn := seens[i]
			sn.mu.Lock()
			for e, kind := range sn.entities {
				all[id][e] = true
				if kind == game.KindPlayer && !avatars[e] {
					t.Errorf("client %d saw player entity %d not of its match", i, e)
				}
			}
			sn.mu.Unlock()
		}
	}
	var ids []string
	for id := range all {
		ids = append(ids, id)
	}
	for e := range all[ids[0]] {
		if all[ids[1]][e] {
			t.Errorf("entity %d seen in both matches", e)
		}
	}
}

// A client dropped mid-match reconnects within the grace and gets the same
// seat: the same avatar and score, and every input it sent applied exactly
// once (its prediction, which applies each input once, still matches the
// server's position).
func TestReconnectResumesSeat(t *testing.T) {
	_, base := startServer(t, Options{FillTimeout: 100 * time.Millisecond, SeatGrace: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var reconnects []bool
	// Latency keeps inputs in flight, so the cut loses some that must be
	// resent.
	c, err := client.Dial(ctx, base, client.Options{Reconnect: true, Latency: 30 * time.Millisecond,
		OnReconnect: func(_ time.Duration, resumed bool) { mu.Lock(); reconnects = append(reconnects, resumed); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetControl(client.Control{MoveX: 0.6, MoveY: 0.8})
	c.Queue("arena")
	waitUntil(t, 10*time.Second, func() bool { return c.View().AckSeq > 20 })
	before := c.View()

	c.Drop()
	waitUntil(t, 10*time.Second, func() bool { return c.Stats().Resumed == 1 })
	waitUntil(t, 5*time.Second, func() bool { v := c.View(); return v.Phase == client.PhasePlaying && v.AckSeq > before.AckSeq+20 })
	sent := uint32(c.Stats().InputsSent)
	waitUntil(t, 5*time.Second, func() bool { return c.View().AckSeq >= sent })

	after, st := c.View(), c.Stats()
	if after.MatchID != before.MatchID || after.Entity != before.Entity {
		t.Errorf("resumed as %s/%d, was %s/%d", after.MatchID, after.Entity, before.MatchID, before.Entity)
	}
	if after.Score != before.Score {
		t.Errorf("score %d after the reconnect, was %d", after.Score, before.Score)
	}
	if st.Disconnects != 1 || st.Reconnects != 1 || st.InputsLost != 0 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
	if st.MaxPredictionError > 1 {
		t.Errorf("prediction off by %.2f units: an input was lost or applied twice", st.MaxPredictionError)
	}
	if after.AckSeq < sent {
		t.Errorf("sent %d inputs, server acknowledged up to %d", sent, after.AckSeq)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reconnects) != 1 || !reconnects[0] {
		t.Errorf("reconnect callbacks %v", reconnects)
	}
}

// After the grace the seat is gone: the player reconnects to the lobby and
// is told so.
func TestReconnectAfterGraceGoesToLobby(t *testing.T) {
	_, base := startServer(t, Options{FillTimeout: 50 * time.Millisecond, SeatGrace: 300 * time.Millisecond})
	tok := createSession(t, base)
	rc := seatedRaw(t, base, tok)
	_ = rc.conn.NetConn().Close() // a network cut: no close frame
	time.Sleep(600 * time.Millisecond)

	back, _, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	back.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	waitUntil(t, 5*time.Second, func() bool { return back.has(netcode.MsgError, netcode.ErrSeatExpired) })
	if back.has(netcode.MsgMatched, 0) {
		t.Error("seat resumed after the grace")
	}
	// In the lobby: queueing works again.
	back.send(t, netcode.AppendQueue(nil, "arena"))
	waitUntil(t, 5*time.Second, func() bool { return back.has(netcode.MsgMatched, 0) })
}

// A second connection with the same token replaces the first, which is
// closed with 4003 and does not reconnect.
func TestSecondConnectionReplacesFirst(t *testing.T) {
	_, base := startServer(t, Options{})
	tok := createSession(t, base)
	first, _, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	time.Sleep(100 * time.Millisecond)
	second, _, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	second.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	code, reason := first.waitClose(t, 3*time.Second)
	if code != 4003 || reason != "replaced" {
		t.Errorf("first closed with %d %q", code, reason)
	}
	second.send(t, netcode.AppendPing(nil, 1))
	time.Sleep(100 * time.Millisecond)
	select {
	case <-second.closed:
		t.Error("second connection closed too")
	default:
	}
}

// A normal close (1000) is leaving: the seat is freed at once, and the
// match, now empty, ends.
func TestNormalCloseFreesSeat(t *testing.T) {
	srv, base := startServer(t, Options{FillTimeout: 50 * time.Millisecond})
	c := playing(t, base, client.Options{Reconnect: true})
	waitUntil(t, 5*time.Second, func() bool { return c.View().AckSeq > 3 })
	c.Close()
	waitUntil(t, 3*time.Second, func() bool {
		mfs, _ := srv.metrics.reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "skirmish_matches" {
				return mf.GetMetric()[0].GetGauge().GetValue() == 0
			}
		}
		return false
	})
}
