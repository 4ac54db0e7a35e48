package game

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"skirmish/netcode"
)

// A world of one spec, with no rules: the test moves the entities.
func rewindWorld(rewind int) *World {
	spec := &Spec{Name: "rw", MaxPlayers: 2, Width: 2000, Height: 2000}
	w := NewWorld(spec, 30, 1, 0)
	w.Rewind = rewind
	return w
}

// endTick ends the world's tick as the match does.
func endTick(w *World) {
	w.EndTick()
	w.Tick++
}

// The history keeps the last Rewind+1 ticks in a ring: every tick within
// the bound is exact, an older one is the bound, and entities that were
// not there at a tick (spawned later, or another one in a reused slot)
// cannot be found at it.
func TestHistoryRingAndWrap(t *testing.T) {
	w := rewindWorld(3)
	a := w.Spawn(0, 0, 0).ID
	var b, c uint32
	for range 12 { // the ring of 4 wraps three times
		tick := w.Tick
		w.Get(a).X = float32(10 * tick)
		switch tick {
		case 5:
			b = w.Spawn(0, 500, 500).ID
		case 8:
			w.Remove(b) // its slot is free at the end of tick 8
		case 9:
			c = w.Spawn(0, 700, 700).ID
		}
		endTick(w)
	}
	if w.Tick != 12 || len(w.hist.ring) != 4 {
		t.Fatalf("tick %d, ring of %d", w.Tick, len(w.hist.ring))
	}
	// Now is tick 11; the bound is tick 8.
	for _, tc := range []struct {
		view uint64
		x    float32
	}{{11, 110}, {10, 100}, {9, 90}, {8, 80}, {7, 80}, {2, 80}, {12, 110}, {400, 110}} {
		x, _, ok := w.Rewound(a, View{Tick: tc.view})
		if !ok || x != tc.x {
			t.Errorf("a at tick %d: x %v (%v), want %v", tc.view, x, ok, tc.x)
		}
	}
	if w.Get(c).Slot != w.Lookup(a).Slot+1 {
		t.Fatalf("c did not reuse b's slot: %d", w.Get(c).Slot)
	}
	if _, _, ok := w.Rewound(c, View{Tick: 8}); ok {
		t.Error("c found at tick 8, before it was spawned, in b's slot")
	}
	if x, _, ok := w.Rewound(c, View{Tick: 9}); !ok || x != 700 {
		t.Errorf("c at tick 9: %v %v", x, ok)
	}
	if _, _, ok := w.Rewound(b, View{Tick: 8}); ok {
		t.Error("b, removed, found")
	}
	// A longer bound keeps what the ring holds; the rest fills as ticks go.
	w.Rewind = 6
	w.Get(a).X = 120
	endTick(w)
	if len(w.hist.ring) != 7 {
		t.Fatalf("ring of %d for a bound of 6", len(w.hist.ring))
	}
	for tick, want := range map[uint64]float32{12: 120, 11: 110, 9: 90, 8: 80, 7: 80, 6: 80} {
		if x, _, ok := w.Rewound(a, View{Tick: tick}); !ok || x != want {
			t.Errorf("after the resize, a at tick %d: %v (%v), want %v", tick, x, ok, want)
		}
	}
	// Recording allocates nothing once the ring is made.
	if n := testing.AllocsPerRun(50, func() { endTick(w) }); n != 0 {
		t.Errorf("EndTick allocates %v times", n)
	}
}

