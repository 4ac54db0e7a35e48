package match

import (
	"bytes"
	"testing"

	"skirmish/netcode"
)

// sinkSocket is a Socket that takes every write whole.
type sinkSocket struct{ n int }

func (s *sinkSocket) WriteNow(b []byte) (int, error) { s.n += len(b); return len(b), nil }
func (s *sinkSocket) WriteWait(b []byte) error       { s.n += len(b); return nil }

// stingySocket takes at most take bytes per WriteNow (0: none) and records
// every byte written, in order.
type stingySocket struct {
	take int
	got  bytes.Buffer
}

func (s *stingySocket) WriteNow(b []byte) (int, error) {
	n := min(s.take, len(b))
	s.got.Write(b[:n])
	return n, nil
}

func (s *stingySocket) WriteWait(b []byte) error { s.got.Write(b); return nil }

// snapshot returns a buffer holding payload after the WebSocket headroom.
func snapshot(payload string) []byte {
	return append(make([]byte, netcode.WSHeadroom), payload...)
}

// wsFrame is payload framed as the server sends it.
func wsFrame(payload string) []byte {
	return append([]byte{0x82, byte(len(payload))}, payload...)
}

// writeQueued writes every queued frame, as the connection's writer does.
func writeQueued(t *testing.T, o *Outbox) {
	t.Helper()
	for len(o.Frames()) > 0 {
		if err := o.WriteQueued(<-o.Frames()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOutboxWritesAtOnce(t *testing.T) {
	sock := &stingySocket{take: 1 << 20}
	o := NewOutbox()
	o.SetSocket(sock)
	for _, p := range []string{"one", "two"} {
		if !o.Reserve() {
			t.Fatal("Reserve failed on an idle connection")
		}
		if !o.SendSnapshot(snapshot(p)) {
			t.Fatal("snapshot queued although the socket takes it")
		}
	}
	if len(o.Frames()) != 0 || o.queued.Load() != 0 || o.snaps.Load() != 0 || o.pending.Load() != 0 {
		t.Fatalf("state after direct writes: frames %d queued %d snaps %d pending %d",
			len(o.Frames()), o.queued.Load(), o.snaps.Load(), o.pending.Load())
	}
	want := append(wsFrame("one"), wsFrame("two")...)
	if !bytes.Equal(sock.got.Bytes(), want) {
		t.Fatalf("wrote % x, want % x", sock.got.Bytes(), want)
	}
}

// A snapshot the socket takes only in part is finished by the writer before
// anything else: a control frame posted meanwhile, and the next snapshot,
// come after it, whole.
func TestOutboxPartialWriteKeepsOrder(t *testing.T) {
	sock := &stingySocket{take: 3}
	o := NewOutbox()
	o.SetSocket(sock)
	if !o.Reserve() || !o.SendSnapshot(snapshot("snapshot-one")) {
		t.Fatal("the first snapshot did not go out at once")
	}
	if !o.PostControl([]byte("control")) {
		t.Fatal("PostControl failed")
	}
	sock.take = 1 << 20 // the socket drains: the match would write at once again
	if !o.Reserve() {
		t.Fatal("Reserve failed with a free slot")
	}
	if o.SendSnapshot(snapshot("snapshot-two")) {
		t.Fatal("a snapshot was written at once while frames waited before it")
	}
	if o.Reserve() {
		t.Fatal("a third snapshot got a slot while two were under way")
	}
	writeQueued(t, o)
	want := append(append(wsFrame("snapshot-one"), wsFrame("control")...), wsFrame("snapshot-two")...)
	if !bytes.Equal(sock.got.Bytes(), want) {
		t.Fatalf("wrote %q, want %q", sock.got.Bytes(), want)
	}
	if o.queued.Load() != 0 || o.snaps.Load() != 0 || o.control.Load() != 0 || o.pending.Load() != 0 {
		t.Fatalf("state after drain: queued %d snaps %d control %d pending %d",
			o.queued.Load(), o.snaps.Load(), o.control.Load(), o.pending.Load())
	}
	if !o.Reserve() || !o.SendSnapshot(snapshot("three")) {
		t.Fatal("not written at once once the queue was empty")
	}
}

// A frame gws writes (a ping, a close) waits for the rest of a snapshot.
func TestOutboxWriteRawAfterRest(t *testing.T) {
	sock := &stingySocket{take: 2}
	o := NewOutbox()
	o.SetSocket(sock)
	o.Reserve()
	o.SendSnapshot(snapshot("abcdef"))
	if _, err := o.WriteRaw([]byte{0x89, 0}); err != nil {
		t.Fatal(err)
	}
	want := append(wsFrame("abcdef"), 0x89, 0)
	if !bytes.Equal(sock.got.Bytes(), want) {
		t.Fatalf("wrote % x, want % x", sock.got.Bytes(), want)
	}
	writeQueued(t, o) // the rest's marker frees its slot
	if o.snaps.Load() != 0 || o.queued.Load() != 0 {
		t.Fatalf("slots %d queued %d after the rest was written", o.snaps.Load(), o.queued.Load())
	}
}

// A socket that takes nothing: snapshots are queued whole, and once both
// slots are taken the connection is congested until the writer catches up.
func TestOutboxCongested(t *testing.T) {
	sock := &stingySocket{take: 0}
	o := NewOutbox()
	o.SetSocket(sock)
	for i := range SnapshotSlots {
		if !o.Reserve() {
			t.Fatalf("Reserve %d failed", i)
		}
		if o.SendSnapshot(snapshot("x")) {
			t.Fatal("written at once by a socket that takes nothing")
		}
	}
	if o.Reserve() {
		t.Fatal("Reserve succeeded with every slot taken")
	}
	writeQueued(t, o)
	if !o.Reserve() {
		t.Fatal("still congested after the writer caught up")
	}
}

func TestFrameInPlace(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		buf := make([]byte, netcode.WSHeadroom+n)
		f := netcode.FrameInPlace(buf)
		var hdr int
		switch {
		case n < 126:
			hdr = 2
			if f[1] != byte(n) {
				t.Fatalf("%d: length byte %d", n, f[1])
			}
		case n < 1<<16:
			hdr = 4
			if f[1] != 126 || int(f[2])<<8|int(f[3]) != n {
				t.Fatalf("%d: header % x", n, f[:4])
			}
		default:
			hdr = 10
			if f[1] != 127 || int(f[6])<<24|int(f[7])<<16|int(f[8])<<8|int(f[9]) != n {
				t.Fatalf("%d: header % x", n, f[:10])
			}
		}
		if f[0] != 0x82 || len(f) != hdr+n {
			t.Fatalf("%d: frame of %d bytes, first byte %x", n, len(f), f[0])
		}
	}
}

// BenchmarkSendSnapshot is the match's cost to hand one snapshot to a
// connection whose socket takes it at once (the write itself left out: see
// the server's BenchmarkWriteNow).
func BenchmarkSendSnapshot(b *testing.B) {
	o := NewOutbox()
	o.SetSocket(&sinkSocket{})
	buf := snapshot(string(make([]byte, 60)))
	b.ReportAllocs()
	for b.Loop() {
		if !o.Reserve() {
			b.Fatal("congested")
		}
		o.SendSnapshot(buf)
	}
}
