package game

import (
	"math"
	"time"

	"skirmish/netcode"
)

// Spec is what a mode declares once: its world, its seats, how long a match
// lasts and how its entities travel on the wire.
type Spec struct {
	// Name is the mode's name in queue messages ("arena").
	Name string
	// MaxPlayers is the number of seats of a match.
	MaxPlayers int
	// Width and Height are the world's size in units.
	Width, Height float32
	// Duration is how long a match lasts by the clock.
	Duration time.Duration
	// Speed is the avatar speed in units per second; clients use it to
	// predict their own movement with Move.
	Speed float32
	// FireCooldown is the least time between two shots (0: the mode has no
	// firing). Clients use it to avoid sending inputs the server rejects.
	FireCooldown time.Duration
	// Immobile, if set, reports an avatar that inputs do not move (a dead
	// one). The rules and client-side prediction both call it.
	Immobile func(e *netcode.Entity) bool
	// Schema declares the entity kinds and fields the netcode sends.
	Schema netcode.Schema
	// Interest says what each player sees: the radius R around their
	// avatar, the hysteresis and the rate tiers.
	Interest netcode.Interest
}

// CanMove reports whether inputs move avatar e.
func (s *Spec) CanMove(e *netcode.Entity) bool { return s.Immobile == nil || !s.Immobile(e) }

// Builtin returns the built-in modes with their default settings.
func Builtin() []Mode { return []Mode{NewArena(ArenaConfig{}), NewTag(), NewCTF(CTFConfig{})} }

// BuiltinSpec returns the spec of the built-in mode name, or nil.
func BuiltinSpec(name string) *Spec {
	for _, m := range Builtin() {
		if m.Spec().Name == name {
			return m.Spec()
		}
	}
	return nil
}

// Mode is a game mode: a spec and a factory of rules, one per match.
type Mode interface {
	Spec() *Spec
	// NewRules returns the rules of one new match over w. It may spawn the
	// world's initial entities.
	NewRules(w *World) Rules
}

// Rules are one match's game logic. The match goroutine calls them, one at a
// time, never concurrently; a panic in them ends that match with an error
// result and nothing else.
type Rules interface {
	// Join seats p (p.Seat is set) and creates its avatar: the rules set
	// p.Entity.
	Join(w *World, p *Player)
	// Leave removes p, who is no longer seated after the call.
	Leave(w *World, p *Player)
	// Apply validates in and, if valid, applies it to p's avatar. It
	// returns netcode.RejectNone or the reason the input was rejected, in
	// which case nothing of it is applied.
	Apply(w *World, p *Player, in *netcode.Input) (reject uint8)
	// Step advances the world by w.Dt after the tick's inputs are applied.
	Step(w *World)
	// Over reports whether the match has ended (time is up, score limit).
	Over(w *World) bool
	// Result returns the final standings, best first.
	Result(w *World) []netcode.Standing
}

// Portable is implemented by rules whose state can be checkpointed: with
// the world's state (World.SaveState) and the seats, it is everything a
// match needs to go on in another process.
type Portable interface {
	// AppendState appends the rules' state to dst and returns it. It is
	// called between ticks.
	AppendState(dst []byte) []byte
}

// Resumable is implemented by modes whose rules can be restored from a
// Portable state.
type Resumable interface {
	// ResumeRules returns the rules of a match whose world w was restored
	// (RestoreWorld) and whose state is what its rules' AppendState
	// returned. It spawns nothing. Seats are filled by the caller, before
	// or after. A state that does not fit the mode or w is an error.
	ResumeRules(w *World, state []byte) (Rules, error)
}

// ValidDirection reports whether (mx, my) is an acceptable move direction:
// finite and no longer than 1 (with a tolerance for float rounding).
func ValidDirection(mx, my float32) bool {
	l := mx*mx + my*my
	return l <= 1.002 // false for NaN
}

// MinAim is the shortest aim vector that has a direction. (0, 0) means "no
// aim" (fire along the last movement); anything else shorter is rejected.
const MinAim = 1e-6

// ValidAim reports whether (ax, ay) is an acceptable aim: (0, 0), or finite
// and at least MinAim long.
func ValidAim(ax, ay float32) bool {
	_, _, ok := Direction(ax, ay)
	return ok || (ax == 0 && ay == 0)
}

// Direction returns (x, y) scaled to length 1, computed in float64 so that
// no tiny or huge vector comes out longer or shorter than 1; ok is false
// for a vector shorter than MinAim.
func Direction(x, y float32) (dx, dy float32, ok bool) {
	l := math.Hypot(float64(x), float64(y))
	if !(l >= MinAim) || math.IsInf(l, 0) {
		return 0, 0, false
	}
	return float32(float64(x) / l), float32(float64(y) / l), true
}

// Move is the movement rule of avatars, shared by the server and by
// client-side prediction: (x, y) moves by (mx, my)·speed·dt and stays inside
// the w×h world.
func Move(x, y, mx, my, speed, dt, w, h float32) (float32, float32) {
	x += mx * speed * dt
	y += my * speed * dt
	return min(max(x, 0), w), min(max(y, 0), h)
}

// Standings ranks the seated players by score, best first; equal scores
// share a place. Modes without their own ranking return it from Result.
func Standings(w *World) []netcode.Standing {
	var out []netcode.Standing
	for _, p := range w.Players {
		if p != nil {
			out = append(out, netcode.Standing{PlayerID: p.ID, Name: p.Name, Entity: p.Entity, Score: p.Score})
		}
	}
	// Insertion sort: at most a few hundred players, once per match.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Score > out[j-1].Score; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	for i := range out {
		out[i].Place = uint16(i + 1)
		if i > 0 && out[i].Score == out[i-1].Score {
			out[i].Place = out[i-1].Place
		}
	}
	return out
}

// TeamStandings ranks the seated players of a team mode: teams by score
// (teamScores[t-1] is team t's), best first, equal team scores sharing a
// place; every player's Place is their team's place among the teams, and
// within a team players are ranked by their own Score. Players without a
// team (Team 0 or beyond teamScores) come last, after every team, sharing
// the place after the last team's.
func TeamStandings(w *World, teamScores []int32) []netcode.Standing {
	teamScore := func(t uint8) (int32, bool) {
		if t == 0 || int(t) > len(teamScores) {
			return 0, false
		}
		return teamScores[t-1], true
	}
	// before reports whether a ranks before b.
	before := func(a, b *netcode.Standing) bool {
		as, aok := teamScore(a.Team)
		bs, bok := teamScore(b.Team)
		switch {
		case aok != bok:
			return aok
		case as != bs:
			return as > bs
		case a.Team != b.Team:
			return a.Team < b.Team
		}
		return a.Score > b.Score
	}
	var out []netcode.Standing
	for _, p := range w.Players {
		if p != nil {
			out = append(out, netcode.Standing{PlayerID: p.ID, Name: p.Name, Entity: p.Entity, Score: p.Score, Team: p.Team})
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && before(&out[j], &out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	// A team's place is 1 + the number of teams with a higher score.
	place := func(t uint8) uint16 {
		s, ok := teamScore(t)
		n := uint16(1)
		for _, o := range teamScores {
			if !ok || o > s {
				n++
			}
		}
		return n
	}
	for i := range out {
		out[i].Place = place(out[i].Team)
	}
	return out
}

// CooldownTicks converts a cooldown to whole ticks, rounding up, so that a
// client sending one input per tick can predict it exactly.
func CooldownTicks(d time.Duration, tickRate int) uint64 {
	return uint64(math.Ceil(d.Seconds()*float64(tickRate) - 1e-9))
}
