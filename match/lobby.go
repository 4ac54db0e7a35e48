package match

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// LobbyConfig configures the matchmaker. The zero value of a field means its
// default: EnsureDefaults sets them, Validate checks the result.
type LobbyConfig struct {
	// Modes are the playable modes by name.
	Modes map[string]game.Mode
	// Match configures every match.
	Match Config
	// FillTimeout is how long a new match waits for more players before it
	// starts with whoever is there; default DefaultFillTimeout.
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
	// nSpectators counts the spectators of this node's matches.
	nSpectators atomic.Int64
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
	// watching is the running match the player spectates (spectate.go).
	watching *Match
	// unwatching is the match of a watch that ended, until that match
	// confirms it sends the player nothing more (evUnwatched, or its
	// end): a spectate or queue request meanwhile waits in next, so that
	// no frame of the old match follows the answer to the new request.
	unwatching *Match
	// leaving is set from a leave until the match frees the seat; a
	// queue request meanwhile waits in next and is handled then, rather
	// than refused as already_queued.
	leaving bool
	next    *lobbyReq // see leaving and unwatching
}

// idle reports a player with nothing left on this node: they are forgotten.
func (e *entry) idle() bool {
	return !e.connected && e.forming == nil && e.match == nil && e.fleetQ == "" && e.watching == nil
}

// busy reports a player queued or seated.
func (e *entry) busy() bool { return e.forming != nil || e.match != nil || e.fleetQ != "" }

type reqKind uint8

const (
	reqAttach reqKind = iota
	reqDetach
	reqQueue
	reqLeave
	reqDo
	reqSpectate
)

type lobbyReq struct {
	kind reqKind
	p    *Player
	out  *Outbox // the connection the request came from
	mode string
	// reqSpectate: the match to watch and the avatar to follow
	matchID string
	follow  uint32
	left    bool            // reqDetach: the player left for good
	att     *attachReq      // reqAttach
	done    chan struct{}   // reqDo
	fn      func()          // reqDo
	ok      chan attachResp // reqAttach
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

// EnsureDefaults sets every field of c left at its zero value to its
// default (FillTimeout: not positive), the Match config's included, and
// returns c; a nil c is a new LobbyConfig.
func (c *LobbyConfig) EnsureDefaults() *LobbyConfig {
	if c == nil {
		c = &LobbyConfig{}
	}
	c.Match.EnsureDefaults()
	if c.FillTimeout <= 0 {
		c.FillTimeout = DefaultFillTimeout
	}
	return c
}

// Validate reports a configuration the lobby cannot run with: no modes, a
// mode whose spec or schema is invalid, or an invalid Match config.
func (c *LobbyConfig) Validate() error {
	if err := c.Match.Validate(); err != nil {
		return err
	}
	if len(c.Modes) == 0 {
		return fmt.Errorf("no game modes")
	}
	for name, m := range c.Modes {
		s := m.Spec()
		if s.Name != name {
			return fmt.Errorf("mode %q: its spec is named %q", name, s.Name)
		}
		if err := s.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// NewLobby starts a lobby for cfg, with its defaults (EnsureDefaults).
func NewLobby(cfg LobbyConfig) (*Lobby, error) {
	if err := cfg.EnsureDefaults().Validate(); err != nil {
		return nil, err
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
		l.unwatch(e)
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
		case e.unwatching != nil:
			l.hold(e, r)
		case e.watching != nil:
			post(r.out, netcode.AppendError(nil, netcode.ErrBusy))
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
	case reqSpectate:
		if e := l.current(r.p, r.out); e != nil {
			l.spectate(e, r)
		}
	case reqLeave:
		e := l.current(r.p, r.out)
		if e == nil {
			return
		}
		if e.watching != nil {
			l.unwatch(e) // no answer, as for any leave that succeeds
			return
		}
		if e.unwatching != nil && e.next != nil {
			e.next = nil // the request waiting for the unwatch is cancelled
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
		l.unwatch(e) // the new connection starts in the lobby
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
