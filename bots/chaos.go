package main

import (
	"context"
	"math/rand/v2"
	"time"

	"skirmish/client"
)

// Chaos: connections of random bots cut at a steady rate during the run,
// as a network failure would, to test reconnects and resumes.

// chaosInterval is the time between two connection cuts of a run of n bots
// at chaos cuts per bot per minute; 0: no cuts.
func chaosInterval(chaos float64, n int) time.Duration {
	perMinute := chaos * float64(n)
	if perMinute <= 0 {
		return 0
	}
	return max(time.Duration(float64(time.Minute)/perMinute), time.Millisecond)
}

// chaos cuts a random bot's connection every chaosInterval until ctx ends.
// The first cut comes one interval after the start, so a run of d cuts
// about d/interval connections whatever its length.
func (r *runner) chaos(ctx context.Context, rng *rand.Rand) {
	every := chaosInterval(r.cfg.Chaos, r.cfg.N)
	if every == 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ctx.Err() != nil {
				return
			}
			if c, playing := r.victim(rng); c != nil {
				c.Drop()
				r.chaosCuts.Add(1)
				if playing {
					r.chaosCutsPlaying.Add(1)
				}
			}
		}
	}
}

// victim picks a random bot to cut: one that is playing (its seat is held
// while it reconnects, so the cut tests a resume), or failing that one that
// is connected; nil if none is. playing tells which.
func (r *runner) victim(rng *rand.Rand) (c *client.Client, playing bool) {
	var fallback *client.Client
	off := rng.IntN(len(r.bots))
	for i := range r.bots {
		c := r.bots[(off+i)%len(r.bots)].client.Load()
		if c == nil {
			continue
		}
		switch c.Phase() {
		case client.PhasePlaying:
			return c, true
		case client.PhaseLobby, client.PhaseQueued:
			if fallback == nil {
				fallback = c
			}
		}
	}
	return fallback, false
}
