package server

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"skirmish/client"
	"skirmish/game"
	"skirmish/netcode"
)

// Tests of the hardening issue's §2–§4: a closed connection acts no more,
// one owner for each seat, truthful metrics, and the server doing what
// docs/PROTOCOL.md says.

// maskedFrame builds one masked client frame (as a client must send it).
func maskedFrame(opcode byte, payload []byte) []byte {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	default:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// snapshots counts the snapshots r received.
func (r *rawClient) snapshots() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, f := range r.frames {
		if len(f) > 1 && f[1] == netcode.MsgSnapshot {
			n++
		}
	}
	return n
}

func (r *rawClient) isClosed() bool {
	select {
	case <-r.closed:
		return true
	default:
		return false
	}
}

// A frame that breaks the protocol, followed in the same TCP write by a
// valid hello, closes that connection; the hello is never acted on, so it
// does not knock the player's live connection off.
func TestCloseThenHelloActsNoMore(t *testing.T) {
	_, base := startServer(t, Options{FillTimeout: 50 * time.Millisecond})
	tok := createSession(t, base)
	live := seatedRaw(t, base, tok)
	attacker, _, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	pair := append(maskedFrame(0x2, []byte{0xc1}), maskedFrame(0x2, netcode.AppendHello(nil, netcode.Version, netcode.Version))...)
	if _, err := attacker.conn.NetConn().Write(pair); err != nil {
		t.Fatal(err)
	}
	if code, _ := attacker.waitClose(t, 2*time.Second); code != 4000 {
		t.Errorf("attacker closed with %d, want 4000", code)
	}
	n := live.snapshots()
	time.Sleep(500 * time.Millisecond)
	if live.isClosed() || live.snapshots() <= n {
		t.Errorf("the live connection was disturbed: closed %v with %d", live.isClosed(), live.code)
	}
}

// A replaced connection's late frames (leave, queue, inputs) never touch
// the seat of the connection that replaced it.
func TestReplacedConnectionLateFrames(t *testing.T) {
	_, base := startServer(t, Options{FillTimeout: 50 * time.Millisecond})
	tok := createSession(t, base)
	old := seatedRaw(t, base, tok)
	repl, _, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	repl.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	waitUntil(t, 3*time.Second, func() bool { return repl.has(netcode.MsgWelcome, 0) })
	// The late frames leave in one write, once the replacement is done.
	var late []byte
	late = append(late, maskedFrame(0x2, netcode.AppendLeave(nil))...)
	late = append(late, maskedFrame(0x2, netcode.AppendQueue(nil, "arena"))...)
	late = append(late, maskedFrame(0x2, netcode.AppendInput(nil, &netcode.Input{Seq: 1000, MoveX: 1}))...)
	_, _ = old.conn.NetConn().Write(late)
	waitUntil(t, 3*time.Second, func() bool { return repl.has(netcode.MsgMatched, 0) })
	if code, _ := old.waitClose(t, 2*time.Second); code != 4003 {
		t.Errorf("old connection closed with %d, want 4003", code)
	}
	n := repl.snapshots()
	time.Sleep(400 * time.Millisecond)
	if repl.snapshots() <= n || repl.isClosed() {
		t.Fatal("the replacing connection lost its seat")
	}
	if repl.has(netcode.MsgError, netcode.ErrAlreadyQueued) || repl.has(netcode.MsgError, netcode.ErrNotQueued) {
		t.Error("a late frame of the old connection was acted on")
	}
	// The seat did not see seq 1000: the replacing client's seq 1 applies.
	repl.send(t, netcode.AppendInput(nil, &netcode.Input{Seq: 1, MoveX: 1}))
	waitUntil(t, 2*time.Second, func() bool {
		repl.mu.Lock()
		defer repl.mu.Unlock()
		r := netcode.NewReader()
		for _, f := range repl.frames {
			var m netcode.ServerMsg
			if r.DecodeServer(f, &m, &game.NewArena(game.ArenaConfig{}).Spec().Schema) == nil && m.Type == netcode.MsgSnapshot && m.Snapshot.AckSeq == 1 {
				return true
			}
		}
		return false
	})
}