// Between two ticks an entity is where a client interpolating between
// them draws it; a world that kept nothing yet answers with the present.
func TestRewoundInterpolates(t *testing.T) {
	w := rewindWorld(6)
	e := w.Spawn(0, 100, 200)
	id := e.ID
	if x, y, ok := w.Rewound(id, View{Tick: 0, Frac: 0.5}); !ok || x != 100 || y != 200 {
		t.Errorf("before any tick: %v %v %v", x, y, ok)
	}
	for range 4 {
		endTick(w)
		e := w.Get(id)
		e.X, e.Y = e.X+30, e.Y-60
	}
	endTick(w) // ticks 0..4: x 100, 130, 160, 190, 220
	for _, tc := range []struct {
		v    View
		x, y float32
	}{
		{View{1, 0.5}, 145, 110},
		{View{2, 0.25}, 167.5, 65},
		{View{3, 0.999}, 219.97, -39.94},
		{View{4, 0.5}, 220, -40}, // now: no later state
	} {
		x, y, ok := w.Rewound(id, tc.v)
		if !ok || abs32(x-tc.x) > 1e-3 || abs32(y-tc.y) > 1e-2 {
			t.Errorf("at %+v: (%v, %v) %v, want (%v, %v)", tc.v, x, y, ok, tc.x, tc.y)
		}
	}
	// A jump (a respawn) is not slid across, as clients draw it
	// (netcode.Lerp): the nearer end.
	w.Get(id).X = 1000
	endTick(w) // tick 5: x 1000
	for _, tc := range []struct {
		frac float32
		x    float32
	}{{0.4, 220}, {0.6, 1000}} {
		if x, _, ok := w.Rewound(id, View{4, tc.frac}); !ok || x != tc.x {
			t.Errorf("across the jump at 4 + %v: x %v, want %v", tc.frac, x, tc.x)
		}
	}
}

// ViewOf bounds an input's view time to [now - Rewind, now]; it is the
// same for the same input and world, whatever happened before.
func TestViewOfBounds(t *testing.T) {
	w := rewindWorld(6)
	w.Tick = 100 // now: 99, the bound: 93
	for _, tc := range []struct {
		tick   uint32
		frac   float32
		rewind int
		want   View
	}{
		{0, 0.7, 6, View{99, 0}},      // not given: now
		{99, 0.5, 6, View{99, 0}},     // now
		{150, 0.2, 6, View{99, 0}},    // the future: now
		{98, 0.25, 6, View{98, 0.25}}, // 0.75 ticks back
		{93, 0.5, 6, View{93, 0.5}},
		{93, 0, 6, View{93, 0}}, // the bound
		{92, 0.9, 6, View{93, 0}},
		{10, 0.5, 6, View{93, 0}}, // claims 3 s: gets 200 ms
		{97, 1, 6, View{98, 0}},
		{97, 0.5, 0, View{99, 0}}, // no rewind: always now
	} {
		w.Rewind = tc.rewind
		if got := w.ViewOf(&netcode.Input{ViewTick: tc.tick, ViewFrac: tc.frac}); got != tc.want {
			t.Errorf("view %d+%v, rewind %d: %+v, want %+v", tc.tick, tc.frac, tc.rewind, got, tc.want)
		}
	}
	w.Rewind = 6
	if lag := w.Lag(View{Tick: 10}); lag != 6 {
		t.Errorf("lag of a 3 s old view: %v ticks, want the bound 6", lag)
	}
	if lag := w.Lag(View{Tick: 97, Frac: 0.5}); lag != 1.5 {
		t.Errorf("lag %v, want 1.5", lag)
	}
	w.Tick = 3 // early in a match: no tick before 0
	if got := w.ViewOf(&netcode.Input{ViewTick: 1, ViewFrac: 0.5}); got != (View{1, 0.5}) {
		t.Errorf("at tick 3: %+v", got)
	}
	w.Tick = 0
	if got := w.ViewOf(&netcode.Input{ViewTick: 1}); got != (View{}) {
		t.Errorf("at tick 0: %+v", got)
	}
}

