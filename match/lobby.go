package match

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// LobbyConfig configures the matchmaker. The zero value of a field means its
// default.
type LobbyConfig struct {
	// Modes are the playable modes by name.
	Modes map[string]game.Mode
	// Match configures every match.
	Match Config
	// FillTimeout is how long a new match waits for more players before it
	// starts with whoever is there; default 3 s.
	FillTimeout time.Duration
	// Fleet, if set, is the fleet-wide queue: players queue there, and the
	// fleet seats them with Host and Fill (on this node or another).
	Fleet Fleet
	// Admit, if set, is asked before n players are taken into a match on
	// this node: a queue request, a forming match about to start, a queue
	// again after a refused seat, the fleet's Host, Fill and QueueLocal.
	// When it returns false (the node is overloaded) the players are
	// refused: each one who asked to queue or was waiting gets error
	// server_full and is back in the lobby; the fleet's tickets go back to
	// its queue. Matches already running are never refused (resumes,
	// adoptions). Called on the lobby goroutine: it must not block.
	Admit func(n int) bool
}

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

// Lobby is the matchmaker and the registry of the players on this node. It
// seats queued players in a running match of their mode with a free seat
// (backfill), or in a forming match that starts when full or after
// FillTimeout.
//
// In a fleet (LobbyConfig.Fleet), queues are the fleet's: the lobby seats
// players in the matches the fleet starts here (Host, Fill) or sends them
// to another node (MoveTo), resumes matches from checkpoints (Adopt), and
// hands its own over when the node drains (Drain, Freeze, MoveAway).
//
// It is one goroutine, the only owner of where each player is: connected
// or not, waiting in a queue, sent to a match, seated. Every change of that
// state is one request or one match event handled in turn, so a player can
// never be in two places, and a Player is forgotten only once it has no
// connection and no seat state left. Its methods only send it requests.
type Lobby struct {
	cfg    LobbyConfig
	log    *slog.Logger
	reqs   chan lobbyReq
	events chan lobbyEvent
	quit   chan struct{}
	done   chan struct{}

	// lobby goroutine only
	players  map[string]*entry   // by player ID
	forming  map[string]*forming // by mode
	running  map[*Match]*running
	phases   [PhaseSlots]int    // running matches on each tick phase
	places   [PhaseSlots]uint64 // the places taken in each phase (bit i: place i)
	byID     map[string]*Match  // running matches by ID
	nextID   uint64
	prefix   string
	draining bool
	drainURL string

	// counts for the fleet's node record, written by the lobby goroutine
	nConnected, nMatches atomic.Int64
	// keys holds the session keys of the players in players, for Holds;
	// written by the lobby goroutine only.
	keysMu sync.RWMutex
	keys   map[string]struct{}
	// step, if set (tests), is called at each step of the join path and
	// of a match's end, on the goroutine that takes the step.
	step func(Step, *Player)
}

// Step names a point of a player's path through the lobby and a match, for
// tests that inject faults between steps.
type Step uint8

// Steps of the join path and of a match's end.
const (
	StepAttached   Step = iota // the lobby bound a connection to the player
	StepQueued                 // the player waits in a forming match
	StepAssigned               // the lobby sent the player to a match
	StepSeated                 // the match seated the player (matched sent)
	StepEnded                  // the match ended (result sent), before the lobby knows
	StepEndHandled             // the lobby handled the match's end
)

// entry is where one player is, as the lobby knows it.
type entry struct {
	p         *Player
	connected bool
	forming   *forming // the forming match the player waits in
	match     *Match   // the running match the player was sent to or is seated in
	fleetQ    string   // the mode whose fleet-wide queue the player waits in
	fleetAt   time.Time
	// leaving is set from a leave until the match frees the seat; a
	// queue request meanwhile waits in next and is handled then, rather
	// than refused as already_queued.
	leaving bool
	next    *lobbyReq
}

// idle reports a player with nothing left on this node: they are forgotten.
func (e *entry) idle() bool {
	return !e.connected && e.forming == nil && e.match == nil && e.fleetQ == ""
}

// busy reports a player queued or seated.
func (e *entry) busy() bool { return e.forming != nil || e.match != nil || e.fleetQ != "" }

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
}

type reqKind uint8

const (
	reqAttach reqKind = iota
	reqDetach
	reqQueue
	reqLeave
	reqDo
)

