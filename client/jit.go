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
// Jitter is measured on consecutive leads with the client's own shifts
// taken out: while the schedule converges, the lead changes by exactly the
// shift applied, which is not jitter.
type jit struct {
	prev    float64 // previous lead, µs
	n       int
	dev     float64 // EWMA of |lead change not explained by our shift|, µs
	target  float64 // µs
	shift   float64 // µs of schedule shift still to apply
	applied float64 // µs applied since the last observe
}

const (
	jitGain      = 0.3   // share of the error corrected per snapshot
	jitAlpha     = 0.1   // EWMA factor of the jitter estimate
	jitMinTarget = 1000  // µs
	jitMaxTarget = 15000 // µs
)

// observe takes the lead (µs) reported by a snapshot.
func (j *jit) observe(leadUs int32, tickRate uint32) {
	lead := float64(leadUs)
	if j.n > 0 {
		j.dev += jitAlpha * (math.Abs(lead-j.prev+j.applied) - j.dev)
	}
	j.n++
	j.prev, j.applied = lead, 0
	j.target = min(max(jitMinTarget, 500+3*j.dev), jitMaxTarget)
	if tickRate > 0 {
		j.target = min(j.target, 0.5e6/float64(tickRate))
	}
	// Positive: inputs arrive too early, send later.
	j.shift = jitGain * (lead - j.target)
}

// take returns the part of the shift to apply to the next send, at most a
// quarter tick, so that the schedule moves smoothly.
func (j *jit) take(dt time.Duration) time.Duration {
	lim := float64(dt/time.Microsecond) / 4
	s := min(max(j.shift, -lim), lim)
	j.shift -= s
	j.applied += s
	return time.Duration(s) * time.Microsecond
}