// RayCast meets the nearest accepted entity on the ray, within its length.
func TestRayCastNearest(t *testing.T) {
	w := rewindWorld(0)
	spawn := func(x, y, r float32) uint32 {
		e := w.Spawn(0, x, y)
		e.Radius = r
		return e.ID
	}
	far, near, side, behind := spawn(400, 0, 10), spawn(200, 5, 10), spawn(100, 40, 10), spawn(-50, 0, 10)
	endTick(w)
	all := func(*Entity) bool { return true }
	now := w.Now()
	for _, tc := range []struct {
		length, radius float32
		accept         func(*Entity) bool
		want           uint32
		d              float32
	}{
		{1000, 0, all, near, 200 - float32(math.Sqrt(75))},
		{1000, 0, func(e *Entity) bool { return e.ID != near }, far, 390},
		{150, 0, all, 0, 0},
		{1000, 25, all, near, 200 - float32(math.Sqrt(35*35-5*5))}, // side is 40 off, 35 reach
		{1000, 35, all, side, 100 - float32(math.Sqrt(45*45-40*40))},
	} {
		e, d := w.RayCast(0, 0, 1, 0, tc.length, tc.radius, now, tc.accept)
		var got uint32
		if e != nil {
			got = e.ID
		}
		if got != tc.want {
			t.Errorf("length %v radius %v: hit %d, want %d", tc.length, tc.radius, got, tc.want)
		}
		if got != 0 && abs32(d-tc.d) > 1e-3 {
			t.Errorf("hit %d at %v, want %v", got, d, tc.d)
		}
	}
	if e, _ := w.RayCast(0, 0, -1, 0, 1000, 0, now, all); e == nil || e.ID != behind {
		t.Errorf("backwards: %v", e)
	}
}

// duel is an arena of two players and no NPCs on a large world, with a
// rewind bound of rewind ticks: a shooter (seat 0) and a target (seat 1)
// the test places.
func duel(t *testing.T, rewind int) (w *World, r Rules, shooter, target *Player) {
	t.Helper()
	w, r, ps := newMatch(t, NewArena(ArenaConfig{Players: 2, NPCs: -1, Width: 2000}), 2)
	w.Rewind = rewind
	return w, r, ps[0], ps[1]
}

// place puts p's avatar at (x, y).
func place(w *World, p *Player, x, y float32) {
	e := w.Get(p.Entity)
	e.X, e.Y = x, y
}

// hitscanAt fires the shooter's hitscan along +x with view time (tick,
// frac) and reports whether the target was hit (its event, a point, 34 hp).
func hitscanAt(t *testing.T, w *World, r Rules, shooter, target *Player, tick uint32, frac float32) bool {
	t.Helper()
	score, hp := shooter.Score, w.Get(target.Entity).F[FieldHP]
	in := netcode.Input{Seq: 1, Buttons: 1 << ArenaHitscan, AimX: 1, ViewTick: tick, ViewFrac: frac}
	if code := r.Apply(w, shooter, &in); code != netcode.RejectNone {
		t.Fatalf("hitscan rejected: %d", code)
	}
	hit := false
	for _, ev := range w.Events {
		if ev.Type == EventHitscan {
			if ev.A != shooter.Entity || ev.B != target.Entity {
				t.Errorf("hitscan event %+v", ev)
			}
			hit = true
		}
	}
	wantScore, wantHP := score, hp
	if hit {
		wantScore, wantHP = score+1, max(hp-arenaHitscanDamage, 0)
	}
	if shooter.Score != wantScore || w.Get(target.Entity).F[FieldHP] != wantHP {
		t.Errorf("event %v, score %d → %d, hp %v → %v", hit, score, shooter.Score, hp, w.Get(target.Entity).F[FieldHP])
	}
	return hit
}

// The defender's side. The shooter at (100, 500) fires along +x at tick
// 21 (now: tick 20). The target crossed the line y = 500 at tick 11
// (300 ms before now) and, in a second run, at tick 15.5 (150 ms before).
// With the 200 ms bound (6 ticks) the first is not hit, even for a
// shooter claiming to see tick 11: the bound is tick 14, where the target
// was 120 units off the line. The second is hit with rewind, and not hit
// without (now it is 180 units off).
func TestRewindDefendersSide(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rewind    int
		crossAt   float32 // the tick the target is on the line
		view      uint32
		frac      float32
		wantHit   bool
		onLineNow bool
	}{
		{"300 ms ago, bound 200 ms", 6, 11, 11, 0, false, false},
		{"300 ms ago, bound 400 ms", 12, 11, 11, 0, true, false}, // the same shot within a longer bound
		{"150 ms ago, bound 200 ms", 6, 15.5, 15, 0.5, true, false},
		{"150 ms ago, no rewind", 0, 15.5, 15, 0.5, false, false},
		{"now, no rewind", 0, 20, 15, 0.5, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, r, shooter, target := duel(t, tc.rewind)
			for w.Tick <= 20 {
				place(w, shooter, 100, 500)
				place(w, target, 300, 500+40*(float32(w.Tick)-tc.crossAt)) // 40 u a tick
				r.Step(w)
				endTick(w)
			}
			if got := hitscanAt(t, w, r, shooter, target, tc.view, tc.frac); got != tc.wantHit {
				t.Errorf("hit %v, want %v", got, tc.wantHit)
			}
		})
	}
}

