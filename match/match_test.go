package match

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// countObserver counts what matches report.
type countObserver struct {
	NopObserver
	mu                         sync.Mutex
	ticks, overruns            int
	applied, rejected, dropped int
	ended                      map[uint8]int
}

func (o *countObserver) TickDone(time.Duration) { o.mu.Lock(); o.ticks++; o.mu.Unlock() }
func (o *countObserver) Overrun(n int)          { o.mu.Lock(); o.overruns += n; o.mu.Unlock() }
func (o *countObserver) InputsApplied(a, r int) {
	o.mu.Lock()
	o.applied += a
	o.rejected += r
	o.mu.Unlock()
}
func (o *countObserver) InputDropped() { o.mu.Lock(); o.dropped++; o.mu.Unlock() }
func (o *countObserver) MatchEnded(_ string, outcome uint8) {
	o.mu.Lock()
	if o.ended == nil {
		o.ended = map[uint8]int{}
	}
	o.ended[outcome]++
	o.mu.Unlock()
}

// testMatch builds a match of mode that the test drives tick by tick.
func testMatch(t *testing.T, mode game.Mode, players ...*Player) (*Match, chan lobbyEvent) {
	t.Helper()
	ev := make(chan lobbyEvent, 64)
	cfg := *(&Config{TickRate: 30, Logger: quiet}).EnsureDefaults()
	m := newMatch("m-test", 1, mode, cfg, 7, ev)
	m.rules = mode.NewRules(m.world)
	for _, p := range players {
		m.join(p)
	}
	return m, ev
}

func newTestPlayer(id string) *Player { return NewPlayer(id, id, NewOutbox()) }

// attached connects player id to l on a new connection, as a server does
// after hello, and drains the welcome.
func attached(t *testing.T, l *Lobby, id string) *Player {
	t.Helper()
	p, _, _ := l.Attach(id, id, "key-"+id, netcode.Version, NewOutbox())
	if p == nil {
		t.Fatal("lobby closed")
	}
	drain(p)
	return p
}

// frames decodes the frames waiting in p's outbox.
func frames(t *testing.T, p *Player, schema *netcode.Schema) []netcode.ServerMsg {
	t.Helper()
	var out []netcode.ServerMsg
	r := netcode.NewReader()
	for {
		select {
		case f := <-p.Out().Frames():
			var m netcode.ServerMsg
			if err := r.DecodeServer(f.B, &m, schema); err != nil {
				t.Fatalf("bad frame: %v", err)
			}
			m.Snapshot.Rejects = append([]netcode.Reject(nil), m.Snapshot.Rejects...)
			p.Out().Release(f)
			out = append(out, m)
		default:
			return out
		}
	}
}

func quietArena() game.Mode { return game.NewArena(game.ArenaConfig{NPCs: -1}) }

func TestInputsAppliedOncePerTickInOrder(t *testing.T) {
	p := newTestPlayer("p1")
	mode := quietArena()
	m, _ := testMatch(t, mode, p)
	schema := &mode.Spec().Schema
	ms := frames(t, p, schema)
	if len(ms) != 1 || ms[0].Type != netcode.MsgMatched {
		t.Fatalf("want matched first, got %+v", ms)
	}
	self := m.world.Get(ms[0].Matched.Entity)
	x0 := self.X
	// Three inputs arrive at once, one twice, plus an old duplicate.
	for _, seq := range []uint32{1, 2, 2, 3, 1} {
		if p.SendInput(&netcode.Input{Seq: seq, MoveX: 1}, p.Out()) != InputQueued {
			t.Fatal("inbox refused")
		}
	}
	var acks []uint32
	for range 5 {
		m.tick()
		for _, f := range frames(t, p, schema) {
			acks = append(acks, f.Snapshot.AckSeq)
		}
	}
	if want := []uint32{1, 2, 3, 3, 3}; !equal(acks, want) {
		t.Errorf("acks %v, want %v", acks, want)
	}
	// Three inputs applied at 200 u/s for 1/30 s each.
	if got, want := m.world.Get(self.ID).X-x0, float32(3*200.0/30); abs(got-want) > 1e-3 {
		t.Errorf("moved %v, want %v", got, want)
	}
}

