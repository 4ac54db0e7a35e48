package match

import (
	"testing"
	"time"
)

// New matches fill the tick phases in order, TickPhaseGroup each, then the
// emptiest; each takes the first free place of its phase; an ended match
// frees both.
func TestTakePhase(t *testing.T) {
	l := &Lobby{cfg: LobbyConfig{Match: Config{TickPhaseGroup: 2}}}
	type ph struct{ slot, idx int }
	var got []ph
	for range 2*PhaseSlots + 3 {
		s, i := l.takePhase()
		got = append(got, ph{s, i})
	}
	for i := range 2 * PhaseSlots {
		if want := (ph{i / 2, i % 2}); got[i] != want {
			t.Fatalf("phases %v: match %d on %v, want %v", got, i, got[i], want)
		}
	}
	if want := []ph{{0, 2}, {1, 2}, {2, 2}}; got[2*PhaseSlots] != want[0] || got[2*PhaseSlots+1] != want[1] || got[2*PhaseSlots+2] != want[2] {
		t.Fatalf("phases past full groups %v, want %v", got[2*PhaseSlots:], want)
	}
	// The match on phase 5, place 0, ends: the next one takes its place.
	l.dropRunning(&Match{phaseSlot: 5, phaseIdx: 0})
	l.phases[4] = 3 // make phase 5 the emptiest
	if s, i := l.takePhase(); s != 5 || i != 0 {
		t.Errorf("took phase %d place %d, want phase 5 place 0", s, i)
	}
	l.cfg.Match.TickPhaseGroup = -1
	if s, _ := l.takePhase(); s != -1 {
		t.Errorf("TickPhaseGroup -1: took %d", s)
	}
}

// A match's ticks fall on its place in its phase: PhaseSlots phases evenly
// over the tick, places PhaseStep apart, never after the match starts.
func TestPhaseInstant(t *testing.T) {
	m := &Match{dt: time.Second / 30}
	now := time.Unix(1000, 12_345_678) // 12.3 ms into a 33.3 ms tick
	for slot := range PhaseSlots {
		for _, idx := range []int{0, 3} {
			m.phaseSlot, m.phaseIdx = slot, idx
			at := m.phase(now)
			if at.After(now) || now.Sub(at) >= m.dt {
				t.Fatalf("slot %d place %d: first tick %v for a start at %v", slot, idx, at, now)
			}
			want := time.Duration(slot)*m.dt/PhaseSlots + time.Duration(idx)*PhaseStep
			if off := at.Sub(at.Truncate(m.dt)); off != want {
				t.Errorf("slot %d place %d: %v into the tick, want %v", slot, idx, off, want)
			}
		}
	}
	m.phaseSlot = -1
	if !m.phase(now).Equal(now) {
		t.Error("slot -1 moved the start")
	}
}
