package match

import (
	"math"
	"testing"

	"skirmish/netcode"
)

// snapshots runs n ticks and returns the snapshots p got.
func snapshots(t *testing.T, m *Match, p *Player, n int) []netcode.Snapshot {
	t.Helper()
	var out []netcode.Snapshot
	for range n {
		m.tick()
		for _, f := range frames(t, p, &m.spec.Schema) {
			if f.Type == netcode.MsgSnapshot {
				out = append(out, f.Snapshot)
			}
		}
	}
	return out
}

// Inputs dropped because the queue was full (code 3) are settled like any
// rejected input: ackSeq moves past them as soon as the inputs queued
// before them are applied, without waiting for a later input.
func TestAckPassesDroppedInputs(t *testing.T) {
	p := newTestPlayer("p")
	m, _ := testMatch(t, quietArena(), p)
	frames(t, p, &m.spec.Schema)
	for seq := uint32(1); seq <= netcode.InputQueue+3; seq++ {
		p.SendInput(&netcode.Input{Seq: seq}, p.Out())
	}
	snaps := snapshots(t, m, p, netcode.InputQueue+1)
	var acks []uint32
	for _, s := range snaps {
		acks = append(acks, s.AckSeq)
	}
	want := []uint32{1, 2, 3, 4, 5, 6, 7, 8, netcode.InputQueue + 3}
	if !equal(acks, want) {
		t.Fatalf("acks %v, want %v", acks, want)
	}
	if last := snaps[len(snaps)-1]; last.HasLead {
		t.Error("a lead for a tick that applied no input")
	}
}

// lead is the wait of input ackSeq, and it is reported for an input the
// rules rejected (codes 1, 2) as for an applied one; never for seqs
// rejected on arrival (3, 5), which no tick took from the queue.
func TestLeadBelongsToAckSeq(t *testing.T) {
	p := newTestPlayer("p")
	m, _ := testMatch(t, quietArena(), p)
	frames(t, p, &m.spec.Schema)
	p.SendInput(&netcode.Input{Seq: 1, MoveX: 1, MoveY: 1}, p.Out()) // rejected: code 1
	snaps := snapshots(t, m, p, 1)
	if s := snaps[0]; s.AckSeq != 1 || !s.HasLead || len(s.Rejects) != 1 || s.Rejects[0].Code != netcode.RejectBadDirection {
		t.Errorf("rejected input: ack %d lead %v rejects %+v", s.AckSeq, s.HasLead, s.Rejects)
	}
	p.SendInput(&netcode.Input{Seq: 5}, p.Out()) // 2..4 missing
	snaps = snapshots(t, m, p, 2)
	if s := snaps[0]; s.AckSeq != 5 || !s.HasLead || len(s.Rejects) != 3 {
		t.Errorf("after missing seqs: ack %d lead %v rejects %+v", s.AckSeq, s.HasLead, s.Rejects)
	}
	if snaps[1].HasLead {
		t.Error("a lead without an input")
	}
}

// A new seat voids every seq the player sent before it (sent before
// matched arrived, or in an earlier match): matched says so in ackSeq, a
// late input with such a seq is dropped, the client's next seq is applied,
// and nothing is reported missing.
func TestSeatingVoidsEarlierSeqs(t *testing.T) {
	p := newTestPlayer("p")
	for _, seq := range []uint32{1, 2, 40} { // sent while queued: not seated
		if r := p.SendInput(&netcode.Input{Seq: seq, MoveX: 1}, p.Out()); r != InputNotSeated {
			t.Fatalf("input before the seat: %v", r)
		}
	}
	m, _ := testMatch(t, quietArena(), p)
	fs := frames(t, p, &m.spec.Schema)
	if fs[0].Type != netcode.MsgMatched || fs[0].Matched.AckSeq != 40 {
		t.Fatalf("matched %+v, want ackSeq 40", fs[0].Matched)
	}
	self := m.world.Get(fs[0].Matched.Entity)
	x0 := self.X
	p.SendInput(&netcode.Input{Seq: 1, MoveX: 1}, p.Out()) // late, from before matched
	p.SendInput(&netcode.Input{Seq: 41, MoveX: 1}, p.Out())
	snaps := snapshots(t, m, p, 2)
	if snaps[0].AckSeq != 41 || len(snaps[0].Rejects) != 0 {
		t.Errorf("ack %d rejects %+v, want 41 and none", snaps[0].AckSeq, snaps[0].Rejects)
	}
	if got, want := m.world.Get(self.ID).X-x0, float32(200.0/30); abs(got-want) > 1e-3 {
		t.Errorf("moved %v, want one input's %v", got, want)
	}
}

