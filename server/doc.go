// Package server owns HTTP and the WebSocket gateway: sessions and auth,
// per-connection rate limits, the bounded send path to each socket, metrics,
// configuration, graceful shutdown, and serving the embedded browser client.
// It contains no game rules: it moves bytes between sockets and the match
// package.
package server
