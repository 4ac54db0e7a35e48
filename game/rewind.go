package game

import (
	"math"

	"skirmish/netcode"
)

// Lag compensation ("rewind"). A client draws the other entities a little
// in the past: between the states of two ticks it received, ViewFrac of the
// way from tick ViewTick to ViewTick+1 (netcode.Input). When it fires at
// what it sees, the rules test the shot against where the targets were at
// that view time, not where they are now. The world keeps the positions of
// its entities at the end of each of the last World.Rewind+1 ticks (the
// state a snapshot of that tick carries) and answers Rewound and RayCast
// from them. A view time is never older than World.Rewind ticks before the
// newest state (ViewOf bounds it), so a client cannot claim it saw what
// it never could, and a target cannot be hit further back than the bound.

// View is a view time: Frac (0 ≤ Frac < 1) of the way from the state at
// the end of tick Tick to the state at the end of tick Tick+1. Build it
// with World.ViewOf, which bounds it.
type View struct {
	Tick uint64
	Frac float32
}

// histEnt is an entity's place at the end of a tick.
type histEnt struct {
	ID           uint32 // 0: no entity in the slot
	X, Y, Radius float32
}

// histEntry is the world at the end of one tick, indexed by entity slot.
type histEntry struct {
	tick  uint64
	valid bool
	ents  []histEnt
}

// history is a ring of the last len(ring) ticks: tick t is at t%len(ring).
// Its entries are allocated once (and grow with the world's slots): record
// allocates nothing in steady state.
type history struct {
	ring []histEntry
}

// record keeps w's entities (those not removed) as the state at the end
// of tick t, in a ring of w.Rewind+1 ticks.
func (w *World) record(t uint64) {
	h := &w.hist
	if size := max(w.Rewind, 0) + 1; len(h.ring) != size {
		h.resize(size)
	}
	e := &h.ring[t%uint64(len(h.ring))]
	e.tick, e.valid = t, true
	n := int(w.slots)
	if cap(e.ents) < n {
		e.ents = make([]histEnt, n, max(n+n/2, 16, cap(w.Entities)))
	}
	e.ents = e.ents[:n]
	clear(e.ents)
	for i := range w.Entities {
		if x := &w.Entities[i]; !x.removed {
			e.ents[x.Slot] = histEnt{ID: x.ID, X: x.X, Y: x.Y, Radius: x.Radius}
		}
	}
}

// resize makes the ring size ticks long, keeping the newest entries.
func (h *history) resize(size int) {
	old := h.ring
	h.ring = make([]histEntry, size)
	var newest uint64
	for i := range old {
		if old[i].valid {
			newest = max(newest, old[i].tick)
		}
	}
	for i := range old {
		if e := old[i]; e.valid && e.tick+uint64(size) > newest {
			h.ring[e.tick%uint64(size)] = e
		}
	}
}

// entry returns the state at the end of tick t, or nil if it is not kept.
func (h *history) entry(t uint64) *histEntry {
	if len(h.ring) == 0 {
		return nil
	}
	if e := &h.ring[t%uint64(len(h.ring))]; e.valid && e.tick == t {
		return e
	}
	return nil
}

// Now is the view time of the newest state sent: the end of the previous
// tick (tick 0: the start).
func (w *World) Now() View {
	if w.Tick == 0 {
		return View{}
	}
	return View{Tick: w.Tick - 1}
}

// ViewOf returns the view time of in, bounded: a view time not given
// (ViewTick 0), in the future or at the newest state is Now; one older
// than World.Rewind ticks before Now is that bound. It depends only on in,
// w.Tick and w.Rewind, so a replay of the same inputs sees the same.
func (w *World) ViewOf(in *netcode.Input) View {
	if in.ViewTick == 0 {
		return w.Now()
	}
	return w.Bound(View{Tick: uint64(in.ViewTick), Frac: in.ViewFrac})
}

// Bound returns v within [Now - Rewind ticks, Now], with Frac in [0, 1).
func (w *World) Bound(v View) View {
	now := w.Now()
	if !(v.Frac > 0) { // and NaN
		v.Frac = 0
	} else if v.Frac >= 1 {
		v.Tick, v.Frac = v.Tick+1, 0
	}
	if v.Tick >= now.Tick {
		return now
	}
	if oldest := now.Tick - min(now.Tick, uint64(max(w.Rewind, 0))); v.Tick < oldest {
		return View{Tick: oldest}
	}
	return v
}

// Lag is how far v is behind Now, in ticks (0 to World.Rewind).
func (w *World) Lag(v View) float32 {
	v = w.Bound(v)
	return float32(w.Now().Tick-v.Tick) - v.Frac
}

