package match

import (
	"log/slog"
	"sync/atomic"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// OutcomeMoved is the outcome Observer.MatchEnded reports for a match
// that ended on this node because it moved to another.
const OutcomeMoved uint8 = 255

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
	grid     *game.Grid
	cells    []int32
	evSlots  [][2]int32 // world slots of each event's entities (-1: none)
	sendBuf  []byte     // the snapshot being sent, after netcode.WSHeadroom
	// phaseSlot is the tick phase the lobby gave the match (see
	// Config.TickPhaseGroup; -1: none) and phaseIdx its place in the phase,
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

	seed   uint64    // the world's seed, for the input log
	idBase uint32    // the world's entity ID base, for the input log
	rec    *recorder // the input log (nil: not recorded)
	// Spectators (spectate.go): who watches, the views they no longer
	// use, the ring of recorded frames and how many were recorded since
	// the first spectator came.
	specs      []*spectator
	spares     []*spectator
	ring       []delayedFrame
	recorded   uint64
	delayTicks int
	// liveTick is the tick the match runs next, for the lobby's listing.
	liveTick atomic.Uint32
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
		inbox:   make(chan inputMsg, spec.MaxPlayers*netcode.InboxShare),
		share:   netcode.InboxShare,
		ctl:     make(chan ctlMsg, spec.MaxPlayers*2+max(cfg.MaxSpectators, 0)*2+8),
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
	m.interest.FullSnapshots = cfg.FullSnapshots
	m.grid = game.NewGrid(spec.Width, spec.Height, max(m.interest.Radius/2, 1))
	m.endTick = uint32(spec.Duration.Seconds() * float64(cfg.TickRate))
	m.kickAt = int(cfg.CongestedTimeout.Seconds() * float64(cfg.TickRate))
	m.graceAt = int(cfg.SeatGrace.Seconds() * float64(cfg.TickRate))
	m.hooks = cfg.Hooks
	m.delayTicks = int(cfg.SpectateDelay.Seconds()*float64(cfg.TickRate) + 0.5)
	m.serial = serial
	if cfg.CheckpointInterval > 0 && cfg.Checkpoints != nil {
		m.cpEvery = max(1, int(cfg.CheckpointInterval.Seconds()*float64(cfg.TickRate)))
	}
	for i := range m.seats {
		m.seats[i].rejects = make([]netcode.Reject, 0, netcode.MaxRejects)
		m.seats[i].queue = make([]inputMsg, netcode.InputQueue)
		m.seats[i].view = netcode.NewView(&spec.Schema, m.interest)
		m.seats[i].events = make([]netcode.Event, 0, 16)
	}
	// Matches number their entities from disjoint ranges of 2^20 IDs.
	m.seed, m.idBase = seed, uint32(serial%4000)<<20
	m.world = game.NewWorld(spec, cfg.TickRate, seed, m.idBase)
	m.world.Rewind = cfg.RewindTicks()
	return m
}

// Done is closed when the match goroutine has ended.
func (m *Match) Done() <-chan struct{} { return m.done }

// Mode returns the name of the match's mode.
func (m *Match) Mode() string { return m.spec.Name }

// end finishes the match: the lobby learns it first (so that a player who
// queues again on the result finds it free), then every seated player gets
// the result.
func (m *Match) end(outcome uint8) {
	if m.ended {
		return
	}
	m.ended = true
	// The log's end hash is of the state before Result, which may write
	// (ctf sets teams): as the replay takes it.
	hash, hashErr := m.logHash()
	var standings []netcode.Standing
	if m.rules != nil && outcome == netcode.OutcomeNormal {
		if err := m.safely(func() { standings = m.rules.Result(m.world) }); err != nil {
			outcome = netcode.OutcomeError
		}
	}
	if standings == nil && outcome != netcode.OutcomeError {
		standings = game.Standings(m.world)
	}
	if hashErr != nil {
		outcome = netcode.OutcomeError
	}
	m.endRecording(outcome, standings, hash)
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
	m.dropSpectators() // the lobby sends them the result
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
