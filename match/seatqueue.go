package match

import (
	"time"

	"skirmish/game"
	"skirmish/netcode"
)

// Per-player input limits.
const (
	// InputQueue is the most inputs that wait per player; more are
	// rejected with netcode.RejectDropped.
	InputQueue = 8
	// ReplayQueue is the most inputs that wait for a seat restored from a
	// checkpoint while it has catch-up applies left: the client resends
	// every input after the checkpoint's ack at once.
	ReplayQueue = netcode.MaxBatch
	maxRejects  = 32
	// inboxShare is the most inputs of one player in a match's inbox at
	// once (ReplayQueue in a match restored from a checkpoint): two ticks'
	// worth of a full queue; more than InputQueue are dropped at the tick
	// anyway.
	inboxShare = 2 * InputQueue
	// viewSlack is the room each view keeps for world slots beyond the
	// world's size when the player joins (a view grows, once, if the
	// world outgrows it).
	viewSlack = 16
)

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
	// queue is a ring of InputQueue inputs, or of ReplayQueue for a seat
	// restored from a checkpoint (its client resends a backlog at once).
	queue   []inputMsg
	head, n int
	// catchUp is how many extra inputs the seat may still have applied in
	// a tick (a second one while more than one waits): a seat restored
	// from a checkpoint replays the inputs the client resends.
	catchUp int
	seen    uint32 // highest seq queued or rejected (voided at seating)
	ack     uint32 // every seq up to ack is applied, rejected or void
	// got: an input arrived since the seating; seqs skipped before the
	// first one are not reported missing.
	got     bool
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
		if s == nil || msg.from != s.out || msg.from != msg.p.Out() || msg.in.Seq <= s.seen {
			// Not seated here; from a connection that is not the player's
			// current one (replaced) or that the seat is not bound to yet
			// (not resumed); or a duplicate or void seq.
			continue
		}
		if s.got {
			// Seqs between the last seen and this one never arrived: lost
			// on the way, or dropped at a full inbox (below the player's
			// highest dropped seq).
			dropped := msg.p.dropped.Load()
			for q := s.seen + 1; q < msg.in.Seq && q < s.seen+maxRejects; q++ {
				code := netcode.RejectMissing
				if q <= dropped {
					code = netcode.RejectDropped
				}
				s.reject(q, code)
			}
		}
		s.seen, s.got = msg.in.Seq, true
		limit := InputQueue
		if s.catchUp > 0 {
			limit = ReplayQueue
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
