package game

import (
	"errors"
	"fmt"
	"math"
	"time"

	"skirmish/netcode"
)

// CTF is capture the flag: two teams (red and blue) of 4, each with a base
// and a flag at it. Touching the enemy flag picks it up; carrying it to
// your own base while your own flag is at home scores a capture. Players
// shoot as in the arena (no friendly fire); a hit carrier drops the flag,
// which goes home after CTFReturnTime, or at once when one of its team
// touches it. The first team to the capture limit wins, or the team ahead
// when time is up. Like tag, it has no network code and no client code.
type CTF struct {
	cfg  CTFConfig
	spec Spec
}

// CTFConfig sets up a ctf mode. The zero value of a field means its
// default.
type CTFConfig struct {
	TeamSize     int           // players per team; default 4 (8 seats)
	Duration     time.Duration // default 5 minutes
	CaptureLimit int32         // captures that win; default 3
	// Width and Height are the world's size; default 1600×800. The bases
	// stand 120 from the left and right edges, halfway down.
	Width, Height float32
}

// Teams of ctf (Player.Team and the "team" field).
const (
	CTFRed  uint8 = 1
	CTFBlue uint8 = 2
)

// CTF entity kinds and fields. Every entity has every field; those that
// do not apply to a kind stay 0 (and cost nothing on the wire).
const (
	CTFKindPlayer     uint8 = 0
	CTFKindFlag       uint8 = 1
	CTFKindBase       uint8 = 2
	CTFKindProjectile uint8 = 3

	// CTFFieldTeam is every entity's team: a player's, a flag's or base's
	// owner, a shot's shooter's.
	CTFFieldTeam = 0
	// CTFFieldHP is a player's hp, 0 while dead.
	CTFFieldHP = 1
	// CTFFieldCarrying is 1 on a player who carries the enemy flag.
	CTFFieldCarrying = 2
	// CTFFieldState is a flag's state: CTFFlagHome, CTFFlagCarried or
	// CTFFlagDropped.
	CTFFieldState = 3
	// CTFFieldCaptures is a base's team's captures so far.
	CTFFieldCaptures = 4
)

// Flag states (CTFFieldState).
const (
	CTFFlagHome    = 0
	CTFFlagCarried = 1
	CTFFlagDropped = 2
)

// CTF event types, besides arena's hit, kill and respawn (a, b entity
// IDs), and the fire action's button.
const (
	// CTFFire is the bit of the fire action in Input.Buttons.
	CTFFire uint8 = 0
	// CTFEventPickup: player a picked up flag b.
	CTFEventPickup uint8 = 5
	// CTFEventDrop: player a dropped flag b (hit, or left).
	CTFEventDrop uint8 = 6
	// CTFEventCapture: player a captured flag b.
	CTFEventCapture uint8 = 7
	// CTFEventReturn: flag a went home, touched by player b (0: by time).
	CTFEventReturn uint8 = 8
)

// CTF tuning. Carriers are not slowed: every avatar moves at CTFSpeed, so
// that clients predict a carrier with Spec.Speed like anyone else.
const (
	CTFSpeed    = 200 // u/s
	CTFCooldown = 250 * time.Millisecond
	// CTFReturnTime is how long a dropped flag lies before it goes home.
	CTFReturnTime = 10.0 // s
	// ctfPickupDelay is how long a dropped flag lies before the enemy can
	// pick it up again (its own team returns it at once): a hit carrier
	// does not simply pick it up where they stand.
	ctfPickupDelay = 1.0 // s

	ctfBaseInset  = 120
	ctfSpawnRange = 80 // players (re)spawn within this of their base
	ctfShotSpeed  = 600
	ctfShotLife   = 0.8 // s
	ctfMaxHP      = 100
	ctfHitDamage  = 25
	ctfRespawn    = 3.0 // s
	ctfPlayerSize = 16
	ctfShotSize   = 4
	ctfFlagSize   = 12
	ctfBaseSize   = 40 // a carrier inside this radius of its base captures
	// Points of a player's own score: a hit on an enemy, a flag returned,
	// a capture.
	ctfHitPoints     = 1
	ctfReturnPoints  = 3
	ctfCapturePoints = 10
)

