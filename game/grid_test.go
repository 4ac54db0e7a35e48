package game

import (
	"math/rand/v2"
	"testing"

	"skirmish/netcode"
)

// scatter returns n entities at random points of a w×h world.
func scatter(seed uint64, n int, w, h float32) []netcode.Entity {
	rng := rand.New(rand.NewPCG(seed, 1))
	ents := make([]netcode.Entity, n)
	for i := range ents {
		ents[i] = netcode.Entity{ID: uint32(i + 1), Kind: uint8(rng.IntN(3)), X: rng.Float32() * w, Y: rng.Float32() * h}
		ents[i].F[0] = float32(rng.IntN(100))
	}
	return ents
}

// The grid finds every item a brute-force scan finds, each once.
func TestGridMatchesBruteForce(t *testing.T) {
	const w, h = 1000, 700
	for _, cell := range []float32{60, 250, 2000} {
		ents := scatter(3, 500, w, h)
		g := NewGrid(w, h, cell)
		for round := range 2 { // a rebuilt grid answers as a new one
			g.Reset()
			for _, e := range ents {
				g.Add(e.X, e.Y)
			}
			g.Finish()
			rng := rand.New(rand.NewPCG(1, uint64(round)))
			for range 200 {
				x, y, r := rng.Float32()*w, rng.Float32()*h, rng.Float32()*200
				found := map[int32]int{}
				for _, c := range g.Cells(nil, x, y, r) {
					for _, i := range g.Items(c) {
						found[i]++
					}
				}
				for i, e := range ents {
					dx, dy := e.X-x, e.Y-y
					if dx*dx+dy*dy <= r*r && found[int32(i)] == 0 {
						t.Fatalf("cell %v: item %d at distance ≤ %v not found", cell, i, r)
					}
					if found[int32(i)] > 1 {
						t.Fatalf("cell %v: item %d found %d times", cell, i, found[int32(i)])
					}
				}
			}
			for i := range ents { // everything moves for the next round
				ents[i].X = min(ents[i].X+37, w)
			}
		}
	}
}

// Items come out of each cell in the order they were added, and points
// outside the world land in its edge cells.
func TestGridOrderAndEdges(t *testing.T) {
	g := NewGrid(100, 100, 50)
	g.Reset()
	for _, p := range [][2]float32{{10, 10}, {-5, -5}, {60, 10}, {20, 20}, {500, 500}} {
		g.Add(p[0], p[1])
	}
	g.Finish()
	cells := g.Cells(nil, 0, 0, 1)
	if len(cells) != 1 {
		t.Fatalf("a small query at the corner covers %d cells, want 1", len(cells))
	}
	if got := g.Items(cells[0]); len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 3 {
		t.Errorf("corner cell holds %v, want [0 1 3] in order", got)
	}
	far := g.Cells(nil, 100, 100, 1)
	if got := g.Items(far[len(far)-1]); len(got) != 1 || got[0] != 4 {
		t.Errorf("the far corner cell holds %v, want [4] (clamped)", got)
	}
}

func TestGridAllocatesNothing(t *testing.T) {
	ents := scatter(1, 1000, 4000, 4000)
	g := NewGrid(4000, 4000, 250)
	var cells []int32
	step := func() {
		g.Reset()
		for i := range ents {
			g.Add(ents[i].X, ents[i].Y)
		}
		g.Finish()
		cells = g.Cells(cells[:0], 2000, 2000, 600)
	}
	step()
	if a := testing.AllocsPerRun(100, step); a != 0 {
		t.Errorf("a grid rebuild and query allocate %v times", a)
	}
}

// BenchmarkViewDiff measures the views of a 100-player, 1,000-entity match
// at the classic density: per tick one grid build, then for each of the 100
// players the interest query, the diff and the encode. It reports ns and
// allocations per player-tick.
func BenchmarkViewDiff(b *testing.B) {
	s := &netcode.Schema{PosScale: 8, Kinds: []netcode.Kind{{Name: "player", Shape: netcode.ShapeCircle, Color: "#ffffff", Size: 16, Label: netcode.LabelNone, Team: -1},
		{Name: "npc", Shape: netcode.ShapeCircle, Color: "#ffffff", Size: 12, Label: netcode.LabelNone, Team: -1},
		{Name: "projectile", Shape: netcode.ShapeCircle, Color: "#ffffff", Size: 4, Label: netcode.LabelNone, Team: -1}}, Fields: []netcode.Field{{Name: "hp", Scale: 1}}}
	side := float32(2000 * 3.9) // 2000·√(1100/72)
	ents := scatter(1, 1100, side, side)
	in := netcode.Interest{Radius: 500}.WithDefaults()
	g := NewGrid(side, side, in.Radius/2)
	const players = 100
	views := make([]*netcode.View, players)
	for i := range views {
		views[i] = netcode.NewView(s, in)
	}
	var buf []byte
	var cells []int32
	bytes := 0
	tick := func(t uint32) {
		for i := range ents { // everything moves a little
			e := &ents[i]
			e.X = min(max(e.X+float32(int(t+e.ID)%7)-3, 0), side)
			e.Y = min(max(e.Y+float32(int(t*3+e.ID)%7)-3, 0), side)
		}
		g.Reset()
		for i := range ents {
			g.Add(ents[i].X, ents[i].Y)
		}
		g.Finish()
		bytes = 0
		for p, v := range views {
			self := &ents[p*11] // players spread over the entities
			v.Begin(t)
			cells = g.Cells(cells[:0], self.X, self.Y, in.QueryRadius())
			for _, c := range cells {
				for _, i := range g.Items(c) {
					e := &ents[i]
					dx, dy := e.X-self.X, e.Y-self.Y
					v.Consider(e, i, dx*dx+dy*dy, e == self)
				}
			}
			v.Finish()
			h := netcode.SnapshotHeader{Tick: t, AckSeq: t}
			buf = v.AppendSnapshot(buf[:0], &h)
			bytes += len(buf)
		}
	}
	for t := range uint32(10) {
		tick(t)
	}
	t := uint32(10)
	b.ReportAllocs()
	for b.Loop() {
		tick(t)
		t++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/players, "ns/player-tick")
	b.ReportMetric(float64(bytes)/players, "bytes/view")
}
