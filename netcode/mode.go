package netcode

import "math"

// Limits of a mode's declaration (matched): what a mode may declare and
// what a decoder accepts.
const (
	MaxKinds   = 255
	MaxActions = 8
	MaxEvents  = 64
	MaxTeams   = 16
)

// Shapes a Kind may be drawn as. A client draws a shape it does not know
// as a circle.
const (
	ShapeCircle   = "circle"
	ShapeSquare   = "square"
	ShapeTriangle = "triangle"
	ShapeDiamond  = "diamond"
	ShapeRing     = "ring"
)

// Label values of a Kind besides a field index.
const (
	// LabelNone: entities of the kind carry no label.
	LabelNone = -1
	// LabelOwner: the label is the name of the player whose avatar the
	// entity is (from the scores' names).
	LabelOwner = -2
)

// Kind declares one entity kind: its name and how clients draw it.
type Kind struct {
	// Name is the kind's name ("player").
	Name string
	// Shape is one of the Shape constants.
	Shape string
	// Color is "#rrggbb".
	Color string
	// Size is the drawn radius in world units.
	Size float32
	// Label is the index of the field shown as the entity's label,
	// LabelNone or LabelOwner.
	Label int8
	// Team is the index of the field that holds the entity's team (a
	// number from 1: ModeInfo.Teams[n-1]; 0: none), or -1: the kind has
	// no team.
	Team int8
	// MeterMax, when above 0, draws field Meter as a bar under the
	// entity, full at MeterMax (hp out of 100). The zero value: no meter.
	Meter    int8
	MeterMax float32
}

// Action declares one button of Input.Buttons the mode accepts.
type Action struct {
	// Bit is the action's bit in Input.Buttons (0 to 7).
	Bit uint8
	// Name names the action ("fire"); clients and bots find actions by
	// name.
	Name string
	// CooldownTicks is the least number of ticks between two inputs that
	// press the action and are accepted: an input pressing it fewer ticks
	// after the last accepted one is rejected whole (RejectCooldown).
	// 0: no cooldown.
	CooldownTicks uint32
	// Aimed: the action uses the input's aim, and an input pressing it
	// with an aim that is not (0, 0) but shorter than 1e-6 is rejected
	// (RejectBadDirection).
	Aimed bool
}

// Meanings of an event's A and B (EventDecl).
const (
	EventArgNone   = ""
	EventArgEntity = "entity" // an entity ID
	EventArgPlayer = "player" // the entity ID of a player's avatar
	EventArgValue  = "value"  // a number
)

// EventDecl declares one event type of the mode.
type EventDecl struct {
	Type uint8
	Name string
	// A and B say what the event's A and B are: EventArgEntity,
	// EventArgPlayer, EventArgValue or EventArgNone (unused, 0).
	A, B string
}

// Team declares one team of a team mode.
type Team struct {
	Name  string
	Color string // "#rrggbb"
}

// Immobile is a mode's rule for avatars that inputs do not move (a dead
// one): the avatar is immobile while its field Field is between Min and
// Max, both included.
type Immobile struct {
	Field    uint8
	Min, Max float32
}

// Holds reports whether the rule makes avatar e immobile; a nil rule never
// does.
func (im *Immobile) Holds(e *Entity) bool {
	if im == nil || int(im.Field) >= MaxFields {
		return false
	}
	v := e.F[im.Field]
	return v >= im.Min && v <= im.Max
}

// ModeInfo is what a matched message says about the mode besides its
// schema: everything a client needs to predict its avatar and to play and
// draw any mode without code of its own.
type ModeInfo struct {
	// Speed is the avatar speed in units per second: an applied input
	// moves it by (moveX, moveY)·Speed/tickRate, clamped to the world
	// (game.Move).
	Speed float32
	// AvatarRadius is the radius of a player's avatar in units.
	AvatarRadius float32
	// InterestRadius is R: entities enter the player's view within R of
	// their avatar.
	InterestRadius float32
	// Actions are the buttons the mode accepts; any other bit of
	// Input.Buttons is ignored.
	Actions []Action
	// Events are the event types the mode emits.
	Events []EventDecl
	// Teams are the teams of a team mode; empty for free-for-all.
	Teams []Team
	// Immobile, if not nil, says when an avatar does not move.
	Immobile *Immobile
}

// Action returns the declared action called name, if any.
func (mi *ModeInfo) Action(name string) (Action, bool) {
	for _, a := range mi.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return Action{}, false
}

// Event returns the declared event type called name, if any.
func (mi *ModeInfo) Event(name string) (EventDecl, bool) {
	for _, e := range mi.Events {
		if e.Name == name {
			return e, true
		}
	}
	return EventDecl{}, false
}

// Clone returns a copy of mi that shares no memory with it.
func (mi *ModeInfo) Clone() ModeInfo {
	c := *mi
	c.Actions = append([]Action(nil), mi.Actions...)
	c.Events = append([]EventDecl(nil), mi.Events...)
	c.Teams = append([]Team(nil), mi.Teams...)
	if mi.Immobile != nil {
		im := *mi.Immobile
		c.Immobile = &im
	}
	return c
}

// Validate reports whether mi can be sent with schema s: finite positive
// sizes, at most MaxActions actions on distinct bits below 8 with distinct
// non-empty names, at most MaxEvents events of distinct types, at most
// MaxTeams teams, an immobility rule on a field of s, and kinds whose team
// field exists when there are teams.
func (mi *ModeInfo) Validate(s *Schema) error {
	if !positive(mi.Speed) || !positive(mi.AvatarRadius) || !positive(mi.InterestRadius) {
		return errRange
	}
	if len(mi.Actions) > MaxActions || len(mi.Events) > MaxEvents || len(mi.Teams) > MaxTeams {
		return errTooLong
	}
	var bitsUsed uint16
	for i, a := range mi.Actions {
		if a.Bit > 7 || bitsUsed&(1<<a.Bit) != 0 || !validName(a.Name) {
			return errRange
		}
		bitsUsed |= 1 << a.Bit
		for _, b := range mi.Actions[:i] {
			if b.Name == a.Name {
				return errRange
			}
		}
	}
	var types [256]bool
	for _, e := range mi.Events {
		if types[e.Type] || !validName(e.Name) || !validArg(e.A) || !validArg(e.B) {
			return errRange
		}
		types[e.Type] = true
	}
	for _, t := range mi.Teams {
		if !validName(t.Name) || len(t.Color) > maxStrServer {
			return errRange
		}
	}
	if im := mi.Immobile; im != nil && (int(im.Field) >= len(s.Fields) || !finite32(im.Min) || !finite32(im.Max)) {
		return errRange
	}
	for _, k := range s.Kinds {
		if k.Team >= 0 && len(mi.Teams) == 0 {
			return errRange
		}
	}
	return nil
}

func positive(f float32) bool { return f > 0 && finite32(f) }

func finite32(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

func validName(s string) bool { return s != "" && len(s) <= maxStrServer }

func validArg(s string) bool {
	switch s {
	case EventArgNone, EventArgEntity, EventArgPlayer, EventArgValue:
		return true
	}
	return false
}
