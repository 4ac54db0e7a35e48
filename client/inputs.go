package client

import (
	"math"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// inputs is the input schedule of the client's current match: the control
// it samples once a tick, the seq counter (which never goes back within a
// session, netcode/seq.go), the inputs sent and not yet acknowledged, the
// history of every input sent lately (to resend those a resumed seat
// lacks), and the just-in-time controller that times the sends. The
// Client's mu guards it.
type inputs struct {
	ctl      Control
	seq      uint32            // the last seq sent
	ack      uint32            // the last ackSeq received
	pending  []netcode.Input   // sent, not acknowledged
	hist     history           // the inputs sent in the last netcode.HistoryWindow at least
	info     *netcode.ModeInfo // the mode's actions (the Client's matched.Info)
	fireBit  int               // bit of the action named "fire" (-1: none)
	lastUse  [8]uint32         // by action bit: seq of the last input that pressed it
	prevUse  [8]uint32         // by action bit: lastUse before the last input pressed it (see unpress)
	jit      jit
	matchGen int // generation of the schedule: a new one ends the last
}

// seat starts the inputs of a new seat (matched m, whose Info declares
// the actions): nothing pending, and a new schedule. Seqs never go back
// within a session: the server voids every seq up to matched's ackSeq, so
// the next input is above both it and the last one sent.
func (in *inputs) seat(m *netcode.Matched) {
	in.info = &m.Info
	in.fireBit = -1
	if a, ok := m.Info.Action("fire"); ok {
		in.fireBit = int(a.Bit)
	}
	in.jit = jit{}
	in.pending = in.pending[:0]
	in.seq = netcode.SeatSeq(in.seq, m.AckSeq)
	in.ack = m.AckSeq
	in.lastUse, in.prevUse = [8]uint32{}, [8]uint32{}
	in.ctl.AimAt = 0          // an entity of the last match is never aimed at
	in.hist.reset(m.TickRate) // no input of another match is ever sent again
	in.matchGen++
}

// resume restarts the inputs of a seat taken back at ackSeq (after a
// reconnect or a move): the inputs the server settled are dropped, and
// every input kept with a seq above ackSeq is pending again, to be sent
// again with its seq. That may be more than the pending ones: a seat
// restored from a checkpoint goes back to the checkpoint's ackSeq. The
// schedule restarts from the first snapshot.
func (in *inputs) resume(ackSeq uint32) {
	in.ack = ackSeq
	// Pending inputs that left the history (far behind: none in practice)
	// come first, then the history's.
	lo := netcode.RingFirst(0, in.seq, uint32(len(in.hist.ring))) // the history's first
	k := 0
	for _, p := range netcode.Unacked(in.pending, ackSeq) {
		if p.Seq < lo {
			in.pending[k] = p
			k++
		}
	}
	in.pending = in.hist.after(in.pending[:k], ackSeq, in.seq)
	in.matchGen++
	in.jit = jit{}
}

// next returns the next input: the control as it is now, with the next
// seq, pressing the declared actions that the control wants and whose
// cooldown allows (which it records as used).
func (in *inputs) next() netcode.Input {
	in.seq++
	ni := netcode.Input{Seq: in.seq, MoveX: in.ctl.MoveX, MoveY: in.ctl.MoveY, AimX: in.ctl.AimX, AimY: in.ctl.AimY}
	want := in.ctl.Buttons
	if in.ctl.Fire && in.fireBit >= 0 {
		want |= 1 << in.fireBit
	}
	if in.info == nil {
		return ni
	}
	for _, a := range in.info.Actions {
		if want&(1<<a.Bit) == 0 {
			continue
		}
		if last := in.lastUse[a.Bit]; last == 0 || in.seq-last >= a.CooldownTicks {
			ni.Buttons |= 1 << a.Bit
			in.prevUse[a.Bit], in.lastUse[a.Bit] = last, in.seq
		}
	}
	return ni
}

// unpress takes back the presses of the bits in mask from ni, the last
// input next returned: it does not press them, and their cooldowns are as
// if it never had, so that the next input may press them.
func (in *inputs) unpress(ni *netcode.Input, mask uint8) {
	for b := range uint8(8) {
		if mask&(1<<b) != 0 && ni.Pressed(b) && in.lastUse[b] == ni.Seq {
			in.lastUse[b] = in.prevUse[b]
		}
	}
	ni.Buttons &^= mask
}

// sent records input ni as sent at at, predicted to leave the avatar at
// (x, y): pending, and kept in the history.
func (in *inputs) sent(ni netcode.Input, at time.Time, x, y float32) {
	in.pending = append(in.pending, ni)
	in.hist.put(sentInput{in: ni, at: at, x: x, y: y})
}

// acked records the ackSeq of a snapshot received at now. onAck, if set,
// hears the time since each input it newly acknowledges was sent. It
// reports an ack that went backwards.
func (in *inputs) acked(ackSeq uint32, now time.Time, onAck func(time.Duration)) (backwards bool) {
	if ackSeq > in.ack && onAck != nil {
		for q := netcode.RingFirst(in.ack, ackSeq, uint32(len(in.hist.ring))); q <= ackSeq && q != 0; q++ {
			if si := in.hist.get(q); si != nil {
				onAck(now.Sub(si.at))
			}
		}
	}
	backwards = ackSeq < in.ack
	in.ack = ackSeq
	return backwards
}

// schedule starts the input schedule of the match of generation gen: one
// input every dt, the first at first, on the match's scheduler (see
// sched.go). Its schedule slides so that inputs reach the server a small
// margin before the tick that applies them (see jit). c.mu is held.
func (c *Client) schedule(gen int, dt time.Duration, first time.Time) {
	schedulerFor(c.matched.MatchID).add(schedItem{at: monoNow() + int64(time.Until(first)), c: c, gen: gen, dt: dt})
}

// sendScheduled sends the input due at it.at, on the scheduler's
// goroutine, and returns when the next one is due; ok is false when the
// match of it.gen is over for the client (or the client is closed): its
// schedule ends. buf is the scheduler's scratch space.
func (c *Client) sendScheduled(it *schedItem, buf []byte) (next int64, ok bool, _ []byte) {
	c.mu.Lock()
	if c.matchGen != it.gen || c.phase != PhasePlaying {
		c.mu.Unlock()
		return 0, false, buf
	}
	what, next := c.jit.fire(it.at, monoNow(), it.dt, c.seq+1)
	if what != fireSend {
		if what == fireDrain {
			c.stats.Drains++
		} else {
			c.stats.LateSends++
		}
		c.mu.Unlock()
		return next, true, buf
	}
	l := c.cur.Load()
	now := time.Now()
	in := c.inputs.next()
	c.self = c.world.get(c.matched.Entity)
	x, y := c.predX, c.predY
	c.predX, c.predY = c.predict(&c.self, x, y, &in)
	if c.aim(&in, now) {
		c.predX, c.predY = c.predict(&c.self, x, y, &in) // as sent
	}
	c.inputs.sent(in, now, c.predX, c.predY)
	c.stats.InputsSent++
	buf = netcode.AppendInput(buf[:0], &in)
	if l != nil {
		c.stats.BytesUp += int64(len(buf))
	}
	c.mu.Unlock()
	if l != nil {
		c.out.push(frame{ws: l.ws, b: buf})
	}
	return next, true, buf
}

// aim gives input in, sent at now, its view time if it presses an aimed
// action: the render time others are drawn at now. With Control.AimAt, it
// aims from the predicted avatar (after in's move: the server moves, then
// acts) at that entity as drawn then, and counts the aimed presses of a
// living avatar whose ray passes within the target's radius
// (Stats.AimedShots). When the target cannot be aimed at (it is not drawn
// at the render time, the direction is degenerate, or it is dead in the
// newest snapshot: the mode's immobility rule holds for it), in presses
// none of its aimed actions (their cooldowns are given back) and carries
// no view time: no shot goes out that is not counted. It reports whether
// it took presses back. c.mu is held.
func (c *Client) aim(in *netcode.Input, now time.Time) (unpressed bool) {
	aimed := uint8(0)
	for _, a := range c.matched.Info.Actions {
		if a.Aimed && in.Pressed(a.Bit) {
			aimed |= 1 << a.Bit
		}
	}
	if aimed == 0 {
		return false
	}
	rt, ok := c.world.clock.advance(now)
	var d drawn
	if ok {
		_, _, _, d = c.world.pair(rt)
		in.ViewTick, in.ViewFrac = d.viewTime()
	}
	if c.ctl.AimAt == 0 {
		return false
	}
	var t netcode.Entity
	if ok {
		t, ok = c.world.at(c.ctl.AimAt, d.rt)
	}
	dx, dy := t.X-c.predX, t.Y-c.predY
	if !ok || !game.ValidAim(dx, dy) || (dx == 0 && dy == 0) || c.deadNow(c.ctl.AimAt) {
		c.inputs.unpress(in, aimed)
		in.ViewTick, in.ViewFrac = 0, 0
		return true
	}
	in.AimX, in.AimY = dx, dy
	// An avatar that is gone or cannot move (dead) fires nothing: no shot.
	if _, alive := c.world.find(c.matched.Entity); !alive || c.matched.Info.Immobile.Holds(&c.self) {
		return false
	}
	if rayHits(c.predX, c.predY, dx, dy, t.X, t.Y, c.radiusOf(&t)) {
		for b := range uint8(8) {
			if aimed&(1<<b) != 0 {
				c.stats.AimedShots[b]++
			}
		}
	}
	return false
}

// deadNow reports whether the entity id is dead in the newest snapshot
// (the mode's immobility rule holds for it): the server judges a shot
// against the living now. c.mu is held.
func (c *Client) deadNow(id uint32) bool {
	cur := c.world.cur()
	i := index(cur, id, -1)
	return i >= 0 && c.matched.Info.Immobile.Holds(&cur[i])
}

// radiusOf returns the radius of e: its kind's drawn size, or the
// avatars' radius for a kind without one. c.mu is held.
func (c *Client) radiusOf(e *netcode.Entity) float32 {
	if k := c.matched.Schema.Kinds; int(e.Kind) < len(k) && k[e.Kind].Size > 0 {
		return k[e.Kind].Size
	}
	return c.matched.Info.AvatarRadius
}

// rayHits reports whether the ray from (x, y) along (dx, dy) passes within
// r of (tx, ty), ahead of its origin (or with its origin within r).
func rayHits(x, y, dx, dy, tx, ty, r float32) bool {
	l := math.Hypot(float64(dx), float64(dy))
	if l == 0 {
		return false
	}
	ux, uy := float64(dx)/l, float64(dy)/l
	px, py := float64(tx-x), float64(ty-y)
	along := px*ux + py*uy
	if along < 0 {
		return px*px+py*py <= float64(r)*float64(r)
	}
	cross := px*uy - py*ux
	return math.Abs(cross) <= float64(r)
}
