package match

import (
	"sort"
	"time"

	"skirmish/netcode"
)

// Spectators watch a match read-only: they take no seat, send no input,
// and see the match Config.SpectateDelay behind live, so that what a
// spectator sees cannot help a player.
//
// The delay lives in the match goroutine, as state, not as time: while a
// match has spectators it records, every tick, what any view needs of the
// world (the entities, the tick's events and the scores) in a ring of
// delayTicks+1 frames, and builds each spectator's view from the frame
// delayTicks old, exactly as a player's view is built from the live world.
// So each spectator's View diffs against what it was really sent (a
// congested spectator's view is skipped and rediffed, as a player's is),
// a spectator who arrives mid-match starts from a full view of the delayed
// world, and switching whom to follow is immediate in the delayed time.
// The frames' slices are reused from one lap of the ring to the next: in
// steady state recording copies and allocates nothing.

// The defaults of the spectator settings of Config.
const (
	DefaultMaxSpectators = 32
	DefaultSpectateDelay = 2 * time.Second
)

// spectator is one connection watching the match.
type spectator struct {
	p         *Player
	out       *Outbox
	follow    uint32 // the avatar entity followed; 0: the whole world
	view      *netcode.View
	events    []netcode.Event
	congested int
}

// delayedEntity is an entity as recorded for the delayed views.
type delayedEntity struct {
	netcode.Entity
	slot int32
}

// delayedFrame is what the views of one tick need of the world.
type delayedFrame struct {
	tick    uint32
	ents    []delayedEntity
	events  []netcode.Event
	evSlots [][2]int32
	scores  []netcode.Score
}

// spectate starts (or, for a spectator already here, changes) p's watch
// of the match on out, following avatar entity follow (0: the whole
// world): a spectator's matched, then a full view of the delayed world.
// The lobby keeps the count under Config.MaxSpectators.
func (m *Match) spectate(p *Player, out *Outbox, follow uint32) {
	var sp *spectator
	for _, s := range m.specs {
		if s.p == p {
			sp = s
			break
		}
	}
	if sp == nil {
		if n := len(m.spares); n > 0 {
			sp, m.spares = m.spares[n-1], m.spares[:n-1]
		} else {
			sp = &spectator{view: netcode.NewView(&m.spec.Schema, m.interest), events: make([]netcode.Event, 0, 16)}
		}
		sp.view.Reserve(m.world.Slots() + viewSlack)
		sp.p = p
		m.specs = append(m.specs, sp)
	}
	if m.ring == nil {
		m.ring = make([]delayedFrame, m.delayTicks+1)
	}
	sp.out, sp.follow, sp.congested = out, follow, 0
	sp.view.Reset() // a full view first
	// The tick of the first snapshot it gets: delayTicks ago, or the
	// first recorded one while the ring fills.
	tick := uint32(m.world.Tick) - uint32(min(uint64(m.delayTicks), m.recorded))
	msg := netcode.Matched{
		MatchID:    m.ID,
		Mode:       m.spec.Name,
		TickRate:   uint32(m.cfg.TickRate),
		WorldW:     m.spec.Width,
		WorldH:     m.spec.Height,
		Schema:     m.spec.Schema,
		Tick:       tick,
		EndTick:    m.endTick,
		Info:       m.spec.Info(m.cfg.TickRate),
		Spectating: true,
		DelayMs:    uint32(m.cfg.SpectateDelay.Milliseconds()),
		Follow:     follow,
	}
	msg.Info.InterestRadius = m.interest.Radius
	post(out, netcode.AppendMatched(nil, &msg))
	m.log.Debug("spectator watching", "player", p.ID, "follow", follow, "spectators", len(m.specs))
}

// unspectate ends p's watch of the match, if p watches it.
func (m *Match) unspectate(p *Player) {
	// Whether or not p was still here, the match sends p nothing more.
	defer m.notify(lobbyEvent{kind: evUnwatched, m: m, p: p})
	for i, sp := range m.specs {
		if sp.p != p {
			continue
		}
		last := len(m.specs) - 1
		m.specs[i] = m.specs[last]
		m.specs[last] = nil
		m.specs = m.specs[:last]
		sp.p, sp.out = nil, nil
		m.spares = append(m.spares, sp)
		if len(m.specs) == 0 {
			m.recorded = 0 // nothing to record until the next spectator
		}
		return
	}
}

