package match

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sort"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

type forming struct {
	mode    string
	players []*entry
	timer   Timer
	cancel  chan struct{}
}

type running struct {
	mode    game.Mode
	free    int
	players map[*entry]bool // sent to the match: joining or seated
	// watchers are the spectators of the match (made on the first);
	// unwatching those whose watch ended, until the match confirms it
	// (entry.unwatching)
	watchers, unwatching map[*entry]bool
}

type evKind uint8

const (
	evSeatFreed evKind = iota
	evSeatRefused
	evEnded
	evFill
	evMovedAway
	// evUnwatched: the match dropped spectator p (after ctlUnspectate).
	evUnwatched
)

type lobbyEvent struct {
	kind   evKind
	m      *Match
	p      *Player
	ended  []endedSeat // evEnded: every seat held at the end
	result []byte      // evEnded: the result frame
	f      *forming
	moved  []*Player // evMovedAway: the players seated at the move
}

// endedSeat is a player seated at a match's end, and the connection their
// result was posted to (nil: they were away).
type endedSeat struct {
	p    *Player
	sent *Outbox
}

// seat puts e in the fullest running match of mode with a free seat, else
// in the forming match of the mode.
func (l *Lobby) seat(e *entry, mode game.Mode) {
	name := mode.Spec().Name
	var best *Match
	for m, r := range l.running {
		if r.mode != mode || r.free == 0 {
			continue
		}
		if best == nil || r.free < l.running[best].free || (r.free == l.running[best].free && m.ID < best.ID) {
			best = m
		}
	}
	if best != nil && best.post(ctlMsg{kind: ctlJoin, p: e.p}) {
		r := l.running[best]
		r.free--
		r.players[e] = true
		e.match = best
		l.seats(best, r)
		l.stepped(StepAssigned, e.p)
		return
	}
	f := l.forming[name]
	if f == nil {
		f = &forming{mode: name, cancel: make(chan struct{})}
		f.timer = l.cfg.Match.Clock.NewTimer(l.cfg.FillTimeout)
		l.forming[name] = f
		go func() {
			select {
			case <-f.timer.C():
				select {
				case l.events <- lobbyEvent{kind: evFill, f: f}:
				case <-l.done:
				}
			case <-f.cancel:
			}
		}()
	}
	f.players = append(f.players, e)
	e.forming = f
	l.stepped(StepQueued, e.p)
	if len(f.players) >= mode.Spec().MaxPlayers {
		l.start(f)
	}
}

func (l *Lobby) dropForming(f *forming) {
	if l.forming[f.mode] == f {
		delete(l.forming, f.mode)
	}
	f.timer.Stop()
	close(f.cancel)
}

// start turns a forming match into a running one, unless the node refuses
// new matches now: then its players are told (server_full) and are back
// in the lobby.
func (l *Lobby) start(f *forming) {
	l.dropForming(f)
	if len(f.players) == 0 {
		return
	}
	for _, e := range f.players {
		e.forming = nil
	}
	if !l.admit(len(f.players)) {
		for _, e := range f.players {
			l.refuse(e)
			l.release(e)
		}
		return
	}
	l.startMatch("", f.mode, f.players)
}

// startMatch starts a match of mode for es (id "": a new one of this
// lobby's) and returns it.
func (l *Lobby) startMatch(id, modeName string, es []*entry) *Match {
	mode := l.cfg.Modes[modeName]
	l.nextID++
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	if id == "" {
		id = fmt.Sprintf("m-%s-%d", l.prefix, l.nextID)
	}
	m := newMatch(id, l.nextID, mode, l.cfg.Match, binary.LittleEndian.Uint64(seed[:]), l.events)
	m.step = l.step
	r := &running{mode: mode, free: mode.Spec().MaxPlayers - len(es), players: make(map[*entry]bool)}
	players := make([]*Player, len(es))
	for i, e := range es {
		e.match = m
		r.players[e] = true
		players[i] = e.p
	}
	l.addRunning(m, r)
	l.log.Info("match started", "match", id, "mode", modeName, "players", len(es))
	go m.run(players)
	for _, p := range players {
		l.stepped(StepAssigned, p)
	}
	return m
}

func (l *Lobby) addRunning(m *Match, r *running) {
	m.phaseSlot, m.phaseIdx = l.takePhase()
	l.running[m] = r
	l.byID[m.ID] = m
	l.nMatches.Store(int64(len(l.running)))
	l.seats(m, r)
}

