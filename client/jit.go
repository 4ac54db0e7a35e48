package client

import (
	"math"
	"time"

	"skirmish/netcode"
)

// jit keeps inputs arriving just in time. Every snapshot tells how long
// the input it applied waited at the server before its tick (the lead).
// A long lead means inputs arrive too early and wait; a lead near zero
// means the next bit of jitter makes one miss its tick. jit slides the send
// schedule so that the lead settles at a target margin that grows with the
// observed jitter.
//
// A missed tick costs more than its own input: the server applies one
// input per tick, so once one input came late every later one queues
// behind it and waits a whole tick too, until a tick passes with no input
// arriving. So a miss is answered at once by postponing the send already
// scheduled (drain): as soon as a snapshot shows a tick that applied no
// input although one was sent for it (report), or else when the late
// input's lead comes (observe). A send that leaves so late that its input
// cannot make its tick does not go at all (tooLate).
// On a loaded machine a stalled timer, or a stalled read at the server,
// makes every input of a match late together for a tick or two; before,
// the client sent the late inputs, then waited for two or three reports
// and a half-tick move per send to drain the queue, and each such stall
// cost 4 to 8 late inputs per player instead of 0 or 1 (the input that
// missed).
//
// A report about an input sent before the last shift took effect is stale:
// acting on it would correct the same error twice. Jitter is measured on
// consecutive fresh leads with the client's own shifts taken out, each
// sample clipped so that a stall (handled by the drain) does not widen the
// margin for seconds.
type jit struct {
	n           int     // fresh reports so far
	prev        float64 // previous fresh lead, µs
	dev         float64 // EWMA of |lead change not explained by our shift|, µs
	target      float64 // µs
	shift       float64 // µs of schedule shift still to apply
	applied     float64 // µs applied since the previous fresh report
	staleBefore uint32  // reports on inputs with a lower seq are stale
	boost       float64 // µs added to the margin after missed ticks
	drain       bool    // the pending shift drains a queue: postpone the next send by it
	sentSince   bool    // an input was sent since the last snapshot
	synced      bool    // the last snapshot acknowledged the last input sent
	held        bool    // the last send was dropped as too late
	missed      uint32  // an input seen to miss its tick, already drained (0: none)
}

// The controller's constants are netcode's (netcode.JITGain and the
// others), which the browser client mirrors.

// report takes a snapshot's report: the lead (µs) of the input it
// applied, ackSeq, if it applied one (hasLead); lastSent is the seq of the
// last input sent. A snapshot that applied no input although one was sent
// for its tick tells of a miss a tick before that input's own report
// would: the input is queued at the server for the next tick, and the next
// send is postponed by a tick at once so that no input queues behind it.
// The input sent since the last snapshot is the one meant for this tick
// when that snapshot acknowledged every input sent before it.
func (j *jit) report(hasLead bool, leadUs int32, ackSeq, lastSent, tickRate uint32) {
	sent, synced := j.sentSince, j.synced
	j.sentSince = false
	j.synced = ackSeq == lastSent
	if hasLead {
		j.observe(leadUs, ackSeq, tickRate)
		return
	}
	// Only when the last snapshot had applied every input sent before it
	// (no input in flight across a tick: a round trip under a tick) is
	// the one input sent since the one meant for this tick.
	if !sent || !synced || lastSent != ackSeq+1 || lastSent < j.staleBefore || j.n <= 3 || j.drain {
		return
	}
	j.boost = min(j.boost+netcode.JITMissBoostUs, netcode.JITMaxBoostUs)
	j.shift, j.drain = 1e6/float64(max(tickRate, 1)), true
	// The skipped slot keeps the schedule's phase; the input's own report,
	// a tick late, tells by how much it missed, to correct the phase.
	j.missed = lastSent
}

