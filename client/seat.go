package client

import (
	"time"

	"skirmish/netcode"
)

// onMatched handles a matched message: a new seat (the mode's spec, a new
// mirror, the inputs of the seat), or the seat taken back (resume).
func (c *Client) onMatched(m *netcode.Matched) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastMatch != "" && m.MatchID == c.lastMatch && m.Entity == c.matched.Entity {
		c.resume(m)
		return
	}
	c.lastMatch = ""
	c.lostAt = time.Time{}
	if c.link != nil {
		c.seatNode = c.link.key
	}
	if !c.queuedAt.IsZero() {
		if c.opts.OnQueued != nil {
			c.opts.OnQueued(time.Since(c.queuedAt))
		}
		c.queuedAt = time.Time{}
	}
	// Everything the client knows of the mode comes from matched: the
	// decoder's slices are reused, so they are copied.
	c.matched = *m
	c.matched.Schema.Kinds = append([]netcode.Kind(nil), m.Schema.Kinds...)
	c.matched.Schema.Fields = append([]netcode.Field(nil), m.Schema.Fields...)
	c.matched.Info = m.Info.Clone()
	c.seated = true
	c.fullTries = 0
	c.phase = PhasePlaying
	c.stats.Matches++
	c.world = newMirror(&c.matched.Schema, c.matched.TickRate)
	c.inputs.seat(&c.matched)
	c.unmeasured, c.predOK, c.srvOK, c.srvStill = c.seq, false, false, false
}

// resume takes the seat back after a reconnect or a move: the inputs the
// server settled are dropped; every input kept with a seq above the
// matched's ackSeq is sent again with its seq, in inputs frames, before any
// new input (the server applies each at most once). That may be more than
// the pending ones: a seat restored from a checkpoint goes back to the
// checkpoint's ackSeq. Prediction restarts from the full view that
// follows, with them pending again. c.mu is held.
func (c *Client) resume(m *netcode.Matched) {
	c.lastMatch = ""
	c.phase = PhasePlaying
	if c.link != nil {
		if c.seatNode != "" && c.link.key != c.seatNode {
			c.stats.Migrated++
			if c.opts.OnMigrated != nil && !c.lostAt.IsZero() {
				c.opts.OnMigrated(time.Since(c.lostAt), c.lostMoved)
			}
		}
		c.seatNode = c.link.key
	}
	c.lostAt = time.Time{}
	c.world = newMirror(&c.matched.Schema, c.matched.TickRate)
	c.inputs.resume(m.AckSeq)
	c.predOK, c.srvOK = false, false
	c.unmeasured = c.seq // predicted before the outage: not held to the measure
	c.reconnected(true)
	appendBatches(make([]byte, 0, 2048), c.pending, c.sendLocked)
}