// An input from a connection the seat is not bound to (a replaced one's
// late frame) never reaches the seat.
func TestStaleConnectionInputDropped(t *testing.T) {
	p := newTestPlayer("p")
	m, _ := testMatch(t, quietArena(), p)
	old := p.Out()
	frames(t, p, &m.spec.Schema)
	p.out.Store(NewOutbox()) // replaced; the seat is not resumed yet
	if r := p.SendInput(&netcode.Input{Seq: 1, MoveX: 1}, old); r != InputQueued {
		t.Fatal(r)
	}
	m.tick()
	if s := m.seatOf(p); s.seqs.Ack != 0 || s.seqs.Seen != 0 {
		t.Errorf("a stale connection's input reached the seat: ack %d", s.seqs.Ack)
	}
}

// Seq 2³²−1 is the last of a session: it is applied, and any input after
// it is refused as spent (the server closes the connection).
func TestTopOfSeqRange(t *testing.T) {
	p := newTestPlayer("p")
	m, _ := testMatch(t, quietArena(), p)
	frames(t, p, &m.spec.Schema)
	if r := p.SendInput(&netcode.Input{Seq: math.MaxUint32}, p.Out()); r != InputQueued {
		t.Fatal(r)
	}
	if s := snapshots(t, m, p, 1); s[0].AckSeq != math.MaxUint32 {
		t.Errorf("ack %d", s[0].AckSeq)
	}
	for _, seq := range []uint32{1, math.MaxUint32} {
		if r := p.SendInput(&netcode.Input{Seq: seq}, p.Out()); r != InputSeqSpent {
			t.Errorf("seq %d after the last: %v, want spent", seq, r)
		}
	}
}

// A player already seated in a match is never seated in it twice.
func TestJoinTwiceRefused(t *testing.T) {
	p := newTestPlayer("p")
	m, _ := testMatch(t, quietArena(), p)
	m.join(p)
	m.join(NewPlayer("p", "p", NewOutbox())) // same ID, another object
	n := 0
	for i := range m.seats {
		if m.seats[i].p != nil {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d seats for one player", n)
	}
}

// Every dropped input is counted once: one refused by a full inbox is the
// connection's to count (SendInput says so and counts nothing), one dropped
// by a full queue the match's.
func TestDroppedInputCountedOnce(t *testing.T) {
	p := newTestPlayer("p")
	m, _ := testMatch(t, quietArena(), p)
	obs := &countObserver{}
	m.obs = obs
	frames(t, p, &m.spec.Schema)
	queued, full := 0, 0
	// A player holds at most netcode.InboxShare places of the inbox.
	for seq := uint32(1); seq <= netcode.InboxShare+5; seq++ {
		switch p.SendInput(&netcode.Input{Seq: seq}, p.Out()) {
		case InputQueued:
			queued++
		case InputInboxFull:
			full++
		}
	}
	if full != 5 || obs.dropped != 0 {
		t.Fatalf("inbox full %d times, observer counted %d; want 5 and 0", full, obs.dropped)
	}
	m.tick()
	if want := queued - netcode.InputQueue; obs.dropped != want {
		t.Errorf("queue drops counted %d, want %d", obs.dropped, want)
	}
}

// An input dropped at a full inbox is not lost silently: once a later one
// arrives, the snapshot rejects its seq as dropped (code 3), not missing.
func TestInboxFullRejectsAsDropped(t *testing.T) {
	p := newTestPlayer("p")
	m, _ := testMatch(t, quietArena(), p)
	frames(t, p, &m.spec.Schema)
	// The player's share of the inbox is full.
	for seq := uint32(1); seq <= netcode.InboxShare; seq++ {
		if r := p.SendInput(&netcode.Input{Seq: seq}, p.Out()); r != InputQueued {
			t.Fatalf("input %d: %v", seq, r)
		}
	}
	if r := p.SendInput(&netcode.Input{Seq: netcode.InboxShare + 1}, p.Out()); r != InputInboxFull {
		t.Fatalf("input over the player's share: %v, want InputInboxFull", r)
	}
	snapshots(t, m, p, 1) // the tick empties the inbox (the queue takes netcode.InputQueue)
	p.SendInput(&netcode.Input{Seq: netcode.InboxShare + 2}, p.Out())
	var codes = map[uint32]uint8{}
	for _, s := range snapshots(t, m, p, 1) {
		for _, r := range s.Rejects {
			codes[r.Seq] = r.Code
		}
	}
	if c, ok := codes[netcode.InboxShare+1]; !ok || c != netcode.RejectDropped {
		t.Fatalf("seq %d dropped at the inbox: reject code %d (reported %v), want %d", netcode.InboxShare+1, c, ok, netcode.RejectDropped)
	}
}
