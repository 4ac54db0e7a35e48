package game

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"skirmish/netcode"
)

// Limits of a restorable world.
const (
	// MaxStateSlots bounds WorldState.Slots.
	MaxStateSlots = 1 << 20
	// MaxStateEntities bounds len(WorldState.Entities).
	MaxStateEntities = 1 << 16
)

// WorldState is everything of a World between two ticks that a restored
// copy needs to go on exactly as the original would: the tick, the random
// source's state, the next entity ID, the slot allocator and every entity in
// order. Players are not in it: the match keeps its seats itself. Nor is
// the history of places kept for rewind (World.Rewind): a restored world
// starts it from the saved state.
type WorldState struct {
	Tick      uint64
	Rng       []byte // the PCG's MarshalBinary form
	NextID    uint32
	Slots     int32
	FreeSlots []int32 // a stack: the last one is reused first
	Entities  []Entity
}

// SaveState records w into st, reusing st's slices: it allocates nothing
// once their capacities suffice. It is meant to be called between ticks;
// entities removed during the current tick are left out, as EndTick would,
// and the tick's events are not part of the state.
func (w *World) SaveState(st *WorldState) {
	st.Tick = w.Tick
	st.Rng = st.Rng[:0]
	if w.pcg != nil {
		st.Rng, _ = w.pcg.AppendBinary(st.Rng) // never fails
	}
	st.NextID = w.nextID
	st.Slots = w.slots
	st.FreeSlots = append(st.FreeSlots[:0], w.freeSlots...)
	if w.removed == 0 {
		st.Entities = append(st.Entities[:0], w.Entities...)
		return
	}
	st.Entities = st.Entities[:0]
	for i := range w.Entities {
		if e := &w.Entities[i]; e.removed {
			st.FreeSlots = append(st.FreeSlots, e.Slot)
		} else {
			st.Entities = append(st.Entities, *e)
		}
	}
}

// RestoreWorld returns a world of spec equal to the one st was saved from,
// with tickRate ticks per second. Its Players has spec.MaxPlayers free
// seats for the caller to fill; its Rewind is 0 for the caller to set (the
// restored state is the first one it keeps for Rewound: a view older than
// the checkpoint sees the checkpoint's places). Nothing of st is kept: st
// may be reused.
// An inconsistent st (a slot used twice or out of range, a duplicate or
// zero entity ID, a non-finite number, an owner that is no seat, a kind
// the schema lacks, sizes beyond MaxStateSlots or MaxStateEntities, a bad
// random state) is an error.
func RestoreWorld(spec *Spec, tickRate int, st *WorldState) (*World, error) {
	if spec == nil {
		return nil, errors.New("restore world: no spec")
	}
	if tickRate <= 0 || tickRate > 1000 {
		return nil, fmt.Errorf("restore world: tick rate %d", tickRate)
	}
	if st.Slots < 0 || st.Slots > MaxStateSlots {
		return nil, fmt.Errorf("restore world: %d slots", st.Slots)
	}
	if len(st.Entities) > MaxStateEntities {
		return nil, fmt.Errorf("restore world: %d entities", len(st.Entities))
	}
	if int64(len(st.Entities))+int64(len(st.FreeSlots)) != int64(st.Slots) {
		return nil, fmt.Errorf("restore world: %d entities and %d free slots for %d slots",
			len(st.Entities), len(st.FreeSlots), st.Slots)
	}
	pcg := new(rand.PCG)
	if err := pcg.UnmarshalBinary(st.Rng); err != nil {
		return nil, fmt.Errorf("restore world: random state: %w", err)
	}
	// Every slot below Slots is either used by one entity or free, once.
	used := make([]bool, st.Slots)
	for _, s := range st.FreeSlots {
		if s < 0 || s >= st.Slots || used[s] {
			return nil, fmt.Errorf("restore world: free slot %d out of range or repeated", s)
		}
		used[s] = true
	}
	index := make(map[uint32]int, max(entityHint(spec.MaxPlayers), len(st.Entities)))
	for i := range st.Entities {
		e := &st.Entities[i]
		if err := validEntity(spec, e, st.NextID); err != nil {
			return nil, fmt.Errorf("restore world: entity %d: %w", e.ID, err)
		}
		if e.Slot < 0 || e.Slot >= st.Slots || used[e.Slot] {
			return nil, fmt.Errorf("restore world: entity %d: slot %d out of range or used twice", e.ID, e.Slot)
		}
		used[e.Slot] = true
		if _, dup := index[e.ID]; dup {
			return nil, fmt.Errorf("restore world: entity %d twice", e.ID)
		}
		index[e.ID] = i
	}
	w := &World{
		Width:     spec.Width,
		Height:    spec.Height,
		TickRate:  tickRate,
		Dt:        1 / float32(tickRate),
		Tick:      st.Tick,
		Rng:       rand.New(pcg),
		Entities:  make([]Entity, len(st.Entities), max(entityHint(spec.MaxPlayers), len(st.Entities))),
		Players:   make([]*Player, spec.MaxPlayers),
		Events:    make([]netcode.Event, 0, 64),
		nextID:    st.NextID,
		index:     index,
		freeSlots: append([]int32(nil), st.FreeSlots...),
		slots:     st.Slots,
		pcg:       pcg,
	}
	copy(w.Entities, st.Entities)
	for i := range w.Entities {
		w.Entities[i].removed = false
	}
	if w.Tick > 0 {
		// The state is the end of the tick before: the first one kept
		// for Rewound (the history before it is not in checkpoints).
		w.record(w.Tick - 1)
	}
	return w, nil
}

// validEntity checks what RestoreWorld needs of one entity besides its slot.
func validEntity(spec *Spec, e *Entity, nextID uint32) error {
	if e.ID == 0 || e.ID > nextID {
		return fmt.Errorf("id beyond the next id %d", nextID)
	}
	if len(spec.Schema.Kinds) > 0 && int(e.Kind) >= len(spec.Schema.Kinds) {
		return fmt.Errorf("kind %d", e.Kind)
	}
	if e.Owner < -1 || e.Owner >= spec.MaxPlayers {
		return fmt.Errorf("owner %d", e.Owner)
	}
	if !finite(e.X) || !finite(e.Y) || !finite(e.VX) || !finite(e.VY) || !finite(e.Timer) ||
		!finite(e.Radius) || e.Radius < 0 {
		return errors.New("a non-finite number")
	}
	for _, f := range e.F {
		if !finite(f) {
			return errors.New("a non-finite field")
		}
	}
	return nil
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// stateReader reads the binary rule states of the built-in modes: every
// read checks what is left, so no length in the bytes is trusted.
type stateReader struct {
	b   []byte
	err error
}

var errShortState = errors.New("rule state: truncated")

func (r *stateReader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail(errShortState)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *stateReader) uint32() uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.fail(errShortState)
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *stateReader) float32() float32 {
	f := math.Float32frombits(r.uint32())
	if !finite(f) {
		r.fail(errors.New("rule state: a non-finite number"))
	}
	return f
}

func (r *stateReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errors.New("rule state: bad varint"))
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bool reads a flag written by appendBool: 0 or 1, else the error what.
func (r *stateReader) bool(what string) bool {
	switch r.byte() {
	case 0:
	case 1:
		return true
	default:
		r.fail(errors.New(what))
	}
	return false
}

func (r *stateReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// done returns the first error, or an error if bytes are left over.
func (r *stateReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("rule state: %d bytes left over", len(r.b))
	}
	return r.err
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendFloat32(dst []byte, f float32) []byte {
	return binary.LittleEndian.AppendUint32(dst, math.Float32bits(f))
}