// ctfGun is ctf's weapon: arena's, with shots that fly less long.
var ctfGun = Gun{Fire: CTFFire, Cooldown: CTFCooldown, Kind: CTFKindProjectile,
	Speed: ctfShotSpeed, Life: ctfShotLife, Radius: ctfShotSize,
	HP: CTFFieldHP, MaxHP: ctfMaxHP, Damage: ctfHitDamage, Respawn: ctfRespawn}

func init() {
	Register(Def{
		Name:  "ctf",
		Title: "Capture the flag",
		Doc:   "Two teams of 4: bring the enemy flag to your base while your own flag is home. A hit carrier drops the flag.",
		Options: []Option{
			{Name: "team-size", Doc: "players per team (two teams)", Default: 4, Min: 1, Max: 64},
			{Name: "duration", Doc: "length of a match", Default: 5 * time.Minute, Min: 0.001, Max: 86400},
			{Name: "capture-limit", Doc: "captures that win the match", Default: 3, Min: 1, Max: 1000},
			{Name: "width", Doc: "width of the world in units", Default: 1600.0, Min: 2*ctfBaseInset + 2*ctfBaseSize, Max: 1e5},
			{Name: "height", Doc: "height of the world in units", Default: 800.0, Min: 2 * ctfBaseSize, Max: 1e5},
		},
		New: func(v Values) (Mode, error) {
			return NewCTF(CTFConfig{TeamSize: v.Int("team-size"), Duration: v.Duration("duration"),
				CaptureLimit: int32(v.Int("capture-limit")), Width: float32(v.Float("width")), Height: float32(v.Float("height"))}), nil
		},
	})
}

// NewCTF returns a ctf mode with cfg's settings. The whole world is in
// every player's view.
func NewCTF(cfg CTFConfig) *CTF {
	if cfg.TeamSize <= 0 {
		cfg.TeamSize = 4
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 5 * time.Minute
	}
	if cfg.CaptureLimit <= 0 {
		cfg.CaptureLimit = 3
	}
	if cfg.Width <= 0 {
		cfg.Width = 1600
	}
	if cfg.Height <= 0 {
		cfg.Height = 800
	}
	// The bases must stand apart, inside the world.
	cfg.Width = max(cfg.Width, 2*ctfBaseInset+2*ctfBaseSize)
	cfg.Height = max(cfg.Height, 2*ctfBaseSize)
	return &CTF{cfg: cfg, spec: Spec{
		Name:         "ctf",
		MaxPlayers:   2 * cfg.TeamSize,
		Width:        cfg.Width,
		Height:       cfg.Height,
		Duration:     cfg.Duration,
		Speed:        CTFSpeed,
		AvatarRadius: ctfPlayerSize,
		Actions:      []Action{ctfGun.Action()},
		Events: append(ctfGun.Events(),
			netcode.EventDecl{Type: CTFEventPickup, Name: "pickup", A: netcode.EventArgPlayer, B: netcode.EventArgEntity},
			netcode.EventDecl{Type: CTFEventDrop, Name: "drop", A: netcode.EventArgPlayer, B: netcode.EventArgEntity},
			netcode.EventDecl{Type: CTFEventCapture, Name: "capture", A: netcode.EventArgPlayer, B: netcode.EventArgEntity},
			netcode.EventDecl{Type: CTFEventReturn, Name: "return", A: netcode.EventArgEntity, B: netcode.EventArgPlayer},
		),
		Teams: []netcode.Team{{Name: "red", Color: "#e74c3c"}, {Name: "blue", Color: "#3498db"}},
		// A dead player (hp 0) does not move until it respawns.
		Immobile: &netcode.Immobile{Field: CTFFieldHP, Min: -math.MaxFloat32, Max: 0},
		Schema: netcode.Schema{
			PosScale: 8,
			// Each kind is drawn in its team's colour (field "team").
			Kinds: []netcode.Kind{
				{Name: "player", Shape: netcode.ShapeCircle, Color: "#cccccc", Size: ctfPlayerSize, Label: netcode.LabelOwner, Team: CTFFieldTeam,
					Meter: CTFFieldHP, MeterMax: ctfMaxHP},
				{Name: "flag", Shape: netcode.ShapeTriangle, Color: "#cccccc", Size: ctfFlagSize, Label: netcode.LabelNone, Team: CTFFieldTeam},
				{Name: "base", Shape: netcode.ShapeRing, Color: "#cccccc", Size: ctfBaseSize, Label: CTFFieldCaptures, Team: CTFFieldTeam},
				{Name: "projectile", Shape: netcode.ShapeCircle, Color: "#cccccc", Size: ctfShotSize, Label: netcode.LabelNone, Team: CTFFieldTeam},
			},
			Fields: []netcode.Field{{Name: "team", Scale: 1}, {Name: "hp", Scale: 1},
				{Name: "carrying", Scale: 1}, {Name: "state", Scale: 1}, {Name: "captures", Scale: 1}},
		},
		// The whole world is in view: both flags are always on screen.
		Interest: netcode.Interest{Radius: float32(math.Ceil(math.Hypot(float64(cfg.Width), float64(cfg.Height))))}.WithDefaults(),
	}}
}

