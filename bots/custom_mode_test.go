package main

import (
	"context"
	"math"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/game"
	"skirmish/netcode"
	"skirmish/server"
)

// zap is a mode that exists only in this test file: two teams, a zap
// action (not aimed, with a cooldown) that stuns the nearest foe within
// reach for half a second, a field of scale 0.5 and its own speed and
// event numbers. Registering it is the only change a new mode needs: the
// server, the Go client and the bots play it from its declaration.
type zap struct{ spec game.Spec }

const (
	zapBit        = 3
	zapReach      = 320 // beyond fightFar: a fighting bot circles its target within reach
	zapStun       = 0.5 // s
	zapFieldTeam  = 0
	zapFieldStun  = 1 // 1 while stunned: the declared immobility
	zapFieldJuice = 2 // scale 0.5: steps of 2
	zapEventHit   = 7
)

func init() {
	game.Register(game.Def{
		Name: "zap", Title: "Zap", Doc: "Two teams stun each other (a mode of a test file).",
		Options: []game.Option{
			{Name: "players", Doc: "seats", Default: 6, Min: 2, Max: 64},
			{Name: "speed", Doc: "avatar speed", Default: 150.0, Min: 1, Max: 1000},
		},
		New: func(v game.Values) (game.Mode, error) {
			return &zap{spec: game.Spec{
				Name: "zap", MaxPlayers: v.Int("players"), Width: 800, Height: 600, Duration: time.Minute,
				Speed: float32(v.Float("speed")), AvatarRadius: 12,
				Actions:  []game.Action{{Bit: zapBit, Name: "zap", Cooldown: 300 * time.Millisecond}},
				Events:   []netcode.EventDecl{{Type: zapEventHit, Name: "hit", A: netcode.EventArgPlayer, B: netcode.EventArgPlayer}},
				Teams:    []netcode.Team{{Name: "red", Color: "#ff0000"}, {Name: "blue", Color: "#0000ff"}},
				Immobile: &netcode.Immobile{Field: zapFieldStun, Min: 1, Max: 1},
				Schema: netcode.Schema{PosScale: 4,
					Kinds: []netcode.Kind{{Name: "runner", Shape: netcode.ShapeSquare, Color: "#cccccc", Size: 12,
						Label: netcode.LabelOwner, Team: zapFieldTeam}},
					Fields: []netcode.Field{{Name: "team", Scale: 1}, {Name: "stun", Scale: 1}, {Name: "juice", Scale: 0.5}}},
				Interest: netcode.Interest{Radius: 400}.WithDefaults(),
			}}, nil
		},
	})
}

func (z *zap) Spec() *game.Spec { return &z.spec }
func (z *zap) NewRules(w *game.World) game.Rules {
	return &zapRules{spec: &z.spec, lastZap: map[int]uint64{}}
}

type zapRules struct {
	spec    *game.Spec
	lastZap map[int]uint64 // seat → tick of the last accepted zap + 1
}

func (r *zapRules) Join(w *game.World, p *game.Player) {
	x, y := w.RandomPoint(12)
	e := w.Spawn(0, x, y)
	e.Radius, e.Owner = 12, p.Seat
	e.F[zapFieldTeam] = float32(p.Seat%2 + 1) // teams are numbered from 1 (0: none)
	e.F[zapFieldJuice] = 10
	p.Entity = e.ID
}

func (r *zapRules) Leave(w *game.World, p *game.Player) { w.Remove(p.Entity) }

func (r *zapRules) Apply(w *game.World, p *game.Player, in *netcode.Input) uint8 {
	if !game.ValidDirection(in.MoveX, in.MoveY) {
		return netcode.RejectBadDirection
	}
	cd := game.CooldownTicks(r.spec.Actions[0].Cooldown, w.TickRate)
	if in.Pressed(zapBit) && r.lastZap[p.Seat] != 0 && w.Tick+1-r.lastZap[p.Seat] < cd {
		return netcode.RejectCooldown
	}
	e := w.Get(p.Entity)
	if e == nil || !r.spec.CanMove(&e.Entity) {
		return netcode.RejectNone
	}
	e.X, e.Y = game.Move(e.X, e.Y, in.MoveX, in.MoveY, r.spec.Speed, w.Dt, w.Width, w.Height)
	if !in.Pressed(zapBit) {
		return netcode.RejectNone
	}
	r.lastZap[p.Seat] = w.Tick + 1
	var best *game.Entity
	bestD := float32(zapReach * zapReach)
	for i := range w.Entities {
		t := &w.Entities[i]
		dx, dy := t.X-e.X, t.Y-e.Y
		if d := dx*dx + dy*dy; t.ID != e.ID && t.F[zapFieldTeam] != e.F[zapFieldTeam] && t.F[zapFieldStun] == 0 && d <= bestD {
			best, bestD = t, d
		}
	}
	if best != nil {
		best.F[zapFieldStun], best.Timer = 1, zapStun
		best.F[zapFieldJuice] += 2
		p.Score++
		w.Emit(zapEventHit, e.ID, best.ID)
	}
	return netcode.RejectNone
}

