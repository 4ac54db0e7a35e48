package client

import (
	"math"
	"time"
)

// jit keeps inputs arriving just in time. Every snapshot tells how long
// the input it applied waited at the server before its tick (the lead).
// A long lead means inputs arrive too early and wait; a lead near zero
// means the next bit of jitter makes one miss its tick (it then waits a
// whole tick). jit slides the send schedule so that the lead settles at a
// target margin that grows with the observed jitter.
//
// A report about an input sent before the last shift took effect is stale:
// acting on it would correct the same error twice. Jitter is measured on
// consecutive fresh leads with the client's own shifts taken out.
type jit struct {
	n           int     // fresh reports so far
	prev        float64 // previous fresh lead, µs
	dev         float64 // EWMA of |lead change not explained by our shift|, µs
	target      float64 // µs
	shift       float64 // µs of schedule shift still to apply
	applied     float64 // µs applied since the previous fresh report
	staleBefore uint32  // reports on inputs with a lower seq are stale
	boost       float64 // µs added to the margin after missed ticks
	misses      int     // consecutive reports that look like missed ticks
	drain       bool    // the pending shift drains a queue: apply it at once
}

const (
	jitGain      = 0.5   // share of the error corrected per fresh report
	jitAlpha     = 0.1   // EWMA factor of the jitter estimate
	jitMinTarget = 2000  // µs
	jitMaxTarget = 15000 // µs
	jitMaxSample = 10000 // µs: cap of one jitter sample
	jitStaleMin  = 1000  // µs: smaller shifts do not make reports stale
	jitMissBoost = 500   // µs added to the margin per missed tick
	jitMaxBoost  = 2000  // µs
)

// observe takes the lead (µs) reported by a snapshot about input seq.
func (j *jit) observe(leadUs int32, seq uint32, tickRate uint32) {
	if seq < j.staleBefore {
		return
	}
	lead := float64(leadUs)
	tick := 1e6 / float64(max(tickRate, 1))
	// A lead over a whole tick means an input waited behind another: two
	// arrived within one tick (after a late send) and, at one input per
	// tick, that queue would never drain. Send the next input a whole
	// excess later, at once: one tick gets no new input and the queue is
	// gone.
	if j.n > 3 && lead > tick {
		j.misses = 0
		j.shift, j.drain = lead-j.target, true
		return
	}
	// Once settled, a lead of more than half a tick is an input that just
	// missed its tick and waited for the next: jitter, not a phase error.
	// Widen the margin instead of moving the schedule a tick's worth; only
	// repeated misses mean the phase really moved.
	if j.n > 3 && lead > tick/2 {
		if j.misses++; j.misses < 3 {
			j.boost = min(j.boost+jitMissBoost, jitMaxBoost)
			return
		}
	}
	j.misses = 0
	j.boost *= 0.98
	// The first reports are the schedule's big initial move, not jitter;
	// later samples are clipped so that one outlier cannot inflate the
	// margin for long.
	if j.n >= 2 {
		sample := min(math.Abs(lead-j.prev+j.applied), jitMaxSample)
		j.dev += jitAlpha * (sample - j.dev)
	}
	j.n++
	j.prev, j.applied = lead, 0
	j.target = min(max(jitMinTarget, 1000+4*j.dev)+j.boost, jitMaxTarget)
	if tickRate > 0 {
		j.target = min(j.target, 0.5e6/float64(tickRate))
	}
	// Positive: inputs arrive too early, send later. The first report
	// moves the schedule all the way at once: a new match's tick phase has
	// nothing to do with the last one's.
	gain := jitGain
	if j.n == 1 {
		gain = 1
	}
	j.shift = gain * (lead - j.target)
}

// take returns the shift to apply to the send of input seq: at most half a
// tick, so that the schedule moves smoothly (a whole one to drain a queue).
func (j *jit) take(dt time.Duration, seq uint32) time.Duration {
	lim := float64(dt/time.Microsecond) / 2
	if j.drain {
		lim, j.drain = 2*lim, false
	}
	s := min(max(j.shift, -lim), lim)
	j.shift -= s
	j.applied += s
	if math.Abs(s) >= jitStaleMin {
		j.staleBefore = seq
	}
	return time.Duration(s) * time.Microsecond
}
