package client

import (
	"time"

	"skirmish/netcode"
)

// mirror is the client's copy of its view: the netcode Mirror that applies
// the server's diffs, plus the entities of the last two snapshots so that
// others can be drawn between them.
type mirror struct {
	m               *netcode.Mirror
	prev, cur       []netcode.Entity
	prevAt, curAt   time.Time
	prevIdx, curIdx map[uint32]int
	tick            uint32
}

func newMirror(s *netcode.Schema) mirror {
	return mirror{m: netcode.NewMirror(s), prevIdx: map[uint32]int{}, curIdx: map[uint32]int{}}
}

// apply applies snapshot s, received at at.
func (m *mirror) apply(s *netcode.Snapshot, at time.Time) error {
	if err := m.m.Apply(s); err != nil {
		return err
	}
	m.tick = s.Tick
	m.prev, m.cur = m.cur, m.prev
	m.prevAt, m.curAt = m.curAt, at
	m.prevIdx, m.curIdx = m.curIdx, m.prevIdx
	m.cur = m.m.AppendEntities(m.cur[:0])
	clear(m.curIdx)
	for i, e := range m.cur {
		m.curIdx[e.ID] = i
	}
	return nil
}

func (m *mirror) find(id uint32) (netcode.Entity, bool) {
	if m.m == nil {
		return netcode.Entity{}, false
	}
	return m.m.Get(id)
}

func (m *mirror) get(id uint32) netcode.Entity {
	e, _ := m.find(id)
	return e
}

// interpolate returns the entities in view with every one but self placed
// at time t between the previous and the current snapshot (clamped to
// them).
func (m *mirror) interpolate(t time.Time, self uint32) []netcode.Entity {
	out := append([]netcode.Entity(nil), m.cur...)
	span := m.curAt.Sub(m.prevAt)
	if m.prevAt.IsZero() || span <= 0 {
		return out
	}
	// Snapshots arrive about when they are made, so receive times stand in
	// for server times; t is mapped onto [prevAt, curAt].
	f := float32(t.Sub(m.prevAt)) / float32(span)
	f = min(max(f, 0), 1)
	for i := range out {
		e := &out[i]
		if e.ID == self {
			continue
		}
		j, ok := m.prevIdx[e.ID]
		if !ok {
			continue
		}
		p := m.prev[j]
		e.X = p.X + (e.X-p.X)*f
		e.Y = p.Y + (e.Y-p.Y)*f
	}
	return out
}
