package client

import (
	"time"

	"skirmish/netcode"
)

// mirror is the client's copy of its view: the netcode Mirror that applies
// the server's diffs, plus the entities of the last two snapshots so that
// others can be drawn between them. The entities of a snapshot are in the
// mirror's handle order, which an entity keeps while it stays in view, so
// an entity's previous state is found at or near its current index: no
// map is kept per snapshot.
type mirror struct {
	m             *netcode.Mirror
	prev, cur     []netcode.Entity
	prevAt, curAt time.Time
	tick          uint32
	self          int // index in cur of the entity last found (a hint)
}

func newMirror(s *netcode.Schema) mirror {
	return mirror{m: netcode.NewMirror(s)}
}

// apply applies snapshot s, received at at.
func (m *mirror) apply(s *netcode.Snapshot, at time.Time) error {
	if err := m.m.Apply(s); err != nil {
		return err
	}
	m.tick = s.Tick
	m.prev, m.cur = m.cur, m.prev
	m.prevAt, m.curAt = m.curAt, at
	m.cur = m.m.AppendEntities(m.cur[:0])
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
	i := index(m.cur, id, m.self)
	if i < 0 {
		return netcode.Entity{}, false
	}
	m.self = i
	return m.cur[i], true
}

func (m *mirror) get(id uint32) netcode.Entity {
	e, _ := m.find(id)
	return e
}

// interpolate appends to dst the entities in view with every one but self
// placed at time t between the previous and the current snapshot (clamped
// to them).
func (m *mirror) interpolate(dst []netcode.Entity, t time.Time, self uint32) []netcode.Entity {
	n := len(dst)
	dst = append(dst, m.cur...)
	out := dst[n:]
	span := m.curAt.Sub(m.prevAt)
	if m.prevAt.IsZero() || span <= 0 {
		return dst
	}
	// Snapshots arrive about when they are made, so receive times stand in
	// for server times; t is mapped onto [prevAt, curAt].
	f := float32(t.Sub(m.prevAt)) / float32(span)
	f = min(max(f, 0), 1)
	j := 0
	for i := range out {
		e := &out[i]
		if e.ID == self {
			continue
		}
		if j = index(m.prev, e.ID, j); j < 0 {
			j = 0
			continue
		}
		p := m.prev[j]
		e.X = p.X + (e.X-p.X)*f
		e.Y = p.Y + (e.Y-p.Y)*f
		j++
	}
	return dst
}
