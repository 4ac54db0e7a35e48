package netcode

import (
	"math/rand/v2"
	"testing"
)

// testWorld is a random world for view tests: entities in reusable slots.
type testWorld struct {
	w, h   float32
	ents   []Entity
	slots  []int32
	nextID uint32
	free   []int32
	nslots int32
	rng    *rand.Rand
}

func newTestWorld(seed uint64, n int, w, h float32) *testWorld {
	tw := &testWorld{w: w, h: h, rng: rand.New(rand.NewPCG(seed, 1))}
	for range n {
		tw.spawn()
	}
	return tw
}

func (tw *testWorld) spawn() {
	tw.nextID++
	var slot int32
	if n := len(tw.free); n > 0 {
		slot, tw.free = tw.free[n-1], tw.free[:n-1]
	} else {
		slot = tw.nslots
		tw.nslots++
	}
	e := Entity{ID: tw.nextID, Kind: uint8(tw.rng.IntN(3)), X: tw.rng.Float32() * tw.w, Y: tw.rng.Float32() * tw.h}
	e.F[0] = float32(tw.rng.IntN(100))
	e.F[1] = tw.rng.Float32() * 6
	tw.ents = append(tw.ents, e)
	tw.slots = append(tw.slots, slot)
}

// change moves, edits, removes and spawns entities at random.
func (tw *testWorld) change() {
	for i := range tw.ents {
		e := &tw.ents[i]
		switch tw.rng.IntN(4) {
		case 0, 1:
			e.X = min(max(e.X+tw.rng.Float32()*40-20, 0), tw.w)
			e.Y = min(max(e.Y+tw.rng.Float32()*40-20, 0), tw.h)
		case 2:
			if tw.rng.IntN(5) == 0 {
				e.F[0] = float32(tw.rng.IntN(100))
			}
			if tw.rng.IntN(5) == 0 {
				e.F[1] = tw.rng.Float32() * 6
			}
		}
	}
	for range tw.rng.IntN(4) {
		if len(tw.ents) > 1 {
			i := 1 + tw.rng.IntN(len(tw.ents)-1) // entity 0 is the viewer
			tw.free = append(tw.free, tw.slots[i])
			last := len(tw.ents) - 1
			tw.ents[i], tw.slots[i] = tw.ents[last], tw.slots[last]
			tw.ents, tw.slots = tw.ents[:last], tw.slots[:last]
		}
	}
	for range tw.rng.IntN(4) {
		tw.spawn()
	}
}

// viewTick runs one tick of v for the viewer (entity 0) and returns the
// encoded snapshot. It considers the entities in the square of the query
// radius around the viewer, as a match's spatial grid (game.Grid) finds
// them, by a scan.
func (tw *testWorld) viewTick(v *View, in *Interest, tick uint32, buf []byte) []byte {
	self := &tw.ents[0]
	r := in.QueryRadius()
	v.Begin(tick)
	for i := range tw.ents {
		e := &tw.ents[i]
		dx, dy := e.X-self.X, e.Y-self.Y
		if dx < -r || dx > r || dy < -r || dy > r {
			continue
		}
		v.Consider(e, tw.slots[i], dx*dx+dy*dy, i == 0)
	}
	v.Finish()
	h := SnapshotHeader{Tick: tick}
	return v.AppendSnapshot(buf[:0], &h)
}