// A hitscan within its cooldown (1 s: 30 ticks) is rejected, and nothing
// of the input applies; a dead player's press fires nothing and starts no
// cooldown.
func TestArenaHitscanCooldown(t *testing.T) {
	w, r, shooter, target := duel(t, 6)
	place(w, shooter, 100, 500)
	place(w, target, 300, 500)
	fire := func(aimX, aimY float32) uint8 {
		in := netcode.Input{Seq: 1, Buttons: 1 << ArenaHitscan, MoveY: 1, AimX: aimX, AimY: aimY}
		return r.Apply(w, shooter, &in)
	}
	if code := fire(1e-9, 0); code != netcode.RejectBadDirection {
		t.Errorf("a too short aim: %d", code)
	}
	if code := fire(1, 0); code != netcode.RejectNone || shooter.Score != 1 {
		t.Fatalf("first hitscan: %d, score %d", code, shooter.Score)
	}
	r.Step(w)
	endTick(w)
	for range 29 {
		y := w.Get(shooter.Entity).Y
		if code := fire(1, 0); code != netcode.RejectCooldown {
			t.Fatalf("tick %d: %d, want the cooldown", w.Tick, code)
		}
		if w.Get(shooter.Entity).Y != y {
			t.Fatal("a rejected input moved the avatar")
		}
		r.Step(w)
		endTick(w)
	}
	place(w, shooter, 100, 500)
	place(w, target, 300, 500)
	w.EndTick() // the target's place is the newest state
	// (0, 0): the way the avatar faces; it moved +y last.
	if code := fire(0, 0); code != netcode.RejectNone || shooter.Score != 1 {
		t.Errorf("after 1 s, along the face (+y): %d, score %d", code, shooter.Score)
	}
	w.Tick += 30
	place(w, shooter, 300, 300)
	w.EndTick()
	if code := fire(0, 0); code != netcode.RejectNone || shooter.Score != 2 {
		t.Errorf("along the face at the target: %d, score %d", code, shooter.Score)
	}
	// The dead do not fire, and keep their cooldown free.
	w.Tick += 30
	w.Get(shooter.Entity).F[FieldHP] = 0
	if code := fire(0, 0); code != netcode.RejectNone || shooter.Score != 2 {
		t.Errorf("dead: %d, score %d", code, shooter.Score)
	}
	w.Get(shooter.Entity).F[FieldHP] = 100
	if code := fire(0, 0); code != netcode.RejectNone || shooter.Score != 3 {
		t.Errorf("alive again in the same tick: %d, score %d", code, shooter.Score)
	}
}

// Three hitscans kill; the kill is the gun's event.
func TestArenaHitscanKills(t *testing.T) {
	w, r, shooter, target := duel(t, 6)
	for i := range 3 {
		place(w, shooter, 100, 500)
		place(w, target, 300, 500)
		endTick(w)
		if !hitscanAt(t, w, r, shooter, target, 0, 0) {
			t.Fatalf("hitscan %d missed", i)
		}
		w.Tick += 30
	}
	if hp := w.Get(target.Entity).F[FieldHP]; hp != 0 {
		t.Fatalf("hp %v after three hits", hp)
	}
	killed := false
	for _, ev := range w.Events {
		killed = killed || (ev.Type == EventKill && ev.A == shooter.Entity && ev.B == target.Entity)
	}
	if !killed {
		t.Error("no kill event")
	}
	// A dead target is not hit; the ray passes through it.
	w.Events = w.Events[:0]
	if hitscanAt(t, w, r, shooter, target, 0, 0) {
		t.Error("the dead hit")
	}
}

