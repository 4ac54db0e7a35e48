package match

import (
	"errors"
	"fmt"

	"skirmish/game"
	"skirmish/netcode"
)

// Sim runs a match's rules without a match goroutine, clock or
// connections: the seat events and inputs of each tick, then the step,
// as Match does. Replay drives it from a log; tests drive it from
// scripts.
type Sim struct {
	Mode  game.Mode
	World *game.World
	Rules game.Rules
	seats []game.Player // by seat; World.Players points here
}

// NewSim returns the simulation of a new match of mode, as the lobby
// starts one: a world of seed and entity ID base idBase at tickRate,
// rewinding up to rewind ticks (World.Rewind), and the mode's new rules.
func NewSim(mode game.Mode, tickRate int, seed uint64, idBase uint32, rewind int) (*Sim, error) {
	spec := mode.Spec()
	s := &Sim{Mode: mode, World: game.NewWorld(spec, tickRate, seed, idBase), seats: make([]game.Player, spec.MaxPlayers)}
	s.World.Rewind = rewind
	if err := s.safely(func() { s.Rules = mode.NewRules(s.World) }); err != nil {
		return nil, err
	}
	return s, nil
}

// RestoreSim returns the simulation of a match restored from checkpoint
// cp, as restoreMatch restores one (every seat of cp is taken, away as cp
// says), rewinding up to rewind ticks.
func RestoreSim(mode game.Mode, tickRate int, cp *Checkpoint, rewind int) (*Sim, error) {
	spec := mode.Spec()
	rm, ok := mode.(game.Resumable)
	switch {
	case !ok:
		return nil, fmt.Errorf("mode %s cannot resume matches", spec.Name)
	case cp.Mode != spec.Name || int(cp.TickRate) != tickRate:
		return nil, fmt.Errorf("checkpoint of %s at %d Hz, not %s at %d Hz", cp.Mode, cp.TickRate, spec.Name, tickRate)
	case len(cp.Seats) != spec.MaxPlayers:
		return nil, fmt.Errorf("checkpoint has %d seats, mode %d", len(cp.Seats), spec.MaxPlayers)
	}
	w, err := game.RestoreWorld(spec, tickRate, &cp.World)
	if err != nil {
		return nil, err
	}
	w.Rewind = rewind
	s := &Sim{Mode: mode, World: w, seats: make([]game.Player, spec.MaxPlayers)}
	var rerr error
	if err := s.safely(func() { s.Rules, rerr = rm.ResumeRules(w, cp.Rules) }); err != nil || rerr != nil || s.Rules == nil {
		return nil, fmt.Errorf("resume rules: %w", errors.Join(err, rerr, errors.New("no rules")))
	}
	for i, st := range cp.Seats {
		if st.PlayerID == "" {
			continue
		}
		if w.Get(st.Entity) == nil {
			return nil, fmt.Errorf("seat %d: no entity %d", i, st.Entity)
		}
		s.seats[i] = game.Player{Seat: i, ID: st.PlayerID, Name: st.Name, Entity: st.Entity, Score: st.Score, Away: st.Away}
		w.Players[i] = &s.seats[i]
	}
	return s, nil
}

// safely runs f, turning a panic of the rules into an error.
func (s *Sim) safely(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			tick := uint64(0)
			if s.World != nil {
				tick = s.World.Tick
			}
			err = fmt.Errorf("rules panicked at tick %d: %v", tick, v)
		}
	}()
	f()
	return nil
}

func (s *Sim) seat(seat int) error {
	if seat < 0 || seat >= len(s.seats) {
		return fmt.Errorf("seat %d of %d", seat, len(s.seats))
	}
	return nil
}

// Join seats player id (name) at seat, as Match.join does.
func (s *Sim) Join(seat int, id, name string) error {
	if err := s.seat(seat); err != nil {
		return err
	}
	if s.World.Players[seat] != nil {
		return fmt.Errorf("join: seat %d is taken", seat)
	}
	s.seats[seat] = game.Player{Seat: seat, ID: id, Name: name}
	s.World.Players[seat] = &s.seats[seat]
	return s.safely(func() { s.Rules.Join(s.World, &s.seats[seat]) })
}

// Leave frees seat, as Match.leave does.
func (s *Sim) Leave(seat int) error {
	if err := s.seat(seat); err != nil {
		return err
	}
	if s.World.Players[seat] == nil {
		return fmt.Errorf("leave: seat %d is free", seat)
	}
	err := s.safely(func() { s.Rules.Leave(s.World, &s.seats[seat]) })
	s.World.Players[seat] = nil
	return err
}

// Away marks the player of seat away (their connection dropped) or back.
func (s *Sim) Away(seat int, away bool) error {
	if err := s.seat(seat); err != nil {
		return err
	}
	if s.World.Players[seat] == nil {
		return fmt.Errorf("away: seat %d is free", seat)
	}
	s.seats[seat].Away = away
	return nil
}

// Apply hands in to the rules for the player of seat and returns their
// verdict (netcode.RejectNone: applied).
func (s *Sim) Apply(seat int, in *netcode.Input) (uint8, error) {
	if err := s.seat(seat); err != nil {
		return 0, err
	}
	if s.World.Players[seat] == nil {
		return 0, fmt.Errorf("input: seat %d is free", seat)
	}
	var code uint8
	err := s.safely(func() { code = s.Rules.Apply(s.World, &s.seats[seat], in) })
	return code, err
}

