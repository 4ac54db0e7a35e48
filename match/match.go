package match

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// Config tunes matches. The zero value of a field means its default.
type Config struct {
	// TickRate is the number of ticks per second, 1 to 128; default 30.
	TickRate int
	// MaxCatchUp is the most late ticks run back to back before the loop
	// skips ahead; default 4.
	MaxCatchUp int
	// Clock is the time source; default SystemClock.
	Clock Clock
	// Observer receives measurements; default NopObserver.
	Observer Observer
	// Logger is the structured logger; default slog.Default().
	Logger *slog.Logger
	// InterestRadius overrides every mode's view radius R when > 0.
	InterestRadius float32
	// FullViews sends every player the whole match in full every tick
	// instead of diffs of their view: the foundation's behaviour, kept for
	// comparisons.
	FullViews bool
	// CongestedKick disconnects a player whose views were skipped this long
	// without a break; default 5 s.
	CongestedKick time.Duration
	// SeatGrace is how long a disconnected player's seat and avatar are
	// held for them to reconnect; default 30 s.
	SeatGrace time.Duration
	// Hooks hear about seats and results, to record them; default none.
	Hooks Hooks
	// CheckpointEvery is how often a match hands Checkpoints its state
	// (0: never). The first checkpoint is taken when the match starts.
	CheckpointEvery time.Duration
	// Checkpoints receives the checkpoints; required with CheckpointEvery.
	Checkpoints Checkpointer
	// PhaseGroup is how many matches of a node tick at the same instant;
	// default 8, -1: each match at its own start time. A node's matches
	// tick on PhaseSlots phases evenly spaced over the tick, filled in
	// order, up to PhaseGroup matches each (then evenly). Matches that
	// tick together wake together: the runtime runs their goroutines in
	// one pass (and their players' inputs, which arrive just before the
	// tick, in one netpoll), which costs far less CPU than a wakeup each;
	// but the players of a group get their snapshots in one burst, so a
	// large group adds latency. See README, Capacity.
	PhaseGroup int
}

// PhaseSlots is the number of tick phases a node's matches are spread
// over (Config.PhaseGroup).
const PhaseSlots = 8

// PhaseStep is the time between the ticks of two matches of one phase:
// about what a small match's tick takes, so that a phase's matches tick
// one after the other in the same order every tick (their players see
// steady tick times) while the processors stay busy from the first to the
// last (no wakeup each).
const PhaseStep = 100 * time.Microsecond

// Checkpointer receives a match's checkpoints, on the match goroutine: it
// must not block. data is the encoded Checkpoint (AppendCheckpoint); the
// callee owns it. free is the number of free seats; took is the time spent
// taking and encoding it.
type Checkpointer interface {
	Checkpoint(matchID, mode string, tick uint64, free int, data []byte, took time.Duration)
}

// Hooks receive a match's lifecycle, for the session store and the
// leaderboard. They are called on the match goroutine and must not block:
// hand the work to another goroutine.
type Hooks interface {
	// Seated: p holds seat in match (joined, or resumed after a reconnect).
	Seated(p *Player, matchID string, seat int)
	// Away: p's connection dropped; the seat is held until holdUntil.
	// ackSeq is the last input applied.
	Away(p *Player, matchID string, seat int, ackSeq uint32, holdUntil time.Time)
	// Unseated: p no longer has a seat, for the reason why.
	Unseated(p *Player, matchID string, why Unseat)
	// Ended: the match ended with these standings (the players seated at
	// the end, best first).
	Ended(matchID, mode string, outcome uint8, standings []netcode.Standing)
}

// Unseat says why a player lost their seat.
type Unseat uint8

// Reasons for Hooks.Unseated.
const (
	// UnseatLeft: the player left (leave, or closed with 1000).
	UnseatLeft Unseat = iota
	// UnseatExpired: the grace ran out while the player was away.
	UnseatExpired
	// UnseatEnded: the match ended; the player was sent the result.
	UnseatEnded
	// UnseatEndedAway: the match ended while the player was away.
	UnseatEndedAway
)

// NopHooks record nothing.
type NopHooks struct{}

func (NopHooks) Seated(*Player, string, int)                     {}
func (NopHooks) Away(*Player, string, int, uint32, time.Time)    {}
func (NopHooks) Unseated(*Player, string, Unseat)                {}
func (NopHooks) Ended(string, string, uint8, []netcode.Standing) {}

