package main

import (
	"context"
	"math"
	"testing"
	"time"

	"skirmish/game"
	"skirmish/netcode"
	"skirmish/server"
)

// beam is a test double of a mode with a hitscan weapon: the action named
// "hitscan" (on bit 4 here, and its event of type 11: the bots find both
// by name), aimed, with a cooldown; the rules score a shot whose ray, from
// the shooter's position after its move, passes within a target's radius
// of where the target was at the input's view time (the rules keep every
// entity's position of the last ticks: a rewind of their own). The bots'
// hit_ratio then measures whether what a bot aims at and the view time it
// sends agree with what it drew.
type beam struct{ spec game.Spec }

const (
	beamBit    = 4
	beamEvent  = 11
	beamRadius = 14
	beamKeep   = 64 // ticks of positions kept
	// beamSlack is how far from a target's centre, at the view time, a
	// shot scores: far less than its radius, so that a client whose view
	// time is off by a tick (200 u/s: 6.7 u) misses often. A client
	// aiming at the centre of what it drew at its view time is off by
	// the quantization (1/8 u) and its prediction error only.
	beamSlack = 2
)

func init() {
	game.Register(game.Def{
		Name: "beam", Title: "Beam", Doc: "Everyone shoots everyone with a hitscan beam (a mode of a test file).",
		Options: []game.Option{{Name: "players", Doc: "seats", Default: 6, Min: 2, Max: 64}},
		New: func(v game.Values) (game.Mode, error) {
			return &beam{spec: game.Spec{
				Name: "beam", MaxPlayers: v.Int("players"), Width: 900, Height: 700, Duration: time.Minute,
				Speed: 200, AvatarRadius: beamRadius,
				Actions: []game.Action{{Bit: beamBit, Name: "hitscan", Cooldown: 300 * time.Millisecond, Aimed: true}},
				Events:  []netcode.EventDecl{{Type: beamEvent, Name: "hitscan", A: netcode.EventArgPlayer, B: netcode.EventArgEntity}},
				Schema: netcode.Schema{PosScale: 8,
					Kinds:  []netcode.Kind{{Name: "player", Shape: netcode.ShapeCircle, Color: "#cccccc", Size: beamRadius, Label: netcode.LabelOwner, Team: -1}},
					Fields: []netcode.Field{}},
				Interest: netcode.Interest{Radius: 2000}.WithDefaults(),
			}}, nil
		},
	})
}

func (b *beam) Spec() *game.Spec { return &b.spec }
func (b *beam) NewRules(w *game.World) game.Rules {
	return &beamRules{spec: &b.spec, last: map[int]uint64{}}
}

type beamPos struct {
	tick uint64
	id   uint32
	x, y float32
}

type beamRules struct {
	spec *game.Spec
	last map[int]uint64 // seat → tick of the last accepted shot + 1
	hist [beamKeep][]beamPos
}

func (r *beamRules) Join(w *game.World, p *game.Player) {
	x, y := w.RandomPoint(beamRadius)
	e := w.Spawn(0, x, y)
	e.Radius, e.Owner = beamRadius, p.Seat
	p.Entity = e.ID
}

func (r *beamRules) Leave(w *game.World, p *game.Player) { w.Remove(p.Entity) }

// at returns where entity id was at tick (held in hist).
func (r *beamRules) at(id uint32, tick uint64) (float32, float32, bool) {
	for _, p := range r.hist[tick%beamKeep] {
		if p.tick == tick && p.id == id {
			return p.x, p.y, true
		}
	}
	return 0, 0, false
}

