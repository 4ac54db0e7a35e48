package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"skirmish/client"
	"skirmish/game"
	"skirmish/netcode"
	"skirmish/server"
	"skirmish/server/servertest"
)

// fakeNode is a node of a fake fleet: an HTTP server that serves sessions
// and WebSockets under a path prefix (as behind a proxy that routes per
// node) and hands each WebSocket to script, on a goroutine of its own. It
// speaks the protocol only as far as a test scripts it.
type fakeNode struct {
	t      *testing.T
	base   string // the node's base URL: the server's URL and the prefix
	script func(fc *fakeConn)

	mu    sync.Mutex
	paths []string // of the requests, in order
	conns int      // WebSockets accepted
}

func startFakeNode(t *testing.T, prefix string) *fakeNode {
	t.Helper()
	n := &fakeNode{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+prefix+"/v1/sessions", func(w http.ResponseWriter, r *http.Request) {
		n.record(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"token": "tok", "playerId": "p-1", "name": "ann"})
	})
	mux.HandleFunc("GET "+prefix+"/ws", func(w http.ResponseWriter, r *http.Request) {
		n.record(r)
		if r.URL.Query().Get("token") != "tok" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		fc := &fakeConn{t: n.t, in: make(chan netcode.ClientMsg, 4096), gone: make(chan struct{})}
		ws, err := gws.NewUpgrader(fc, &gws.ServerOption{}).Upgrade(w, r)
		if err != nil {
			return
		}
		fc.ws = ws
		n.mu.Lock()
		n.conns++
		script := n.script
		n.mu.Unlock()
		go ws.ReadLoop()
		if script != nil {
			go script(fc)
		}
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	n.base = hs.URL + prefix
	return n
}

func (n *fakeNode) record(r *http.Request) {
	n.mu.Lock()
	n.paths = append(n.paths, r.URL.Path)
	n.mu.Unlock()
}

func (n *fakeNode) setScript(f func(fc *fakeConn)) {
	n.mu.Lock()
	n.script = f
	n.mu.Unlock()
}

func (n *fakeNode) connCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns
}

func (n *fakeNode) requests() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.paths)
}

// fakeConn is one WebSocket of a fakeNode: the client's messages, decoded,
// arrive on in.
type fakeConn struct {
	t      *testing.T
	ws     *gws.Conn
	in     chan netcode.ClientMsg
	gone   chan struct{} // closed when the connection is gone
	r      *netcode.Reader
	closed sync.Once
}

func (fc *fakeConn) OnOpen(*gws.Conn) {}
func (fc *fakeConn) OnClose(*gws.Conn, error) {
	fc.closed.Do(func() { close(fc.gone) })
}
func (fc *fakeConn) OnPing(s *gws.Conn, p []byte) { _ = s.WritePong(p) }
func (fc *fakeConn) OnPong(*gws.Conn, []byte)     {}
func (fc *fakeConn) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	if fc.r == nil {
		fc.r = netcode.NewReader()
	}
	var cm netcode.ClientMsg
	if err := fc.r.DecodeClient(m.Bytes(), &cm); err != nil {
		fc.t.Errorf("fake node: a bad client frame: %v", err)
		return
	}
	fc.in <- cm
}

func (fc *fakeConn) send(b []byte) { _ = fc.ws.WriteMessage(gws.OpcodeBinary, b) }

// next returns the client's next message, or fails the test after d.
func (fc *fakeConn) next(d time.Duration) (netcode.ClientMsg, bool) {
	select {
	case m := <-fc.in:
		return m, true
	case <-fc.gone:
		select {
		case m := <-fc.in:
			return m, true
		default:
		}
		return netcode.ClientMsg{}, false
	case <-time.After(d):
		fc.t.Errorf("fake node: no client message in %v", d)
		return netcode.ClientMsg{}, false
	}
}

// greet reads the hello and answers with a welcome saying where.
func (fc *fakeConn) greet(where uint8) bool {
	m, ok := fc.next(5 * time.Second)
	if !ok || m.Type != netcode.MsgHello {
		fc.t.Errorf("fake node: first message %d, want hello", m.Type)
		return false
	}
	fc.send(netcode.AppendWelcome(nil, netcode.Version, "p-1", "ann", where))
	return true
}

// expect reads messages until one of type typ.
func (fc *fakeConn) expect(typ uint8) bool {
	for {
		m, ok := fc.next(5 * time.Second)
		if !ok {
			return false
		}
		if m.Type == typ {
			return true
		}
	}
}

