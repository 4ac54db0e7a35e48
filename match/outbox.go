package match

import (
	"sync"
	"sync/atomic"

	"skirmish/netcode"
)

// Outbox limits.
const (
	// SnapshotSlots is the number of snapshots that may be under way to
	// the socket at once (queued for the writer, or partly written); a
	// view is skipped while all are taken.
	SnapshotSlots = 2
	// MaxPendingBytes bounds the bytes waiting in an Outbox.
	MaxPendingBytes = 256 << 10
	controlSlots    = 14
)

// Socket is the raw write side of a connection, as its Outbox drives it.
// The Outbox calls it only with its socket lock held, so that frames never
// interleave.
type Socket interface {
	// WriteNow writes as much of b as the socket takes at once, without
	// waiting: 0 when its send buffer is full or its write deadline has
	// passed. An error means the connection is broken.
	WriteNow(b []byte) (int, error)
	// WriteWait writes all of b, waiting for the socket as long as the
	// connection's write deadline allows.
	WriteWait(b []byte) error
}

// Frame is one message queued for the connection's writer.
type Frame struct {
	B    []byte // the message (empty for the rest of a snapshot)
	buf  []byte // a snapshot: B with its headroom, a pooled buffer
	kind uint8
}

// Control reports whether f is a control message (PostControl), not a
// snapshot.
func (f Frame) Control() bool { return f.kind == frameControl }

// Frame kinds.
const (
	frameControl  = iota
	frameSnapshot // a queued snapshot; holds a snapshot slot
	frameRest     // wakes the writer for a snapshot's unwritten rest; holds its slot
)

// Outbox is a connection's bounded send path. The match and the lobby hand
// it frames without ever blocking.
//
// A snapshot goes straight to the socket from the match goroutine, with
// one non-blocking write, when nothing is queued before it and no one else
// is writing: the common case costs no goroutine wakeup and no copy. What
// the socket does not take at once is handed to the connection's writer
// goroutine, which takes frames from Frames and writes them with
// WriteQueued (waiting for the socket), in order, before anything else is
// written directly again.
//
// A connection has at most SnapshotSlots snapshots under way: Reserve
// fails beyond that, and the caller skips the view (the connection is
// congested). Rare control messages (matched, result, errors) use
// PostControl; they are always queued.
//
// An Outbox without a Socket (NewOutbox, for tests and tools) queues every
// frame: the reader takes them from Frames and hands them back with
// Release.
type Outbox struct {
	frames  chan Frame
	kick    chan netcode.CloseCode
	pending atomic.Int64 // bytes queued or left unwritten
	queued  atomic.Int32 // frames handed to frames and not yet released
	snaps   atomic.Int32 // snapshot slots taken: at most SnapshotSlots
	control atomic.Int32 // control frames queued: at most controlSlots

	// mu is the socket lock: whoever writes to sock holds it. The match
	// only ever tries it (TryLock), and never waits for it.
	mu   sync.Mutex
	sock Socket
	rest []byte // under mu: the unwritten end of a snapshot; written before anything else

	// OnQueued, if set, is called after a frame is queued for the writer,
	// on the poster's goroutine; it must not block (the server starts the
	// connection's writer goroutine if none runs).
	OnQueued func()
	// OnKick, if set, is called by the Kick that wins, with its code, on
	// the kicker's goroutine; it must not block (the server uses it to stop
	// acting on the connection's frames at once, and to cut a write stuck
	// on a dead peer).
	OnKick func(code netcode.CloseCode)
}

// NewOutbox returns an empty Outbox with no socket: every frame is queued
// (see SetSocket).
func NewOutbox() *Outbox {
	return &Outbox{
		frames: make(chan Frame, SnapshotSlots+controlSlots),
		kick:   make(chan netcode.CloseCode, 1),
	}
}

// SetSocket gives the Outbox the connection's socket, before any frame is
// sent: snapshots may then be written at once.
func (o *Outbox) SetSocket(s Socket) { o.sock = s }

// Reserve takes a snapshot slot for the snapshot about to be computed, or
// reports false when the connection is congested (every slot taken, or
// MaxPendingBytes waiting): the caller then skips the view. A true must be
// followed by SendSnapshot.
func (o *Outbox) Reserve() bool {
	if o.pending.Load() > MaxPendingBytes {
		return false
	}
	if o.snaps.Add(1) > SnapshotSlots {
		o.snaps.Add(-1)
		return false
	}
	return true
}

