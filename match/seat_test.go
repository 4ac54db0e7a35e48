package match

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// seatLog records, through Hooks, which Player holds which seat of which
// match: the truth a test checks "one seat per player" against.
type seatLog struct {
	NopHooks
	mu    sync.Mutex
	seats map[string]map[int]*Player // match → seat → player
}

func (s *seatLog) Seated(p *Player, matchID string, seat int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seats == nil {
		s.seats = map[string]map[int]*Player{}
	}
	if s.seats[matchID] == nil {
		s.seats[matchID] = map[int]*Player{}
	}
	s.seats[matchID][seat] = p
}

func (s *seatLog) Unseated(p *Player, matchID string, _ Unseat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.seats[matchID] {
		if q == p {
			delete(s.seats[matchID], i)
		}
	}
}

// held returns the seats held by player id, as "match/seat".
func (s *seatLog) held(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for m, seats := range s.seats {
		for i, p := range seats {
			if p.ID == id {
				out = append(out, fmt.Sprintf("%s/%d", m, i))
			}
		}
	}
	return out
}

// nextMsg returns the next message of type typ posted to out (skipping
// others), or fails after 5 s. A snapshot's body is not decoded (see
// nextMsgWith).
func nextMsg(t *testing.T, out *Outbox, typ uint8) netcode.ServerMsg {
	t.Helper()
	return nextMsgWith(t, out, typ, nil)
}

// nextMsgWith is nextMsg decoding snapshots with schema (nil: a snapshot
// is returned with its type only).
func nextMsgWith(t *testing.T, out *Outbox, typ uint8, schema *netcode.Schema) netcode.ServerMsg {
	t.Helper()
	r := netcode.NewReader()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f := <-out.Frames():
			var m netcode.ServerMsg
			err := r.DecodeServer(f.B, &m, schema)
			isSnap := len(f.B) > 1 && f.B[1] == netcode.MsgSnapshot
			out.Release(f)
			if (err == nil && m.Type == typ) || (isSnap && typ == netcode.MsgSnapshot && schema == nil) {
				m.Type = typ
				m.Snapshot.Rejects = append([]netcode.Reject(nil), m.Snapshot.Rejects...)
				return m
			}
		case <-deadline:
			t.Fatalf("no message of type %d within 5 s", typ)
		}
	}
}

// seatRace is one run of the join path with a fault injected at one step.
type seatRace struct {
	t     *testing.T
	l     *Lobby
	log   *seatLog
	at    Step
	fired chan struct{}
}