// arenaMatched is the matched message of match id with the player's
// avatar entity, at tickRate, with ackSeq.
func arenaMatched(id string, entity, tickRate, ackSeq uint32) *netcode.Matched {
	spec := game.NewArena(game.ArenaConfig{}).Spec()
	return &netcode.Matched{MatchID: id, Mode: "arena", Entity: entity, TickRate: tickRate,
		WorldW: spec.Width, WorldH: spec.Height, Schema: spec.Schema, EndTick: 1 << 30, AckSeq: ackSeq, Info: spec.Info(int(tickRate))}
}

// inputFrame is an input or inputs frame as the fake node received it.
type inputFrame struct {
	batch bool
	seqs  []uint32
}

// play runs a match for the client on fc: a snapshot of the avatar (which
// stands still at the world's centre) every tick, acknowledging the last
// seq received, until until returns true for the frames received so far
// (or the connection goes). It returns the input frames received.
func (fc *fakeConn) play(m *netcode.Matched, until func([]inputFrame) bool) []inputFrame {
	fc.send(netcode.AppendMatched(nil, m))
	view := netcode.NewView(&m.Schema, netcode.Interest{Radius: 1e6})
	self := netcode.Entity{ID: m.Entity, X: m.WorldW / 2, Y: m.WorldH / 2}
	self.F[0] = 100 // hp
	tick := time.NewTicker(time.Second / time.Duration(m.TickRate))
	defer tick.Stop()
	var frames []inputFrame
	ack := m.AckSeq
	for t := uint32(1); ; t++ {
	drain:
		for {
			select {
			case cm := <-fc.in:
				switch cm.Type {
				case netcode.MsgInput:
					frames = append(frames, inputFrame{seqs: []uint32{cm.Input.Seq}})
					ack = max(ack, cm.Input.Seq)
				case netcode.MsgInputs:
					f := inputFrame{batch: true}
					for _, in := range cm.Batch[:cm.BatchLen] {
						f.seqs = append(f.seqs, in.Seq)
						ack = max(ack, in.Seq)
					}
					frames = append(frames, f)
				}
			default:
				break drain
			}
		}
		if until(frames) {
			return frames
		}
		select {
		case <-fc.gone:
			return frames
		case <-tick.C:
		case <-time.After(10 * time.Second):
			fc.t.Error("fake node: play never ended")
			return frames
		}
		view.Begin(t)
		view.Consider(&self, 0, 0, true)
		view.Finish()
		fc.send(view.AppendSnapshot(nil, &netcode.SnapshotHeader{Tick: t, AckSeq: ack}))
	}
}

