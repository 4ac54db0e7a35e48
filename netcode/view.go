package netcode

import "math"

// Interest says which entities a player sees and how often they change.
type Interest struct {
	// Radius is R: an entity enters the view within R of the viewer.
	Radius float32
	// LeaveFactor: an entity leaves the view beyond LeaveFactor·R
	// (hysteresis, so that entities at the edge do not flap); default 1.15.
	LeaveFactor float32
	// NearFactor: entities within NearFactor·R are updated every tick;
	// default 0.5.
	NearFactor float32
	// FarEvery: farther entities are updated every FarEvery-th tick;
	// default 3. Creates and removes are never delayed.
	FarEvery int
	// FullSnapshots sends every entity of the match in full every tick (a
	// reset and creates only), as protocol version 1 of the foundation
	// did; for comparisons.
	FullSnapshots bool
}

// WithDefaults returns i with its zero fields defaulted.
func (i Interest) WithDefaults() Interest {
	if i.LeaveFactor <= 0 {
		i.LeaveFactor = 1.15
	}
	if i.NearFactor <= 0 {
		i.NearFactor = 0.5
	}
	if i.FarEvery <= 0 {
		i.FarEvery = 3
	}
	return i
}

// QueryRadius is the half-side of the square a grid query must cover.
func (i *Interest) QueryRadius() float32 { return i.Radius * i.LeaveFactor }

// viewEntry is what a view last sent of one entity it knows. Its values
// as sent (x, y and the schema's fields, quantized) are in View.qs, at
// the entry's index times View.nq.
type viewEntry struct {
	id     uint32
	slot   int32  // the entity's world slot
	seen   uint32 // epoch of the last Consider
	handle uint16
}

// View is one player's view of the world: what was last sent to them of
// each entity, so that each snapshot carries only creates, changed fields
// and removes. Entities travel under per-view handles (small integers,
// usually one byte) instead of their IDs, which a create maps once.
//
// A tick's use: Begin, Consider every candidate entity, Finish, then
// AppendSnapshot. Calling Begin commits to sending the result: skip a
// congested player's view before Begin, and the next diff is still taken
// against what was really sent. A View allocates only while it grows.
type View struct {
	schema *Schema
	in     Interest
	enter2 float32
	leave2 float32
	near2  float32

	// The table is sparse: a view knows a few dozen of the world's
	// entities, so only those have an entry. idx maps a world slot to
	// its entry's index in known plus one (0: nothing known there);
	// known keeps the order in which entities entered the view.
	idx   []uint16
	known []viewEntry
	qs    []int32  // known[i]'s values as sent: qs[i*nq : (i+1)*nq]
	nq    int      // 2 + the schema's fields
	free  []uint16 // handles to reuse
	next  uint16   // next new handle
	epoch uint32
	tick  uint32
	reset bool

	scores   []Score // last sent, by entity
	scoreOut []Score

	creates, updates, removes []byte
	nc, nu, nr                int
}

// NewView returns an empty view; its first snapshot is a full view.
func NewView(s *Schema, in Interest) *View {
	in = in.WithDefaults()
	v := &View{schema: s, in: in, reset: true, nq: 2 + len(s.Fields)}
	v.enter2 = in.Radius * in.Radius
	l := in.Radius * in.LeaveFactor
	v.leave2 = l * l
	n := in.Radius * in.NearFactor
	v.near2 = n * n
	return v
}

// Reset forgets everything: the next snapshot clears the client's mirror
// and sends a full view (on join and on reconnect).
func (v *View) Reset() {
	for i := range v.known {
		v.idx[v.known[i].slot] = 0
	}
	v.known, v.qs = v.known[:0], v.qs[:0]
	v.free = v.free[:0]
	v.next = 0
	clear(v.scores)
	v.reset = true
}

// Begin starts the view of tick.
func (v *View) Begin(tick uint32) {
	if v.in.FullSnapshots {
		v.Reset()
	}
	v.epoch++
	v.tick = tick
	v.creates, v.updates, v.removes = v.creates[:0], v.updates[:0], v.removes[:0]
	v.nc, v.nu, v.nr = 0, 0, 0
}

// Knows reports whether the player has entity id (in world slot) in view.
func (v *View) Knows(slot int32, id uint32) bool {
	if slot < 0 || int(slot) >= len(v.idx) || v.idx[slot] == 0 {
		return false
	}
	return v.known[v.idx[slot]-1].id == id
}

// Consider offers entity e, which lives in world slot, at squared distance
// d2 from the viewer. self forces it into the view at full rate (the
// viewer's own avatar).
func (v *View) Consider(e *Entity, slot int32, d2 float32, self bool) {
	if int(slot) >= len(v.idx) {
		v.grow(int(slot) + 1)
	}
	k := int(v.idx[slot]) - 1
	known := k >= 0 && v.known[k].id == e.ID
	if !self && !v.in.FullSnapshots {
		if known && d2 > v.leave2 || !known && d2 > v.enter2 {
			return // out: Finish removes it if it was known
		}
	}
	if known && !self && d2 > v.near2 && (v.tick+e.ID)%uint32(v.in.FarEvery) != 0 {
		v.known[k].seen = v.epoch
		return // far tier: not this tick (nor its quantization)
	}
	var q [2 + MaxFields]int32
	v.quantize(e, &q)
	if known {
		v.known[k].seen = v.epoch
		v.appendUpdate(&v.known[k], v.qs[k*v.nq:(k+1)*v.nq], &q)
		return
	}
	if k >= 0 { // the slot was reused: the old entity is gone
		v.remove(&v.known[k])
	} else {
		k = len(v.known)
		v.known = append(v.known, viewEntry{})
		v.qs = append(v.qs, q[:v.nq]...)
		v.idx[slot] = uint16(k + 1)
	}
	ent := &v.known[k]
	ent.id, ent.slot, ent.seen = e.ID, slot, v.epoch
	copy(v.qs[k*v.nq:], q[:v.nq])
	ent.handle = v.handle()
	v.appendCreate(ent.handle, e, &q)
}

