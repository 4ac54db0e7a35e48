package match

import (
	"context"
	"fmt"
	"sort"
	"time"

	"skirmish/netcode"
)

// Fleet is the matchmaking of a fleet of nodes, for the lobby. Its methods
// are called on the lobby goroutine and must not block.
type Fleet interface {
	// Enqueue puts p in mode's fleet-wide queue. If the fleet cannot, it
	// calls Lobby.QueueLocal, and p is matched on this node.
	Enqueue(p *Player, mode string)
	// Dequeue takes player id out of mode's fleet-wide queue.
	Dequeue(id, mode string)
	// Seats reports the free seats of a match running on this node, for
	// backfill; free < 0: the match is no longer here.
	Seats(matchID, mode string, free int)
}

// Ticket is a player the fleet seats in a match.
type Ticket struct {
	ID, Name string
	// Key is the player's session key (the token's hash).
	Key string
	// Node is the node the player queued on.
	Node string
}

// moveOut sends e's connection to the node at url: moved, then closed
// with CloseMoved. e leaves its queue first.
func (l *Lobby) moveOut(e *entry, url string) {
	if e.fleetQ != "" || e.forming != nil {
		l.unqueue(e)
	}
	out := e.p.Out()
	if out == nil || !e.connected {
		return
	}
	if out.PostControl(netcode.AppendMoved(nil, url)) {
		out.Kick(netcode.CloseMoved)
	} else {
		out.Kick(netcode.CloseCongested)
	}
}

// Queued is a player waiting in a fleet-wide queue on this node.
type Queued struct {
	Ticket
	Mode string
}

// FleetQueued returns the players waiting in the fleet's queues on this
// node for at least minWait, by ID.
func (l *Lobby) FleetQueued(minWait time.Duration) map[string]Queued {
	out := map[string]Queued{}
	now := time.Now()
	l.do(func() {
		for id, e := range l.players {
			if e.fleetQ != "" && now.Sub(e.fleetAt) >= minWait {
				out[id] = Queued{Ticket: Ticket{ID: id, Name: e.p.Name, Key: e.p.Key}, Mode: e.fleetQ}
			}
		}
	})
	return out
}

// QueueLocal seats player id, waiting in mode's fleet queue, with this
// node's own matchmaking (the fleet's queue is out of reach).
func (l *Lobby) QueueLocal(id, mode string) {
	l.do(func() {
		e := l.players[id]
		if e == nil || e.fleetQ != mode {
			return
		}
		e.fleetQ = ""
		if !l.admit(1) {
			l.refuse(e)
			l.release(e)
			return
		}
		l.seat(e, l.cfg.Modes[mode])
	})
}

// entryFor returns the entry of a ticket's player, creating one without a
// connection if the lobby has none; nil if the player is already sent to a
// match, waits in this node's own queue, or left the fleet's queue.
func (l *Lobby) entryFor(t Ticket) *entry {
	e := l.players[t.ID]
	if e == nil {
		p := NewPlayer(t.ID, t.Name, nil)
		p.Key = t.Key
		e = &entry{p: p}
		l.addPlayer(e)
		return e
	}
	if e.match != nil || e.forming != nil || (e.connected && e.fleetQ == "") {
		// Seated or queued here already, or connected here and no longer
		// queued (they left the queue as the fleet took their ticket).
		return nil
	}
	e.fleetQ = ""
	return e
}

// Host starts match id of mode on this node for the fleet's tickets and
// returns the tickets seated. Players connected here play at once; the
// others' seats wait for them as for players away, until they arrive
// (the fleet sends them moved) or the seat's grace runs out.
func (l *Lobby) Host(id, mode string, tickets []Ticket) (seated []Ticket) {
	l.do(func() {
		if _, ok := l.cfg.Modes[mode]; !ok || l.draining || l.byID[id] != nil || !l.admit(len(tickets)) {
			return
		}
		var es []*entry
		for _, t := range tickets {
			if len(es) == l.cfg.Modes[mode].Spec().MaxPlayers {
				break
			}
			if e := l.entryFor(t); e != nil {
				es = append(es, e)
				seated = append(seated, t)
			}
		}
		if len(es) > 0 {
			l.startMatch(id, mode, es)
		}
	})
	return seated
}

// Fill seats the fleet's tickets in free seats of running match id
// (backfill) and returns those seated.
func (l *Lobby) Fill(id string, tickets []Ticket) (seated []Ticket) {
	l.do(func() {
		m := l.byID[id]
		if m == nil || l.draining || !l.admit(len(tickets)) {
			return
		}
		r := l.running[m]
		for _, t := range tickets {
			if r.free == 0 {
				break
			}
			e := l.entryFor(t)
			if e == nil {
				continue
			}
			if !m.post(ctlMsg{kind: ctlJoin, p: e.p}) {
				l.release(e)
				break
			}
			r.free--
			r.players[e] = true
			e.match = m
			seated = append(seated, t)
			l.stepped(StepAssigned, e.p)
		}
		l.seats(m, r)
	})
	return seated
}

