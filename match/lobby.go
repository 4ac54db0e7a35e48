package match

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
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
}

// Lobby is the matchmaker and the registry of the players on this node. It
// seats queued players in a running match of their mode with a free seat
// (backfill), or in a forming match that starts when full or after
// FillTimeout.
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
	players map[string]*entry   // by player ID
	forming map[string]*forming // by mode
	running map[*Match]*running
	nextID  uint64
	prefix  string
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
}

// idle reports a player with nothing left on this node: they are forgotten.
func (e *entry) idle() bool { return !e.connected && e.forming == nil && e.match == nil }

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
)

type lobbyEvent struct {
	kind   evKind
	m      *Match
	p      *Player
	ended  []endedSeat // evEnded: every seat held at the end
	result []byte      // evEnded: the result frame
	f      *forming
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
		if s.Name != name || s.MaxPlayers < 1 || s.Width <= 0 || s.Height <= 0 {
			return nil, fmt.Errorf("mode %q: invalid spec", name)
		}
		if err := s.Schema.Validate(); err != nil {
			return nil, fmt.Errorf("mode %q: invalid schema", name)
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
		forming: make(map[string]*forming),
		running: make(map[*Match]*running),
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
		e.connected = false
		switch {
		case r.left:
			l.leave(e)
		case e.forming != nil:
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
		case e.forming != nil || e.match != nil:
			post(r.out, netcode.AppendError(nil, netcode.ErrAlreadyQueued))
		default:
			post(r.out, netcode.AppendQueued(nil, r.mode))
			l.seat(e, mode)
		}
	case reqLeave:
		e := l.current(r.p, r.out)
		if e == nil {
			return
		}
		if e.forming == nil && e.match == nil {
			post(r.out, netcode.AppendError(nil, netcode.ErrNotQueued))
			return
		}
		l.leave(e)
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
		l.players[a.id] = e
		resp.fresh = true
	} else if e.connected {
		resp.replaced = e.p.Out()
	}
	e.connected = true
	e.p.out.Store(r.out)
	resp.p = e.p
	where := netcode.WhereLobby
	switch {
	case e.match != nil:
		where = netcode.WhereSeated
	case e.forming != nil:
		where = netcode.WhereQueued
	}
	// The welcome goes first; the match's matched can only follow it.
	post(r.out, netcode.AppendWelcome(nil, a.version, e.p.ID, e.p.Name, where))
	switch {
	case e.match != nil:
		e.match.deliver(ctlMsg{kind: ctlResume, p: e.p})
	case e.forming != nil:
		post(r.out, netcode.AppendQueued(nil, e.forming.mode))
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

// leave takes e out of its queue or match.
func (l *Lobby) leave(e *entry) {
	switch {
	case e.forming != nil:
		l.unqueue(e)
	case e.match != nil:
		e.match.deliver(ctlMsg{kind: ctlLeave, p: e.p})
	}
}

// unqueue takes e out of the forming match it waits in.
func (l *Lobby) unqueue(e *entry) {
	f := e.forming
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

// start turns a forming match into a running one.
func (l *Lobby) start(f *forming) {
	l.dropForming(f)
	if len(f.players) == 0 {
		return
	}
	mode := l.cfg.Modes[f.mode]
	l.nextID++
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	id := fmt.Sprintf("m-%s-%d", l.prefix, l.nextID)
	m := newMatch(id, l.nextID, mode, l.cfg.Match, binary.LittleEndian.Uint64(seed[:]), l.events)
	m.step = l.step
	r := &running{mode: mode, free: mode.Spec().MaxPlayers - len(f.players), players: make(map[*entry]bool)}
	players := make([]*Player, len(f.players))
	for i, e := range f.players {
		e.forming = nil
		e.match = m
		r.players[e] = true
		players[i] = e.p
	}
	l.running[m] = r
	l.log.Info("match started", "match", id, "mode", f.mode, "players", len(f.players))
	go m.run(players)
	for _, p := range players {
		l.stepped(StepAssigned, p)
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
		if ev.kind == evSeatRefused && e.connected {
			l.seat(e, r.mode)
			return
		}
		l.release(e)
	case evEnded:
		r := l.running[ev.m]
		if r == nil {
			return
		}
		delete(l.running, ev.m)
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
			case !wasSeated && e.connected:
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
			l.seat(e, r.mode)
		}
		for _, s := range ev.ended {
			l.stepped(StepEndHandled, s.p)
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
