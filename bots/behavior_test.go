package main

import (
	"fmt"
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
	if ctl.Buttons != 1<<2|1<<5 || ctl.AimX != 0 || ctl.AimY != 400 || ctl.Fire || ctl.AimAt != 3 {
		t.Errorf("team mode: control %+v, want tag and dash aimed at the foe (0, 400), entity 3", ctl)
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
	if ctl.Buttons != 1<<game.ArenaFire|1<<game.ArenaHitscan || ctl.AimX != 0 || ctl.AimY != 500 || ctl.AimAt != 4 {
		t.Errorf("control %+v: want fire and hitscan aimed at the NPC (0, 500), entity 4", ctl)
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

// In ctf a fighter plays for the flag: to the enemy flag, home with it,
// after its own flag when taken; it fires at enemies, never at teammates.
func TestFightPlaysForTheFlag(t *testing.T) {
	b, _ := NewBehavior(BehaviorFight, rand.New(rand.NewPCG(1, 1)))
	ent := func(id uint32, kind uint8, team uint8, x, y float32) netcode.Entity {
		e := netcode.Entity{ID: id, Kind: kind, X: x, Y: y}
		e.F[game.CTFFieldTeam] = float32(team)
		if kind == game.CTFKindPlayer {
			e.F[game.CTFFieldHP] = 100
		}
		return e
	}
	me := ent(1, game.CTFKindPlayer, game.CTFRed, 800, 400)
	mate := ent(2, game.CTFKindPlayer, game.CTFRed, 850, 400)
	redBase, blueBase := ent(10, game.CTFKindBase, game.CTFRed, 120, 400), ent(11, game.CTFKindBase, game.CTFBlue, 1480, 400)
	redFlag, blueFlag := ent(12, game.CTFKindFlag, game.CTFRed, 120, 400), ent(13, game.CTFKindFlag, game.CTFBlue, 1480, 400)
	view := func(self netcode.Entity, more ...netcode.Entity) *client.View {
		spec := game.NewCTF(game.CTFConfig{}).Spec()
		return &client.View{Phase: client.PhasePlaying, Mode: "ctf", Entity: 1, WorldW: 1600, WorldH: 800, Self: self,
			Entities: append([]netcode.Entity{self, mate, redBase, blueBase, redFlag, blueFlag}, more...),
			Schema:   spec.Schema, Info: spec.Info(30)}
	}
	// To the enemy flag (right, by a lane), holding fire with only a
	// teammate near.
	if ctl := b.Control(time.Now(), view(me)); ctl.MoveX < 0.9 || ctl.Buttons != 0 {
		t.Errorf("control %+v: want a move right to the blue flag, no fire", ctl)
	}
	// An enemy near: fire at it on the way.
	enemy := ent(3, game.CTFKindPlayer, game.CTFBlue, 800, 600)
	if ctl := b.Control(time.Now(), view(me, enemy)); ctl.MoveX < 0.9 || ctl.Buttons != 1<<game.CTFFire || ctl.AimX != 0 || ctl.AimY != 200 {
		t.Errorf("control %+v: want a move right, fire at (0, 200)", ctl)
	}
	// Carrying: home (left).
	carrier := me
	carrier.F[game.CTFFieldCarrying] = 1
	if ctl := b.Control(time.Now(), view(carrier)); ctl.MoveX > -0.9 {
		t.Errorf("control %+v: want a move left, home", ctl)
	}
	// The own flag taken, at (800, 100): after it (up).
	redFlag.X, redFlag.Y = 800, 100
	if ctl := b.Control(time.Now(), view(me)); ctl.MoveY > -0.9 {
		t.Errorf("control %+v: want a move up, after the own flag", ctl)
	}
}

// Fighters driving the real ctf rules (seeing the whole world, as a ctf
// client does) pick up, drop, return and capture flags: a match of 8 ends
// at the capture limit well before its time.
func TestFightersCaptureInCTF(t *testing.T) {
	mode := game.NewCTF(game.CTFConfig{})
	w := game.NewWorld(mode.Spec(), 30, 5, 0)
	r := mode.NewRules(w)
	behs := make([]Behavior, 8)
	ctls := make([]client.Control, 8)
	lastFire := make([]int, 8)
	for i := range behs {
		p := &game.Player{Seat: i, ID: fmt.Sprint(i)}
		w.Players[i] = p
		r.Join(w, p)
		behs[i], _ = NewBehavior(BehaviorFight, rand.New(rand.NewPCG(uint64(i), 1)))
		lastFire[i] = -100
	}
	events := map[uint8]int{}
	var v client.View
	now := time.Unix(0, 0)
	cooldown := int(game.CooldownTicks(game.CTFCooldown, 30))
	for tick := 0; tick < 30*300 && !r.Over(w); tick++ {
		if tick%3 == 0 { // the bots' control interval, 100 ms
			v.Entities = v.Entities[:0]
			for _, e := range w.Entities {
				v.Entities = append(v.Entities, e.Entity)
			}
			for i, p := range w.Players {
				v = client.View{Phase: client.PhasePlaying, Mode: "ctf", Entity: p.Entity, WorldW: w.Width, WorldH: w.Height,
					Self: w.Get(p.Entity).Entity, Entities: v.Entities, Schema: mode.Spec().Schema, Info: mode.Spec().Info(30)}
				ctls[i] = behs[i].Control(now, &v)
			}
		}
		for i, p := range w.Players {
			c := ctls[i]
			in := netcode.Input{Seq: uint32(tick + 1), MoveX: c.MoveX, MoveY: c.MoveY}
			if c.Buttons&(1<<game.CTFFire) != 0 && tick-lastFire[i] >= cooldown { // as the client schedules shots
				in.Buttons, in.AimX, in.AimY = 1<<game.CTFFire, c.AimX, c.AimY
				lastFire[i] = tick
			}
			if code := r.Apply(w, p, &in); code != 0 {
				t.Fatalf("tick %d: seat %d's input rejected with %d", tick, i, code)
			}
		}
		r.Step(w)
		for _, ev := range w.Events {
			events[ev.Type]++
		}
		w.EndTick()
		w.Tick++
		now = now.Add(time.Second / 30)
	}
	t.Logf("%.0f s: events %v", w.Seconds(), events)
	if !r.Over(w) || w.Seconds() >= 300 {
		t.Errorf("no team reached the capture limit in %.0f s", w.Seconds())
	}
	for _, typ := range []uint8{game.EventHit, game.CTFEventPickup, game.CTFEventDrop, game.CTFEventCapture} {
		if events[typ] == 0 {
			t.Errorf("no event %d: %v", typ, events)
		}
	}
	if res := r.Result(w); res[0].Place != 1 || res[len(res)-1].Place != 2 {
		t.Errorf("result %+v", res)
	}
}
