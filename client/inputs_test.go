package client

import (
	"slices"
	"testing"
	"time"

	"skirmish/netcode"
)

func seqsOf(ins []netcode.Input) []uint32 {
	var out []uint32
	for _, in := range ins {
		out = append(out, in.Seq)
	}
	return out
}

// sendN sends n inputs at 30 Hz from t0, as the schedule would.
func sendN(in *inputs, n int, t0 time.Time) {
	for i := range n {
		ni := in.next()
		in.sent(ni, t0.Add(time.Duration(i)*time.Second/30), 0, 0)
	}
}

func TestInputsSeatNumbersAboveBoth(t *testing.T) {
	var in inputs
	in.seat(&netcode.Matched{TickRate: 30})
	sendN(&in, 5, time.Now())
	if in.seq != 5 || len(in.pending) != 5 {
		t.Fatalf("seq %d, pending %d after 5 sends, want 5, 5", in.seq, len(in.pending))
	}
	gen := in.matchGen
	// A new match whose server has seen seqs up to 9 (another process of
	// the same session): the next input is 10, nothing is pending.
	in.seat(&netcode.Matched{TickRate: 30, AckSeq: 9})
	if in.matchGen == gen {
		t.Error("a new seat kept the old schedule's generation")
	}
	if len(in.pending) != 0 || in.ack != 9 {
		t.Errorf("new seat: pending %v, ack %d, want none, 9", seqsOf(in.pending), in.ack)
	}
	if ni := in.next(); ni.Seq != 10 {
		t.Errorf("first seq of the seat %d, want 10", ni.Seq)
	}
	// A new match whose ack is below the last seq sent: the counter goes on.
	in.seat(&netcode.Matched{TickRate: 30, AckSeq: 2})
	if ni := in.next(); ni.Seq != 11 {
		t.Errorf("first seq of the seat %d, want 11", ni.Seq)
	}
}

func TestInputsFireCooldown(t *testing.T) {
	var in inputs
	fire := netcode.Action{Bit: 2, Name: "fire", CooldownTicks: 3, Aimed: true}
	in.seat(&netcode.Matched{TickRate: 30, Info: netcode.ModeInfo{Actions: []netcode.Action{fire}}})
	in.ctl = Control{Fire: true, AimX: 1}
	var fired []uint32
	for range 8 {
		if ni := in.next(); ni.Pressed(2) {
			fired = append(fired, ni.Seq)
		}
	}
	if want := []uint32{1, 4, 7}; !slices.Equal(fired, want) {
		t.Errorf("fired at %v, want %v (a cooldown of 3 ticks)", fired, want)
	}
	// Undeclared bits are never pressed; a mode without fire never fires.
	in.ctl = Control{Fire: true, Buttons: 1 << 5, AimX: 1}
	for range 4 {
		if ni := in.next(); ni.Buttons&^(1<<2) != 0 {
			t.Errorf("input %d pressed undeclared buttons %08b", ni.Seq, ni.Buttons)
		}
	}
	in.seat(&netcode.Matched{TickRate: 30})
	if ni := in.next(); ni.Buttons != 0 {
		t.Error("an input fired in a mode that does not fire")
	}
}

func TestInputsResumeResendsAboveAck(t *testing.T) {
	var in inputs
	in.seat(&netcode.Matched{TickRate: 30})
	sendN(&in, 10, time.Now())
	in.pending = netcode.Unacked(in.pending, 6) // acknowledged up to 6
	gen := in.matchGen
	// A seat restored from a checkpoint at ack 3: inputs 4..10 again,
	// those acknowledged since included, from the history.
	in.resume(3)
	if want := []uint32{4, 5, 6, 7, 8, 9, 10}; !slices.Equal(seqsOf(in.pending), want) {
		t.Errorf("pending after resume at 3: %v, want %v", seqsOf(in.pending), want)
	}
	if in.ack != 3 || in.matchGen == gen {
		t.Errorf("ack %d, generation %d (was %d): want 3, a new one", in.ack, in.matchGen, gen)
	}
	// The seat held at ack 8: only 9, 10.
	in.resume(8)
	if want := []uint32{9, 10}; !slices.Equal(seqsOf(in.pending), want) {
		t.Errorf("pending after resume at 8: %v, want %v", seqsOf(in.pending), want)
	}
	if ni := in.next(); ni.Seq != 11 {
		t.Errorf("next seq after the resume %d, want 11 (the counter goes on)", ni.Seq)
	}
}

func TestInputsAcked(t *testing.T) {
	var in inputs
	in.seat(&netcode.Matched{TickRate: 30})
	t0 := time.Now()
	sendN(&in, 6, t0)
	var heard []time.Duration
	onAck := func(d time.Duration) { heard = append(heard, d) }
	now := t0.Add(time.Second)
	if in.acked(3, now, onAck) {
		t.Error("an ack going up reported backwards")
	}
	if len(heard) != 3 || heard[0] != time.Second || heard[2] != time.Second-2*time.Second/30 {
		t.Errorf("ack times %v, want 3, from 1 s", heard)
	}
	heard = nil
	if in.acked(3, now, onAck); len(heard) != 0 {
		t.Errorf("the same ack heard again: %v", heard)
	}
	if !in.acked(2, now, onAck) {
		t.Error("an ack going back was not reported")
	}
	if in.acked(5, now, nil) || in.ack != 5 {
		t.Errorf("ack %d, want 5", in.ack)
	}
}

// TestToLobbyRequeues checks the one place a client goes back to the
// lobby and decides whether to queue again.
func TestToLobbyRequeues(t *testing.T) {
	for _, tc := range []struct {
		requeue, again bool
		mode           string
		want           string
	}{
		{false, false, "arena", ""},
		{true, false, "arena", "arena"},
		{false, true, "arena", "arena"},
		{true, true, "", ""},
	} {
		c := &Client{opts: Options{Requeue: tc.requeue}}
		c.mode, c.phase = tc.mode, PhasePlaying
		c.lastMatch = "m-1"
		c.droppedAt = time.Now()
		c.pending = append(c.pending, netcode.Input{Seq: 1})
		gen := c.matchGen
		if got := c.toLobby(tc.again); got != tc.want {
			t.Errorf("Requeue %v, again %v, mode %q: queue again for %q, want %q", tc.requeue, tc.again, tc.mode, got, tc.want)
		}
		if c.phase != PhaseLobby || len(c.pending) != 0 || c.matchGen == gen || c.lastMatch != "" || !c.droppedAt.IsZero() {
			t.Errorf("after toLobby: phase %v, pending %d, schedule generation kept %v, lastMatch %q, outage open %v",
				c.phase, len(c.pending), c.matchGen == gen, c.lastMatch, !c.droppedAt.IsZero())
		}
	}
}