// rewound returns the states between which v lies: a, the oldest kept
// state at or after v.Tick within Now (nil if none is kept: a world with
// no history yet), and b, the state after a when v falls between the two
// (else nil); frac is how far between.
func (w *World) rewound(v View) (a, b *histEntry, frac float32) {
	v = w.Bound(v)
	now := w.Now().Tick
	for t := v.Tick; t <= now; t++ {
		if a = w.hist.entry(t); a != nil {
			if t == v.Tick && v.Frac > 0 {
				b, frac = w.hist.entry(t+1), v.Frac
			}
			return a, b, frac
		}
	}
	return nil, nil, 0
}

// at is the place of the entity in slot s at a (interpolated towards b).
// ok is false if no entity with id was there.
func at(a, b *histEntry, frac float32, s int32, id uint32) (x, y, r float32, ok bool) {
	if int(s) >= len(a.ents) || a.ents[s].ID != id {
		return 0, 0, 0, false
	}
	p := a.ents[s]
	x, y, r = p.X, p.Y, p.Radius
	if b != nil && int(s) < len(b.ents) && b.ents[s].ID == id {
		q := b.ents[s]
		x, y = netcode.Lerp(x, y, q.X, q.Y, frac)
	}
	return x, y, r, true
}

// Rewound returns where entity id was at view time v (bounded as Bound
// does), as a client drawing v saw it: between its places at the end of
// ticks v.Tick and v.Tick+1 as netcode.Lerp puts it (a slide, or for a
// jump such as a respawn the nearer end). ok is false for an entity that is not
// in the world now or was not at v.Tick (it did not exist then: it cannot
// be hit at that time). A world that kept no state yet (before its first
// EndTick) answers with the entity's current place. After a restore, the
// states before the checkpoint are not kept: a view older than that is
// answered from the oldest state kept (the checkpoint's).
func (w *World) Rewound(id uint32, v View) (x, y float32, ok bool) {
	e := w.Get(id)
	if e == nil {
		return 0, 0, false
	}
	a, b, frac := w.rewound(v)
	if a == nil {
		return e.X, e.Y, true
	}
	x, y, _, ok = at(a, b, frac, e.Slot, id)
	return x, y, ok
}

// RayCast finds what a ray hits at view time v: from (x, y) along the unit
// vector (dx, dy), up to length, thickened by radius (0: a ray; a shot's
// radius for a sweep). It tests each entity that existed at v.Tick and
// still does, at its place at v (Rewound) as a circle of its Radius, and
// returns the nearest one that accept takes (the mode's rule: who can be
// hit) and the distance along the ray at which it is met; nil if none.
// Equal distances go to the lower slot. accept sees the entity as it is
// now; it is called only for entities the ray meets, nearer than the best
// so far. RayCast allocates nothing.
func (w *World) RayCast(x, y, dx, dy, length, radius float32, v View, accept func(*Entity) bool) (*Entity, float32) {
	a, b, frac := w.rewound(v)
	var best *Entity
	bestD := float32(math.Inf(1))
	consider := func(id uint32, cx, cy, cr float32) {
		d, ok := rayCircle(x, y, dx, dy, length, cx, cy, cr+radius)
		if !ok || d >= bestD {
			return
		}
		if e := w.Get(id); e != nil && accept(e) {
			best, bestD = e, d
		}
	}
	if a == nil { // no state kept yet: the world as it is
		for i := range w.Entities {
			if e := &w.Entities[i]; !e.removed {
				consider(e.ID, e.X, e.Y, e.Radius)
			}
		}
		return best, bestD
	}
	// The ray's bounding box: most entities are far outside it.
	ex, ey := x+dx*length, y+dy*length
	minX, maxX, minY, maxY := min(x, ex), max(x, ex), min(y, ey), max(y, ey)
	for s := range a.ents {
		p := &a.ents[s]
		if p.ID == 0 {
			continue
		}
		cx, cy := p.X, p.Y // as at computes them
		if b != nil && s < len(b.ents) && b.ents[s].ID == p.ID {
			q := &b.ents[s]
			cx, cy = netcode.Lerp(cx, cy, q.X, q.Y, frac)
		}
		if r := p.Radius + radius; cx+r < minX || cx-r > maxX || cy+r < minY || cy-r > maxY {
			continue
		}
		consider(p.ID, cx, cy, p.Radius)
	}
	return best, bestD
}

// rayCircle returns the distance along the ray from (x, y) in the unit
// direction (dx, dy) at which it enters the circle at (cx, cy) of radius
// r (0 if it starts inside), if it does within length.
func rayCircle(x, y, dx, dy, length, cx, cy, r float32) (float32, bool) {
	rx, ry := cx-x, cy-y
	along := rx*dx + ry*dy
	perp2 := rx*rx + ry*ry - along*along
	if rx*rx+ry*ry <= r*r {
		return 0, true
	}
	if along < 0 || perp2 > r*r {
		return 0, false
	}
	d := along - float32(math.Sqrt(float64(r*r-perp2)))
	if d > length {
		return 0, false
	}
	return max(d, 0), true
}
