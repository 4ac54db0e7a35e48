package client

import (
	"math"
	"time"

	"skirmish/netcode"
)

// sentInput is an input as it was sent: when, and where the client
// predicted its avatar after it.
type sentInput struct {
	in   netcode.Input
	at   time.Time
	x, y float32
}

// history is a ring of the last inputs sent, indexed by seq: it holds at
// least netcode.HistoryWindow of them at the match's tick rate.
type history struct {
	ring []sentInput
}

// histLen is the size of a ring that holds netcode.HistoryWindow of inputs
// at tickRate: a power of two (128 at 30 Hz).
func histLen(tickRate uint32) int {
	need := int(math.Ceil(netcode.HistoryWindow.Seconds() * float64(max(tickRate, 1))))
	n := 16
	for n < need {
		n <<= 1
	}
	return n
}

// reset empties the ring for a match at tickRate. It allocates only when
// the ring is too small for that rate: once per client, in practice.
func (h *history) reset(tickRate uint32) {
	if n := histLen(tickRate); len(h.ring) < n {
		h.ring = make([]sentInput, n)
		return
	}
	clear(h.ring)
}

func (h *history) put(s sentInput) {
	if len(h.ring) > 0 {
		h.ring[s.in.Seq%uint32(len(h.ring))] = s
	}
}

// get returns the input of seq, or nil if it left the ring (or was never
// sent in this match).
func (h *history) get(seq uint32) *sentInput {
	if len(h.ring) == 0 || seq == 0 {
		return nil
	}
	if s := &h.ring[seq%uint32(len(h.ring))]; s.in.Seq == seq {
		return s
	}
	return nil
}

// after appends to dst, in seq order, the inputs of the ring with seq above
// ack and at most last (the last seq sent).
func (h *history) after(dst []netcode.Input, ack, last uint32) []netcode.Input {
	n := uint32(len(h.ring))
	if n == 0 || ack >= last {
		return dst
	}
	for q := netcode.RingFirst(ack, last, n); q <= last && q != 0; q++ {
		if s := h.get(q); s != nil {
			dst = append(dst, s.in)
		}
	}
	return dst
}

// appendBatches hands ins to send in inputs frames of at most
// netcode.MaxBatch inputs each, in order; buf is scratch space.
func appendBatches(buf []byte, ins []netcode.Input, send func([]byte)) []byte {
	for len(ins) > 0 {
		k := min(len(ins), netcode.MaxBatch)
		buf = netcode.AppendInputs(buf[:0], ins[:k])
		send(buf)
		ins = ins[k:]
	}
	return buf
}
