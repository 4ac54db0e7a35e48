package client

import (
	"testing"
	"time"

	"skirmish/netcode"
)

// Others are drawn between their previous and current positions, found by
// id whatever their order; self, and entities new in view, as they are.
func TestMirrorInterpolate(t *testing.T) {
	t0 := time.Unix(100, 0)
	m := mirror{
		prev:   []netcode.Entity{{ID: 1, X: 0}, {ID: 2, X: 10}, {ID: 3, X: 20}, {ID: 9, X: 5}},
		cur:    []netcode.Entity{{ID: 3, X: 30}, {ID: 1, X: 10}, {ID: 4, X: 7}, {ID: 2, X: 20}},
		prevAt: t0,
		curAt:  t0.Add(100 * time.Millisecond),
	}
	got := m.interpolate(make([]netcode.Entity, 0, 1), t0.Add(25*time.Millisecond), 2)
	want := map[uint32]float32{3: 22.5, 1: 2.5, 4: 7, 2: 20}
	if len(got) != len(want) {
		t.Fatalf("%d entities, want %d", len(got), len(want))
	}
	for _, e := range got {
		if e.X != want[e.ID] {
			t.Errorf("entity %d at x %v, want %v", e.ID, e.X, want[e.ID])
		}
	}
	if e, ok := m.find(4); !ok || e.X != 7 {
		t.Errorf("find(4) = %+v, %v", e, ok)
	}
	if _, ok := m.find(9); ok {
		t.Errorf("find(9): an entity that left view was found")
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
