package client

import (
	"time"

	"skirmish/netcode"
)

// mirror is the client's copy of the world: the last two snapshots, so that
// other entities can be drawn between them.
type mirror struct {
	prev, cur       netcode.Snapshot
	prevAt, curAt   time.Time
	prevIdx, curIdx map[uint32]int
}

// push makes s the current snapshot; s is copied.
func (m *mirror) push(s *netcode.Snapshot, at time.Time) {
	m.prev, m.cur = m.cur, m.prev
	m.prevAt, m.curAt = m.curAt, at
	m.prevIdx, m.curIdx = m.curIdx, m.prevIdx
	rejects, events, scores := m.cur.Rejects[:0], m.cur.Events[:0], m.cur.Scores[:0]
	m.cur.SnapshotHeader = s.SnapshotHeader // shares s's slices: replace them
	m.cur.Rejects = append(rejects, s.Rejects...)
	m.cur.Events = append(events, s.Events...)
	m.cur.Scores = append(scores, s.Scores...)
	m.cur.Entities = append(m.cur.Entities[:0], s.Entities...)
	if m.curIdx == nil {
		m.curIdx = make(map[uint32]int, len(s.Entities))
	}
	clear(m.curIdx)
	for i, e := range m.cur.Entities {
		m.curIdx[e.ID] = i
	}
}

func (m *mirror) find(id uint32) (netcode.Entity, bool) {
	i, ok := m.curIdx[id]
	if !ok {
		return netcode.Entity{}, false
	}
	return m.cur.Entities[i], true
}

func (m *mirror) get(id uint32) netcode.Entity {
	e, _ := m.find(id)
	return e
}

// interpolate returns the current entities with every one but self placed
// at time t between the previous and the current snapshot (clamped to
// them).
func (m *mirror) interpolate(t time.Time, self uint32) []netcode.Entity {
	out := append([]netcode.Entity(nil), m.cur.Entities...)
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
		p := m.prev.Entities[j]
		e.X = p.X + (e.X-p.X)*f
		e.Y = p.Y + (e.Y-p.Y)*f
	}
	return out
}