// takePhase gives a new match its tick phase (Config.TickPhaseGroup), the
// first slot with room in its group, or else the emptiest, and its place
// in the slot: the first free one (past 62, all share place 63).
func (l *Lobby) takePhase() (slot, idx int) {
	group := l.cfg.Match.TickPhaseGroup
	if group < 0 {
		return -1, 0
	}
	for i, n := range l.phases {
		if n < group {
			slot = i
			break
		}
		if n < l.phases[slot] {
			slot = i
		}
	}
	l.phases[slot]++
	idx = bits.TrailingZeros64(^l.places[slot])
	if idx < 63 {
		l.places[slot] |= 1 << idx
	} else {
		idx = 63
	}
	return slot, idx
}

func (l *Lobby) dropRunning(m *Match) {
	if m.phaseSlot >= 0 {
		l.phases[m.phaseSlot]--
		if m.phaseIdx < 63 {
			l.places[m.phaseSlot] &^= 1 << m.phaseIdx
		}
	}
	delete(l.running, m)
	delete(l.byID, m.ID)
	l.nMatches.Store(int64(len(l.running)))
	if l.cfg.Fleet != nil {
		l.cfg.Fleet.Seats(m.ID, m.Mode(), -1)
	}
}

// seats tells the fleet a match's free seats.
func (l *Lobby) seats(m *Match, r *running) {
	if l.cfg.Fleet != nil {
		l.cfg.Fleet.Seats(m.ID, m.Mode(), r.free)
	}
}

// sentTo returns the entry of p if the lobby sent it to m.
func (l *Lobby) sentTo(m *Match, p *Player) (*running, *entry) {
	r := l.running[m]
	e := l.players[p.ID]
	if r == nil || e == nil || e.p != p || !r.players[e] {
		return nil, nil
	}
	return r, e
}

func (l *Lobby) event(ev lobbyEvent) {
	switch ev.kind {
	case evFill:
		if l.forming[ev.f.mode] == ev.f {
			l.start(ev.f)
		}
	case evSeatFreed, evSeatRefused:
		r, e := l.sentTo(ev.m, ev.p)
		if e == nil {
			return
		}
		delete(r.players, e)
		r.free++
		e.match = nil
		l.seats(ev.m, r)
		if ev.kind == evSeatRefused && e.connected && !e.leaving {
			l.queue(e, r.mode)
			return
		}
		l.release(e)
		l.left(e)
	case evEnded:
		r := l.running[ev.m]
		if r == nil {
			return
		}
		l.dropRunning(ev.m)
		l.unwatchAll(r, ev.result)
		l.unwatchedAll(r, ev.m)
		seated := make(map[*Player]*Outbox, len(ev.ended))
		for _, s := range ev.ended {
			seated[s.p] = s.sent
		}
		// Players sent to the match that it never seated queue again, if
		// they are still connected.
		var requeue []*entry
		for e := range r.players {
			e.match = nil
			sent, wasSeated := seated[e.p]
			switch {
			case !wasSeated && e.connected && !e.leaving:
				requeue = append(requeue, e)
			case wasSeated && e.connected && sent != e.p.Out():
				// The player came back on a new connection after the
				// result was sent to the old one (or while away).
				post(e.p.Out(), ev.result)
			}
			l.release(e)
		}
		sort.Slice(requeue, func(i, j int) bool { return requeue[i].p.ID < requeue[j].p.ID })
		for _, e := range requeue {
			l.queue(e, r.mode)
		}
		for e := range r.players {
			l.left(e)
		}
		for _, s := range ev.ended {
			l.stepped(StepEndHandled, s.p)
		}
	case evUnwatched:
		r := l.running[ev.m]
		if r == nil {
			return // the match ended or moved: that confirmed every unwatch
		}
		for e := range r.unwatching {
			if e.p == ev.p {
				delete(r.unwatching, e)
				if e.unwatching == ev.m {
					l.unwatched(e)
				}
			}
		}
	case evMovedAway:
		r := l.running[ev.m]
		if r == nil {
			return
		}
		l.dropRunning(ev.m)
		l.unwatchAll(r, netcode.AppendError(nil, netcode.ErrMatchGone))
		l.unwatchedAll(r, ev.m)
		for e := range r.players {
			e.match = nil
			l.release(e)
			l.left(e)
		}
	}
}

// queue puts e in the queue of mode: the fleet's, or this node's; or, if
// the node refuses new players now, tells them (server_full).
func (l *Lobby) queue(e *entry, mode game.Mode) {
	if !l.admit(1) {
		l.refuse(e)
		l.release(e)
		return
	}
	if l.cfg.Fleet != nil && !l.draining {
		e.fleetQ, e.fleetAt = mode.Spec().Name, time.Now()
		l.cfg.Fleet.Enqueue(e.p, e.fleetQ)
		return
	}
	l.seat(e, mode)
}
