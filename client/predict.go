package client

import (
	"math"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// prediction is the own avatar as predicted ahead of the server: the
// server's movement rule applied to the last snapshot's avatar and then to
// every input not acknowledged yet. The Client's mu guards it.
type prediction struct {
	predX, predY float32
	predOK       bool           // predX, predY hold a prediction
	self         netcode.Entity // scratch: the own avatar (a local would escape to the heap)
	unmeasured   uint32         // inputs up to this seq are left out of MaxPredictionError
	srvX, srvY   float32        // the own avatar as last received
	srvOK        bool           // srvX, srvY hold a position of this seat
	srvStill     bool           // the own avatar was immobile as last received
}

// onSnapshot applies a snapshot: the mirror, the acks, the just-in-time
// report, and the reconciliation of the prediction.
func (c *Client) onSnapshot(s *netcode.Snapshot) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.phase != PhasePlaying {
		return
	}
	c.stats.Snapshots++
	c.stats.Rejected += len(s.Rejects)
	for _, r := range s.Rejects {
		if r.Code == netcode.RejectMissing {
			c.stats.InputsLost++
		}
	}
	prevAck := c.ack
	if c.inputs.acked(s.AckSeq, now, c.opts.OnAck) {
		c.stats.AckNonMonotonic++
	}
	if err := c.world.apply(s, now); err != nil {
		c.stats.ProtocolErrors++
		return
	}
	c.jit.report(s.HasLead, s.LeadUs, s.AckSeq, c.seq, c.matched.TickRate)
	if s.HasLead {
		c.stats.LeadUs, c.stats.TargetLeadUs = s.LeadUs, int32(c.jit.target)
	}
	var ok bool
	c.self, ok = c.world.find(c.matched.Entity)
	if !ok {
		return
	}
	self := &c.self
	// A rejected input, or a jump (the server moved the avatar by itself:
	// a respawn), makes the prediction wrong on purpose: those are not
	// measured. A jump is a move farther than the inputs settled since the
	// last snapshot can take the avatar, whatever the mode.
	teleported := false
	for _, r := range s.Rejects {
		teleported = teleported || r.Seq == s.AckSeq
	}
	if c.srvOK {
		reach := float64(s.AckSeq-prevAck)*float64(c.matched.Info.Speed)/float64(max(c.matched.TickRate, 1))*1.002 +
			2/float64(c.matched.Schema.PosScale)
		teleported = teleported || s.AckSeq < prevAck ||
			math.Hypot(float64(self.X-c.srvX), float64(self.Y-c.srvY)) > reach
	}
	c.srvX, c.srvY, c.srvOK = self.X, self.Y, true
	// Inputs sent while the avatar was immobile were predicted so: the
	// snapshot that frees it leaves them out of the measure too.
	wasStill := c.srvStill
	c.srvStill = c.matched.Info.Immobile.Holds(self)
	if teleported || c.srvStill || wasStill {
		// Inputs sent until now were predicted from a state the server
		// has since changed by itself: don't hold them to the measure.
		c.unmeasured = c.seq
	}
	if si := c.hist.get(s.AckSeq); si != nil && s.AckSeq > c.unmeasured {
		d := math.Hypot(float64(si.x-self.X), float64(si.y-self.Y))
		c.stats.MaxPredictionError = max(c.stats.MaxPredictionError, d)
	}
	// Reconcile: drop acknowledged inputs, replay the rest on the server's
	// position.
	c.pending = netcode.Unacked(c.pending, s.AckSeq)
	x, y := self.X, self.Y
	for i := range c.pending {
		x, y = c.predict(self, x, y, &c.pending[i])
	}
	// The server stopping or freeing the avatar by itself (a death, a
	// revival: immobile or no more) is no more a misprediction than a
	// teleport: the inputs predicted ahead of it are undone or replayed
	// differently, which is no correction of the movement.
	if c.predOK && !teleported && c.srvStill == wasStill {
		corr := math.Hypot(float64(x-c.predX), float64(y-c.predY))
		c.stats.MaxCorrection = max(c.stats.MaxCorrection, corr)
		if corr > 1 {
			c.stats.CorrectionsOver1u++
		}
	}
	if !c.predOK {
		// The first snapshot of a match marks the server's tick phase: it
		// left just after a tick began. The first input goes FirstMargin
		// before the next tick (half a tick at high rates), clear of the
		// delays between that tick and this snapshot; jit refines it.
		dt := time.Second / time.Duration(max(c.matched.TickRate, 1))
		c.schedule(c.matchGen, dt, now.Add(max(dt-netcode.FirstMargin, dt/2)))
	}
	c.predX, c.predY, c.predOK = x, y, true
}

// predict applies in to the avatar at (x, y) with the server's movement
// rule (game.Move), as matched declares it: the speed, the world's bounds,
// the immobility rule and the aimed actions. c.mu is held.
func (c *Client) predict(self *netcode.Entity, x, y float32, in *netcode.Input) (float32, float32) {
	if c.matched.Info.Immobile.Holds(self) || !game.ValidDirection(in.MoveX, in.MoveY) {
		return x, y // immobile, or the server rejects it whole
	}
	for _, a := range c.matched.Info.Actions {
		if a.Aimed && in.Pressed(a.Bit) && !game.ValidAim(in.AimX, in.AimY) {
			return x, y // the server rejects it whole
		}
	}
	dt := 1 / float32(c.matched.TickRate)
	return game.Move(x, y, in.MoveX, in.MoveY, c.matched.Info.Speed, dt, c.matched.WorldW, c.matched.WorldH)
}
