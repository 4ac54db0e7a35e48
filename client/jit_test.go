package client

import (
	"math/rand/v2"
	"testing"
	"time"
)

// jitSim runs the jit controller, through fire as the scheduler does,
// against a server that ticks every dt (at k·dt) and applies at most one
// input per tick, the oldest queued first, as the match does. An input
// reaches the server delay(i) after it leaves; it leaves at its due time
// plus late(i). The lead of the input applied at a tick reaches the client
// 1 ms after that tick. late is indexed by the send slot (from 1), sent or
// not.
type jitSim struct {
	dt    time.Duration
	delay func(i int) time.Duration
	late  func(i int) time.Duration
}

// jitResult is what a run saw: per input (by seq, from 1), the tick that
// applied it and when it left; the leads of the applied inputs.
type jitResult struct {
	sent    []time.Duration
	applied []int // tick index; -1: never applied within the run
	leads   []time.Duration
	skipped int // slots the client left empty (postponed or skipped sends)
}

// waited counts the inputs from seq lo on that waited at the server more
// than a whole tick (they missed the first tick after they arrived, or
// queued behind one that did): each costs its player a tick of latency.
func (r *jitResult) waited(s *jitSim, lo int) int {
	n := 0
	for i := lo; i < len(r.applied); i++ {
		if r.applied[i] < 0 {
			continue
		}
		arrive := r.sent[i] + s.delay(i)
		if time.Duration(r.applied[i])*s.dt-arrive > s.dt {
			n++
		}
	}
	return n
}

func (s *jitSim) run(t *testing.T, phase time.Duration, ticks int) *jitResult {
	t.Helper()
	const rate = 30
	var j jit
	r := &jitResult{}
	type report struct {
		at      time.Duration
		hasLead bool
		lead    time.Duration
		seq     uint32 // the ack
	}
	var reports []report
	var queue []int // inputs waiting at the server, oldest first
	type arrival struct {
		at time.Duration
		i  int
	}
	var inflight []arrival
	due := phase
	seq := uint32(0)
	ack := uint32(0) // the last seq the server applied
	slot := 0
	for k := 1; k <= ticks; k++ {
		tickAt := time.Duration(k) * s.dt
		// The client's sends due before this tick (reports first).
		for due < tickAt {
			for len(reports) > 0 && reports[0].at <= due {
				rp := reports[0]
				j.report(rp.hasLead, int32(rp.lead/time.Microsecond), rp.seq, seq, rate)
				reports = reports[1:]
			}
			slot++
			late := s.late(slot)
			now := due + late
			what, next := j.fire(int64(due), int64(now), s.dt, seq+1)
			if what != fireSend {
				r.skipped++
				due = time.Duration(next)
				continue
			}
			if time.Duration(next)-due > s.dt*3/2 {
				r.skipped++
			}
			seq++
			r.sent = append(r.sent, now)
			r.applied = append(r.applied, -1)
			inflight = append(inflight, arrival{at: now + s.delay(int(seq)-1), i: int(seq) - 1})
			due = time.Duration(next)
		}
		// Arrivals before the tick join the queue in order.
		rest := inflight[:0]
		for _, a := range inflight {
			if a.at < tickAt {
				queue = append(queue, a.i)
			} else {
				rest = append(rest, a)
			}
		}
		inflight = rest
		if len(queue) > 0 {
			i := queue[0]
			queue = queue[1:]
			r.applied[i] = k
			lead := tickAt - (r.sent[i] + s.delay(i))
			r.leads = append(r.leads, lead)
			ack = uint32(i + 1)
			reports = append(reports, report{at: tickAt + time.Millisecond, hasLead: true, lead: lead, seq: ack})
		} else {
			reports = append(reports, report{at: tickAt + time.Millisecond, seq: ack})
		}
	}
	return r
}

func TestJitSettlesNearTheMargin(t *testing.T) {
	dt := time.Second / 30
	for _, tc := range []struct {
		jitter  time.Duration
		maxLead time.Duration
	}{
		{200 * time.Microsecond, 3 * time.Millisecond},
		{2 * time.Millisecond, 8 * time.Millisecond},
	} {
		for _, phase := range []time.Duration{time.Millisecond, 17 * time.Millisecond, 32 * time.Millisecond} {
			rng := rand.New(rand.NewPCG(1, 2))
			jit := make([]time.Duration, 700)
			for i := range jit {
				jit[i] = time.Duration(rng.Int64N(int64(tc.jitter) + 1))
			}
			s := &jitSim{dt: dt, delay: func(i int) time.Duration { return jit[i%len(jit)] }, late: func(int) time.Duration { return 0 }}
			r := s.run(t, phase, 600)
			var sum time.Duration
			tail := r.leads[300:]
			for _, l := range tail {
				sum += l
			}
			if mean := sum / time.Duration(len(tail)); mean > tc.maxLead {
				t.Errorf("jitter %v phase %v: mean lead %v, want ≤ %v", tc.jitter, phase, mean, tc.maxLead)
			}
			if w := r.waited(s, 300); float64(w) > 0.02*float64(len(r.applied)-300) {
				t.Errorf("jitter %v phase %v: %d inputs of %d waited over a tick", tc.jitter, phase, w, len(r.applied)-300)
			}
		}
	}
}

