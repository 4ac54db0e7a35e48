// Package netcode owns the Skirmish wire protocol: the messages and their
// MessagePack codec (the snapshot frame's layout is snapshot.go),
// quantization of entity fields, each player's view diff (View) and the
// client's mirror of it (Mirror), and the rules of input sequence numbers:
// duplicates, missing inputs, acks, the windows of inputs at the server
// and the just-in-time constants clients use (seq.go).
//
// It does no I/O and imports neither gws nor Redis. Client frames are decoded
// only by the hand-written, bounded decoders in this package (see Reader):
// every length a frame claims is capped by a fixed limit and by the bytes
// left, so a hostile frame costs at most its own size. Encoders append to a
// caller's buffer and allocate nothing once that buffer has grown.
//
// docs/PROTOCOL.md is the specification this package implements.
package netcode
