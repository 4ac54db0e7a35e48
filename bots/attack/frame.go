package main

import "encoding/binary"

// WebSocket opcodes (RFC 6455, 5.2) of the frames the attacks build.
const (
	opBinary byte = 0x2
	opPing   byte = 0x9
)

// clientFrame appends to dst one final WebSocket frame of opcode carrying
// payload, masked with key as every client frame must be (RFC 6455, 5.2
// and 5.3), and returns the extended slice.
func clientFrame(dst []byte, opcode byte, payload []byte, key [4]byte) []byte {
	dst = append(dst, 0x80|opcode&0x0f)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, key[:]...)
	for i, b := range payload {
		dst = append(dst, b^key[i%4])
	}
	return dst
}