func TestInvalidInputsRejectedWithReason(t *testing.T) {
	p := newTestPlayer("p1")
	mode := quietArena()
	m, _ := testMatch(t, mode, p)
	schema := &mode.Spec().Schema
	frames(t, p, schema)
	p.SendInput(&netcode.Input{Seq: 1, MoveX: 1, MoveY: 1}, p.Out())           // too long
	p.SendInput(&netcode.Input{Seq: 2, Buttons: 1 << game.ArenaFire}, p.Out()) // fires
	p.SendInput(&netcode.Input{Seq: 3, Buttons: 1 << game.ArenaFire}, p.Out()) // too soon
	var rejects []netcode.Reject
	var ack uint32
	for range 3 {
		m.tick()
		for _, f := range frames(t, p, schema) {
			rejects = append(rejects, f.Snapshot.Rejects...)
			ack = f.Snapshot.AckSeq
		}
	}
	want := []netcode.Reject{{Seq: 1, Code: netcode.RejectBadDirection}, {Seq: 3, Code: netcode.RejectCooldown}}
	if len(rejects) != 2 || rejects[0] != want[0] || rejects[1] != want[1] {
		t.Errorf("rejects %+v, want %+v", rejects, want)
	}
	if ack != 3 {
		t.Errorf("ack %d, want 3", ack)
	}
}

func TestQueueOverflowRejectsAsDropped(t *testing.T) {
	p := newTestPlayer("p1")
	mode := quietArena()
	m, _ := testMatch(t, mode, p)
	frames(t, p, &mode.Spec().Schema)
	for seq := uint32(1); seq <= netcode.InputQueue+2; seq++ {
		p.SendInput(&netcode.Input{Seq: seq}, p.Out())
	}
	m.tick()
	fs := frames(t, p, &mode.Spec().Schema)
	rj := fs[len(fs)-1].Snapshot.Rejects
	if len(rj) != 2 || rj[0].Code != netcode.RejectDropped || rj[0].Seq != netcode.InputQueue+1 {
		t.Errorf("rejects %+v, want seqs %d,%d dropped", rj, netcode.InputQueue+1, netcode.InputQueue+2)
	}
}

// A congested player's views are skipped; the tick goes on and the others
// still get theirs.
func TestCongestedPlayerSkipped(t *testing.T) {
	slow, fast := newTestPlayer("slow"), newTestPlayer("fast")
	mode := quietArena()
	m, _ := testMatch(t, mode, slow, fast)
	obs := &countObserver{}
	m.obs = obs
	got := 0
	for range 10 {
		m.tick()
		got += len(frames(t, fast, &mode.Spec().Schema))
	}
	if got < 10 {
		t.Errorf("fast player got %d frames in 10 ticks", got)
	}
	if n := len(slow.Out().Frames()); n > SnapshotSlots+1 {
		t.Errorf("slow player has %d frames queued, want ≤ %d", n, SnapshotSlots+1)
	}
}

type panicMode struct{ game.Mode }

func (p panicMode) NewRules(w *game.World) game.Rules { return panicRules{p.Mode.NewRules(w)} }

type panicRules struct{ game.Rules }

func (panicRules) Step(*game.World) { panic("boom") }

