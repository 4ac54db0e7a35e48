package game

import (
	"fmt"
	"math"
	"time"

	"skirmish/netcode"
)

// Arena entity kinds and fields.
const (
	KindPlayer     uint8 = 0
	KindNPC        uint8 = 1
	KindProjectile uint8 = 2

	// FieldHP is the index of the hp field of arena entities.
	FieldHP = 0

	// ArenaFire is the bit of the fire action in Input.Buttons.
	ArenaFire uint8 = 0
	// ArenaHitscan is the bit of the hitscan action in Input.Buttons.
	ArenaHitscan uint8 = 1
)

// Arena events (netcode.Event types).
const (
	EventHit     = 1 // A: the shooter's avatar (0: gone), B: the entity hit
	EventKill    = 2 // A: the shooter's avatar, B: the player killed
	EventRespawn = 3 // A: the avatar that respawned
	// EventHitscan is a hitscan hit. A: the shooter's avatar, B: the
	// entity hit (a player's avatar or an NPC).
	EventHitscan = 4
)

func init() {
	Register(Def{
		Name:  "arena",
		Title: "Arena",
		Doc:   "Free-for-all: move, shoot, score a point for every hit on a player or an NPC; a hitscan (second button) hits at once, where the shooter saw its target.",
		Options: []Option{
			{Name: "players", Doc: "seats of a match", Default: 8, Min: 1, Max: 4096},
			{Name: "npcs", Doc: "wandering NPCs of a match (0 or -1: none)", Default: 64, Min: -1, Max: 65536},
			{Name: "size", Doc: "width and height of the world in units (0: 2000 for 72 entities, scaled to keep that density)", Default: 0.0, Min: 0, Max: 1e6},
			{Name: "duration", Doc: "length of a match", Default: 3 * time.Minute, Min: 0.001, Max: 86400},
			{Name: "score-limit", Doc: "hits that end a match", Default: 50, Min: 1, Max: 1 << 30},
			{Name: "interest-radius", Doc: "radius R of each player's view in units", Default: 500.0, Min: 1, Max: 1e6},
			{Name: "speed", Doc: "avatar speed in units per second", Default: float64(ArenaSpeed), Min: 1, Max: 1e5},
		},
		New: func(v Values) (Mode, error) {
			npcs := v.Int("npcs")
			if npcs <= 0 {
				npcs = -1 // ArenaConfig's none
			}
			return NewArena(ArenaConfig{
				Players: v.Int("players"), NPCs: npcs, Width: float32(v.Float("size")),
				Duration: v.Duration("duration"), ScoreLimit: int32(v.Int("score-limit")),
				InterestRadius: float32(v.Float("interest-radius")), Speed: float32(v.Float("speed")),
			}), nil
		},
	})
}

// ArenaConfig sizes an arena. The zero value of a field means its default.
type ArenaConfig struct {
	Players int // seats; default 8
	NPCs    int // wandering NPCs; default 64, negative for none
	// Width and Height are the world's size. The default keeps the density
	// of the classic arena (72 entities on 2000×2000): 2000·√(entities/72).
	Width, Height float32
	Duration      time.Duration // default 3 minutes
	ScoreLimit    int32         // default 50 hits
	// InterestRadius is R, the radius of each player's view; default 500.
	InterestRadius float32
	// Speed is the avatars' speed in units per second; default ArenaSpeed.
	Speed float32
}

// Arena tuning.
const (
	ArenaSpeed      = 200 // default player speed, u/s
	arenaNPCSpeed   = 100 // u/s
	arenaShotSpeed  = 600 // u/s
	arenaShotLife   = 1.0 // s
	arenaMaxHP      = 100
	arenaHitDamage  = 25
	arenaRespawn    = 2.0 // s
	arenaPlayerSize = 16
	arenaNPCSize    = 14
	arenaShotSize   = 4
	// ArenaCooldown is the minimum time between two shots of a player.
	ArenaCooldown = 250 * time.Millisecond
	// ArenaHitscanCooldown is the minimum time between two hitscans of a
	// player.
	ArenaHitscanCooldown = time.Second
	// arenaHitscanDamage takes three hits to kill.
	arenaHitscanDamage = 34
	// timerEpsilon absorbs float32 rounding of timers counted down by dt.
	timerEpsilon = 1e-4
)

// arenaGun is the arena's weapon.
var arenaGun = Gun{Fire: ArenaFire, Cooldown: ArenaCooldown, Kind: KindProjectile,
	Speed: arenaShotSpeed, Life: arenaShotLife, Radius: arenaShotSize,
	HP: FieldHP, MaxHP: arenaMaxHP, Damage: arenaHitDamage, Respawn: arenaRespawn}

