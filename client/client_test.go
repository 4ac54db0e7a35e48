package client_test

import (
	"context"
	"math"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/server"
	"skirmish/server/servertest"
)

func startServer(t *testing.T) string {
	t.Helper()
	_, base := servertest.Start(t, server.Options{FillTimeout: 100 * time.Millisecond})
	return base
}

// With 100 ms of latency each way, a client moving in a straight line sees
// no correction larger than 1 unit: prediction runs the server's movement
// code, so reconciliation only removes quantization.
func TestPredictionUnderLatency(t *testing.T) {
	base := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, base, client.Options{Name: "walker", Latency: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Queue("arena")
	deadline := time.Now().Add(8 * time.Second)
	// Head for the world's centre: a straight line that meets no edge (an
	// avatar clamped at an edge would stand still and predict nothing).
	for c.View().SelfServer.ID == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no snapshot of the own avatar")
		}
		time.Sleep(10 * time.Millisecond)
	}
	v0 := c.View()
	dx, dy := float64(v0.WorldW/2-v0.SelfServer.X), float64(v0.WorldH/2-v0.SelfServer.Y)
	if l := math.Hypot(dx, dy); l > 1 {
		c.SetControl(client.Control{MoveX: float32(dx / l), MoveY: float32(dy / l)})
	} else {
		c.SetControl(client.Control{MoveX: 1})
	}
	for c.View().AckSeq < 60 { // two seconds of inputs acknowledged
		if time.Now().After(deadline) {
			t.Fatalf("acks stuck at %d", c.View().AckSeq)
		}
		time.Sleep(20 * time.Millisecond)
	}
	v, st := c.View(), c.Stats()
	if st.MaxCorrection > 1 {
		t.Errorf("largest correction %.3f units, want ≤ 1", st.MaxCorrection)
	}
	if st.MaxPredictionError > 1 {
		t.Errorf("prediction error %.3f units, want ≤ 1", st.MaxPredictionError)
	}
	// 200 ms of round trip: about 6 inputs are in flight and predicted ahead.
	if v.Pending < 4 {
		t.Errorf("only %d inputs pending under 200 ms RTT: latency not injected?", v.Pending)
	}
	if v.Self == v.SelfServer {
		t.Error("predicted avatar equals the server's: no prediction ahead of acks")
	}
}