type lobbyReq struct {
	kind reqKind
	p    *Player
	out  *Outbox // the connection the request came from
	mode string
	left bool            // reqDetach: the player left for good
	att  *attachReq      // reqAttach
	done chan struct{}   // reqDo
	fn   func()          // reqDo
	ok   chan attachResp // reqAttach
}

type attachReq struct {
	id, name, key string
	version       uint32
}

type attachResp struct {
	p        *Player
	replaced *Outbox
	fresh    bool
}

type evKind uint8

const (
	evSeatFreed evKind = iota
	evSeatRefused
	evEnded
	evFill
	evMovedAway
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

// NewLobby starts a lobby.
func NewLobby(cfg LobbyConfig) (*Lobby, error) {
	if err := cfg.Match.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Modes) == 0 {
		return nil, fmt.Errorf("no game modes")
	}
	for name, m := range cfg.Modes {
		s := m.Spec()
		if s.Name != name {
			return nil, fmt.Errorf("mode %q: its spec is named %q", name, s.Name)
		}
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}
	cfg.Match = cfg.Match.withDefaults()
	if cfg.FillTimeout <= 0 {
		cfg.FillTimeout = 3 * time.Second
	}
	// Match ids must not repeat across processes (the store applies each
	// match's result once): a 64-bit random prefix per lobby.
	var b [8]byte
	_, _ = rand.Read(b[:])
	l := &Lobby{
		cfg:     cfg,
		log:     cfg.Match.Logger,
		reqs:    make(chan lobbyReq, 256),
		events:  make(chan lobbyEvent, 1024),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		players: make(map[string]*entry),
		keys:    make(map[string]struct{}),
		forming: make(map[string]*forming),
		running: make(map[*Match]*running),
		byID:    make(map[string]*Match),
		prefix:  hex.EncodeToString(b[:]),
	}
	go l.run()
	return l, nil
}

// HasMode reports whether mode can be queued for.
func (l *Lobby) HasMode(mode string) bool { _, ok := l.cfg.Modes[mode]; return ok }

// Attach binds a new connection, whose send path is out, to player id after
// its hello, and returns the player: the one this node already has for id
// (a reconnect, or a second connection that replaces the first), or a new
// one (fresh). The lobby posts the welcome (protocol version, with where
// the player is) to out first; then a held seat resumes on out (matched
// again, then a full view), and a player waiting in a queue is told so
// again. replaced is the send path of the connection that out replaces,
// to be closed with netcode.CloseReplaced; nil if none. Attach returns a
// nil player once the lobby is closed.
func (l *Lobby) Attach(id, name, key string, version uint32, out *Outbox) (p *Player, replaced *Outbox, fresh bool) {
	ok := make(chan attachResp, 1)
	l.request(lobbyReq{kind: reqAttach, out: out, ok: ok, att: &attachReq{id: id, name: name, key: key, version: version}})
	select {
	case r := <-ok:
		return r.p, r.replaced, r.fresh
	case <-l.done:
		return nil, nil, false
	}
}

// Detach tells that the connection whose send path is out is gone. If it
// was p's current connection: a player who left for good (left) leaves
// their queue or seat at once; otherwise a queued player leaves the queue
// and a seated one keeps the seat for the grace (Config.SeatGrace). A
// connection that was replaced changes nothing.
func (l *Lobby) Detach(p *Player, out *Outbox, left bool) {
	l.request(lobbyReq{kind: reqDetach, p: p, out: out, left: left})
}

// Queue asks for p to be seated in a match of mode, from the connection
// whose send path is out (ignored if that is no longer p's connection).
// Refusals (unknown mode, already queued) reach the player as error
// messages.
func (l *Lobby) Queue(p *Player, out *Outbox, mode string) {
	l.request(lobbyReq{kind: reqQueue, p: p, out: out, mode: mode})
}

// Leave takes p out of its queue or match at p's request, from the
// connection whose send path is out. A player who is neither queued nor
// seated gets error not_queued.
func (l *Lobby) Leave(p *Player, out *Outbox) { l.request(lobbyReq{kind: reqLeave, p: p, out: out}) }

func (l *Lobby) request(r lobbyReq) {
	select {
	case l.reqs <- r:
	case <-l.done:
	}
}

// Close ends every match with a shutdown result, waits for them (or ctx)
// and stops the lobby.
func (l *Lobby) Close(ctx context.Context) error {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Lobby) run() {
	defer close(l.done)
	for {
		// Events from matches go first, so that a player who queues again
		// on their result finds their match already ended.
		select {
		case ev := <-l.events:
			l.event(ev)
			continue
		default:
		}
		select {
		case ev := <-l.events:
			l.event(ev)
		case r := <-l.reqs:
			l.handle(r)
		case <-l.quit:
			l.shutdown()
			return
		}
	}
}