// MoveTo sends player id, connected here and not seated, to the node at
// url (the fleet seated them in a match there).
func (l *Lobby) MoveTo(id, url string) {
	l.do(func() {
		if e := l.players[id]; e != nil && e.connected && e.match == nil {
			l.moveOut(e, url)
			l.release(e)
		}
	})
}

// Kick closes player id's connection on this node with code, if they have
// one (their second connection went to another node).
func (l *Lobby) Kick(id string, code netcode.CloseCode) {
	l.do(func() {
		if e := l.players[id]; e != nil && e.connected {
			e.p.Out().Kick(code)
		}
	})
}

// Adopt resumes a match from its checkpoint on this node: every seat waits
// for its player to come back, as after a drop. A player connected here
// and idle gets the seat back at once.
func (l *Lobby) Adopt(cp *Checkpoint) error {
	mode, ok := l.cfg.Modes[cp.Mode]
	if !ok {
		return fmt.Errorf("unknown mode %q", cp.Mode)
	}
	var err error
	l.do(func() {
		if l.byID[cp.MatchID] != nil {
			err = fmt.Errorf("match %s already runs here", cp.MatchID)
			return
		}
		var m *Match
		var players []*Player
		m, players, err = restoreMatch(cp, mode, l.cfg.Match, l.events)
		if err != nil {
			return
		}
		m.step = l.step
		r := &running{mode: mode, free: mode.Spec().MaxPlayers - len(players), players: make(map[*entry]bool)}
		var resume []*Player
		for _, p := range players {
			e := l.players[p.ID]
			switch {
			case e == nil:
				e = &entry{p: p}
				l.addPlayer(e)
			case e.match != nil || e.forming != nil:
				// Seated elsewhere meanwhile: the seat waits out its grace.
				continue
			default:
				// Connected here (or known) and idle: bind the seat to them.
				if e.fleetQ != "" {
					l.unqueue(e)
				}
				m.rebind(p, e.p)
				if e.connected {
					resume = append(resume, e.p)
				}
			}
			e.match = m
			r.players[e] = true
		}
		l.addRunning(m, r)
		l.log.Info("match adopted", "match", m.ID, "mode", cp.Mode, "players", len(players), "tick", cp.World.Tick)
		go m.run(nil)
		for _, p := range resume {
			m.deliver(ctlMsg{kind: ctlResume, p: p})
		}
	})
	return err
}

// MatchIDs returns the IDs of the matches running on this node.
func (l *Lobby) MatchIDs() []string {
	var ids []string
	l.do(func() {
		for id := range l.byID {
			ids = append(ids, id)
		}
	})
	sort.Strings(ids)
	return ids
}

// Freeze stops match id's ticks and returns its checkpoint, for handing it
// to another node: then MoveAway or Thaw it. nil if the match is not here,
// has ended, or cannot be checkpointed (it is thawed again).
func (l *Lobby) Freeze(ctx context.Context, id string) []byte {
	var m *Match
	l.do(func() { m = l.byID[id] })
	if m == nil {
		return nil
	}
	reply := make(chan []byte, 1)
	m.deliver(ctlMsg{kind: ctlFreeze, reply: reply})
	select {
	case data := <-reply:
		return data
	case <-m.Done():
	case <-ctx.Done():
		m.deliver(ctlMsg{kind: ctlThaw})
	}
	return nil
}

// MoveAway ends frozen match id on this node: it lives on at the node at
// url, and its connected players are sent there (moved, close 4007).
func (l *Lobby) MoveAway(id, url string) { l.tell(id, ctlMsg{kind: ctlMoveAway, url: url}) }

// Thaw lets frozen match id tick again.
func (l *Lobby) Thaw(id string) { l.tell(id, ctlMsg{kind: ctlThaw}) }

func (l *Lobby) tell(id string, c ctlMsg) {
	l.do(func() {
		if m := l.byID[id]; m != nil {
			m.deliver(c)
		}
	})
}

// Drain stops the lobby from starting or filling matches here: from now
// on, a player who queues, or connects, is sent to the node at url. Every
// connected player not seated is sent there now.
func (l *Lobby) Drain(url string) {
	l.do(func() {
		l.draining, l.drainURL = true, url
		for _, f := range l.forming {
			l.dropForming(f)
			for _, e := range f.players {
				e.forming = nil
			}
		}
		for _, e := range l.players {
			if e.connected && e.match == nil {
				l.moveOut(e, url)
				l.release(e)
			}
		}
	})
}
