package netcode

import "testing"

// The view time examples of docs/PROTOCOL.md (§4 input, §9) decode as the
// document says.
func TestViewTimeExampleBytes(t *testing.T) {
	r := NewReader()
	var m ClientMsg
	// [2, 7, 1, 0, 2, 1, 0, 300, 0.25]: a hitscan along +x, seen a
	// quarter of the way from tick 300 to 301.
	in := []byte{0x99, 0x02, 0x07, 0x01, 0x00, 0x02, 0x01, 0x00, 0xcd, 0x01, 0x2c, 0xca, 0x3e, 0x80, 0x00, 0x00}
	if err := r.DecodeClient(in, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != MsgInput || m.Input != (Input{Seq: 7, MoveX: 1, Buttons: 2, AimX: 1, ViewTick: 300, ViewFrac: 0.25}) {
		t.Errorf("input example: %+v", m.Input)
	}
	// [5, [[8, 0, 0, 2, 1, 0, 301, 0.5]]]
	batch := []byte{0x92, 0x05, 0x91, 0x98, 0x08, 0x00, 0x00, 0x02, 0x01, 0x00, 0xcd, 0x01, 0x2d,
		0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0}
	if err := r.DecodeClient(batch, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != MsgInputs || m.BatchLen != 1 || m.Batch[0] != (Input{Seq: 8, Buttons: 2, AimX: 1, ViewTick: 301, ViewFrac: 0.5}) {
		t.Errorf("inputs example: %+v", m.Batch[:m.BatchLen])
	}
}
