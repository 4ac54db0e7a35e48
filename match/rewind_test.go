package match

import (
	"testing"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// Lag compensation through a match: the world's bound is RewindMax in
// ticks, and an input's view time (as a client sends it, through the
// inbox) decides what its hitscan hits. The target crossed the shooter's
// line of fire 4.5 ticks (150 ms) before the newest state: with the
// default bound (200 ms) the shooter's hitscan hits it, with a 100 ms
// bound or no rewind it does not. Both players get the "hitscan" event.
func TestMatchRewindsInputsViewTime(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rewindMax time.Duration
		ticks     int
		hit       bool
	}{
		{"default 200 ms", 0, 6, true},
		{"100 ms", 100 * time.Millisecond, 3, false},
		{"no rewind", -1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shooter, target := newTestPlayer("shooter"), newTestPlayer("target")
			mode := game.NewArena(game.ArenaConfig{Players: 2, NPCs: -1, Width: 2000})
			cfg := *(&Config{TickRate: 30, Logger: quiet, RewindMax: tc.rewindMax}).EnsureDefaults()
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			m := newMatch("m-rewind", 1, mode, cfg, 7, make(chan lobbyEvent, 64))
			m.rules = mode.NewRules(m.world)
			m.join(shooter)
			m.join(target)
			if m.world.Rewind != tc.ticks {
				t.Fatalf("world rewind %d ticks, want %d", m.world.Rewind, tc.ticks)
			}
			schema := &mode.Spec().Schema
			sa, ta := m.seats[0].gp.Entity, m.seats[1].gp.Entity
			w := m.world
			for w.Tick <= 20 {
				s, tg := w.Get(sa), w.Get(ta)
				s.X, s.Y = 100, 500
				tg.X, tg.Y = 300, 500+40*(float32(w.Tick)-15.5) // on the line at 15.5
				m.tick()
			}
			frames(t, shooter, schema)
			frames(t, target, schema)
			in := netcode.Input{Seq: 1, Buttons: 1 << game.ArenaHitscan, AimX: 1, ViewTick: 15, ViewFrac: 0.5}
			if shooter.SendInput(&in, shooter.Out()) != InputQueued {
				t.Fatal("inbox refused")
			}
			m.tick()
			for _, p := range []*Player{shooter, target} {
				saw := false
				for _, f := range frames(t, p, schema) {
					if f.Type != netcode.MsgSnapshot {
						continue
					}
					if len(f.Snapshot.Rejects) > 0 {
						t.Errorf("rejected: %+v", f.Snapshot.Rejects)
					}
					for _, ev := range f.Snapshot.Events {
						saw = saw || (ev.Type == game.EventHitscan && ev.A == sa && ev.B == ta)
					}
				}
				if saw != tc.hit {
					t.Errorf("%s saw the hitscan event: %v, want %v", p.ID, saw, tc.hit)
				}
			}
			if score := m.seats[0].gp.Score; (score == 1) != tc.hit {
				t.Errorf("shooter's score %d", score)
			}
		})
	}
}

func TestConfigRewind(t *testing.T) {
	for _, tc := range []struct {
		max   time.Duration
		rate  int
		ticks int
	}{
		{0, 30, 6}, // the default, 200 ms
		{-1, 30, 0},
		{250 * time.Millisecond, 30, 7}, // rounded down: never further back than the bound
		{200 * time.Millisecond, 60, 12},
		{time.Second, 128, 128},
		{10 * time.Millisecond, 30, 0},
	} {
		c := (&Config{TickRate: tc.rate, RewindMax: tc.max}).EnsureDefaults()
		if got := c.RewindTicks(); got != tc.ticks {
			t.Errorf("%v at %d Hz: %d ticks, want %d", tc.max, tc.rate, got, tc.ticks)
		}
	}
	if err := (&Config{RewindMax: MaxRewind}).Validate(); err != nil {
		t.Errorf("1 s: %v", err)
	}
	if err := (&Config{RewindMax: MaxRewind + 1}).Validate(); err == nil {
		t.Error("a rewind over 1 s passes")
	}
}
