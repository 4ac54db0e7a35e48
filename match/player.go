package match

import (
	"sync/atomic"

	"skirmish/netcode"
)

// Player is one player on this node, as the lobby and matches see them.
// There is exactly one Player per player ID while the player has a
// connection or any seat state (queued, joining a match, seated, held
// away): Lobby.Attach creates it and hands it to each of the player's
// connections in turn, and the lobby forgets it once it has neither.
//
// Who owns what: the lobby goroutine owns where the player is (its queue,
// the match it was sent to, whether it is connected), in structures of its
// own; the match goroutine owns the seat; a connection only reads Out and
// Match and sends inputs.
type Player struct {
	ID, Name string
	// Key is the server's opaque key for the player (its session store
	// key), for Hooks; the match never reads it.
	Key string

	out   atomic.Pointer[Outbox] // the current connection's send path
	match atomic.Pointer[Match]  // set while seated; read by the connection
	// maxSeq is the highest input seq received from the player on any
	// connection, seated or not: a new seat voids every seq up to it.
	maxSeq atomic.Uint32
	// inflight counts the player's inputs in a match's inbox.
	inflight atomic.Int32
	// dropped is the highest seq dropped at a full inbox: the match
	// rejects it as dropped (netcode.RejectDropped), not missing, when a
	// later input arrives.
	dropped atomic.Uint32
}

// NewPlayer returns a player that sends through out. Servers get their
// players from Lobby.Attach; NewPlayer is for tests and tools that drive a
// Match or Lobby directly.
func NewPlayer(id, name string, out *Outbox) *Player {
	p := &Player{ID: id, Name: name}
	p.out.Store(out)
	return p
}

// Out is the send path of the player's current (or last) connection.
func (p *Player) Out() *Outbox { return p.out.Load() }

// Match returns the match the player is seated in, or nil.
func (p *Player) Match() *Match { return p.match.Load() }

// MaxSeq returns the highest input seq received from the player.
func (p *Player) MaxSeq() uint32 { return p.maxSeq.Load() }

// InputResult says what became of an input handed to SendInput.
type InputResult uint8

// Input results.
const (
	// InputQueued: the input is in the match's inbox.
	InputQueued InputResult = iota
	// InputNotSeated: the player has no seat; the input is dropped.
	InputNotSeated
	// InputInboxFull: the match's inbox is full; the input is dropped,
	// and the match rejects its seq (netcode.RejectDropped) once a later
	// one arrives.
	InputInboxFull
	// InputSeqSpent: the player already sent seq 2³²−1, the last one; no
	// later input can exist, and the connection should be closed.
	InputSeqSpent
)

// SendInput hands in, received on the connection whose send path is from,
// to the player's match without blocking. The match drops it if from is no
// longer the send path the seat is bound to (a replaced connection's late
// frame).
func (p *Player) SendInput(in *netcode.Input, from *Outbox) InputResult {
	for {
		old := p.maxSeq.Load()
		if old == netcode.LastSeq {
			return InputSeqSpent
		}
		if in.Seq <= old || p.maxSeq.CompareAndSwap(old, in.Seq) {
			break
		}
	}
	m := p.match.Load()
	if m == nil {
		return InputNotSeated
	}
	// A player holds at most its share of the match's inbox, which has
	// room for every seat's: a flood of inputs frames from one player
	// never takes another's place.
	if p.inflight.Add(1) <= m.share {
		select {
		case m.inbox <- inputMsg{p: p, from: from, in: *in, at: monoNow()}:
			return InputQueued
		default:
		}
	}
	p.inflight.Add(-1)
	for {
		old := p.dropped.Load()
		if in.Seq <= old || p.dropped.CompareAndSwap(old, in.Seq) {
			return InputInboxFull
		}
	}
}
