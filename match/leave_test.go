package match

import (
	"context"
	"testing"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// A queue sent right after a leave, before the match has freed the seat,
// is taken once the seat is free: queued, then a new match; never
// already_queued. A second queue meanwhile is refused.
func TestQueueRightAfterLeave(t *testing.T) {
	clock := NewManualClock(time.Unix(0, 0))
	mode := game.NewArena(game.ArenaConfig{Players: 2, NPCs: -1})
	l, err := NewLobby(LobbyConfig{Modes: map[string]game.Mode{"arena": mode}, FillTimeout: time.Second, Match: Config{Clock: clock, Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	a, b := attached(t, l, "a"), attached(t, l, "b")
	l.Queue(a, a.Out(), "arena")
	l.Queue(b, b.Out(), "arena")
	waitFor(t, func() bool { return a.Match() != nil && b.Match() != nil })
	first := a.Match()
	drain(a)
	// The leave and two queues reach the lobby together, before the match
	// has seen the leave.
	l.Leave(a, a.Out())
	l.Queue(a, a.Out(), "arena")
	l.Queue(a, a.Out(), "arena")
	l.sync()
	// The match frees a's seat at its next tick; then a is queued again
	// and backfills the free seat.
	var queued, already, matched int
	waitFor(t, func() bool {
		clock.Advance(time.Second / 30)
		for _, f := range drain(a) {
			var m netcode.ServerMsg
			if err := netcode.NewReader().DecodeServer(f, &m, nil); err != nil {
				continue
			}
			switch {
			case m.Type == netcode.MsgQueued:
				queued++
			case m.Type == netcode.MsgError && m.ErrCode == netcode.ErrAlreadyQueued:
				already++
			case m.Type == netcode.MsgMatched:
				matched++
			}
		}
		return queued == 1 && already == 1 && matched == 1
	})
	if a.Match() != first {
		t.Error("a did not backfill the seat it left")
	}
}