// observe takes the lead (µs) reported by a snapshot about input seq.
func (j *jit) observe(leadUs int32, seq uint32, tickRate uint32) {
	lead := float64(leadUs)
	tick := 1e6 / float64(max(tickRate, 1))
	if seq == j.missed && j.missed != 0 {
		// The miss was drained already (the postponed send is after it):
		// the tick it waited is no error of the phase, what it came late
		// by is.
		j.missed = 0
		lead -= tick
	} else if seq < j.staleBefore {
		return
	}
	// Once settled, a lead of more than half a tick is an input that
	// missed its tick and waited for the next (or waited behind another
	// that did, over a tick): the inputs after it wait a tick each until
	// one send is skipped. Postpone the next send by the excess at once;
	// widen the margin a little, since the jitter just beat it.
	if j.n > 3 && lead > tick/2 {
		j.boost = min(j.boost+netcode.JITMissBoostUs, netcode.JITMaxBoostUs)
		j.shift, j.drain = lead-j.target, true
		return
	}
	j.boost *= 0.98
	// The first reports are the schedule's big initial move, not jitter;
	// later samples are clipped so that one outlier cannot inflate the
	// margin for long.
	if j.n >= 2 {
		sample := min(math.Abs(lead-j.prev+j.applied), netcode.JITMaxSampleUs)
		j.dev += netcode.JITAlpha * (sample - j.dev)
	}
	j.n++
	j.prev, j.applied = lead, 0
	j.target = min(max(netcode.JITMinTargetUs, 1000+4*j.dev)+j.boost, netcode.JITMaxTargetUs)
	if tickRate > 0 {
		j.target = min(j.target, 0.5e6/float64(tickRate))
	}
	// Positive: inputs arrive too early, send later. The first report
	// moves the schedule all the way at once: a new match's tick phase has
	// nothing to do with the last one's.
	gain := netcode.JITGain
	if j.n == 1 {
		gain = 1
	}
	j.shift = gain * (lead - j.target)
}

// fire decides the send due at at (ns on any monotonic clock) that left
// at now: whether to send an input (with seq seq) now, and when the next
// send is due. A drain postpones this send; a send that left too late for
// its tick is dropped (see tooLate). Either way no input goes now.
func (j *jit) fire(at, now int64, dt time.Duration, seq uint32) (what fireAction, next int64) {
	if d := j.postpone(dt, seq); d > 0 {
		return fireDrain, at + int64(d)
	}
	what = fireSend
	// Never two in a row: only sends bring new leads, and a held send
	// must not keep the next one held on the same old lead.
	if !j.held && j.tooLate(float64(now-at)/1e3) {
		what = fireLate
		seq-- // the next send carries seq
	} else {
		j.sentSince = true
	}
	j.held = what == fireLate
	next = at + int64(dt+j.take(dt, seq+1))
	return what, max(next, now) // far behind: don't burst
}

// fireAction is what fire decided.
type fireAction int

const (
	fireSend  fireAction = iota // send an input now
	fireDrain                   // postponed to drain the server's queue
	fireLate                    // dropped: too late for its tick
)

// postpone returns how long to put off the send that is due now, to drain
// the server's queue after a miss (0: send it now). seq is the seq the
// postponed send will carry: reports on earlier inputs are stale.
func (j *jit) postpone(dt time.Duration, seq uint32) time.Duration {
	if !j.drain {
		return 0
	}
	j.drain = false
	tick := float64(dt / time.Microsecond)
	s := min(max(j.shift, 0), netcode.JITMaxDrainTicks*tick)
	j.shift = 0
	if s < netcode.JITStaleMinUs {
		return 0
	}
	// Whole ticks skipped do not move the phase of the schedule.
	j.applied += s - tick*math.Round(s/tick)
	j.staleBefore = max(j.staleBefore, seq)
	return time.Duration(s) * time.Microsecond
}

// tooLate reports whether a send that left lateUs after its due time is
// too late for the tick it was meant for: later than the last lead, so
// that its input would arrive after that tick. Sent anyway, it would wait
// a whole tick at the server (a late ack), and the next input would queue
// behind it. Not sent, the tick it missed gets no input either way, and
// the next send, on time, carries the control as it is then.
func (j *jit) tooLate(lateUs float64) bool {
	// A last lead not above 0 was a miss being corrected: it says nothing
	// of the next one. A lead under netcode.JITLateMinUs is one sample of a
	// close call (the schedule is moving earlier): the send goes.
	return j.n > 3 && j.prev > 0 && lateUs > max(j.prev, netcode.JITLateMinUs)
}

// take returns the shift to apply to the send of input seq: at most half a
// tick, so that the schedule moves smoothly.
func (j *jit) take(dt time.Duration, seq uint32) time.Duration {
	if j.drain {
		return 0 // postpone applies it to the next send
	}
	lim := float64(dt/time.Microsecond) / 2
	s := min(max(j.shift, -lim), lim)
	j.shift -= s
	j.applied += s
	if math.Abs(s) >= netcode.JITStaleMinUs {
		j.staleBefore = max(j.staleBefore, seq)
	}
	return time.Duration(s) * time.Microsecond
}
