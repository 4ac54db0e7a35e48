package netcode

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeClient feeds arbitrary frames to the client-frame decoder: it
// must never panic, and every error must be ErrMalformed. A frame that
// decodes must re-encode to a frame that decodes to the same message.
func FuzzDecodeClient(f *testing.F) {
	in := Input{Seq: 3, MoveX: 0.5, MoveY: -0.5, Buttons: 1, AimX: 1, AimY: 2}
	for _, seed := range [][]byte{
		AppendHello(nil, 1, 1),
		AppendQueue(nil, "arena"),
		AppendInput(nil, &in),
		AppendPing(nil, 12.5),
		AppendLeave(nil),
		AppendInputs(nil, []Input{in, {Seq: 4, MoveX: 1}}),
		AppendSpectate(nil, "m-0123456789abcdef-1", 70),
		{0x92, MsgSpectate, 0xa1, 'x'},
		{0xdd, 0x7f, 0xff, 0xff, 0xff},
		{0x97, 0x02, 0x07, 0x01, 0x00, 0x01, 0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0x00},
	} {
		f.Add(seed)
	}
	r := NewReader()
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) > MaxClientFrame {
			return
		}
		var m ClientMsg
		err := r.DecodeClient(frame, &m)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		var again []byte
		switch m.Type {
		case MsgHello:
			again = AppendHello(nil, m.MinVersion, m.MaxVersion)
		case MsgQueue:
			again = AppendQueue(nil, m.Mode)
		case MsgInput:
			again = AppendInput(nil, &m.Input)
		case MsgPing:
			// The raw clientTime, exactly as it came (a pong echoes it).
			again = append([]byte{0x92, MsgPing}, m.RawClientTime()...)
		case MsgLeave:
			again = AppendLeave(nil)
		case MsgInputs:
			again = AppendInputs(nil, m.Batch[:m.BatchLen])
		case MsgSpectate:
			again = AppendSpectate(nil, m.MatchID, m.Follow)
		}
		var m2 ClientMsg
		if err := NewReader().DecodeClient(again, &m2); err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", m, err)
		}
		// Only Batch[:BatchLen] is the message.
		m.Batch, m2.Batch = m.Batch[:m.BatchLen], m2.Batch[:m2.BatchLen]
		if !reflect.DeepEqual(m2, m) {
			t.Fatalf("round trip: %+v != %+v", m2, m)
		}
	})
}

// FuzzDecodeServer guards the Go client's decoder of server frames.
func FuzzDecodeServer(f *testing.F) {
	s := testSchema()
	f.Add(AppendWelcome(nil, 1, "p", "n", WhereSeated))
	f.Add(AppendMatched(nil, &Matched{MatchID: "m", Mode: "arena", Entity: 1, TickRate: 30, WorldW: 10, WorldH: 10, Schema: *s, Info: testInfo()}))
	f.Add(AppendMatched(nil, &Matched{MatchID: "m", Mode: "tag", Entity: 1, TickRate: 30, WorldW: 10, WorldH: 10, Schema: *s,
		Info: ModeInfo{Speed: 1, AvatarRadius: 1, InterestRadius: 1}}))
	f.Add(matchedExample())
	f.Add(AppendMatched(nil, &Matched{MatchID: "m", Mode: "arena", TickRate: 30, WorldW: 10, WorldH: 10, Schema: *s, Info: testInfo(),
		Spectating: true, DelayMs: 2000, Follow: 3}))
	v := NewView(s, Interest{Radius: 10})
	for tick, x := range []float32{1, 5, 50} {
		v.Begin(uint32(tick))
		v.Consider(&Entity{ID: 7, X: x}, 0, x*x, false)
		v.Consider(&Entity{ID: 8, X: 2, F: [MaxFields]float32{float32(tick)}}, 1, 4, true)
		v.Finish()
		h := SnapshotHeader{Tick: uint32(tick), Rejects: []Reject{{1, 2}}, Events: []Event{{1, 2, 3}}, Scores: []Score{{1, 2, true, "ann"}}, HasLead: tick == 1, LeadUs: 300}
		f.Add(v.AppendSnapshot(nil, &h))
	}
	// A later revision's flag (bit 7) and its part after ours.
	f.Add([]byte{0x97, 0x03, 0x0a, 0x07, 0xcc, 0x83, 0x93, 0x06, 0x01, 0x02, 0x10, 0xa1, 'x'})
	f.Add(AppendResult(nil, 0, []Standing{{PlayerID: "p", Name: "n", Entity: 1, Score: 2, Place: 1}}))
	f.Add(AppendResult(nil, 0, []Standing{{PlayerID: "p", Name: "n", Entity: 1, Score: 2, Place: 1, Team: 2}}))
	f.Add(AppendMoved(nil, "http://127.0.0.1:8082"))
	f.Add([]byte{0xdd, 0x7f, 0xff, 0xff, 0xff})
	r := NewReader()
	var m ServerMsg
	mir := NewMirror(s)
	f.Fuzz(func(t *testing.T, frame []byte) {
		err := r.DecodeServer(frame, &m, s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if m.Type == MsgSnapshot {
			if err := mir.Apply(&m.Snapshot); err != nil && !errors.Is(err, ErrBadDiff) {
				t.Fatalf("mirror: %v", err)
			}
		}
		if m.Type == MsgMatched {
			// What decodes re-encodes to a matched that decodes to the same.
			again := AppendMatched(nil, &m.Matched)
			var m2 ServerMsg
			if err := NewReader().DecodeServer(again, &m2, nil); err != nil {
				t.Fatalf("re-encoded matched does not decode: %v", err)
			}
			if b := AppendMatched(nil, &m2.Matched); !bytes.Equal(b, again) {
				t.Fatalf("matched round trip:\n% x\n% x", again, b)
			}
		}
	})
}