// Finish removes the entities known but not seen since Begin.
func (v *View) Finish() {
	j := 0
	for i := range v.known {
		ent := &v.known[i]
		if ent.seen != v.epoch {
			v.remove(ent)
			v.idx[ent.slot] = 0
			continue
		}
		if j != i {
			v.known[j] = *ent
			copy(v.qs[j*v.nq:(j+1)*v.nq], v.qs[i*v.nq:(i+1)*v.nq])
			v.idx[ent.slot] = uint16(j + 1)
		}
		j++
	}
	v.known, v.qs = v.known[:j], v.qs[:j*v.nq]
}

// Len is the number of entities in view.
func (v *View) Len() int { return len(v.known) }

// DiffScores returns the entries of all that changed since they were last
// sent to this player (every entry after a reset). An entry carries its
// Name only the first time this view sends the seat's player (a new
// Entity in the seat, or after a reset). all is indexed by seat:
// the same index must mean the same seat every tick (an empty seat has
// Entity 0). The result is valid until the next call.
func (v *View) DiffScores(all []Score) []Score {
	v.scoreOut = v.scoreOut[:0]
	if len(v.scores) != len(all) {
		v.scores = append(v.scores[:0], make([]Score, len(all))...)
	}
	for i, s := range all {
		if s != v.scores[i] {
			first := s.Entity != v.scores[i].Entity // the player's first entry here
			v.scores[i] = s
			if s.Entity != 0 {
				if !first {
					s.Name = "" // sent once per view
				}
				v.scoreOut = append(v.scoreOut, s)
			}
		}
	}
	return v.scoreOut
}

// AppendSnapshot appends the snapshot frame of this tick: h and the view's
// creates, updates and removes (layout: snapshot.go). It clears the reset
// flag.
func (v *View) AppendSnapshot(dst []byte, h *SnapshotHeader) []byte {
	dst = appendSnapshot(dst, h, &snapshotBody{
		reset:   v.reset,
		updates: v.updates, nu: v.nu,
		creates: v.creates, nc: v.nc,
		removes: v.removes, nr: v.nr,
	})
	v.reset = false
	return dst
}

// Reserve makes room for world slots below n, so that the view does not
// grow during play. It costs 2 bytes a slot; the entries themselves grow
// with the number of entities in view, up to the most seen at once.
func (v *View) Reserve(n int) {
	switch {
	case n <= len(v.idx):
	case n <= cap(v.idx):
		v.idx = v.idx[:n]
	default:
		// Exactly n: every player has a view; only growth during play
		// doubles.
		idx := make([]uint16, n)
		copy(idx, v.idx)
		v.idx = idx
	}
}

func (v *View) grow(n int) {
	if n <= cap(v.idx) {
		v.idx = v.idx[:n]
		return
	}
	idx := make([]uint16, n, max(2*n, 64))
	copy(idx, v.idx)
	v.idx = idx
}

func (v *View) handle() uint16 {
	if n := len(v.free); n > 0 {
		h := v.free[n-1]
		v.free = v.free[:n-1]
		return h
	}
	v.next++
	return v.next - 1
}

func (v *View) remove(ent *viewEntry) {
	v.removes = appendUint(v.removes, uint64(ent.handle))
	v.nr++
	v.free = append(v.free, ent.handle)
}

// quantize stores e's values as sent; values beyond int32 are clamped.
func (v *View) quantize(e *Entity, q *[2 + MaxFields]int32) {
	q[0] = clamp32(Quantize(e.X, v.schema.PosScale))
	q[1] = clamp32(Quantize(e.Y, v.schema.PosScale))
	for i, f := range v.schema.Fields {
		q[2+i] = clamp32(Quantize(e.F[i], f.Scale))
	}
}

func clamp32(q int64) int32 { return int32(min(max(q, math.MinInt32), math.MaxInt32)) }

func (v *View) appendCreate(h uint16, e *Entity, q *[2 + MaxFields]int32) {
	n := 2 + len(v.schema.Fields)
	v.creates = appendArray(v.creates, 3+n)
	v.creates = appendUint(v.creates, uint64(h))
	v.creates = appendUint(v.creates, uint64(e.ID))
	v.creates = appendUint(v.creates, uint64(e.Kind))
	for i := range n {
		v.creates = appendInt(v.creates, int64(q[i]))
	}
	v.nc++
}

// appendUpdate appends the update of the values that changed, and records q
// as sent. The common update, x and y changed and nothing else, is
// handle·2 followed by the two deltas; any other is handle·2+1, the mask of
// the changed values, then their deltas in bit order.
func (v *View) appendUpdate(ent *viewEntry, sent []int32, q *[2 + MaxFields]int32) {
	var mask uint64
	for i, s := range sent {
		if q[i] != s {
			mask |= 1 << i
		}
	}
	if mask == 0 {
		return
	}
	if mask == updateXY {
		v.updates = appendUint(v.updates, uint64(ent.handle)<<1)
		v.nu++
	} else {
		v.updates = appendUint(v.updates, uint64(ent.handle)<<1|1)
		v.updates = appendUint(v.updates, mask)
		v.nu += 2
	}
	for i, s := range sent {
		if mask&(1<<i) != 0 {
			v.updates = appendInt(v.updates, int64(q[i])-int64(s))
			v.nu++
		}
	}
	copy(sent, q[:len(sent)])
}
