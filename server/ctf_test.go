package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/game"
	"skirmish/netcode"
)

// ctfControl is a red raider's control from what its client sees: home
// with the blue flag, else to it, firing at the nearest blue within 300.
// Blues stand and watch (a zero control), so red captures.
func ctfControl(v *client.View) client.Control {
	self := v.Self
	if self.F[game.CTFFieldTeam] != float32(game.CTFRed) {
		return client.Control{}
	}
	carrying := self.F[game.CTFFieldCarrying] > 0
	var goal, target *netcode.Entity
	best := float32(300 * 300)
	for i := range v.Entities {
		e := &v.Entities[i]
		red := e.F[game.CTFFieldTeam] == float32(game.CTFRed)
		switch {
		case e.Kind == game.CTFKindBase && red && carrying, e.Kind == game.CTFKindFlag && !red && !carrying:
			goal = e
		case e.Kind == game.CTFKindPlayer && !red && e.F[game.CTFFieldHP] > 0:
			if d := (e.X-self.X)*(e.X-self.X) + (e.Y-self.Y)*(e.Y-self.Y); d > 0 && d < best {
				target, best = e, d
			}
		}
	}
	var ctl client.Control
	if goal != nil {
		if dx, dy, ok := game.Direction(goal.X-self.X, goal.Y-self.Y); ok {
			ctl.MoveX, ctl.MoveY = dx*0.999, dy*0.999
		}
	}
	if target != nil {
		ctl.Fire, ctl.AimX, ctl.AimY = true, target.X-self.X, target.Y-self.Y
	}
	return ctl
}

// TestCTFMatchToTheEnd plays a ctf match of 8 Go clients through the
// server to its result: two teams of 4, red raids and captures, the
// standings rank red's players first, every client's prediction is exact
// (a carrier is not slowed).
func TestCTFMatchToTheEnd(t *testing.T) {
	_, base := startServer(t, Options{FillTimeout: 5 * time.Second,
		ModeOpts: []string{"ctf.width=700", "ctf.height=400", "ctf.duration=20s", "ctf.capture-limit=1"}})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	const n = 8
	var mu sync.Mutex
	results := make([]*netcode.ServerMsg, n)
	events := map[uint8]int{}
	clients := make([]*client.Client, n)
	for i := range clients {
		c, err := client.Dial(ctx, base, client.Options{Name: "ctf", OnMessage: func(m *netcode.ServerMsg) {
			mu.Lock()
			defer mu.Unlock()
			switch m.Type {
			case netcode.MsgResult:
				r := *m
				r.Standings = append([]netcode.Standing(nil), m.Standings...)
				results[i] = &r
			case netcode.MsgSnapshot:
				for _, ev := range m.Snapshot.Events {
					events[ev.Type]++
				}
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
		c.Queue("ctf")
	}
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range results {
			if r == nil {
				return false
			}
		}
		return true
	}
	var v client.View
	for !done() {
		if ctx.Err() != nil {
			t.Fatal("no result for every client in time")
		}
		for _, c := range clients {
			c.ViewInto(&v)
			if v.Phase == client.PhasePlaying {
				c.SetControl(ctfControl(&v))
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("events: %v", events)
	if events[game.EventHit] == 0 || events[game.CTFEventPickup] == 0 {
		t.Errorf("a match without hits or pickups: %v", events)
	}
	first := results[0]
	if first.Outcome != netcode.OutcomeNormal || len(first.Standings) != n {
		t.Fatalf("result %+v", first)
	}
	teams := map[uint8]int{}
	for i, s := range first.Standings {
		teams[s.Team]++
		if i > 0 && s.Place < first.Standings[i-1].Place {
			t.Errorf("standings not ordered by place: %+v", first.Standings)
		}
		// A team shares its place.
		for _, o := range first.Standings {
			if o.Team == s.Team && o.Place != s.Place {
				t.Errorf("team %d in places %d and %d", s.Team, s.Place, o.Place)
			}
		}
	}
	if teams[game.CTFRed] != 4 || teams[game.CTFBlue] != 4 {
		t.Errorf("teams %v, want 4 red and 4 blue", teams)
	}
	if events[game.CTFEventCapture] == 0 {
		t.Fatalf("ended without a capture: %v", events)
	}
	for i, s := range first.Standings {
		if want := map[bool]uint8{true: game.CTFRed, false: game.CTFBlue}[i < 4]; s.Team != want || s.Place != uint16(want) {
			t.Errorf("standing %d: %+v, want team %d in place %d", i, s, want, want)
		}
	}
	if first.Standings[0].Score < 10 {
		t.Errorf("the capturer ranks first in red with %d points", first.Standings[0].Score)
	}
	for i, c := range clients {
		if st := c.Stats(); st.MaxPredictionError > 1 || st.ProtocolErrors != 0 {
			t.Errorf("client %d: prediction off by %.3f, %d protocol errors", i, st.MaxPredictionError, st.ProtocolErrors)
		}
	}
}
