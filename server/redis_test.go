package server

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"skirmish/client"
	"skirmish/netcode"
)

// stoppableRedis is a Redis a test can stop and start again on the same
// address: a redis-server process, or miniredis where there is none.
type stoppableRedis struct {
	Addr  string
	stop  func()
	start func()
}

func newStoppableRedis(t *testing.T) *stoppableRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err == nil {
		rs := startRedis(t, 0)
		return &stoppableRedis{Addr: rs.Addr, stop: rs.stop, start: func() { rs.start(t) }}
	}
	t.Log("no redis-server on PATH: falling back to embedded miniredis")
	mr := miniredis.RunT(t)
	return &stoppableRedis{Addr: mr.Addr(), stop: mr.Close, start: func() {
		if err := mr.Restart(); err != nil {
			t.Fatal(err)
		}
	}}
}

func postSession(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Post(base+"/v1/sessions", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body["error"]
}

// Redis stops under a running match and comes back: the match goes on,
// new sessions get a clear 503 meanwhile, errors are counted, and the
// server recovers by itself.
func TestRedisStopAndStart(t *testing.T) {
	rs := newStoppableRedis(t)
	srv, base := startServer(t, Options{Redis: rs.Addr, FillTimeout: 100 * time.Millisecond})
	player := playing(t, base, client.Options{})
	waitUntil(t, 5*time.Second, func() bool { return player.View().AckSeq > 10 })

	rs.stop()
	snaps0, t0 := player.Stats().Snapshots, time.Now()
	if code, msg := postSession(t, base); code != http.StatusServiceUnavailable || msg != "store_unavailable" {
		t.Errorf("session with Redis down: %d %q, want 503 store_unavailable", code, msg)
	}
	time.Sleep(time.Second)
	if rate := float64(player.Stats().Snapshots-snaps0) / time.Since(t0).Seconds(); rate < 25 {
		t.Errorf("match slowed to %.1f snapshots/s with Redis down", rate)
	}
	if v := counterValue(t, srv, "skirmish_store_errors_total"); v < 1 {
		t.Errorf("store errors counted: %v", v)
	}

	rs.start()
	waitUntil(t, 10*time.Second, func() bool { code, _ := postSession(t, base); return code == http.StatusCreated })
	if player.View().Phase != client.PhasePlaying {
		t.Error("the player left the match")
	}
}

// With Redis, a session survives a server restart: its token still works on
// the new process, and a player whose match died with the old one (a crash:
// no shutdown result) learns that the match is gone.
func TestSessionSurvivesRestart(t *testing.T) {
	addr := testRedis(t)
	first, base := startServer(t, Options{Redis: addr, FillTimeout: 50 * time.Millisecond})
	tok := createSession(t, base)
	seatedRaw(t, base, tok)
	time.Sleep(100 * time.Millisecond) // the seat reaches the store
	// The first process "crashes": it is left alone, and a new process on
	// the same Redis takes the player's next connection.
	_ = first
	_, base2 := startServer(t, Options{Redis: addr})
	back, resp, err := dialRaw(t, base2, tok, nil)
	if err != nil {
		t.Fatalf("token refused after restart: %v %v", err, resp)
	}
	back.send(t, netcode.AppendHello(nil, 1, 1))
	waitUntil(t, 5*time.Second, func() bool { return back.has(netcode.MsgError, netcode.ErrMatchGone) })
	back.send(t, netcode.AppendQueue(nil, "arena"))
	waitUntil(t, 5*time.Second, func() bool { return back.has(netcode.MsgQueued, 0) })
}

// Match results reach the leaderboard.
func TestLeaderboard(t *testing.T) {
	_, base := startServer(t, Options{Redis: testRedis(t), FillTimeout: 200 * time.Millisecond, ArenaDuration: 500 * time.Millisecond})
	a := playing(t, base, client.Options{Name: "ann"})
	playing(t, base, client.Options{Name: "bob"}) // a ranked match needs 2
	var board struct {
		Mode    string
		Players []LeaderboardEntry
	}
	waitUntil(t, 10*time.Second, func() bool {
		resp, err := http.Get(base + "/v1/leaderboard?mode=arena")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(&board)
		for _, p := range board.Players {
			if p.PlayerID == a.PlayerID {
				return true
			}
		}
		return false
	})
	if board.Mode != "arena" || board.Players[0].Name == "" {
		t.Errorf("leaderboard %+v", board)
	}
	for _, p := range board.Players {
		if p.PlayerID == a.PlayerID && p.Wins+p.Losses != 1 {
			t.Errorf("one match: %+v, want one win or loss", p)
		}
	}
	resp, err := http.Get(base + "/v1/leaderboard?mode=nope")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("unknown mode: %d", resp.StatusCode)
		}
	}
}