// sync returns once the lobby has handled every request sent before it.
func (l *Lobby) sync() { l.do(func() {}) }

// do runs f on the lobby goroutine, after every request sent before, and
// waits for it (not if the lobby is closed).
func (l *Lobby) do(f func()) {
	done := make(chan struct{})
	l.request(lobbyReq{kind: reqDo, fn: f, done: done})
	select {
	case <-done:
	case <-l.done:
	}
}

func (l *Lobby) stepped(s Step, p *Player) {
	if l.step != nil {
		l.step(s, p)
	}
}

// current returns p's entry if the request came from p's current
// connection; nil for a stale one (replaced or gone).
func (l *Lobby) current(p *Player, out *Outbox) *entry {
	e := l.players[p.ID]
	if e == nil || e.p != p || !e.connected || p.Out() != out {
		return nil
	}
	return e
}

func (l *Lobby) handle(r lobbyReq) {
	switch r.kind {
	case reqDo:
		r.fn()
		close(r.done)
	case reqAttach:
		l.attach(r)
	case reqDetach:
		e := l.current(r.p, r.out)
		if e == nil {
			return
		}
		l.setConnected(e, false)
		switch {
		case r.left:
			l.leave(e)
		case e.forming != nil || e.fleetQ != "":
			l.unqueue(e)
		case e.match != nil:
			e.match.deliver(ctlMsg{kind: ctlAway, p: e.p})
		}
		l.release(e)
	case reqQueue:
		e := l.current(r.p, r.out)
		if e == nil {
			return
		}
		mode, ok := l.cfg.Modes[r.mode]
		switch {
		case !ok:
			post(r.out, netcode.AppendError(nil, netcode.ErrUnknownMode))
		case e.leaving && e.next == nil:
			e.next = &r // handled when the match frees the seat
		case e.busy():
			post(r.out, netcode.AppendError(nil, netcode.ErrAlreadyQueued))
		case l.draining:
			l.moveOut(e, l.drainURL)
		case !l.admit(1):
			post(r.out, netcode.AppendError(nil, netcode.ErrServerFull))
		default:
			post(r.out, netcode.AppendQueued(nil, r.mode))
			if l.cfg.Fleet != nil {
				e.fleetQ, e.fleetAt = r.mode, time.Now()
				l.cfg.Fleet.Enqueue(e.p, r.mode)
				l.stepped(StepQueued, e.p)
				return
			}
			l.seat(e, mode)
		}
	case reqLeave:
		e := l.current(r.p, r.out)
		if e == nil {
			return
		}
		if !e.busy() || e.leaving {
			post(r.out, netcode.AppendError(nil, netcode.ErrNotQueued))
			return
		}
		l.leave(e)
		if e.match != nil {
			e.leaving = true
		}
	}
}

// left is called when e's match let e go (e.match is now nil): a queue
// request that came while e was leaving is handled now.
func (l *Lobby) left(e *entry) {
	e.leaving = false
	if r := e.next; r != nil {
		e.next = nil
		l.handle(*r)
	}
}

// attach binds r.out to its player: see Attach.
func (l *Lobby) attach(r lobbyReq) {
	a := r.att
	var resp attachResp
	e := l.players[a.id]
	if e == nil {
		p := NewPlayer(a.id, a.name, r.out)
		p.Key = a.key
		e = &entry{p: p}
		l.addPlayer(e)
		resp.fresh = true
	} else if e.connected {
		resp.replaced = e.p.Out()
	}
	l.setConnected(e, true)
	e.p.out.Store(r.out)
	resp.p = e.p
	where := netcode.WhereLobby
	switch {
	case e.match != nil:
		where = netcode.WhereSeated
	case e.forming != nil || e.fleetQ != "":
		where = netcode.WhereQueued
	}
	// The welcome goes first; the match's matched can only follow it.
	post(r.out, netcode.AppendWelcome(nil, a.version, e.p.ID, e.p.Name, where))
	switch {
	case e.match != nil:
		e.match.deliver(ctlMsg{kind: ctlResume, p: e.p})
	case e.forming != nil:
		post(r.out, netcode.AppendQueued(nil, e.forming.mode))
	case e.fleetQ != "":
		post(r.out, netcode.AppendQueued(nil, e.fleetQ))
	case l.draining:
		l.moveOut(e, l.drainURL)
	}
	l.stepped(StepAttached, e.p)
	r.ok <- resp
}