func (r *zapRules) Step(w *game.World) {
	for i := range w.Entities {
		if e := &w.Entities[i]; e.F[zapFieldStun] == 1 {
			if e.Timer -= w.Dt; e.Timer <= 1e-4 {
				e.F[zapFieldStun] = 0
			}
		}
	}
}

func (r *zapRules) Over(w *game.World) bool { return w.Seconds() >= r.spec.Duration.Seconds() }

func (r *zapRules) Result(w *game.World) []netcode.Standing { return game.Standings(w) }

// TestModeOfATestFile plays zap, a mode defined only in this file, with
// fighting bots and a Go client: the bots zap (the declared action, under
// its cooldown: nothing rejected) and score hits (the declared event), the
// client predicts with the declared speed, bounds and immobility, and
// everyone sees the players' names.
func TestModeOfATestFile(t *testing.T) {
	base := startServer(t, server.Options{FillTimeout: 300 * time.Millisecond, ModeOpts: []string{"zap.players=5", "zap.speed=170"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, base, client.Options{Name: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Queue("zap")
	type botsResult struct {
		rep Report
		err error
	}
	done := make(chan botsResult, 1)
	go func() {
		rep, err := run(ctx, Config{URL: base, N: 4, Duration: 4 * time.Second, Mode: "zap", Behavior: BehaviorFight,
			Ramp: 50 * time.Millisecond, Seed: 7, Logger: quiet})
		done <- botsResult{rep, err}
	}()
	// The client walks to and fro across the world, zapping.
	var v client.View
	names := map[uint32]string{}
	deadline := time.Now().Add(4 * time.Second)
	for dir := float32(1); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c.ViewInto(&v)
		if v.Phase != client.PhasePlaying {
			continue
		}
		if v.Self.X < 100 {
			dir = 1
		} else if v.Self.X > 700 {
			dir = -1
		}
		c.SetControl(client.Control{MoveX: 0.999 * dir, Buttons: 1 << zapBit})
		for _, e := range v.Entities {
			if n := c.Score(e.ID).Name; n != "" {
				names[e.ID] = n
			}
		}
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	rep := res.rep
	if v.Mode != "zap" || v.Info.Speed != 170 || v.Schema.Fields[zapFieldJuice].Scale != 0.5 || len(v.Info.Teams) != 2 ||
		v.Info.Immobile == nil || v.Info.Actions[0].CooldownTicks != 9 || v.Schema.Kinds[0].Team != zapFieldTeam {
		t.Fatalf("the client's view of the mode: %s %+v %+v", v.Mode, v.Info, v.Schema)
	}
	if int(v.Self.F[zapFieldJuice])%2 != 0 || v.Self.F[zapFieldJuice] < 10 {
		t.Errorf("juice %v: a field of scale 0.5 travels in steps of 2", v.Self.F[zapFieldJuice])
	}
	st := c.Stats()
	t.Logf("client: %d inputs, %d rejected, max prediction error %.2f u; bots: %d matches, %d hits, %d inputs, %d rejected; names %v",
		st.InputsSent, st.Rejected, st.MaxPredictionError, rep.Matches, rep.Hits, rep.InputsSent, rep.Rejected, names)
	if st.Matches != 1 || st.InputsSent < 60 || st.Rejected != 0 || st.ProtocolErrors != 0 {
		t.Errorf("client stats %+v", st)
	}
	// Prediction follows the declared speed (170, not any built-in mode's)
	// and stops while stunned: no more than quantization off.
	if st.MaxPredictionError > 0.5 || math.IsNaN(st.MaxPredictionError) {
		t.Errorf("max prediction error %.3f u", st.MaxPredictionError)
	}
	if rep.Connected != 4 || rep.Matches < 1 || rep.Errors != 0 || rep.ProtocolErrors != 0 || rep.Rejected != 0 {
		t.Errorf("bots: connected %d, matches %d, errors %d %v, protocol errors %d, rejected %d",
			rep.Connected, rep.Matches, rep.Errors, rep.ErrorSamples, rep.ProtocolErrors, rep.Rejected)
	}
	if rep.Hits == 0 {
		t.Errorf("the bots never zapped anyone (hits 0)")
	}
	if names[v.Entity] != "probe" || len(names) < 3 {
		t.Errorf("names seen %v: want the client's own (probe) and others'", names)
	}
}