func inputsIn(frames []inputFrame) int {
	n := 0
	for _, f := range frames {
		n += len(f.seqs)
	}
	return n
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMovedResumesAndResends: node A, behind a proxy path, seats the client
// and acknowledges its inputs, then moves it (moved, close 4007) to node B,
// which resumes the seat from an older checkpoint (ackSeq 5). The client
// goes to B at once (no backoff, no disconnect), at B's path prefix, and
// before any new input resends every input above 5 (all of them acknowledged
// already) in inputs frames of at most 64, in order; its seqs go on from
// where they were.
func TestMovedResumesAndResends(t *testing.T) {
	a, b := startFakeNode(t, "/n/a"), startFakeNode(t, "/n/b")
	const rate, sent, ckpt = 120, 110, 5 // 110 inputs at 120 Hz: under 1 s
	type result struct {
		frames []inputFrame
		movedAt,
		closedAt time.Time
	}
	aDone, bDone := make(chan result, 1), make(chan result, 1)
	a.setScript(func(fc *fakeConn) {
		var r result
		defer func() { aDone <- r }()
		if !fc.greet(netcode.WhereLobby) || !fc.expect(netcode.MsgQueue) {
			return
		}
		r.frames = fc.play(arenaMatched("m-1", 5, rate, 0), func(f []inputFrame) bool { return inputsIn(f) >= sent })
		r.movedAt = time.Now()
		fc.send(netcode.AppendMoved(nil, b.base))
		_ = fc.ws.WriteClose(uint16(netcode.CloseMoved), []byte("moved"))
	})
	b.setScript(func(fc *fakeConn) {
		var r result
		defer func() { bDone <- r }()
		if !fc.greet(netcode.WhereSeated) {
			return
		}
		r.frames = fc.play(arenaMatched("m-1", 5, rate, ckpt), func(f []inputFrame) bool {
			n := 0
			for _, x := range f {
				if !x.batch {
					n++
				}
			}
			return n >= 10 // ten new inputs after the resend
		})
	})

	var cb callbacks
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	queuedAt := time.Now()
	c, err := client.Dial(ctx, a.base, client.Options{Nodes: []string{a.base, b.base}, OnQueued: cb.queued, OnMigrated: cb.migrated})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Queue("arena")
	ra, rb := <-aDone, <-bDone
	if t.Failed() {
		return
	}

	// On A: single inputs 1..sent, no batch.
	var last uint32
	for _, f := range ra.frames {
		if f.batch || len(f.seqs) != 1 || f.seqs[0] != last+1 {
			t.Fatalf("node A got %+v after seq %d", f, last)
		}
		last = f.seqs[0]
	}
	// On B: first the resend in batches of at most 64, then new inputs
	// from last+1 on.
	var resent []uint32
	i := 0
	for ; i < len(rb.frames) && rb.frames[i].batch; i++ {
		if n := len(rb.frames[i].seqs); n == 0 || n > netcode.MaxBatch {
			t.Errorf("a batch of %d inputs", n)
		}
		resent = append(resent, rb.frames[i].seqs...)
	}
	if len(resent) == 0 || resent[0] != ckpt+1 || resent[len(resent)-1] < last {
		t.Fatalf("resent %v, want %d..%d at least", resent, ckpt+1, last)
	}
	for j := 1; j < len(resent); j++ {
		if resent[j] != resent[j-1]+1 {
			t.Fatalf("resent %v: not every seq in order", resent)
		}
	}
	if i != (len(resent)+netcode.MaxBatch-1)/netcode.MaxBatch {
		t.Errorf("the resend of %d inputs took %d frames", len(resent), i)
	}
	next := resent[len(resent)-1]
	for _, f := range rb.frames[i:] {
		if f.batch || f.seqs[0] != next+1 {
			t.Fatalf("after the resend, %+v after seq %d", f, next)
		}
		next = f.seqs[0]
	}

	waitFor(t, 2*time.Second, "the migrated seat playing", func() bool { return c.View().AckSeq > last })
	st, v := c.Stats(), c.View()
	if st.Moved != 1 || st.Migrated != 1 || st.Disconnects != 0 || st.Reconnects != 0 || st.Resumed != 0 || st.Matches != 1 {
		t.Errorf("stats %+v", st)
	}
	if v.Phase != client.PhasePlaying || v.MatchID != "m-1" || v.Entity != 5 {
		t.Errorf("view %+v", v)
	}
	if c.Node() != b.base {
		t.Errorf("on node %s, want %s", c.Node(), b.base)
	}
	// One queue (a resume is none), one migration after a moved message,
	// timed from it.
	cb.mu.Lock()
	if len(cb.queues) != 1 || cb.queues[0] <= 0 || cb.queues[0] > ra.movedAt.Sub(queuedAt) {
		t.Errorf("queue times %v", cb.queues)
	}
	if len(cb.migs) != 1 || !cb.migs[0].moved || cb.migs[0].d <= 0 || cb.migs[0].d > time.Since(ra.movedAt) {
		t.Errorf("migrations %+v", cb.migs)
	}
	cb.mu.Unlock()
	if got := a.requests(); !slices.Equal(got, []string{"/n/a/v1/sessions", "/n/a/ws"}) {
		t.Errorf("node A served %v", got)
	}
	if got := b.requests(); !slices.Equal(got, []string{"/n/b/ws"}) {
		t.Errorf("node B served %v", got)
	}
}

// TestMovedWithoutCloseToNewMatch: a queued client is moved to node B,
// where the fleet's queue seated it in a new match; node A does not close
// the connection, so the client does after a second. On B it plays the new
// match (a new match, not a resume).
func TestMovedWithoutCloseToNewMatch(t *testing.T) {
	a, b := startFakeNode(t, ""), startFakeNode(t, "/b")
	closed := make(chan time.Duration, 1)
	a.setScript(func(fc *fakeConn) {
		if !fc.greet(netcode.WhereLobby) || !fc.expect(netcode.MsgQueue) {
			return
		}
		fc.send(netcode.AppendQueued(nil, "arena"))
		at := time.Now()
		fc.send(netcode.AppendMoved(nil, b.base))
		select {
		case <-fc.gone:
			closed <- time.Since(at)
		case <-time.After(5 * time.Second):
			closed <- -1
		}
	})
	b.setScript(func(fc *fakeConn) {
		if fc.greet(netcode.WhereSeated) {
			fc.play(arenaMatched("m-new", 9, 30, 0), func(f []inputFrame) bool { return inputsIn(f) >= 5 })
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cb callbacks
	c, err := client.Dial(ctx, a.base, client.Options{OnQueued: cb.queued, OnMigrated: cb.migrated}) // no node list: a moved goes anywhere
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queuedAt := time.Now()
	c.Queue("arena")
	if d := <-closed; d < 900*time.Millisecond || d > 2*time.Second {
		t.Errorf("the client closed the moved connection after %v, want about 1 s", d)
	}
	waitFor(t, 5*time.Second, "inputs acknowledged on B", func() bool { return c.View().AckSeq >= 3 })
	st, v := c.Stats(), c.View()
	if st.Moved != 1 || st.Migrated != 0 || st.Disconnects != 0 || st.Matches != 1 || st.ProtocolErrors != 0 {
		t.Errorf("stats %+v", st)
	}
	if v.Phase != client.PhasePlaying || v.MatchID != "m-new" || v.Entity != 9 {
		t.Errorf("view %+v", v)
	}
	// The queue time runs from the queue on A to the matched on B, over
	// the second A held the moved connection; a new match is no migration.
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if len(cb.queues) != 1 || cb.queues[0] < 900*time.Millisecond || cb.queues[0] > time.Since(queuedAt) {
		t.Errorf("queue times %v", cb.queues)
	}
	if len(cb.migs) != 0 {
		t.Errorf("migrations %+v", cb.migs)
	}
}

// TestDropRoundRobin: nodes A, B, C; the client starts on B. When B drops
// the connection the client reconnects to C (the next one), where its seat
// resumes (migrated); when C drops it, to A. Each resume resends the inputs
// above the resumed ackSeq.
func TestDropRoundRobin(t *testing.T) {
	nodes := []*fakeNode{startFakeNode(t, "/a"), startFakeNode(t, "/b"), startFakeNode(t, "/c")}
	var mu sync.Mutex
	var order []string
	var lastSeq uint32
	var resends [][]uint32
	// seat plays 8 inputs, then crashes (no close frame) if drop, or holds
	// the connection.
	seat := func(name string, where uint8, drop bool) func(fc *fakeConn) {
		return func(fc *fakeConn) {
			mu.Lock()
			order = append(order, name)
			ack := lastSeq - min(lastSeq, 2) // a checkpoint two inputs back
			mu.Unlock()
			if !fc.greet(where) {
				return
			}
			if where == netcode.WhereLobby && !fc.expect(netcode.MsgQueue) {
				return
			}
			frames := fc.play(arenaMatched("m-1", 5, 30, ack), func(f []inputFrame) bool { return inputsIn(f) >= 8 })
			mu.Lock()
			for _, f := range frames {
				if f.batch {
					resends = append(resends, f.seqs)
				}
				lastSeq = max(lastSeq, f.seqs[len(f.seqs)-1])
			}
			mu.Unlock()
			if drop {
				_ = fc.ws.NetConn().Close()
			}
		}
	}
	nodes[0].setScript(seat("A", netcode.WhereSeated, false))
	nodes[1].setScript(seat("B", netcode.WhereLobby, true))
	nodes[2].setScript(seat("C", netcode.WhereSeated, true))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cb callbacks
	c, err := client.Dial(ctx, nodes[1].base, client.Options{Reconnect: true, OnQueued: cb.queued, OnMigrated: cb.migrated,
		Nodes: []string{nodes[0].base, nodes[1].base, nodes[2].base}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Queue("arena")
	waitFor(t, 8*time.Second, "A's part played", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(resends) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, []string{"B", "C", "A"}) {
		t.Errorf("connected to %v, want B, C, A", order)
	}
	// Each resume resent the two inputs above its checkpoint's ackSeq (one
	// batch), and maybe more that were in flight.
	for _, r := range resends {
		if len(r) < 2 || !slices.IsSorted(r) {
			t.Errorf("resent %v", r)
		}
	}
	st := c.Stats()
	if st.Disconnects != 2 || st.Reconnects != 2 || st.Resumed != 2 || st.Migrated != 2 || st.Moved != 0 || st.Matches != 1 {
		t.Errorf("stats %+v", st)
	}
	// Two migrations after drops, each at least the first backoff (250 ms
	// less its jitter) long.
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if len(cb.migs) != 2 || len(cb.queues) != 1 {
		t.Fatalf("migrations %+v, queue times %v", cb.migs, cb.queues)
	}
	for _, m := range cb.migs {
		if m.moved || m.d < 200*time.Millisecond || m.d > 5*time.Second {
			t.Errorf("migration %+v", m)
		}
	}
}

// callbacks records what a client's OnQueued and OnMigrated report.
type callbacks struct {
	mu     sync.Mutex
	queues []time.Duration
	migs   []struct {
		d     time.Duration
		moved bool
	}
}

func (cb *callbacks) queued(d time.Duration) {
	cb.mu.Lock()
	cb.queues = append(cb.queues, d)
	cb.mu.Unlock()
}

func (cb *callbacks) migrated(d time.Duration, moved bool) {
	cb.mu.Lock()
	cb.migs = append(cb.migs, struct {
		d     time.Duration
		moved bool
	}{d, moved})
	cb.mu.Unlock()
}

// TestMovedTargetDown: the node a moved message names is unreachable. With
// Reconnect the client counts a disconnect and goes on round robin to a live
// node; without it, the client closes.
func TestMovedTargetDown(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	for _, reconnect := range []bool{true, false} {
		a, b := startFakeNode(t, ""), startFakeNode(t, "")
		a.setScript(func(fc *fakeConn) {
			if fc.greet(netcode.WhereLobby) {
				fc.send(netcode.AppendMoved(nil, deadURL))
				_ = fc.ws.WriteClose(uint16(netcode.CloseMoved), []byte("moved"))
			}
		})
		b.setScript(func(fc *fakeConn) { fc.greet(netcode.WhereLobby) })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := client.Dial(ctx, a.base, client.Options{Reconnect: reconnect, Nodes: []string{a.base, b.base}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !reconnect {
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Error("without Reconnect: the client did not give up")
			}
			continue
		}
		waitFor(t, 5*time.Second, "a connection to B", func() bool { return b.connCount() == 1 && c.Stats().Reconnects == 1 })
		if st := c.Stats(); st.Moved != 1 || st.Disconnects != 1 || c.Phase() != client.PhaseLobby {
			t.Errorf("stats %+v, phase %v", st, c.Phase())
		}
		c.Close()
	}
}

// TestMovedBeforeWelcome: a node that routes the player elsewhere without a
// welcome (moved at once): Dial follows it.
func TestMovedBeforeWelcome(t *testing.T) {
	a, b := startFakeNode(t, "/a"), startFakeNode(t, "/b")
	a.setScript(func(fc *fakeConn) {
		if _, ok := fc.next(5 * time.Second); ok {
			fc.send(netcode.AppendMoved(nil, b.base))
			_ = fc.ws.WriteClose(uint16(netcode.CloseMoved), []byte("moved"))
		}
	})
	b.setScript(func(fc *fakeConn) { fc.greet(netcode.WhereLobby) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, a.base, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if st := c.Stats(); st.Moved != 1 || c.Node() != b.base || c.Phase() != client.PhaseLobby {
		t.Errorf("stats %+v on %s", st, c.Node())
	}
}

// TestPathPrefix: a real server behind a proxy that routes /n/n1/ to it
// (and strips the prefix): the client creates its session and opens its
// WebSocket under the prefix, plays, and reconnects there after a drop.
func TestPathPrefix(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	_, base := servertest.StartBehind(t, server.Options{FillTimeout: 100 * time.Millisecond}, func(h http.Handler) http.Handler {
		h = http.StripPrefix("/n/n1", h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, base+"/n/n1/", client.Options{Reconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Queue("arena")
	waitFor(t, 5*time.Second, "acks", func() bool { return c.View().AckSeq > 10 })
	c.Drop()
	waitFor(t, 5*time.Second, "the seat resumed", func() bool { return c.Stats().Resumed == 1 })
	if st := c.Stats(); st.Migrated != 0 || st.Moved != 0 || st.Disconnects != 1 {
		t.Errorf("stats %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(paths, []string{"/n/n1/v1/sessions", "/n/n1/ws", "/n/n1/ws"}) {
		t.Errorf("requests %v", paths)
	}
}
