package match

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// While LobbyConfig.Admit refuses, no player is taken into a match: a
// queue request gets error server_full (no queued), a forming match due to
// start sends its players back to the lobby with server_full, and a
// running match goes on. Once Admit accepts again, the same players queue
// and play.
func TestLobbyAdmitRefusesNewMatches(t *testing.T) {
	clock := NewManualClock(time.Unix(0, 0))
	var admit atomic.Bool
	var refused atomic.Int64
	mode := game.NewArena(game.ArenaConfig{Players: 2, NPCs: -1})
	l, err := NewLobby(LobbyConfig{Modes: map[string]game.Mode{"arena": mode}, FillTimeout: 3 * time.Second,
		Match: Config{Clock: clock, Logger: quiet},
		Admit: func(n int) bool {
			if admit.Load() {
				return true
			}
			refused.Add(int64(n))
			return false
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	a, b := attached(t, l, "a"), attached(t, l, "b")
	serverFull := func(p *Player) {
		t.Helper()
		if m := nextMsg(t, p.Out(), netcode.MsgError); m.ErrCode != netcode.ErrServerFull || m.ErrText != "server_full" {
			t.Fatalf("%s: error %d %q, want server_full", p.ID, m.ErrCode, m.ErrText)
		}
	}

	// Refused at the queue request.
	l.Queue(a, a.Out(), "arena")
	serverFull(a)
	l.sync()
	if a.Match() != nil || refused.Load() != 1 {
		t.Fatalf("refused queue: match %v, refusals %d", a.Match(), refused.Load())
	}

	// Admitted to the queue, refused when the forming match would start.
	admit.Store(true)
	l.Queue(a, a.Out(), "arena")
	nextMsg(t, a.Out(), netcode.MsgQueued)
	l.sync() // the fill timer exists once the lobby has seated a, after queued is sent
	admit.Store(false)
	clock.Advance(3 * time.Second)
	serverFull(a)
	l.sync()
	if a.Match() != nil {
		t.Fatal("a match started while refused")
	}

	// Accepted again: a is in the lobby (not already_queued) and plays.
	admit.Store(true)
	l.Queue(a, a.Out(), "arena")
	nextMsg(t, a.Out(), netcode.MsgQueued)
	l.sync()
	clock.Advance(3 * time.Second)
	waitFor(t, func() bool { return a.Match() != nil })

	// Refused again: b cannot backfill a's match, which goes on.
	admit.Store(false)
	l.Queue(b, b.Out(), "arena")
	serverFull(b)
	l.sync()
	if b.Match() != nil || a.Match() == nil {
		t.Fatalf("b seated %v, a seated %v", b.Match() != nil, a.Match() != nil)
	}
	if got := refused.Load(); got != 3 {
		t.Errorf("refusals counted %d, want 3", got)
	}
}

// Holds knows the players on this node by their session key, until the
// lobby forgets them.
func TestLobbyHolds(t *testing.T) {
	mode := game.NewArena(game.ArenaConfig{Players: 2, NPCs: -1})
	l, err := NewLobby(LobbyConfig{Modes: map[string]game.Mode{"arena": mode}, Match: Config{Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	if l.Holds("key-a") {
		t.Fatal("holds a player never seen")
	}
	a := attached(t, l, "a")
	if !l.Holds("key-a") {
		t.Fatal("does not hold a connected player")
	}
	l.Detach(a, a.Out(), true)
	l.sync()
	if l.Holds("key-a") {
		t.Error("still holds a player who left")
	}
}