func (c *Config) withDefaults() Config {
	out := *c
	if out.TickRate == 0 {
		out.TickRate = 30
	}
	if out.PhaseGroup == 0 {
		out.PhaseGroup = 8
	}
	if out.MaxCatchUp <= 0 {
		out.MaxCatchUp = 4
	}
	if out.Clock == nil {
		out.Clock = SystemClock{}
	}
	if out.Observer == nil {
		out.Observer = NopObserver{}
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if out.CongestedKick <= 0 {
		out.CongestedKick = 5 * time.Second
	}
	if out.SeatGrace <= 0 {
		out.SeatGrace = 30 * time.Second
	}
	if out.Hooks == nil {
		out.Hooks = NopHooks{}
	}
	return out
}

// Validate reports a configuration the match cannot run with.
func (c *Config) Validate() error {
	if c.TickRate != 0 && (c.TickRate < 1 || c.TickRate > 128) {
		return fmt.Errorf("tick rate %d outside 1..128", c.TickRate)
	}
	return nil
}

// OutcomeMoved is the outcome Observer.MatchEnded reports for a match
// that ended on this node because it moved to another.
const OutcomeMoved uint8 = 255

// Per-player input limits.
const (
	// InputQueue is the most inputs that wait per player; more are
	// rejected with netcode.RejectDropped.
	InputQueue = 8
	// ReplayQueue is the most inputs that wait for a seat restored from a
	// checkpoint while it has catch-up applies left: the client resends
	// every input after the checkpoint's ack at once.
	ReplayQueue = netcode.MaxBatch
	maxRejects  = 32
	// inboxShare is the most inputs of one player in a match's inbox at
	// once (ReplayQueue in a match restored from a checkpoint): two ticks'
	// worth of a full queue; more than InputQueue are dropped at the tick
	// anyway.
	inboxShare = 2 * InputQueue
	// viewSlack is the room each view keeps for world slots beyond the
	// world's size when the player joins (a view grows, once, if the
	// world outgrows it).
	viewSlack = 16
)

type inputMsg struct {
	p    *Player
	from *Outbox // the send path of the connection it came on
	in   netcode.Input
	at   int64 // arrival, monotonic nanoseconds (monoNow)
}

// monoEpoch anchors monoNow.
var monoEpoch = time.Now()

// monoNow is a monotonic clock in nanoseconds, for input leads.
func monoNow() int64 { return int64(time.Since(monoEpoch)) }

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
)

type ctlMsg struct {
	kind  ctlKind
	p     *Player
	url   string        // ctlMoveAway: the new host's base URL
	reply chan<- []byte // ctlFreeze: the checkpoint (nil if the match ended)
}

// seat is one player's place in a match; the match goroutine owns it.
type seat struct {
	p  *Player
	gp game.Player
	// queue is a ring of InputQueue inputs, or of ReplayQueue for a seat
	// restored from a checkpoint (its client resends a backlog at once).
	queue   []inputMsg
	head, n int
	// catchUp is how many extra inputs the seat may still have applied in
	// a tick (a second one while more than one waits): a seat restored
	// from a checkpoint replays the inputs the client resends.
	catchUp int
	seen    uint32 // highest seq queued or rejected (voided at seating)
	ack     uint32 // every seq up to ack is applied, rejected or void
	// got: an input arrived since the seating; seqs skipped before the
	// first one are not reported missing.
	got     bool
	rejects []netcode.Reject
	view    *netcode.View
	// lead of the input applied this tick, in µs; hasLead if one was
	lead    int32
	hasLead bool
	// congested counts the ticks in a row whose view was skipped.
	congested int
	// away: the connection is gone, the seat held; awayTicks counts the
	// ticks since.
	away      bool
	awayTicks int
	// out is the send path the player was seated or resumed on. When the
	// player's connection changes, views wait until the match has resumed
	// them (matched, then a full view) on the new one.
	out    *Outbox
	events []netcode.Event // this tick's events the player can see
}