// arenaHitscan is the arena's second weapon; its range is as far as a
// player sees: the interest radius, up to where entities leave the view.
func arenaHitscan(cfg ArenaConfig) Hitscan {
	in := netcode.Interest{Radius: cfg.InterestRadius}.WithDefaults()
	return Hitscan{Fire: ArenaHitscan, Name: "hitscan", Cooldown: ArenaHitscanCooldown,
		Range: in.QueryRadius(), Damage: arenaHitscanDamage}
}

// Arena is the built-in free-for-all mode: players move, shoot projectiles
// and score a point for every hit on a player or an NPC. The hitscan (bit
// ArenaHitscan, cooldown 1 s, aimed) hits what a shot could (the nearest
// other living player or NPC on its ray), as far as a player sees, where
// the shooter saw it (at the input's view time, rewound): a point and
// EventHitscan; a player loses 34 hp, an NPC goes elsewhere.
type Arena struct {
	cfg  ArenaConfig
	spec Spec
}

// NewArena returns an arena mode with cfg's size.
func NewArena(cfg ArenaConfig) *Arena {
	if cfg.Players <= 0 {
		cfg.Players = 8
	}
	if cfg.NPCs < 0 {
		cfg.NPCs = 0
	} else if cfg.NPCs == 0 {
		cfg.NPCs = 64
	}
	if cfg.Width <= 0 {
		cfg.Width = float32(2000 * math.Sqrt(float64(cfg.Players+cfg.NPCs)/72))
	}
	if cfg.InterestRadius <= 0 {
		cfg.InterestRadius = 500
	}
	if cfg.Height <= 0 {
		cfg.Height = cfg.Width
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 3 * time.Minute
	}
	if cfg.ScoreLimit <= 0 {
		cfg.ScoreLimit = 50
	}
	if cfg.Speed <= 0 {
		cfg.Speed = ArenaSpeed
	}
	hs := arenaHitscan(cfg)
	return &Arena{cfg: cfg, spec: Spec{
		Name:         "arena",
		MaxPlayers:   cfg.Players,
		Width:        cfg.Width,
		Height:       cfg.Height,
		Duration:     cfg.Duration,
		Speed:        cfg.Speed,
		AvatarRadius: arenaPlayerSize,
		Actions:      []Action{arenaGun.Action(), hs.Action()},
		Events: append(arenaGun.Events(),
			netcode.EventDecl{Type: EventHitscan, Name: "hitscan", A: netcode.EventArgPlayer, B: netcode.EventArgEntity}),
		// A dead player (hp 0) does not move until it respawns.
		Immobile: &netcode.Immobile{Field: FieldHP, Min: -math.MaxFloat32, Max: 0},
		Schema: netcode.Schema{
			PosScale: 8,
			Kinds: []netcode.Kind{
				{Name: "player", Shape: netcode.ShapeCircle, Color: "#4fc3f7", Size: arenaPlayerSize, Label: netcode.LabelOwner, Team: -1,
					Meter: FieldHP, MeterMax: arenaMaxHP},
				{Name: "npc", Shape: netcode.ShapeDiamond, Color: "#ffb74d", Size: arenaNPCSize, Label: netcode.LabelNone, Team: -1},
				{Name: "projectile", Shape: netcode.ShapeCircle, Color: "#ffffff", Size: arenaShotSize, Label: netcode.LabelNone, Team: -1},
			},
			Fields: []netcode.Field{{Name: "hp", Scale: 1}},
		},
		Interest: netcode.Interest{Radius: cfg.InterestRadius, FarEvery: 3}.WithDefaults(),
	}}
}

// Spec implements Mode.
func (a *Arena) Spec() *Spec { return &a.spec }

// NewRules implements Mode: it spawns the NPCs.
func (a *Arena) NewRules(w *World) Rules {
	r := a.rules(w)
	for range a.cfg.NPCs {
		x, y := w.RandomPoint(arenaNPCSize)
		e := w.Spawn(KindNPC, x, y)
		e.Radius = arenaNPCSize
		e.F[FieldHP] = 1
		r.newHeading(w, e)
	}
	return r
}

// rules returns new rules of a over w, before any state.
func (a *Arena) rules(w *World) *arenaRules {
	return &arenaRules{Guns: NewGuns(arenaGun, w, a.cfg.Players),
		beam: NewHitscans(arenaHitscan(a.cfg), w, a.cfg.Players), cfg: a.cfg, spec: &a.spec}
}

