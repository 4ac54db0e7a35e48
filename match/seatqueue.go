package match

import (
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// The seat input queue. Its limits are netcode's (netcode/seq.go):
// netcode.InputQueue inputs wait per seat (netcode.ReplayQueue in a seat
// restored from a checkpoint), a player holds at most netcode.InboxShare
// places of the match's inbox (netcode.ReplayQueue in a restored match),
// and a snapshot carries at most netcode.MaxRejects rejects.

type inputMsg struct {
	p    *Player
	from *Outbox // the send path of the connection it came on
	in   netcode.Input
	at   int64 // arrival, monotonic nanoseconds (monoNow)
}

// monoEpoch anchors monoNow.
var monoEpoch = time.Now()

// monoNow is a monotonic clock in nanoseconds, for input leads.
func monoNow() int64 { return int64(time.Since(monoEpoch)) }

// seat is one player's place in a match; the match goroutine owns it.
type seat struct {
	p  *Player
	gp game.Player
	// queue is a ring of netcode.InputQueue inputs, or of ReplayQueue for
	// a seat restored from a checkpoint (its client resends a backlog at
	// once).
	queue   []inputMsg
	head, n int
	// catchUp is how many extra inputs the seat may still have applied in
	// a tick (a second one while more than one waits): a seat restored
	// from a checkpoint replays the inputs the client resends.
	catchUp int
	seqs    netcode.Seqs // the seqs seen and settled (voided at seating)
	rejects []netcode.Reject
	view    *netcode.View
	// lead of the input applied this tick, in µs; hasLead if one was
	lead    int32
	hasLead bool
	// congested counts the ticks in a row whose view was skipped.
	congested int
	// away: the connection is gone, the seat held; awayTicks counts the
	// ticks since.
	away      bool
	awayTicks int
	// out is the send path the player was seated or resumed on. When the
	// player's connection changes, views wait until the match has resumed
	// them (matched, then a full view) on the new one.
	out    *Outbox
	events []netcode.Event // this tick's events the player can see
}

// gather drains the inbox into the per-player queues, dropping duplicates
// (seq already seen) and inputs beyond a full queue.
func (m *Match) gather() {
	for {
		var msg inputMsg
		select {
		case msg = <-m.inbox:
			msg.p.inflight.Add(-1)
		default:
			return
		}
		s := m.seatOf(msg.p)
		if s == nil || msg.from != s.out || msg.from != msg.p.Out() || s.seqs.Spent(msg.in.Seq) {
			// Not seated here; from a connection that is not the player's
			// current one (replaced) or that the seat is not bound to yet
			// (not resumed); or a duplicate or void seq.
			continue
		}
		// Seqs between the last seen and this one never arrived: lost on
		// the way, or dropped at a full inbox (below the player's highest
		// dropped seq).
		if lo, hi := s.seqs.Arrive(msg.in.Seq); lo < hi {
			dropped := msg.p.dropped.Load()
			for q := lo; q < hi; q++ {
				s.reject(q, netcode.SkippedCode(q, dropped))
			}
		}
		limit := netcode.InputQueue
		if s.catchUp > 0 {
			limit = netcode.ReplayQueue
		}
		if s.n >= limit {
			s.reject(msg.in.Seq, netcode.RejectDropped)
			m.obs.InputDropped()
			continue
		}
		s.queue[(s.head+s.n)%len(s.queue)] = msg
		s.n++
	}
}

func (m *Match) seatOf(p *Player) *seat {
	for i := range m.seats {
		if m.seats[i].p == p {
			return &m.seats[i]
		}
	}
	return nil
}

func (s *seat) reject(seq uint32, code uint8) {
	if len(s.rejects) < cap(s.rejects) {
		s.rejects = append(s.rejects, netcode.Reject{Seq: seq, Code: code})
	}
}
