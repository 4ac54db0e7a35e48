package match

import (
	"fmt"
	"log/slog"
	"time"

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
