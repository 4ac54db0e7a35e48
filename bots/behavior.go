package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"skirmish/client"
	"skirmish/game"
	"skirmish/netcode"
)

// Behavior names accepted by -behavior.
const (
	BehaviorWander = "wander"
	BehaviorFight  = "fight"
)

// Behavior tuning.
const (
	// moveScale keeps move vectors strictly shorter than 1 despite float32
	// rounding: the server rejects longer ones.
	moveScale = 0.999
	// edgeMargin is the distance from the world's edges inside which a bot
	// stops moving outward. It must exceed what a bot travels between two
	// control updates (arena: 200 u/s × 0.1 s = 20 u) with room to spare.
	edgeMargin = 100
	// fightNear and fightFar bound the distance a fighter keeps from its
	// target: farther it closes in, nearer it backs off, between it circles.
	fightNear = 150
	fightFar  = 300
)

// Behavior decides a bot's control from what its client sees. One value
// belongs to one bot; it is not safe for concurrent use.
type Behavior interface {
	// Control returns the control to set at now, given the client's view.
	// Its move vector is never longer than 1 and never points out of the
	// world when the avatar is within edgeMargin of an edge.
	Control(now time.Time, v *client.View) client.Control
}

// NewBehavior returns the behavior called name, drawing its randomness from
// rng.
func NewBehavior(name string, rng *rand.Rand) (Behavior, error) {
	switch name {
	case BehaviorWander:
		return &wander{rng: rng}, nil
	case BehaviorFight:
		orbit := float64(1)
		if rng.IntN(2) == 0 {
			orbit = -1
		}
		return &fight{wander: wander{rng: rng}, orbit: orbit, skew: (rng.Float64() - 0.5) * math.Pi / 3, roles: noRoles}, nil
	}
	return nil, fmt.Errorf("unknown behavior %q (want %s or %s)", name, BehaviorWander, BehaviorFight)
}

// wander moves in a straight line and picks a new random heading every 1 to
// 2 seconds; near an edge it turns back into the world.
type wander struct {
	rng     *rand.Rand
	heading float64 // radians; y grows downward like the world's
	next    time.Time
}

func (w *wander) Control(now time.Time, v *client.View) client.Control {
	self, ok := selfOf(v)
	if !ok {
		return client.Control{}
	}
	if !now.Before(w.next) {
		w.heading = w.rng.Float64() * 2 * math.Pi
		w.next = now.Add(time.Second + time.Duration(w.rng.Int64N(int64(time.Second))))
	}
	mx, my := math.Cos(w.heading), math.Sin(w.heading)
	rx, ry := avoidEdges(float64(self.X), float64(self.Y), mx, my, float64(v.WorldW), float64(v.WorldH))
	if rx != mx || ry != my {
		w.heading = math.Atan2(ry, rx) // keep the reflected heading
	}
	return client.Control{MoveX: float32(rx * moveScale), MoveY: float32(ry * moveScale)}
}

// fight moves toward the nearest other player (not a teammate) or NPC,
// circles it once close, and fires at it. With no target it wanders. In a
// mode with flags and bases it plays for the flag: it heads for the enemy
// flag, home when it carries it, or for its own flag when that is away
// from its base, and fires at the nearest enemy on the way.
type fight struct {
	wander
	orbit float64 // +1 or -1: which way this bot circles
	skew  float64 // radians added to its approach, so bots don't stack
	roles roles   // of the mode last played
}

func (f *fight) Control(now time.Time, v *client.View) client.Control {
	self, ok := selfOf(v)
	if !ok {
		return client.Control{}
	}
	if f.roles.mode != v.Mode || !f.roles.known {
		f.roles = rolesOf(v.Mode)
	}
	rl := &f.roles
	t, ok := nearestTarget(v, self, rl)
	if gx, gy, goal := objective(v, self, rl); goal {
		// Far from the goal, go by a lane to one side of the straight
		// line, so that a team spreads rather than marching in file.
		dx, dy := float64(gx-self.X), float64(gy-self.Y)
		d := math.Hypot(dx, dy)
		if d > 0 {
			lane := f.orbit * (150 + 300*math.Abs(f.skew)) * min(1, max(0, (d-200)/800))
			dx, dy = dx-dy/d*lane, dy+dx/d*lane
		}
		mx, my := unit(dx, dy)
		mx, my = avoidEdges(float64(self.X), float64(self.Y), mx, my, float64(v.WorldW), float64(v.WorldH))
		ctl := client.Control{MoveX: float32(mx * moveScale), MoveY: float32(my * moveScale)}
		if dx, dy := t.X-self.X, t.Y-self.Y; ok && dx*dx+dy*dy <= 2*fightFar*2*fightFar && (dx != 0 || dy != 0) {
			ctl.Fire, ctl.AimX, ctl.AimY = true, dx, dy
		}
		return ctl
	}
	if !ok {
		return f.wander.Control(now, v)
	}
	dx, dy := float64(t.X-self.X), float64(t.Y-self.Y)
	d := math.Hypot(dx, dy)
	var mx, my float64
	if d > 0 {
		ux, uy := dx/d, dy/d              // toward the target
		tx, ty := -uy*f.orbit, ux*f.orbit // around it
		switch {
		case d > fightFar:
			s, c := math.Sincos(f.skew)
			mx, my = ux*c-uy*s, ux*s+uy*c
		case d < fightNear:
			mx, my = tx-ux, ty-uy
		default:
			mx, my = tx, ty
		}
	}
	mx, my = unit(mx, my)
	mx, my = avoidEdges(float64(self.X), float64(self.Y), mx, my, float64(v.WorldW), float64(v.WorldH))
	ctl := client.Control{MoveX: float32(mx * moveScale), MoveY: float32(my * moveScale), Fire: true}
	ctl.AimX, ctl.AimY = float32(dx), float32(dy)
	if ctl.AimX == 0 && ctl.AimY == 0 {
		ctl.AimX = 1
	}
	return ctl
}

