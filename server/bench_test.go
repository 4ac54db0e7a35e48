package server

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"skirmish/match"
	"skirmish/netcode"
)

// BenchmarkWritePath is the match's whole cost to send one snapshot to a
// player over a real socket: the slot, the in-place framing, the one
// non-blocking write(2) on loopback (which also carries the receiver's TCP
// work), and, when the kernel takes only part, the writer's finish.
func BenchmarkWritePath(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	out := match.NewOutbox()
	newGuardConn(nc, out)
	buf := append(make([]byte, netcode.WSHeadroom), make([]byte, 42)...) // a typical snapshot
	queued := 0
	b.ReportAllocs()
	for b.Loop() {
		for !out.Reserve() {
			queued++
			_ = out.WriteQueued(<-out.Frames())
		}
		out.SendSnapshot(buf)
	}
	b.ReportMetric(float64(queued)/float64(b.N), "queued/op")
}

// benchClient is a raw WebSocket client that signals each pong.
type benchClient struct {
	gws.BuiltinEventHandler
	pong chan struct{}
}

func (c *benchClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	var msg netcode.ServerMsg
	if netcode.NewReader().DecodeServer(m.Bytes(), &msg, nil) == nil && msg.Type == netcode.MsgPong {
		c.pong <- struct{}{}
	}
}

// BenchmarkReadPath is the server's cost to receive one input frame on a
// real loopback socket, plus the client's write of it: the read loop's
// wakeup and read(2), gws's frame parsing and unmasking, the rate limit,
// the hand decoder and the player's SendInput. The player is in the lobby
// (not seated), so the input stops there; BenchmarkTick covers the inbox.
func BenchmarkReadPath(b *testing.B) {
	_, base := startServer(b, Options{RateLimit: 1e9, RateBurst: 1 << 30, IdleTimeout: time.Minute})
	resp, err := http.Post(base+"/v1/sessions", "application/json", strings.NewReader(`{"name":"bench"}`))
	if err != nil {
		b.Fatal(err)
	}
	var sess struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(base)
	cl := &benchClient{pong: make(chan struct{}, 1)}
	conn, _, err := gws.NewClient(cl, &gws.ClientOption{Addr: "ws://" + u.Host + "/ws?token=" + url.QueryEscape(sess.Token)})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.NetConn().Close()
	go conn.ReadLoop()
	_ = conn.WriteMessage(gws.OpcodeBinary, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	ping := netcode.AppendPing(nil, 1)
	roundTrip := func() {
		_ = conn.WriteMessage(gws.OpcodeBinary, ping)
		select {
		case <-cl.pong:
		case <-time.After(10 * time.Second):
			b.Fatal("no pong")
		}
	}
	roundTrip()
	in := netcode.Input{MoveX: 0.6, MoveY: 0.8}
	payload, frame := make([]byte, 0, 64), make([]byte, 0, 64)
	seq := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		in.Seq = seq
		payload = netcode.AppendInput(payload[:0], &in)
		// A masked client frame (payloads here are under 126 bytes).
		frame = append(frame[:0], 0x82, 0x80|byte(len(payload)), 1, 2, 3, 4)
		for i, c := range payload {
			frame = append(frame, c^byte(i%4+1))
		}
		if _, err := conn.NetConn().Write(frame); err != nil {
			b.Fatal(err)
		}
	}
	roundTrip() // every input before the ping was read
}
