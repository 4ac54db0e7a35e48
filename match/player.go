package match

import (
	"sync/atomic"

	"skirmish/netcode"
)

// Player is one connected player as the lobby and matches see them. The
// server creates it for a connection; the match it is seated in is the only
// writer of its seat, the lobby the only writer of its queue state.
type Player struct {
	ID, Name string
	// Key is the server's opaque key for the player (its session store
	// key), for Hooks; the match never reads it.
	Key string

	out   atomic.Pointer[Outbox] // the current connection's send path
	match atomic.Pointer[Match]  // set while seated; read by the connection

	// lobby goroutine only
	queued   *forming // the forming match the player waits in
	assigned *Match   // the running match the lobby seated the player in
	expired  bool     // the player's seat was freed while they were away
}

// NewPlayer returns a player that sends through out.
func NewPlayer(id, name string, out *Outbox) *Player {
	p := &Player{ID: id, Name: name}
	p.out.Store(out)
	return p
}

// Out is the send path of the player's current connection.
func (p *Player) Out() *Outbox { return p.out.Load() }

// SetOut moves the player to a new connection's send path (a reconnect).
func (p *Player) SetOut(o *Outbox) { p.out.Store(o) }

// Match returns the match the player is seated in, or nil.
func (p *Player) Match() *Match { return p.match.Load() }

// SendInput hands in to the player's match without blocking. It reports
// false when the player is not seated or the match's inbox is full; the
// input is then dropped.
func (p *Player) SendInput(in *netcode.Input) bool {
	m := p.match.Load()
	if m == nil {
		return false
	}
	select {
	case m.inbox <- inputMsg{p: p, in: *in, at: monoNow()}:
		return true
	default:
		m.obs.InputDropped()
		return false
	}
}
