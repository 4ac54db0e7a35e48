package game

import (
	"fmt"
	"math"
	"time"

	"skirmish/netcode"
)

// Spec is what a mode declares once: its world, its seats, how long a match
// lasts, how its entities travel on the wire and how clients draw them,
// and what clients need to predict and play it. Everything but the rules
// reaches clients in the matched message (netcode.Matched), so that no
// client holds code of its own for a mode.
type Spec struct {
	// Name is the mode's name in queue messages ("arena").
	Name string
	// MaxPlayers is the number of seats of a match.
	MaxPlayers int
	// Width and Height are the world's size in units. Move clamps avatars
	// to [0, Width]×[0, Height].
	Width, Height float32
	// Duration is how long a match lasts by the clock.
	Duration time.Duration
	// Speed is the avatar speed in units per second; the rules move
	// avatars with Move at this speed, and clients predict with the same.
	Speed float32
	// AvatarRadius is the radius of a player's avatar in units.
	AvatarRadius float32
	// Actions are the buttons of an input the mode accepts, with their
	// cooldowns; clients send only these and respect the cooldowns.
	Actions []Action
	// Events are the event types the rules emit (World.Emit).
	Events []netcode.EventDecl
	// Teams are the teams of a team mode; nil for free-for-all.
	Teams []netcode.Team
	// Immobile, if not nil, is when inputs do not move an avatar (a dead
	// one): the rules and client-side prediction both follow it (CanMove).
	Immobile *netcode.Immobile
	// Schema declares the entity kinds (with how clients draw them) and
	// the fields the netcode sends.
	Schema netcode.Schema
	// Interest says what each player sees: the radius R around their
	// avatar, the hysteresis and the rate tiers.
	Interest netcode.Interest
}

// Action is one button a mode accepts (netcode.Action, with its cooldown
// as a duration).
type Action struct {
	// Bit is the button's bit in netcode.Input.Buttons, 0 to 7.
	Bit uint8
	// Name names the action; bots press "fire" at their target.
	Name string
	// Cooldown is the least time between two accepted inputs that press
	// the action (0: none); on the wire it is CooldownTicks of it.
	Cooldown time.Duration
	// Aimed: the action uses the input's aim (ValidAim must hold).
	Aimed bool
}

// CanMove reports whether inputs move avatar e.
func (s *Spec) CanMove(e *netcode.Entity) bool { return !s.Immobile.Holds(e) }

// Info returns what the matched message of a match at tickRate says of
// the mode besides its schema, with the spec's interest radius.
func (s *Spec) Info(tickRate int) netcode.ModeInfo {
	mi := netcode.ModeInfo{
		Speed:          s.Speed,
		AvatarRadius:   s.AvatarRadius,
		InterestRadius: s.Interest.Radius,
		Actions:        make([]netcode.Action, len(s.Actions)),
		Events:         s.Events,
		Teams:          s.Teams,
		Immobile:       s.Immobile,
	}
	for i, a := range s.Actions {
		mi.Actions[i] = netcode.Action{Bit: a.Bit, Name: a.Name, CooldownTicks: uint32(CooldownTicks(a.Cooldown, tickRate)), Aimed: a.Aimed}
	}
	return mi
}

// Validate reports whether the spec is complete and can travel on the
// wire: seats, a world, a duration, a speed, an avatar radius and an
// interest radius, a valid schema, and declarations within the limits of
// netcode.ModeInfo.
func (s *Spec) Validate() error {
	switch {
	case s.Name == "" || len(s.Name) > netcode.MaxModeName:
		return fmt.Errorf("mode %q: the name must have 1 to %d bytes", s.Name, netcode.MaxModeName)
	case s.MaxPlayers < 1 || !(s.Width > 0) || !(s.Height > 0) || s.Duration <= 0:
		return fmt.Errorf("mode %s: seats, world size and duration must be positive", s.Name)
	}
	if err := s.Schema.Validate(); err != nil {
		return fmt.Errorf("mode %s: invalid schema (kinds, fields, scales, labels, teams)", s.Name)
	}
	for _, a := range s.Actions {
		if a.Cooldown < 0 {
			return fmt.Errorf("mode %s: action %s: negative cooldown", s.Name, a.Name)
		}
	}
	info := s.Info(30)
	if err := info.Validate(&s.Schema); err != nil {
		return fmt.Errorf("mode %s: invalid declaration (speed, radii, actions, events, teams or immobility): %w", s.Name, err)
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
// client-side prediction: (x, y) moves by (mx, my)·speed·dt and is then
// clamped to [0, w]×[0, h] (the avatar's center; its radius is not
// subtracted).
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
