package client

import (
	"math"
	"slices"
	"time"
)

// Adaptive interpolation: other entities are drawn at a render time in
// server ticks (tick + fraction) that runs behind the server's estimated
// present by a delay adapted to the arrival jitter of the snapshots. The
// browser uses the same rule and constants (web/static/js/mirror.js; web's
// TestJSMirrorsNetcode checks them).
//
// Each snapshot's arrival offset is its receive time minus its tick's time
// on the server's tick clock (tick × interval, from the first snapshot of
// the mirror): a constant plus the network's jitter. Over the last
// InterpWindow snapshots, the smallest offset marks the fastest path: the
// server's present is estimated from it, and the jitter of an arrival is
// its offset above that smallest one. The target delay is
//
//	InterpIntervals snapshot intervals + InterpJitterMul × jitter p95
//
// at most InterpMaxDelay and at least 1 interval (which wins at tick
// rates below 2 Hz). The render clock does not jump
// to its target: it runs up to InterpMaxSkew faster or slower than the
// wall clock (InterpGain per tick of error) until it meets it, so entities
// never visibly jump. Only an error beyond InterpSnapTicks (the first
// snapshot, an outage, a stalled process) moves it at once.
const (
	InterpIntervals = 2
	InterpJitterMul = 1.25
	InterpWindow    = 64
	InterpMaxSkew   = 0.05
	InterpGain      = 0.1
	InterpSnapTicks = 15
	InterpMaxDelay  = 500 * time.Millisecond
)

// interpClock estimates the server's tick clock from the snapshots'
// arrivals and runs the render clock behind it. It allocates nothing.
type interpClock struct {
	dt       float64 // the snapshot interval (a tick) in ns
	base     time.Time
	baseTick uint32
	offs     [InterpWindow]float64 // arrival offsets in ns, a ring
	sorted   [InterpWindow]float64 // scratch
	n, next  int
	minOff   float64 // ns, the window's smallest offset
	jitter   float64 // ns, the window's jitter p95
	delay    float64 // ticks, the target delay
	newest   uint32  // the newest tick received
	rt       float64 // the render time in ticks
	at       time.Time
	rate     float64
	running  bool
	// primed: a frame found a pair of snapshots around its render time.
	// Until then the buffer is filling (a new view: the first snapshots
	// of a match or of a resumed seat), and frames do not count as empty.
	primed bool
}

func newInterpClock(tickRate uint32) interpClock {
	return interpClock{dt: float64(time.Second) / float64(max(tickRate, 1)), rate: 1}
}

// arrive records the snapshot of tick received at at.
func (k *interpClock) arrive(tick uint32, at time.Time) {
	if k.n == 0 {
		k.base, k.baseTick = at, tick
	} else if tick <= k.newest {
		return // no news of the server's clock
	}
	k.newest = tick
	off := float64(at.Sub(k.base)) - float64(int64(tick)-int64(k.baseTick))*k.dt
	k.offs[k.next] = off
	k.next = (k.next + 1) % InterpWindow
	k.n = min(k.n+1, InterpWindow)
	s := k.sorted[:k.n]
	copy(s, k.offs[:k.n])
	slices.Sort(s)
	k.minOff = s[0]
	k.jitter = s[int(math.Ceil(0.95*float64(k.n)))-1] - k.minOff
	d := (InterpIntervals*k.dt + InterpJitterMul*k.jitter) / k.dt
	k.delay = max(min(d, float64(InterpMaxDelay)/k.dt), 1) // 1 interval wins below 2 Hz
}

// target returns where the render clock should be at now, in ticks.
func (k *interpClock) target(now time.Time) float64 {
	est := float64(k.baseTick) + (float64(now.Sub(k.base))-k.minOff)/k.dt
	return est - k.delay
}

// advance moves the render clock to now and returns the render time in
// ticks; ok is false before the first snapshot.
func (k *interpClock) advance(now time.Time) (rt float64, ok bool) {
	if k.n == 0 {
		return 0, false
	}
	tgt := k.target(now)
	if !k.running {
		k.rt, k.at, k.rate, k.running = tgt, now, 1, true
		return k.rt, true
	}
	if el := now.Sub(k.at); el > 0 {
		k.rt += float64(el) / k.dt * k.rate
		k.at = now
	}
	e := tgt - k.rt
	if math.Abs(e) > InterpSnapTicks {
		k.rt, k.rate = tgt, 1
		return k.rt, true
	}
	k.rate = 1 + min(max(InterpGain*e, -InterpMaxSkew), InterpMaxSkew)
	return k.rt, true
}
