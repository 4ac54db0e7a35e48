package netcode

import "encoding/binary"

// WSHeadroom is the room a server's WebSocket frame header needs in front
// of its payload: a sender that encodes a message after WSHeadroom bytes
// can frame it in place, with no copy.
const WSHeadroom = 10

// FrameInPlace frames buf[WSHeadroom:], a message, as one unmasked final
// binary WebSocket frame (RFC 6455 §5.2, as a server sends it): it writes
// the header into the end of the headroom and returns the frame, a suffix
// of buf.
func FrameInPlace(buf []byte) []byte {
	n := len(buf) - WSHeadroom
	switch {
	case n < 126:
		buf[8], buf[9] = 0x82, byte(n)
		return buf[8:]
	case n < 1<<16:
		buf[6], buf[7] = 0x82, 126
		binary.BigEndian.PutUint16(buf[8:10], uint16(n))
		return buf[6:]
	default:
		buf[0], buf[1] = 0x82, 127
		binary.BigEndian.PutUint64(buf[2:10], uint64(n))
		return buf
	}
}