// Match is one running match: a goroutine that owns a world and runs the
// mode's rules on a fixed tick. Create it with the Lobby.
type Match struct {
	ID    string
	mode  game.Mode
	spec  *game.Spec
	rules game.Rules
	world *game.World
	cfg   Config
	obs   Observer
	log   *slog.Logger

	inbox  chan inputMsg
	share  int32 // the places of the inbox each player may hold
	ctl    chan ctlMsg
	events chan<- lobbyEvent
	done   chan struct{}

	seats    []seat
	scores   []netcode.Score
	interest netcode.Interest
	grid     *netcode.Grid
	cells    []int32
	evSlots  [][2]int32 // world slots of each event's entities (-1: none)
	sendBuf  []byte     // the snapshot being sent, after netcode.WSHeadroom
	// phaseSlot is the tick phase the lobby gave the match (see
	// Config.PhaseGroup; -1: none) and phaseIdx its place in the phase,
	// before it runs.
	phaseSlot, phaseIdx int
	dt                  time.Duration
	endTick             uint32
	kickAt              int // congested ticks before a kick
	graceAt             int // away ticks before the seat is freed
	hooks               Hooks
	startAt             time.Time
	ended               bool
	step                func(Step, *Player) // the lobby's test hook

	serial   uint64
	restored bool // resumed from a checkpoint: no NewRules, no first joins
	cpEvery  int  // ticks between checkpoints (0: none)
	cpTicks  int
	cp       Checkpoint // reused by checkpoint
	cpBuf    []byte
	// movedAway: the match was handed to another node; it ends without a
	// result and without telling the hooks its players lost their seats.
	movedAway bool
}

// newMatch creates a match of mode; it starts running with start.
func newMatch(id string, serial uint64, mode game.Mode, cfg Config, seed uint64, events chan<- lobbyEvent) *Match {
	spec := mode.Spec()
	m := &Match{
		ID:      id,
		mode:    mode,
		spec:    spec,
		cfg:     cfg,
		obs:     cfg.Observer,
		log:     cfg.Logger.With("match", id, "mode", spec.Name),
		inbox:   make(chan inputMsg, spec.MaxPlayers*inboxShare),
		share:   inboxShare,
		ctl:     make(chan ctlMsg, spec.MaxPlayers*2+8),
		events:  events,
		done:    make(chan struct{}),
		seats:   make([]seat, spec.MaxPlayers),
		scores:  make([]netcode.Score, 0, spec.MaxPlayers),
		sendBuf: make([]byte, 0, 2048),
		dt:      time.Second / time.Duration(cfg.TickRate),
	}
	m.interest = spec.Interest.WithDefaults()
	if cfg.InterestRadius > 0 {
		m.interest.Radius = cfg.InterestRadius
	}
	if m.interest.Radius <= 0 { // a mode without interest sees everything
		m.interest.Radius = spec.Width + spec.Height
	}
	m.interest.Full = cfg.FullViews
	m.grid = netcode.NewGrid(spec.Width, spec.Height, max(m.interest.Radius/2, 1))
	m.endTick = uint32(spec.Duration.Seconds() * float64(cfg.TickRate))
	m.kickAt = int(cfg.CongestedKick.Seconds() * float64(cfg.TickRate))
	m.graceAt = int(cfg.SeatGrace.Seconds() * float64(cfg.TickRate))
	m.hooks = cfg.Hooks
	m.serial = serial
	if cfg.CheckpointEvery > 0 && cfg.Checkpoints != nil {
		m.cpEvery = max(1, int(cfg.CheckpointEvery.Seconds()*float64(cfg.TickRate)))
	}
	for i := range m.seats {
		m.seats[i].rejects = make([]netcode.Reject, 0, maxRejects)
		m.seats[i].queue = make([]inputMsg, InputQueue)
		m.seats[i].view = netcode.NewView(&spec.Schema, m.interest)
		m.seats[i].events = make([]netcode.Event, 0, 16)
	}
	// Matches number their entities from disjoint ranges of 2^20 IDs.
	m.world = game.NewWorld(spec, cfg.TickRate, seed, uint32(serial%4000)<<20)
	return m
}

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
	m.inbox, m.share = make(chan inputMsg, spec.MaxPlayers*ReplayQueue), ReplayQueue
	w, err := game.RestoreWorld(spec, cfg.TickRate, &cp.World)
	if err != nil {
		return nil, nil, err
	}
	m.world = w
	var rerr error
	if perr := m.safely(func() { m.rules, rerr = rm.ResumeRules(w, cp.Rules) }); perr != nil || rerr != nil || m.rules == nil {
		return nil, nil, fmt.Errorf("resume rules: %w", errors.Join(perr, rerr))
	}
	m.restored = true
	// The client resends what the checkpoint missed: up to two checkpoint
	// intervals of inputs, applied two per tick.
	catchUp := 2 * max(1, int(cfg.CheckpointEvery.Seconds()*float64(cfg.TickRate)))
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
		s.p, s.seen, s.ack, s.catchUp = p, st.Ack, st.Ack, catchUp
		s.queue = make([]inputMsg, ReplayQueue)
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