// sendSpectators records this tick for the delayed views, then sends each
// spectator the view of the tick delayTicks ago, once there is one. It
// runs after send, which computed the tick's scores and event slots.
func (m *Match) sendSpectators() {
	if len(m.specs) == 0 {
		return
	}
	w := m.world
	size := uint64(len(m.ring))
	f := &m.ring[m.recorded%size]
	f.tick = uint32(w.Tick)
	f.ents = f.ents[:0]
	for i := range w.Entities {
		if e := &w.Entities[i]; !e.Removed() {
			f.ents = append(f.ents, delayedEntity{Entity: e.Entity, slot: e.Slot})
		}
	}
	f.events = append(f.events[:0], w.Events...)
	f.evSlots = append(f.evSlots[:0], m.evSlots...)
	f.scores = append(f.scores[:0], m.scores...)
	m.recorded++
	if m.recorded <= uint64(m.delayTicks) {
		return // the first frame is not due yet
	}
	due := &m.ring[m.recorded%size] // the oldest: delayTicks before f
	frames, bytes := 0, 0
	for _, sp := range m.specs {
		if !sp.out.Reserve() {
			m.obs.ViewSkipped()
			if sp.congested++; sp.congested == m.kickAt {
				m.log.Info("spectator congested, disconnecting", "player", sp.p.ID)
				sp.out.Kick(netcode.CloseCongested)
			}
			continue
		}
		sp.congested = 0
		m.sendBuf = m.spectatorView(sp, due, m.sendBuf[:netcode.WSHeadroom])
		sp.out.SendSnapshot(m.sendBuf)
		frames++
		bytes += len(m.sendBuf) - netcode.WSHeadroom
	}
	m.obs.FramesSent(frames, bytes)
}

// maxWholeWorld is the most entities a whole-world view holds: a view
// indexes its entities with 16 bits, and a frame of more would be larger
// than a spectator's link should carry 30 times a second.
const maxWholeWorld = 4096

// spectatorView computes sp's view of the recorded frame f into buf: the
// entities within the interest radius of the followed avatar, as a
// player's view (the avatar always in it), or every entity when it
// follows no one or its avatar is not in the frame (in a world of more
// than maxWholeWorld entities: those within the radius of its centre).
func (m *Match) spectatorView(sp *spectator, f *delayedFrame, buf []byte) []byte {
	v := sp.view
	v.Begin(f.tick)
	var self *delayedEntity
	if sp.follow != 0 {
		for i := range f.ents {
			if f.ents[i].ID == sp.follow {
				self = &f.ents[i]
				break
			}
		}
	}
	// The whole world, up to maxWholeWorld entities; a larger world is
	// seen from its centre, as a player there would see it.
	whole := self == nil && len(f.ents) <= maxWholeWorld
	cx, cy := m.world.Width/2, m.world.Height/2
	if self != nil {
		cx, cy = self.X, self.Y
	}
	for i := range f.ents {
		e := &f.ents[i]
		if whole {
			v.Consider(&e.Entity, e.slot, 0, false)
			continue
		}
		dx, dy := e.X-cx, e.Y-cy
		v.Consider(&e.Entity, e.slot, dx*dx+dy*dy, e == self)
	}
	v.Finish()
	sp.events = sp.events[:0]
	for j, ev := range f.events {
		sl := f.evSlots[j]
		if (sp.follow != 0 && (ev.A == sp.follow || ev.B == sp.follow)) || v.Knows(sl[0], ev.A) || v.Knows(sl[1], ev.B) {
			sp.events = append(sp.events, ev)
		}
	}
	h := netcode.SnapshotHeader{
		Tick:   f.tick,
		Events: sp.events,
		Scores: v.DiffScores(f.scores),
	}
	return v.AppendSnapshot(buf, &h)
}

// dropSpectators forgets the spectators of a match that ends or moves
// away. The lobby sends the end's frame (the result, or match_gone) to
// those still watching when it learns of the end, after every frame the
// match sent them; one whose watch ended before gets none.
func (m *Match) dropSpectators() {
	m.specs = m.specs[:0]
}

// Spectate asks for p, on the connection whose send path is out, to watch
// match matchID (of this node), following the player whose avatar is
// entity follow (0: the whole world); while p watches that match, it
// switches whom to follow. Refusals reach the player as error messages:
// busy (p is queued or seated), unknown_match, spectators_full. Leave
// stops watching.
func (l *Lobby) Spectate(p *Player, out *Outbox, matchID string, follow uint32) {
	l.request(lobbyReq{kind: reqSpectate, p: p, out: out, matchID: matchID, follow: follow})
}

