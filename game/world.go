package game

import (
	"math/rand/v2"

	"skirmish/netcode"
)

// Entity is one thing in the world. The embedded netcode.Entity (ID, Kind,
// X, Y and the schema's fields F) is what players see; the rest is private
// to the server and free for the mode's use.
type Entity struct {
	netcode.Entity
	// VX, VY is a velocity in units per second, for the mode's use.
	VX, VY float32
	// Radius is the entity's collision radius.
	Radius float32
	// Owner is the seat that owns the entity (a projectile's shooter), or -1.
	Owner int
	// Timer is a countdown in seconds for the mode's use.
	Timer float32
	// Slot is a small index the entity keeps for its life; slots of
	// removed entities are reused. Views index their state by it.
	Slot int32
	// removed marks an entity that leaves the world at the end of the tick.
	removed bool
}

// Player is a seated player as the rules see them.
type Player struct {
	// Seat is the player's index in World.Players, stable while seated.
	Seat int
	// ID and Name identify the player across matches.
	ID, Name string
	// Entity is the ID of the player's avatar (0 if none).
	Entity uint32
	// Score is the player's score in this match.
	Score int32
	// Team is the player's team in a team mode, numbered from 1; 0 in a
	// mode without teams. The rules set it in Join (ctf balances the
	// teams). Checkpoints do not hold it: a resumable team mode keeps the
	// teams in its own state and sets Team again after a restore (ctf
	// does in each Step).
	Team uint8
	// Away is set while the player's connection is gone.
	Away bool
}

// World is the state of one match: its entities, seated players and the
// events of the current tick. It belongs to the match goroutine.
type World struct {
	Width, Height float32
	// TickRate is the number of ticks per second; Dt is 1/TickRate seconds.
	TickRate int
	Dt       float32
	// Tick is the number of the tick being computed (0 for the first).
	Tick uint64
	// Rng is the match's seeded random source. It draws from the world's
	// PCG, whose state SaveState records: replace neither.
	Rng *rand.Rand
	// Entities holds every entity; order is not stable across ticks.
	Entities []Entity
	// Players is indexed by seat; a free seat is nil.
	Players []*Player
	// Events are the events of the current tick, sent in its snapshots.
	Events []netcode.Event
	// Rewind is the lag compensation bound in ticks: how far before the
	// newest state the rules may look back for an input's view time
	// (ViewOf, Rewound, RayCast); 0: none, the rules see the newest state.
	// The world keeps the places of its entities at the end of the last
	// Rewind+1 ticks. The match sets it from Config.RewindMax before the
	// first tick; a replay must set the same.
	Rewind int

	nextID    uint32
	index     map[uint32]int
	removed   int
	freeSlots []int32
	slots     int32
	pcg       *rand.PCG // Rng's source, saved by SaveState
	hist      history   // the places of the last Rewind+1 ticks
}

// NewWorld returns an empty world of the spec's size and seats. Entity IDs
// start after idBase, so that concurrent matches can use disjoint IDs.
func NewWorld(spec *Spec, tickRate int, seed uint64, idBase uint32) *World {
	pcg := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	return &World{
		Width:    spec.Width,
		Height:   spec.Height,
		TickRate: tickRate,
		Dt:       1 / float32(tickRate),
		Rng:      rand.New(pcg),
		Entities: make([]Entity, 0, entityHint(spec.MaxPlayers)),
		Players:  make([]*Player, spec.MaxPlayers),
		Events:   make([]netcode.Event, 0, 64),
		index:    make(map[uint32]int, entityHint(spec.MaxPlayers)),
		nextID:   idBase,
		pcg:      pcg,
	}
}

// entityHint is the room a new world makes for entities: 16 per seat
// (an avatar, its shots and its share of the NPCs), from 32 to 256. A
// world that needs more grows while it fills, not in steady state.
func entityHint(seats int) int { return min(max(16*seats, 32), 256) }

// Spawn adds an entity of kind at (x, y) and returns it. The pointer is
// valid until the next Spawn or the end of the tick.
func (w *World) Spawn(kind uint8, x, y float32) *Entity {
	w.nextID++
	var slot int32
	if n := len(w.freeSlots); n > 0 {
		slot = w.freeSlots[n-1]
		w.freeSlots = w.freeSlots[:n-1]
	} else {
		slot = w.slots
		w.slots++
	}
	w.Entities = append(w.Entities, Entity{
		Entity: netcode.Entity{ID: w.nextID, Kind: kind, X: x, Y: y},
		Owner:  -1,
		Slot:   slot,
	})
	w.index[w.nextID] = len(w.Entities) - 1
	return &w.Entities[len(w.Entities)-1]
}

// Get returns the entity with id, or nil if there is none (or it was
// removed this tick).
func (w *World) Get(id uint32) *Entity {
	i, ok := w.index[id]
	if !ok || w.Entities[i].removed {
		return nil
	}
	return &w.Entities[i]
}

// Lookup is Get that also finds an entity removed during this tick.
func (w *World) Lookup(id uint32) *Entity {
	if i, ok := w.index[id]; ok {
		return &w.Entities[i]
	}
	return nil
}

// Remove takes the entity with id out of the world at the end of the tick.
func (w *World) Remove(id uint32) {
	if i, ok := w.index[id]; ok && !w.Entities[i].removed {
		w.Entities[i].removed = true
		w.removed++
	}
}

// Removed reports whether e was removed this tick.
func (e *Entity) Removed() bool { return e.removed }

// Emit records an event of this tick.
func (w *World) Emit(typ uint8, a, b uint32) {
	w.Events = append(w.Events, netcode.Event{Type: typ, A: a, B: b})
}

// Slots is one more than the highest slot in use.
func (w *World) Slots() int { return int(w.slots) }

// Seconds is the match time elapsed at the start of the current tick.
func (w *World) Seconds() float64 { return float64(w.Tick) / float64(w.TickRate) }

// RandomPoint returns a uniform point at least margin from every edge.
func (w *World) RandomPoint(margin float32) (float32, float32) {
	return margin + w.Rng.Float32()*(w.Width-2*margin), margin + w.Rng.Float32()*(w.Height-2*margin)
}

// EndTick records the places of the entities at the end of the tick (for
// Rewound: the state the tick's snapshots carry), drops the entities removed
// during the tick and clears its events. The match calls it after the
// tick's snapshots are sent.
func (w *World) EndTick() {
	w.record(w.Tick)
	w.Events = w.Events[:0]
	if w.removed == 0 {
		return
	}
	j := 0
	for i := range w.Entities {
		e := &w.Entities[i]
		if e.removed {
			delete(w.index, e.ID)
			w.freeSlots = append(w.freeSlots, e.Slot)
			continue
		}
		if i != j {
			w.Entities[j] = *e
			w.index[e.ID] = j
		}
		j++
	}
	clear(w.Entities[j:])
	w.Entities = w.Entities[:j]
	w.removed = 0
}
