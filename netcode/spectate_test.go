package netcode

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// TestSpectateRoundTrip: a spectate frame decodes to its match ID and
// follow; without the optional follow it follows the whole world; its
// bytes are the ones docs/PROTOCOL.md shows.
func TestSpectateRoundTrip(t *testing.T) {
	r := NewReader()
	var m ClientMsg
	frame := AppendSpectate(nil, "m-1", 70)
	want := []byte{0x93, 0x06, 0xa3, 'm', '-', '1', 0x46}
	if !bytes.Equal(frame, want) {
		t.Fatalf("spectate bytes % x, want % x", frame, want)
	}
	if err := r.DecodeClient(frame, &m); err != nil || m.Type != MsgSpectate || m.MatchID != "m-1" || m.Follow != 70 {
		t.Fatalf("spectate: %v %+v", err, m)
	}
	if err := r.DecodeClient([]byte{0x92, 0x06, 0xa1, 'x'}, &m); err != nil || m.MatchID != "x" || m.Follow != 0 {
		t.Fatalf("spectate without follow: %v %+v", err, m)
	}
	long := AppendSpectate(nil, string(bytes.Repeat([]byte("a"), MaxMatchID)), 1<<32-1)
	if err := r.DecodeClient(long, &m); err != nil || len(m.MatchID) != MaxMatchID || m.Follow != 1<<32-1 {
		t.Fatalf("longest spectate: %v %+v", err, m)
	}
	// A later revision's extra element is skipped.
	if err := r.DecodeClient([]byte{0x94, 0x06, 0xa1, 'x', 0x02, 0xc0}, &m); err != nil || m.Follow != 2 {
		t.Fatalf("spectate with an extra element: %v %+v", err, m)
	}
}

// TestSpectateRejected: malformed spectate frames are refused with
// ErrMalformed.
func TestSpectateRejected(t *testing.T) {
	cases := map[string][]byte{
		"no match":         {0x91, 0x06},
		"empty match":      {0x93, 0x06, 0xa0, 0x00},
		"match too long":   AppendSpectate(nil, string(bytes.Repeat([]byte("a"), MaxMatchID+1)), 0),
		"match not string": {0x93, 0x06, 0x05, 0x00},
		"match nil":        {0x93, 0x06, 0xc0, 0x00},
		"follow negative":  {0x93, 0x06, 0xa1, 'x', 0xff},
		"follow too large": {0x93, 0x06, 0xa1, 'x', 0xcf, 0, 0, 0, 1, 0, 0, 0, 0},
		"follow string":    {0x93, 0x06, 0xa1, 'x', 0xa1, 'y'},
		"follow float":     {0x93, 0x06, 0xa1, 'x', 0xca, 0x3f, 0x80, 0, 0},
		"truncated":        AppendSpectate(nil, "m-1", 70)[:5],
		"string bomb":      {0x93, 0x06, 0xdb, 0x7f, 0xff, 0xff, 0xff, 0x00},
		"trailing bytes":   append(AppendSpectate(nil, "m-1", 70), 0x00),
	}
	r := NewReader()
	for name, frame := range cases {
		var m ClientMsg
		if err := r.DecodeClient(frame, &m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// TestSpectatingMatchedRoundTrip: a spectator's matched carries its 13th
// element; a player's matched has none, and decoding one after the other
// leaves no spectating state behind.
func TestSpectatingMatchedRoundTrip(t *testing.T) {
	s := testSchema()
	r := NewReader()
	var m ServerMsg
	sp := Matched{MatchID: "m-1", Mode: "arena", TickRate: 30, WorldW: 2000, WorldH: 1500, Schema: *s, Info: testInfo(),
		Tick: 40, EndTick: 5400, Spectating: true, DelayMs: 2000, Follow: 70}
	sp.Schema.Kinds = append([]Kind(nil), s.Kinds...)
	frame := AppendMatched(nil, &sp)
	if frame[0] != 0x9d {
		t.Fatalf("spectating matched header %#x, want 0x9d (13 elements)", frame[0])
	}
	if tail := frame[len(frame)-5:]; !bytes.Equal(tail, []byte{0x92, 0xcd, 0x07, 0xd0, 0x46}) {
		t.Fatalf("spectating element % x", tail)
	}
	if err := r.DecodeServer(frame, &m, nil); err != nil || !reflect.DeepEqual(m.Matched, sp) {
		t.Fatalf("spectating matched: %v\n got %+v\nwant %+v", err, m.Matched, sp)
	}
	seat := sp
	seat.Spectating, seat.DelayMs, seat.Follow, seat.Entity = false, 0, 0, 9
	if err := r.DecodeServer(AppendMatched(nil, &seat), &m, nil); err != nil || !reflect.DeepEqual(m.Matched, seat) {
		t.Fatalf("seat matched after a spectating one: %v\n got %+v\nwant %+v", err, m.Matched, seat)
	}
	bad := append(AppendMatched(nil, &seat)[:0:0], AppendMatched(nil, &seat)...)
	bad[0] = 0x9d
	bad = append(bad, 0x91, 0x01) // [delayMs] without follow
	if err := r.DecodeServer(bad, &m, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short spectating element: err = %v", err)
	}
}