// Spec implements Mode.
func (c *CTF) Spec() *Spec { return &c.spec }

// NewRules implements Mode: it spawns the two bases and their flags.
func (c *CTF) NewRules(w *World) Rules {
	r := c.newRules(w)
	for _, team := range []uint8{CTFRed, CTFBlue} {
		x, y := ctfHome(w, team)
		b := w.Spawn(CTFKindBase, x, y)
		b.Radius = ctfBaseSize
		b.F[CTFFieldTeam] = float32(team)
		r.bases[team-1] = b.ID
	}
	for _, team := range []uint8{CTFRed, CTFBlue} {
		x, y := ctfHome(w, team)
		f := w.Spawn(CTFKindFlag, x, y)
		f.Radius = ctfFlagSize
		f.F[CTFFieldTeam] = float32(team)
		r.flags[team-1] = f.ID
	}
	return r
}

func (c *CTF) newRules(w *World) *ctfRules {
	return &ctfRules{Guns: NewGuns(ctfGun, w, c.spec.MaxPlayers), cfg: c.cfg, spec: &c.spec}
}

// ctfHome is where team's base and flag stand.
func ctfHome(w *World, team uint8) (float32, float32) {
	if team == CTFRed {
		return ctfBaseInset, w.Height / 2
	}
	return w.Width - ctfBaseInset, w.Height / 2
}

// ctfRules keep only what the world does not: the bases' captures, the
// flags' states and carriers (a carried flag's Owner is its carrier's
// seat) and the players' teams (their avatars' team field) are entities'.
type ctfRules struct {
	Guns
	cfg   CTFConfig
	spec  *Spec
	over  bool
	bases [2]uint32 // by team - 1
	flags [2]uint32
}

// syncTeams sets every seated player's Team from their avatar: the world
// holds the teams, so this restores them after a checkpoint too.
func (r *ctfRules) syncTeams(w *World) {
	for _, p := range w.Players {
		if p == nil {
			continue
		}
		if e := w.Get(p.Entity); e != nil {
			p.Team = uint8(e.F[CTFFieldTeam])
		}
	}
}

func (r *ctfRules) captures(w *World, team uint8) int32 {
	if b := w.Get(r.bases[team-1]); b != nil {
		return int32(b.F[CTFFieldCaptures])
	}
	return 0
}

