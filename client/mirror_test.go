package client

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// ringOf returns a mirror holding snapshots of the given ticks and entity
// lists, the last one the newest.
func ringOf(ticks []uint32, ess [][]netcode.Entity) mirror {
	m := mirror{clock: newInterpClock(30), ring: make([]snap, ringLen(30))}
	for i := range ticks {
		m.head = i
		m.ring[i] = snap{tick: ticks[i], es: ess[i]}
		m.n++
	}
	m.tick = ticks[len(ticks)-1]
	return m
}

// Others are drawn between the two snapshots around the render time, found
// by id whatever their order; self as of the newest snapshot; entities new
// in view as they are.
func TestMirrorInterpolate(t *testing.T) {
	m := ringOf([]uint32{10, 11, 12}, [][]netcode.Entity{
		{{ID: 1, X: -10}, {ID: 2, X: 0}},
		{{ID: 1, X: 0}, {ID: 2, X: 10}, {ID: 3, X: 20}, {ID: 9, X: 5}},
		{{ID: 3, X: 30}, {ID: 1, X: 10}, {ID: 4, X: 7}, {ID: 2, X: 20}},
	})
	got, d := m.interpolate(make([]netcode.Entity, 0, 1), 11.25, 2)
	if d.empty || !d.ok || d.rt != 11.25 {
		t.Fatalf("drawn %+v, want rt 11.25 and a pair", d)
	}
	if vt, vf := d.viewTime(); vt != 11 || vf != 0.25 {
		t.Errorf("view time %d + %v, want 11 + 0.25", vt, vf)
	}
	want := map[uint32]float32{3: 22.5, 1: 2.5, 4: 7, 2: 20}
	if len(got) != len(want) {
		t.Fatalf("%d entities, want %d", len(got), len(want))
	}
	for _, e := range got {
		if e.X != want[e.ID] {
			t.Errorf("entity %d at x %v, want %v", e.ID, e.X, want[e.ID])
		}
	}
	// Between the two older snapshots: their entities, self as of the
	// newest.
	got, d = m.interpolate(got[:0], 10.5, 2)
	want = map[uint32]float32{1: -5, 2: 20, 3: 20, 9: 5}
	if d.empty || len(got) != len(want) {
		t.Fatalf("at 10.5: %d entities (%+v), want %d", len(got), d, len(want))
	}
	for _, e := range got {
		if e.X != want[e.ID] {
			t.Errorf("at 10.5: entity %d at x %v, want %v", e.ID, e.X, want[e.ID])
		}
	}
	if e, ok := m.at(1, 11.5); !ok || e.X != 5 {
		t.Errorf("at(1, 11.5) = %+v, %v; want x 5", e, ok)
	}
	if e, ok := m.find(4); !ok || e.X != 7 {
		t.Errorf("find(4) = %+v, %v", e, ok)
	}
	if _, ok := m.find(9); ok {
		t.Errorf("find(9): an entity that left view was found")
	}
}

// An entity updated every 3rd tick only (far from the avatar) slides from
// one change of its position to the next instead of holding still and
// jumping; one updated every tick, beside it, moves as before.
func TestMirrorSparseUpdates(t *testing.T) {
	ticks := []uint32{10, 11, 12, 13, 14, 15, 16}
	xs := []float32{0, 0, 0, 30, 30, 30, 60}
	var ess [][]netcode.Entity
	for i, x := range xs {
		ess = append(ess, []netcode.Entity{{ID: 5, X: x}, {ID: 6, X: float32(10 * i)}})
	}
	m := ringOf(ticks, ess)
	for _, c := range []struct {
		rt   float64
		x, y float32
	}{{14.5, 45, 45}, {13, 30, 30}, {15.5, 55, 55}, {13.5, 35, 35}} {
		got, d := m.interpolate(nil, c.rt, 0)
		if d.empty || len(got) != 2 || got[0].X != c.x || got[1].X != c.y {
			t.Errorf("rt %v: %+v, want x %v (sparse) and %v", c.rt, got, c.x, c.y)
		}
		if e, ok := m.at(5, c.rt); !ok || e.X != c.x {
			t.Errorf("at(5, %v) = %+v, want x %v", c.rt, e, c.x)
		}
	}
	// Changes more than 3 ticks apart: an entity that stopped, then went on.
	m = ringOf([]uint32{10, 11, 12, 13, 14, 15}, [][]netcode.Entity{
		{{ID: 5, X: 0}}, {{ID: 5, X: 6}}, {{ID: 5, X: 6}}, {{ID: 5, X: 6}}, {{ID: 5, X: 6}}, {{ID: 5, X: 12}}})
	if got, _ := m.interpolate(nil, 12.5, 0); got[0].X != 6 {
		t.Errorf("a stopped entity drawn at x %v, want 6", got[0].X)
	}
}

