package game

import (
	"math"
	"testing"
	"time"

	"skirmish/netcode"
)

func newMatch(t *testing.T, mode Mode, players int) (*World, Rules, []*Player) {
	t.Helper()
	w := NewWorld(mode.Spec(), 30, 1, 0)
	r := mode.NewRules(w)
	var ps []*Player
	for i := range players {
		p := &Player{Seat: i, ID: "p", Name: "p"}
		w.Players[i] = p
		r.Join(w, p)
		ps = append(ps, p)
	}
	return w, r, ps
}

func step(w *World, r Rules) {
	r.Step(w)
	w.EndTick()
	w.Tick++
}

func TestArenaMovementAndValidation(t *testing.T) {
	w, r, ps := newMatch(t, NewArena(ArenaConfig{NPCs: -1}), 1)
	e := w.Get(ps[0].Entity)
	e.X, e.Y = 100, 100
	cases := []struct {
		in     netcode.Input
		reject uint8
		x, y   float32
	}{
		{netcode.Input{Seq: 1, MoveX: 1}, 0, 100 + 200.0/30, 100},
		{netcode.Input{Seq: 2, MoveX: 1, MoveY: 1}, netcode.RejectBadDirection, 100 + 200.0/30, 100},
		{netcode.Input{Seq: 3, MoveX: -0.6, MoveY: 0.8}, 0, 100 + 200.0/30 - 0.6*200/30, 100 + 0.8*200/30},
	}
	for _, tc := range cases {
		if got := r.Apply(w, ps[0], &tc.in); got != tc.reject {
			t.Errorf("seq %d: reject %d, want %d", tc.in.Seq, got, tc.reject)
		}
		e := w.Get(ps[0].Entity)
		if abs32(e.X-tc.x) > 1e-3 || abs32(e.Y-tc.y) > 1e-3 {
			t.Errorf("seq %d: at (%v,%v), want (%v,%v)", tc.in.Seq, e.X, e.Y, tc.x, tc.y)
		}
	}
	// Clamped to the world.
	e = w.Get(ps[0].Entity)
	e.X = 1
	r.Apply(w, ps[0], &netcode.Input{Seq: 4, MoveX: -1})
	if e := w.Get(ps[0].Entity); e.X != 0 {
		t.Errorf("not clamped: x=%v", e.X)
	}
}

func TestArenaFireCooldownHitsAndRespawn(t *testing.T) {
	w, r, ps := newMatch(t, NewArena(ArenaConfig{NPCs: -1}), 2)
	a, b := w.Get(ps[0].Entity), w.Get(ps[1].Entity)
	a.X, a.Y, b.X, b.Y = 100, 100, 200, 100
	cooldown := int(CooldownTicks(ArenaCooldown, 30)) // 8 ticks
	fires, rejects := 0, 0
	for tick := range 100 {
		code := r.Apply(w, ps[0], &netcode.Input{Seq: uint32(tick + 1), Buttons: 1 << ArenaFire, AimX: 1})
		if code == netcode.RejectCooldown {
			rejects++
		} else if code == 0 {
			fires++
		}
		step(w, r)
		// b stands still in the line of fire: every 4 hits kill it.
	}
	if want := (100 + cooldown - 1) / cooldown; fires != want {
		t.Errorf("fired %d times in 100 ticks, want %d", fires, want)
	}
	if rejects != 100-fires {
		t.Errorf("rejects %d", rejects)
	}
	// Four hits kill b, who respawns elsewhere after 2 s.
	if ps[0].Score < 4 {
		t.Errorf("score %d after %d shots at a still target", ps[0].Score, fires)
	}
	// Kill b and check the 2 s respawn.
	w2, r2, ps2 := newMatch(t, NewArena(ArenaConfig{NPCs: -1}), 2)
	b2 := w2.Get(ps2[1].Entity)
	b2.F[FieldHP] = 0
	b2.Timer = 2
	x, y := b2.X, b2.Y
	if r2.Apply(w2, ps2[1], &netcode.Input{Seq: 1, MoveX: 1}) != 0 || w2.Get(ps2[1].Entity).X != x {
		t.Error("a dead player moved")
	}
	for range 59 {
		step(w2, r2)
	}
	if w2.Get(ps2[1].Entity).F[FieldHP] != 0 {
		t.Error("respawned before 2 s")
	}
	step(w2, r2)
	if e := w2.Get(ps2[1].Entity); e.F[FieldHP] != 100 || (e.X == x && e.Y == y) {
		t.Errorf("no respawn after 2 s: %+v", e)
	}
}

