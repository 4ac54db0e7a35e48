package game

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"skirmish/netcode"
)

// Gun describes the one aimed weapon of a shooting mode (arena, ctf): its
// fire action, its shots and what a hit does to a target's hp.
type Gun struct {
	Fire     uint8         // the fire action's bit in Input.Buttons
	Cooldown time.Duration // the least time between two shots of a seat
	Kind     uint8         // the shots' entity kind
	Speed    float32       // a shot's speed, u/s
	Life     float32       // how long a shot flies, s
	Radius   float32       // a shot's radius
	HP       int           // the field of the targets' hp (0: dead)
	MaxHP    float32       // a (re)spawned avatar's hp
	Damage   float32       // hp a hit takes
	Respawn  float32       // how long a killed avatar stays dead, s
}

// Action is g's fire action, for Spec.Actions.
func (g *Gun) Action() Action {
	return Action{Bit: g.Fire, Name: "fire", Cooldown: g.Cooldown, Aimed: true}
}

// Events are the events Guns emit, for Spec.Events: hit, kill and respawn.
// A mode appends its own.
func (g *Gun) Events() []netcode.EventDecl {
	return []netcode.EventDecl{
		{Type: EventHit, Name: "hit", A: netcode.EventArgPlayer, B: netcode.EventArgEntity},
		{Type: EventKill, Name: "kill", A: netcode.EventArgPlayer, B: netcode.EventArgPlayer},
		{Type: EventRespawn, Name: "respawn", A: netcode.EventArgPlayer},
	}
}

// Guns is the shooting of a mode, for its rules to embed: per seat, the
// tick of the last shot (for the cooldown) and the way the avatar faces
// (where a shot aimed at (0, 0) goes). A mode with shooting uses it as
// arena and ctf do:
//   - it declares a Gun, whose Action and Events go in its Spec, and
//     builds its rules with NewGuns;
//   - Join calls Arm, Leave calls RemoveShots;
//   - Apply is Act (plus whatever the mode sets on the shot it returns),
//     then Advance on that shot, which makes up for the shooter's latency
//     and may return a target hit on the way, resolved like a hit in Step;
//   - Step calls MoveShot on each shot and Revive on each avatar; the mode
//     finds what a shot hits (its own rule: who can be hit, in what
//     order), then calls Hit, its own effects, and Wound;
//   - AppendState and ResumeRules end with appendSeats and readSeats
//     (then CheckShots once the state is read); these two are for modes
//     in this package, which keep their checkpoint format here.
//
// What is left to the mode is what differs: which targets a shot can hit
// and what else a hit does. Guns allocates nothing per tick. A second,
// instant weapon is a Hitscan next to it (arena has one).
type Guns struct {
	gun      Gun
	seats    []gunSeat
	cooldown uint64 // gun.Cooldown in ticks
}

type gunSeat struct {
	lastFire     uint64 // tick of the last accepted shot + 1 (0: never)
	faceX, faceY float32
}

// NewGuns returns g for seats seats of w.
func NewGuns(g Gun, w *World, seats int) Guns {
	return Guns{gun: g, seats: make([]gunSeat, seats), cooldown: CooldownTicks(g.Cooldown, w.TickRate)}
}

// Arm readies seat's gun for a player who joins, facing (faceX, faceY), a
// unit vector.
func (g *Guns) Arm(seat int, faceX, faceY float32) {
	g.seats[seat] = gunSeat{faceX: faceX, faceY: faceY}
}

// RemoveShots removes the shots of seat, whose player left.
func (g *Guns) RemoveShots(w *World, seat int) {
	for i := range w.Entities {
		if e := &w.Entities[i]; e.Kind == g.gun.Kind && e.Owner == seat {
			w.Remove(e.ID)
		}
	}
}