// sparseRing returns a mirror holding ticks from..to of entity 5, at x
// xs(tick) (y 0), the last the newest.
func sparseRing(from, to uint32, xs func(uint32) float32) mirror {
	var ticks []uint32
	var ess [][]netcode.Entity
	for t := from; t <= to; t++ {
		ticks = append(ticks, t)
		ess = append(ess, []netcode.Entity{{ID: 5, X: xs(t)}})
	}
	return ringOf(ticks, ess)
}

// An entity updated every 3rd tick whose next change has not arrived yet
// is moved on at the velocity of its last two changes (instead of holding
// still and then jumping), at most while its next change is due; then
// the slide between its changes takes over, from where it was drawn.
func TestMirrorSparseExtrapolates(t *testing.T) {
	// Updated at 4, 7, 10 moving 10 u/tick; ticks 4..12 held.
	every3 := func(t uint32) float32 { return float32((t-4)/3) * 30 }
	m := sparseRing(4, 12, every3)
	for _, c := range []struct {
		rt float64
		x  float32
	}{{10.5, 65}, {10.9, 69}, {11, 70}, {12, 80}, {13, 80}, {9.5, 55}} {
		got, _ := m.interpolate(nil, c.rt, 0)
		if len(got) != 1 || math.Abs(float64(got[0].X-c.x)) > 1e-3 {
			t.Errorf("rt %v: %+v, want x %v", c.rt, got, c.x)
		}
		if e, ok := m.at(5, c.rt); !ok || math.Abs(float64(e.X-c.x)) > 1e-3 {
			t.Errorf("at(5, %v) = %+v, want x %v", c.rt, e, c.x)
		}
	}
	// Its next change arrives (tick 13, x 90): the slide from 10 to 13
	// draws it where the extrapolation did.
	m = sparseRing(4, 13, every3)
	if got, _ := m.interpolate(nil, 10.5, 0); math.Abs(float64(got[0].X-65)) > 1e-3 {
		t.Errorf("with the next change: x %v at 10.5, want 65", got[0].X)
	}
	// The next change was due at 13 and tick 13 did not move it: it
	// stopped, and holds.
	m = sparseRing(4, 13, func(t uint32) float32 { return float32((min(t, 12)-4)/3) * 30 })
	if got, _ := m.interpolate(nil, 11.5, 0); got[0].X != 60 {
		t.Errorf("a stopped entity drawn at x %v, want 60", got[0].X)
	}
	// Updated every tick up to 10, then still: its next change was due at
	// 11, so it holds (no overshoot).
	m = sparseRing(4, 12, func(t uint32) float32 { return float32(min(t, 10)) * 10 })
	if got, _ := m.interpolate(nil, 10.5, 0); got[0].X != 100 {
		t.Errorf("an entity that stopped drawn at x %v, want 100", got[0].X)
	}
	// Across a jump (a respawn: 30 -> 500): no extrapolation.
	m = sparseRing(4, 12, func(t uint32) float32 { return []float32{0, 0, 0, 30, 30, 30, 500, 500, 500}[t-4] })
	if got, _ := m.interpolate(nil, 10.5, 0); got[0].X != 500 {
		t.Errorf("after a jump: x %v, want 500", got[0].X)
	}
	// No previous change within 3 ticks (6 -> 10): it holds.
	m = sparseRing(4, 12, func(t uint32) float32 { return []float32{0, 0, 10, 10, 10, 10, 40, 40, 40}[t-4] })
	if got, _ := m.interpolate(nil, 10.5, 0); got[0].X != 40 {
		t.Errorf("without a previous change within 3 ticks: x %v, want 40", got[0].X)
	}
}

