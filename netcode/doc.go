// Package netcode owns the Skirmish wire protocol: the messages and their
// MessagePack codec, quantization of entity fields, and the sequence-number
// math of inputs and acks.
//
// It does no I/O and imports neither gws nor Redis. Client frames are decoded
// only by the hand-written, bounded decoders in this package (see Reader):
// every length a frame claims is capped by a fixed limit and by the bytes
// left, so a hostile frame costs at most its own size. Encoders append to a
// caller's buffer and allocate nothing once that buffer has grown.
//
// docs/PROTOCOL.md is the specification this package implements.
package netcode
