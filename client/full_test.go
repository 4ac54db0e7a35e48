package client_test

import (
	"context"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/netcode"
)

// A queue refused as server_full puts the client back in the lobby and,
// with Requeue, it queues again after a backoff (about 0.5 s, then 1 s):
// not at once, and not never.
func TestServerFullQueuesAgainAfterBackoff(t *testing.T) {
	n := startFakeNode(t, "")
	queues := make(chan time.Time, 8)
	n.setScript(func(fc *fakeConn) {
		if !fc.greet(netcode.WhereLobby) {
			return
		}
		for range 3 {
			if !fc.expect(netcode.MsgQueue) {
				return
			}
			queues <- time.Now()
			fc.send(netcode.AppendError(nil, netcode.ErrServerFull))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, n.base, client.Options{Requeue: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Queue("arena")
	var at []time.Time
	for range 3 {
		select {
		case q := <-queues:
			at = append(at, q)
		case <-ctx.Done():
			t.Fatalf("%d queue requests, want 3", len(at))
		}
	}
	if d := at[1].Sub(at[0]); d < 350*time.Millisecond || d > 2*time.Second {
		t.Errorf("first retry after %v, want about 0.5 s", d)
	}
	if d := at[2].Sub(at[1]); d < 750*time.Millisecond || d > 3*time.Second {
		t.Errorf("second retry after %v, want about 1 s (doubled)", d)
	}
	waitFor(t, 2*time.Second, "3 refusals counted", func() bool { return c.Stats().Refused == 3 })
	if p := c.Phase(); p != client.PhaseLobby {
		t.Errorf("phase %v after the last refusal, want the lobby", p)
	}
}