// The ring holds the largest target delay at the highest tick rate plus
// the changes of a sparse entity around it, and the target delay is never
// below 1 interval, even where InterpMaxDelay is shorter.
func TestMirrorRingCoversMaxDelay(t *testing.T) {
	m := mirror{clock: newInterpClock(128), ring: make([]snap, ringLen(128))}
	for tick := uint32(1); tick <= 300; tick++ {
		m.head = (m.head + 1) % len(m.ring)
		m.ring[m.head] = snap{tick: tick}
		m.n = min(m.n+1, len(m.ring))
	}
	back := math.Ceil(128*InterpMaxDelay.Seconds()) + sparseTicks + 1
	if _, _, _, d := m.pair(300 - back); d.empty {
		t.Errorf("%v ticks behind the newest at 128 Hz: no pair in a ring of %d", back, len(m.ring))
	}
	k := newInterpClock(1)
	t0 := time.Unix(1000, 0)
	for tick := uint32(1); tick <= 10; tick++ {
		k.arrive(tick, t0.Add(time.Duration(tick)*time.Second))
	}
	if k.delay != 1 {
		t.Errorf("target delay %v ticks at 1 Hz, want 1: InterpMaxDelay is shorter than the floor of 1 interval", k.delay)
	}
	k = newInterpClock(1)
	for tick := uint32(1); tick <= 100; tick++ {
		late := time.Duration(0)
		if tick%4 == 0 {
			late = 5 * time.Second
		}
		k.arrive(tick, t0.Add(time.Duration(tick)*time.Second+late))
	}
	if k.delay != 1 {
		t.Errorf("target delay %v ticks at 1 Hz under seconds of jitter, want 1 (the floor)", k.delay)
	}
}

// A render time past the newest snapshot, or before the oldest, has no
// pair around it: the buffer is empty and others are held.
func TestMirrorEmptyBuffer(t *testing.T) {
	m := ringOf([]uint32{10, 11}, [][]netcode.Entity{{{ID: 1, X: 0}}, {{ID: 1, X: 10}}})
	for _, c := range []struct {
		rt    float64
		empty bool
		x     float32
	}{{10.5, false, 5}, {11, false, 10}, {11.01, true, 10}, {14, true, 10}, {9.9, true, 0}, {10, false, 0}} {
		got, d := m.interpolate(nil, c.rt, 0)
		if d.empty != c.empty || len(got) != 1 || got[0].X != c.x {
			t.Errorf("rt %v: empty %v, %+v; want empty %v, x %v", c.rt, d.empty, got, c.empty, c.x)
		}
	}
}

// expectedDelay is the target delay in ms of the rule for a tick of dt ms
// and a jitter p95 of p95 ms: 2 intervals + 1.25 × p95 (spelled out, so
// that a change of the constants fails).
func expectedDelay(dt, p95 float64) float64 { return 2*dt + 1.25*p95 }

