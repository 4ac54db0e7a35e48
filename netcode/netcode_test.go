package netcode

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestClientFramesRoundTrip(t *testing.T) {
	in := Input{Seq: 42, MoveX: 0.6, MoveY: -0.8, Buttons: 1, AimX: 3, AimY: -4}
	cases := []struct {
		name  string
		frame []byte
		want  ClientMsg
	}{
		{"hello", AppendHello(nil, 1, 3), ClientMsg{Type: MsgHello, MinVersion: 1, MaxVersion: 3}},
		{"queue", AppendQueue(nil, "arena"), ClientMsg{Type: MsgQueue, Mode: "arena"}},
		{"input", AppendInput(nil, &in), ClientMsg{Type: MsgInput, Input: in}},
		{"ping", AppendPing(nil, 1234.5), ClientMsg{Type: MsgPing, ClientTime: 1234.5, ClientTimeRaw: [9]byte{0xcb, 0x40, 0x93, 0x4a}, ClientTimeLen: 9}},
		{"leave", AppendLeave(nil), ClientMsg{Type: MsgLeave}},
	}
	r := NewReader()
	for _, tc := range cases {
		var got ClientMsg
		if err := r.DecodeClient(tc.frame, &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v want %+v", tc.name, got, tc.want)
		}
	}
}

