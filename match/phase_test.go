package match

import (
	"testing"
	"time"
)

// New matches fill the tick phases in order, PhaseGroup each, then the
// emptiest; an ended match frees its place.
func TestTakePhase(t *testing.T) {
	l := &Lobby{cfg: LobbyConfig{Match: Config{PhaseGroup: 2}}}
	var got []int
	for range 2*PhaseSlots + 3 {
		got = append(got, l.takePhase())
	}
	for i := range 2 * PhaseSlots {
		if got[i] != i/2 {
			t.Fatalf("phases %v: match %d on %d, want %d", got, i, got[i], i/2)
		}
	}
	if got[2*PhaseSlots] != 0 || got[2*PhaseSlots+1] != 1 || got[2*PhaseSlots+2] != 2 {
		t.Fatalf("phases past full groups %v, want 0, 1, 2", got[2*PhaseSlots:])
	}
	l.phases[5] = 0 // two matches on phase 5 ended
	if p := l.takePhase(); p != 5 {
		t.Errorf("took %d with phase 5 empty", p)
	}
	l.cfg.Match.PhaseGroup = -1
	if p := l.takePhase(); p != -1 {
		t.Errorf("PhaseGroup -1: took %d", p)
	}
}

// A match's ticks fall on its phase: slot k of PhaseSlots after a whole
// tick, and never after the match starts.
func TestPhaseInstant(t *testing.T) {
	m := &Match{dt: time.Second / 30}
	now := time.Unix(1000, 12_345_678) // 12.3 ms into a 33.3 ms tick
	for slot := range PhaseSlots {
		m.phaseSlot = slot
		at := m.phase(now)
		if at.After(now) || now.Sub(at) >= m.dt {
			t.Fatalf("slot %d: first tick %v for a start at %v", slot, at, now)
		}
		if off := at.Sub(at.Truncate(m.dt)); off != time.Duration(slot)*m.dt/PhaseSlots {
			t.Errorf("slot %d: %v into the tick, want %v", slot, off, time.Duration(slot)*m.dt/PhaseSlots)
		}
	}
	m.phaseSlot = -1
	if !m.phase(now).Equal(now) {
		t.Error("slot -1 moved the start")
	}
}