// Join puts p in the team with fewer players (on a tie, the one with fewer
// captures, then red) and spawns them at its base.
func (r *ctfRules) Join(w *World, p *Player) {
	r.syncTeams(w)
	var n [2]int
	for _, q := range w.Players {
		if q != nil && q != p && (q.Team == CTFRed || q.Team == CTFBlue) {
			n[q.Team-1]++
		}
	}
	team := CTFRed
	if n[1] < n[0] || (n[1] == n[0] && r.captures(w, CTFBlue) < r.captures(w, CTFRed)) {
		team = CTFBlue
	}
	e := w.Spawn(CTFKindPlayer, 0, 0)
	e.Radius = ctfPlayerSize
	e.Owner = p.Seat
	e.F[CTFFieldTeam] = float32(team)
	e.F[CTFFieldHP] = ctfMaxHP
	e.X, e.Y = r.spawnPoint(w, team)
	p.Entity, p.Team = e.ID, team
	face := float32(1) // toward the enemy
	if team == CTFBlue {
		face = -1
	}
	r.Arm(p.Seat, face, 0)
}

// spawnPoint is a random point near team's base, inside the world.
func (r *ctfRules) spawnPoint(w *World, team uint8) (float32, float32) {
	x, y := ctfHome(w, team)
	x += (2*w.Rng.Float32() - 1) * ctfSpawnRange
	y += (2*w.Rng.Float32() - 1) * ctfSpawnRange
	return min(max(x, 0), w.Width), min(max(y, 0), w.Height)
}

// Leave drops the flag p carries where they stand and removes their avatar
// and shots.
func (r *ctfRules) Leave(w *World, p *Player) {
	if e := w.Get(p.Entity); e != nil {
		r.drop(w, e)
	}
	w.Remove(p.Entity)
	r.RemoveShots(w, p.Seat)
}

// Apply moves p's avatar and fires, with arena's rules; a shot is of its
// shooter's team, advanced for the shooter's latency (Guns.Advance).
func (r *ctfRules) Apply(w *World, p *Player, in *netcode.Input) uint8 {
	reject, shot := r.Act(w, p, in, r.spec)
	if shot != nil {
		team := w.Get(p.Entity).F[CTFFieldTeam]
		shot.F[CTFFieldTeam] = team
		if t := r.Advance(w, shot, in, func(t *Entity) bool {
			return t.Kind == CTFKindPlayer && t.F[CTFFieldHP] > 0 && t.F[CTFFieldTeam] != team
		}); t != nil {
			r.hitPlayer(w, shot, t)
		}
	}
	return reject
}

// Step respawns the dead, moves shots and resolves hits, returns flags
// dropped long enough, then lets players pick up, return and capture.
func (r *ctfRules) Step(w *World) {
	r.syncTeams(w)
	dt := w.Dt
	for i := range w.Entities {
		e := &w.Entities[i]
		if e.removed {
			continue
		}
		switch e.Kind {
		case CTFKindPlayer:
			if r.Revive(w, e) {
				e.X, e.Y = r.spawnPoint(w, uint8(e.F[CTFFieldTeam]))
			}
		case CTFKindProjectile:
			if r.MoveShot(w, e) {
				r.shoot(w, e)
			}
		case CTFKindFlag:
			if e.F[CTFFieldState] == CTFFlagDropped {
				e.Timer -= dt
				if e.Timer <= timerEpsilon {
					r.home(w, e)
					w.Emit(CTFEventReturn, e.ID, 0)
				}
			}
		}
	}
	for team := range r.flags {
		f := w.Get(r.flags[team])
		if f == nil || f.F[CTFFieldState] != CTFFlagCarried {
			continue
		}
		if c := r.carrier(w, f); c != nil {
			f.X, f.Y = c.X, c.Y
		} else { // its carrier is gone (not seated after a restore)
			f.F[CTFFieldState], f.Owner, f.Timer = CTFFlagDropped, -1, CTFReturnTime
		}
	}
	for _, p := range w.Players {
		if p == nil {
			continue
		}
		if e := w.Get(p.Entity); e != nil && e.F[CTFFieldHP] > 0 {
			r.touch(w, p, e)
		}
	}
}

