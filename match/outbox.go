package match

import (
	"sync/atomic"

	"skirmish/netcode"
)

// Outbox limits.
const (
	// SnapshotSlots is the number of snapshot frames that may wait for the
	// socket at once; a view is skipped while all are pending.
	SnapshotSlots = 2
	// MaxPendingBytes bounds the bytes waiting in an Outbox.
	MaxPendingBytes = 256 << 10
	controlSlots    = 14
)

// Frame is one encoded server message waiting for the socket.
type Frame struct {
	B      []byte
	pooled bool
}

// Outbox is a connection's bounded send path. The match and the lobby post
// frames without ever blocking; the connection's writer goroutine takes
// them from Frames, writes them, and hands them back with Release.
//
// Snapshots use SnapshotSlots reusable buffers (Buffer, PostBuffer): when
// none is free the connection is congested and the caller skips the view.
// Rare control messages (matched, result, errors) use PostControl.
type Outbox struct {
	frames  chan Frame
	free    chan []byte
	kick    chan netcode.CloseCode
	pending atomic.Int64
	control atomic.Int32 // control frames queued: at most controlSlots
	// OnKick, if set, is called by the Kick that wins, with its code, on
	// the kicker's goroutine; it must not block (the server uses it to stop
	// acting on the connection's frames at once, and to cut a write stuck
	// on a dead peer).
	OnKick func(code netcode.CloseCode)
}

// NewOutbox returns an empty Outbox.
func NewOutbox() *Outbox {
	o := &Outbox{
		frames: make(chan Frame, SnapshotSlots+controlSlots),
		free:   make(chan []byte, SnapshotSlots),
		kick:   make(chan netcode.CloseCode, 1),
	}
	for range SnapshotSlots {
		o.free <- make([]byte, 0, 4096)
	}
	return o
}

// Buffer returns an empty snapshot buffer, or nil when the connection is
// congested. The caller must hand it back through PostBuffer or Discard.
func (o *Outbox) Buffer() []byte {
	if o.pending.Load() > MaxPendingBytes {
		return nil
	}
	select {
	case b := <-o.free:
		return b[:0]
	default:
		return nil
	}
}

// PostBuffer queues b, a buffer from Buffer, for the socket. Control frames
// never take the snapshot slots, so it always succeeds; it reports false,
// taking b back, only if that promise is broken.
func (o *Outbox) PostBuffer(b []byte) bool {
	o.pending.Add(int64(len(b)))
	select {
	case o.frames <- Frame{B: b, pooled: true}:
		return true
	default:
		o.pending.Add(-int64(len(b)))
		o.Discard(b)
		return false
	}
}

// Discard returns an unused buffer from Buffer.
func (o *Outbox) Discard(b []byte) {
	select {
	case o.free <- b:
	default:
	}
}

// PostControl queues a frame that b owns from now on. It reports false if
// the queue is full: the peer is not reading, and the caller should Kick it.
func (o *Outbox) PostControl(b []byte) bool {
	if o.control.Add(1) > controlSlots {
		o.control.Add(-1)
		return false
	}
	o.pending.Add(int64(len(b)))
	select {
	case o.frames <- Frame{B: b}:
		return true
	default:
		o.pending.Add(-int64(len(b)))
		o.control.Add(-1)
		return false
	}
}

// Kick asks the writer to close the connection with code. The first kick
// wins; it never blocks.
func (o *Outbox) Kick(code netcode.CloseCode) {
	select {
	case o.kick <- code:
		if o.OnKick != nil {
			o.OnKick(code)
		}
	default:
	}
}

// Frames is where the writer takes frames from, in order.
func (o *Outbox) Frames() <-chan Frame { return o.frames }

// Kicked delivers the close code of a Kick.
func (o *Outbox) Kicked() <-chan netcode.CloseCode { return o.kick }

// Release tells the Outbox that f was written (or dropped) and gives its
// buffer back when it was a snapshot buffer.
func (o *Outbox) Release(f Frame) {
	o.pending.Add(-int64(len(f.B)))
	if f.pooled {
		o.Discard(f.B)
	} else {
		o.control.Add(-1)
	}
}