// selfOf returns the own avatar as predicted, if the client is in a match
// and its avatar is in the last snapshot.
func selfOf(v *client.View) (netcode.Entity, bool) {
	if v.Phase != client.PhasePlaying || v.WorldW <= 0 || v.WorldH <= 0 {
		return netcode.Entity{}, false
	}
	for i := range v.Entities {
		if v.Entities[i].ID == v.Entity {
			return v.Self, true
		}
	}
	return netcode.Entity{}, false
}

// roles are what a behavior knows of a mode's entities, found by name in
// the schema the mode declares: the kinds "player", "npc", "flag" and
// "base", the fields "hp", "team" and "carrying" (-1: the mode has none).
// A mode the bots do not know has players of kind 0 and nothing else.
type roles struct {
	mode                    string
	known                   bool // resolved for mode
	player, npc, flag, base int
	hp, team, carrying      int
}

var noRoles = roles{player: 0, npc: -1, flag: -1, base: -1, hp: -1, team: -1, carrying: -1}

// rolesOf resolves the roles of mode from its declared schema.
func rolesOf(mode string) roles {
	r := noRoles
	r.mode, r.known = mode, true
	spec := game.BuiltinSpec(mode)
	if spec == nil {
		return r
	}
	r.player = -1
	for i, k := range spec.Schema.Kinds {
		switch k {
		case "player":
			r.player = i
		case "npc":
			r.npc = i
		case "flag":
			r.flag = i
		case "base":
			r.base = i
		}
	}
	for i, f := range spec.Schema.Fields {
		switch f.Name {
		case "hp":
			r.hp = i
		case "team":
			r.team = i
		case "carrying":
			r.carrying = i
		}
	}
	return r
}

func (r *roles) field(e *netcode.Entity, i int) float32 {
	if i < 0 {
		return 0
	}
	return e.F[i]
}

// teammate reports whether e is on self's team (never in a mode without
// teams).
func (r *roles) teammate(e, self *netcode.Entity) bool {
	return r.team >= 0 && e.F[r.team] != 0 && e.F[r.team] == self.F[r.team]
}

// objective returns where a bot playing for the flag goes: home with the
// enemy flag, after its own flag when that is away from home, else to the
// enemy flag. ok is false in a mode without flags and bases.
func objective(v *client.View, self netcode.Entity, r *roles) (x, y float32, ok bool) {
	if r.flag < 0 || r.base < 0 || r.team < 0 {
		return 0, 0, false
	}
	var own, enemy, home *netcode.Entity
	for i := range v.Entities {
		e := &v.Entities[i]
		switch int(e.Kind) {
		case r.flag:
			if r.teammate(e, &self) {
				own = e
			} else {
				enemy = e
			}
		case r.base:
			if r.teammate(e, &self) {
				home = e
			}
		}
	}
	switch {
	case home != nil && r.field(&self, r.carrying) > 0:
		return home.X, home.Y, true
	case own != nil && home != nil && (own.X-home.X)*(own.X-home.X)+(own.Y-home.Y)*(own.Y-home.Y) > 50*50:
		return own.X, own.Y, true // taken or dropped: after it
	case enemy != nil:
		return enemy.X, enemy.Y, true
	}
	return 0, 0, false
}

// nearestTarget returns the nearest living player (not a teammate) or NPC
// other than self.
func nearestTarget(v *client.View, self netcode.Entity, r *roles) (netcode.Entity, bool) {
	var best netcode.Entity
	bestD := math.Inf(1)
	for _, e := range v.Entities {
		if e.ID == v.Entity || (int(e.Kind) != r.player && int(e.Kind) != r.npc) {
			continue
		}
		if r.hp >= 0 && e.F[r.hp] <= 0 {
			continue // dead: shots pass through it
		}
		if r.teammate(&e, &self) {
			continue
		}
		dx, dy := float64(e.X-self.X), float64(e.Y-self.Y)
		if d := dx*dx + dy*dy; d < bestD {
			best, bestD = e, d
		}
	}
	return best, !math.IsInf(bestD, 1)
}

// avoidEdges returns the unit direction (mx, my) with every component that
// points out of the w×h world reflected when (x, y) is within edgeMargin of
// that edge. A world smaller than two margins is treated by its center.
func avoidEdges(x, y, mx, my, w, h float64) (float64, float64) {
	mx = inward(x, mx, w)
	my = inward(y, my, h)
	return mx, my
}

func inward(p, m, size float64) float64 {
	margin := min(float64(edgeMargin), size/2)
	switch {
	case p <= margin && m < 0:
		return -m
	case p >= size-margin && m > 0:
		return -m
	}
	return m
}

// unit returns (x, y) scaled to length 1, or (0, 0).
func unit(x, y float64) (float64, float64) {
	l := math.Hypot(x, y)
	if l == 0 || math.IsNaN(l) || math.IsInf(l, 0) {
		return 0, 0
	}
	return x / l, y / l
}