// A shot is advanced by its shooter's lag (view time to now): it starts
// where the shooter saw it start, with that much less life. On the way it
// hits what the shooter saw there.
func TestProjectileAdvancedByLag(t *testing.T) {
	shoot := func(rewind int, view uint32, frac float32, targetY float32) (w *World, shot *Entity, shooter *Player) {
		w, r, shooter, target := duel(t, rewind)
		for w.Tick <= 20 {
			place(w, shooter, 100, 500)
			place(w, target, 160, targetY+float32(w.Tick)-20) // almost still
			r.Step(w)
			endTick(w)
		}
		in := netcode.Input{Seq: 1, Buttons: 1 << ArenaFire, AimX: 1, ViewTick: view, ViewFrac: frac}
		if code := r.Apply(w, shooter, &in); code != netcode.RejectNone {
			t.Fatalf("fire rejected: %d", code)
		}
		for i := range w.Entities {
			if e := &w.Entities[i]; e.Kind == KindProjectile {
				return w, e, shooter
			}
		}
		return w, nil, shooter
	}
	step := float32(arenaShotSpeed) / 30 // 20 u a tick
	for _, tc := range []struct {
		name    string
		rewind  int
		view    uint32
		frac    float32
		advance float32 // ticks
	}{
		{"no view time", 6, 0, 0, 0},
		{"3.5 ticks", 6, 16, 0.5, 3.5},
		{"beyond the bound", 6, 2, 0, 6},
		{"a view in the future", 6, 25, 0.5, 0},
		{"no rewind", 0, 16, 0.5, 0},
	} {
		w, shot, _ := shoot(tc.rewind, tc.view, tc.frac, 900) // the target off the line
		if shot == nil {
			t.Fatalf("%s: no shot", tc.name)
		}
		if x := 100 + step*tc.advance; abs32(shot.X-x) > 1e-3 || shot.Y != 500 {
			t.Errorf("%s: shot at (%v, %v), want (%v, 500)", tc.name, shot.X, shot.Y, x)
		}
		if life := arenaShotLife - tc.advance/30; abs32(shot.Timer-life) > 1e-5 {
			t.Errorf("%s: life %v, want %v", tc.name, shot.Timer, life)
		}
		if shot.Removed() {
			t.Errorf("%s: shot removed", tc.name)
		}
		_ = w
	}
	// The target 60 units ahead, in the way of the 70 advanced: hit at
	// once, where the shooter saw it; without a view time the shot only
	// starts (it hits in Step).
	w, shot, shooter := shoot(6, 16, 0.5, 500)
	if shooter.Score != 1 || shot == nil || !shot.Removed() {
		t.Errorf("advanced through the target: score %d, shot %+v", shooter.Score, shot)
	}
	if len(w.Events) == 0 || w.Events[0].Type != EventHit {
		t.Errorf("events %+v", w.Events)
	}
	_, shot, shooter = shoot(6, 0, 0, 500)
	if shooter.Score != 0 || shot == nil || shot.Removed() || shot.X != 100 {
		t.Errorf("no view time: score %d, shot %+v", shooter.Score, shot)
	}
}

// rewindScript plays an arena with NPCs and four players whose inputs
// carry view times (some beyond the bound) and press both weapons; it
// returns the world's state, the rules' and the events of every tick.
func rewindScript(ticks int) (st WorldState, rules []byte, events []netcode.Event) {
	mode := NewArena(ArenaConfig{Players: 4, NPCs: 10, Width: 500})
	w := NewWorld(mode.Spec(), 30, 11, 0)
	w.Rewind = 6
	r := mode.NewRules(w)
	for i := range 4 {
		p := &Player{Seat: i, ID: fmt.Sprint("p", i)}
		w.Players[i] = p
		r.Join(w, p)
	}
	for tick := range ticks {
		for i, p := range w.Players {
			in := scriptInput(uint64(tick), i, uint32(tick+1))
			if tick > 2 {
				in.ViewTick = uint32(tick - 1 - (tick+i)%9)
				in.ViewFrac = float32((tick*7+i)%10) / 10
			}
			r.Apply(w, p, &in)
		}
		r.Step(w)
		events = append(events, w.Events...)
		endTick(w)
	}
	w.SaveState(&st)
	return st, r.(Portable).AppendState(nil), events
}

