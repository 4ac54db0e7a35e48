package match

import (
	"context"
	"sync"
	"testing"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// fakeFleet records what the lobby asks of the fleet, and the checkpoints.
type fakeFleet struct {
	mu       sync.Mutex
	enqueued map[string]string // player → mode
	free     map[string]int
	cps      map[string][]byte
	took     []time.Duration
}

func newFakeFleet() *fakeFleet {
	return &fakeFleet{enqueued: map[string]string{}, free: map[string]int{}, cps: map[string][]byte{}}
}

func (f *fakeFleet) Enqueue(p *Player, mode string) {
	f.mu.Lock()
	f.enqueued[p.ID] = mode
	f.mu.Unlock()
}

func (f *fakeFleet) Dequeue(id, mode string) {
	f.mu.Lock()
	delete(f.enqueued, id)
	f.mu.Unlock()
}

func (f *fakeFleet) Seats(matchID, mode string, free int) {
	f.mu.Lock()
	f.free[matchID] = free
	f.mu.Unlock()
}

func (f *fakeFleet) Checkpoint(matchID, mode string, tick uint64, free int, data []byte, took time.Duration) {
	f.mu.Lock()
	f.cps[matchID] = data
	f.took = append(f.took, took)
	f.mu.Unlock()
}

func (f *fakeFleet) checkpoint(id string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cps[id]
}

func fleetLobby(t *testing.T, f *fakeFleet, clock Clock) *Lobby {
	t.Helper()
	mode := game.NewArena(game.ArenaConfig{Players: 4, NPCs: 8})
	l, err := NewLobby(LobbyConfig{Modes: map[string]game.Mode{"arena": mode}, Fleet: f,
		Match: Config{Clock: clock, Logger: quiet, CheckpointInterval: time.Second, Checkpoints: f}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

// hostedAlone connects player a, queues them in the fleet's queue and has
// the fleet seat them alone in match id on l.
func hostedAlone(t *testing.T, l *Lobby, id string) *Player {
	t.Helper()
	a := attached(t, l, "a")
	l.Queue(a, a.Out(), "arena")
	l.sync()
	l.Host(id, "arena", []Ticket{{ID: "a", Name: "a", Key: "key-a"}})
	waitFor(t, func() bool { return a.Match() != nil })
	return a
}

// With a fleet, queue goes to the fleet's queue (not a local match); the
// fleet seats players with Host: one connected here plays at once, one
// who is not gets a seat that waits for them, and resumes it on arrival.
func TestLobbyFleetQueueAndHost(t *testing.T) {
	f := newFakeFleet()
	l := fleetLobby(t, f, nil)
	a := attached(t, l, "a")
	l.Queue(a, a.Out(), "arena")
	l.sync()
	f.mu.Lock()
	mode := f.enqueued["a"]
	f.mu.Unlock()
	if mode != "arena" || a.Match() != nil {
		t.Fatalf("queue: enqueued %q, match %v; want the fleet's queue", mode, a.Match())
	}
	if q := l.FleetQueued(0); q["a"].Mode != "arena" {
		t.Errorf("FleetQueued %+v", q)
	}
	// Leaving dequeues.
	l.Leave(a, a.Out())
	l.sync()
	f.mu.Lock()
	_, still := f.enqueued["a"]
	f.mu.Unlock()
	if still {
		t.Error("leave did not dequeue")
	}
	l.Queue(a, a.Out(), "arena")
	l.sync()
	seated := l.Host("m-fleet-1", "arena", []Ticket{{ID: "a", Name: "a", Key: "key-a", Node: "here"}, {ID: "b", Name: "bee", Key: "key-b", Node: "there"}})
	if len(seated) != 2 {
		t.Fatalf("seated %v", seated)
	}
	waitFor(t, func() bool { return a.Match() != nil && a.Match().ID == "m-fleet-1" })
	if m := nextMsg(t, a.Out(), netcode.MsgMatched); m.Matched.MatchID != "m-fleet-1" {
		t.Errorf("matched %+v", m.Matched)
	}
	// b arrives: the welcome says seated, and matched follows.
	out := NewOutbox()
	b, _, fresh := l.Attach("b", "bee", "key-b", netcode.Version, out)
	if fresh || b == nil {
		t.Fatalf("b fresh %v: the lobby should know the player the fleet seated", fresh)
	}
	if w := nextMsg(t, out, netcode.MsgWelcome); w.Where != netcode.WhereSeated {
		t.Errorf("b's welcome where %d", w.Where)
	}
	if m := nextMsg(t, out, netcode.MsgMatched); m.Matched.MatchID != "m-fleet-1" {
		t.Errorf("b's matched %+v", m.Matched)
	}
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.free["m-fleet-1"] == 2 })
	// Backfill through Fill; a full match refuses the rest.
	got := l.Fill("m-fleet-1", []Ticket{{ID: "c"}, {ID: "d"}, {ID: "e"}})
	if len(got) != 2 {
		t.Errorf("filled %d, want 2 (the free seats)", len(got))
	}
	if got := l.Fill("m-nope", []Ticket{{ID: "x"}}); len(got) != 0 {
		t.Errorf("filled a match that is not here: %v", got)
	}
}

// MoveTo sends a player waiting in the fleet's queue to another node:
// moved, then close 4007.
func TestLobbyMoveTo(t *testing.T) {
	f := newFakeFleet()
	l := fleetLobby(t, f, nil)
	a := attached(t, l, "a")
	l.Queue(a, a.Out(), "arena")
	l.MoveTo("a", "http://node-b")
	if m := nextMsg(t, a.Out(), netcode.MsgMoved); m.URL != "http://node-b" {
		t.Errorf("moved to %q", m.URL)
	}
	select {
	case code := <-a.Out().Kicked():
		if code != netcode.CloseMoved {
			t.Errorf("closed with %d", code)
		}
	case <-time.After(time.Second):
		t.Error("not closed")
	}
}

// A match checkpointed here resumes from its checkpoint in another lobby:
// same match, seats, scores and acks; every seat waits for its player, who
// resumes it, and it catches up on resent inputs two a tick.
func TestCheckpointAdoptResume(t *testing.T) {
	clock := NewManualClock(time.Unix(0, 0))
	f := newFakeFleet()
	l := fleetLobby(t, f, clock)
	a := hostedAlone(t, l, "m-cp")
	for seq := uint32(1); seq <= 5; seq++ {
		a.SendInput(&netcode.Input{Seq: seq, MoveX: 1}, a.Out())
		clock.Advance(time.Second / 30)
		time.Sleep(5 * time.Millisecond)
	}
	for range 40 {
		clock.Advance(time.Second / 30)
		time.Sleep(time.Millisecond)
	}
	waitFor(t, func() bool { return f.checkpoint("m-cp") != nil })
	var cp Checkpoint
	if err := DecodeCheckpoint(f.checkpoint("m-cp"), &cp); err != nil {
		t.Fatal(err)
	}
	if cp.MatchID != "m-cp" || cp.Seats[0].PlayerID != "a" || cp.Seats[0].Ack != 5 || cp.World.Tick == 0 {
		t.Fatalf("checkpoint: match %s tick %d seat %+v", cp.MatchID, cp.World.Tick, cp.Seats[0])
	}

	// Another node adopts it.
	f2 := newFakeFleet()
	l2 := fleetLobby(t, f2, clock)
	if err := l2.Adopt(&cp); err != nil {
		t.Fatal(err)
	}
	if err := l2.Adopt(&cp); err == nil {
		t.Error("a match adopted twice")
	}
	out := NewOutbox()
	p, _, fresh := l2.Attach("a", "a", "key-a", netcode.Version, out)
	if fresh {
		t.Fatal("the adopted seat's player is unknown")
	}
	m := nextMsg(t, out, netcode.MsgMatched)
	if m.Matched.MatchID != "m-cp" || m.Matched.Entity != cp.Seats[0].Entity || m.Matched.AckSeq != 5 {
		t.Fatalf("resumed matched %+v", m.Matched)
	}
	// The client resends 6..20 at once: 15 inputs, more than netcode.InputQueue.
	for seq := uint32(6); seq <= 20; seq++ {
		if r := p.SendInput(&netcode.Input{Seq: seq, MoveX: 1}, out); r != InputQueued {
			t.Fatalf("seq %d: %v", seq, r)
		}
	}
	var acks []uint32
	schema := &l2.cfg.Modes["arena"].Spec().Schema
	for range 12 {
		clock.Advance(time.Second / 30)
		s := nextSnapshot(t, out, schema)
		if len(s.Rejects) > 0 {
			t.Errorf("rejects %+v", s.Rejects)
		}
		acks = append(acks, s.AckSeq)
	}
	if acks[len(acks)-1] != 20 {
		t.Errorf("acks %v: the backlog must be applied, two a tick", acks)
	}
	if two := acks[2] - acks[1]; two != 2 {
		t.Errorf("acks %v: want two inputs a tick while catching up", acks)
	}
}

// Freeze stops a match and returns its checkpoint; MoveAway ends it here,
// sending its players moved; Thaw lets it go on.
func TestFreezeMoveAwayAndThaw(t *testing.T) {
	f := newFakeFleet()
	l := fleetLobby(t, f, nil)
	a := hostedAlone(t, l, "m-1")
	nextMsg(t, a.Out(), netcode.MsgSnapshot)
	ctx := context.Background()
	data := l.Freeze(ctx, "m-1")
	var cp Checkpoint
	if data == nil || DecodeCheckpoint(data, &cp) != nil || cp.MatchID != "m-1" {
		t.Fatalf("freeze: %d bytes", len(data))
	}
	l.Thaw("m-1")
	drain(a)
	nextMsg(t, a.Out(), netcode.MsgSnapshot) // ticking again
	if l.Freeze(ctx, "m-1") == nil {
		t.Fatal("second freeze")
	}
	l.MoveAway("m-1", "http://node-c")
	if m := nextMsg(t, a.Out(), netcode.MsgMoved); m.URL != "http://node-c" {
		t.Errorf("moved to %q", m.URL)
	}
	waitFor(t, func() bool { return len(l.MatchIDs()) == 0 })
	if l.Freeze(ctx, "m-1") != nil {
		t.Error("froze a match that moved away")
	}
}

// One player's flood of inputs never takes another player's place in the
// match's inbox.
func TestInboxPlacesPerPlayer(t *testing.T) {
	a, b := newTestPlayer("a"), newTestPlayer("b")
	m, _ := testMatch(t, quietArena(), a, b)
	for seq := uint32(1); seq <= 10*netcode.ReplayQueue; seq++ {
		a.SendInput(&netcode.Input{Seq: seq}, a.Out())
	}
	if r := b.SendInput(&netcode.Input{Seq: 1}, b.Out()); r != InputQueued {
		t.Fatalf("b's input: %v", r)
	}
	if got := len(m.inbox); got != netcode.InboxShare+1 {
		t.Errorf("inbox holds %d, want %d (a's share) + 1", got, netcode.InboxShare+1)
	}
	m.tick()
	if a.inflight.Load() != 0 || b.inflight.Load() != 0 {
		t.Error("inbox places not given back")
	}
}

// nextSnapshot returns the next snapshot posted to out, decoded with schema.
func nextSnapshot(t *testing.T, out *Outbox, schema *netcode.Schema) netcode.Snapshot {
	t.Helper()
	return nextMsgWith(t, out, netcode.MsgSnapshot, schema).Snapshot
}