// Act is the Apply of a mode where players move and shoot. It rejects an
// invalid direction or aim, and a shot within the cooldown; an avatar
// that is gone or cannot move (spec.Immobile) accepts the input and does
// nothing. Otherwise it moves p's avatar at spec.Speed, turns it the way
// it moved and fires if asked: along the aim, or the way it faces when
// the aim is (0, 0). It returns the reject code and the shot fired (nil:
// none), valid until the next Spawn, for the mode to set more on. The
// shot starts at the avatar; Advance then moves it on for the shooter's
// latency.
func (g *Guns) Act(w *World, p *Player, in *netcode.Input, spec *Spec) (uint8, *Entity) {
	fire := in.Pressed(g.gun.Fire)
	if !ValidDirection(in.MoveX, in.MoveY) || (fire && !ValidAim(in.AimX, in.AimY)) {
		return netcode.RejectBadDirection, nil
	}
	s := &g.seats[p.Seat]
	if fire && s.lastFire != 0 && w.Tick+1-s.lastFire < g.cooldown {
		return netcode.RejectCooldown, nil
	}
	e := w.Get(p.Entity)
	if e == nil || !spec.CanMove(&e.Entity) {
		return netcode.RejectNone, nil // dead: the input is accepted and does nothing
	}
	e.X, e.Y = Move(e.X, e.Y, in.MoveX, in.MoveY, spec.Speed, w.Dt, w.Width, w.Height)
	if fx, fy, ok := Direction(in.MoveX, in.MoveY); ok {
		s.faceX, s.faceY = fx, fy
	}
	if !fire {
		return netcode.RejectNone, nil
	}
	s.lastFire = w.Tick + 1
	dx, dy, ok := Direction(in.AimX, in.AimY)
	if !ok { // (0, 0): along the last movement
		dx, dy = s.faceX, s.faceY
	}
	shot := w.Spawn(g.gun.Kind, e.X, e.Y)
	shot.Radius = g.gun.Radius
	shot.Owner = p.Seat
	shot.VX, shot.VY = dx*g.gun.Speed, dy*g.gun.Speed
	shot.Timer = g.gun.Life
	return netcode.RejectNone, shot
}

// Face returns the way seat's avatar faces (where a shot or a hitscan
// aimed at (0, 0) goes): a unit vector, or (0, 0) for a seat never armed.
func (g *Guns) Face(seat int) (x, y float32) { return g.seats[seat].faceX, g.seats[seat].faceY }

// Advance makes up for the latency of shot's shooter, whose input in fired
// it: the shot starts where the shooter saw it start. The shooter drew the
// world at the input's view time (World.ViewOf, bounded by World.Rewind);
// the shot is moved on by the time from then to now (World.Lag) and its
// life shortened by as much. On the way it is swept against the targets
// where the shooter saw them, tick by tick (the part flown during tick k
// of the lag against the places at view time + k ticks), and stops at the
// first target accept takes: Advance returns it (nil: none) for the mode
// to resolve as a hit of its Step (the shot is still in the world, at the
// target). A shot that flies out of the world or out of its life on the
// way is removed (it hits nothing after its life). With no lag (no view time, or World.Rewind 0) it does
// nothing. It allocates nothing.
func (g *Guns) Advance(w *World, shot *Entity, in *netcode.Input, accept func(*Entity) bool) *Entity {
	v := w.ViewOf(in)
	lag := w.Lag(v)
	if !(lag > 0) {
		return nil
	}
	speed := float32(math.Hypot(float64(shot.VX), float64(shot.VY)))
	if speed > 0 {
		dx, dy := shot.VX/speed, shot.VY/speed
		step := speed * w.Dt                // a tick's flight
		flight := min(lag, shot.Timer/w.Dt) // no further than its life
		for k := float32(0); k < flight; k++ {
			length := step * min(1, flight-k)
			then := View{Tick: v.Tick + uint64(k), Frac: v.Frac}
			if t, d := w.RayCast(shot.X, shot.Y, dx, dy, length, shot.Radius, then, accept); t != nil {
				shot.X, shot.Y = shot.X+dx*d, shot.Y+dy*d
				shot.Timer -= (k + d/step) * w.Dt
				return t
			}
			shot.X, shot.Y = shot.X+dx*length, shot.Y+dy*length
		}
	}
	shot.Timer -= lag * w.Dt
	if shot.Timer <= 0 || shot.X < 0 || shot.Y < 0 || shot.X > w.Width || shot.Y > w.Height {
		w.Remove(shot.ID)
	}
	return nil
}

// MoveShot moves shot e one tick. A shot whose time is up or that left
// the world is removed, and MoveShot returns false.
func (g *Guns) MoveShot(w *World, e *Entity) bool {
	e.X += e.VX * w.Dt
	e.Y += e.VY * w.Dt
	e.Timer -= w.Dt
	if e.Timer <= 0 || e.X < 0 || e.Y < 0 || e.X > w.Width || e.Y > w.Height {
		w.Remove(e.ID)
		return false
	}
	return true
}