// A stall of the server (or of the network) makes one input of a settled
// client arrive after its tick. Every later input then queues behind it and
// waits a whole tick, until the client skips a send. The snapshot of the
// tick it missed, which applied no input, tells the client before the next
// send: no input waits (the late one itself is applied at the first tick
// after it arrived).
func TestJitDrainsAfterAMissedTick(t *testing.T) {
	dt := time.Second / 30
	const stalled = 200
	s := &jitSim{dt: dt,
		delay: func(i int) time.Duration {
			if i == stalled {
				return 6 * time.Millisecond // past any margin the controller keeps
			}
			return 300 * time.Microsecond
		},
		late: func(int) time.Duration { return 0 },
	}
	r := s.run(t, 5*time.Millisecond, 400)
	if w := r.waited(s, 150); w > 0 {
		t.Errorf("%d inputs waited over a tick after one missed its tick, want none", w)
	}
	if r.applied[stalled] != r.applied[stalled-1]+2 {
		t.Errorf("the stalled input was applied at tick %d, the one before at %d: it did not miss its tick, the test proves nothing",
			r.applied[stalled], r.applied[stalled-1])
	}
}

// ackedLate counts the inputs from seq lo on applied more than a tick
// after they left: a late ack (sent too late for the tick they were meant
// for, or queued behind one that was).
func (r *jitResult) ackedLate(s *jitSim, lo int) int {
	n := 0
	for i := lo; i < len(r.applied); i++ {
		if r.applied[i] >= 0 && time.Duration(r.applied[i])*s.dt-r.sent[i] > s.dt {
			n++
		}
	}
	return n
}

// A send that leaves later than the lead it had (a timer stalled on a busy
// machine) cannot make its tick: it is not sent (it would only wait for the
// next tick at the server, and the next input behind it), and the next
// send goes on time.
func TestJitHoldsASendTooLateForItsTick(t *testing.T) {
	dt := time.Second / 30
	const stalled = 200
	s := &jitSim{dt: dt,
		delay: func(int) time.Duration { return 300 * time.Microsecond },
		late: func(slot int) time.Duration {
			if slot == stalled {
				return 12 * time.Millisecond
			}
			return 0
		},
	}
	r := s.run(t, 5*time.Millisecond, 400)
	if n := r.ackedLate(s, 150); n > 0 {
		t.Errorf("%d inputs applied over a tick after they left, after one send came 12 ms late; want none", n)
	}
	if r.skipped != 1 {
		t.Errorf("%d sends held, want 1 (the late one)", r.skipped)
	}
	// Each tick from the stall on got one input but the one the late send
	// missed.
	for i := stalled; i < stalled+5; i++ {
		if r.applied[i] != r.applied[i-1]+1 {
			t.Errorf("input %d applied at tick %d, input %d at %d: want consecutive ticks", i, r.applied[i-1], i+1, r.applied[i])
		}
	}
}

// The direct test of tooLate: late by more than the last lead holds the
// send; a little late does not.
func TestJitTooLate(t *testing.T) {
	dt := time.Second / 30
	var j jit
	for i := range 10 { // settled at a 3 ms lead
		j.observe(3000, uint32(i+1), 30)
		j.take(dt, uint32(i+3))
	}
	if what, next := j.fire(0, int64(time.Millisecond), dt, 20); what != fireSend || time.Duration(next) != dt {
		t.Errorf("1 ms late: %v, next %v, want a send (%v) and the next slot", what, time.Duration(next), fireSend)
	}
	if what, next := j.fire(int64(dt), int64(dt+5*time.Millisecond), dt, 21); what != fireLate || time.Duration(next) != 2*dt {
		t.Errorf("5 ms late: %v, next %v, want none (%v) and the next slot", what, time.Duration(next), fireLate)
	}
	// Only sends bring new leads: the next one goes, however late.
	if what, _ := j.fire(2*int64(dt), 2*int64(dt)+int64(5*time.Millisecond), dt, 21); what != fireSend {
		t.Errorf("the send after a held one: %v, want it sent (%v)", what, fireSend)
	}
	// A last lead of a few µs is a close call, not a measure: 0.6 ms late
	// goes.
	var close jit
	for i := range 10 {
		close.observe(25, uint32(i+1), 30)
	}
	if what, _ := close.fire(0, int64(600*time.Microsecond), dt, 11); what != fireSend {
		t.Errorf("0.6 ms late after a 25 µs lead: %v, want it sent", what)
	}
	var fresh jit
	if what, _ := fresh.fire(0, int64(20*time.Millisecond), dt, 1); what != fireSend {
		t.Errorf("before any lead was reported, a late send was held")
	}
}

// After a send that came late (a stalled timer), two inputs wait in the
// server's queue; the controller must drain it at once: the next send is
// put off by about a tick, not left to leave on time and queue too.
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
	what, next := j.fire(0, 0, dt, 13)
	if what != fireDrain {
		t.Errorf("the send due after a backlog: %v, want it postponed (%v)", what, fireDrain)
	}
	if d := time.Duration(next); d < dt-time.Millisecond || d > dt+time.Millisecond {
		t.Errorf("send postponed by %v after a backlog, want about a tick", d)
	}
	if what, _ := j.fire(next, next, dt, 13); what != fireSend {
		t.Errorf("the postponed send did not go out")
	}
}

// A lasting change of the delay (the phase moved) must not make the
// controller skip slots forever: after the first misses it settles again.
func TestJitFollowsAPhaseChange(t *testing.T) {
	dt := time.Second / 30
	s := &jitSim{dt: dt,
		delay: func(i int) time.Duration {
			if i >= 200 {
				return 9 * time.Millisecond
			}
			return 300 * time.Microsecond
		},
		late: func(int) time.Duration { return 0 },
	}
	r := s.run(t, 5*time.Millisecond, 500)
	if w := r.waited(s, 230); w > 0 {
		t.Errorf("%d inputs waited over a tick well after the delay grew by 9 ms", w)
	}
	before := r.skipped
	r2 := s.run(t, 5*time.Millisecond, 700)
	if r2.skipped != before {
		t.Errorf("slots skipped after settling: %d by tick 500, %d by 700", before, r2.skipped)
	}
}
