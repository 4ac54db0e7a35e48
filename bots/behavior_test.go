package main

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/game"
	"skirmish/netcode"
)

// TestBehaviorsStayInWorld drives every behavior in worlds full of random
// targets, moving the avatar without the server's clamping, and checks that
// every move vector is valid and the avatar never leaves the world.
func TestBehaviorsStayInWorld(t *testing.T) {
	const (
		speed   = game.ArenaSpeed
		control = 100 * time.Millisecond // the bots' control interval
		steps   = 3000                   // 5 minutes
	)
	for _, name := range []string{BehaviorWander, BehaviorFight} {
		for seed := range uint64(20) {
			rng := rand.New(rand.NewPCG(seed, 99))
			b, err := NewBehavior(name, rng)
			if err != nil {
				t.Fatal(err)
			}
			w, h := float32(2000), float32(2000)
			if seed%4 == 3 {
				w, h = 600, 300 // a small, narrow world
			}
			// Start anywhere, corners and edges included.
			x := []float32{0, w, w / 2, rng.Float32() * w}[seed%4]
			y := []float32{0, h, 0, rng.Float32() * h}[seed%4]
			v := client.View{Phase: client.PhasePlaying, Entity: 1, WorldW: w, WorldH: h, TickRate: 30, Schema: arena.Schema, Info: arena.Info(30)}
			ents := make([]netcode.Entity, 1+rng.IntN(20))
			for i := range ents {
				ents[i] = netcode.Entity{ID: uint32(i + 1), Kind: uint8(rng.IntN(3))}
				ents[i].F[game.FieldHP] = float32(rng.IntN(2) * 100)
			}
			if len(ents) > 1 { // at least one target
				ents[1].Kind, ents[1].F[game.FieldHP] = game.KindNPC, 1
			}
			now := time.Unix(0, 0)
			fired := false
			for step := range steps {
				// Targets jump around the world, sometimes right at an edge.
				for i := 1; i < len(ents); i++ {
					if rng.IntN(20) == 0 {
						ents[i].X, ents[i].Y = edgy(rng, w), edgy(rng, h)
					}
				}
				ents[0].X, ents[0].Y = x, y
				v.Self, v.Entities = ents[0], ents
				ctl := b.Control(now, &v)
				if !game.ValidDirection(ctl.MoveX, ctl.MoveY) || math.Hypot(float64(ctl.MoveX), float64(ctl.MoveY)) > 1 {
					t.Fatalf("%s seed %d step %d: move (%v, %v) longer than 1", name, seed, step, ctl.MoveX, ctl.MoveY)
				}
				if name == BehaviorWander && (ctl.Fire || ctl.Buttons != 0) {
					t.Fatalf("wander fired")
				}
				if ctl.Buttons&(1<<game.ArenaFire) != 0 {
					fired = true
					if ctl.AimX == 0 && ctl.AimY == 0 {
						t.Fatalf("%s: fire with no aim", name)
					}
				}
				// Three ticks of movement per control update, unclamped.
				for range 3 {
					x += ctl.MoveX * speed / 30
					y += ctl.MoveY * speed / 30
				}
				if x < 0 || y < 0 || x > w || y > h {
					t.Fatalf("%s seed %d step %d: left the %vx%v world at (%v, %v)", name, seed, step, w, h, x, y)
				}
				now = now.Add(control)
			}
			if name == BehaviorFight && len(ents) > 1 && !fired {
				t.Errorf("fight seed %d never fired", seed)
			}
		}
	}
}

// edgy returns a coordinate in [0, size], often at or near its ends.
func edgy(rng *rand.Rand, size float32) float32 {
	switch rng.IntN(4) {
	case 0:
		return 0
	case 1:
		return size
	}
	return rng.Float32() * size
}

// arena is the spec the behaviors' views declare, as matched would.
var arena = game.NewArena(game.ArenaConfig{}).Spec()