func TestArenaNPCsWanderInsideTheWorld(t *testing.T) {
	w, r, _ := newMatch(t, NewArena(ArenaConfig{}), 0)
	if len(w.Entities) != 64 {
		t.Fatalf("%d NPCs, want 64", len(w.Entities))
	}
	start := map[uint32][2]float32{}
	for _, e := range w.Entities {
		start[e.ID] = [2]float32{e.X, e.Y}
	}
	for range 30 * 20 {
		step(w, r)
		for _, e := range w.Entities {
			if e.X < 0 || e.Y < 0 || e.X > w.Width || e.Y > w.Height {
				t.Fatalf("NPC %d left the world: %v,%v", e.ID, e.X, e.Y)
			}
			if v := e.VX*e.VX + e.VY*e.VY; abs32(v-100*100) > 1 {
				t.Fatalf("NPC speed² %v, want 100²", v)
			}
		}
	}
	moved := 0
	for _, e := range w.Entities {
		if s := start[e.ID]; s[0] != e.X || s[1] != e.Y {
			moved++
		}
	}
	if moved != 64 {
		t.Errorf("%d NPCs moved", moved)
	}
}

func TestArenaEnds(t *testing.T) {
	w, r, ps := newMatch(t, NewArena(ArenaConfig{NPCs: -1, Duration: time.Second, ScoreLimit: 5}), 2)
	for range 29 {
		step(w, r)
	}
	if r.Over(w) {
		t.Fatal("over before its time")
	}
	step(w, r)
	if !r.Over(w) {
		t.Fatal("not over after its time")
	}
	w, r, ps = newMatch(t, NewArena(ArenaConfig{NPCs: -1, ScoreLimit: 5}), 2)
	ps[1].Score = 5
	step(w, r)
	if !r.Over(w) {
		t.Fatal("not over at the score limit")
	}
	res := r.Result(w)
	if len(res) != 2 || res[0].Score != 5 || res[0].Place != 1 || res[1].Place != 2 {
		t.Errorf("result %+v", res)
	}
}

func TestTagPassesIt(t *testing.T) {
	w, r, ps := newMatch(t, NewTag(TagConfig{}), 2)
	a, b := w.Get(ps[0].Entity), w.Get(ps[1].Entity)
	if a.F[FieldIt] != 1 || b.F[FieldIt] != 0 {
		t.Fatal("first player is not it")
	}
	a.X, a.Y, b.X, b.Y = 100, 100, 120, 100 // touching
	step(w, r)
	if w.Get(ps[1].Entity).F[FieldIt] != 0 {
		t.Fatal("tagged during immunity")
	}
	for range 30 {
		step(w, r)
	}
	if w.Get(ps[1].Entity).F[FieldIt] != 1 || w.Get(ps[0].Entity).F[FieldIt] != 0 {
		t.Fatal("touch did not pass it")
	}
	if ps[1].Score != 1 {
		t.Errorf("b scored %d for a second not it", ps[1].Score)
	}
	r.Leave(w, ps[1])
	w.Players[1] = nil
	w.EndTick()
	if w.Get(ps[0].Entity).F[FieldIt] != 1 {
		t.Error("it not passed on when it left")
	}
}

