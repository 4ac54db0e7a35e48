package client

import (
	"testing"

	"skirmish/netcode"
)

// declaredClient is a client seated in a match of a mode it knows only from
// matched: speed 123, a 300×200 world, immobile while field 0 is 1, a
// "fire" action (aimed, 3 ticks) on bit 0 and a "zap" on bit 2 (5 ticks).
func declaredClient(t *testing.T) *Client {
	t.Helper()
	m := &netcode.Matched{MatchID: "m", Mode: "nowhere", Entity: 1, TickRate: 30, WorldW: 300, WorldH: 200, EndTick: 1 << 30,
		Schema: netcode.Schema{PosScale: 8, Kinds: []netcode.Kind{{Name: "p", Size: 10, Label: -1, Team: -1}},
			Fields: []netcode.Field{{Name: "stun", Scale: 1}}},
		Info: netcode.ModeInfo{Speed: 123, AvatarRadius: 10, InterestRadius: 100,
			Actions:  []netcode.Action{{Bit: 2, Name: "zap", CooldownTicks: 5}, {Bit: 0, Name: "fire", CooldownTicks: 3, Aimed: true}},
			Immobile: &netcode.Immobile{Field: 0, Min: 1, Max: 1}}}
	c := &Client{reader: netcode.NewReader(), closed: make(chan struct{}), events: make(chan netcode.ServerMsg, 16)}
	c.onMatched(m)
	m.Info.Actions[0].Name = "changed" // the client keeps its own copy
	return c
}

// The client predicts a mode it has no code for from matched alone: the
// declared speed, the world's bounds, the immobility rule and the aimed
// actions.
func TestPredictFromMatched(t *testing.T) {
	c := declaredClient(t)
	self := netcode.Entity{ID: 1, X: 100, Y: 100}
	dt := float32(1) / 30
	for _, tc := range []struct {
		name   string
		stun   float32
		in     netcode.Input
		x0, x1 float32
	}{
		{"the declared speed", 0, netcode.Input{MoveX: 1}, 100, 100 + 123*dt},
		{"clamped to the world", 0, netcode.Input{MoveX: 1}, 299, 300},
		{"immobile by the rule", 1, netcode.Input{MoveX: 1}, 100, 100},
		{"an aimed action without a direction", 0, netcode.Input{MoveX: 1, Buttons: 1, AimX: 1e-9}, 100, 100},
		{"an action that is not aimed", 0, netcode.Input{MoveX: 1, Buttons: 1 << 2, AimX: 1e-9}, 100, 100 + 123*dt},
	} {
		self.F[0] = tc.stun
		if x, y := c.predict(&self, tc.x0, 100, &tc.in); x != tc.x1 || y != 100 {
			t.Errorf("%s: (%v, %v), want (%v, 100)", tc.name, x, y, tc.x1)
		}
	}
}

// The client presses only declared actions, each at most once per its
// cooldown, and fire by its declared name and bit.
func TestButtonsFromMatched(t *testing.T) {
	c := declaredClient(t)
	if a, _ := c.matched.Info.Action("zap"); a.Bit != 2 {
		t.Fatalf("the client's copy of the actions changed: %+v", c.matched.Info.Actions)
	}
	c.ctl = Control{Fire: true, Buttons: 1<<2 | 1<<5}
	want := map[uint32]uint8{1: 1 | 1<<2, 2: 0, 3: 0, 4: 1, 5: 0, 6: 1 << 2, 7: 1}
	for range 7 {
		in := c.inputs.next()
		if in.Buttons != want[in.Seq] {
			t.Errorf("seq %d: buttons %08b, want %08b", in.Seq, in.Buttons, want[in.Seq])
		}
	}
}
