package match

import (
	"skirmish/game"
	"skirmish/netcode"
)

type ctlKind uint8

const (
	ctlJoin ctlKind = iota
	ctlLeave
	ctlAway
	ctlResume
	ctlStop
	// ctlFreeze: stop ticking and reply with a checkpoint; then wait for
	// ctlMoveAway (the match lives on elsewhere) or ctlThaw.
	ctlFreeze
	ctlMoveAway
	ctlThaw
	// ctlSpectate: p watches the match on out (or follows someone else);
	// ctlUnspectate: p stops watching.
	ctlSpectate
	ctlUnspectate
)

type ctlMsg struct {
	kind   ctlKind
	p      *Player
	url    string        // ctlMoveAway: the new host's base URL
	out    *Outbox       // ctlSpectate: the spectator's connection
	follow uint32        // ctlSpectate: the avatar entity to follow (0: the world)
	reply  chan<- []byte // ctlFreeze: the checkpoint (nil if the match ended)
}

// post hands c to the match goroutine; it never blocks and reports false
// if the control queue is full.
func (m *Match) post(c ctlMsg) bool {
	select {
	case m.ctl <- c:
		return true
	default:
		return false
	}
}

// deliver hands c to the match without blocking the caller: if the control
// queue is full, a goroutine waits for room. Once the match has ended c is
// moot (the lobby learns of the end from the match's event) and dropped.
func (m *Match) deliver(c ctlMsg) {
	if !m.post(c) {
		go func() {
			select {
			case m.ctl <- c:
			case <-m.done:
			}
		}()
	}
}

// Stop asks the match to end now with a shutdown result. It never blocks;
// wait on Done.
func (m *Match) Stop() { m.deliver(ctlMsg{kind: ctlStop}) }

// control handles one control message; it reports true for a stop.
func (m *Match) control(c ctlMsg) bool {
	switch c.kind {
	case ctlJoin:
		if err := m.safely(func() { m.join(c.p) }); err != nil {
			m.end(netcode.OutcomeError)
		}
	case ctlLeave:
		if err := m.safely(func() { m.leave(c.p) }); err != nil {
			m.end(netcode.OutcomeError)
		}
	case ctlAway:
		m.away(c.p)
	case ctlResume:
		m.resume(c.p)
	case ctlSpectate:
		m.spectate(c.p, c.out, c.follow)
	case ctlUnspectate:
		m.unspectate(c.p)
	case ctlStop:
		return true
	case ctlMoveAway, ctlThaw:
		// Not frozen: nothing to move or thaw.
	}
	return false
}

// join seats p in a free seat and sends it the matched message. Every input
// seq p sent before is void in the new seat.
func (m *Match) join(p *Player) {
	i := -1
	for j := range m.seats {
		if q := m.seats[j].p; q != nil && q.ID == p.ID {
			// The lobby sends a player to one match once; a second seat for
			// the same player would be a bug, not a backfill.
			m.log.Error("player already seated", "player", p.ID, "seat", j)
			return
		}
	}
	for j := range m.seats {
		if m.seats[j].p == nil {
			i = j
			break
		}
	}
	if i < 0 {
		// The lobby counts seats, so this does not happen; requeue anyway.
		m.notify(lobbyEvent{kind: evSeatRefused, m: m, p: p})
		return
	}
	s := &m.seats[i]
	rejects, view, events, queue := s.rejects[:0], s.view, s.events, s.queue
	view.Reset() // a full view first
	view.Reserve(m.world.Slots() + viewSlack)
	*s = seat{p: p, out: p.Out(), rejects: rejects, view: view, events: events, queue: queue, gp: game.Player{Seat: i, ID: p.ID, Name: p.Name}}
	s.seqs.Void(p.maxSeq.Load())
	m.world.Players[i] = &s.gp
	m.rec.join(i, p.ID, p.Name)
	m.rules.Join(m.world, &s.gp)
	p.match.Store(m)
	if p.Out() == nil {
		// Seated by the fleet's queue before they reach this node: the
		// seat waits for them as for a player away.
		m.away(p)
		m.stepped(StepSeated, p)
		return
	}
	m.sendMatched(s)
	m.hooks.Seated(p, m.ID, i)
	m.log.Debug("player seated", "player", p.ID, "seat", i, "entity", s.gp.Entity)
	m.stepped(StepSeated, p)
}

func (m *Match) stepped(st Step, p *Player) {
	if m.step != nil {
		m.step(st, p)
	}
}

// away holds p's seat after their connection dropped: the avatar idles,
// the others see the player as away, and the seat is freed after
// Config.SeatGrace unless p resumes.
func (m *Match) away(p *Player) {
	s := m.seatOf(p)
	if s == nil || s.away {
		return
	}
	s.away, s.gp.Away, s.awayTicks = true, true, 0
	m.rec.seat(RecAway, s.gp.Seat)
	m.hooks.Away(p, m.ID, s.gp.Seat, s.seqs.Ack, m.cfg.Clock.Now().Add(m.cfg.SeatGrace))
	m.log.Debug("player away", "player", p.ID, "ack", s.seqs.Ack)
}

// resume rebinds p, back on a new connection, to their seat: matched
// again (with the last applied seq), then a full view. If the seat is
// gone, p learns it and is in the lobby.
func (m *Match) resume(p *Player) {
	s := m.seatOf(p)
	if s == nil {
		if out := p.Out(); out != nil {
			out.PostControl(netcode.AppendError(nil, netcode.ErrSeatExpired))
		}
		return
	}
	s.away, s.gp.Away, s.awayTicks, s.congested = false, false, 0, 0
	m.rec.seat(RecBack, s.gp.Seat)
	s.out = p.Out()
	s.view.Reset()
	m.sendMatched(s)
	m.hooks.Seated(p, m.ID, s.gp.Seat)
	m.log.Debug("player resumed", "player", p.ID, "ack", s.seqs.Ack)
}

// leave frees p's seat, if p is seated here.
func (m *Match) leave(p *Player) {
	for i := range m.seats {
		s := &m.seats[i]
		if s.p != p {
			continue
		}
		m.rec.seat(RecLeave, i)
		m.rules.Leave(m.world, &s.gp)
		m.world.Players[i] = nil
		s.p = nil
		p.match.CompareAndSwap(m, nil)
		why := UnseatLeft
		if s.away {
			why = UnseatExpired
		}
		m.hooks.Unseated(p, m.ID, why)
		m.notify(lobbyEvent{kind: evSeatFreed, m: m, p: p})
		m.log.Debug("player left", "player", p.ID, "seat", i)
		return
	}
}