func newSeatRace(t *testing.T, at Step, replace bool, duration time.Duration) *seatRace {
	t.Helper()
	sr := &seatRace{t: t, log: &seatLog{}, at: at, fired: make(chan struct{})}
	mode := game.NewArena(game.ArenaConfig{Players: 2, NPCs: -1, Duration: duration})
	l, err := NewLobby(LobbyConfig{
		Modes:       map[string]game.Mode{"arena": mode},
		FillTimeout: time.Hour,
		Match:       Config{TickRate: 60, Logger: quiet, Hooks: sr.log},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	sr.l = l
	var once sync.Once
	l.step = func(s Step, p *Player) {
		if s != at || p.ID != "p" {
			return
		}
		once.Do(func() {
			if replace {
				// A second connection takes over. Attach waits for the lobby,
				// so from the lobby goroutine it must not be waited for.
				go func() { l.Attach("p", "p", "key-p", netcode.Version, NewOutbox()); close(sr.fired) }()
				return
			}
			l.Detach(p, p.Out(), false) // the drop: a request like any other
			close(sr.fired)
		})
	}
	return sr
}

// reconnect attaches p on a new connection and returns where the welcome
// says p is.
func (sr *seatRace) reconnect() (*Player, uint8) {
	sr.t.Helper()
	out := NewOutbox()
	p, _, _ := sr.l.Attach("p", "p", "key-p", netcode.Version, out)
	w := nextMsg(sr.t, out, netcode.MsgWelcome)
	return p, w.Where
}

// settle waits until the lobby and the matches have handled what the fault
// caused.
func (sr *seatRace) settle() {
	select {
	case <-sr.fired:
	case <-time.After(5 * time.Second):
		sr.t.Fatalf("the fault at step %d was never injected", sr.at)
	}
	sr.quiesce()
}

// quiesce lets the lobby and the matches handle what is in flight.
func (sr *seatRace) quiesce() {
	for range 3 {
		sr.l.sync()
		time.Sleep(20 * time.Millisecond)
	}
}

// A drop (or a replacing connection) injected at every step of the join
// path, through a new match and through a backfill, and at the end of a
// match, never leaves a player with two seats or none they cannot get
// back: one seat exists, and the player resumes it; before a seat exists
// the player is in the lobby and a new queue seats them once.
func TestSeatRaceOneSeatPerPlayer(t *testing.T) {
	type path struct {
		name     string
		backfill bool
	}
	steps := []struct {
		step   Step
		name   string
		seated bool // a seat exists when the fault lands
	}{
		{StepAttached, "attached", false},
		{StepQueued, "queued", false},
		{StepAssigned, "assigned", true},
		{StepSeated, "seated", true},
	}
	injected := 0
	for _, pth := range []path{{"new match", false}, {"backfill", true}} {
		for _, st := range steps {
			if pth.backfill && st.step == StepQueued {
				continue // a backfilled player never waits in a queue
			}
			for _, replace := range []bool{false, true} {
				kind := "drop"
				if replace {
					kind = "replace"
				}
				t.Run(fmt.Sprintf("%s/%s/%s", pth.name, st.name, kind), func(t *testing.T) {
					injected++
					sr := newSeatRace(t, st.step, replace, time.Hour)
					l := sr.l
					if pth.backfill {
						// A running match with one free seat.
						a, b := attached(t, l, "a"), attached(t, l, "b")
						l.Queue(a, a.Out(), "arena")
						l.Queue(b, b.Out(), "arena")
						waitFor(t, func() bool { return b.Match() != nil })
						l.Leave(b, b.Out())
						waitFor(t, func() bool { return b.Match() == nil })
						l.sync()
					}
					out := NewOutbox()
					p, _, _ := l.Attach("p", "p", "key-p", netcode.Version, out)
					l.Queue(p, out, "arena") // ignored if the fault came first
					if !pth.backfill {
						q := attached(t, l, "q")
						l.sync()
						l.Queue(q, q.Out(), "arena")
					}
					sr.settle()
					if held := sr.log.held("p"); len(held) > 1 || (st.seated && len(held) != 1) {
						t.Fatalf("after the fault: seats %v", held)
					}
					var where uint8
					if replace {
						// The replacing connection, and where its welcome said.
						p = l.playerForTest("p")
						where = nextMsg(t, p.Out(), netcode.MsgWelcome).Where
					} else {
						var p2 *Player
						p2, where = sr.reconnect()
						if st.seated && p2 != p {
							t.Fatal("a new Player for a player who holds a seat")
						}
						p = p2
					}
					switch {
					case st.seated && where != netcode.WhereSeated:
						t.Fatalf("welcome says %d, want seated", where)
					case !st.seated && !replace && where != netcode.WhereLobby:
						t.Fatalf("welcome says %d, want lobby (a drop leaves the queue)", where)
					}
					if where == netcode.WhereLobby {
						if held := sr.log.held("p"); len(held) != 0 {
							t.Fatalf("seated without a queue: %v", held)
						}
						l.Queue(p, p.Out(), "arena")
					}
					if where != netcode.WhereSeated && !pth.backfill {
						r := attached(t, l, "r") // a partner, to fill a match
						l.sync()
						l.Queue(r, r.Out(), "arena")
					}
					m := nextMsg(t, p.Out(), netcode.MsgMatched)
					nextMsg(t, p.Out(), netcode.MsgSnapshot)
					sr.quiesce()
					if held := sr.log.held("p"); len(held) != 1 || held[0][:len(m.Matched.MatchID)] != m.Matched.MatchID {
						t.Fatalf("seats %v, want one in %s", held, m.Matched.MatchID)
					}
				})
			}
		}
	}
	t.Logf("faults injected at %d points of the join path", injected)
}

// A drop as a match ends, before or after the lobby handles the end, is
// not lost: the player is not seated again, holds no seat, learns on
// reconnect that they are in the lobby, and a new queue seats them once.
func TestSeatRaceAtMatchEnd(t *testing.T) {
	for _, st := range []Step{StepEnded, StepEndHandled} {
		for _, replace := range []bool{false, true} {
			t.Run(fmt.Sprintf("step%d/replace=%v", st, replace), func(t *testing.T) {
				sr := newSeatRace(t, st, replace, 300*time.Millisecond)
				l := sr.l
				p, q := attached(t, l, "p"), attached(t, l, "q")
				l.Queue(p, p.Out(), "arena")
				l.Queue(q, q.Out(), "arena")
				sr.settle()
				if held := sr.log.held("p"); len(held) != 0 {
					t.Fatalf("seats after the end: %v", held)
				}
				var where uint8
				if replace {
					// The replacing connection: where its welcome said.
					waitFor(t, func() bool { return len(p.Out().Frames()) > 0 })
					where = nextMsg(t, p.Out(), netcode.MsgWelcome).Where
				} else {
					p, where = sr.reconnect()
				}
				if where != netcode.WhereLobby && where != netcode.WhereSeated {
					t.Fatalf("welcome says %d", where)
				}
				if where == netcode.WhereSeated {
					// The attach raced the end: the result follows.
					nextMsg(t, p.Out(), netcode.MsgResult)
				}
				sr.quiesce()
				if held := sr.log.held("p"); len(held) != 0 {
					t.Fatalf("re-seated without a queue: %v", held)
				}
				l.Queue(p, p.Out(), "arena")
				l.Queue(q, q.Out(), "arena")
				m := nextMsg(t, p.Out(), netcode.MsgMatched)
				sr.quiesce()
				if held := sr.log.held("p"); len(held) != 1 || held[0][:len(m.Matched.MatchID)] != m.Matched.MatchID {
					t.Fatalf("seats %v, want one in %s", held, m.Matched.MatchID)
				}
			})
		}
	}
}

// playerForTest returns the Player the lobby holds for id (nil if none),
// read on the lobby goroutine.
func (l *Lobby) playerForTest(id string) *Player {
	var p *Player
	l.do(func() {
		if e := l.players[id]; e != nil {
			p = e.p
		}
	})
	return p
}
