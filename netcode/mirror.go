package netcode

import "errors"

// ErrBadDiff is returned when a snapshot does not fit the mirror: an
// update or remove of an unknown handle, or a create over a live one.
var ErrBadDiff = errors.New("netcode: snapshot does not fit the mirror")

type mirrorEntry struct {
	live bool
	id   uint32
	kind uint8
	q    [2 + MaxFields]int64
}

// Mirror is a client's copy of its view of the world, kept by applying
// snapshots: it reproduces exactly the quantized values the server last
// sent of every entity in view.
type Mirror struct {
	schema Schema
	ents   []mirrorEntry // by handle
	byID   map[uint32]uint16
	scores map[uint32]Score
}

// NewMirror returns an empty mirror for entities of schema s.
func NewMirror(s *Schema) *Mirror {
	return &Mirror{schema: *s, byID: make(map[uint32]uint16), scores: make(map[uint32]Score)}
}

// Apply applies a snapshot: reset, removes, creates, then updates.
func (m *Mirror) Apply(s *Snapshot) error {
	if s.Reset {
		clear(m.ents)
		clear(m.byID)
		clear(m.scores)
	}
	for _, sc := range s.Scores {
		if sc.Name == "" { // names come once per player
			sc.Name = m.scores[sc.Entity].Name
		}
		m.scores[sc.Entity] = sc
	}
	for _, h := range s.Removes {
		if int(h) >= len(m.ents) || !m.ents[h].live {
			return ErrBadDiff
		}
		delete(m.byID, m.ents[h].id)
		m.ents[h] = mirrorEntry{}
	}
	for i := range s.Creates {
		c := &s.Creates[i]
		if int(c.Handle) >= len(m.ents) {
			m.ents = append(m.ents, make([]mirrorEntry, int(c.Handle)+1-len(m.ents))...)
		}
		if m.ents[c.Handle].live {
			return ErrBadDiff
		}
		m.ents[c.Handle] = mirrorEntry{live: true, id: c.ID, kind: c.Kind, q: c.Q}
		m.byID[c.ID] = c.Handle
	}
	for i := range s.Updates {
		u := &s.Updates[i]
		if int(u.Handle) >= len(m.ents) || !m.ents[u.Handle].live {
			return ErrBadDiff
		}
		e := &m.ents[u.Handle]
		for j := range e.q {
			if u.Mask&(1<<j) != 0 {
				e.q[j] += u.D[j]
			}
		}
	}
	return nil
}

func (m *Mirror) entity(e *mirrorEntry) Entity {
	out := Entity{ID: e.id, Kind: e.kind,
		X: Dequantize(e.q[0], m.schema.PosScale), Y: Dequantize(e.q[1], m.schema.PosScale)}
	for i, f := range m.schema.Fields {
		out.F[i] = Dequantize(e.q[2+i], f.Scale)
	}
	return out
}

// Get returns the entity with id, dequantized, if it is in view.
func (m *Mirror) Get(id uint32) (Entity, bool) {
	h, ok := m.byID[id]
	if !ok {
		return Entity{}, false
	}
	return m.entity(&m.ents[h]), true
}

// Len is the number of entities in view.
func (m *Mirror) Len() int { return len(m.byID) }

// AppendEntities appends every entity in view, dequantized, to dst.
func (m *Mirror) AppendEntities(dst []Entity) []Entity {
	for i := range m.ents {
		if m.ents[i].live {
			dst = append(dst, m.entity(&m.ents[i]))
		}
	}
	return dst
}

// Score returns the score of the player whose avatar is entity, whether
// they are away, and their name.
func (m *Mirror) Score(entity uint32) Score { return m.scores[entity] }
