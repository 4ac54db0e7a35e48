package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"skirmish/client"
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
		return &fight{wander: wander{rng: rng}, orbit: orbit, skew: (rng.Float64() - 0.5) * math.Pi / 3}, nil
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

// fight moves toward the nearest target (see nearestTarget), circles it
// once close, and presses the mode's actions at it (fire, hitscan, and
// whatever else the mode declares; the client keeps to their cooldowns).
// Its aimed presses aim at the target under its crosshair in its own view:
// Control.AimAt has the client aim, when it sends the input, from the
// bot's predicted position at the target as the bot draws it then
// (interpolated), and count the shot (hit_ratio); a target it cannot
// draw then, or dead in the newest snapshot, gets no press. With no
// target it wanders. It knows nothing of any mode but what matched
// declares, so it plays any mode. In a mode that declares kinds named
// "flag" and "base" with a team field, it plays for the flag (see
// objective), pressing its actions at enemies on the way.
type fight struct {
	wander
	orbit float64 // +1 or -1: which way this bot circles
	skew  float64 // radians added to its approach, so bots don't stack
}

func (f *fight) Control(now time.Time, v *client.View) client.Control {
	self, ok := selfOf(v)
	if !ok {
		return client.Control{}
	}
	t, ok := nearestTarget(v, self)
	if gx, gy, goal := objective(v, self); goal {
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
			ctl.Buttons, ctl.AimX, ctl.AimY, ctl.AimAt = allActions(v), dx, dy, t.ID
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
	ctl := client.Control{MoveX: float32(mx * moveScale), MoveY: float32(my * moveScale), Buttons: allActions(v), AimAt: t.ID}
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

// allActions returns the buttons of every action the mode declares.
func allActions(v *client.View) uint8 {
	var b uint8
	for _, a := range v.Info.Actions {
		b |= 1 << a.Bit
	}
	return b
}

// teamOf returns e's team by the mode's declaration (its kind's team
// field), or -1 in a mode without teams.
func teamOf(v *client.View, e *netcode.Entity) int {
	kinds := v.Schema.Kinds
	if int(e.Kind) < len(kinds) && len(v.Info.Teams) > 0 {
		if f := kinds[e.Kind].Team; f >= 0 {
			return int(e.F[f])
		}
	}
	return -1
}

// objective returns where a bot playing for the flag goes: home with the
// enemy flag (its field "carrying" set), after its own flag when that is
// away from its base, else to the enemy flag. ok is false in a mode
// without kinds named "flag" and "base" or without teams.
func objective(v *client.View, self netcode.Entity) (x, y float32, ok bool) {
	flag, base, carrying := -1, -1, -1
	for i, k := range v.Schema.Kinds {
		switch k.Name {
		case "flag":
			flag = i
		case "base":
			base = i
		}
	}
	for i, f := range v.Schema.Fields {
		if f.Name == "carrying" {
			carrying = i
		}
	}
	own := teamOf(v, &self)
	if flag < 0 || base < 0 || own < 0 {
		return 0, 0, false
	}
	var mine, enemy, home *netcode.Entity
	for i := range v.Entities {
		e := &v.Entities[i]
		switch int(e.Kind) {
		case flag:
			if teamOf(v, e) == own {
				mine = e
			} else {
				enemy = e
			}
		case base:
			if teamOf(v, e) == own {
				home = e
			}
		}
	}
	switch {
	case home != nil && carrying >= 0 && self.F[carrying] > 0:
		return home.X, home.Y, true
	case mine != nil && home != nil && (mine.X-home.X)*(mine.X-home.X)+(mine.Y-home.Y)*(mine.Y-home.Y) > 50*50:
		return mine.X, mine.Y, true // taken or dropped: after it
	case enemy != nil:
		return enemy.X, enemy.Y, true
	}
	return 0, 0, false
}

// nearestTarget returns the nearest target of self, from what the mode
// declares: an entity of a body kind (the avatar's own kind, or any kind
// drawn at least half the avatar's size: players and NPCs, not
// projectiles, nor flags and bases), not immobile by the mode's rule (dead), and not of self's
// team in a team mode.
func nearestTarget(v *client.View, self netcode.Entity) (netcode.Entity, bool) {
	kinds := v.Schema.Kinds
	body := func(k uint8) bool {
		if k == self.Kind {
			return true
		}
		// Flags and bases are objects of play (objective), not targets.
		return int(k) < len(kinds) && kinds[k].Size >= v.Info.AvatarRadius/2 && kinds[k].Name != "flag" && kinds[k].Name != "base"
	}
	team := func(e *netcode.Entity) int { return teamOf(v, e) }
	own := team(&self)
	var best netcode.Entity
	bestD := math.Inf(1)
	for i := range v.Entities {
		e := &v.Entities[i]
		if e.ID == v.Entity || !body(e.Kind) || v.Info.Immobile.Holds(e) || (own >= 0 && team(e) == own) {
			continue
		}
		dx, dy := float64(e.X-self.X), float64(e.Y-self.Y)
		if d := dx*dx + dy*dy; d < bestD {
			best, bestD = *e, d
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
