package match

import "skirmish/netcode"

// viewSlack is the room each view keeps for world slots beyond the world's
// size when the player joins (a view grows, once, if the world outgrows
// it).
const viewSlack = 16

// sendMatched tells s's player where they are: the match, their avatar and
// the last input applied. Their next snapshot is a full view.
func (m *Match) sendMatched(s *seat) {
	msg := netcode.Matched{
		MatchID:  m.ID,
		Mode:     m.spec.Name,
		Entity:   s.gp.Entity,
		TickRate: uint32(m.cfg.TickRate),
		WorldW:   m.spec.Width,
		WorldH:   m.spec.Height,
		Schema:   m.spec.Schema,
		Tick:     uint32(m.world.Tick),
		EndTick:  m.endTick,
		AckSeq:   s.seqs.Ack,
		Info:     m.spec.Info(m.cfg.TickRate),
	}
	msg.Info.InterestRadius = m.interest.Radius // as this match applies it
	if out := s.p.Out(); !out.PostControl(netcode.AppendMatched(nil, &msg)) {
		out.Kick(netcode.CloseCongested)
	}
}

// send gives every seated player the snapshot of their view: the grid
// finds the entities near their avatar, their View diffs them against what
// they were last sent. A congested player's view is skipped before it is
// computed, so their next diff is still against what they really got;
// their rejects wait for the next snapshot. A player congested for
// Config.CongestedTimeout is disconnected.
func (m *Match) send() {
	w := m.world
	m.grid.Reset()
	for i := range w.Entities {
		m.grid.Add(w.Entities[i].X, w.Entities[i].Y)
	}
	m.grid.Finish()
	m.scores = m.scores[:0]
	for _, p := range w.Players { // by seat; an empty seat is {0, 0}
		var sc netcode.Score
		if p != nil {
			sc = netcode.Score{Entity: p.Entity, Score: p.Score, Away: p.Away, Name: p.Name}
		}
		m.scores = append(m.scores, sc)
	}
	m.evSlots = m.evSlots[:0]
	for _, ev := range w.Events {
		m.evSlots = append(m.evSlots, [2]int32{m.slotOf(ev.A), m.slotOf(ev.B)})
	}
	frames, bytes := 0, 0
	for i := range m.seats {
		s := &m.seats[i]
		if s.p == nil || s.away {
			continue
		}
		out := s.p.Out()
		if out != s.out {
			continue // a new connection, not resumed yet
		}
		if !out.Reserve() {
			m.obs.ViewSkipped()
			if s.congested++; s.congested == m.kickAt {
				m.log.Info("player congested, disconnecting", "player", s.p.ID)
				out.Kick(netcode.CloseCongested)
			}
			continue
		}
		s.congested = 0
		// The snapshot is encoded after the WebSocket header's room, so
		// that the Outbox frames it in place and usually writes it at once.
		m.sendBuf = m.view(s, m.sendBuf[:netcode.WSHeadroom])
		out.SendSnapshot(m.sendBuf)
		frames++
		bytes += len(m.sendBuf) - netcode.WSHeadroom
		s.rejects = s.rejects[:0]
	}
	m.obs.FramesSent(frames, bytes)
}

// view computes s's view of this tick into buf.
func (m *Match) view(s *seat, buf []byte) []byte {
	w := m.world
	v := s.view
	v.Begin(uint32(w.Tick))
	self := w.Get(s.gp.Entity)
	switch {
	case m.interest.FullSnapshots:
		for i := range w.Entities {
			e := &w.Entities[i]
			if !e.Removed() {
				v.Consider(&e.Entity, e.Slot, 0, e.ID == s.gp.Entity)
			}
		}
	case self != nil:
		m.cells = m.grid.Cells(m.cells[:0], self.X, self.Y, m.interest.QueryRadius())
		for _, c := range m.cells {
			for _, i := range m.grid.Items(c) {
				e := &w.Entities[i]
				if e.Removed() {
					continue
				}
				dx, dy := e.X-self.X, e.Y-self.Y
				v.Consider(&e.Entity, e.Slot, dx*dx+dy*dy, e == self)
			}
		}
	}
	v.Finish()
	s.events = s.events[:0]
	for j, ev := range w.Events {
		sl := m.evSlots[j]
		if ev.A == s.gp.Entity || ev.B == s.gp.Entity || v.Knows(sl[0], ev.A) || v.Knows(sl[1], ev.B) {
			s.events = append(s.events, ev)
		}
	}
	h := netcode.SnapshotHeader{
		Tick:    uint32(w.Tick),
		AckSeq:  s.seqs.Ack,
		Rejects: s.rejects,
		Events:  s.events,
		Scores:  v.DiffScores(m.scores),
		LeadUs:  s.lead,
		HasLead: s.hasLead,
	}
	return v.AppendSnapshot(buf, &h)
}

// slotOf returns the world slot of entity id, or -1.
func (m *Match) slotOf(id uint32) int32 {
	if e := m.world.Lookup(id); e != nil {
		return e.Slot
	}
	return -1
}
