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

// Lobby is the matchmaker: it seats queued players in a running match of
// their mode with a free seat (backfill), or in a forming match that starts
// when full or after FillTimeout. It is one goroutine; its methods only
// send it requests.
type Lobby struct {
	cfg    LobbyConfig
	log    *slog.Logger
	reqs   chan lobbyReq
	events chan lobbyEvent
	quit   chan struct{}
	done   chan struct{}

	// lobby goroutine only
	forming map[string]*forming // by mode
	running map[*Match]*running
	nextID  uint64
	prefix  string
}

type forming struct {
	mode    string
	players []*Player
	timer   Timer
	cancel  chan struct{}
}

type running struct {
	free    int
	players map[*Player]bool // assigned by the lobby
}

type reqKind uint8

const (
	reqQueue reqKind = iota
	reqLeave
	reqDisconnect
	reqReconnect
	reqSync
)

type lobbyReq struct {
	kind reqKind
	p    *Player
	mode string
	done chan struct{} // reqSync
}

type evKind uint8

const (
	evSeatFreed evKind = iota
	evSeatRefused
	evEnded
	evFill
)

type lobbyEvent struct {
	kind    evKind
	m       *Match
	p       *Player
	players []*Player
	f       *forming
	expired bool // evSeatFreed: the seat's grace ran out
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
	var b [3]byte
	_, _ = rand.Read(b[:])
	l := &Lobby{
		cfg:     cfg,
		log:     cfg.Match.Logger,
		reqs:    make(chan lobbyReq, 256),
		events:  make(chan lobbyEvent, 1024),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		forming: make(map[string]*forming),
		running: make(map[*Match]*running),
		prefix:  hex.EncodeToString(b[:]),
	}
	go l.run()
	return l, nil
}

// HasMode reports whether mode can be queued for.
func (l *Lobby) HasMode(mode string) bool { _, ok := l.cfg.Modes[mode]; return ok }

// Queue asks for p to be seated in a match of mode. Refusals (unknown mode,
// already queued) reach the player as error messages.
func (l *Lobby) Queue(p *Player, mode string) { l.request(lobbyReq{kind: reqQueue, p: p, mode: mode}) }

// Leave takes p out of its queue or match, at p's request.
func (l *Lobby) Leave(p *Player) { l.request(lobbyReq{kind: reqLeave, p: p}) }

// Disconnect tells that p's connection dropped: a queued p leaves the
// queue; a seated p keeps the seat for the grace period (Config.SeatGrace).
func (l *Lobby) Disconnect(p *Player) { l.request(lobbyReq{kind: reqDisconnect, p: p}) }

// Reconnect tells that p is back on a new connection (p.Out already set):
// a held seat resumes with a full view; a seat lost meanwhile is reported
// to p (seat_expired).
func (l *Lobby) Reconnect(p *Player) { l.request(lobbyReq{kind: reqReconnect, p: p}) }

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
			l.request1(r)
		case <-l.quit:
			l.shutdown()
			return
		}
	}
}

// sync returns once the lobby has handled every request sent before it.
func (l *Lobby) sync() {
	done := make(chan struct{})
	l.request(lobbyReq{kind: reqSync, done: done})
	select {
	case <-done:
	case <-l.done:
	}
}