// Under synthetic arrival jitter (uniform in [0, 20 ms] above the fastest
// path), the render clock settles at about 2 intervals + 1.25 × the jitter
// p95 behind the server's clock, never runs more than InterpMaxSkew off
// the wall clock once started, and then never finds its buffer empty;
// when the jitter grows, it moves to the new delay smoothly.
func TestInterpClockConverges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := mirror{clock: newInterpClock(30), ring: make([]snap, ringLen(30))}
	k := &m.clock
	dt := k.dt
	t0 := time.Unix(1000, 0)
	const frame = 16 * time.Millisecond
	type arrival struct {
		tick uint32
		at   time.Time
	}
	var arrivals []arrival
	jitterMs := 0.0
	var lats []float64
	schedule := func(from, to uint32) {
		for tick := from; tick < to; tick++ {
			j := rng.Float64() * jitterMs
			lats = append(lats, j)
			arrivals = append(arrivals, arrival{tick, t0.Add(time.Duration(float64(tick)*dt + 20e6 + j*1e6))})
		}
	}
	schedule(1, 300) // 10 s without jitter
	jitterMs = 20
	schedule(300, 900) // 20 s with 20 ms
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return a.at.Compare(b.at) })
	for i := 1; i < len(arrivals); i++ { // in order, as TCP delivers
		if arrivals[i].at.Before(arrivals[i-1].at) {
			arrivals[i].at = arrivals[i-1].at
		}
	}
	next, prev, started := 0, 0.0, false
	empties := 0
	for now := t0; now.Before(t0.Add(30 * time.Second)); now = now.Add(frame) {
		for next < len(arrivals) && !arrivals[next].at.After(now) {
			a := arrivals[next]
			m.ring[(m.head+1)%len(m.ring)] = snap{tick: a.tick}
			m.head = (m.head + 1) % len(m.ring)
			m.n = min(m.n+1, len(m.ring))
			m.tick = a.tick
			k.arrive(a.tick, a.at)
			next++
		}
		rt, ok := k.advance(now)
		if !ok {
			continue
		}
		if started {
			step, wall := rt-prev, float64(frame)/dt
			if math.Abs(step-wall) > InterpMaxSkew*wall+1e-9 {
				t.Fatalf("at %v the render clock moved %.4f ticks in a frame of %.4f", now.Sub(t0), step, wall)
			}
		}
		prev, started = rt, true
		_, _, _, d := m.pair(rt)
		el := now.Sub(t0)
		if d.empty && (el > 3*time.Second && el < 10*time.Second || el > 14*time.Second) {
			empties++
		}
		if el == 9*time.Second+984*time.Millisecond || el == 29*time.Second+984*time.Millisecond {
			want := expectedDelay(dt/1e6, 0)
			if el > 10*time.Second {
				want = expectedDelay(dt/1e6, 19)
			}
			got := k.delay * dt / 1e6
			if math.Abs(got-want) > 3 {
				t.Errorf("at %v: target delay %.1f ms, want about %.1f", el, got, want)
			}
			behind := (k.target(now) - rt) * dt / 1e6
			if math.Abs(behind) > 2 {
				t.Errorf("at %v: render clock %.2f ms off its target", el, behind)
			}
		}
	}
	if empties > 0 {
		t.Errorf("%d frames found the buffer empty once settled", empties)
	}
}