// Hit removes shot, which hit t, adds points to its shooter's score and
// emits EventHit. It returns the shooter's avatar (0: the seat is empty),
// for Wound.
func (g *Guns) Hit(w *World, shot, t *Entity, points int32) uint32 {
	w.Remove(shot.ID)
	var shooter uint32
	if p := w.Players[shot.Owner]; p != nil {
		p.Score += points
		shooter = p.Entity
	}
	w.Emit(EventHit, shooter, t.ID)
	return shooter
}

// Wound takes the gun's damage off t's hp. At 0, t is dead for the
// gun's Respawn seconds (its Timer; see Revive) and EventKill is emitted.
func (g *Guns) Wound(w *World, t *Entity, shooter uint32) {
	g.WoundBy(w, t, shooter, g.gun.Damage)
}

// WoundBy is Wound with damage instead of the gun's (another weapon's).
func (g *Guns) WoundBy(w *World, t *Entity, shooter uint32, damage float32) {
	t.F[g.gun.HP] -= damage
	if t.F[g.gun.HP] <= 0 {
		t.F[g.gun.HP] = 0
		t.Timer = g.gun.Respawn
		w.Emit(EventKill, shooter, t.ID)
	}
}

// Revive counts down the time of avatar e while it is dead (hp 0). When
// that is up it gives e full hp, emits EventRespawn and returns true: the
// mode then puts e where it respawns.
func (g *Guns) Revive(w *World, e *Entity) bool {
	if e.F[g.gun.HP] > 0 {
		return false
	}
	e.Timer -= w.Dt
	if e.Timer > timerEpsilon {
		return false
	}
	e.F[g.gun.HP] = g.gun.MaxHP
	w.Emit(EventRespawn, e.ID, 0)
	return true
}

// appendSeats appends the seats' state to a rule state: the number of
// seats (uvarint) and per seat lastFire (uvarint), faceX and faceY
// (float32 bits, little endian).
func (g *Guns) appendSeats(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(g.seats)))
	for _, s := range g.seats {
		dst = binary.AppendUvarint(dst, s.lastFire)
		dst = appendFloat32(dst, s.faceX)
		dst = appendFloat32(dst, s.faceY)
	}
	return dst
}

// readSeats reads what appendSeats wrote into g, whose seats are w's,
// and checks it: a shot no later than the last tick, a unit facing or
// (0, 0) for a seat never taken. Errors name mode and go to sr.
func (g *Guns) readSeats(sr *stateReader, w *World, mode string) {
	if n := sr.uvarint(); sr.err == nil && n != uint64(len(g.seats)) {
		sr.fail(fmt.Errorf("%s state: %d seats for %d", mode, n, len(g.seats)))
	}
	for i := range g.seats {
		s := &g.seats[i]
		s.lastFire = sr.uvarint()
		s.faceX, s.faceY = sr.float32(), sr.float32()
		if sr.err != nil {
			return
		}
		if s.lastFire > w.Tick+1 {
			sr.fail(fmt.Errorf("%s state: seat %d fired at tick %d, after %d", mode, i, s.lastFire, w.Tick))
		}
		if l := s.faceX*s.faceX + s.faceY*s.faceY; (l < 0.99 || l > 1.01) && l != 0 {
			sr.fail(fmt.Errorf("%s state: seat %d faces (%v, %v)", mode, i, s.faceX, s.faceY))
		}
	}
}

// CheckShots checks a restored world's shots: each is of a seat, whose
// score a hit adds to.
func (g *Guns) CheckShots(w *World, mode string) error {
	for i := range w.Entities {
		if err := g.checkShot(&w.Entities[i], mode); err != nil {
			return err
		}
	}
	return nil
}

// checkShot is CheckShots of one entity, for a mode that checks its
// entities in one pass.
func (g *Guns) checkShot(e *Entity, mode string) error {
	if e.Kind == g.gun.Kind && (e.Owner < 0 || e.Owner >= len(g.seats)) {
		return fmt.Errorf("%s state: shot %d of seat %d", mode, e.ID, e.Owner)
	}
	return nil
}

