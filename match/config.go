package match

import (
	"fmt"
	"log/slog"
	"time"

	"skirmish/netcode"
)

// Config tunes matches. The zero value of a field means its default:
// EnsureDefaults sets them, once, and Validate checks the result. The
// server's options of the same names take these defaults.
type Config struct {
	// TickRate is the number of ticks per second, 1 to 128; default
	// DefaultTickRate.
	TickRate int
	// MaxCatchUp is the most late ticks run back to back before the loop
	// skips ahead; default DefaultMaxCatchUp.
	MaxCatchUp int
	// Clock is the time source; default SystemClock.
	Clock Clock
	// Observer receives measurements; default NopObserver.
	Observer Observer
	// Logger is the structured logger; default slog.Default().
	Logger *slog.Logger
	// InterestRadius overrides every mode's view radius R when > 0; 0:
	// the mode's.
	InterestRadius float32
	// FullSnapshots sends every player the whole match in full every tick
	// instead of diffs of their view (netcode.Interest.FullSnapshots): the
	// foundation's behaviour, kept for comparisons.
	FullSnapshots bool
	// CongestedTimeout disconnects a player whose views were skipped this
	// long without a break; default DefaultCongestedTimeout.
	CongestedTimeout time.Duration
	// SeatGrace is how long a disconnected player's seat and avatar are
	// held for them to reconnect; default DefaultSeatGrace.
	SeatGrace time.Duration
	// Hooks hear about seats and results, to record them; default none.
	Hooks Hooks
	// CheckpointInterval is how often a match hands Checkpoints its state
	// (0: never). The first checkpoint is taken when the match starts.
	CheckpointInterval time.Duration
	// Checkpoints receives the checkpoints; required with
	// CheckpointInterval.
	Checkpoints Checkpointer
	// Record, if set, records every match's input log, for Replay.
	Record *Recording
	// TickPhaseGroup is how many matches of a node tick at the same
	// instant; default DefaultTickPhaseGroup, -1: each match at its own
	// start time. A node's matches tick on PhaseSlots phases evenly spaced
	// over the tick, filled in order, up to TickPhaseGroup matches each
	// (then evenly). Matches that
	// tick together wake together: the runtime runs their goroutines in
	// one pass (and their players' inputs, which arrive just before the
	// tick, in one netpoll), which costs far less CPU than a wakeup each;
	// but the players of a group get their snapshots in one burst, so a
	// large group adds latency. See README, Capacity.
	TickPhaseGroup int
	// RewindMax bounds lag compensation: the rules test an input's shots
	// against the world as its sender saw it (its view time), but never
	// further back than this before the newest state. Default
	// DefaultRewindMax; negative: no rewind (the rules see the newest
	// state); at most MaxRewind. In ticks (World.Rewind, RewindTicks) it
	// is rounded down.
	RewindMax time.Duration
	// MaxSpectators caps the spectators of each match; default
	// DefaultMaxSpectators, -1: no spectators.
	MaxSpectators int
	// SpectateDelay is how far behind live spectators see a match;
	// default DefaultSpectateDelay.
	SpectateDelay time.Duration
}

// The defaults of Config and LobbyConfig: the server's options of the same
// names take them too.
const (
	DefaultTickRate         = 30
	DefaultMaxCatchUp       = 4
	DefaultCongestedTimeout = 5 * time.Second
	DefaultSeatGrace        = 30 * time.Second
	DefaultTickPhaseGroup   = 8
	DefaultFillTimeout      = 3 * time.Second
	DefaultRewindMax        = 200 * time.Millisecond
)

// MaxRewind is the largest Config.RewindMax: a client that claims to see
// the world more than a second late is not compensated for more, and the
// history of positions a match keeps stays small.
const MaxRewind = time.Second

// RewindTicks is the rewind bound in whole ticks (game.World.Rewind):
// RewindMax rounded down, 0 when it is negative (none).
func (c *Config) RewindTicks() int {
	if c.RewindMax <= 0 {
		return 0
	}
	return int(c.RewindMax * time.Duration(c.TickRate) / time.Second)
}

// PhaseSlots is the number of tick phases a node's matches are spread
// over (Config.TickPhaseGroup).
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

// EnsureDefaults sets every field of c left at its zero value (or, for
// MaxCatchUp, CongestedTimeout and SeatGrace, not positive) to its
// default, and returns c; a nil c is a new Config. It is the one place
// Config's defaults are applied: NewLobby calls it, then Validate.
func (c *Config) EnsureDefaults() *Config {
	if c == nil {
		c = &Config{}
	}
	if c.TickRate == 0 {
		c.TickRate = DefaultTickRate
	}
	if c.TickPhaseGroup == 0 {
		c.TickPhaseGroup = DefaultTickPhaseGroup
	}
	if c.MaxCatchUp <= 0 {
		c.MaxCatchUp = DefaultMaxCatchUp
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.CongestedTimeout <= 0 {
		c.CongestedTimeout = DefaultCongestedTimeout
	}
	if c.SeatGrace <= 0 {
		c.SeatGrace = DefaultSeatGrace
	}
	if c.Hooks == nil {
		c.Hooks = NopHooks{}
	}
	if c.RewindMax == 0 {
		c.RewindMax = DefaultRewindMax
	}
	if c.MaxSpectators == 0 {
		c.MaxSpectators = DefaultMaxSpectators
	}
	if c.SpectateDelay == 0 {
		c.SpectateDelay = DefaultSpectateDelay
	}
	return c
}

// Validate reports a configuration the match cannot run with. A zero field
// is valid (it takes its default).
func (c *Config) Validate() error {
	switch {
	case c.TickRate != 0 && (c.TickRate < 1 || c.TickRate > 128):
		return fmt.Errorf("tick rate %d outside 1..128", c.TickRate)
	case c.InterestRadius < 0:
		return fmt.Errorf("interest radius %v is negative", c.InterestRadius)
	case c.CheckpointInterval < 0:
		return fmt.Errorf("checkpoint interval %v is negative", c.CheckpointInterval)
	case c.CheckpointInterval > 0 && c.Checkpoints == nil:
		return fmt.Errorf("a checkpoint interval without Checkpoints")
	case c.RewindMax > MaxRewind:
		return fmt.Errorf("rewind max %v over %v", c.RewindMax, MaxRewind)
	case c.MaxSpectators < -1:
		return fmt.Errorf("max spectators %d below -1", c.MaxSpectators)
	case c.SpectateDelay < 0 || c.SpectateDelay > time.Minute:
		return fmt.Errorf("spectate delay %v outside 0..1m", c.SpectateDelay)
	}
	return nil
}