func TestStandingsShareEqualPlaces(t *testing.T) {
	w := NewWorld(NewTag(TagConfig{}).Spec(), 30, 1, 0)
	for i, s := range []int32{3, 7, 3, 1} {
		w.Players[i] = &Player{Seat: i, ID: string(rune('a' + i)), Score: s}
	}
	got := Standings(w)
	want := []uint16{1, 2, 2, 4}
	for i := range got {
		if got[i].Place != want[i] {
			t.Errorf("standings %+v", got)
			break
		}
	}
}

func TestWorldRemoveKeepsIndex(t *testing.T) {
	w := NewWorld(NewTag(TagConfig{}).Spec(), 30, 1, 100)
	var ids []uint32
	for range 10 {
		ids = append(ids, w.Spawn(0, 1, 1).ID)
	}
	if ids[0] != 101 {
		t.Errorf("first id %d, want 101", ids[0])
	}
	w.Remove(ids[2])
	w.Remove(ids[5])
	if w.Get(ids[2]) != nil {
		t.Error("removed entity still visible")
	}
	w.EndTick()
	if len(w.Entities) != 8 {
		t.Fatalf("%d entities left", len(w.Entities))
	}
	for i, id := range ids {
		if e := w.Get(id); (e == nil) != (i == 2 || i == 5) || (e != nil && e.ID != id) {
			t.Errorf("lookup of %d wrong", id)
		}
	}
}

func abs32(f float32) float32 { return max(f, -f) }

// Every shot flies at the shot speed whatever the aim's length: a subnormal
// aim (which float32 normalised to √2) is rejected, a huge one normalised
// in float64, (0, 0) fires along the last move.
func TestArenaAimValidation(t *testing.T) {
	cases := []struct {
		name       string
		aimX, aimY float32
		reject     uint8
		dirX, dirY float64 // expected unit direction of the shot
	}{
		{"unit", 0, 1, 0, 0, 1},
		{"long", 3, 4, 0, 0.6, 0.8},
		{"huge", 3e38, 3e38, 0, math.Sqrt2 / 2, math.Sqrt2 / 2},
		{"subnormal", 1e-45, 1e-45, netcode.RejectBadDirection, 0, 0},
		{"tiny", 1e-7, 0, netcode.RejectBadDirection, 0, 0},
		{"small but real", 1e-5, 0, 0, 1, 0},
		{"none: along the last move", 0, 0, 0, -0.6, 0.8},
	}
	for _, tc := range cases {
		w, r, ps := newMatch(t, NewArena(ArenaConfig{NPCs: -1}), 1)
		r.Apply(w, ps[0], &netcode.Input{Seq: 1, MoveX: -0.6, MoveY: 0.8})
		step(w, r)
		in := netcode.Input{Seq: 2, Buttons: 1 << ArenaFire, AimX: tc.aimX, AimY: tc.aimY}
		if got := r.Apply(w, ps[0], &in); got != tc.reject {
			t.Errorf("%s: reject %d, want %d", tc.name, got, tc.reject)
			continue
		}
		var shot *Entity
		for i := range w.Entities {
			if e := &w.Entities[i]; e.Kind == KindProjectile && !e.Removed() {
				shot = e
			}
		}
		if tc.reject != 0 {
			if shot != nil {
				t.Errorf("%s: a rejected input fired", tc.name)
			}
			continue
		}
		if shot == nil {
			t.Fatalf("%s: no shot", tc.name)
		}
		speed := math.Hypot(float64(shot.VX), float64(shot.VY))
		if math.Abs(speed-arenaShotSpeed) > 1e-3 {
			t.Errorf("%s: shot speed %v, want %v", tc.name, speed, arenaShotSpeed)
		}
		if dx, dy := float64(shot.VX)/speed, float64(shot.VY)/speed; math.Abs(dx-tc.dirX) > 1e-6 || math.Abs(dy-tc.dirY) > 1e-6 {
			t.Errorf("%s: direction (%v, %v), want (%v, %v)", tc.name, dx, dy, tc.dirX, tc.dirY)
		}
	}
}