// The same inputs give the same world, tick for tick: rewind reads only
// the world's own history.
func TestRewindDeterministic(t *testing.T) {
	s1, r1, e1 := rewindScript(300)
	s2, r2, e2 := rewindScript(300)
	if !reflect.DeepEqual(s1, s2) || !bytes.Equal(r1, r2) || !reflect.DeepEqual(e1, e2) {
		t.Fatal("two runs of the same inputs differ")
	}
	hitscans := 0
	for _, ev := range e1 {
		if ev.Type == EventHitscan {
			hitscans++
		}
	}
	if hitscans == 0 {
		t.Error("the script hit nothing with the hitscan")
	}
	t.Logf("%d events, %d hitscan hits", len(e1), hitscans)
}

// An arena tick with rewind, lagged shots and hitscans allocates nothing.
func TestRewindTickAllocatesNothing(t *testing.T) {
	w, r, tick := rewindBench(8, 64)
	for range 100 {
		tick()
	}
	if n := testing.AllocsPerRun(200, tick); n != 0 {
		t.Errorf("a tick allocates %v times", n)
	}
	if w.hist.ring[0].ents == nil || r.(*arenaRules).beam.lastFire[0] == 0 {
		t.Error("the ticks measured neither rewound nor hitscanned")
	}
}

// rewindBench is an arena of players and npcs whose players move, fire
// and hitscan with view times 100 ms old; tick runs one tick.
func rewindBench(players, npcs int) (*World, Rules, func()) {
	mode := NewArena(ArenaConfig{Players: players, NPCs: npcs})
	w := NewWorld(mode.Spec(), 30, 5, 0)
	w.Rewind = 6
	r := mode.NewRules(w)
	for i := range players {
		p := &Player{Seat: i, ID: fmt.Sprint("p", i)}
		w.Players[i] = p
		r.Join(w, p)
	}
	var seq uint32
	var in netcode.Input // as the match's queue: an Input through Rules escapes
	tick := func() {
		seq++
		for i, p := range w.Players {
			in = netcode.Input{Seq: seq, MoveX: 0.6, MoveY: 0.8, AimX: 1, AimY: float32(i%3) - 1,
				ViewTick: uint32(max(w.Tick, 4) - 4), ViewFrac: 0.5}
			switch (int(seq) + i) % 30 {
			case 0:
				in.Buttons = 1 << ArenaFire
			case 15:
				in.Buttons = 1 << ArenaHitscan
			}
			r.Apply(w, p, &in)
		}
		r.Step(w)
		w.EndTick()
		w.Tick++
	}
	return w, r, tick
}

func BenchmarkRewindTick(b *testing.B) {
	for _, size := range []struct{ players, npcs int }{{8, 64}, {100, 900}} {
		b.Run(fmt.Sprintf("arena%d_%d", size.players, size.npcs), func(b *testing.B) {
			_, _, tick := rewindBench(size.players, size.npcs)
			for range 100 {
				tick()
			}
			b.ReportAllocs()
			for b.Loop() {
				tick()
			}
		})
	}
}

// A restored world keeps the checkpoint's state as the newest: a view of
// now sees what the original sees; an older one, what the checkpoint held
// (the history before it is not in checkpoints).
func TestRestoredWorldRewindsFromTheCheckpoint(t *testing.T) {
	s := newScripted(NewArena(ArenaConfig{Players: 4, NPCs: 6, Width: 300}))
	s.w.Rewind = 6
	for range 100 {
		s.tick()
	}
	twin := s.restore(t)
	twin.w.Rewind = 6
	for _, e := range s.w.Entities {
		x, y, ok := s.w.Rewound(e.ID, s.w.Now())
		tx, ty, tok := twin.w.Rewound(e.ID, twin.w.Now())
		if !ok || !tok || x != tx || y != ty || x != e.X || y != e.Y {
			t.Fatalf("entity %d now: (%v, %v) %v in the original, (%v, %v) %v restored", e.ID, x, y, ok, tx, ty, tok)
		}
		old := View{Tick: s.w.Tick - 4}
		if tx, ty, tok := twin.w.Rewound(e.ID, old); !tok || tx != e.X || ty != e.Y {
			t.Fatalf("entity %d 4 ticks back, restored: (%v, %v) %v, want the checkpoint's", e.ID, tx, ty, tok)
		}
	}
	// The twin's ring grows to the bound and fills as it goes on.
	for range 10 {
		s.tick()
		twin.tick()
	}
	for _, e := range s.w.Entities {
		for back := range uint64(7) {
			v := View{Tick: s.w.Tick - 1 - back, Frac: 0.5}
			x, y, ok := s.w.Rewound(e.ID, v)
			tx, ty, tok := twin.w.Rewound(e.ID, v)
			if x != tx || y != ty || ok != tok {
				t.Fatalf("entity %d %d ticks back: (%v, %v) %v / (%v, %v) %v", e.ID, back, x, y, ok, tx, ty, tok)
			}
		}
	}
}

