package client

import (
	"math"
	"time"

	"skirmish/netcode"
)

// maxTickRate is the highest tick rate a server runs (match.Config).
const maxTickRate = 128

// ringLen returns how many snapshots the mirror keeps to draw others
// between at tickRate: InterpMaxDelay of them (the largest target delay),
// plus sparseTicks (the changes of an entity updated every few ticks
// around the render time), InterpSnapTicks (how far the render clock may
// lag its target before it jumps) and the pair's older end; at least 32
// (about 1 s at 30 Hz). At 128 Hz: 84.
func ringLen(tickRate uint32) int {
	r := min(max(tickRate, 1), maxTickRate)
	n := int(math.Ceil(float64(r)*InterpMaxDelay.Seconds())) + sparseTicks + InterpSnapTicks + 2
	return max(n, 32)
}

// snap is the entities of one snapshot, in the mirror's handle order.
type snap struct {
	tick uint32
	es   []netcode.Entity
}

// mirror is the client's copy of its view: the netcode Mirror that applies
// the server's diffs, plus the entities of the last ringLen snapshots so
// that others can be drawn between the two around the render time (see
// interpClock). The entities of a snapshot are in the mirror's handle
// order, which an entity keeps while it stays in view, so an entity's
// previous state is found at or near its current index: no map is kept
// per snapshot.
type mirror struct {
	m     *netcode.Mirror
	ring  []snap // ringLen(tick rate) of them
	n     int    // snapshots held
	head  int    // index in ring of the newest
	tick  uint32
	self  int // index in the newest of the entity last found (a hint)
	clock interpClock
}

func newMirror(s *netcode.Schema, tickRate uint32) mirror {
	return mirror{m: netcode.NewMirror(s), ring: make([]snap, ringLen(tickRate)), clock: newInterpClock(tickRate)}
}

// cur returns the entities of the newest snapshot (none before a match:
// the zero mirror has no ring).
func (m *mirror) cur() []netcode.Entity {
	if m.n == 0 {
		return nil
	}
	return m.ring[m.head].es
}

// apply applies snapshot s, received at at.
func (m *mirror) apply(s *netcode.Snapshot, at time.Time) error {
	if err := m.m.Apply(s); err != nil {
		return err
	}
	m.tick = s.Tick
	next := (m.head + 1) % len(m.ring)
	if m.n == 0 {
		next = 0
	}
	m.ring[next].tick = s.Tick
	m.ring[next].es = m.m.AppendEntities(m.ring[next].es[:0])
	m.head = next
	m.n = min(m.n+1, len(m.ring))
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
	if t < 1 {
		// Tick 0 cannot be named (0: not given): the nearest time that can.
		return 1, 0
	}
	return uint32(t), float32(d.rt - t)
}

// sparseTicks: an entity far from the avatar is updated every 3rd tick
// only (PROTOCOL.md §10), holding still in between; two changes of its
// position at most this many ticks apart are interpolated across, and
// past its last change it is moved on while its next one is due (see
// extrapolate; the browser's interp.js does the same).
const sparseTicks = 3

// snapAt returns the snapshot of age k (0: the newest; k < m.n).
func (m *mirror) snapAt(k int) *snap { return &m.ring[(m.head-k+len(m.ring))%len(m.ring)] }

// pair returns the ages of the snapshots around render time rt (ticks): ka
// at or before it, kb after it (ka = kb + 1), and the fraction f of the way
// from ka to kb; with an empty buffer, kb is the newest (or oldest)
// snapshot and ka is kb.
func (m *mirror) pair(rt float64) (ka, kb int, f float32, d drawn) {
	d.ok = m.n > 0
	if !d.ok {
		return 0, 0, 0, d
	}
	if b := m.snapAt(0); rt >= float64(b.tick) {
		d.rt, d.empty = float64(b.tick), rt > float64(b.tick)
		return 0, 0, 0, d
	}
	for k := 1; k < m.n; k++ {
		a, b := m.snapAt(k), m.snapAt(k-1)
		if float64(a.tick) <= rt {
			d.rt = rt
			return k, k - 1, float32((rt - float64(a.tick)) / float64(b.tick-a.tick)), d
		}
	}
	d.rt, d.empty = float64(m.snapAt(m.n-1).tick), true // older than every snapshot held
	return m.n - 1, m.n - 1, 0, d
}

// pos returns where the entity id is in the snapshot of age k, looking
// first at hint (its index there, maybe).
func (m *mirror) pos(k int, id uint32, hint int) (x, y float32, i int) {
	es := m.snapAt(k).es
	if i = index(es, id, hint); i >= 0 {
		return es[i].X, es[i].Y, i
	}
	return 0, 0, -1
}

// moved reports whether the snapshot of age k changed the position of the
// entity id (or brought it into view); false for the oldest snapshot
// held, whose predecessor is gone.
func (m *mirror) moved(k int, id uint32, hint int) bool {
	if k+1 >= m.n {
		return false
	}
	x, y, i := m.pos(k, id, hint)
	if i < 0 {
		return false
	}
	px, py, j := m.pos(k+1, id, i)
	return j < 0 || px != x || py != y
}

