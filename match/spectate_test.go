package match

import (
	"context"
	"fmt"
	"testing"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// spectateLobby starts a lobby on a manual clock whose arena match (2
// seats, 20 NPCs, interest radius 60 on a 2000×2000 world) is running
// with players a and b seated.
func spectateLobby(t *testing.T, cfg Config) (*Lobby, *ManualClock, *Match, *Player, *Player, game.Mode) {
	t.Helper()
	clock := NewManualClock(time.Unix(0, 0))
	cfg.Clock, cfg.Logger, cfg.TickRate, cfg.InterestRadius = clock, quiet, 30, 60
	mode := game.NewArena(game.ArenaConfig{Players: 2, NPCs: 20, Width: 2000, Height: 2000})
	l, err := NewLobby(LobbyConfig{Modes: map[string]game.Mode{"arena": mode}, FillTimeout: time.Second, Match: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	a, b := attached(t, l, "a"), attached(t, l, "b")
	l.Queue(a, a.Out(), "arena")
	l.Queue(b, b.Out(), "arena")
	waitFor(t, func() bool { return a.Match() != nil && b.Match() != nil })
	return l, clock, a.Match(), a, b, mode
}

// nextTick lets match m run its next tick on clock and waits for it,
// draining the players' frames (so they are never congested).
func nextTick(t *testing.T, clock *ManualClock, m *Match, players ...*Player) {
	t.Helper()
	want := m.liveTick.Load() + 1
	waitFor(t, func() bool { return clock.Armed() >= 1 })
	clock.Advance(time.Second / 30)
	waitFor(t, func() bool { return m.liveTick.Load() >= want })
	for _, p := range players {
		drain(p)
	}
}

// A spectator takes no seat, is announced with entity 0 and the delay,
// gets its first snapshot (a full view) once the delay has passed, and
// every snapshot after that is exactly the delay behind the live tick.
// Whole world, its view holds entities outside every player's radius;
// following a player's avatar, only that avatar's surroundings. Stopping
// the match sends the spectator the result too.
func TestSpectatorDelayedView(t *testing.T) {
	const delay = 500 * time.Millisecond // 15 ticks at 30 Hz
	const delayTicks = 15
	l, clock, m, a, b, mode := spectateLobby(t, Config{SpectateDelay: delay})
	schema := &mode.Spec().Schema
	s := attached(t, l, "s")
	l.Spectate(s, s.Out(), m.ID, 0)
	var ms []netcode.ServerMsg
	waitFor(t, func() bool { ms = append(ms, frames(t, s, schema)...); return len(ms) > 0 })
	if len(ms) != 1 || ms[0].Type != netcode.MsgMatched {
		t.Fatalf("first frames %+v, want one matched", ms)
	}
	mt := ms[0].Matched
	if !mt.Spectating || mt.Entity != 0 || mt.DelayMs != 500 || mt.Follow != 0 || mt.MatchID != m.ID || mt.Mode != "arena" || mt.WorldW != 2000 {
		t.Fatalf("spectator's matched %+v", mt)
	}
	if s.Match() != nil || l.Seated("s") {
		t.Fatal("the spectator took a seat")
	}
	if got := l.Matches(); len(got) != 1 || got[0].ID != m.ID || got[0].Players != 2 || got[0].MaxPlayers != 2 || got[0].Spectators != 1 || got[0].MaxSpectators != DefaultMaxSpectators {
		t.Fatalf("Matches() = %+v", got)
	}
	if l.Spectators() != 1 {
		t.Fatalf("Spectators() = %d", l.Spectators())
	}

	mir := netcode.NewMirror(schema)
	first := true
	snaps := 0
	for range delayTicks + 40 {
		nextTick(t, clock, m, a, b)
		live := m.liveTick.Load() // the tick after the one just run
		for _, f := range frames(t, s, schema) {
			if f.Type != netcode.MsgSnapshot {
				t.Fatalf("unexpected frame type %d", f.Type)
			}
			snaps++
			if got := f.Snapshot.Tick + delayTicks + 1; got != live {
				t.Fatalf("snapshot of tick %d sent when the live tick was %d: delay %d ticks, want %d", f.Snapshot.Tick, live-1, live-1-f.Snapshot.Tick, delayTicks)
			}
			if first && (!f.Snapshot.Reset || f.Snapshot.Tick != mt.Tick) {
				t.Fatalf("the first snapshot: tick %d, reset %v; want the matched's tick %d, a full view", f.Snapshot.Tick, f.Snapshot.Reset, mt.Tick)
			}
			first = false
			if err := mir.Apply(&f.Snapshot); err != nil {
				t.Fatal(err)
			}
		}
	}
	if snaps != 40 {
		t.Fatalf("%d snapshots in 40 ticks after the delay", snaps)
	}
	// The whole world: every NPC and both avatars, among them entities
	// farther than 1.15·R from both avatars (out of every player's view).
	if mir.Len() != 22 {
		t.Fatalf("whole-world view holds %d entities, want 22", mir.Len())
	}
	ents := mir.AppendEntities(nil)
	avatars := avatarsOf(ents, mir)
	if len(avatars) != 2 {
		t.Fatalf("avatars in the scores: %v", avatars)
	}
	far := 0
	for _, e := range ents {
		if outside(e, avatars, mir, 60*1.15) {
			far++
		}
	}
	if far == 0 {
		t.Fatal("no entity of the whole-world view is outside every player's radius")
	}

	// Follow a's avatar: announced again, then a full view of a's
	// surroundings only.
	follow := avatars[0]
	l.Spectate(s, s.Out(), m.ID, follow)
	waitFor(t, func() bool { ms = frames(t, s, schema); return len(ms) > 0 })
	if ms[0].Type != netcode.MsgMatched || !ms[0].Matched.Spectating || ms[0].Matched.Follow != follow {
		t.Fatalf("switch: %+v", ms[0])
	}
	nextTick(t, clock, m, a, b)
	announced := ms[0].Matched.Tick
	ms = frames(t, s, schema)
	if len(ms) != 1 || !ms[0].Snapshot.Reset || ms[0].Snapshot.Tick != announced {
		t.Fatalf("after a switch: %+v, want one full snapshot of tick %d", ms, announced)
	}
	mir = netcode.NewMirror(schema)
	if err := mir.Apply(&ms[0].Snapshot); err != nil {
		t.Fatal(err)
	}
	self, ok := mir.Get(follow)
	if !ok {
		t.Fatal("the followed avatar is not in the view")
	}
	if mir.Len() >= 22 {
		t.Fatalf("following a player shows %d entities: the whole world", mir.Len())
	}
	for _, e := range mir.AppendEntities(nil) {
		if dx, dy := e.X-self.X, e.Y-self.Y; dx*dx+dy*dy > 60*1.15*60*1.15+1 {
			t.Fatalf("entity %d at (%v,%v) is beyond the radius of the followed avatar at (%v,%v)", e.ID, e.X, e.Y, self.X, self.Y)
		}
	}

	// The end: the result reaches the spectator.
	m.Stop()
	<-m.Done()
	var res *netcode.ServerMsg
	waitFor(t, func() bool {
		for _, f := range frames(t, s, schema) {
			if f.Type == netcode.MsgResult {
				res = &f
			}
		}
		return res != nil
	})
	if res.Outcome != netcode.OutcomeShutdown {
		t.Fatalf("result outcome %d", res.Outcome)
	}
	waitFor(t, func() bool { return l.Spectators() == 0 })
}

// avatarsOf returns the entities that hold a seat, from the scores.
func avatarsOf(ents []netcode.Entity, mir *netcode.Mirror) []uint32 {
	var out []uint32
	for _, e := range ents {
		if mir.Score(e.ID).Entity == e.ID {
			out = append(out, e.ID)
		}
	}
	return out
}

// outside reports whether e is farther than r from every avatar.
func outside(e netcode.Entity, avatars []uint32, mir *netcode.Mirror, r float32) bool {
	for _, id := range avatars {
		av, _ := mir.Get(id)
		if dx, dy := e.X-av.X, e.Y-av.Y; dx*dx+dy*dy <= r*r {
			return false
		}
	}
	return true
}

// Each match takes MaxSpectators spectators (32 by default): the 33rd is
// refused with spectators_full; one leaving makes room. A seated player
// cannot spectate, a spectator cannot queue (busy); a spectator who left
// may queue; an unknown match is refused; a disconnected spectator is
// counted off.
func TestSpectatorRules(t *testing.T) {
	l, _, m, a, _, _ := spectateLobby(t, Config{})
	errOf := func(p *Player) netcode.ErrorCode {
		t.Helper()
		var code netcode.ErrorCode
		waitFor(t, func() bool {
			for _, f := range drain(p) {
				var msg netcode.ServerMsg
				if netcode.NewReader().DecodeServer(f, &msg, nil) == nil && msg.Type == netcode.MsgError {
					code = msg.ErrCode
				}
			}
			return code != 0
		})
		return code
	}
	specs := make([]*Player, DefaultMaxSpectators)
	for i := range specs {
		specs[i] = attached(t, l, fmt.Sprint("s", i))
		l.Spectate(specs[i], specs[i].Out(), m.ID, 0)
	}
	l.sync()
	if n := l.Spectators(); n != DefaultMaxSpectators {
		t.Fatalf("%d spectators, want %d", n, DefaultMaxSpectators)
	}
	extra := attached(t, l, "extra")
	l.Spectate(extra, extra.Out(), m.ID, 0)
	if c := errOf(extra); c != netcode.ErrSpectatorsFull {
		t.Fatalf("the 33rd spectator: error %v, want spectators_full", c)
	}
	l.Spectate(extra, extra.Out(), "m-none", 0)
	if c := errOf(extra); c != netcode.ErrUnknownMatch {
		t.Fatalf("an unknown match: error %v, want unknown_match", c)
	}
	l.Spectate(a, a.Out(), m.ID, 0)
	if c := errOf(a); c != netcode.ErrBusy {
		t.Fatalf("a seated player spectating: error %v, want busy", c)
	}
	s0 := specs[0]
	l.Queue(s0, s0.Out(), "arena")
	if c := errOf(s0); c != netcode.ErrBusy {
		t.Fatalf("a spectator queueing: error %v, want busy", c)
	}
	// s0 leaves (no answer) and may queue, once the match has let it go
	// (the queue waits for that); its place goes to extra.
	l.Leave(s0, s0.Out())
	l.Queue(s0, s0.Out(), "arena")
	queued := false
	waitFor(t, func() bool {
		for _, f := range drain(s0) {
			var msg netcode.ServerMsg
			if err := netcode.NewReader().DecodeServer(f, &msg, nil); err != nil {
				continue
			}
			if msg.Type == netcode.MsgError {
				t.Fatalf("error %v after leaving", msg.ErrText)
			}
			queued = queued || msg.Type == netcode.MsgQueued
		}
		return queued
	})
	l.Spectate(extra, extra.Out(), m.ID, 0)
	l.sync()
	if got := l.Matches(); got[0].Spectators != DefaultMaxSpectators {
		t.Fatalf("spectators after a leave and a join: %+v", got)
	}
	// A disconnected spectator is counted off.
	l.Detach(specs[1], specs[1].Out(), false)
	l.sync()
	if got := l.Matches(); got[0].Spectators != DefaultMaxSpectators-1 || l.Spectators() != DefaultMaxSpectators-1 {
		t.Fatalf("after a spectator disconnected: %+v, %d", got, l.Spectators())
	}
	if l.Has("s1") {
		t.Fatal("a disconnected spectator is still held by the lobby")
	}
}

// A spectate the match never took (the lobby sent it as the match was
// ending) gets the result from the lobby; a spectator the match served
// gets it once, from the match.
func TestSpectateCrossingTheEnd(t *testing.T) {
	l, _, m, _, _, mode := spectateLobby(t, Config{})
	schema := &mode.Spec().Schema
	s, late := attached(t, l, "s"), attached(t, l, "late")
	l.Spectate(s, s.Out(), m.ID, 0)
	waitFor(t, func() bool { return len(s.Out().Frames()) > 0 }) // the match took it
	// As if the next spectate reached the lobby just before the end did.
	l.do(func() {
		e := l.players["late"]
		l.running[m].watchers[e] = true
		e.watching = m
		l.nSpectators.Add(1)
	})
	m.Stop()
	<-m.Done()
	waitFor(t, func() bool { return l.Spectators() == 0 })
	l.sync()
	for _, p := range []*Player{s, late} {
		results := 0
		for _, f := range frames(t, p, schema) {
			if f.Type == netcode.MsgResult {
				results++
			}
		}
		if results != 1 {
			t.Errorf("%s got %d results, want 1", p.ID, results)
		}
	}
	if l.Has("late") != true || l.Seated("late") {
		t.Error("the late spectator is not in the lobby")
	}
}

// Ticks with spectators allocate nothing in steady state: the ring's
// frames and the spectators' views are reused.
func TestTickWithSpectatorsAllocatesNothing(t *testing.T) {
	players := []*Player{newTestPlayer("p0"), newTestPlayer("p1")}
	mode := game.NewArena(game.ArenaConfig{})
	m, _ := testMatch(t, mode, players...)
	specs := []*Player{newTestPlayer("s0"), newTestPlayer("s1")}
	m.spectate(specs[0], specs[0].Out(), 0)
	m.spectate(specs[1], specs[1].Out(), players[0].Match().seats[0].gp.Entity)
	all := append(append([]*Player(nil), players...), specs...)
	seq := uint32(0)
	sent := 0
	step := func() {
		seq++
		for _, p := range players {
			p.SendInput(&netcode.Input{Seq: seq, MoveX: 0.6, MoveY: 0.8}, p.Out())
		}
		m.tick()
		for _, p := range all {
			for len(p.Out().Frames()) > 0 {
				f := <-p.Out().Frames()
				if p == specs[0] && !f.Control() {
					sent++
				}
				p.Out().Release(f)
			}
		}
	}
	for range m.delayTicks + 100 {
		step()
	}
	if sent != 100 {
		t.Fatalf("the spectator got %d snapshots in the 100 ticks after the delay", sent)
	}
	if a := testing.AllocsPerRun(200, step); a != 0 {
		t.Errorf("a tick with spectators allocates %v times", a)
	}
}

// BenchmarkTickSpectators: the arena's tick with 8 players, alone and with
// 8 spectators (4 watching the whole world, 4 following a player), each
// snapshot written to a socket at once as on a server.
func BenchmarkTickSpectators(b *testing.B) {
	for _, n := range []int{0, 8} {
		b.Run(fmt.Sprintf("spectators%d", n), func(b *testing.B) {
			players := make([]*Player, 8)
			for i := range players {
				players[i] = newTestPlayer(fmt.Sprint("p", i))
				players[i].Out().SetSocket(&sinkSocket{})
			}
			mode := game.NewArena(game.ArenaConfig{Players: 8})
			ev := make(chan lobbyEvent, 64)
			cfg := *(&Config{TickRate: 30, Logger: quiet}).EnsureDefaults()
			m := newMatch("m", 1, mode, cfg, 7, ev)
			m.rules = mode.NewRules(m.world)
			for _, p := range players {
				m.join(p)
			}
			all := players
			for i := range n {
				s := newTestPlayer(fmt.Sprint("s", i))
				all = append(all, s)
				s.Out().SetSocket(&sinkSocket{})
				follow := uint32(0)
				if i%2 == 1 {
					follow = m.seats[i%8].gp.Entity
				}
				m.spectate(s, s.Out(), follow)
			}
			seq := uint32(0)
			tick := func() {
				seq++
				for _, p := range players {
					p.SendInput(&netcode.Input{Seq: seq, MoveX: 0.6, MoveY: 0.8, AimX: 1}, p.Out())
				}
				for _, p := range all { // matched: no writer here
					for len(p.Out().Frames()) > 0 {
						p.Out().Release(<-p.Out().Frames())
					}
				}
				m.tick()
			}
			for range m.delayTicks + 100 {
				tick()
			}
			b.ReportAllocs()
			for b.Loop() {
				tick()
			}
		})
	}
}

// A spectator who switches to another match as the first one ends gets
// nothing of the first after the answer to the switch: the switch waits
// until that match sends it nothing more, and only the lobby sends the
// end's result, to those still watching.
func TestSpectatorSwitchAtTheEnd(t *testing.T) {
	for range 20 {
		l, _, m, _, _, mode := spectateLobby(t, Config{SpectateDelay: 100 * time.Millisecond})
		c, d := attached(t, l, "c"), attached(t, l, "d")
		l.Queue(c, c.Out(), "arena")
		l.Queue(d, d.Out(), "arena")
		waitFor(t, func() bool { return c.Match() != nil && d.Match() != nil })
		m2 := c.Match()
		s := attached(t, l, "s")
		l.Spectate(s, s.Out(), m.ID, 0)
		waitFor(t, func() bool { return len(s.Out().Frames()) > 0 }) // matched of m
		m.Stop()
		l.Spectate(s, s.Out(), m2.ID, 0)
		<-m.Done()
		var got []netcode.ServerMsg
		waitFor(t, func() bool {
			got = append(got, frames(t, s, &mode.Spec().Schema)...)
			for _, f := range got {
				if f.Type == netcode.MsgMatched && f.Matched.MatchID == m2.ID {
					return true
				}
			}
			return false
		})
		l.sync()
		got = append(got, frames(t, s, &mode.Spec().Schema)...)
		switched := false
		for _, f := range got {
			switch {
			case f.Type == netcode.MsgMatched && f.Matched.MatchID == m2.ID:
				switched = true
			case switched && f.Type != netcode.MsgSnapshot:
				t.Fatalf("after the switch to %s: message %d", m2.ID, f.Type)
			}
		}
		if l.Spectators() != 1 {
			t.Fatalf("spectators %d, want 1 (of %s)", l.Spectators(), m2.ID)
		}
		l.Close(context.Background())
	}
}

// A whole-world spectator of a world of more than maxWholeWorld entities
// sees it from its centre, within the interest radius, rather than every
// entity (a view holds at most 65,535).
func TestWholeWorldViewBounded(t *testing.T) {
	mode := game.NewArena(game.ArenaConfig{Players: 2, NPCs: maxWholeWorld + 500, Width: 8000, Height: 8000})
	p := newTestPlayer("p0")
	m, _ := testMatch(t, mode, p)
	s := newTestPlayer("s")
	m.spectate(s, s.Out(), 0)
	r := netcode.NewReader()
	mir := netcode.NewMirror(&mode.Spec().Schema)
	var msg netcode.ServerMsg
	seen := 0
	for range m.delayTicks + 2 {
		m.tick()
		for len(s.Out().Frames()) > 0 {
			f := <-s.Out().Frames()
			if err := r.DecodeServer(f.B, &msg, &mode.Spec().Schema); err != nil {
				t.Fatal(err)
			}
			if msg.Type == netcode.MsgSnapshot {
				if err := mir.Apply(&msg.Snapshot); err != nil {
					t.Fatal(err)
				}
				seen = mir.Len()
			}
			s.Out().Release(f)
		}
		drain(p)
	}
	radius := mode.Spec().Interest.Radius
	if seen == 0 || seen > maxWholeWorld {
		t.Fatalf("the whole-world view of %d entities holds %d", maxWholeWorld+502, seen)
	}
	for _, e := range mir.AppendEntities(nil) {
		dx, dy := e.X-4000, e.Y-4000
		if dx*dx+dy*dy > radius*radius*1.2*1.2 {
			t.Fatalf("entity %d at (%v, %v): beyond the radius of the centre", e.ID, e.X, e.Y)
		}
	}
}