// Fight takes everything from the mode's declaration: in a team mode it
// spares its own team, and it presses exactly the declared actions (none
// in a mode without any).
func TestFightFollowsTheDeclaration(t *testing.T) {
	b, _ := NewBehavior(BehaviorFight, rand.New(rand.NewPCG(1, 1)))
	kinds := []netcode.Kind{{Name: "player", Size: 16, Label: netcode.LabelOwner, Team: 0}}
	info := netcode.ModeInfo{Speed: 200, AvatarRadius: 16, InterestRadius: 500,
		Teams:   []netcode.Team{{Name: "red"}, {Name: "blue"}},
		Actions: []netcode.Action{{Bit: 2, Name: "tag"}, {Bit: 5, Name: "dash", CooldownTicks: 30}}}
	me := netcode.Entity{ID: 1, X: 1000, Y: 1000}
	mate := netcode.Entity{ID: 2, X: 1010, Y: 1000}
	foe := netcode.Entity{ID: 3, X: 1000, Y: 1400}
	foe.F[0] = 1
	v := client.View{Phase: client.PhasePlaying, Entity: 1, WorldW: 2000, WorldH: 2000, Self: me,
		Entities: []netcode.Entity{me, mate, foe}, Schema: netcode.Schema{PosScale: 8, Kinds: kinds}, Info: info}
	ctl := b.Control(time.Now(), &v)
	if ctl.Buttons != 1<<2|1<<5 || ctl.AimX != 0 || ctl.AimY != 400 || ctl.Fire {
		t.Errorf("team mode: control %+v, want tag and dash aimed at the foe (0, 400)", ctl)
	}
	v.Info.Actions = nil
	if ctl := b.Control(time.Now(), &v); ctl.Buttons != 0 || ctl.Fire {
		t.Errorf("no actions declared: control %+v presses some", ctl)
	}
}

func TestFightAimsAtNearest(t *testing.T) {
	b, _ := NewBehavior(BehaviorFight, rand.New(rand.NewPCG(1, 1)))
	me := netcode.Entity{ID: 1, Kind: game.KindPlayer, X: 1000, Y: 1000}
	me.F[game.FieldHP] = 100
	dead := netcode.Entity{ID: 2, Kind: game.KindPlayer, X: 1010, Y: 1000} // dead: ignored
	shot := netcode.Entity{ID: 3, Kind: game.KindProjectile, X: 1000, Y: 1010}
	npc := netcode.Entity{ID: 4, Kind: game.KindNPC, X: 1000, Y: 1500}
	npc.F[game.FieldHP] = 1
	far := netcode.Entity{ID: 5, Kind: game.KindPlayer, X: 0, Y: 0}
	far.F[game.FieldHP] = 100
	v := client.View{Phase: client.PhasePlaying, Entity: 1, WorldW: 2000, WorldH: 2000, Self: me,
		Entities: []netcode.Entity{far, dead, me, shot, npc}, Schema: arena.Schema, Info: arena.Info(30)}
	ctl := b.Control(time.Now(), &v)
	if ctl.Buttons != 1<<game.ArenaFire || ctl.AimX != 0 || ctl.AimY != 500 {
		t.Errorf("control %+v: want fire aimed at the NPC (0, 500)", ctl)
	}
	if ctl.MoveY <= 0 {
		t.Errorf("control %+v: want a move toward the NPC", ctl)
	}

	// Not playing, or no own avatar yet: stand still.
	for _, v := range []client.View{{Phase: client.PhaseQueued}, {Phase: client.PhasePlaying, Entity: 9, WorldW: 2000, WorldH: 2000, Entities: []netcode.Entity{npc}}} {
		if ctl := b.Control(time.Now(), &v); ctl != (client.Control{}) {
			t.Errorf("view %+v: control %+v, want zero", v.Phase, ctl)
		}
	}
}

func TestWanderHeadingChanges(t *testing.T) {
	b, _ := NewBehavior(BehaviorWander, rand.New(rand.NewPCG(3, 3)))
	me := netcode.Entity{ID: 1, X: 1000, Y: 1000}
	v := client.View{Phase: client.PhasePlaying, Entity: 1, WorldW: 2000, WorldH: 2000, Self: me, Entities: []netcode.Entity{me}}
	now := time.Unix(0, 0)
	first := b.Control(now, &v)
	if same := b.Control(now.Add(900*time.Millisecond), &v); same != first {
		t.Errorf("heading changed before 1 s: %+v then %+v", first, same)
	}
	changes := 0
	last := first
	for i := range 100 { // 10 s in the middle of the world: 5 to 10 changes
		ctl := b.Control(now.Add(time.Duration(i)*100*time.Millisecond), &v)
		if ctl != last {
			changes++
		}
		last = ctl
	}
	if changes < 4 || changes > 10 {
		t.Errorf("%d heading changes in 10 s, want 5 to 10", changes)
	}
}
