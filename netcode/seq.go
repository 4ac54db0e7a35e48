package netcode

import (
	"math"
	"time"
)

// Input sequence numbers (PROTOCOL.md §4 "input", §11, §12).
//
// A client numbers its inputs 1, 2, 3… over its whole session: seqs never
// go back, across matches and reconnects. A seat applies each seq at most
// once and in order, at most one a tick, and every snapshot carries ackSeq,
// the seq up to which every input of the seat is settled: applied,
// rejected, or void. This file is the one home of those rules and of their
// numbers: the match keeps a seat's seqs in a Seqs, the Go client numbers,
// reconciles and keeps its inputs with SeatSeq, Unacked and RingFirst, and
// the browser client (client/web) mirrors the constants, as each comment
// says.

// LastSeq is the last seq of a session: it is applied like any other, and
// any input after it closes the connection (CloseProtocol).
const LastSeq = math.MaxUint32

// The windows of a seat's inputs at the server.
const (
	// InputQueue is the most inputs that wait per seat; more are rejected
	// with RejectDropped. The browser mirrors it (RESEND_WINDOW: inputs
	// resent and not yet acknowledged after a resume).
	InputQueue = 8
	// ReplayQueue is the most inputs that wait for a seat restored from a
	// checkpoint while it catches up: its client resends every input after
	// the checkpoint's ack at once, in inputs frames. The browser mirrors
	// it (RESEND_WINDOW_RESTORED).
	ReplayQueue = MaxBatch
	// InboxShare is the most inputs of one player in flight to its match
	// at once (ReplayQueue in a match restored from a checkpoint): two
	// ticks' worth of a full queue. More are dropped on arrival and
	// rejected with RejectDropped once a later input arrives.
	InboxShare = 2 * InputQueue
	// MaxRejects is the most rejects one snapshot carries, and so the most
	// seqs one gap in the seqs received is reported for (RejectMissing or
	// RejectDropped).
	MaxRejects = 32
)

// Seqs is the server's record of one seat's input seqs. The zero value is
// a seat whose player never sent an input.
type Seqs struct {
	// Seen is the highest seq queued or rejected: every seq up to it is
	// spent, and a later copy is a duplicate.
	Seen uint32
	// Ack is the seq up to which every seq is applied, rejected or void:
	// the snapshot's ackSeq.
	Ack uint32
	// got: a seq arrived since Void. Seqs skipped before the first one
	// are not missing: they were sent before the seat existed.
	got bool
}

// Void starts a seat whose player sent seqs up to base before it existed
// (or a seat restored at ack base): every seq up to base is void there.
func (s *Seqs) Void(base uint32) { *s = Seqs{Seen: base, Ack: base} }

// Spent reports whether seq is a duplicate or void: at most Seen.
func (s *Seqs) Spent(seq uint32) bool { return seq <= s.Seen }

// Arrive records the arrival of seq, which must not be Spent, and returns
// the seqs skipped since the last arrival, [lo, hi): lost on the way, or
// dropped before they reached the seat (see SkippedCode). There are at
// most MaxRejects−1 of them, and none before the first arrival since Void.
func (s *Seqs) Arrive(seq uint32) (lo, hi uint32) {
	if s.got {
		lo, hi = s.Seen+1, s.Seen+min(seq-s.Seen, MaxRejects) // no wrap at LastSeq
	}
	s.Seen, s.got = seq, true
	return lo, hi
}

// Applied records that seq, taken from the seat's queue this tick, was
// applied or rejected by the rules: the snapshot acknowledges it, so that
// its lead is the lead of input ackSeq. Seqs rejected on arrival above it
// are settled by a later tick (Settle).
func (s *Seqs) Applied(seq uint32) { s.Ack = seq }

// Settle records a tick in which no input of the seat waited: every seq
// seen is settled, those rejected on arrival included.
func (s *Seqs) Settle() { s.Ack = max(s.Ack, s.Seen) }