// A panic in the rules ends that match with an error result, and the lobby
// and other matches go on.
func TestRulesPanicEndsOnlyThatMatch(t *testing.T) {
	obs := &countObserver{}
	clock := NewManualClock(time.Unix(0, 0))
	l, err := NewLobby(LobbyConfig{
		Modes: map[string]game.Mode{
			"arena": quietArena(),
			"tag":   panicMode{game.NewTag(game.TagConfig{})},
		},
		FillTimeout: time.Second,
		Match:       Config{Clock: clock, Observer: obs, Logger: quiet},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	bad, good := attached(t, l, "bad"), attached(t, l, "good")
	l.Queue(bad, bad.Out(), "tag")
	l.Queue(good, good.Out(), "arena")
	l.sync()
	drain(bad)
	drain(good)
	clock.Advance(time.Second) // fill timeout: both matches start
	waitFor(t, func() bool { return good.Match() != nil })
	// The tag match panics in its first tick, which runs at start.
	waitFor(t, func() bool { obs.mu.Lock(); defer obs.mu.Unlock(); return obs.ended[netcode.OutcomeError] == 1 })
	var result *netcode.ServerMsg
	r := netcode.NewReader()
	for _, f := range drain(bad) {
		var m netcode.ServerMsg
		if r.DecodeServer(f, &m, &game.NewTag(game.TagConfig{}).Spec().Schema) == nil && m.Type == netcode.MsgResult {
			result = &m
		}
	}
	if result == nil || result.Outcome != netcode.OutcomeError {
		t.Fatalf("bad match: want an error result, got %+v", result)
	}
	if bad.Match() != nil {
		t.Error("player still seated in the crashed match")
	}
	drain(good)
	clock.Advance(time.Second / 30)
	waitFor(t, func() bool { return len(good.Out().Frames()) > 0 })
	if good.Match() == nil {
		t.Error("the other match ended too")
	}
}

// The lobby fills a match to its seats, starts it at once, backfills free
// seats and starts a partial match after the fill timeout.
func TestLobbyFillsBackfillsAndTimesOut(t *testing.T) {
	clock := NewManualClock(time.Unix(0, 0))
	mode := game.NewArena(game.ArenaConfig{Players: 2, NPCs: -1})
	l, err := NewLobby(LobbyConfig{Modes: map[string]game.Mode{"arena": mode}, FillTimeout: 3 * time.Second, Match: Config{Clock: clock, Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	a, b, c := attached(t, l, "a"), attached(t, l, "b"), attached(t, l, "c")
	l.Queue(a, a.Out(), "arena")
	l.Queue(b, b.Out(), "arena") // full: starts without waiting
	waitFor(t, func() bool { return a.Match() != nil && b.Match() != nil })
	if a.Match() != b.Match() {
		t.Fatal("a and b in different matches")
	}
	l.Queue(c, c.Out(), "arena")
	l.sync()
	clock.Advance(2 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if c.Match() != nil {
		t.Fatal("c seated before the fill timeout")
	}
	clock.Advance(time.Second)
	waitFor(t, func() bool { return c.Match() != nil })
	// b leaves; a new player backfills b's seat in a's match.
	l.Leave(b, b.Out())
	waitFor(t, func() bool { return b.Match() == nil })
	d := attached(t, l, "d")
	l.Queue(d, d.Out(), "arena")
	waitFor(t, func() bool { return d.Match() != nil })
	if d.Match() != a.Match() && d.Match() != c.Match() {
		t.Error("d not backfilled into a running match")
	}
	// Unknown mode and double queue are refused with error messages.
	e := attached(t, l, "e")
	l.Queue(e, e.Out(), "nope")
	l.Queue(a, a.Out(), "arena")
	waitFor(t, func() bool { return len(e.Out().Frames()) > 0 })
	var m netcode.ServerMsg
	if err := netcode.NewReader().DecodeServer(drain(e)[0], &m, nil); err != nil || m.ErrCode != netcode.ErrUnknownMode {
		t.Errorf("unknown mode: %v %+v", err, m)
	}
}

// The tick loop runs tick n at start + n·dt on the injected clock and counts
// overruns when late.
func TestTickLoopOnInjectedClock(t *testing.T) {
	clock := NewManualClock(time.Unix(0, 0))
	obs := &countObserver{}
	cfg := *(&Config{TickRate: 10, Clock: clock, Observer: obs, Logger: quiet}).EnsureDefaults()
	ev := make(chan lobbyEvent, 64)
	m := newMatch("m", 1, quietArena(), cfg, 1, ev)
	go m.run([]*Player{newTestPlayer("p")}) // a match with no one ends
	ticks := func() int { obs.mu.Lock(); defer obs.mu.Unlock(); return obs.ticks }
	waitFor(t, func() bool { return ticks() == 1 }) // tick 0 at start
	for i := 2; i <= 5; i++ {
		waitFor(t, func() bool { return clock.Armed() == 1 }) // the loop waits for tick i-1
		clock.Advance(100 * time.Millisecond)
		waitFor(t, func() bool { return ticks() == i })
	}
	time.Sleep(10 * time.Millisecond)
	if ticks() != 5 {
		t.Fatalf("ticks ran ahead of the clock: %d", ticks())
	}
	// 10 ticks late: 4 run back to back (MaxCatchUp), the rest are skipped.
	waitFor(t, func() bool { return clock.Armed() == 1 })
	clock.Advance(time.Second)
	waitFor(t, func() bool { return ticks() == 9 })
	obs.mu.Lock()
	over := obs.overruns
	obs.mu.Unlock()
	if over < 7 {
		t.Errorf("overruns %d, want ≥ 7", over)
	}
	m.Stop()
	<-m.Done()
}

func TestTickAllocatesNothing(t *testing.T) {
	players := make([]*Player, 8)
	for i := range players {
		players[i] = newTestPlayer(fmt.Sprint("p", i))
	}
	mode := game.NewArena(game.ArenaConfig{})
	m, _ := testMatch(t, mode, players...)
	seq := uint32(0)
	step := func() {
		seq++
		for i, p := range players {
			// Now and then a shot or a hitscan, seen 100 ms late: rewound.
			in := netcode.Input{Seq: seq, MoveX: 0.6, MoveY: 0.8, AimX: 1, ViewTick: uint32(max(m.world.Tick, 4) - 3), ViewFrac: 0.5}
			switch (int(seq) + i) % 30 {
			case 0:
				in.Buttons = 1 << game.ArenaFire
			case 15:
				in.Buttons = 1 << game.ArenaHitscan
			}
			p.SendInput(&in, p.Out())
			for len(p.Out().Frames()) > 0 {
				p.Out().Release(<-p.Out().Frames())
			}
		}
		m.tick()
	}
	for range 100 {
		step()
	}
	if a := testing.AllocsPerRun(200, step); a != 0 {
		t.Errorf("a tick allocates %v times", a)
	}
}

func BenchmarkTick(b *testing.B) {
	for _, size := range []struct {
		name         string
		players, npc int
	}{{"arena8", 8, 64}, {"players100_entities1000", 100, 900}} {
		b.Run(size.name, func(b *testing.B) {
			players := make([]*Player, size.players)
			for i := range players {
				players[i] = newTestPlayer(fmt.Sprint("p", i))
				// As on a server: each snapshot goes to the socket at once.
				players[i].Out().SetSocket(&sinkSocket{})
			}
			mode := game.NewArena(game.ArenaConfig{Players: size.players, NPCs: size.npc}) // classic density
			ev := make(chan lobbyEvent, 64)
			cfg := *(&Config{TickRate: 30, Logger: quiet}).EnsureDefaults()
			m := newMatch("m", 1, mode, cfg, 7, ev)
			m.rules = mode.NewRules(m.world)
			for _, p := range players {
				m.join(p)
			}
			seq := uint32(0)
			tick := func() {
				seq++
				for i, p := range players {
					// Players move, and fire now and then.
					in := netcode.Input{Seq: seq, MoveX: 0.6, MoveY: 0.8, AimX: 1}
					if (int(seq)+i)%30 == 0 {
						in.Buttons = 1 << game.ArenaFire
					}
					p.SendInput(&in, p.Out())
					for len(p.Out().Frames()) > 0 { // matched
						p.Out().Release(<-p.Out().Frames())
					}
				}
				m.tick()
			}
			for range 100 { // warm up: views and buffers reach their size
				tick()
			}
			b.ReportAllocs()
			for b.Loop() {
				tick()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(size.players), "ns/player-tick")
		})
	}
}

func drain(p *Player) [][]byte {
	var out [][]byte
	for {
		select {
		case f := <-p.Out().Frames():
			out = append(out, append([]byte(nil), f.B...))
			p.Out().Release(f)
		default:
			return out
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func abs(f float32) float32 { return max(f, -f) }

// A player who drops keeps their seat for the grace: the avatar idles, the
// others see them away; back in time, they get matched again with their
// last applied seq and a full view. Past the grace the seat is freed.
func TestAwayResumeAndGrace(t *testing.T) {
	a, b := newTestPlayer("a"), newTestPlayer("b")
	mode := quietArena()
	schema := &mode.Spec().Schema
	m, ev := testMatch(t, mode, a, b)
	m.graceAt = 10
	frames(t, a, schema)
	frames(t, b, schema)
	a.SendInput(&netcode.Input{Seq: 1, MoveX: 1}, a.Out())
	m.tick()
	frames(t, a, schema)
	m.control(ctlMsg{kind: ctlAway, p: a})
	m.tick()
	var away bool
	for _, f := range frames(t, b, schema) {
		for _, sc := range f.Snapshot.Scores {
			away = away || (sc.Entity == m.seats[0].gp.Entity && sc.Away)
		}
	}
	if !away {
		t.Error("the others do not see the player away")
	}
	if len(frames(t, a, schema)) != 0 {
		t.Error("an away player was sent a snapshot")
	}
	// Back on a new connection within the grace.
	a.out.Store(NewOutbox())
	m.control(ctlMsg{kind: ctlResume, p: a})
	m.tick()
	fs := frames(t, a, schema)
	if len(fs) != 2 || fs[0].Type != netcode.MsgMatched || fs[0].Matched.AckSeq != 1 || !fs[1].Snapshot.Reset {
		t.Fatalf("resume frames: %+v", fs)
	}
	// Away again, past the grace: the seat is freed and the lobby told.
	m.control(ctlMsg{kind: ctlAway, p: a})
	for range 10 {
		m.tick()
	}
	if a.Match() != nil || m.seatOf(a) != nil {
		t.Fatal("seat not freed after the grace")
	}
	select {
	case e := <-ev:
		if e.kind != evSeatFreed || e.p != a {
			t.Errorf("lobby event %+v", e)
		}
	default:
		t.Error("lobby not told")
	}
}

// Seqs that never arrived are reported as missing.
func TestMissingInputsReported(t *testing.T) {
	p := newTestPlayer("p")
	mode := quietArena()
	m, _ := testMatch(t, mode, p)
	frames(t, p, &mode.Spec().Schema)
	p.SendInput(&netcode.Input{Seq: 1}, p.Out())
	p.SendInput(&netcode.Input{Seq: 4}, p.Out())
	m.tick()
	fs := frames(t, p, &mode.Spec().Schema)
	rj := fs[len(fs)-1].Snapshot.Rejects
	if len(rj) != 2 || rj[0] != (netcode.Reject{Seq: 2, Code: netcode.RejectMissing}) || rj[1].Seq != 3 {
		t.Errorf("rejects %+v", rj)
	}
}
