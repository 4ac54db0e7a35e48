package client

import (
	"math"
	"time"
)

// jit keeps inputs arriving just in time. Every snapshot tells how long
// the input it applied waited at the server before its tick (the lead).
// A long lead means inputs arrive too early and wait; a lead near zero
// means the next bit of jitter makes one miss its tick. jit slides the
// send schedule so that the lead settles at a target margin that grows
// with the observed jitter.
type jit struct {
	avg, dev float64 // EWMA of the lead and of its deviation, µs
	n        int
	target   float64 // µs
	shift    float64 // µs of schedule shift still to apply
}

const (
	jitGain      = 0.3   // share of the error corrected per snapshot
	jitMinTarget = 1000  // µs
	jitMaxTarget = 15000 // µs
)

// observe takes the lead (µs) reported by a snapshot.
func (j *jit) observe(leadUs int32, tickRate uint32) {
	lead := float64(leadUs)
	if j.n == 0 {
		j.avg = lead
	}
	j.n++
	d := math.Abs(lead - j.avg)
	j.avg += 0.1 * (lead - j.avg)
	j.dev += 0.1 * (d - j.dev)
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
	return time.Duration(s) * time.Microsecond
}