// Done is closed when the match goroutine has ended.
func (m *Match) Done() <-chan struct{} { return m.done }

// Mode returns the name of the match's mode.
func (m *Match) Mode() string { return m.spec.Name }

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

// run is the match goroutine: it seats the first players, then runs tick n
// at start + n·dt. When late it runs the late ticks back to back, at most
// MaxCatchUp of them, skips the rest and counts them as overruns.
func (m *Match) run(players []*Player) {
	defer close(m.done)
	outcome := uint8(netcode.OutcomeNormal)
	defer func() {
		if v := recover(); v != nil {
			m.log.Error("match panicked", "panic", fmt.Sprint(v))
			m.end(netcode.OutcomeError)
		}
	}()
	if !m.restored {
		if err := m.safely(func() { m.rules = m.mode.NewRules(m.world) }); err != nil {
			m.end(netcode.OutcomeError)
			return
		}
	}
	m.obs.MatchStarted(m.spec.Name)
	if m.restored {
		// Every seat waits for its player, from now on.
		holdUntil := m.cfg.Clock.Now().Add(m.cfg.SeatGrace)
		for i := range m.seats {
			if s := &m.seats[i]; s.p != nil {
				m.hooks.Away(s.p, m.ID, i, s.ack, holdUntil)
			}
		}
	}
	for _, p := range players {
		m.join(p)
	}
	m.checkpoint()
	clock := m.cfg.Clock
	m.startAt = m.phase(clock.Now())
	timer := clock.NewTimer(0)
	defer timer.Stop()
	var n int64 // next tick
	for !m.ended {
		select {
		case c := <-m.ctl:
			switch {
			case c.kind == ctlFreeze:
				if m.freeze(c.reply) {
					return
				}
				// Thawed: the ticks missed while frozen are skipped.
				m.startAt, n = m.phase(clock.Now()), 0
				timer.Reset(0)
			case m.control(c):
				outcome = netcode.OutcomeShutdown
				m.end(outcome)
			}
			continue
		case <-timer.C():
		}
		now := clock.Now()
		for ran := 0; !m.ended && !now.Before(m.tickTime(n)); ran++ {
			if ran == m.cfg.MaxCatchUp {
				skip := int64(now.Sub(m.tickTime(n))/m.dt) + 1
				m.obs.Overrun(int(skip))
				n += skip
				break
			}
			if now.Sub(m.tickTime(n)) >= m.dt {
				m.obs.Overrun(1)
			}
			t0 := time.Now()
			if err := m.safely(m.tick); err != nil {
				m.end(netcode.OutcomeError)
				break
			}
			m.obs.TickDone(time.Since(t0))
			n++
			if m.rules.Over(m.world) || m.empty() {
				m.end(netcode.OutcomeNormal)
			} else if m.cpEvery > 0 {
				if m.cpTicks++; m.cpTicks >= m.cpEvery {
					m.cpTicks = 0
					m.checkpoint()
				}
			}
		}
		if !m.ended {
			timer.Reset(m.tickTime(n).Sub(clock.Now()))
		}
	}
}

// empty reports a match whose every seat is free (seats held for away
// players count as taken): it ends, and its goroutine with it.
func (m *Match) empty() bool {
	for i := range m.seats {
		if m.seats[i].p != nil {
			return false
		}
	}
	return true
}

func (m *Match) tickTime(n int64) time.Time { return m.startAt.Add(time.Duration(n) * m.dt) }

