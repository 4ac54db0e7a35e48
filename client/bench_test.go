package client

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"skirmish/game"
	"skirmish/netcode"
)

// playingClient returns a client seated in an arena match of 8 players
// and 64 NPCs, with no connection: frames are handed to handle directly.
func playingClient(tb testing.TB) (*Client, *netcode.Matched) {
	tb.Helper()
	spec := game.NewArena(game.ArenaConfig{}).Spec()
	m := &netcode.Matched{MatchID: "m-bench", Mode: "arena", Entity: 1, TickRate: 30,
		WorldW: spec.Width, WorldH: spec.Height, Schema: spec.Schema, EndTick: 1 << 30, Info: spec.Info(30)}
	c := &Client{reader: netcode.NewReader(), closed: make(chan struct{}), events: make(chan netcode.ServerMsg, 16)}
	c.out = newDelayLine(0, 0, cloneFrame, func(f frame) { _ = f.ws.WriteMessage(gws.OpcodeBinary, f.b) })
	c.in = newDelayLine(0, 0, cloneFrame, func(f frame) { c.handle(f.gen, f.b) })
	c.link = &link{gen: 1, welcomed: true, welcome: make(chan struct{}), gone: make(chan struct{})}
	c.gen = 1
	c.onMatched(m)
	c.predOK = true // as after the first snapshot: no schedule is started
	return c, m
}

// snapshotFrames returns n consecutive snapshots of a match as player 1
// sees it (the first a full view): 8 players and 64 NPCs wandering.
func snapshotFrames(m *netcode.Matched, n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	ents := make([]netcode.Entity, 72)
	heading := make([]float64, len(ents))
	for i := range ents {
		kind := uint8(game.KindNPC)
		if i < 8 {
			kind = game.KindPlayer
		}
		ents[i] = netcode.Entity{ID: uint32(i + 1), Kind: kind, X: rng.Float32() * m.WorldW, Y: rng.Float32() * m.WorldH}
		ents[i].F[game.FieldHP] = 100
		heading[i] = rng.Float64() * 2 * math.Pi
	}
	v := netcode.NewView(&m.Schema, game.NewArena(game.ArenaConfig{}).Spec().Interest)
	frames := make([][]byte, n)
	for k := range frames {
		v.Begin(uint32(k))
		self := &ents[0]
		for i := range ents {
			e := &ents[i]
			e.X = min(max(e.X+float32(6*math.Cos(heading[i])), 0), m.WorldW)
			e.Y = min(max(e.Y+float32(6*math.Sin(heading[i])), 0), m.WorldH)
			dx, dy := e.X-self.X, e.Y-self.Y
			v.Consider(e, int32(i), dx*dx+dy*dy, i == 0)
		}
		v.Finish()
		h := netcode.SnapshotHeader{Tick: uint32(k), AckSeq: uint32(k + 1), LeadUs: 3000, HasLead: true}
		frames[k] = v.AppendSnapshot(nil, &h)
	}
	return frames
}

// BenchmarkReceiveSnapshot is the client's work per snapshot: decode, the
// mirror, acks, the jit and reconciliation (no I/O).
func BenchmarkReceiveSnapshot(b *testing.B) {
	c, m := playingClient(b)
	frames := snapshotFrames(m, 90)
	for _, f := range frames { // warm up: buffers at their size
		c.handle(1, f)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.handle(1, frames[i%len(frames)])
		i++
	}
	if s := c.Stats(); s.ProtocolErrors > 0 {
		b.Fatalf("%d protocol errors", s.ProtocolErrors)
	}
}

func TestReceiveSnapshotAllocs(t *testing.T) {
	c, m := playingClient(t)
	frames := snapshotFrames(m, 90)
	for _, f := range frames {
		c.handle(1, f)
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		c.handle(1, frames[i%len(frames)])
		i++
	})
	if s := c.Stats(); s.ProtocolErrors > 0 || s.Snapshots < 290 {
		t.Fatalf("stats %+v: the frames were not all applied", s)
	}
	if allocs > 0 {
		t.Errorf("%.1f allocations per snapshot, want none", allocs)
	}
}

// discardServer accepts one WebSocket connection on a loopback port and
// reads whatever comes, allocating nothing per frame; it returns the ws://
// URL.
func discardServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		_, _ = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"))
		_, _ = io.Copy(io.Discard, br)
	}()
	return "ws://" + ln.Addr().String() + "/ws"
}

// BenchmarkSendInput is the client's work per input sent by the
// scheduler, the write to a loopback WebSocket included.
func BenchmarkSendInput(b *testing.B) {
	ws, _, err := gws.NewClient(&gws.BuiltinEventHandler{}, &gws.ClientOption{Addr: discardServer(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.NetConn().Close()
	c, _ := playingClient(b)
	c.link.ws = ws
	c.cur.Store(c.link)
	c.ctl = Control{MoveX: 0.6, MoveY: 0.8}
	dt := time.Second / 30
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		it := schedItem{at: monoNow(), c: c, gen: c.matchGen, dt: dt}
		var ok bool
		if _, ok, buf = c.sendScheduled(&it, buf); !ok {
			b.Fatal("the schedule ended")
		}
		if len(c.pending) > 32 { // as acks would
			c.pending = c.pending[:0]
		}
	}
	if s := c.Stats(); s.InputsSent < b.N {
		b.Fatalf("%d inputs sent of %d", s.InputsSent, b.N)
	}
}

// BenchmarkViewInto is a frame of the client: the render clock and every
// entity in view interpolated (72 entities, 8 players).
func BenchmarkViewInto(b *testing.B) {
	c, m := playingClient(b)
	for _, f := range snapshotFrames(m, 40) {
		c.handle(1, f)
	}
	// Others drawn 2.5 ticks behind the newest snapshot, between two.
	at := time.Now()
	c.now = func() time.Time { return at }
	c.world.clock = interpClock{dt: c.world.clock.dt, n: 1, base: at, baseTick: c.world.tick - 1, delay: 1.5, rate: 1}
	var v View
	c.ViewInto(&v)
	if v.EmptyBuffer || v.RenderFrac != 0.5 {
		b.Fatalf("render time %d + %v, empty %v: want between two snapshots", v.RenderTick, v.RenderFrac, v.EmptyBuffer)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.ViewInto(&v)
	}
}
