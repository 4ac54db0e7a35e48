package client

import (
	"net/url"
	"slices"
	"testing"

	"skirmish/netcode"
)

func TestNodeURLs(t *testing.T) {
	for _, tc := range []struct {
		base, ws, sessions, key string
	}{
		{"http://127.0.0.1:8081", "ws://127.0.0.1:8081/ws?token=t%2B1", "http://127.0.0.1:8081/v1/sessions", "http://127.0.0.1:8081"},
		{"http://127.0.0.1:8081/", "ws://127.0.0.1:8081/ws?token=t%2B1", "http://127.0.0.1:8081/v1/sessions", "http://127.0.0.1:8081"},
		{"https://game.example.com/n/n2", "wss://game.example.com/n/n2/ws?token=t%2B1", "https://game.example.com/n/n2/v1/sessions", "https://game.example.com/n/n2"},
		{"https://Game.Example.com/n/n2/?x=1#f", "wss://Game.Example.com/n/n2/ws?token=t%2B1", "https://Game.Example.com/n/n2/v1/sessions", "https://game.example.com/n/n2"},
		{"ws://127.0.0.1:9/a", "ws://127.0.0.1:9/a/ws?token=t%2B1", "http://127.0.0.1:9/a/v1/sessions", "http://127.0.0.1:9/a"},
	} {
		u, err := parseNode(tc.base)
		if err != nil {
			t.Errorf("%s: %v", tc.base, err)
			continue
		}
		if got := wsURL(u, "t+1"); got != tc.ws {
			t.Errorf("%s: WebSocket at %s, want %s", tc.base, got, tc.ws)
		}
		if got := sessionsURL(u); got != tc.sessions {
			t.Errorf("%s: sessions at %s, want %s", tc.base, got, tc.sessions)
		}
		if got := nodeKey(u); got != tc.key {
			t.Errorf("%s: key %s, want %s", tc.base, got, tc.key)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://h/", "http://", "http:///path"} {
		if _, err := parseNode(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestNodeRing(t *testing.T) {
	keys := func(us []*url.URL) []string {
		var out []string
		for _, u := range us {
			out = append(out, nodeKey(u))
		}
		return out
	}
	n1, n2, n3 := "http://127.0.0.1:8081", "http://127.0.0.1:8082", "http://127.0.0.1:8083"
	first, _ := parseNode(n2 + "/")
	ring, at, err := nodeRing(first, []string{n1, n2, n3})
	if err != nil || at != 1 || !slices.Equal(keys(ring), []string{n1, n2, n3}) {
		t.Errorf("ring %v at %d, err %v", keys(ring), at, err)
	}
	other, _ := parseNode("http://127.0.0.1:9000")
	ring, at, err = nodeRing(other, []string{n1, n3})
	if err != nil || at != 0 || !slices.Equal(keys(ring), []string{"http://127.0.0.1:9000", n1, n3}) {
		t.Errorf("ring %v at %d, err %v", keys(ring), at, err)
	}
	ring, at, err = nodeRing(other, nil)
	if err != nil || at != 0 || len(ring) != 1 {
		t.Errorf("ring %v at %d, err %v", keys(ring), at, err)
	}
	if _, _, err := nodeRing(other, []string{n1, "nonsense"}); err == nil {
		t.Error("a bad node URL: no error")
	}
}

// TestHistory: the ring holds 3 s of inputs at the tick rate and gives back,
// in order, every input above an ack, acknowledged before or not.
func TestHistory(t *testing.T) {
	for rate, want := range map[uint32]int{30: 128, 60: 256, 20: 64, 1: 16, 128: 512} {
		if got := histLen(rate); got != want || float64(got) < 3*float64(rate) {
			t.Errorf("%d Hz: ring of %d, want %d (3 s)", rate, got, want)
		}
	}
	var h history
	h.reset(30)
	ring := &h.ring[0]
	for q := uint32(1); q <= 300; q++ {
		h.put(sentInput{in: netcode.Input{Seq: q, MoveX: float32(q)}})
	}
	seqs := func(ins []netcode.Input) []uint32 {
		var out []uint32
		for _, in := range ins {
			out = append(out, in.Seq)
			if in.MoveX != float32(in.Seq) {
				t.Errorf("seq %d holds the input of %v", in.Seq, in.MoveX)
			}
		}
		return out
	}
	want := func(lo, hi uint32) []uint32 {
		var out []uint32
		for q := lo; q <= hi; q++ {
			out = append(out, q)
		}
		return out
	}
	// The last 128 (4.3 s at 30 Hz) are kept: at least 3 s (90).
	if got := seqs(h.after(nil, 0, 300)); !slices.Equal(got, want(173, 300)) {
		t.Errorf("after 0: %v", got)
	}
	if got := seqs(h.after(nil, 210, 300)); !slices.Equal(got, want(211, 300)) {
		t.Errorf("after 210: %v", got)
	}
	if got := h.after(nil, 300, 300); len(got) != 0 {
		t.Errorf("after the last: %v", got)
	}
	if h.get(172) != nil || h.get(173) == nil || h.get(301) != nil || h.get(0) != nil {
		t.Error("get finds inputs that left the ring, or were never sent")
	}
	// A new match empties the ring without a new allocation.
	h.reset(30)
	if &h.ring[0] != ring || h.get(300) != nil {
		t.Error("reset reallocated, or kept an input")
	}
	// Seqs near the top of the range do not wrap around.
	h.put(sentInput{in: netcode.Input{Seq: 1<<32 - 2, MoveX: 1<<32 - 2}})
	h.put(sentInput{in: netcode.Input{Seq: 1<<32 - 1, MoveX: 1<<32 - 1}})
	if got := seqs(h.after(nil, 1<<32-3, 1<<32-1)); !slices.Equal(got, []uint32{1<<32 - 2, 1<<32 - 1}) {
		t.Errorf("top of the range: %v", got)
	}
}

func TestAppendBatches(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 128, 150} {
		ins := make([]netcode.Input, n)
		for i := range ins {
			ins[i] = netcode.Input{Seq: uint32(100 + i), MoveX: 0.5}
		}
		r := netcode.NewReader()
		var got []uint32
		frames := 0
		appendBatches(nil, ins, func(b []byte) {
			frames++
			if len(b) > 4096 {
				t.Errorf("%d inputs: a frame of %d bytes", n, len(b))
			}
			var m netcode.ClientMsg
			if err := r.DecodeClient(b, &m); err != nil || m.Type != netcode.MsgInputs {
				t.Fatalf("%d inputs: frame %d: type %d, %v", n, frames, m.Type, err)
			}
			if m.BatchLen > netcode.MaxBatch {
				t.Errorf("%d inputs: a batch of %d", n, m.BatchLen)
			}
			for _, in := range m.Batch[:m.BatchLen] {
				got = append(got, in.Seq)
			}
		})
		if want := (n + netcode.MaxBatch - 1) / netcode.MaxBatch; frames != want {
			t.Errorf("%d inputs in %d frames, want %d", n, frames, want)
		}
		if len(got) != n || !slices.IsSorted(got) || (n > 0 && (got[0] != 100 || got[n-1] != uint32(99+n))) {
			t.Errorf("%d inputs: seqs %v", n, got)
		}
	}
}
