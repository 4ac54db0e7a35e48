package netcode

import (
	"math"
	"math/bits"
)

// Reject reports an input that was not applied, and why.
type Reject struct {
	Seq  uint32
	Code uint8
}

// Event is something that happened during a tick; its Type and the meaning
// of A and B are declared by the mode (ModeInfo.Events).
type Event struct {
	Type uint8
	A, B uint32
}

// Score is one seated player's score, keyed by their avatar, and whether
// they are away (disconnected, their seat held). Name is the player's name:
// a view sends it the first time it sends the player's entry (every entry of
// a full view, the entry of a player seated since), and "" otherwise, so
// that names cost no bytes after that.
type Score struct {
	Entity uint32
	Score  int32
	Away   bool
	Name   string
}

// SnapshotHeader is the part of a snapshot that is not the view: the
// tick, the player's acks and rejects, the events they can see, changed
// scores and the input lead.
type SnapshotHeader struct {
	Tick    uint32
	AckSeq  uint32
	Rejects []Reject
	Events  []Event
	// Scores are the scores that changed since the last snapshot (all of
	// them in a full view).
	Scores []Score
	// LeadUs is how long before the tick that applied it the player's
	// input applied this tick arrived, in microseconds; HasLead is false
	// when no input was applied this tick.
	LeadUs  int32
	HasLead bool
}

// Create is a decoded create: an entity entering the view under Handle,
// with quantized values Q (x, y, then the schema's fields).
type Create struct {
	Handle uint16
	ID     uint32
	Kind   uint8
	Q      [2 + MaxFields]int64
}

// Update is a decoded update: the values whose bit is set in Mask changed
// by D[i] (quantized steps).
type Update struct {
	Handle uint16
	Mask   uint16
	D      [2 + MaxFields]int64
}

// Snapshot is a decoded snapshot.
type Snapshot struct {
	SnapshotHeader
	// Reset: clear the mirror before applying the creates (a full view).
	Reset   bool
	Creates []Create
	Updates []Update
	Removes []uint16
}

// The snapshot frame: its layout, its encoder (appendSnapshot, which
// View.AppendSnapshot calls with the view's encoded entities) and its
// decoder (Reader.decodeSnapshot), in one place.
//
// A snapshot frame (protocol versions 2 and 3) is
//
//	[3, tick, ackSeq, flags, updates, lead?, rejects?, events?, scores?, creates?, removes?]
//
// Its first snapFixed elements are always there; each optional part
// follows only when its bit of flags is set, in this order. A snapshot of
// a player who just moved on, with nothing else to say, is tick, ackSeq,
// flags, the updates and the lead.
//
// updates is one flat array: per entity, handle·2 dx dy (x and y changed,
// nothing else), or handle·2+1 mask d… (one d per set bit of mask, in bit
// order: x, y, then the schema's fields). A create is [handle, id, kind,
// x, y, field…], all quantized; a remove is a handle. View encodes them
// (appendCreate, appendUpdate, remove).
const (
	snapFixed = 5

	// snapReset: a full view; clear the mirror first (no element).
	snapReset = 1 << 0
	// snapLead: lead, the int microseconds input ackSeq waited.
	snapLead = 1 << 1
	// snapRejects: rejects, [[seq, code]…] (never empty).
	snapRejects = 1 << 2
	// snapEvents: events, [[type, a, b]…] (never empty).
	snapEvents = 1 << 3
	// snapScores: scores, [[entity, score, away]…] (never empty).
	snapScores = 1 << 4
	// snapCreates: creates, [[handle, id, kind, v…]…] (never empty).
	snapCreates = 1 << 5
	// snapRemoves: removes, [handle…] (never empty).
	snapRemoves = 1 << 6
	// snapParts are the flags of optional elements.
	snapParts = snapLead | snapRejects | snapEvents | snapScores | snapCreates | snapRemoves
)

// updateXY is the mask of an update of x and y only, which travels without
// its mask (handle·2, dx, dy); every other update is handle·2+1, mask, d….
const updateXY = 3

// snapshotBody is a view's part of a snapshot, encoded: its updates,
// creates and removes, each with its count of elements, and whether it is
// a full view (reset).
type snapshotBody struct {
	reset                     bool
	updates, creates, removes []byte
	nu, nc, nr                int
}

// appendSnapshot appends the snapshot frame of h and b.
func appendSnapshot(dst []byte, h *SnapshotHeader, b *snapshotBody) []byte {
	var flags uint64
	n := snapFixed
	if b.reset {
		flags |= snapReset
	}
	part := func(f uint64, present bool) {
		if present {
			flags |= f
			n++
		}
	}
	part(snapLead, h.HasLead)
	part(snapRejects, len(h.Rejects) > 0)
	part(snapEvents, len(h.Events) > 0)
	part(snapScores, len(h.Scores) > 0)
	part(snapCreates, b.nc > 0)
	part(snapRemoves, b.nr > 0)
	dst = appendArray(dst, n)
	dst = appendUint(dst, MsgSnapshot)
	dst = appendUint(dst, uint64(h.Tick))
	dst = appendUint(dst, uint64(h.AckSeq))
	dst = appendUint(dst, flags)
	dst = appendArray(dst, b.nu)
	dst = append(dst, b.updates...)
	if h.HasLead {
		dst = appendInt(dst, int64(h.LeadUs))
	}
	dst = appendSnapshotLists(dst, h)
	if b.nc > 0 {
		dst = appendArray(dst, b.nc)
		dst = append(dst, b.creates...)
	}
	if b.nr > 0 {
		dst = appendArray(dst, b.nr)
		dst = append(dst, b.removes...)
	}
	return dst
}

