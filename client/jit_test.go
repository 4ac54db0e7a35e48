package client

import (
	"math/rand/v2"
	"testing"
	"time"
)

// simulate runs the jit controller against a server that ticks every dt
// and applies an input at the first tick after it arrives; arrivals get a
// random delay in [0, jitter). It returns the mean lead once settled.
func simulate(t *testing.T, jitter time.Duration, phase time.Duration) (mean, lateShare float64) {
	t.Helper()
	const rate = 30
	dt := time.Second / rate
	rng := rand.New(rand.NewPCG(1, 2))
	var j jit
	// Input i is sent at send[i]; its report reaches the client after the
	// tick that applies it, before input i+2 is scheduled (loopback).
	send := []time.Duration{phase, phase + dt}
	var leads []float64
	late := 0
	for i := range 600 {
		arrive := send[i] + time.Duration(rng.Int64N(int64(jitter)+1))
		tick := (arrive/dt + 1) * dt // applied at the next tick start
		lead := tick - arrive
		j.observe(int32(lead/time.Microsecond), uint32(i+1), rate)
		if i >= 300 {
			leads = append(leads, float64(lead/time.Microsecond))
			if lead > dt/2 {
				late++
			}
		}
		send = append(send, send[i+1]+dt+j.take(dt, uint32(i+3)))
	}
	sum := 0.0
	for _, l := range leads {
		sum += l
	}
	return sum / float64(len(leads)), float64(late) / float64(len(leads))
}

// After a send that came late (a stalled timer), two inputs wait in the
// server's queue; the controller must drain it within a few ticks, not
// leave every later input waiting a tick.
func TestJitDrainsABacklog(t *testing.T) {
	const rate = 30
	dt := time.Second / rate
	var j jit
	for i := range 10 { // settled at a 2 ms lead
		j.observe(2000, uint32(i+1), rate)
		j.take(dt, uint32(i+3))
	}
	// Input 11 waited behind input 10: lead over a tick.
	j.observe(int32((dt+2*time.Millisecond)/time.Microsecond), 11, rate)
	if s := j.take(dt, 13); s < dt-time.Millisecond {
		t.Errorf("shift %v after a backlog, want about a tick later", s)
	}
}

func TestJitSettlesNearTheMargin(t *testing.T) {
	for _, tc := range []struct {
		jitter  time.Duration
		maxLead float64 // µs
	}{
		{200 * time.Microsecond, 3000},
		{2 * time.Millisecond, 8000},
	} {
		for _, phase := range []time.Duration{time.Millisecond, 17 * time.Millisecond, 32 * time.Millisecond} {
			mean, late := simulate(t, tc.jitter, phase)
			if mean > tc.maxLead {
				t.Errorf("jitter %v phase %v: mean lead %.0f µs, want ≤ %.0f", tc.jitter, phase, mean, tc.maxLead)
			}
			if late > 0.02 {
				t.Errorf("jitter %v phase %v: %.1f%% of inputs missed their tick", tc.jitter, phase, 100*late)
			}
		}
	}
}
