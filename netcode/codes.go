package netcode

// Version is the protocol version this package speaks. Version 2 changed
// the snapshot layout (docs/PROTOCOL.md §5); version 3 declares the mode in
// matched (its kinds with render hints, actions, events, teams, speed and
// radii; scales as floats) and names players in score entries. A client of
// an older version cannot read either.
const Version = 3

// MaxClientFrame is the largest client frame, in bytes, a server accepts.
const MaxClientFrame = 4096

// Client message types: the first element of every client frame.
const (
	MsgHello = 0
	MsgQueue = 1
	MsgInput = 2
	MsgPing  = 3
	MsgLeave = 4
	// MsgInputs carries several inputs in one frame, in seq order: a
	// client resending the inputs a resumed seat has not applied.
	MsgInputs = 5
	// MsgSpectate asks to watch a running match read-only, or (while
	// watching it) to follow someone else: [6, matchId, follow].
	MsgSpectate = 6
)

// MaxBatch is the most inputs one inputs frame may carry.
const MaxBatch = 64

// Server message types: the first element of every server frame.
const (
	MsgWelcome  = 0
	MsgQueued   = 1
	MsgMatched  = 2
	MsgSnapshot = 3
	MsgResult   = 4
	MsgPong     = 5
	MsgError    = 6
	// MsgMoved: the player's seat (or the match they were just seated in)
	// is on another node, at the URL given; the server closes with
	// CloseMoved next.
	MsgMoved = 7
)

// Where a player is, as a welcome tells it.
const (
	// WhereLobby: neither queued nor seated.
	WhereLobby uint8 = 0
	// WhereQueued: waiting for a match (a queued message follows).
	WhereQueued uint8 = 1
	// WhereSeated: holding a seat; matched follows (or seat_expired, if
	// the seat's grace ran out in the meantime).
	WhereSeated uint8 = 2
)

// Reject codes: why an input was not applied. Codes from RejectModeBase up
// belong to game modes.
const (
	RejectNone         uint8 = 0
	RejectBadDirection uint8 = 1
	RejectCooldown     uint8 = 2
	RejectDropped      uint8 = 3
	RejectInvalid      uint8 = 4
	// RejectMissing reports a seq that never reached the server: a later
	// one arrived first (inputs lost with a dropped connection and not
	// resent).
	RejectMissing  uint8 = 5
	RejectModeBase uint8 = 64
)

// Result outcomes.
const (
	OutcomeNormal   = 0
	OutcomeError    = 1
	OutcomeShutdown = 2
)

// ErrorCode is the code of a non-fatal error message sent to a client.
type ErrorCode uint16

// Error codes of the error message.
const (
	ErrUnknownMode   ErrorCode = 1
	ErrAlreadyQueued ErrorCode = 2
	ErrNotQueued     ErrorCode = 3
	// ErrSeatExpired: the player reconnected after the grace period; their
	// seat is gone and they are in the lobby.
	ErrSeatExpired ErrorCode = 4
	// ErrMatchGone: the player's match no longer exists (the server
	// restarted); they are in the lobby.
	ErrMatchGone ErrorCode = 5
	// ErrServerFull: the node takes no player into a match now (it cannot
	// keep its ticks: overloaded); the player is in the lobby, not queued,
	// and may queue again after a backoff. Players already seated play on.
	ErrServerFull ErrorCode = 6
	// ErrSpectatorsFull: the match watched has as many spectators as it
	// takes (the server's -max-spectators).
	ErrSpectatorsFull ErrorCode = 7
	// ErrUnknownMatch: no match of that ID runs on this node.
	ErrUnknownMatch ErrorCode = 8
	// ErrBusy: the request needs a player in the lobby: spectate while
	// queued or seated, or queue while spectating. Leave first.
	ErrBusy ErrorCode = 9
)

// String returns the short text sent beside the code.
func (c ErrorCode) String() string {
	switch c {
	case ErrUnknownMode:
		return "unknown_mode"
	case ErrAlreadyQueued:
		return "already_queued"
	case ErrNotQueued:
		return "not_queued"
	case ErrSeatExpired:
		return "seat_expired"
	case ErrMatchGone:
		return "match_gone"
	case ErrServerFull:
		return "server_full"
	case ErrSpectatorsFull:
		return "spectators_full"
	case ErrUnknownMatch:
		return "unknown_match"
	case ErrBusy:
		return "busy"
	}
	return "error"
}

// CloseCode is a WebSocket close code the server sends.
type CloseCode uint16

// Close codes. The reason text of every close frame is CloseCode.Reason.
const (
	CloseNormal    CloseCode = 1000
	CloseShutdown  CloseCode = 1001
	CloseFlood     CloseCode = 1008
	CloseTooLarge  CloseCode = 1009
	CloseProtocol  CloseCode = 4000
	CloseVersion   CloseCode = 4001
	CloseIdle      CloseCode = 4002
	CloseReplaced  CloseCode = 4003
	CloseCongested CloseCode = 4004
	CloseInternal  CloseCode = 4005
	// CloseHelloTimeout: no valid hello within the hello timeout.
	CloseHelloTimeout CloseCode = 4006
	// CloseMoved: the connection follows a moved message; reconnect at its
	// URL with the same token at once.
	CloseMoved CloseCode = 4007
)

// Reason returns the short reason text sent in a close frame with code c.
// Codes this package does not define map to their WebSocket meaning.
func (c CloseCode) Reason() string {
	switch c {
	case CloseNormal:
		return "bye"
	case CloseShutdown:
		return "shutdown"
	case CloseFlood:
		return "flood"
	case CloseTooLarge:
		return "too_large"
	case CloseProtocol, 1002, 1003, 1007:
		return "protocol"
	case CloseVersion:
		return "version"
	case CloseIdle:
		return "idle"
	case CloseReplaced:
		return "replaced"
	case CloseCongested:
		return "congested"
	case CloseHelloTimeout:
		return "hello_timeout"
	case CloseMoved:
		return "moved"
	}
	return "internal"
}