// SendSnapshot sends buf[netcode.WSHeadroom:], a snapshot, in the slot
// Reserve took: at once when it can (see Outbox), otherwise queued. It
// never blocks; buf is the caller's again when it returns. It reports
// whether the snapshot went to the socket at once, in whole or in part.
func (o *Outbox) SendSnapshot(buf []byte) bool {
	if o.sock != nil && o.queued.Load() == 0 && o.mu.TryLock() {
		if o.queued.Load() == 0 { // nothing slipped in before the lock
			frame := netcode.FrameInPlace(buf)
			n, err := o.sock.WriteNow(frame)
			switch {
			case err != nil:
				// A broken connection: its read loop sees the error too
				// and closes it; nothing is sent any more.
				o.mu.Unlock()
				o.snaps.Add(-1)
				return true
			case n == len(frame):
				o.mu.Unlock()
				o.snaps.Add(-1)
				return true
			case n > 0:
				// The writer finishes the frame before anything else is
				// written: the rest keeps the slot until then.
				o.rest = append(getBuf(len(frame)-n), frame[n:]...)
				o.pending.Add(int64(len(o.rest)))
				o.queued.Add(1)
				o.frames <- Frame{kind: frameRest} // room: it holds a snapshot slot
				o.mu.Unlock()
				o.queuedOne()
				return true
			}
			// n == 0: the socket took nothing; queue the whole frame.
		}
		o.mu.Unlock()
	}
	b := append(getBuf(len(buf)), buf...)
	o.pending.Add(int64(len(buf) - netcode.WSHeadroom))
	o.queued.Add(1)
	o.frames <- Frame{B: b[netcode.WSHeadroom:], buf: b, kind: frameSnapshot} // room: it holds a slot
	o.queuedOne()
	return false
}

// PostControl queues a frame that b owns from now on. It reports false if
// the queue is full: the peer is not reading, and the caller should Kick it.
func (o *Outbox) PostControl(b []byte) bool {
	if o.control.Add(1) > controlSlots {
		o.control.Add(-1)
		return false
	}
	o.pending.Add(int64(len(b)))
	o.queued.Add(1)
	o.frames <- Frame{B: b} // room: frames has a place for every slot
	o.queuedOne()
	return true
}

func (o *Outbox) queuedOne() {
	if o.OnQueued != nil {
		o.OnQueued()
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

// WriteQueued writes f, a frame taken from Frames, to the socket, waiting
// for it, after the rest of a snapshot begun at once; then it releases f.
// Only the connection's writer calls it, and only with a Socket.
func (o *Outbox) WriteQueued(f Frame) error {
	o.mu.Lock()
	err := o.flushRest()
	if err == nil {
		switch f.kind {
		case frameSnapshot:
			err = o.sock.WriteWait(netcode.FrameInPlace(f.buf))
		case frameControl:
			buf := append(getBuf(netcode.WSHeadroom + len(f.B))[:netcode.WSHeadroom], f.B...)
			err = o.sock.WriteWait(netcode.FrameInPlace(buf))
			putBuf(buf)
		}
	}
	o.mu.Unlock()
	o.Release(f)
	return err
}

// WriteRaw writes b, a whole frame made elsewhere (gws's pings and closes),
// to the socket, waiting for it, after the rest of a snapshot begun at
// once. It is safe from any goroutine but the match's.
func (o *Outbox) WriteRaw(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.flushRest(); err != nil {
		return 0, err
	}
	if err := o.sock.WriteWait(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// flushRest writes the rest of a snapshot begun at once; o.mu is held.
func (o *Outbox) flushRest() error {
	if len(o.rest) == 0 {
		return nil
	}
	err := o.sock.WriteWait(o.rest)
	o.pending.Add(-int64(len(o.rest)))
	putBuf(o.rest)
	o.rest = nil
	return err
}

// Release tells the Outbox that f, taken from Frames, was written (or
// dropped), and frees its slot.
func (o *Outbox) Release(f Frame) {
	switch f.kind {
	case frameSnapshot:
		o.pending.Add(-int64(len(f.B)))
		putBuf(f.buf)
		o.snaps.Add(-1)
	case frameRest:
		o.snaps.Add(-1) // its bytes were counted off when written
	default:
		o.pending.Add(-int64(len(f.B)))
		o.control.Add(-1)
	}
	o.queued.Add(-1)
}

// Buffers of frames that wait for a writer: they exist only while a
// connection is behind, and are shared by every connection.
const (
	bufSize  = 2048
	freeBufs = 256
)

var free = make(chan []byte, freeBufs)

// getBuf returns an empty buffer with room for n bytes.
func getBuf(n int) []byte {
	if n <= bufSize {
		select {
		case b := <-free:
			return b
		default:
		}
	}
	return make([]byte, 0, max(n, bufSize))
}

// putBuf gives back a buffer from getBuf.
func putBuf(b []byte) {
	if cap(b) != bufSize {
		return
	}
	select {
	case free <- b[:0]:
	default:
	}
}
