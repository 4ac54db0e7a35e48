package server

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/match"
	"skirmish/netcode"
)

// TestRecordedMatchServedByAnotherNode: two Go clients play a recorded
// 1-second arena match on a node with -redis and -record; the log in the
// node's directory re-simulates to the standings the clients were sent;
// another node of the fleet, without -record, serves the same log from
// Redis.
func TestRecordedMatchServedByAnotherNode(t *testing.T) {
	addr := testRedis(t)
	dir := t.TempDir()
	_, baseA := startServer(t, Options{Redis: addr, Record: dir, FillTimeout: 300 * time.Millisecond,
		ModeOpts: []string{"arena.duration=1s"}, RankedMinPlayers: 1})
	var mu sync.Mutex
	var matchID string
	var result []netcode.Standing
	opts := client.Options{OnMessage: func(m *netcode.ServerMsg) {
		mu.Lock()
		defer mu.Unlock()
		switch m.Type {
		case netcode.MsgMatched:
			matchID = m.Matched.MatchID
		case netcode.MsgResult:
			result = append([]netcode.Standing(nil), m.Standings...)
		}
	}}
	c1 := playing(t, baseA, opts)
	c2 := playing(t, baseA, client.Options{})
	c1.SetControl(client.Control{MoveX: 1, Fire: true, AimX: 1})
	c2.SetControl(client.Control{MoveY: -1, Fire: true, AimY: 1})
	waitUntil(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return result != nil })
	mu.Lock()
	id, sent := matchID, result
	mu.Unlock()
	path := filepath.Join(dir, id+".skrl")
	waitUntil(t, 5*time.Second, func() bool { _, err := os.Stat(path); return err == nil })
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := match.Replay(data, match.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Standings) != 2 || len(sent) != 2 {
		t.Fatalf("replayed standings %+v, sent %+v", res.Standings, sent)
	}
	for i := range sent {
		a, b := res.Standings[i], sent[i]
		if a.PlayerID != b.PlayerID || a.Score != b.Score || a.Place != b.Place || a.Name != b.Name {
			t.Errorf("standing %d: replayed %+v, sent %+v", i, a, b)
		}
	}
	if res.Ticks < 30 {
		t.Errorf("%d ticks for a 1 s match at 30 Hz", res.Ticks)
	}

	_, baseB := startServer(t, Options{Redis: addr}) // another node, no -record
	resp, err := http.Get(baseB + "/v1/matches/" + id + "/replay")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("node B: %d, %d bytes of %d", resp.StatusCode, len(body), len(data))
	}
}