// Every close reason is counted once, under its reason; only malformed
// frames count as protocol errors.
func TestCloseReasonsCounted(t *testing.T) {
	srv, base := startServer(t, Options{TickRate: 10, PingInterval: 200 * time.Millisecond, IdleTimeout: time.Second, HelloTimeout: 500 * time.Millisecond})
	dial := func() *rawClient {
		rc, _, err := dialRaw(t, base, createSession(t, base), nil)
		if err != nil {
			t.Fatal(err)
		}
		return rc
	}
	helloed := func() *rawClient {
		rc := dial()
		rc.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
		waitUntil(t, 2*time.Second, func() bool { return rc.has(netcode.MsgWelcome, 0) })
		return rc
	}
	want := map[string]float64{}
	expect := func(rc *rawClient, code uint16, reason string, within time.Duration) {
		t.Helper()
		if got, _ := rc.waitClose(t, within); got != code {
			t.Errorf("%s: closed with %d, want %d", reason, got, code)
		}
		want[reason]++
	}
	p := helloed()
	p.send(t, []byte{0xc1})
	expect(p, 4000, "protocol", 2*time.Second)
	big := helloed()
	_ = big.conn.WriteMessage(gws.OpcodeBinary, make([]byte, netcode.MaxClientFrame+1))
	expect(big, 1009, "too_large", 2*time.Second)
	v := dial()
	v.send(t, netcode.AppendHello(nil, netcode.Version+1, netcode.Version+4))
	expect(v, 4001, "version", 2*time.Second)
	expect(dial(), 4006, "hello_timeout", 2*time.Second)
	expect(helloed(), 4002, "idle", 3*time.Second) // never answers a ping
	tok := createSession(t, base)
	r1, _, _ := dialRaw(t, base, tok, nil)
	r1.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	waitUntil(t, 2*time.Second, func() bool { return r1.has(netcode.MsgWelcome, 0) })
	r2, _, _ := dialRaw(t, base, tok, nil)
	r2.mu.Lock()
	r2.answerPings = true // it stays until the shutdown
	r2.mu.Unlock()
	r2.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	expect(r1, 4003, "replaced", 2*time.Second)
	f := helloed()
	go func() {
		for !f.isClosed() {
			_ = f.conn.WritePing(nil)
			time.Sleep(100 * time.Microsecond)
		}
	}()
	expect(f, 1008, "flood", 5*time.Second)
	// The rest (r2) goes at shutdown.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	expect(r2, 1001, "shutdown", time.Second)
	for reason, n := range want {
		if got := closesByReason(t, srv, reason); got != n {
			t.Errorf("closes{%s} = %v, want %v", reason, got, n)
		}
	}
	if got := counterValue(t, srv, "skirmish_closes_total"); got != float64(len(want)) {
		t.Errorf("closes_total = %v, want %d", got, len(want))
	}
	if got := counterValue(t, srv, "skirmish_protocol_errors_total"); got != 2 {
		t.Errorf("protocol errors = %v, want 2 (malformed, too large)", got)
	}
}

// leave while neither queued nor seated is answered with error 3.
func TestLeaveWhenNotQueued(t *testing.T) {
	_, base := startServer(t, Options{})
	rc, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	rc.send(t, netcode.AppendLeave(nil))
	waitUntil(t, 2*time.Second, func() bool { return rc.has(netcode.MsgError, netcode.ErrNotQueued) })
}

// A pong echoes clientTime as it was sent: an integer stays an integer.
func TestPongEchoesClientTime(t *testing.T) {
	_, base := startServer(t, Options{})
	rc, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	ping := []byte{0x92, netcode.MsgPing, 0xcf, 0, 0, 1, 0x8b, 0xcd, 0x2a, 0x6f, 0x11} // uint64 ms
	rc.send(t, ping)
	waitUntil(t, 2*time.Second, func() bool { return rc.has(netcode.MsgPong, 0) })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, f := range rc.frames {
		if len(f) > 1 && f[1] == netcode.MsgPong {
			if got := f[2 : 2+9]; string(got) != string(ping[2:]) {
				t.Errorf("pong clientTime % x, want % x", got, ping[2:])
			}
		}
	}
}

// The idle close comes IdleTimeout after the last frame, not up to a check
// interval later.
func TestIdleCloseOnTime(t *testing.T) {
	_, base := startServer(t, Options{PingInterval: time.Second, IdleTimeout: 1200 * time.Millisecond})
	rc, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	last := time.Now()
	rc.waitClose(t, 3*time.Second)
	if el := time.Since(last); el < 1150*time.Millisecond || el > 1300*time.Millisecond {
		t.Errorf("idle close after %v, want 1.2 s", el)
	}
}

// seq 2³²−1 is the last input of a session: an input after it closes the
// connection with 4000.
func TestSeqTopOfRange(t *testing.T) {
	_, base := startServer(t, Options{FillTimeout: 50 * time.Millisecond})
	rc := seatedRaw(t, base, createSession(t, base))
	rc.send(t, netcode.AppendInput(nil, &netcode.Input{Seq: math.MaxUint32}))
	rc.send(t, netcode.AppendInput(nil, &netcode.Input{Seq: 7}))
	if code, _ := rc.waitClose(t, 2*time.Second); code != 4000 {
		t.Errorf("closed with %d, want 4000", code)
	}
}

