package game

import (
	"encoding/binary"
	"fmt"
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
//   - Apply is Act (plus whatever the mode sets on the shot it returns);
//   - Step calls MoveShot on each shot and Revive on each avatar; the mode
//     finds what a shot hits (its own rule: who can be hit, in what
//     order), then calls Hit, its own effects, and Wound;
//   - AppendState and ResumeRules end with appendSeats and readSeats
//     (then CheckShots once the state is read); these two are for modes
//     in this package, which keep their checkpoint format here.
//
// What is left to the mode is what differs: which targets a shot can hit
// and what else a hit does. Guns allocates nothing per tick.
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
// none), valid until the next Spawn, for the mode to set more on.
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
	t.F[g.gun.HP] -= g.gun.Damage
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