// appendSnapshotLists appends h's rejects, events and scores, each only if
// it is not empty.
func appendSnapshotLists(dst []byte, h *SnapshotHeader) []byte {
	if len(h.Rejects) > 0 {
		dst = appendArray(dst, len(h.Rejects))
		for _, r := range h.Rejects {
			dst = appendArray(dst, 2)
			dst = appendUint(dst, uint64(r.Seq))
			dst = appendUint(dst, uint64(r.Code))
		}
	}
	if len(h.Events) > 0 {
		dst = appendArray(dst, len(h.Events))
		for _, e := range h.Events {
			dst = appendArray(dst, 3)
			dst = appendUint(dst, uint64(e.Type))
			dst = appendUint(dst, uint64(e.A))
			dst = appendUint(dst, uint64(e.B))
		}
	}
	if len(h.Scores) > 0 {
		dst = appendArray(dst, len(h.Scores))
		for _, s := range h.Scores {
			if s.Name == "" {
				dst = appendArray(dst, 3)
			} else {
				dst = appendArray(dst, 4)
			}
			dst = appendUint(dst, uint64(s.Entity))
			dst = appendInt(dst, int64(s.Score))
			dst = appendBool(dst, s.Away)
			if s.Name != "" {
				dst = appendString(dst, s.Name)
			}
		}
	}
	return dst
}

// snapshot decodes a snapshot of n elements after its type and returns
// how many of them it read.
func (d *dec) snapshot(s *Snapshot, schema *Schema, n int) int {
	s.Tick = d.u32()
	s.AckSeq = d.u32()
	// Flags of later minor revisions are ignored: their parts follow ours.
	flags := d.uint(math.MaxUint32)
	if !d.ok() {
		return 0
	}
	need := snapFixed + bits.OnesCount64(flags&snapParts)
	if n < need {
		d.fail(errTruncated)
		return 0
	}
	s.Reset = flags&snapReset != 0
	s.Rejects, s.Events, s.Scores = s.Rejects[:0], s.Events[:0], s.Scores[:0]
	s.Creates, s.Updates, s.Removes = s.Creates[:0], s.Updates[:0], s.Removes[:0]
	nv := 2 + len(schema.Fields)
	d.updates(s, nv)
	s.LeadUs, s.HasLead = 0, false
	if flags&snapLead != 0 {
		s.LeadUs, s.HasLead = d.i32(), true
	}
	if flags&snapRejects != 0 {
		d.rejects(s)
	}
	if flags&snapEvents != 0 {
		d.events(s)
	}
	if flags&snapScores != 0 {
		d.scores(s)
	}
	if flags&snapCreates != 0 {
		d.creates(s, nv)
	}
	if flags&snapRemoves != 0 {
		d.removes(s)
	}
	return need
}

// updates reads the flat updates array: groups of handle·2 dx dy, or
// handle·2+1 mask d… (one d per set bit of mask, in bit order).
func (d *dec) updates(s *Snapshot, nv int) {
	n := d.arrayLen(maxEntities * (2 + nv))
	for n > 0 && d.ok() {
		var u Update
		key := d.uint(math.MaxUint16<<1 | 1)
		u.Handle = uint16(key >> 1)
		n--
		if key&1 == 0 {
			u.Mask = updateXY
		} else {
			if n == 0 {
				d.fail(errTruncated)
				return
			}
			u.Mask = uint16(d.uint(1<<nv - 1))
			n--
		}
		for i := range nv {
			if u.Mask&(1<<i) == 0 {
				continue
			}
			if n == 0 {
				d.fail(errTruncated)
				return
			}
			u.D[i] = d.int(math.MinInt32, math.MaxInt32)
			n--
		}
		if d.ok() {
			s.Updates = append(s.Updates, u)
		}
	}
}

func (d *dec) rejects(s *Snapshot) {
	n := d.arrayLen(maxList)
	for i := 0; i < n && d.ok(); i++ {
		d.tuple(2)
		rj := Reject{Seq: d.u32(), Code: d.u8()}
		if d.ok() {
			s.Rejects = append(s.Rejects, rj)
		}
	}
}

func (d *dec) events(s *Snapshot) {
	n := d.arrayLen(maxList)
	for i := 0; i < n && d.ok(); i++ {
		d.tuple(3)
		ev := Event{Type: d.u8(), A: d.u32(), B: d.u32()}
		if d.ok() {
			s.Events = append(s.Events, ev)
		}
	}
}

func (d *dec) scores(s *Snapshot) {
	n := d.arrayLen(maxList)
	for i := 0; i < n && d.ok(); i++ {
		l := d.fields(3, 8)
		sc := Score{Entity: d.u32(), Score: d.i32(), Away: d.bool()}
		if l >= 4 {
			sc.Name = d.string(maxStrServer)
			d.skipRest(l - 4)
		}
		if d.ok() {
			s.Scores = append(s.Scores, sc)
		}
	}
}

func (d *dec) creates(s *Snapshot, nv int) {
	n := d.arrayLen(maxEntities)
	for i := 0; i < n && d.ok(); i++ {
		l := d.arrayLen(3 + MaxFields + 2 + 8)
		if d.ok() && l < 3+nv {
			d.fail(errTruncated)
		}
		c := Create{Handle: d.u16(), ID: d.u32(), Kind: d.u8()}
		for i := range nv {
			c.Q[i] = d.int(math.MinInt32, math.MaxInt32)
		}
		d.skipRest(l - 3 - nv)
		if d.ok() {
			s.Creates = append(s.Creates, c)
		}
	}
}

func (d *dec) removes(s *Snapshot) {
	n := d.arrayLen(maxEntities)
	for i := 0; i < n && d.ok(); i++ {
		h := d.u16()
		if d.ok() {
			s.Removes = append(s.Removes, h)
		}
	}
}