func (r *beamRules) Apply(w *game.World, p *game.Player, in *netcode.Input) uint8 {
	if !game.ValidDirection(in.MoveX, in.MoveY) || (in.Pressed(beamBit) && !game.ValidAim(in.AimX, in.AimY)) {
		return netcode.RejectBadDirection
	}
	cd := game.CooldownTicks(r.spec.Actions[0].Cooldown, w.TickRate)
	if in.Pressed(beamBit) && r.last[p.Seat] != 0 && w.Tick+1-r.last[p.Seat] < cd {
		return netcode.RejectCooldown
	}
	e := w.Get(p.Entity)
	if e == nil {
		return netcode.RejectNone
	}
	e.X, e.Y = game.Move(e.X, e.Y, in.MoveX, in.MoveY, r.spec.Speed, w.Dt, w.Width, w.Height)
	if !in.Pressed(beamBit) {
		return netcode.RejectNone
	}
	r.last[p.Seat] = w.Tick + 1
	dx, dy, ok := game.Direction(in.AimX, in.AimY)
	if !ok {
		return netcode.RejectNone
	}
	// View tick 0 is "not given" on the wire; in a match's first ticks it
	// is also what a client drawing tick 0 sends: taken as tick 0 here.
	v, f := uint64(in.ViewTick), in.ViewFrac
	for i := range w.Entities {
		t := &w.Entities[i]
		if t.ID == e.ID {
			continue
		}
		x0, y0, ok0 := r.at(t.ID, v)
		x1, y1, ok1 := r.at(t.ID, v+1)
		switch {
		case !ok0 && !ok1:
			continue
		case !ok0: // new in view at v+1: drawn there (client/mirror.go)
			x0, y0 = x1, y1
		case !ok1:
			x1, y1 = x0, y0
		}
		tx, ty := x0+(x1-x0)*f, y0+(y1-y0)*f
		px, py := tx-e.X, ty-e.Y
		if along := px*dx + py*dy; along >= 0 && float32(math.Abs(float64(px*dy-py*dx))) <= beamSlack {
			p.Score++
			w.Emit(beamEvent, e.ID, t.ID)
			return netcode.RejectNone
		}
	}
	return netcode.RejectNone
}

func (r *beamRules) Step(w *game.World) {
	h := r.hist[w.Tick%beamKeep][:0]
	for i := range w.Entities {
		e := &w.Entities[i]
		h = append(h, beamPos{tick: w.Tick, id: e.ID, x: e.X, y: e.Y})
	}
	r.hist[w.Tick%beamKeep] = h
}

func (r *beamRules) Over(w *game.World) bool { return w.Seconds() >= r.spec.Duration.Seconds() }

func (r *beamRules) Result(w *game.World) []netcode.Standing { return game.Standings(w) }

// TestHitRatio: fighting bots, with an injected latency and jitter, shoot
// the hitscan action at the targets under their crosshairs as they draw
// them, and send the view time they draw at; a server that judges each
// shot at that view time scores nearly all of them.
func TestHitRatio(t *testing.T) {
	base := startServer(t, server.Options{FillTimeout: 300 * time.Millisecond, ModeOpts: []string{"beam.players=4"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := run(ctx, Config{URL: base, N: 4, Duration: 5 * time.Second, Mode: "beam", Behavior: BehaviorFight,
		Ramp: 50 * time.Millisecond, Seed: 9, Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shots %d, scored %d, hit ratio %.3f; interp delay p50 %.1f ms p99 %.1f ms, empty %.2f%%, corrections over 1u %d, rejected %d",
		rep.HitscanShots, rep.HitscanHits, rep.HitRatio, rep.InterpDelayMS.P50, rep.InterpDelayMS.P99, rep.EmptyBufferPct,
		rep.CorrectionsOver1u, rep.Rejected)
	if rep.Errors != 0 || rep.ProtocolErrors != 0 || rep.Rejected != 0 {
		t.Errorf("errors %d %v, protocol errors %d, rejected %d", rep.Errors, rep.ErrorSamples, rep.ProtocolErrors, rep.Rejected)
	}
	if rep.HitscanShots < 20 {
		t.Fatalf("%d hitscan shots in 5 s of 4 bots: want at least 20", rep.HitscanShots)
	}
	if rep.HitRatio < 0.9 || rep.HitscanHits > rep.HitscanShots {
		t.Errorf("hit ratio %.3f (%d of %d): want at least 0.9", rep.HitRatio, rep.HitscanHits, rep.HitscanShots)
	}
	if rep.InterpDelayMS.P50 <= 0 || rep.InterpDelayMS.P50 > 200 {
		t.Errorf("interp delay p50 %.1f ms", rep.InterpDelayMS.P50)
	}
}