// TestViewDiffsReproduceTheWorld is the property test of the diff: for
// random worlds and random changes, a client mirror fed the encoded
// snapshots holds exactly the server's quantized values of every entity in
// view, whenever the entity was due an update; entities within R are
// always in view and entities beyond 1.15·R never are.
func TestViewDiffsReproduceTheWorld(t *testing.T) {
	s := testSchema()
	for seed := range uint64(20) {
		for _, farEvery := range []int{1, 3} {
			in := Interest{Radius: 150, FarEvery: farEvery}.WithDefaults()
			tw := newTestWorld(seed, 200, 1000, 800)
			v := NewView(s, in)
			mir := NewMirror(s)
			r := NewReader()
			var m ServerMsg
			var buf []byte
			for tick := range uint32(60) {
				if tick > 0 {
					tw.change()
				}
				buf = tw.viewTick(v, &in, tick, buf)
				if err := r.DecodeServer(buf, &m, s); err != nil {
					t.Fatalf("seed %d tick %d: %v", seed, tick, err)
				}
				if err := mir.Apply(&m.Snapshot); err != nil {
					t.Fatalf("seed %d tick %d: %v", seed, tick, err)
				}
				self := tw.ents[0]
				inView := 0
				for _, e := range tw.ents {
					dx, dy := e.X-self.X, e.Y-self.Y
					d2 := dx*dx + dy*dy
					got, ok := mir.Get(e.ID)
					switch {
					case d2 <= in.Radius*in.Radius && !ok:
						t.Fatalf("seed %d tick %d: entity %d within R not in view", seed, tick, e.ID)
					case d2 > in.QueryRadius()*in.QueryRadius() && ok && e.ID != self.ID:
						t.Fatalf("seed %d tick %d: entity %d beyond 1.15R in view", seed, tick, e.ID)
					}
					if !ok {
						continue
					}
					inView++
					near := d2 <= (in.Radius*in.NearFactor)*(in.Radius*in.NearFactor)
					due := near || e.ID == self.ID || (tick+e.ID)%uint32(farEvery) == 0
					if due && got != s.Quantized(e) {
						t.Fatalf("seed %d tick %d: entity %d mirror %+v, server %+v", seed, tick, e.ID, got, s.Quantized(e))
					}
				}
				if inView != mir.Len() || inView != v.Len() {
					t.Fatalf("seed %d tick %d: mirror has %d, view %d, world in view %d", seed, tick, mir.Len(), v.Len(), inView)
				}
			}
		}
	}
}

// Tiers: a far entity is updated every third tick, a near one every tick;
// creates are never delayed.
func TestViewRateTiers(t *testing.T) {
	s := testSchema()
	v := NewView(s, Interest{Radius: 100})
	far := Entity{ID: 2, X: 80}
	near := Entity{ID: 3, X: 10}
	r := NewReader()
	var m ServerMsg
	farUpdates, nearUpdates := 0, 0
	for tick := range uint32(30) {
		far.X, near.X = 80+float32(tick%2), 10+float32(tick%2)
		v.Begin(tick)
		v.Consider(&far, 0, far.X*far.X, false)
		v.Consider(&near, 1, near.X*near.X, false)
		v.Finish()
		if err := r.DecodeServer(v.AppendSnapshot(nil, &SnapshotHeader{Tick: tick}), &m, s); err != nil {
			t.Fatal(err)
		}
		if tick == 0 && len(m.Snapshot.Creates) != 2 {
			t.Fatal("creates delayed")
		}
		for _, u := range m.Snapshot.Updates {
			if u.Handle == 0 {
				farUpdates++
			} else {
				nearUpdates++
			}
		}
	}
	if nearUpdates != 29 || farUpdates < 9 || farUpdates > 10 {
		t.Errorf("near updated %d times, far %d times in 29 ticks", nearUpdates, farUpdates)
	}
}

// benchView sets up one viewer among entities of a 100-player,
// 1,000-entity arena at the classic density.
func benchView() (*testWorld, *View, *Interest) {
	s := &Schema{PosScale: 8, Kinds: testKinds("player", "npc", "projectile"), Fields: []Field{{Name: "hp", Scale: 1}}}
	side := float32(2000 * 3.9) // 2000·√(1100/72)
	tw := newTestWorld(1, 1100, side, side)
	in := Interest{Radius: 500}.WithDefaults()
	return tw, NewView(s, in), &in
}

func TestViewAllocatesNothing(t *testing.T) {
	tw, v, in := benchView()
	var buf []byte
	tick := uint32(0)
	step := func() {
		for i := range tw.ents {
			tw.ents[i].X = min(tw.ents[i].X+1, tw.w)
		}
		buf = tw.viewTick(v, in, tick, buf)
		tick++
	}
	for range 50 {
		step()
	}
	if a := testing.AllocsPerRun(200, step); a != 0 {
		t.Errorf("a view (interest, diff, encode) allocates %v times", a)
	}
}