// Step ends the tick as Match.tick does: the rules step, the tick's
// removals and events are dropped, and the next tick begins.
func (s *Sim) Step() error {
	err := s.safely(func() { s.Rules.Step(s.World) })
	s.World.EndTick()
	s.World.Tick++
	return err
}

// Hash is StateHash of the simulated match.
func (s *Sim) Hash() uint64 { return StateHash(s.World, s.Rules) }

// Over reports whether the rules say the match is over.
func (s *Sim) Over() bool {
	var over bool
	_ = s.safely(func() { over = s.Rules.Over(s.World) })
	return over
}

// Standings are the match's result as Match.end computes it for outcome.
func (s *Sim) Standings(outcome uint8) []netcode.Standing {
	var st []netcode.Standing
	if outcome == netcode.OutcomeNormal {
		if err := s.safely(func() { st = s.Rules.Result(s.World) }); err != nil {
			return nil
		}
	}
	if st == nil && outcome != netcode.OutcomeError {
		st = game.Standings(s.World)
	}
	return st
}

// ReplayResult is what Replay computed.
type ReplayResult struct {
	Header *LogHeader
	// Ticks, Hash and Standings are the re-simulated match's at the end
	// of the log.
	Ticks     uint64
	Hash      uint64
	Standings []netcode.Standing
	// End is the log's end record (nil for an incomplete log).
	End *LogEnd
}

// ErrDesync is the error of a log whose re-simulation does not end as
// its end record says.
var ErrDesync = errors.New("replay: desync")

// ReplayOptions tune Replay.
type ReplayOptions struct {
	// MaxTicks stops with an error at a log of more ticks (0: no limit).
	MaxTicks uint64
	// EachTick, if set, is called after every tick with the simulation.
	EachTick func(s *Sim)
}

// Replay re-simulates the input log data with the rules of this build
// and checks the result against its end record: a different hash, tick
// count or standings is ErrDesync (wrapped, with the difference). A log
// that stops before its end record returns the result so far with
// ErrLogIncomplete; a malformed log or one that does not fit its mode is
// another error. data may be hostile.
func Replay(data []byte, opt ReplayOptions) (*ReplayResult, error) {
	r, h, err := NewLogReader(data)
	if err != nil {
		return nil, err
	}
	mode, err := game.NewMode(h.Mode, h.Settings...)
	if err != nil {
		return nil, fmt.Errorf("replay log: %w", err)
	}
	var sim *Sim
	if len(h.Checkpoint) == 0 {
		sim, err = NewSim(mode, h.TickRate, h.Seed, h.IDBase, int(h.RewindTicks))
	} else {
		var cp Checkpoint
		if err = DecodeCheckpoint(h.Checkpoint, &cp); err == nil {
			sim, err = RestoreSim(mode, h.TickRate, &cp, int(h.RewindTicks))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("replay log: %w", err)
	}
	if err := r.SetSeats(mode.Spec().MaxPlayers); err != nil {
		return nil, err
	}
	res := &ReplayResult{Header: h}
	var rec LogRecord
	for {
		ok, err := r.Next(&rec)
		if err != nil {
			res.Ticks, res.Hash = sim.World.Tick, sim.Hash()
			return res, err
		}
		if !ok {
			break
		}
		switch rec.Kind {
		case RecStep:
			if opt.MaxTicks > 0 && sim.World.Tick >= opt.MaxTicks {
				return nil, fmt.Errorf("replay log: more than %d ticks", opt.MaxTicks)
			}
			err = sim.Step()
			if err == nil && opt.EachTick != nil {
				opt.EachTick(sim)
			}
		case RecJoin:
			err = sim.Join(rec.Seat, rec.PlayerID, rec.Name)
		case RecLeave:
			err = sim.Leave(rec.Seat)
		case RecAway, RecBack:
			err = sim.Away(rec.Seat, rec.Kind == RecAway)
		case RecInput:
			_, err = sim.Apply(rec.Seat, &rec.Input)
		case RecEnd:
			end := rec.End
			res.End = &end
		}
		if err != nil {
			return nil, fmt.Errorf("replay log: tick %d: %w", sim.World.Tick, err)
		}
	}
	res.Ticks = sim.World.Tick
	res.Hash = sim.Hash()
	res.Standings = sim.Standings(res.End.Outcome)
	return res, res.check()
}

// check compares the re-simulation with the end record.
func (res *ReplayResult) check() error {
	e := res.End
	switch {
	case res.Ticks != e.Ticks:
		return fmt.Errorf("%w: %d ticks, the log says %d", ErrDesync, res.Ticks, e.Ticks)
	case res.Hash != e.Hash:
		return fmt.Errorf("%w: state hash %016x, the log says %016x", ErrDesync, res.Hash, e.Hash)
	case len(res.Standings) != len(e.Standings):
		return fmt.Errorf("%w: %d standings, the log says %d", ErrDesync, len(res.Standings), len(e.Standings))
	}
	for i := range e.Standings {
		a, b := &res.Standings[i], &e.Standings[i]
		if a.Place != b.Place || a.Score != b.Score || a.Team != b.Team || a.PlayerID != b.PlayerID || a.Name != b.Name {
			return fmt.Errorf("%w: standing %d is %s (place %d, score %d), the log says %s (place %d, score %d)",
				ErrDesync, i+1, a.Name, a.Place, a.Score, b.Name, b.Place, b.Score)
		}
	}
	return nil
}
