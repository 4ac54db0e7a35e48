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