// Advance on its own (Guns, no mode): a shot whose life ends within the
// lag hits nothing beyond its life's reach, and is removed.
func TestAdvanceWithinTheShotsLife(t *testing.T) {
	gun := Gun{Fire: 0, Cooldown: time.Millisecond, Kind: 1, Speed: 300, Life: 0.1, Radius: 3, HP: 0, MaxHP: 50, Damage: 10}
	spec := &Spec{Name: "guns", MaxPlayers: 2, Width: 1000, Height: 1000, Speed: 100, Actions: []Action{gun.Action()}}
	for _, tc := range []struct {
		targetX float32
		hit     bool
	}{{130, true}, {150, false}} { // met at 17 u or 37 u; the shot's life reaches 30 u
		w := NewWorld(spec, 30, 1, 0)
		w.Rewind = 6
		g := NewGuns(gun, w, 2)
		var ps [2]*Player
		for i, x := range []float32{100, tc.targetX} {
			e := w.Spawn(0, x, 100)
			e.Radius, e.Owner, e.F[0] = 10, i, gun.MaxHP
			ps[i] = &Player{Seat: i, Entity: e.ID}
			w.Players[i] = ps[i]
			g.Arm(i, 1, 0)
		}
		for range 10 {
			endTick(w)
		}
		in := netcode.Input{Buttons: 1, AimX: 1, ViewTick: 2} // 6 ticks back at most: 60 u
		_, shot := g.Act(w, ps[0], &in, spec)
		id := shot.ID
		target := g.Advance(w, shot, &in, func(e *Entity) bool { return e.ID == ps[1].Entity })
		if (target != nil) != tc.hit {
			t.Errorf("target at %v: hit %v, want %v", tc.targetX, target != nil, tc.hit)
		}
		if !tc.hit && w.Get(id) != nil {
			t.Errorf("target at %v: the shot outlived its life", tc.targetX)
		}
	}
}

// The hitscan hits what a projectile could: an NPC on the ray, nearer
// than the player behind it, takes the hit (a point, the event) and goes
// elsewhere, as after a projectile's hit.
func TestArenaHitscanHitsNPCs(t *testing.T) {
	w, r, shooter, target := duel(t, 6)
	npc := w.Spawn(KindNPC, 200, 500)
	npc.Radius = arenaNPCSize
	npc.F[FieldHP] = 1
	id := npc.ID
	place(w, shooter, 100, 500)
	place(w, target, 300, 500)
	endTick(w)
	in := netcode.Input{Seq: 1, Buttons: 1 << ArenaHitscan, AimX: 1}
	if code := r.Apply(w, shooter, &in); code != netcode.RejectNone {
		t.Fatalf("hitscan rejected: %d", code)
	}
	var hits []netcode.Event
	for _, ev := range w.Events {
		if ev.Type == EventHitscan {
			hits = append(hits, ev)
		}
	}
	if len(hits) != 1 || hits[0].A != shooter.Entity || hits[0].B != id {
		t.Fatalf("hitscan events %+v, want one on the NPC %d", hits, id)
	}
	if shooter.Score != 1 || w.Get(target.Entity).F[FieldHP] != arenaMaxHP {
		t.Errorf("score %d, player behind the NPC at %v hp", shooter.Score, w.Get(target.Entity).F[FieldHP])
	}
	if e := w.Get(id); e.X == 200 && e.Y == 500 {
		t.Error("the NPC hit stayed where it was")
	}
}