// post queues a control frame for a connection, kicking it if it is not
// reading.
func post(out *Outbox, frame []byte) {
	if !out.PostControl(frame) {
		out.Kick(netcode.CloseCongested)
	}
}

// setConnected records whether e has a connection.
func (l *Lobby) setConnected(e *entry, c bool) {
	if e.connected != c {
		e.connected = c
		if c {
			l.nConnected.Add(1)
		} else {
			l.nConnected.Add(-1)
		}
	}
}

// leave takes e out of its queue or match.
func (l *Lobby) leave(e *entry) {
	switch {
	case e.forming != nil || e.fleetQ != "":
		l.unqueue(e)
	case e.match != nil:
		e.match.deliver(ctlMsg{kind: ctlLeave, p: e.p})
	}
}

// unqueue takes e out of the fleet's queue or the forming match it waits in.
func (l *Lobby) unqueue(e *entry) {
	if e.fleetQ != "" {
		l.cfg.Fleet.Dequeue(e.p.ID, e.fleetQ)
		e.fleetQ = ""
		return
	}
	f := e.forming
	if f == nil {
		return
	}
	for i, q := range f.players {
		if q == e {
			f.players = append(f.players[:i], f.players[i+1:]...)
			break
		}
	}
	e.forming = nil
	if len(f.players) == 0 {
		l.dropForming(f)
	}
}

// release forgets e's player once nothing is left of them on this node.
func (l *Lobby) release(e *entry) {
	if e.idle() && l.players[e.p.ID] == e {
		delete(l.players, e.p.ID)
		if e.p.Key != "" {
			l.keysMu.Lock()
			delete(l.keys, e.p.Key)
			l.keysMu.Unlock()
		}
	}
}

// addPlayer registers e's player on this node.
func (l *Lobby) addPlayer(e *entry) {
	l.players[e.p.ID] = e
	if e.p.Key != "" {
		l.keysMu.Lock()
		l.keys[e.p.Key] = struct{}{}
		l.keysMu.Unlock()
	}
}

// Holds reports whether the player whose session key is key is on this
// node: connected, queued, or holding a seat (away included). Such a
// player is never refused a connection for the node's load: a seated
// player's reconnect must find their game. Safe for concurrent use.
func (l *Lobby) Holds(key string) bool {
	l.keysMu.RLock()
	_, ok := l.keys[key]
	l.keysMu.RUnlock()
	return ok
}

// admit asks LobbyConfig.Admit whether n players may be taken into a
// match now.
func (l *Lobby) admit(n int) bool { return l.cfg.Admit == nil || l.cfg.Admit(n) }

// refuse tells e's player, if connected, that the node takes no player
// into a match now (error server_full): they are in the lobby.
func (l *Lobby) refuse(e *entry) {
	if out := e.p.Out(); out != nil && e.connected {
		post(out, netcode.AppendError(nil, netcode.ErrServerFull))
	}
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

// takePhase gives a new match its tick phase (Config.PhaseGroup), the
// first slot with room in its group, or else the emptiest, and its place
// in the slot: the first free one (past 62, all share place 63).
func (l *Lobby) takePhase() (slot, idx int) {
	group := l.cfg.Match.PhaseGroup
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
	case evMovedAway:
		r := l.running[ev.m]
		if r == nil {
			return
		}
		l.dropRunning(ev.m)
		for e := range r.players {
			e.match = nil
			l.release(e)
			l.left(e)
		}
	}
}

// shutdown stops every match and waits for them.
func (l *Lobby) shutdown() {
	for _, f := range l.forming {
		l.dropForming(f)
		for _, e := range f.players {
			e.forming = nil
		}
	}
	for m := range l.running {
		m.Stop()
	}
	for m := range l.running {
		<-m.Done()
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

// Counts returns the players connected to this node and the matches
// running on it.
func (l *Lobby) Counts() (players, matches int) {
	return int(l.nConnected.Load()), int(l.nMatches.Load())
}

// Has reports whether the lobby holds anything of player id: a
// connection, a queue or a seat.
func (l *Lobby) Has(id string) bool {
	var ok bool
	l.do(func() { ok = l.players[id] != nil })
	return ok
}

// Seated reports whether player id is sent to or seated in a match on this
// node.
func (l *Lobby) Seated(id string) bool {
	var ok bool
	l.do(func() { e := l.players[id]; ok = e != nil && e.match != nil })
	return ok
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