// Hitscan describes an instant aimed weapon: when fired, a ray from the
// shooter's avatar along the aim (the way the avatar faces when the aim is
// (0, 0)), up to Range, meets the nearest target where the shooter saw it:
// at the input's view time, rewound (World.RayCast). What a hit does is
// the mode's (Damage is for it: Guns.WoundBy).
type Hitscan struct {
	Fire     uint8         // the action's bit in Input.Buttons
	Name     string        // the action's name
	Cooldown time.Duration // the least time between two shots of a seat
	Range    float32       // the ray's length, units
	Damage   float32       // hp a hit takes
}

// Action is h's action, for Spec.Actions.
func (h *Hitscan) Action() Action {
	return Action{Bit: h.Fire, Name: h.Name, Cooldown: h.Cooldown, Aimed: true}
}

// Hitscans is the per-seat state of a Hitscan, for rules to embed: the
// tick of each seat's last shot (its cooldown). Apply calls Check before
// anything of the input is applied, then Fire once the avatar has moved;
// Join calls Arm; the checkpoint state appends appendState and reads
// readState. It allocates nothing per tick.
type Hitscans struct {
	hs       Hitscan
	lastFire []uint64 // tick of the last accepted shot + 1 (0: never)
	cooldown uint64
}

// NewHitscans returns h for seats seats of w.
func NewHitscans(h Hitscan, w *World, seats int) Hitscans {
	return Hitscans{hs: h, lastFire: make([]uint64, seats), cooldown: CooldownTicks(h.Cooldown, w.TickRate)}
}

// Arm readies seat's hitscan for a player who joins.
func (h *Hitscans) Arm(seat int) { h.lastFire[seat] = 0 }

// Check returns why seat cannot fire the hitscan as in asks: an invalid
// aim (netcode.RejectBadDirection) or a shot within the cooldown
// (netcode.RejectCooldown); netcode.RejectNone if it can, or if in does
// not press the action.
func (h *Hitscans) Check(w *World, seat int, in *netcode.Input) uint8 {
	if !in.Pressed(h.hs.Fire) {
		return netcode.RejectNone
	}
	if !ValidAim(in.AimX, in.AimY) {
		return netcode.RejectBadDirection
	}
	if l := h.lastFire[seat]; l != 0 && w.Tick+1-l < h.cooldown {
		return netcode.RejectCooldown
	}
	return netcode.RejectNone
}

// Fire fires seat's hitscan if in presses it (after Check passed): from
// shooter (the seat's avatar, able to shoot) along the aim, or along
// (faceX, faceY) when the aim is (0, 0). It starts the cooldown and
// returns the target hit, the nearest that accept takes at the input's
// view time (nil: a miss, or in does not press the action).
func (h *Hitscans) Fire(w *World, seat int, shooter *Entity, in *netcode.Input, faceX, faceY float32, accept func(*Entity) bool) *Entity {
	if !in.Pressed(h.hs.Fire) {
		return nil
	}
	h.lastFire[seat] = w.Tick + 1
	dx, dy, ok := Direction(in.AimX, in.AimY)
	if !ok {
		dx, dy = faceX, faceY
		if dx == 0 && dy == 0 {
			return nil
		}
	}
	t, _ := w.RayCast(shooter.X, shooter.Y, dx, dy, h.hs.Range, 0, w.ViewOf(in), accept)
	return t
}

// appendState appends the seats' last shots: their number (uvarint) and
// per seat lastFire (uvarint).
func (h *Hitscans) appendState(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(h.lastFire)))
	for _, l := range h.lastFire {
		dst = binary.AppendUvarint(dst, l)
	}
	return dst
}

// readState reads what appendState wrote into h, whose seats are w's, and
// checks it: no shot after the last tick. Errors name mode and go to sr.
func (h *Hitscans) readState(sr *stateReader, w *World, mode string) {
	if n := sr.uvarint(); sr.err == nil && n != uint64(len(h.lastFire)) {
		sr.fail(fmt.Errorf("%s state: %d hitscan seats for %d", mode, n, len(h.lastFire)))
	}
	for i := range h.lastFire {
		h.lastFire[i] = sr.uvarint()
		if sr.err != nil {
			return
		}
		if h.lastFire[i] > w.Tick+1 {
			sr.fail(fmt.Errorf("%s state: seat %d fired its hitscan at tick %d, after %d", mode, i, h.lastFire[i], w.Tick))
		}
	}
}