// Shutdown ends within its timeout while Redis is unreachable; the writes
// it could not make are counted, not waited for.
func TestShutdownWithStoreDown(t *testing.T) {
	rs := newStoppableRedis(t)
	srv, base := startServer(t, Options{Redis: rs.Addr, FillTimeout: 50 * time.Millisecond})
	a := playing(t, base, client.Options{})
	b := playing(t, base, client.Options{})
	waitUntil(t, 5*time.Second, func() bool { return a.View().AckSeq > 5 && b.View().AckSeq > 5 })
	rs.stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_ = srv.Shutdown(ctx)
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("shutdown took %v with a 1 s timeout", el)
	}
	if got := labeledCounter(t, srv, "skirmish_store_writes_dropped_total", "op", "save"); got < 2 {
		t.Errorf("seat records given up: %v, want ≥ 2 (counted)", got)
	}
}

// fakeStore wraps a MemoryStore: it can hold writes, and fail a result
// after applying it (a timeout whose command did reach Redis).
type fakeStore struct {
	*MemoryStore
	mu         sync.Mutex
	hold       chan struct{} // closed: writes go through
	failResult int           // fail this many results after applying them
}

func (f *fakeStore) RecordResult(ctx context.Context, matchID, mode string, st []netcode.Standing) (bool, error) {
	select {
	case <-f.hold:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	applied, err := f.MemoryStore.RecordResult(ctx, matchID, mode, st)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failResult > 0 {
		f.failResult--
		return applied, errors.New("i/o timeout")
	}
	return applied, err
}

func testWriter(t *testing.T, st SessionStore) (*storeWriter, *Server, func() []string) {
	log, lines := newLogSink()
	s := &Server{log: log, metrics: newMetrics(), store: st}
	s.storeLogs = logLimiter{every: time.Second}
	w := newStoreWriter(s)
	s.writer = w
	t.Cleanup(func() { w.close(context.Background()) })
	return w, s, lines
}

var twoPlayers = []netcode.Standing{{PlayerID: "a", Name: "a", Place: 1, Score: 3}, {PlayerID: "b", Name: "b", Place: 2}}

// A result retried after a failure whose write did land counts once.
func TestResultRetriedCountsOnce(t *testing.T) {
	fs := &fakeStore{MemoryStore: NewMemoryStore(0), hold: make(chan struct{}), failResult: 1}
	close(fs.hold)
	w, s, _ := testWriter(t, fs)
	w.result("m-1", "arena", twoPlayers)
	waitUntil(t, 3*time.Second, func() bool {
		return labeledCounter(t, s, "skirmish_results_total", "outcome", "duplicate") == 1
	})
	top, _ := fs.Leaderboard(context.Background(), "arena", 10)
	if len(top) != 2 || top[0].Wins != 1 || top[1].Losses != 1 {
		t.Errorf("leaderboard after a retry: %+v", top)
	}
}

// When the queue of results is full, a result is dropped, counted, and
// logged with its match id; nothing is dropped silently.
func TestResultQueueFullCounted(t *testing.T) {
	fs := &fakeStore{MemoryStore: NewMemoryStore(0), hold: make(chan struct{})}
	w, s, lines := testWriter(t, fs)
	for i := range maxPendingResults + 4 { // one in progress, 1024 waiting, 3 too many
		w.result("m-"+strconv.Itoa(i), "arena", twoPlayers)
	}
	if got := labeledCounter(t, s, "skirmish_store_writes_dropped_total", "op", "result"); got < 3 {
		t.Errorf("dropped results counted: %v", got)
	}
	found := false
	for _, l := range lines() {
		found = found || (strings.Contains(l, "store write dropped") && strings.Contains(l, "match=m-"))
	}
	if !found {
		t.Errorf("no log line names the dropped match: %q", lines())
	}
	close(fs.hold)
	waitUntil(t, 5*time.Second, func() bool { return w.pending() == 0 })
}

// A match must be finished by RankedMinPlayers distinct players to count:
// a solo match after the fill timeout farms no win.
func TestRankedMinPlayers(t *testing.T) {
	srv, base := startServer(t, Options{FillTimeout: 50 * time.Millisecond, ModeOpts: []string{"arena.duration=300ms"}})
	solo := playing(t, base, client.Options{})
	waitUntil(t, 5*time.Second, func() bool { return solo.Stats().Matches == 1 && solo.Phase() == client.PhaseLobby })
	waitUntil(t, 2*time.Second, func() bool {
		return labeledCounter(t, srv, "skirmish_results_total", "outcome", "unranked") == 1
	})
	resp, err := http.Get(base + "/v1/leaderboard?mode=arena")
	if err != nil {
		t.Fatal(err)
	}
	var board struct{ Players []LeaderboardEntry }
	_ = json.NewDecoder(resp.Body).Decode(&board)
	resp.Body.Close()
	if len(board.Players) != 0 {
		t.Errorf("a solo match reached the leaderboard: %+v", board.Players)
	}
}
