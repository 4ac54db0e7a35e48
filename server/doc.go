// Package server owns HTTP and the WebSocket gateway: sessions and auth,
// the session stores (in-process and Redis), leaderboards, the fleet of
// nodes sharing a Redis, per-connection rate limits and the node's load
// admission, the socket under each player's send path (match.Outbox),
// metrics, configuration (Options), graceful shutdown, and routing "/" to
// the browser client (package web, which serves it).
// It contains no game rules: it moves bytes between sockets and the match
// package.
//
// Nothing a stranger can claim is unbounded: sessions are rate limited per
// client IP (limits.go), connections are capped per IP and in all, one
// connection per token may wait for hello and only for HelloTimeout, every
// frame (pings too) counts against a connection's rate, HTTP requests have
// deadlines, every in-process table has a cap, and what peers cause in the
// log is limited to a line a second. A connection the server has decided to
// close acts no more: no frame read after that decision reaches the lobby
// or a match.
//
// A connection costs one goroutine, gws's read loop, which reads frames
// through a 512-byte buffer of its own on the socket (not through
// net/http's connection reader). The match writes each snapshot to the
// socket at once (guardConn is the Outbox's Socket: one non-blocking
// write(2), serialised with gws's own writes by the Outbox's socket lock);
// a writer goroutine runs only while frames wait (the rest of a snapshot
// the kernel did not take, control messages), and one timer per
// connection closes it for a missing hello or idleness and pings it. A
// tick's frames and bytes are counted once per tick, a connection's bytes
// in once per 32 frames.
package server