// phase returns the time of the first tick of a match starting at now: the
// last instant of its place in its phase (see Config.PhaseGroup), counted
// in ticks since the zero time, so that the matches of a phase tick
// PhaseStep apart, in the same order, every tick. A slot of -1 ticks from
// now.
func (m *Match) phase(now time.Time) time.Time {
	if m.phaseSlot < 0 {
		return now
	}
	at := now.Truncate(m.dt).Add(time.Duration(m.phaseSlot)*m.dt/PhaseSlots + time.Duration(m.phaseIdx)*PhaseStep)
	if at.After(now) {
		at = at.Add(-m.dt)
	}
	return at
}

// safely runs f, turning a panic into an error so that a fault in the rules
// ends this match only.
func (m *Match) safely(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			m.log.Error("rules panicked", "panic", fmt.Sprint(v), "tick", m.world.Tick)
			err = fmt.Errorf("rules panic: %v", v)
		}
	}()
	f()
	return nil
}

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
	case ctlStop:
		return true
	case ctlMoveAway, ctlThaw:
		// Not frozen: nothing to move or thaw.
	}
	return false
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
				Score: s.gp.Score, Ack: s.ack, Away: s.away}
		}
		cp.Seats = append(cp.Seats, st)
	}
	m.cpBuf = AppendCheckpoint(m.cpBuf[:0], cp)
	return append([]byte(nil), m.cpBuf...), true
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
	base := p.maxSeq.Load()
	*s = seat{p: p, out: p.Out(), seen: base, ack: base, rejects: rejects, view: view, events: events, queue: queue, gp: game.Player{Seat: i, ID: p.ID, Name: p.Name}}
	m.world.Players[i] = &s.gp
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
		AckSeq:   s.ack,
		Info:     m.spec.Info(m.cfg.TickRate),
	}
	msg.Info.InterestRadius = m.interest.Radius // as this match applies it
	if out := s.p.Out(); !out.PostControl(netcode.AppendMatched(nil, &msg)) {
		out.Kick(netcode.CloseCongested)
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
	m.hooks.Away(p, m.ID, s.gp.Seat, s.ack, m.cfg.Clock.Now().Add(m.cfg.SeatGrace))
	m.log.Debug("player away", "player", p.ID, "ack", s.ack)
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
	s.out = p.Out()
	s.view.Reset()
	m.sendMatched(s)
	m.hooks.Seated(p, m.ID, s.gp.Seat)
	m.log.Debug("player resumed", "player", p.ID, "ack", s.ack)
}