// The client counts the frames it draws, those with an empty buffer, and
// the delay of each behind the newest snapshot.
func TestViewCountsFrames(t *testing.T) {
	c, m := playingClient(t)
	for _, f := range snapshotFrames(m, 10) {
		c.handle(1, f)
	}
	newest := c.world.tick
	var v View
	at := time.Now()
	c.now = func() time.Time { return at }
	set := func(baseTick uint32, delay float64, primed bool) {
		c.mu.Lock()
		c.world.clock = interpClock{dt: c.world.clock.dt, n: 1, base: at, baseTick: baseTick, delay: delay, rate: 1, primed: primed}
		c.mu.Unlock()
	}
	// A new view whose render time has not reached its snapshots yet: the
	// buffer is filling, the frame is not counted.
	set(newest+20, 0, false)
	c.ViewInto(&v)
	if st := c.Stats(); st.Frames != 0 || st.EmptyBuffer != 0 {
		t.Errorf("a frame before the buffer filled counted: %d frames, %d empty", st.Frames, st.EmptyBuffer)
	}
	// 1.52 ticks behind the newest: a pair, about 50.7 ms of delay.
	set(newest-1, 0.52, false)
	c.ViewInto(&v)
	if v.EmptyBuffer || v.RenderTick != newest-2 || math.Abs(float64(v.RenderFrac)-0.48) > 0.01 {
		t.Errorf("view 1.52 ticks behind: empty %v, render %d+%v; want %d+0.48", v.EmptyBuffer, v.RenderTick, v.RenderFrac, newest-2)
	}
	// A render time 20 ticks past the newest snapshot: held, empty.
	set(newest+20, 0, true)
	c.ViewInto(&v)
	if !v.EmptyBuffer || v.RenderTick != newest || v.RenderFrac != 0 {
		t.Errorf("view past the newest: empty %v, render %d+%v; want empty at %d", v.EmptyBuffer, v.RenderTick, v.RenderFrac, newest)
	}
	st := c.Stats()
	if st.Frames != 2 || st.EmptyBuffer != 1 || st.InterpDelay.Count() != 2 {
		t.Errorf("frames %d, empty %d, delay samples %d; want 2, 1, 2", st.Frames, st.EmptyBuffer, st.InterpDelay.Count())
	}
	if p := st.InterpDelay.Percentile(100); p != 50.5 {
		t.Errorf("delay p100 %v ms, want 50.5 (the 50 ms bucket)", p)
	}
	if p := st.InterpDelay.Percentile(50); p != 0.5 {
		t.Errorf("delay p50 %v ms, want 0.5 (the held frame)", p)
	}
}

// selfFrames returns snapshots of match m in which its player's avatar
// (entity 1) stands at xs[k] (y 100) at tick k, acknowledging seq k+1.
func selfFrames(m *netcode.Matched, xs []float32, others ...netcode.Entity) [][]byte {
	return selfFramesHP(m, xs, nil, others...)
}

// selfFramesHP is selfFrames with the avatar's hp at tick k hp[k] (100
// past the end of hp).
func selfFramesHP(m *netcode.Matched, xs []float32, hp []float32, others ...netcode.Entity) [][]byte {
	v := netcode.NewView(&m.Schema, game.NewArena(game.ArenaConfig{}).Spec().Interest)
	frames := make([][]byte, len(xs))
	for k, x := range xs {
		v.Begin(uint32(k + 1))
		self := netcode.Entity{ID: 1, Kind: game.KindPlayer, X: x, Y: 100}
		self.F[game.FieldHP] = 100
		if k < len(hp) {
			self.F[game.FieldHP] = hp[k]
		}
		v.Consider(&self, 0, 0, true)
		for i := range others {
			o := others[i]
			o.X += float32(k) * 3
			dx, dy := o.X-x, o.Y-100
			v.Consider(&o, int32(i+1), dx*dx+dy*dy, false)
		}
		v.Finish()
		h := netcode.SnapshotHeader{Tick: uint32(k + 1), AckSeq: uint32(k + 1)}
		frames[k] = v.AppendSnapshot(nil, &h)
	}
	return frames
}

// A reconciliation that moves the predicted avatar by more than 1 unit
// counts; a smaller one, or a jump the server made by itself (a respawn),
// does not.
func TestCorrectionsOver1u(t *testing.T) {
	c, m := playingClient(t)
	c.predX, c.predY = 100, 100
	for _, f := range selfFrames(m, []float32{100, 100.5, 103, 600}) {
		c.handle(1, f)
	}
	st := c.Stats()
	if st.CorrectionsOver1u != 1 || math.Abs(st.MaxCorrection-2.5) > 0.01 {
		t.Errorf("corrections over 1u %d, max %v; want 1, 2.5", st.CorrectionsOver1u, st.MaxCorrection)
	}
	// Inputs predicted ahead of a death are undone: no correction.
	c, m = playingClient(t)
	c.predX, c.predY = 100, 100
	frames := selfFramesHP(m, []float32{100, 100, 100}, []float32{100, 100, 0})
	c.handle(1, frames[0])
	c.handle(1, frames[1])
	c.mu.Lock()
	c.predX = 110 // as if inputs sent since had moved it
	c.pending = append(c.pending, netcode.Input{Seq: 10, MoveX: 1}, netcode.Input{Seq: 11, MoveX: 1})
	c.mu.Unlock()
	c.handle(1, frames[2])
	if st := c.Stats(); st.CorrectionsOver1u != 0 {
		t.Errorf("a death counted as %d corrections", st.CorrectionsOver1u)
	}
}