type arenaRules struct {
	Guns
	beam Hitscans
	cfg  ArenaConfig
	spec *Spec
	over bool
	// gridCell is the collision grid's cell size, set at the first Step
	// and kept for the match: the order in which a shot meets targets
	// depends on it.
	gridCell float32
	// collision scratch, reused every tick
	grid    *Grid
	targets []int32 // grid item → index in w.Entities
	cells   []int32
}

func (r *arenaRules) Join(w *World, p *Player) {
	x, y := w.RandomPoint(arenaPlayerSize)
	e := w.Spawn(KindPlayer, x, y)
	e.Radius = arenaPlayerSize
	e.F[FieldHP] = arenaMaxHP
	e.Owner = p.Seat
	p.Entity = e.ID
	r.Arm(p.Seat, 1, 0)
	r.beam.Arm(p.Seat)
}

func (r *arenaRules) Leave(w *World, p *Player) {
	w.Remove(p.Entity)
	r.RemoveShots(w, p.Seat)
}

// Apply moves, fires the hitscan, then the gun (its shot advanced for
// the shooter's latency). An input that cannot do all it asks is rejected
// whole.
func (r *arenaRules) Apply(w *World, p *Player, in *netcode.Input) uint8 {
	if reject := r.beam.Check(w, p.Seat, in); reject != netcode.RejectNone {
		return reject
	}
	reject, shot := r.Act(w, p, in, r.spec)
	if reject != netcode.RejectNone {
		return reject
	}
	seat := p.Seat
	// The hitscan first: it strikes at once, before the shot fired with it
	// flies (and maybe kills its target).
	if e := w.Get(p.Entity); e != nil && r.spec.CanMove(&e.Entity) {
		fx, fy := r.Face(seat)
		if t := r.beam.Fire(w, seat, e, in, fx, fy, func(t *Entity) bool { return shotCanHit(seat, t) }); t != nil {
			p.Score++
			w.Emit(EventHitscan, p.Entity, t.ID)
			if t.Kind == KindNPC { // as a shot's hit: it goes elsewhere
				t.X, t.Y = w.RandomPoint(arenaNPCSize)
				r.newHeading(w, t)
			} else {
				r.WoundBy(w, t, p.Entity, r.beam.hs.Damage)
			}
		}
	}
	if shot != nil {
		if t := r.Advance(w, shot, in, func(t *Entity) bool { return shotCanHit(seat, t) }); t != nil {
			r.hit(w, shot, t)
		}
	}
	return netcode.RejectNone
}

// shotCanHit reports whether a shot of seat can hit t: a living player
// (not the shooter) or NPC.
func shotCanHit(seat int, t *Entity) bool {
	return t.Kind != KindProjectile && t.F[FieldHP] > 0 && !(t.Kind == KindPlayer && t.Owner == seat)
}

func (r *arenaRules) Step(w *World) {
	dt := w.Dt
	for i := range w.Entities {
		e := &w.Entities[i]
		if e.removed {
			continue
		}
		switch e.Kind {
		case KindNPC:
			r.stepNPC(w, e, dt)
		case KindPlayer:
			if r.Revive(w, e) {
				e.X, e.Y = w.RandomPoint(arenaPlayerSize)
			}
		case KindProjectile:
			r.MoveShot(w, e)
		}
	}
	r.collide(w)
	for _, p := range w.Players {
		if p != nil && p.Score >= r.cfg.ScoreLimit {
			r.over = true
		}
	}
}

func (r *arenaRules) stepNPC(w *World, e *Entity, dt float32) {
	e.Timer -= dt
	if e.Timer <= 0 {
		r.newHeading(w, e)
	}
	e.X += e.VX * dt
	e.Y += e.VY * dt
	if e.X < 0 || e.X > w.Width {
		e.VX = -e.VX
		e.X = min(max(e.X, 0), w.Width)
	}
	if e.Y < 0 || e.Y > w.Height {
		e.VY = -e.VY
		e.Y = min(max(e.Y, 0), w.Height)
	}
}

// newHeading points an NPC in a random direction for 1 to 3 seconds.
func (r *arenaRules) newHeading(w *World, e *Entity) {
	a := w.Rng.Float64() * 2 * math.Pi
	e.VX = float32(math.Cos(a)) * arenaNPCSpeed
	e.VY = float32(math.Sin(a)) * arenaNPCSpeed
	e.Timer = 1 + 2*w.Rng.Float32()
}