func (l *Lobby) request1(r lobbyReq) {
	p := r.p
	switch r.kind {
	case reqSync:
		close(r.done)
	case reqQueue:
		mode, ok := l.cfg.Modes[r.mode]
		if !ok {
			p.Out().PostControl(netcode.AppendError(nil, netcode.ErrUnknownMode))
			return
		}
		if p.queued != nil || p.assigned != nil {
			p.Out().PostControl(netcode.AppendError(nil, netcode.ErrAlreadyQueued))
			return
		}
		p.expired = false
		p.Out().PostControl(netcode.AppendQueued(nil, r.mode))
		l.seat(p, mode)
	case reqDisconnect, reqReconnect:
		switch {
		case p.queued != nil && r.kind == reqDisconnect:
			l.request1(lobbyReq{kind: reqLeave, p: p})
		case p.assigned != nil:
			kind := ctlAway
			if r.kind == reqReconnect {
				kind = ctlResume
			}
			l.postMatch(p.assigned, ctlMsg{kind: kind, p: p})
		case p.expired && r.kind == reqReconnect:
			p.expired = false
			p.Out().PostControl(netcode.AppendError(nil, netcode.ErrSeatExpired))
		}
	case reqLeave:
		switch {
		case p.queued != nil:
			f := p.queued
			for i, q := range f.players {
				if q == p {
					f.players = append(f.players[:i], f.players[i+1:]...)
					break
				}
			}
			p.queued = nil
			if len(f.players) == 0 {
				l.dropForming(f)
			}
		case p.assigned != nil:
			l.postMatch(p.assigned, ctlMsg{kind: ctlLeave, p: p})
		}
	}
}

// postMatch hands c to m without blocking the lobby: if m's control queue
// is full, a goroutine waits for room (or for m to end).
func (l *Lobby) postMatch(m *Match, c ctlMsg) {
	if !m.post(c) {
		go func() {
			select {
			case m.ctl <- c:
			case <-m.done:
			}
		}()
	}
}

// seat puts p in the fullest running match of its mode with a free seat,
// else in the forming match of the mode.
func (l *Lobby) seat(p *Player, mode game.Mode) {
	name := mode.Spec().Name
	var best *Match
	for m, r := range l.running {
		if m.spec.Name != name || r.free == 0 {
			continue
		}
		if best == nil || r.free < l.running[best].free || (r.free == l.running[best].free && m.ID < best.ID) {
			best = m
		}
	}
	if best != nil && best.post(ctlMsg{kind: ctlJoin, p: p}) {
		r := l.running[best]
		r.free--
		r.players[p] = true
		p.assigned = best
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
	f.players = append(f.players, p)
	p.queued = f
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
	r := &running{free: mode.Spec().MaxPlayers - len(f.players), players: make(map[*Player]bool)}
	for _, p := range f.players {
		p.queued = nil
		p.assigned = m
		r.players[p] = true
	}
	l.running[m] = r
	l.log.Info("match started", "match", id, "mode", f.mode, "players", len(f.players))
	go m.run(f.players)
}

func (l *Lobby) event(ev lobbyEvent) {
	switch ev.kind {
	case evFill:
		if l.forming[ev.f.mode] == ev.f {
			l.start(ev.f)
		}
	case evSeatFreed, evSeatRefused:
		r := l.running[ev.m]
		if r == nil || !r.players[ev.p] {
			return
		}
		delete(r.players, ev.p)
		r.free++
		ev.p.assigned = nil
		ev.p.expired = ev.expired
		if ev.kind == evSeatRefused {
			l.seat(ev.p, l.cfg.Modes[ev.m.spec.Name])
		}
	case evEnded:
		r := l.running[ev.m]
		if r == nil {
			return
		}
		delete(l.running, ev.m)
		seated := make(map[*Player]bool, len(ev.players))
		for _, p := range ev.players {
			seated[p] = true
		}
		// Players sent to the match that it never seated queue again.
		var requeue []*Player
		for p := range r.players {
			p.assigned = nil
			if !seated[p] {
				requeue = append(requeue, p)
			}
		}
		sort.Slice(requeue, func(i, j int) bool { return requeue[i].ID < requeue[j].ID })
		for _, p := range requeue {
			l.seat(p, l.cfg.Modes[ev.m.spec.Name])
		}
	}
}

// shutdown stops every match and waits for them.
func (l *Lobby) shutdown() {
	for _, f := range l.forming {
		l.dropForming(f)
		for _, p := range f.players {
			p.queued = nil
		}
	}
	for m := range l.running {
		m.Stop()
	}
	for m := range l.running {
		<-m.done
	}
}