// An input pressing an aimed action carries the view time; with AimAt it
// aims from the predicted avatar at the target as drawn at that view
// time, and counts as an aimed shot when the cooldown lets it press.
func TestAimAtDrawnTarget(t *testing.T) {
	c, m := playingClient(t)
	// A test double of a mode's hitscan declaration, found by bit.
	c.matched.Info.Actions = append(c.matched.Info.Actions, netcode.Action{Bit: 5, Name: "zap", CooldownTicks: 30, Aimed: true})
	c.predX, c.predY = 100, 100
	target := netcode.Entity{ID: 7, Kind: game.KindPlayer, X: 200, Y: 160}
	target.F[game.FieldHP] = 100
	for _, f := range selfFrames(m, []float32{100, 100, 100, 100, 100}, target) {
		c.handle(1, f)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Render time 3.5: the target was at x 206 at tick 3, 209 at 4.
	at := time.Now()
	c.world.clock = interpClock{dt: c.world.clock.dt, n: 1, base: at, baseTick: 5, delay: 1.5, rate: 1}
	c.ctl = Control{Buttons: 1 << 5, AimAt: 7, AimX: 1}
	in := c.inputs.next()
	c.aim(&in, at)
	if !in.Pressed(5) || in.ViewTick != 3 || math.Abs(float64(in.ViewFrac)-0.5) > 0.01 {
		t.Fatalf("input %+v: want bit 5 pressed at view time 3 + 0.5", in)
	}
	if dx, dy := in.AimX, in.AimY; math.Abs(float64(dx)-107.5) > 0.1 || math.Abs(float64(dy)-60) > 0.1 {
		t.Errorf("aim (%v, %v), want (107.5, 60): at the target as drawn", dx, dy)
	}
	if c.stats.AimedShots[5] != 1 {
		t.Errorf("aimed shots %v, want 1 at bit 5", c.stats.AimedShots)
	}
	in = c.inputs.next() // within the cooldown: not pressed, no view time
	c.aim(&in, at)
	if in.Pressed(5) || in.ViewTick != 0 || c.stats.AimedShots[5] != 1 {
		t.Errorf("input within the cooldown %+v, shots %v", in, c.stats.AimedShots)
	}
	c.inputs.lastUse[5] = 0
	c.ctl.AimAt = 99 // not in view: not pressed (no uncounted shot), its cooldown given back
	in = c.inputs.next()
	if !in.Pressed(5) {
		t.Fatalf("input %+v: want bit 5 pressed before aim", in)
	}
	if c.aim(&in, at); in.Pressed(5) || in.ViewTick != 0 || c.stats.AimedShots[5] != 1 || c.inputs.lastUse[5] != 0 {
		t.Errorf("input at a target out of view %+v, shots %v, last use %d", in, c.stats.AimedShots, c.inputs.lastUse[5])
	}
	// The target dead in the newest snapshot (drawn alive at the render
	// time): not pressed either, and no shot.
	c.ctl.AimAt = 7
	cur := c.world.cur()
	i := index(cur, 7, -1)
	cur[i].F[game.FieldHP] = 0
	in = c.inputs.next()
	if c.aim(&in, at); in.Pressed(5) || in.ViewTick != 0 || c.stats.AimedShots[5] != 1 || c.inputs.lastUse[5] != 0 {
		t.Errorf("input at a dead target %+v, shots %v, last use %d", in, c.stats.AimedShots, c.inputs.lastUse[5])
	}
	cur[i].F[game.FieldHP] = 100
	// The next input presses it at once: a shot.
	in = c.inputs.next()
	if c.aim(&in, at); !in.Pressed(5) || in.ViewTick != 3 || c.stats.AimedShots[5] != 2 {
		t.Errorf("input after the presses given back %+v, shots %v", in, c.stats.AimedShots)
	}
	// A dead avatar (the mode's immobility holds) is aimed but fires
	// nothing the server could score: no shot.
	c.inputs.lastUse[5] = 0
	c.self = c.world.get(c.matched.Entity)
	c.self.F[game.FieldHP] = 0
	in = c.inputs.next()
	c.aim(&in, at)
	if !in.Pressed(5) || in.ViewTick != 3 || c.stats.AimedShots[5] != 2 {
		t.Errorf("input of a dead avatar %+v, shots %v", in, c.stats.AimedShots)
	}
	c.inputs.lastUse[5] = 0
	c.self.F[game.FieldHP] = 100
	in = c.inputs.next()
	if c.aim(&in, at); c.stats.AimedShots[5] != 3 {
		t.Errorf("input of a living avatar %+v, shots %v", in, c.stats.AimedShots)
	}
}

// A new match's seat forgets Control.AimAt: an entity id of the last
// match is never aimed at in the next.
func TestSeatForgetsAimAt(t *testing.T) {
	c, m := playingClient(t)
	c.SetControl(Control{Buttons: 1, AimAt: 7})
	m2 := *m
	m2.MatchID = "m-next"
	c.onMatched(&m2)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctl.AimAt != 0 || c.ctl.Buttons != 1 {
		t.Errorf("control after a new seat %+v, want AimAt 0 (the rest kept)", c.ctl)
	}
}

func TestRayHits(t *testing.T) {
	for _, c := range []struct {
		x, y, dx, dy, tx, ty, r float32
		hit                     bool
	}{
		{0, 0, 1, 0, 100, 10, 16, true},
		{0, 0, 1, 0, 100, 17, 16, false},
		{0, 0, 1, 0, -100, 0, 16, false}, // behind
		{0, 0, 1, 0, -5, 0, 16, true},    // origin inside
		{0, 0, 0, 0, 10, 0, 16, false},
	} {
		if got := rayHits(c.x, c.y, c.dx, c.dy, c.tx, c.ty, c.r); got != c.hit {
			t.Errorf("%+v: hit %v", c, got)
		}
	}
}

// A caller that keeps its View gets the next ones without an allocation.
func TestViewIntoAllocs(t *testing.T) {
	c, m := playingClient(t)
	for _, f := range snapshotFrames(m, 10) {
		c.handle(1, f)
	}
	var v View
	c.ViewInto(&v)
	if len(v.Entities) == 0 || v.SelfServer.ID != m.Entity {
		t.Fatalf("view: %d entities, self %d", len(v.Entities), v.SelfServer.ID)
	}
	if n := testing.AllocsPerRun(100, func() { c.ViewInto(&v) }); n > 0 {
		t.Errorf("%.1f allocations per ViewInto, want none", n)
	}
}

// The target delay is clamped to InterpMaxDelay however late snapshots
// come.
func TestInterpDelayClamped(t *testing.T) {
	k := newInterpClock(30)
	t0 := time.Unix(1000, 0)
	for tick := uint32(1); tick <= 100; tick++ {
		late := time.Duration(0)
		if tick%4 == 0 {
			late = 2 * time.Second
		}
		k.arrive(tick, t0.Add(time.Duration(tick)*time.Second/30+late))
	}
	if got := time.Duration(k.delay * k.dt); got < InterpMaxDelay-time.Microsecond || got > InterpMaxDelay+time.Microsecond {
		t.Errorf("target delay %v under seconds of jitter, want the clamp %v", got, InterpMaxDelay)
	}
}
