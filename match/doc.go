// Package match owns the match goroutine and its fixed-tick loop, the
// per-player input queues with their validation and acks, each player's
// non-blocking send path (Outbox), the match lifecycle, the checkpoints
// that move a match between nodes, and the matchmaker (Lobby).
//
// A Match is one goroutine that owns its world. Everything enters it through
// channels (inputs through its inbox, joins and leaves through its control
// channel) and everything leaves it through each player's Outbox, which
// never blocks, so no connection can block a tick. A snapshot usually goes
// from the match goroutine straight to the socket, with one non-blocking
// write through the Outbox's Socket; only what the kernel does not take at
// once waits for the connection's writer. The match imports no WebSocket
// code: the server package gives each Outbox its Socket.
//
// One object owns each player's seat state. The Lobby is also the registry
// of the players on this node: a connection gets its Player from
// Lobby.Attach after hello and gives it back with Lobby.Detach, and every
// change of where a player is (connected, queued, sent to a match, seated)
// is handled in turn on the lobby goroutine. The hand-overs are explicit:
// the lobby sends a player to a match (join), the match seats them and
// reports back when the seat is freed or the match ends, and a request
// from a connection that is no longer the player's current one (replaced)
// changes nothing.
package match
