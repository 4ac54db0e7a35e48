// Package match owns the match goroutine and its fixed-tick loop, the
// per-player input queues with their validation and acks, the match
// lifecycle and the matchmaker (Lobby).
//
// A Match is one goroutine that owns its world. Everything enters it through
// channels (inputs through its inbox, joins and leaves through its control
// channel) and everything leaves it through non-blocking sends to each
// player's Outbox, so no connection can block a tick. It imports no
// WebSocket code: the server package moves bytes between sockets and
// Outboxes.
package match