// The protocol document's example bytes decode as it says, and frames made
// by the reflection encoder (as other languages' libraries make them, with
// float64 and any integer width) decode too.
func TestClientFramesFromOtherEncoders(t *testing.T) {
	r := NewReader()
	var m ClientMsg
	doc := []byte{0x97, 0x02, 0x07, 0x01, 0x00, 0x01, 0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0x00}
	if err := r.DecodeClient(doc, &m); err != nil {
		t.Fatal(err)
	}
	if m.Input != (Input{Seq: 7, MoveX: 1, Buttons: 1, AimX: 0.5}) {
		t.Errorf("doc example: %+v", m.Input)
	}
	b, err := msgpack.Marshal([]any{uint64(2), int64(9), 0.5, float32(-0.5), uint16(0), -1.0, int8(2), int64(100), 0.25, "extra", []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DecodeClient(b, &m); err != nil {
		t.Fatalf("reflection-encoded input with trailing fields: %v", err)
	}
	if m.Input != (Input{Seq: 9, MoveX: 0.5, MoveY: -0.5, AimX: -1, AimY: 2, ViewTick: 100, ViewFrac: 0.25}) {
		t.Errorf("got %+v", m.Input)
	}
	// A view fraction out of [0, 1] is clamped (one not finite is
	// malformed, as every float).
	for _, tc := range []struct{ frac, want float64 }{{-3, 0}, {7, 1}, {0.75, 0.75}} {
		b, _ := msgpack.Marshal([]any{2, 9, 0, 0, 0, 0, 0, 5, tc.frac})
		if err := r.DecodeClient(b, &m); err != nil || m.Input.ViewTick != 5 || float64(m.Input.ViewFrac) != tc.want {
			t.Errorf("view fraction %v: %+v, %v", tc.frac, m.Input, err)
		}
	}
	if b, _ := msgpack.Marshal([]any{2, 9, 0, 0, 0, 0, 0, 5, math.NaN()}); r.DecodeClient(b, &m) == nil {
		t.Error("NaN view fraction accepted")
	}
	if b, _ := msgpack.Marshal([]any{2, 9, 0, 0, 0, 0, 0, 5}); r.DecodeClient(b, &m) == nil {
		t.Error("a view tick without its fraction accepted")
	}
	// The view time of an input is its own: a later input without one has
	// none, in a batch too, where inputs with and without mix.
	if err := r.DecodeClient(AppendInput(nil, &Input{Seq: 10}), &m); err != nil || m.Input.ViewTick != 0 {
		t.Errorf("input without a view time: %+v, %v", m.Input, err)
	}
	batch := []Input{{Seq: 1, ViewTick: 40, ViewFrac: 0.5}, {Seq: 2}, {Seq: 3, Buttons: 2, ViewTick: 41}}
	if err := r.DecodeClient(AppendInputs(nil, batch), &m); err != nil || !reflect.DeepEqual(m.Batch[:m.BatchLen], batch) {
		t.Errorf("batch with view times: %+v, %v", m.Batch[:m.BatchLen], err)
	}
}

func TestClientFramesRejected(t *testing.T) {
	nan := AppendInput(nil, &Input{Seq: 1})
	// patch MoveX (float32 at offset 3) to NaN
	copy(nan[3:], []byte{0xca, 0x7f, 0xc0, 0, 0})
	cases := map[string][]byte{
		"empty":             {},
		"not an array":      {0x01},
		"empty array":       {0x90},
		"unknown type":      {0x91, 0x09},
		"negative type":     {0x91, 0xff},
		"short hello":       {0x92, 0x00, 0x01},
		"queue no mode":     {0x91, 0x01},
		"queue empty mode":  {0x92, 0x01, 0xa0},
		"queue long mode":   append([]byte{0x92, 0x01, 0xb1}, bytes.Repeat([]byte("a"), 17)...),
		"queue int mode":    {0x92, 0x01, 0x05},
		"input seq 0":       AppendInput(nil, &Input{Seq: 0}),
		"input NaN":         nan,
		"input truncated":   AppendInput(nil, &Input{Seq: 1})[:10],
		"trailing bytes":    append(AppendLeave(nil), 0x00),
		"array bomb":        {0xdd, 0x7f, 0xff, 0xff, 0xff},
		"inner bomb":        {0x92, 0x03, 0xdd, 0x7f, 0xff, 0xff, 0xff},
		"string bomb":       {0x92, 0x01, 0xdb, 0x7f, 0xff, 0xff, 0xff},
		"map instead":       {0x81, 0x00, 0x00},
		"nil array":         {0xc0},
		"seq too large":     {0x97, 0x02, 0xcf, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"buttons too large": {0x97, 0x02, 0x01, 0, 0, 0xcd, 0x01, 0x00, 0, 0},
	}
	r := NewReader()
	for name, frame := range cases {
		var m ClientMsg
		if err := r.DecodeClient(frame, &m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// TestArrayBombAllocatesLittle: the 5-byte frame dd 7f ff ff ff claims 2^31
// elements; decoding it must fail having allocated under 64 KiB.
func TestArrayBombAllocatesLittle(t *testing.T) {
	r := NewReader()
	bomb := []byte{0xdd, 0x7f, 0xff, 0xff, 0xff}
	var m ClientMsg
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 100 {
		if err := r.DecodeClient(bomb, &m); err == nil {
			t.Fatal("bomb decoded")
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d >= 64<<10 {
		t.Errorf("100 bombs allocated %d bytes, want < 64 KiB", d)
	}
	var sm ServerMsg
	if err := r.DecodeServer(bomb, &sm, nil); err == nil {
		t.Fatal("bomb decoded as server frame")
	}
}

// testKinds declares kinds of the given names, drawn as circles.
func testKinds(names ...string) []Kind {
	ks := make([]Kind, len(names))
	for i, n := range names {
		ks[i] = Kind{Name: n, Shape: ShapeCircle, Color: "#ffffff", Size: 10, Label: LabelNone, Team: -1}
	}
	return ks
}

// testInfo is a mode declaration that uses every part of ModeInfo.
func testInfo() ModeInfo {
	return ModeInfo{
		Speed: 200, AvatarRadius: 16, InterestRadius: 500,
		Actions:  []Action{{Bit: 0, Name: "fire", CooldownTicks: 8, Aimed: true}, {Bit: 3, Name: "dash", CooldownTicks: 90}},
		Events:   []EventDecl{{Type: 1, Name: "hit", A: EventArgPlayer, B: EventArgEntity}, {Type: 9, Name: "score", A: EventArgValue}},
		Teams:    []Team{{Name: "red", Color: "#e53935"}, {Name: "blue", Color: "#1e88e5"}},
		Immobile: &Immobile{Field: 0, Min: -1e9, Max: 0},
	}
}

func testSchema() *Schema {
	return &Schema{PosScale: 8, Kinds: testKinds("player", "npc"), Fields: []Field{{Name: "hp", Scale: 1}, {Name: "angle", Scale: 100}}}
}

func TestServerFramesRoundTrip(t *testing.T) {
	s := testSchema()
	r := NewReader()
	var m ServerMsg

	if err := r.DecodeServer(AppendWelcome(nil, 1, "p-1", "alice", WhereLobby), &m, nil); err != nil || m.PlayerID != "p-1" || m.Name != "alice" || m.Version != 1 {
		t.Fatalf("welcome: %v %+v", err, m)
	}
	matched := Matched{MatchID: "m-1", Mode: "arena", Entity: 70, TickRate: 30, WorldW: 2000, WorldH: 1500, Schema: *s, Info: testInfo(),
		Tick: 5, EndTick: 5400, AckSeq: 17}
	matched.Schema.Kinds = append([]Kind(nil), s.Kinds...)
	matched.Schema.Kinds[0].Label, matched.Schema.Kinds[0].Team, matched.Schema.Kinds[1].Label = LabelOwner, 1, 0
	if err := r.DecodeServer(AppendMatched(nil, &matched), &m, nil); err != nil || !reflect.DeepEqual(m.Matched, matched) {
		t.Fatalf("matched: %v\n got %+v\nwant %+v", err, m.Matched, matched)
	}
	// A free-for-all mode without actions, events or an immobility rule.
	ffa := Matched{MatchID: "m-2", Mode: "tag", Entity: 1, TickRate: 30, WorldW: 10, WorldH: 10, Schema: *s,
		Info: ModeInfo{Speed: 220, AvatarRadius: 16, InterestRadius: 600, Actions: []Action{}, Events: []EventDecl{}, Teams: []Team{}}}
	if err := r.DecodeServer(AppendMatched(nil, &ffa), &m, nil); err != nil || !reflect.DeepEqual(m.Matched, ffa) {
		t.Fatalf("matched ffa: %v\n got %+v\nwant %+v", err, m.Matched, ffa)
	}
	v := NewView(s, Interest{Radius: 100})
	ents := []Entity{
		{ID: 1, Kind: 0, X: 10.125, Y: 19.875, F: [MaxFields]float32{100, 3.14}},
		{ID: 1 << 20, Kind: 1, X: 0, Y: 0, F: [MaxFields]float32{-5, -0.01}},
	}
	h := SnapshotHeader{
		Tick: 99, AckSeq: 12,
		Rejects: []Reject{{Seq: 11, Code: RejectCooldown}},
		Events:  []Event{{Type: 1, A: 1, B: 2}},
		Scores:  []Score{{Entity: 1, Score: 3, Name: "ann"}, {Entity: 2, Score: -1}},
		LeadUs:  2500, HasLead: true,
	}
	v.Begin(99)
	for i := range ents {
		v.Consider(&ents[i], int32(i), 0, i == 0)
	}
	v.Finish()
	if err := r.DecodeServer(v.AppendSnapshot(nil, &h), &m, s); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Snapshot.SnapshotHeader, h) {
		t.Errorf("header: got %+v want %+v", m.Snapshot.SnapshotHeader, h)
	}
	if !m.Snapshot.Reset || len(m.Snapshot.Creates) != 2 || len(m.Snapshot.Updates) != 0 || len(m.Snapshot.Removes) != 0 {
		t.Fatalf("first view: %+v", m.Snapshot)
	}
	mir := NewMirror(s)
	if err := mir.Apply(&m.Snapshot); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if got, _ := mir.Get(e.ID); got != s.Quantized(e) {
			t.Errorf("entity %d: got %+v want %+v", e.ID, got, s.Quantized(e))
		}
	}
	// Second tick: one moves, one leaves; no lead.
	ents[0].X += 3
	v.Begin(100)
	v.Consider(&ents[0], 0, 0, true)
	v.Finish()
	h = SnapshotHeader{Tick: 100, AckSeq: 12}
	if err := r.DecodeServer(v.AppendSnapshot(nil, &h), &m, s); err != nil {
		t.Fatal(err)
	}
	sn := &m.Snapshot
	if sn.Reset || len(sn.Creates) != 0 || len(sn.Updates) != 1 || sn.Updates[0].Mask != 1 || sn.Updates[0].D[0] != 24 || len(sn.Removes) != 1 || sn.HasLead {
		t.Fatalf("second view: %+v", sn)
	}
	if err := mir.Apply(sn); err != nil {
		t.Fatal(err)
	}
	if got, ok := mir.Get(1); !ok || got.X != ents[0].X || mir.Len() != 1 {
		t.Errorf("mirror after diff: %+v (%d entities)", got, mir.Len())
	}
	st := []Standing{{PlayerID: "p-1", Name: "a", Entity: 3, Score: 9, Place: 1}}
	if err := r.DecodeServer(AppendResult(nil, OutcomeNormal, st), &m, nil); err != nil || !reflect.DeepEqual(m.Standings, st) {
		t.Fatalf("result: %v %+v", err, m.Standings)
	}
	st = []Standing{{PlayerID: "p-1", Name: "a", Entity: 3, Score: 9, Place: 1, Team: 2}, {PlayerID: "p-2", Entity: 4, Place: 2, Team: 1}}
	if err := r.DecodeServer(AppendResult(nil, OutcomeNormal, st), &m, nil); err != nil || !reflect.DeepEqual(m.Standings, st) {
		t.Fatalf("team result: %v %+v", err, m.Standings)
	}
	if err := r.DecodeServer(AppendError(nil, ErrUnknownMode), &m, nil); err != nil || m.ErrCode != ErrUnknownMode || m.ErrText != "unknown_mode" {
		t.Fatalf("error: %v %+v", err, m)
	}
	if err := r.DecodeServer(AppendPong(nil, []byte{0xcb, 0x40, 0x16, 0, 0, 0, 0, 0, 0}, 77), &m, nil); err != nil || m.ClientTime != 5.5 || m.ServerTimeMs != 77 {
		t.Fatalf("pong: %v %+v", err, m)
	}
	if err := r.DecodeServer(AppendWelcome(nil, 1, "p-1", "alice", WhereQueued), &m, nil); err != nil || m.Where != WhereQueued {
		t.Fatalf("welcome where: %v %+v", err, m)
	}
	// A welcome of the first wave (4 elements) is in the lobby.
	if err := r.DecodeServer([]byte{0x94, 0, 1, 0xa1, 'p', 0xa1, 'n'}, &m, nil); err != nil || m.Where != WhereLobby || m.PlayerID != "p" {
		t.Fatalf("4-element welcome: %v %+v", err, m)
	}
}

// A pong echoes clientTime as the client encoded it: an integer stays an
// integer of the same width, a float32 a float32.
func TestPongEchoesClientTimeAsGiven(t *testing.T) {
	r := NewReader()
	for _, raw := range [][]byte{
		{0x2a},             // fixint 42
		{0xcd, 0x04, 0xd2}, // uint16 1234
		{0xcf, 0, 0, 1, 0x8b, 0xcd, 0x2a, 0x6f, 0}, // uint64 ms since 1970
		{0xca, 0x3f, 0xc0, 0, 0},                   // float32 1.5
		{0xcb, 0x40, 0x93, 0x4a, 0, 0, 0, 0, 0},    // float64 1234.5
	} {
		ping := append([]byte{0x92, MsgPing}, raw...)
		var c ClientMsg
		if err := r.DecodeClient(ping, &c); err != nil {
			t.Fatalf("ping % x: %v", ping, err)
		}
		pong := AppendPong(nil, c.RawClientTime(), 9)
		if want := append(append([]byte{0x93, MsgPong}, raw...), 9); !bytes.Equal(pong, want) {
			t.Errorf("pong % x, want % x", pong, want)
		}
	}
}

func TestQuantize(t *testing.T) {
	for _, tc := range []struct {
		v, scale float32
		q        int64
	}{{1.0625, 8, 9}, {-1.0625, 8, -9}, {0.0624, 8, 0}, {1999.99, 8, 16000}, {2.5, 1, 3}} {
		if q := Quantize(tc.v, tc.scale); q != tc.q {
			t.Errorf("Quantize(%v, %v) = %d, want %d", tc.v, tc.scale, q, tc.q)
		}
		if d := math.Abs(float64(Dequantize(Quantize(tc.v, tc.scale), tc.scale) - tc.v)); d > 0.5/float64(tc.scale)+1e-4 {
			t.Errorf("round trip of %v off by %v", tc.v, d)
		}
	}
}

func TestAppendIntegerForms(t *testing.T) {
	r := NewReader()
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, -1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1} {
		r.Reset(appendInt(nil, v))
		got, err := r.Int(math.MinInt64, math.MaxInt64)
		if err != nil || got != v {
			t.Errorf("appendInt(%d): got %d, %v", v, got, err)
		}
		var x int64
		if err := msgpack.Unmarshal(appendInt(nil, v), &x); err != nil || x != v {
			t.Errorf("msgpack reads appendInt(%d) as %d, %v", v, x, err)
		}
	}
	for _, n := range []int{0, 15, 16, 65535, 65536} {
		r.Reset(appendArray(nil, n))
		if got, err := r.d.DecodeArrayLen(); err != nil || got != n {
			t.Errorf("appendArray(%d): %d %v", n, got, err)
		}
	}
	for _, n := range []int{0, 31, 32, 255, 256, 70000} {
		s := string(bytes.Repeat([]byte("x"), n))
		var got string
		if err := msgpack.Unmarshal(appendString(nil, s), &got); err != nil || got != s {
			t.Errorf("appendString(len %d): %v", n, err)
		}
	}
}

func TestDecodeInputAllocatesNothing(t *testing.T) {
	r := NewReader()
	frame := AppendInput(nil, &Input{Seq: 7, MoveX: 1, Buttons: 1})
	var m ClientMsg
	allocs := testing.AllocsPerRun(1000, func() {
		if err := r.DecodeClient(frame, &m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("DecodeClient(input) allocates %v times per frame", allocs)
	}
}

func BenchmarkDecodeInput(b *testing.B) {
	r := NewReader()
	frame := AppendInput(nil, &Input{Seq: 7, MoveX: 0.6, MoveY: 0.8, Buttons: 1})
	var m ClientMsg
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := r.DecodeClient(frame, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// Scales travel as floats: a field of scale 0.5 (steps of 2 units) and a
// position scale of 0.25 survive matched and the snapshot round trip.
func TestFractionalScales(t *testing.T) {
	s := &Schema{PosScale: 0.25, Kinds: testKinds("rock"), Fields: []Field{{Name: "mass", Scale: 0.5}, {Name: "angle", Scale: 100}}}
	r := NewReader()
	var m ServerMsg
	matched := Matched{MatchID: "m", Mode: "rocks", Entity: 1, TickRate: 30, WorldW: 100, WorldH: 100, Schema: *s, Info: testInfo()}
	if err := r.DecodeServer(AppendMatched(nil, &matched), &m, nil); err != nil {
		t.Fatal(err)
	}
	got := m.Matched.Schema
	if got.PosScale != 0.25 || got.Fields[0].Scale != 0.5 || got.Fields[1].Scale != 100 {
		t.Fatalf("schema after matched: %+v", got)
	}
	v := NewView(&got, Interest{Radius: 1e6})
	mir := NewMirror(&got)
	e := Entity{ID: 1, X: 41, Y: 7, F: [MaxFields]float32{10}}
	for tick := range uint32(3) {
		v.Begin(tick)
		v.Consider(&e, 0, 0, true)
		v.Finish()
		if err := r.DecodeServer(v.AppendSnapshot(nil, &SnapshotHeader{Tick: tick}), &m, &got); err != nil {
			t.Fatal(err)
		}
		if err := mir.Apply(&m.Snapshot); err != nil {
			t.Fatal(err)
		}
		if g, _ := mir.Get(1); g != s.Quantized(e) || g.F[0] != e.F[0] {
			t.Fatalf("tick %d: %+v, want %+v", tick, g, s.Quantized(e))
		}
		e.X += 8
		e.F[0] += 2 // one step of scale 0.5
	}
}

// A view names a player the first time it sends their entry (and again
// after a reset), never after; the mirror keeps the name.
func TestScoreNamesOncePerView(t *testing.T) {
	s := testSchema()
	v := NewView(s, Interest{Radius: 100})
	mir := NewMirror(s)
	r := NewReader()
	var m ServerMsg
	all := []Score{{Entity: 5, Score: 0, Name: "ann"}, {}}
	step := func(tick uint32) []Score {
		v.Begin(tick)
		v.Finish()
		h := SnapshotHeader{Tick: tick, Scores: v.DiffScores(all)}
		if err := r.DecodeServer(v.AppendSnapshot(nil, &h), &m, s); err != nil {
			t.Fatal(err)
		}
		if err := mir.Apply(&m.Snapshot); err != nil {
			t.Fatal(err)
		}
		return m.Snapshot.Scores
	}
	if got := step(1); len(got) != 1 || got[0].Name != "ann" {
		t.Fatalf("first entry %+v", got)
	}
	all[0].Score = 3
	all[1] = Score{Entity: 9, Name: "bob"} // a late joiner
	if got := step(2); len(got) != 2 || got[0].Name != "" || got[1].Name != "bob" {
		t.Fatalf("second snapshot %+v", got)
	}
	if sc := mir.Score(5); sc.Name != "ann" || sc.Score != 3 {
		t.Fatalf("mirror keeps %+v", sc)
	}
	if got := step(3); len(got) != 0 {
		t.Fatalf("nothing changed, sent %+v", got)
	}
	all[1] = Score{Entity: 12, Name: "cy"} // the seat's new player
	if got := step(4); len(got) != 1 || got[0].Name != "cy" {
		t.Fatalf("new player in a seat: %+v", got)
	}
	v.Reset() // a resumed seat: every entry named again
	if got := step(5); len(got) != 2 || got[0].Name != "ann" || got[1].Name != "cy" {
		t.Fatalf("full view %+v", got)
	}
}

// Malformed declarations in matched are refused: over the caps, action
// bits repeated or beyond 7, an immobility rule on a missing field, a
// team field without teams, labels beyond the fields.
func TestMatchedRefusesBadDeclarations(t *testing.T) {
	base := func() Matched {
		return Matched{MatchID: "m", Mode: "x", Entity: 1, TickRate: 30, WorldW: 10, WorldH: 10, Schema: *testSchema(), Info: testInfo()}
	}
	for name, edit := range map[string]func(m *Matched){
		"nine actions": func(m *Matched) {
			m.Info.Actions = nil
			for i := range 9 {
				m.Info.Actions = append(m.Info.Actions, Action{Bit: uint8(i), Name: "a"})
			}
		},
		"bit 8":               func(m *Matched) { m.Info.Actions[1].Bit = 8 },
		"bit twice":           func(m *Matched) { m.Info.Actions[1].Bit = 0 },
		"65 events":           func(m *Matched) { m.Info.Events = make([]EventDecl, 65) },
		"17 teams":            func(m *Matched) { m.Info.Teams = make([]Team, 17) },
		"immobile field 2":    func(m *Matched) { m.Info.Immobile.Field = 2 },
		"team without teams":  func(m *Matched) { m.Info.Teams = nil; m.Schema.Kinds[0].Team = 0 },
		"label beyond fields": func(m *Matched) { m.Schema.Kinds[0].Label = 2 },
		"label -3":            func(m *Matched) { m.Schema.Kinds[0].Label = -3 },
		"zero scale":          func(m *Matched) { m.Schema.Fields[0].Scale = 0 },
		"meter beyond fields": func(m *Matched) { m.Schema.Kinds[0].Meter, m.Schema.Kinds[0].MeterMax = 2, 100 },
		"no kinds":            func(m *Matched) { m.Schema.Kinds = nil },
	} {
		m := base()
		m.Schema.Kinds = append([]Kind(nil), m.Schema.Kinds...)
		m.Schema.Fields = append([]Field(nil), m.Schema.Fields...)
		edit(&m)
		var got ServerMsg
		if err := NewReader().DecodeServer(AppendMatched(nil, &m), &got, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A kind's meter (a field drawn as a bar, full at MeterMax) travels as the
// kind's 7th and 8th elements, only when it has one: a kind without one
// keeps its 6 elements, byte for byte.
func TestKindMeterRoundTrip(t *testing.T) {
	s := &Schema{PosScale: 8, Kinds: testKinds("player", "rock"), Fields: []Field{{Name: "team", Scale: 1}, {Name: "hp", Scale: 1}}}
	plain := Matched{MatchID: "m", Mode: "x", Entity: 1, TickRate: 30, WorldW: 10, WorldH: 10, Schema: *s, Info: testInfo()}
	with := plain
	with.Schema.Kinds = append([]Kind(nil), s.Kinds...)
	with.Schema.Kinds[0].Meter, with.Schema.Kinds[0].MeterMax = 1, 100
	a, b := AppendMatched(nil, &plain), AppendMatched(nil, &with)
	if len(b) <= len(a) {
		t.Errorf("a meter added no bytes: %d, %d", len(a), len(b))
	}
	var m ServerMsg
	if err := NewReader().DecodeServer(b, &m, nil); err != nil {
		t.Fatal(err)
	}
	if k := m.Matched.Schema.Kinds; k[0].Meter != 1 || k[0].MeterMax != 100 || k[1].MeterMax != 0 {
		t.Errorf("kinds after the round trip: %+v", k)
	}
	if err := NewReader().DecodeServer(a, &m, nil); err != nil || m.Matched.Schema.Kinds[0].MeterMax != 0 {
		t.Errorf("a kind without a meter: %v %+v", err, m.Matched.Schema.Kinds[0])
	}
	// A mode cannot declare a meter beyond its fields or a negative one.
	for _, k := range []Kind{{Meter: 2, MeterMax: 100}, {Meter: 1, MeterMax: -1}, {Meter: -1, MeterMax: 1}} {
		bad := *s
		bad.Kinds = []Kind{{Name: "player", Shape: ShapeCircle, Color: "#ffffff", Size: 1, Label: LabelNone, Team: -1, Meter: k.Meter, MeterMax: k.MeterMax}}
		if bad.Validate() == nil {
			t.Errorf("meter %d of %v accepted", k.Meter, k.MeterMax)
		}
	}
}