// shoot hits the first living enemy player that shot overlaps.
func (r *ctfRules) shoot(w *World, shot *Entity) {
	for _, p := range w.Players {
		if p == nil {
			continue
		}
		t := w.Get(p.Entity)
		if t == nil || t.F[CTFFieldHP] <= 0 || t.F[CTFFieldTeam] == shot.F[CTFFieldTeam] {
			continue
		}
		dx, dy, rr := t.X-shot.X, t.Y-shot.Y, t.Radius+shot.Radius
		if dx*dx+dy*dy > rr*rr {
			continue
		}
		r.hitPlayer(w, shot, t)
		return
	}
}

// hitPlayer resolves shot's hit on player t: points, a dropped flag, a
// wound.
func (r *ctfRules) hitPlayer(w *World, shot, t *Entity) {
	shooter := r.Hit(w, shot, t, ctfHitPoints)
	r.drop(w, t)
	r.Wound(w, t, shooter)
}

// touch resolves what living player p (avatar e) touches: the enemy flag
// (pickup), their own dropped flag (return), their base with the enemy
// flag while their own is home (capture).
func (r *ctfRules) touch(w *World, p *Player, e *Entity) {
	team := uint8(e.F[CTFFieldTeam])
	if team != CTFRed && team != CTFBlue {
		return
	}
	own, enemy := w.Get(r.flags[team-1]), w.Get(r.flags[2-team])
	if own == nil || enemy == nil {
		return
	}
	st := enemy.F[CTFFieldState]
	free := st == CTFFlagHome || (st == CTFFlagDropped && enemy.Timer <= CTFReturnTime-ctfPickupDelay+timerEpsilon)
	if e.F[CTFFieldCarrying] == 0 && free && touching(e, enemy) {
		enemy.F[CTFFieldState], enemy.Owner, enemy.Timer = CTFFlagCarried, p.Seat, 0
		enemy.X, enemy.Y = e.X, e.Y
		e.F[CTFFieldCarrying] = 1
		w.Emit(CTFEventPickup, e.ID, enemy.ID)
	}
	if own.F[CTFFieldState] == CTFFlagDropped && touching(e, own) {
		r.home(w, own)
		p.Score += ctfReturnPoints
		w.Emit(CTFEventReturn, own.ID, e.ID)
	}
	base := w.Get(r.bases[team-1])
	if e.F[CTFFieldCarrying] == 0 || base == nil || own.F[CTFFieldState] != CTFFlagHome || !touching(e, base) {
		return
	}
	e.F[CTFFieldCarrying] = 0
	r.home(w, enemy)
	base.F[CTFFieldCaptures]++
	p.Score += ctfCapturePoints
	w.Emit(CTFEventCapture, e.ID, enemy.ID)
	if int32(base.F[CTFFieldCaptures]) >= r.cfg.CaptureLimit {
		r.over = true
	}
}

// touching reports whether a and b overlap.
func touching(a, b *Entity) bool {
	dx, dy, rr := a.X-b.X, a.Y-b.Y, a.Radius+b.Radius
	return dx*dx+dy*dy <= rr*rr
}

// carrier returns the avatar of the seat that carries flag f, or nil.
func (r *ctfRules) carrier(w *World, f *Entity) *Entity {
	if f.Owner < 0 || f.Owner >= len(w.Players) || w.Players[f.Owner] == nil {
		return nil
	}
	return w.Get(w.Players[f.Owner].Entity)
}

// drop makes player e drop the flag they carry, if any, where they stand.
func (r *ctfRules) drop(w *World, e *Entity) {
	if e.F[CTFFieldCarrying] == 0 {
		return
	}
	e.F[CTFFieldCarrying] = 0
	for _, id := range r.flags {
		f := w.Get(id)
		if f != nil && f.F[CTFFieldState] == CTFFlagCarried && f.Owner == e.Owner {
			f.F[CTFFieldState], f.Owner, f.Timer = CTFFlagDropped, -1, CTFReturnTime
			f.X, f.Y = e.X, e.Y
			w.Emit(CTFEventDrop, e.ID, f.ID)
		}
	}
}