// spectate handles a spectate request of e's player.
func (l *Lobby) spectate(e *entry, r lobbyReq) {
	m := l.byID[r.matchID]
	var run *running
	if m != nil {
		run = l.running[m]
	}
	switch {
	case e.unwatching != nil:
		l.hold(e, r)
		return
	case e.busy() || e.leaving:
		post(r.out, netcode.AppendError(nil, netcode.ErrBusy))
		return
	case run == nil:
		post(r.out, netcode.AppendError(nil, netcode.ErrUnknownMatch))
		return
	case e.watching == m:
		m.deliver(ctlMsg{kind: ctlSpectate, p: e.p, out: r.out, follow: r.follow})
		return
	}
	if e.watching != nil {
		// Watching another match: that watch ends, and this request is
		// handled once that match sends nothing more.
		l.unwatch(e)
		l.hold(e, r)
		return
	}
	if len(run.watchers) >= max(l.cfg.Match.MaxSpectators, 0) {
		post(r.out, netcode.AppendError(nil, netcode.ErrSpectatorsFull))
		return
	}
	if run.watchers == nil {
		run.watchers = make(map[*entry]bool)
	}
	run.watchers[e] = true
	e.watching = m
	l.nSpectators.Add(1)
	m.deliver(ctlMsg{kind: ctlSpectate, p: e.p, out: r.out, follow: r.follow})
}

// unwatch ends e's watch, if any.
func (l *Lobby) unwatch(e *entry) {
	m := e.watching
	if m == nil {
		return
	}
	e.watching = nil
	if r := l.running[m]; r != nil {
		delete(r.watchers, e)
		if r.unwatching == nil {
			r.unwatching = make(map[*entry]bool)
		}
		r.unwatching[e] = true
		e.unwatching = m
	}
	l.nSpectators.Add(-1)
	m.deliver(ctlMsg{kind: ctlUnspectate, p: e.p})
}

// hold keeps request r of e, whose watch is ending, until its match
// confirms it (unwatched); a second request meanwhile is refused as busy.
func (l *Lobby) hold(e *entry, r lobbyReq) {
	if e.next != nil {
		post(r.out, netcode.AppendError(nil, netcode.ErrBusy))
		return
	}
	e.next = &r
}

// unwatched is called when the match of e's ended watch sends e nothing
// more: the request that waited for it is handled now.
func (l *Lobby) unwatched(e *entry) {
	e.unwatching = nil
	if r := e.next; r != nil {
		e.next = nil
		l.handle(*r)
	}
}

// unwatchedAll: r's match m ended or moved away, so it sends nothing more
// to the spectators whose watch ended.
func (l *Lobby) unwatchedAll(r *running, m *Match) {
	for e := range r.unwatching {
		if e.unwatching == m {
			l.unwatched(e)
		}
	}
	clear(r.unwatching)
}

// unwatchAll forgets the spectators of r's match, which ended (or moved
// away): each still watching gets frame, the result (or match_gone),
// after every frame the match sent it.
func (l *Lobby) unwatchAll(r *running, frame []byte) {
	for e := range r.watchers {
		e.watching = nil
		l.nSpectators.Add(-1)
		if e.connected {
			post(e.p.Out(), frame)
		}
		l.release(e)
	}
	clear(r.watchers)
}

// Spectators returns the number of spectators watching this node's
// matches. Safe for concurrent use.
func (l *Lobby) Spectators() int { return int(l.nSpectators.Load()) }

// MatchInfo describes a running match for a listing of matches to watch.
type MatchInfo struct {
	ID         string `json:"id"`
	Mode       string `json:"mode"`
	Players    int    `json:"players"`
	MaxPlayers int    `json:"maxPlayers"`
	Spectators int    `json:"spectators"`
	// MaxSpectators is the cap of spectators (Config.MaxSpectators; 0:
	// spectating is off).
	MaxSpectators int `json:"maxSpectators"`
	// Tick is the tick the match runs next; TimeLeft, in seconds, is the
	// time until it ends by the clock (0 for a mode without a clock).
	Tick     uint32  `json:"tick"`
	TimeLeft float64 `json:"timeLeft"`
}

// Matches lists the matches running on this node, by ID.
func (l *Lobby) Matches() []MatchInfo {
	out := []MatchInfo{}
	l.do(func() {
		for m, r := range l.running {
			tick := m.liveTick.Load()
			left := 0.0
			if m.endTick > tick {
				left = float64(m.endTick-tick) / float64(l.cfg.Match.TickRate)
			}
			out = append(out, MatchInfo{
				ID: m.ID, Mode: m.spec.Name,
				Players: m.spec.MaxPlayers - r.free, MaxPlayers: m.spec.MaxPlayers,
				Spectators: len(r.watchers), MaxSpectators: max(l.cfg.Match.MaxSpectators, 0),
				Tick: tick, TimeLeft: left,
			})
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
