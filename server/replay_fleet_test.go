package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
	id, sent := playRecorded(t, baseA)
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

// playRecorded has two Go clients play one arena match on base and
// returns its id and the standings the first client was sent.
func playRecorded(t *testing.T, base string) (string, []netcode.Standing) {
	t.Helper()
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
	c1 := playing(t, base, opts)
	c2 := playing(t, base, client.Options{})
	c1.SetControl(client.Control{MoveX: 1, Fire: true, AimX: 1})
	c2.SetControl(client.Control{MoveY: -1, Fire: true, AimY: 1})
	waitUntil(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return result != nil })
	mu.Lock()
	defer mu.Unlock()
	return matchID, result
}

// servedReplay waits until base serves match id's log, and returns it.
func servedReplay(t *testing.T, base, id string) []byte {
	t.Helper()
	var body []byte
	waitUntil(t, 5*time.Second, func() bool {
		resp, err := http.Get(base + "/v1/matches/" + id + "/replay")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == 200
	})
	return body
}

// TestRecordRedisOnly: a node with -record redis (no directory) records a
// match two Go clients play, in Redis only, with the retention as TTL; it
// creates no directory named redis; another node serves the log, and
// skirmish replay of the served bytes re-simulates to the end recorded,
// with the standings the clients were sent.
func TestRecordRedisOnly(t *testing.T) {
	addr := testRedis(t)
	_, baseA := startServer(t, Options{Redis: addr, Record: RecordRedis, RecordRetention: time.Hour,
		FillTimeout: 300 * time.Millisecond, ModeOpts: []string{"arena.duration=1s"}, RankedMinPlayers: 1})
	id, sent := playRecorded(t, baseA)
	_, baseB := startServer(t, Options{Redis: addr}) // another node, not recording
	data := servedReplay(t, baseB, id)

	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}})
	defer rdb.Close()
	if ttl := rdb.PTTL(context.Background(), replayKey(id)).Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("redis TTL %v, want the retention", ttl)
	}
	if _, err := os.Stat(RecordRedis); !os.IsNotExist(err) {
		t.Errorf("-record redis made a directory named redis: %v", err)
	}

	path := filepath.Join(t.TempDir(), id+".skrl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := ReplayFile(path, &out); err != nil || !strings.Contains(out.String(), "\nok: ") {
		t.Fatalf("skirmish replay: %v\n%s", err, out.String())
	}
	res, err := match.Replay(data, match.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Standings) != 2 || len(sent) != 2 || res.Ticks < 30 {
		t.Fatalf("replayed %d ticks, standings %+v; sent %+v", res.Ticks, res.Standings, sent)
	}
	for i := range sent {
		a, b := res.Standings[i], sent[i]
		if a.PlayerID != b.PlayerID || a.Score != b.Score || a.Place != b.Place || a.Name != b.Name {
			t.Errorf("standing %d: replayed %+v, sent %+v", i, a, b)
		}
	}
}

// TestRecordRedisOnlyCut: with -record redis, a log that outgrows
// -record-max-bytes (600 here; a 3 s match of two players logs about
// 1 KB) is stored cut after its last whole chunk that fits:
// at most that many bytes, a valid log without its end that re-simulates
// some ticks, counted in skirmish_replay_logs_cut_total; skirmish replay
// says it is incomplete.
func TestRecordRedisOnlyCut(t *testing.T) {
	addr := testRedis(t)
	const maxBytes = 600
	srvA, baseA := startServer(t, Options{Redis: addr, Record: RecordRedis, RecordMaxBytes: maxBytes, recordChunk: 128,
		FillTimeout: 300 * time.Millisecond, ModeOpts: []string{"arena.duration=3s"}, RankedMinPlayers: 1})
	cut := ReplayLogsCut()
	id, _ := playRecorded(t, baseA)
	data := servedReplay(t, baseA, id)
	if len(data) > maxBytes || len(data) < 128 {
		t.Errorf("stored %d bytes, bound %d, chunks of 128", len(data), maxBytes)
	}
	res, err := match.Replay(data, match.ReplayOptions{})
	if !errors.Is(err, match.ErrLogIncomplete) || res == nil || res.Ticks == 0 || res.Ticks >= 90 {
		t.Fatalf("replay of the cut log: %v, %+v", err, res)
	}
	t.Logf("cut log: %d bytes, %d ticks of a 90-tick match", len(data), res.Ticks)
	if ReplayLogsCut() == cut {
		t.Error("the cut was not counted")
	}
	if got := counterValue(t, srvA, "skirmish_replay_logs_cut_total"); got < 1 {
		t.Errorf("skirmish_replay_logs_cut_total %v", got)
	}
	path := filepath.Join(t.TempDir(), id+".skrl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReplayFile(path, io.Discard); !errors.Is(err, match.ErrLogIncomplete) || !strings.Contains(err.Error(), "-record-max-bytes") {
		t.Errorf("skirmish replay of the cut log: %v", err)
	}
}

// TestRecordRedisNeedsRedis: -record redis without -redis is refused at
// start, saying so.
func TestRecordRedisNeedsRedis(t *testing.T) {
	_, err := New(Options{Record: RecordRedis, Logger: discardLog})
	if err == nil || !strings.Contains(err.Error(), "-record redis") || !strings.Contains(err.Error(), "-redis") {
		t.Fatalf("New: %v", err)
	}
	if _, err := os.Stat(RecordRedis); !os.IsNotExist(err) {
		t.Errorf("a directory named redis was made: %v", err)
	}
	if _, err := New(Options{Record: t.TempDir(), RecordMaxBytes: -1, Logger: discardLog}); err == nil {
		t.Error("a negative -record-max-bytes was accepted")
	}
}