// collide resolves projectile hits: a projectile hits the first living
// player (not its shooter) or NPC it overlaps. Targets are put in a grid
// once per tick, so each shot checks only its neighbourhood.
func (r *arenaRules) collide(w *World) {
	if r.grid == nil {
		if r.gridCell == 0 {
			// About one target per cell keeps both the build and the
			// queries cheap, whatever the world's size.
			n := float64(max(len(w.Entities), 1))
			r.gridCell = max(4*arenaPlayerSize, float32(math.Sqrt(float64(w.Width)*float64(w.Height)/n)))
		}
		r.grid = NewGrid(w.Width, w.Height, r.gridCell)
	}
	g := r.grid
	g.Reset()
	r.targets = r.targets[:0]
	for i := range w.Entities {
		if t := &w.Entities[i]; t.Kind != KindProjectile && !t.removed && t.F[FieldHP] > 0 {
			r.targets = append(r.targets, int32(i))
			g.Add(t.X, t.Y)
		}
	}
	g.Finish()
	reach := float32(arenaPlayerSize + arenaShotSize)
	for i := range w.Entities {
		shot := &w.Entities[i]
		if shot.Kind != KindProjectile || shot.removed {
			continue
		}
		r.cells = g.Cells(r.cells[:0], shot.X, shot.Y, reach)
	cells:
		for _, c := range r.cells {
			for _, k := range g.Items(c) {
				t := &w.Entities[r.targets[k]]
				if !shotCanHit(shot.Owner, t) {
					continue
				}
				dx, dy, rr := t.X-shot.X, t.Y-shot.Y, t.Radius+shot.Radius
				if dx*dx+dy*dy > rr*rr {
					continue
				}
				r.hit(w, shot, t)
				break cells
			}
		}
	}
}

// hit scores a point for shot's shooter; an NPC hit goes elsewhere, a
// player hit is wounded.
func (r *arenaRules) hit(w *World, shot, t *Entity) {
	shooter := r.Hit(w, shot, t, 1)
	if t.Kind == KindNPC {
		t.X, t.Y = w.RandomPoint(arenaNPCSize)
		r.newHeading(w, t)
		return
	}
	r.Wound(w, t, shooter)
}

func (r *arenaRules) Over(w *World) bool {
	return r.over || w.Seconds() >= r.spec.Duration.Seconds()
}

func (r *arenaRules) Result(w *World) []netcode.Standing { return Standings(w) }

// arenaStateVersion is the first byte of an arena's rule state. Version 1
// (before the hitscan) is still read: its seats never fired a hitscan.
const arenaStateVersion = 2

// AppendState implements Portable: a version byte, over, the grid's cell
// size (float32 bits, little endian; 0 before the first Step), the number
// of seats (uvarint) and per seat lastFire (uvarint), faceX and faceY;
// then (since version 2) the number of seats again and per seat the
// hitscan's lastFire (uvarint).
func (r *arenaRules) AppendState(dst []byte) []byte {
	dst = appendBool(append(dst, arenaStateVersion), r.over)
	dst = appendFloat32(dst, r.gridCell)
	dst = r.appendSeats(dst)
	return r.beam.appendState(dst)
}

// ResumeRules implements Resumable.
func (a *Arena) ResumeRules(w *World, state []byte) (Rules, error) {
	if len(w.Players) != a.cfg.Players {
		return nil, fmt.Errorf("arena state: world of %d seats for %d", len(w.Players), a.cfg.Players)
	}
	r := a.rules(w)
	sr := stateReader{b: state}
	v := sr.byte()
	if sr.err == nil && v != arenaStateVersion && v != 1 {
		return nil, fmt.Errorf("arena state: version %d", v)
	}
	r.over = sr.bool("arena state: bad over flag")
	r.gridCell = sr.float32()
	if c := float64(r.gridCell); sr.err == nil && c != 0 &&
		(!(c >= 4*arenaPlayerSize) || (float64(w.Width)/c+1)*(float64(w.Height)/c+1) > 1<<20) {
		// No smaller than the rules make it, nor a grid of more than
		// about a million cells (the rules make about one per entity).
		sr.fail(fmt.Errorf("arena state: grid cell %v", r.gridCell))
	}
	r.readSeats(&sr, w, "arena")
	if v >= 2 {
		r.beam.readState(&sr, w, "arena")
	}
	if err := sr.done(); err != nil {
		return nil, err
	}
	if err := r.CheckShots(w, "arena"); err != nil {
		return nil, err
	}
	return r, nil
}
