// Package server owns HTTP and the WebSocket gateway: sessions and auth,
// per-connection rate limits, the bounded send path to each socket, metrics,
// configuration, graceful shutdown, and serving the embedded browser client.
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
package server
