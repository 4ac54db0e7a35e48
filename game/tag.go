package game

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"time"

	"skirmish/netcode"
)

// Tag is a small mode that shows the rules API is general: one player is
// "it"; touching another player passes "it" on. Every second a player is not
// "it" scores a point. It has no network code: the schema below is all the
// netcode needs.
type Tag struct{ spec Spec }

// Tag tuning.
const (
	TagSpeed    = 220 // default avatar speed, u/s
	tagSize     = 16  // avatar radius
	tagImmunity = 1.0 // s during which the new "it" cannot tag back
	// FieldIt is the index of the "it" field: 1 for the player who is it.
	FieldIt = 0
	// EventTagged: "it" passed on; A is the new "it", B the previous one
	// (0: nobody).
	EventTagged = 4
)

func init() {
	Register(Def{
		Name:  "tag",
		Title: "Tag",
		Doc:   "One player is it; touching another passes it on. Every second you are not it scores a point.",
		Options: []Option{
			{Name: "players", Doc: "seats of a match", Default: 8, Min: 1, Max: 1024},
			{Name: "duration", Doc: "length of a match", Default: 2 * time.Minute, Min: 0.001, Max: 86400},
			{Name: "size", Doc: "width and height of the world in units", Default: 1000.0, Min: 100, Max: 1e6},
			{Name: "interest-radius", Doc: "radius R of each player's view in units", Default: 600.0, Min: 1, Max: 1e6},
			{Name: "speed", Doc: "avatar speed in units per second", Default: float64(TagSpeed), Min: 1, Max: 1e5},
		},
		New: func(v Values) (Mode, error) {
			return NewTag(TagConfig{Players: v.Int("players"), Duration: v.Duration("duration"), Size: float32(v.Float("size")),
				InterestRadius: float32(v.Float("interest-radius")), Speed: float32(v.Float("speed"))}), nil
		},
	})
}

// TagConfig sizes a tag mode. The zero value of a field means its default.
type TagConfig struct {
	Players        int           // default 8
	Duration       time.Duration // default 2 minutes
	Size           float32       // world width and height; default 1000
	InterestRadius float32       // default 600
	Speed          float32       // default TagSpeed
}

// NewTag returns the tag mode of cfg: by default 8 seats, a 1000×1000
// world, 2 minutes.
func NewTag(cfg TagConfig) *Tag {
	cfg.Players = cmp.Or(cfg.Players, 8)
	cfg.Duration = cmp.Or(cfg.Duration, 2*time.Minute)
	cfg.Size = cmp.Or(cfg.Size, 1000)
	cfg.InterestRadius = cmp.Or(cfg.InterestRadius, 600)
	cfg.Speed = cmp.Or(cfg.Speed, TagSpeed)
	return &Tag{spec: Spec{
		Name:         "tag",
		MaxPlayers:   cfg.Players,
		Width:        cfg.Size,
		Height:       cfg.Size,
		Duration:     cfg.Duration,
		Speed:        cfg.Speed,
		AvatarRadius: tagSize,
		Events: []netcode.EventDecl{
			{Type: EventTagged, Name: "tagged", A: netcode.EventArgPlayer, B: netcode.EventArgPlayer},
		},
		Schema: netcode.Schema{
			PosScale: 8,
			Kinds: []netcode.Kind{
				{Name: "player", Shape: netcode.ShapeCircle, Color: "#81c784", Size: tagSize, Label: netcode.LabelOwner, Team: -1},
			},
			Fields: []netcode.Field{{Name: "it", Scale: 1}},
		},
		Interest: netcode.Interest{Radius: cfg.InterestRadius}.WithDefaults(),
	}}
}

// Spec implements Mode.
func (t *Tag) Spec() *Spec { return &t.spec }

// NewRules implements Mode.
func (t *Tag) NewRules(w *World) Rules { return &tagRules{spec: &t.spec} }

type tagRules struct {
	spec   *Spec
	it     uint32  // entity that is "it" (0: nobody yet)
	immune float32 // seconds before "it" can pass it on again
}

func (r *tagRules) Join(w *World, p *Player) {
	x, y := w.RandomPoint(tagSize)
	e := w.Spawn(0, x, y)
	e.Radius = tagSize
	p.Entity = e.ID
	if r.it == 0 {
		r.makeIt(w, e.ID, 0)
	}
}

func (r *tagRules) Leave(w *World, p *Player) {
	w.Remove(p.Entity)
	if r.it != p.Entity {
		return
	}
	r.it = 0
	for _, q := range w.Players { // pass "it" to anyone still here
		if q != nil && q != p {
			r.makeIt(w, q.Entity, 0)
			return
		}
	}
}

func (r *tagRules) Apply(w *World, p *Player, in *netcode.Input) uint8 {
	if !ValidDirection(in.MoveX, in.MoveY) {
		return netcode.RejectBadDirection
	}
	if e := w.Get(p.Entity); e != nil {
		e.X, e.Y = Move(e.X, e.Y, in.MoveX, in.MoveY, r.spec.Speed, w.Dt, w.Width, w.Height)
	}
	return netcode.RejectNone
}

func (r *tagRules) Step(w *World) {
	r.immune -= w.Dt
	pay := (w.Tick+1)%uint64(w.TickRate) == 0 // once a second

	it := w.Get(r.it)
	for _, p := range w.Players {
		if p == nil || p.Entity == r.it {
			continue
		}
		if pay {
			p.Score++
		}
		e := w.Get(p.Entity)
		if it == nil || e == nil || r.immune > 0 {
			continue
		}
		dx, dy, rr := e.X-it.X, e.Y-it.Y, e.Radius+it.Radius
		if dx*dx+dy*dy <= rr*rr {
			r.makeIt(w, e.ID, it.ID)
			it = e
		}
	}
}

// makeIt passes "it" from entity prev (0: nobody) to entity id.
func (r *tagRules) makeIt(w *World, id, prev uint32) {
	if e := w.Get(prev); e != nil {
		e.F[FieldIt] = 0
	}
	if e := w.Get(id); e != nil {
		e.F[FieldIt] = 1
	}
	r.it, r.immune = id, tagImmunity
	w.Emit(EventTagged, id, prev)
}

func (r *tagRules) Over(w *World) bool { return w.Seconds() >= r.spec.Duration.Seconds() }

func (r *tagRules) Result(w *World) []netcode.Standing { return Standings(w) }

// tagStateVersion is the first byte of tag's rule state.
const tagStateVersion = 1

// AppendState implements Portable: a version byte, then "it" (uint32) and
// the immunity left (float32 bits), little endian.
func (r *tagRules) AppendState(dst []byte) []byte {
	dst = append(dst, tagStateVersion)
	dst = binary.LittleEndian.AppendUint32(dst, r.it)
	return appendFloat32(dst, r.immune)
}

// ResumeRules implements Resumable. "It" is taken as saved: an entity that
// is gone is harmless (Step ignores it), as in the original.
func (t *Tag) ResumeRules(w *World, state []byte) (Rules, error) {
	r := &tagRules{spec: &t.spec}
	sr := stateReader{b: state}
	if v := sr.byte(); sr.err == nil && v != tagStateVersion {
		return nil, fmt.Errorf("tag state: version %d", v)
	}
	r.it = sr.uint32()
	r.immune = sr.float32()
	if err := sr.done(); err != nil {
		return nil, err
	}
	return r, nil
}