// home puts flag f back at its base; its carrier, if any, no longer
// carries it.
func (r *ctfRules) home(w *World, f *Entity) {
	if c := r.carrier(w, f); c != nil && f.F[CTFFieldState] == CTFFlagCarried {
		c.F[CTFFieldCarrying] = 0
	}
	f.X, f.Y = ctfHome(w, uint8(f.F[CTFFieldTeam]))
	f.F[CTFFieldState], f.Owner, f.Timer = CTFFlagHome, -1, 0
}

func (r *ctfRules) Over(w *World) bool {
	return r.over || w.Seconds() >= r.spec.Duration.Seconds()
}

// Result ranks the teams by captures (a draw shares first place), each
// player by their own score within their team.
func (r *ctfRules) Result(w *World) []netcode.Standing {
	r.syncTeams(w)
	return TeamStandings(w, []int32{r.captures(w, CTFRed), r.captures(w, CTFBlue)})
}

// ctfStateVersion is the first byte of ctf's rule state.
const ctfStateVersion = 1

// AppendState implements Portable: a version byte, over, the number of
// seats (uvarint) and per seat lastFire (uvarint), faceX and faceY
// (float32 bits, little endian). Teams, flags and captures are entities'.
func (r *ctfRules) AppendState(dst []byte) []byte {
	dst = appendBool(append(dst, ctfStateVersion), r.over)
	return r.appendSeats(dst)
}

// ResumeRules implements Resumable. The world must hold one base and one
// flag of each team, flags in a known state, carried ones by a seat.
func (c *CTF) ResumeRules(w *World, state []byte) (Rules, error) {
	if len(w.Players) != c.spec.MaxPlayers {
		return nil, fmt.Errorf("ctf state: world of %d seats for %d", len(w.Players), c.spec.MaxPlayers)
	}
	r := c.newRules(w)
	sr := stateReader{b: state}
	if v := sr.byte(); sr.err == nil && v != ctfStateVersion {
		return nil, fmt.Errorf("ctf state: version %d", v)
	}
	r.over = sr.bool("ctf state: bad over flag")
	r.readSeats(&sr, w, "ctf")
	if err := sr.done(); err != nil {
		return nil, err
	}
	if err := r.findBasesAndFlags(w); err != nil {
		return nil, err
	}
	return r, nil
}

// findBasesAndFlags sets r's bases and flags from w's entities and checks
// every entity's team and a flag's state.
func (r *ctfRules) findBasesAndFlags(w *World) error {
	for i := range w.Entities {
		e := &w.Entities[i]
		team := e.F[CTFFieldTeam]
		if team != float32(CTFRed) && team != float32(CTFBlue) {
			return fmt.Errorf("ctf state: entity %d of team %v", e.ID, team)
		}
		var slot *uint32
		switch e.Kind {
		case CTFKindBase:
			slot = &r.bases[int(team)-1]
		case CTFKindFlag:
			slot = &r.flags[int(team)-1]
			switch st := e.F[CTFFieldState]; {
			case st == CTFFlagCarried && (e.Owner < 0 || e.Owner >= len(r.seats)):
				return fmt.Errorf("ctf state: flag %d carried by seat %d", e.ID, e.Owner)
			case st != CTFFlagHome && st != CTFFlagCarried && st != CTFFlagDropped:
				return fmt.Errorf("ctf state: flag %d in state %v", e.ID, st)
			}
		case CTFKindProjectile:
			if err := r.checkShot(e, "ctf"); err != nil {
				return err
			}
		}
		if slot != nil {
			if *slot != 0 {
				return fmt.Errorf("ctf state: two of kind %d of team %v", e.Kind, team)
			}
			*slot = e.ID
		}
	}
	if r.bases[0] == 0 || r.bases[1] == 0 || r.flags[0] == 0 || r.flags[1] == 0 {
		return errors.New("ctf state: a base or a flag is missing")
	}
	return nil
}
