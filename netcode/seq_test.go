package netcode

import (
	"math"
	"slices"
	"testing"
	"time"
)

// arrival is one step of a seat's seqs: seq arrives (if not spent), and
// the gap it reports.
type arrival struct {
	seq    uint32
	spent  bool
	lo, hi uint32
}

func TestSeqsArrive(t *testing.T) {
	cases := []struct {
		name  string
		base  uint32
		steps []arrival
	}{
		{"in order", 0, []arrival{{seq: 1}, {seq: 2}, {seq: 3}}},
		{"duplicates are spent", 0, []arrival{{seq: 1}, {seq: 1, spent: true}, {seq: 2}, {seq: 1, spent: true}}},
		{"seqs before the seat are void, not missing", 10, []arrival{{seq: 5, spent: true}, {seq: 10, spent: true}, {seq: 14}}},
		{"a gap is reported once", 0, []arrival{{seq: 1}, {seq: 4, lo: 2, hi: 4}, {seq: 5}}},
		{"a late seq below the gap is spent", 0, []arrival{{seq: 1}, {seq: 4, lo: 2, hi: 4}, {seq: 3, spent: true}}},
		{"a long gap is capped", 0, []arrival{{seq: 1}, {seq: 100, lo: 2, hi: 1 + MaxRejects}}},
		{"at the top of the range", LastSeq - 3, []arrival{{seq: LastSeq - 2}, {seq: LastSeq, lo: LastSeq - 1, hi: LastSeq}, {seq: LastSeq, spent: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s Seqs
			s.Void(tc.base)
			if s.Ack != tc.base || s.Seen != tc.base {
				t.Fatalf("after Void(%d): %+v", tc.base, s)
			}
			for i, a := range tc.steps {
				if got := s.Spent(a.seq); got != a.spent {
					t.Fatalf("step %d: Spent(%d) = %v, want %v", i, a.seq, got, a.spent)
				}
				if a.spent {
					continue
				}
				lo, hi := s.Arrive(a.seq)
				if lo < hi || a.lo < a.hi { // an empty range is any lo >= hi
					if lo != a.lo || hi != a.hi {
						t.Fatalf("step %d: Arrive(%d) reports [%d, %d), want [%d, %d)", i, a.seq, lo, hi, a.lo, a.hi)
					}
				}
				if s.Seen != a.seq {
					t.Fatalf("step %d: Seen %d, want %d", i, s.Seen, a.seq)
				}
				if hi > lo && hi-lo > MaxRejects-1 {
					t.Fatalf("step %d: %d seqs reported, more than MaxRejects-1", i, hi-lo)
				}
			}
		})
	}
}

func TestSeqsAck(t *testing.T) {
	var s Seqs
	s.Void(4)
	s.Arrive(5)
	s.Arrive(8) // 6 and 7 rejected on arrival
	s.Applied(5)
	if s.Ack != 5 {
		t.Fatalf("Ack %d after applying 5, want 5 (the lead is input 5's)", s.Ack)
	}
	s.Applied(8)
	s.Arrive(9) // rejected on arrival (a full queue), never applied
	if s.Ack != 8 {
		t.Fatalf("Ack %d, want 8", s.Ack)
	}
	s.Settle()
	if s.Ack != 9 {
		t.Fatalf("Ack %d after a tick with no input waiting, want 9 (every seq seen settled)", s.Ack)
	}
	s.Void(3) // a new seat: seqs void up to the player's highest
	if s.Ack != 3 || s.Seen != 3 || s.got {
		t.Fatalf("after Void(3): %+v", s)
	}
}

func TestSkippedCode(t *testing.T) {
	for _, tc := range []struct {
		q, dropped uint32
		want       uint8
	}{
		{5, 0, RejectMissing},
		{5, 4, RejectMissing},
		{5, 5, RejectDropped},
		{5, 9, RejectDropped},
	} {
		if got := SkippedCode(tc.q, tc.dropped); got != tc.want {
			t.Errorf("SkippedCode(%d, %d) = %d, want %d", tc.q, tc.dropped, got, tc.want)
		}
	}
}

func TestLeadUs(t *testing.T) {
	for _, tc := range []struct {
		waited time.Duration
		want   int32
	}{
		{-time.Millisecond, 0},
		{0, 0},
		{999 * time.Nanosecond, 0},
		{1500 * time.Nanosecond, 1},
		{12 * time.Millisecond, 12000},
		{time.Hour, 1 << 30},
		{math.MaxInt64, 1 << 30},
	} {
		if got := LeadUs(tc.waited); got != tc.want {
			t.Errorf("LeadUs(%v) = %d, want %d", tc.waited, got, tc.want)
		}
	}
}

func TestSeatSeq(t *testing.T) {
	for _, tc := range []struct{ last, ack, want uint32 }{
		{0, 0, 0},   // a new session: the first input is 1
		{7, 0, 7},   // a new match: the counter goes on
		{7, 12, 12}, // inputs sent from another page or process: above them
		{LastSeq, 3, LastSeq},
	} {
		if got := SeatSeq(tc.last, tc.ack); got != tc.want {
			t.Errorf("SeatSeq(%d, %d) = %d, want %d", tc.last, tc.ack, got, tc.want)
		}
	}
}

func TestUnacked(t *testing.T) {
	seqs := func(ins []Input) []uint32 {
		var out []uint32
		for _, in := range ins {
			out = append(out, in.Seq)
		}
		return out
	}
	mk := func(s ...uint32) []Input {
		var out []Input
		for _, q := range s {
			out = append(out, Input{Seq: q, MoveX: float32(q)})
		}
		return out
	}
	for _, tc := range []struct {
		pending []uint32
		ack     uint32
		want    []uint32
	}{
		{nil, 3, nil},
		{[]uint32{4, 5, 6}, 3, []uint32{4, 5, 6}},
		{[]uint32{4, 5, 6}, 5, []uint32{6}},
		{[]uint32{4, 5, 6}, 6, nil},
		{[]uint32{9, 4, 7}, 5, []uint32{9, 7}}, // order kept
	} {
		in := mk(tc.pending...)
		got := Unacked(in, tc.ack)
		if !slices.Equal(seqs(got), tc.want) {
			t.Errorf("Unacked(%v, %d) = %v, want %v", tc.pending, tc.ack, seqs(got), tc.want)
		}
		for _, g := range got {
			if g.MoveX != float32(g.Seq) {
				t.Errorf("Unacked mixed up inputs: %+v", g)
			}
		}
		if len(got) > 0 && &got[0] != &in[0] {
			t.Errorf("Unacked allocated")
		}
	}
}

func TestRingFirst(t *testing.T) {
	for _, tc := range []struct{ ack, last, n, want uint32 }{
		{0, 5, 128, 1},    // everything since the start is held
		{3, 5, 128, 4},    // above the ack
		{0, 200, 128, 73}, // older ones left the ring
		{150, 200, 128, 151},
		{0, 127, 128, 1},
		{0, 128, 128, 1},
		{0, 129, 128, 2},
	} {
		got := RingFirst(tc.ack, tc.last, tc.n)
		if got != tc.want {
			t.Errorf("RingFirst(%d, %d, %d) = %d, want %d", tc.ack, tc.last, tc.n, got, tc.want)
		}
		// Every seq from got to last has its own slot.
		if tc.last >= got && tc.last-got+1 > tc.n {
			t.Errorf("RingFirst(%d, %d, %d) = %d: %d seqs in %d slots", tc.ack, tc.last, tc.n, got, tc.last-got+1, tc.n)
		}
	}
}

// TestWindowsFit checks the relations the rules above rely on.
func TestWindowsFit(t *testing.T) {
	if ReplayQueue > MaxBatch || InputQueue > ReplayQueue {
		t.Errorf("queues %d and %d: a resent batch (at most %d) must fit the replay queue", InputQueue, ReplayQueue, MaxBatch)
	}
	if InboxShare < InputQueue {
		t.Errorf("inbox share %d below the queue %d", InboxShare, InputQueue)
	}
	if JITMinTargetUs > JITMaxTargetUs || JITMaxBoostUs < JITMissBoostUs {
		t.Error("just-in-time bounds out of order")
	}
	if FirstMargin <= 0 || HistoryWindow < 2*time.Second {
		t.Errorf("first margin %v, history %v (at least two checkpoint intervals)", FirstMargin, HistoryWindow)
	}
}