// place sets e's position (e is the entity as of the snapshot of age kb,
// at index ib there) at render time rt, between the snapshots of ages ka
// and kb (f of the way), or across the changes of its position around
// them when it is updated only every few ticks. hint is its index in
// snapshot ka, maybe; place returns its index there (-1: not there). An
// entity keeps its index from snapshot to snapshot while the view's
// handles stay put, so every lookup starts at the index it had in the
// next snapshot: a frame costs about one comparison per entity and
// snapshot looked at.
func (m *mirror) place(e *netcode.Entity, ib, ka, kb int, rt float64, f float32, hint int) int {
	ax, ay, j := m.pos(ka, e.ID, hint)
	if j < 0 {
		return -1 // new in view: as it is
	}
	if !m.moved(kb, e.ID, ib) || !m.moved(ka, e.ID, j) {
		k0 := ka
		for k0 < m.n-1 && !m.moved(k0, e.ID, j) && m.snapAt(ka).tick-m.snapAt(k0).tick < sparseTicks {
			k0++
		}
		k1 := kb
		for k1 > 0 && !m.moved(k1, e.ID, ib) && m.snapAt(k1).tick-m.snapAt(kb).tick < sparseTicks {
			k1--
		}
		t0, t1 := m.snapAt(k0).tick, m.snapAt(k1).tick
		if m.moved(k0, e.ID, j) && m.moved(k1, e.ID, ib) && t1-t0 <= sparseTicks {
			x0, y0, i0 := m.pos(k0, e.ID, j)
			x1, y1, i1 := m.pos(k1, e.ID, ib)
			if i0 >= 0 && i1 >= 0 {
				g := float32(min(max((rt-float64(t0))/float64(t1-t0), 0), 1))
				e.X, e.Y = netcode.Lerp(x0, y0, x1, y1, g)
				return j
			}
		}
		if m.extrapolate(e, k0, rt, j) {
			return j
		}
	}
	e.X, e.Y = netcode.Lerp(ax, ay, e.X, e.Y, f)
	return j
}

// extrapolate places e at render time rt ahead of its last change of
// position, when that change (in the snapshot of age k0, at tick t0, at or
// before rt; hint its index there, maybe) is the newest held and its next
// one is still due: an entity updated every few ticks only would
// otherwise hold still until its next change arrives, then jump. The
// velocity is that from its previous change (tick tp, t0 − tp <=
// sparseTicks), and the next change is due at t0 + (t0 − tp): only while
// the newest snapshot is before that is e moved on, by rt − t0 (at most
// sparseTicks ticks). No extrapolation across a jump (netcode.JumpDistance),
// nor without a previous change within sparseTicks: e holds. It reports
// whether it placed e. The browser's interp.js does the same.
func (m *mirror) extrapolate(e *netcode.Entity, k0 int, rt float64, hint int) bool {
	if k0 >= m.n || !m.moved(k0, e.ID, hint) {
		return false
	}
	t0 := m.snapAt(k0).tick
	if m.snapAt(0).tick-t0 >= sparseTicks {
		return false
	}
	x0, y0, i0 := m.pos(k0, e.ID, hint)
	kp := k0 + 1
	for kp < m.n && t0-m.snapAt(kp).tick <= sparseTicks && !m.moved(kp, e.ID, i0) {
		kp++
	}
	if kp >= m.n || t0-m.snapAt(kp).tick > sparseTicks {
		return false // no previous change within sparseTicks: hold
	}
	gap := t0 - m.snapAt(kp).tick
	if m.snapAt(0).tick-t0 >= gap {
		return false // its next change was due and did not come: it stopped
	}
	for k := 0; k < k0; k++ {
		if m.moved(k, e.ID, i0) {
			return false // a later change arrived
		}
	}
	xp, yp, ip := m.pos(kp, e.ID, i0)
	dx, dy := x0-xp, y0-yp
	if ip < 0 || abs32(dx)+abs32(dy) > netcode.JumpDistance {
		return false
	}
	s := float32(min(max(rt-float64(t0), 0), sparseTicks) / float64(gap))
	e.X, e.Y = x0+dx*s, y0+dy*s
	return true
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// interpolate appends to dst the entities in view at render time rt
// (ticks), every one but self placed between the snapshots around it (at
// or past the newest, as of the newest, but for an entity updated every
// few ticks that place moves on: see extrapolate), and self as of the
// newest snapshot.
func (m *mirror) interpolate(dst []netcode.Entity, rt float64, self uint32) ([]netcode.Entity, drawn) {
	ka, kb, f, d := m.pair(rt)
	if !d.ok {
		return dst, d
	}
	n := len(dst)
	dst = append(dst, m.snapAt(kb).es...)
	out := dst[n:]
	hasSelf := false
	off := 0 // an entity's index in ka less its index in kb, as last found
	for i := range out {
		e := &out[i]
		if e.ID == self {
			hasSelf = true
			if s, ok := m.find(self); ok {
				*e = s
			}
			continue
		}
		if ka == kb && kb != 0 {
			continue // older than every snapshot held: as it is
		}
		if j := m.place(e, i, ka, kb, d.rt, f, i+off); j >= 0 {
			off = j - i
		}
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
	ka, kb, f, d := m.pair(rt)
	if !d.ok {
		return netcode.Entity{}, false
	}
	es := m.snapAt(kb).es
	i := index(es, id, -1)
	if i < 0 {
		return netcode.Entity{}, false
	}
	e := es[i]
	if ka != kb || kb == 0 {
		m.place(&e, i, ka, kb, d.rt, f, i)
	}
	return e, true
}
