package client

import (
	"math"
	"time"

	"skirmish/netcode"
)

// snapRing is how many snapshots the mirror keeps to draw others between:
// at least InterpMaxDelay of them at the usual tick rates (30 Hz: 1 s).
const snapRing = 32

// snap is the entities of one snapshot, in the mirror's handle order.
type snap struct {
	tick uint32
	es   []netcode.Entity
}

// mirror is the client's copy of its view: the netcode Mirror that applies
// the server's diffs, plus the entities of the last snapRing snapshots so
// that others can be drawn between the two around the render time (see
// interpClock). The entities of a snapshot are in the mirror's handle
// order, which an entity keeps while it stays in view, so an entity's
// previous state is found at or near its current index: no map is kept
// per snapshot.
type mirror struct {
	m     *netcode.Mirror
	ring  [snapRing]snap
	n     int // snapshots held
	head  int // index in ring of the newest
	tick  uint32
	self  int // index in the newest of the entity last found (a hint)
	clock interpClock
}

func newMirror(s *netcode.Schema, tickRate uint32) mirror {
	return mirror{m: netcode.NewMirror(s), clock: newInterpClock(tickRate)}
}

// cur returns the entities of the newest snapshot.
func (m *mirror) cur() []netcode.Entity { return m.ring[m.head].es }

// apply applies snapshot s, received at at.
func (m *mirror) apply(s *netcode.Snapshot, at time.Time) error {
	if err := m.m.Apply(s); err != nil {
		return err
	}
	m.tick = s.Tick
	next := (m.head + 1) % snapRing
	if m.n == 0 {
		next = 0
	}
	m.ring[next].tick = s.Tick
	m.ring[next].es = m.m.AppendEntities(m.ring[next].es[:0])
	m.head = next
	m.n = min(m.n+1, snapRing)
	m.clock.arrive(s.Tick, at)
	return nil
}

// index returns the index of the entity with id in es, looking first at
// hint; -1 if it is not there.
func index(es []netcode.Entity, id uint32, hint int) int {
	if hint >= 0 && hint < len(es) && es[hint].ID == id {
		return hint
	}
	for i := range es {
		if es[i].ID == id {
			return i
		}
	}
	return -1
}

// find returns the entity with id as of the last snapshot, if it is in
// view.
func (m *mirror) find(id uint32) (netcode.Entity, bool) {
	cur := m.cur()
	i := index(cur, id, m.self)
	if i < 0 {
		return netcode.Entity{}, false
	}
	m.self = i
	return cur[i], true
}

func (m *mirror) get(id uint32) netcode.Entity {
	e, _ := m.find(id)
	return e
}

// drawn is what the mirror draws at a render time: the render time
// clamped to the snapshots held (in ticks), and whether the buffer was
// empty there (no pair of snapshots around the render time: others are
// held at the newest or the oldest snapshot).
type drawn struct {
	rt    float64
	empty bool
	ok    bool // there is a snapshot
}

// viewTime returns the render time as an input's view time: the tick and
// the fraction of the way to the next one. 0, 0 without a snapshot.
func (d drawn) viewTime() (uint32, float32) {
	if !d.ok || d.rt < 0 {
		return 0, 0
	}
	t := math.Floor(d.rt)
	return uint32(t), float32(d.rt - t)
}

// pair returns the snapshots around render time rt (ticks): a at or before
// it, b after it, and the fraction f of the way from a to b; with an empty
// buffer, b is the newest (or oldest) snapshot and a is b.
func (m *mirror) pair(rt float64) (a, b *snap, f float32, d drawn) {
	d.ok = m.n > 0
	if !d.ok {
		return nil, nil, 0, d
	}
	b = &m.ring[m.head]
	if rt >= float64(b.tick) {
		d.rt, d.empty = float64(b.tick), rt > float64(b.tick)
		return b, b, 0, d
	}
	for i := 1; i < m.n; i++ {
		a = &m.ring[(m.head-i+snapRing)%snapRing]
		if float64(a.tick) <= rt {
			d.rt = rt
			return a, b, float32((rt - float64(a.tick)) / float64(b.tick-a.tick)), d
		}
		b = a
	}
	d.rt, d.empty = float64(b.tick), true // older than every snapshot held
	return b, b, 0, d
}

// interpolate appends to dst the entities in view at render time rt
// (ticks), every one but self placed between the snapshots around it, and
// self as of the newest snapshot.
func (m *mirror) interpolate(dst []netcode.Entity, rt float64, self uint32) ([]netcode.Entity, drawn) {
	a, b, f, d := m.pair(rt)
	if !d.ok {
		return dst, d
	}
	n := len(dst)
	dst = append(dst, b.es...)
	out := dst[n:]
	hasSelf := false
	j := 0
	for i := range out {
		e := &out[i]
		if e.ID == self {
			hasSelf = true
			if s, ok := m.find(self); ok {
				*e = s
			}
			continue
		}
		if a == b {
			continue
		}
		if j = index(a.es, e.ID, j); j < 0 {
			j = 0
			continue
		}
		p := a.es[j]
		e.X = p.X + (e.X-p.X)*f
		e.Y = p.Y + (e.Y-p.Y)*f
		j++
	}
	if !hasSelf && self != 0 {
		if s, ok := m.find(self); ok {
			dst = append(dst, s)
		}
	}
	return dst, d
}

// at returns the entity with id as drawn at render time rt, if it is in
// view there.
func (m *mirror) at(id uint32, rt float64) (netcode.Entity, bool) {
	a, b, f, d := m.pair(rt)
	if !d.ok {
		return netcode.Entity{}, false
	}
	i := index(b.es, id, -1)
	if i < 0 {
		return netcode.Entity{}, false
	}
	e := b.es[i]
	if a != b {
		if j := index(a.es, id, i); j >= 0 {
			p := a.es[j]
			e.X = p.X + (e.X-p.X)*f
			e.Y = p.Y + (e.Y-p.Y)*f
		}
	}
	return e, true
}