// leave frees p's seat, if p is seated here.
func (m *Match) leave(p *Player) {
	for i := range m.seats {
		s := &m.seats[i]
		if s.p != p {
			continue
		}
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

// tick runs one tick: gather inputs, apply at most one per player, step,
// send every player its snapshot.
func (m *Match) tick() {
	w := m.world
	now := monoNow()
	m.gather()
	applied, rejected := 0, 0
	for i := range m.seats {
		s := &m.seats[i]
		s.hasLead = false
		if s.p == nil {
			continue
		}
		if s.n == 0 {
			// Seqs rejected on arrival (dropped, missing) are settled too.
			s.ack = max(s.ack, s.seen)
			continue
		}
		// One input a tick; a seat catching up on a resent backlog takes a
		// second one while more wait.
		for k := 0; k == 0 || (k == 1 && s.catchUp > 0 && s.n > 1); k++ {
			if k > 0 {
				s.catchUp--
			}
			msg := &s.queue[s.head]
			in := &msg.in
			s.head = (s.head + 1) % len(s.queue)
			s.n--
			// The snapshot's ackSeq is this input's, so that its lead is
			// the lead of input ackSeq; seqs rejected on arrival above it
			// are settled by a later tick.
			s.ack = in.Seq
			s.lead = int32(min(max(now-msg.at, 0)/int64(time.Microsecond), 1<<30))
			s.hasLead = true
			if code := m.rules.Apply(w, &s.gp, in); code != netcode.RejectNone {
				s.reject(in.Seq, code)
				rejected++
			} else {
				applied++
			}
		}
	}
	m.obs.InputsApplied(applied, rejected)
	for i := range m.seats {
		if s := &m.seats[i]; s.p != nil && s.away {
			if s.awayTicks++; s.awayTicks >= m.graceAt {
				m.log.Info("seat grace expired", "player", s.p.ID)
				m.leave(s.p)
			}
		}
	}
	m.rules.Step(w)
	m.send()
	w.EndTick()
	w.Tick++
}

// gather drains the inbox into the per-player queues, dropping duplicates
// (seq already seen) and inputs beyond a full queue.
func (m *Match) gather() {
	for {
		var msg inputMsg
		select {
		case msg = <-m.inbox:
			msg.p.inflight.Add(-1)
		default:
			return
		}
		s := m.seatOf(msg.p)
		if s == nil || msg.from != s.out || msg.from != msg.p.Out() || msg.in.Seq <= s.seen {
			// Not seated here; from a connection that is not the player's
			// current one (replaced) or that the seat is not bound to yet
			// (not resumed); or a duplicate or void seq.
			continue
		}
		if s.got {
			// Seqs between the last seen and this one never arrived: lost
			// on the way, or dropped at a full inbox (below the player's
			// highest dropped seq).
			dropped := msg.p.dropped.Load()
			for q := s.seen + 1; q < msg.in.Seq && q < s.seen+maxRejects; q++ {
				code := netcode.RejectMissing
				if q <= dropped {
					code = netcode.RejectDropped
				}
				s.reject(q, code)
			}
		}
		s.seen, s.got = msg.in.Seq, true
		limit := InputQueue
		if s.catchUp > 0 {
			limit = ReplayQueue
		}
		if s.n >= limit {
			s.reject(msg.in.Seq, netcode.RejectDropped)
			m.obs.InputDropped()
			continue
		}
		s.queue[(s.head+s.n)%len(s.queue)] = msg
		s.n++
	}
}

func (m *Match) seatOf(p *Player) *seat {
	for i := range m.seats {
		if m.seats[i].p == p {
			return &m.seats[i]
		}
	}
	return nil
}

func (s *seat) reject(seq uint32, code uint8) {
	if len(s.rejects) < cap(s.rejects) {
		s.rejects = append(s.rejects, netcode.Reject{Seq: seq, Code: code})
	}
}

// send gives every seated player the snapshot of their view: the grid
// finds the entities near their avatar, their View diffs them against what
// they were last sent. A congested player's view is skipped before it is
// computed, so their next diff is still against what they really got;
// their rejects wait for the next snapshot. A player congested for
// Config.CongestedKick is disconnected.
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
	case m.interest.Full:
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
		AckSeq:  s.ack,
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

// end finishes the match: the lobby learns it first (so that a player who
// queues again on the result finds it free), then every seated player gets
// the result.
func (m *Match) end(outcome uint8) {
	if m.ended {
		return
	}
	m.ended = true
	var standings []netcode.Standing
	if m.rules != nil && outcome == netcode.OutcomeNormal {
		if err := m.safely(func() { standings = m.rules.Result(m.world) }); err != nil {
			outcome = netcode.OutcomeError
		}
	}
	if standings == nil && outcome != netcode.OutcomeError {
		standings = game.Standings(m.world)
	}
	// The lobby learns of the end first, so that a player who queues again
	// on the result finds the match over. Every seated player who is
	// connected gets the result on the connection their seat is bound to;
	// the lobby sends it again to one who came back on another connection.
	frame := netcode.AppendResult(nil, outcome, standings)
	var ended []endedSeat
	for i := range m.seats {
		s := &m.seats[i]
		p := s.p
		if p == nil {
			continue
		}
		p.match.CompareAndSwap(m, nil)
		why, sent := UnseatEnded, s.out
		if s.away {
			why, sent = UnseatEndedAway, nil
		}
		ended = append(ended, endedSeat{p: p, sent: sent})
		m.hooks.Unseated(p, m.ID, why)
	}
	m.notify(lobbyEvent{kind: evEnded, m: m, ended: ended, result: frame})
	m.hooks.Ended(m.ID, m.spec.Name, outcome, standings)
	for _, s := range ended {
		if s.sent != nil {
			post(s.sent, frame)
		}
	}
	m.obs.MatchEnded(m.spec.Name, outcome)
	m.log.Info("match ended", "outcome", outcome, "players", len(ended), "ticks", m.world.Tick)
	for _, s := range ended {
		m.stepped(StepEnded, s.p)
	}
}

// notify sends an event to the lobby without blocking the match: if the
// lobby's queue is full, a goroutine delivers it.
func (m *Match) notify(ev lobbyEvent) {
	select {
	case m.events <- ev:
	default:
		go func() { m.events <- ev }()
	}
}