// SkippedCode returns the reject code of seq q, skipped by the seqs that
// arrived (Arrive): RejectDropped if it was dropped on its way to the seat
// (the player's highest dropped seq is dropped), else RejectMissing.
func SkippedCode(q, dropped uint32) uint8 {
	if q <= dropped {
		return RejectDropped
	}
	return RejectMissing
}

// LeadUs is the lead a snapshot reports for an input that arrived waited
// before its tick began: in microseconds, 0 to 2³⁰.
func LeadUs(waited time.Duration) int32 {
	return int32(min(max(waited, 0)/time.Microsecond, 1<<30))
}

// SeatSeq returns the seq a client's counter goes on from when it is
// seated (matched), given the last seq it sent and matched's ackSeq: the
// server voids every seq up to ackSeq in a new seat, so the next input
// takes SeatSeq+1, above both.
func SeatSeq(lastSent, ackSeq uint32) uint32 { return max(lastSent, ackSeq) }

// Unacked drops from pending, in place, the inputs that ack settles (seq
// at most ack), keeping the order of the others: the ones to replay on
// the server's state (reconciliation).
func Unacked(pending []Input, ack uint32) []Input {
	n := 0
	for _, in := range pending {
		if in.Seq > ack {
			pending[n] = in
			n++
		}
	}
	return pending[:n]
}

// RingFirst returns the first seq above ack that a ring of n slots
// indexed by seq (seq mod n) still holds once it holds seq last: older
// ones left it. A client keeps its inputs so, to resend those a resumed
// seat lacks (HistoryWindow).
func RingFirst(ack, last, n uint32) uint32 {
	lo := ack + 1
	if last >= n {
		lo = max(lo, last-n+1)
	}
	return lo
}

// HistoryWindow is how long a client keeps every input it sent,
// acknowledged or not: a seat restored from a checkpoint (at most a
// checkpoint interval, 1 s by default, old) may have lost inputs the
// client already saw acknowledged, and they are sent again. Two checkpoint
// intervals at least. The browser mirrors it (HISTORY_MS).
const HistoryWindow = 3 * time.Second

// The just-in-time input schedule (PROTOCOL.md §11): a client slides the
// times it sends its inputs at so that the lead its snapshots report
// settles at a target margin that grows with the jitter it observes. The
// Go client's controller (client/jit.go) uses these; the browser mirrors
// them (the JIT_* constants and FIRST_MARGIN_MS). Times in µs.
const (
	// JITGain is the share of the lead's error corrected per fresh report
	// (the first report corrects all of it).
	JITGain = 0.5
	// JITAlpha is the factor of the moving mean of the jitter (dev).
	JITAlpha = 0.1
	// JITMinTargetUs and JITMaxTargetUs bound the target margin; it is at
	// most half a tick too.
	JITMinTargetUs = 2000
	JITMaxTargetUs = 8000
	// JITMaxSampleUs caps one jitter sample, so that a stall does not
	// widen the margin for seconds.
	JITMaxSampleUs = 3000
	// JITStaleMinUs: a shift of the schedule this big or bigger makes the
	// reports on inputs sent before it stale.
	JITStaleMinUs = 1000
	// JITMissBoostUs is added to the margin per missed tick, up to
	// JITMaxBoostUs.
	JITMissBoostUs = 500
	JITMaxBoostUs  = 2000
	// JITMaxDrainTicks is the most one drain postpones a send, in ticks: a
	// lead inflated by a late tick is no queue.
	JITMaxDrainTicks = 1
	// JITLateMinUs: a send this late or less is never dropped as too late
	// for its tick.
	JITLateMinUs = 1000
)

// FirstMargin is how long before the next tick a match's first input aims
// to arrive, before the server has reported any lead (at most half a
// tick): the first snapshot left just after a tick began, so the first
// input goes max(T − FirstMargin, T/2) after it. The browser mirrors it
// (FIRST_MARGIN_MS).
const FirstMargin = 8 * time.Millisecond
