package match

import (
	"errors"
	"fmt"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// restoreMatch rebuilds a match from its checkpoint, to run on this node.
// Every seat is away until its player resumes here; each may catch up on
// the inputs its client resends. It returns the seated players.
func restoreMatch(cp *Checkpoint, mode game.Mode, cfg Config, events chan<- lobbyEvent) (*Match, []*Player, error) {
	spec := mode.Spec()
	rm, ok := mode.(game.Resumable)
	switch {
	case !ok:
		return nil, nil, fmt.Errorf("mode %s cannot resume matches", spec.Name)
	case cp.Mode != spec.Name || int(cp.TickRate) != cfg.TickRate:
		return nil, nil, fmt.Errorf("checkpoint of %s at %d Hz, not %s at %d Hz", cp.Mode, cp.TickRate, spec.Name, cfg.TickRate)
	case len(cp.Seats) != spec.MaxPlayers:
		return nil, nil, fmt.Errorf("checkpoint has %d seats, mode %d", len(cp.Seats), spec.MaxPlayers)
	}
	m := newMatch(cp.MatchID, cp.Serial, mode, cfg, 0, events)
	// Each client resends a backlog at once: room for a whole batch each.
	m.inbox, m.share = make(chan inputMsg, spec.MaxPlayers*netcode.ReplayQueue), netcode.ReplayQueue
	w, err := game.RestoreWorld(spec, cfg.TickRate, &cp.World)
	if err != nil {
		return nil, nil, err
	}
	m.world = w
	w.Rewind = cfg.RewindTicks()
	var rerr error
	if perr := m.safely(func() { m.rules, rerr = rm.ResumeRules(w, cp.Rules) }); perr != nil || rerr != nil || m.rules == nil {
		return nil, nil, fmt.Errorf("resume rules: %w", errors.Join(perr, rerr))
	}
	m.restored = true
	// The client resends what the checkpoint missed: up to two checkpoint
	// intervals of inputs, applied two per tick.
	catchUp := 2 * max(1, int(cfg.CheckpointInterval.Seconds()*float64(cfg.TickRate)))
	var players []*Player
	for i, st := range cp.Seats {
		if st.PlayerID == "" {
			continue
		}
		if w.Get(st.Entity) == nil {
			return nil, nil, fmt.Errorf("seat %d: no entity %d", i, st.Entity)
		}
		p := NewPlayer(st.PlayerID, st.Name, nil)
		p.Key = st.Key
		p.maxSeq.Store(st.Ack)
		p.match.Store(m)
		s := &m.seats[i]
		s.p, s.catchUp = p, catchUp
		s.seqs.Void(st.Ack)
		s.queue = make([]inputMsg, netcode.ReplayQueue)
		s.away, s.gp = true, game.Player{Seat: i, ID: st.PlayerID, Name: st.Name, Entity: st.Entity, Score: st.Score, Away: true}
		w.Players[i] = &s.gp
		s.view.Reserve(w.Slots() + viewSlack)
		players = append(players, p)
	}
	return m, players, nil
}

// rebind gives the restored seat of p to q, the same player as the lobby
// knows them already; only before the match runs.
func (m *Match) rebind(p, q *Player) {
	for i := range m.seats {
		if s := &m.seats[i]; s.p == p {
			s.p = q
			q.match.Store(m)
			if q.Key == "" {
				q.Key = p.Key
			}
		}
	}
}

// freeze stops the ticks, replies with a checkpoint of the match, and
// waits for the decision: moved away (it reports true, the match is over
// here) or thawed (it reports false and the ticks go on). Control
// messages that arrive meanwhile are handled, but a join is refused (the
// checkpoint has the seats already).
func (m *Match) freeze(reply chan<- []byte) bool {
	data, ok := m.encode()
	if !ok {
		reply <- nil
		return false
	}
	reply <- data
	for c := range m.ctl {
		switch c.kind {
		case ctlMoveAway:
			m.moveAway(c.url)
			return true
		case ctlThaw:
			return false
		case ctlJoin:
			m.notify(lobbyEvent{kind: evSeatRefused, m: m, p: c.p})
		case ctlStop:
			m.end(netcode.OutcomeShutdown)
			return true
		default:
			m.control(c)
		}
	}
	return true
}

// moveAway ends the match on this node after its checkpoint went to
// another: every connected player is sent moved with url and closed with
// CloseMoved; nothing is recorded (the seats live on at the new host).
func (m *Match) moveAway(url string) {
	m.ended, m.movedAway = true, true
	m.rec.abort()
	m.rec = nil
	frame := netcode.AppendMoved(nil, url)
	var players []*Player
	for i := range m.seats {
		s := &m.seats[i]
		if s.p == nil {
			continue
		}
		players = append(players, s.p)
		s.p.match.CompareAndSwap(m, nil)
		if !s.away && s.out != nil {
			if s.out.PostControl(frame) {
				s.out.Kick(netcode.CloseMoved)
			} else {
				s.out.Kick(netcode.CloseCongested)
			}
		}
	}
	// Spectators are in the lobby: they may watch it at its new host (the
	// lobby tells them, match_gone).
	m.dropSpectators()
	m.notify(lobbyEvent{kind: evMovedAway, m: m, moved: players})
	m.obs.MatchEnded(m.spec.Name, OutcomeMoved)
	m.log.Info("match moved away", "to", url, "players", len(players), "tick", m.world.Tick)
}

// checkpoint hands Config.Checkpoints the match's state.
func (m *Match) checkpoint() {
	if m.cpEvery == 0 || m.ended {
		return
	}
	t0 := time.Now()
	data, ok := m.encode()
	if !ok {
		return
	}
	free := 0
	for i := range m.seats {
		if m.seats[i].p == nil {
			free++
		}
	}
	m.cfg.Checkpoints.Checkpoint(m.ID, m.spec.Name, m.world.Tick, free, data, time.Since(t0))
}

// encode returns the match's checkpoint, encoded, in a new slice; false if
// its rules cannot be checkpointed.
func (m *Match) encode() ([]byte, bool) {
	pr, ok := m.rules.(game.Portable)
	if !ok {
		return nil, false
	}
	cp := &m.cp
	cp.MatchID, cp.Mode, cp.Serial = m.ID, m.spec.Name, m.serial
	cp.TickRate, cp.EndTick = uint32(m.cfg.TickRate), m.endTick
	m.world.SaveState(&cp.World)
	cp.Rules = pr.AppendState(cp.Rules[:0])
	cp.Seats = cp.Seats[:0]
	for i := range m.seats {
		s := &m.seats[i]
		var st SeatState
		if s.p != nil {
			st = SeatState{PlayerID: s.p.ID, Name: s.p.Name, Key: s.p.Key, Entity: s.gp.Entity,
				Score: s.gp.Score, Ack: s.seqs.Ack, Away: s.away}
		}
		cp.Seats = append(cp.Seats, st)
	}
	m.cpBuf = AppendCheckpoint(m.cpBuf[:0], cp)
	return append([]byte(nil), m.cpBuf...), true
}
