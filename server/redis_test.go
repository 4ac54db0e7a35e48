package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

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

// hashTag is the part of key that Redis Cluster hashes to pick its slot:
// what is between the first "{" and the next "}", if that is not empty;
// else the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// The keys are where RedisStore's doc says, with their TTLs, each group
// that one call touches shares a hash tag, and the scripts survive a
// SCRIPT FLUSH (a restarted or failed-over Redis).
func TestRedisStoreKeys(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{testRedis(t)}, ContextTimeoutEnabled: true})
	st := NewRedisStoreClient(rdb)
	defer st.Close()
	tok, err := st.Create(ctx, Session{PlayerID: "p-1", Name: "ann"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h := HashToken(tok)
	if err := st.Save(ctx, h, Session{MatchID: "m-1", Seat: 2, Status: StatusAway}, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	mode := newMode(t)
	if !record(t, st, "m-1", mode, standings("p", 5, 3)) {
		t.Fatal("not applied")
	}
	sess, hold, lb := "skirmish:s:{"+h+"}", "skirmish:h:{"+h+"}", "skirmish:{lb:"+mode+"}"
	ttls := []struct {
		key      string
		min, max time.Duration // -1: no TTL
	}{
		{sess, time.Hour - time.Minute, time.Hour},
		{hold, time.Second, 1500 * time.Millisecond},
		{lb, -1, -1},
		{lb + ":p:p-0", -1, -1},
		{lb + ":p:p-1", -1, -1},
		{lb + ":done:m-1", resultMemory - time.Minute, resultMemory},
	}
	for _, k := range ttls {
		ttl, err := rdb.PTTL(ctx, k.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl == -2*time.Nanosecond || (k.min < 0) != (ttl < 0) || (k.min >= 0 && (ttl < k.min || ttl > k.max)) {
			t.Errorf("%s: PTTL %v, want between %v and %v (-1ns: none, -2ns: no key)", k.key, ttl, k.min, k.max)
		}
	}
	if hashTag(sess) != h || hashTag(hold) != h {
		t.Errorf("session keys' hash tags: %q %q", hashTag(sess), hashTag(hold))
	}
	for _, k := range ttls[2:] {
		if hashTag(k.key) != "lb:"+mode {
			t.Errorf("%s: hash tag %q", k.key, hashTag(k.key))
		}
	}
	for _, old := range []string{"skirmish:s:" + h, "skirmish:h:" + h, "skirmish:lb:" + mode, "skirmish:lbp:" + mode + ":p-0"} {
		if n, _ := rdb.Exists(ctx, old).Result(); n != 0 {
			t.Errorf("old key %s written", old)
		}
	}
	if z, _ := rdb.ZScore(ctx, lb, "p-0").Result(); z != winWeight+5 {
		t.Errorf("p-0 ranks at %v", z)
	}

	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if record(t, st, "m-1", mode, standings("p", 5, 3)) {
		t.Error("m-1 applied twice after a script flush")
	}
	if err := st.Save(ctx, h, Session{Seat: -1, Status: StatusLobby}, 0); err != nil {
		t.Fatalf("save after a script flush: %v", err)
	}
	if n, _ := rdb.Exists(ctx, hold).Result(); n != 0 {
		t.Error("seat hold kept after a save in the lobby")
	}
}

// startRedisCluster returns the address of a one-node Redis Cluster that
// serves every slot (REDIS_CLUSTER_ADDR's, or a redis-server it starts):
// like a real cluster, it refuses a script or MULTI whose keys are in
// different slots.
func startRedisCluster(t *testing.T) string {
	t.Helper()
	if addr := os.Getenv("REDIS_CLUSTER_ADDR"); addr != "" {
		return addr
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("no redis-server on PATH and no REDIS_CLUSTER_ADDR: the cluster contract needs a real Redis")
	}
	rs := startRedis(t, 0, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer c.Close()
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatalf("cluster addslots: %v", err)
	}
	waitUntil(t, 10*time.Second, func() bool {
		info, _ := c.ClusterInfo(ctx).Result()
		return strings.Contains(info, "cluster_state:ok")
	})
	return rs.Addr
}

// The contract holds on Redis Cluster, which would refuse any call whose
// keys do not share a slot.
func TestRedisStoreClusterContract(t *testing.T) {
	addr := startRedisCluster(t)
	newClient := func() *redis.ClusterClient {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, ContextTimeoutEnabled: true})
	}
	c := newClient()
	err := c.Eval(context.Background(), "return redis.call('GET', KEYS[2])", []string{"a", "b"}).Err()
	c.Close()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") && !strings.Contains(err.Error(), "same slot") {
		t.Fatalf("a script across slots was not refused (%v): the cluster does not check", err)
	}
	storeContract(t, func(t *testing.T) SessionStore {
		st := NewRedisStoreClient(newClient())
		if err := st.Ping(context.Background()); err != nil {
			t.Fatalf("redis cluster at %s: %v", addr, err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
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

// With Redis, the nodes are a fleet: a session created on one node works on
// another, and a player whose seat is on the first node is sent there
// (moved, then close 4007) when they connect to the second.
func TestSessionWorksOnAnotherNode(t *testing.T) {
	addr := testRedis(t)
	_, base := startServer(t, Options{Redis: addr, NodeID: "first", FillTimeout: 50 * time.Millisecond})
	tok := createSession(t, base)
	seatedRaw(t, base, tok)
	_, base2 := startServer(t, Options{Redis: addr, NodeID: "second"})
	back, resp, err := dialRaw(t, base2, tok, nil)
	if err != nil {
		t.Fatalf("token refused on another node: %v %v", err, resp)
	}
	back.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	if code, _ := back.waitClose(t, 5*time.Second); code != uint16(netcode.CloseMoved) {
		t.Fatalf("closed with %d, want 4007 moved", code)
	}
	var moved netcode.ServerMsg
	back.mu.Lock()
	for _, f := range back.frames {
		var m netcode.ServerMsg
		if netcode.NewReader().DecodeServer(f, &m, nil) == nil && m.Type == netcode.MsgMoved {
			moved = m
		}
	}
	back.mu.Unlock()
	if moved.URL != base {
		t.Errorf("moved to %q, want the first node %q", moved.URL, base)
	}
}

// Match results reach the leaderboard.
func TestLeaderboard(t *testing.T) {
	_, base := startServer(t, Options{Redis: testRedis(t), FillTimeout: 200 * time.Millisecond, ModeOpts: []string{"arena.duration=500ms"}})
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

// Two nodes of a fleet: a second connection with the same token on the
// other node replaces the first (4003), told over Redis; and a page served
// by one node may open its WebSocket on the other (its origin is a fleet
// node's).
func TestFleetReplacementAndOrigins(t *testing.T) {
	addr := testRedis(t)
	_, a := startServer(t, Options{Redis: addr, NodeID: "a"})
	_, b := startServer(t, Options{Redis: addr, NodeID: "b", PublicURL: "http://game-b.example"})
	tok := createSession(t, a)
	first, _, err := dialRaw(t, a, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	waitUntil(t, 5*time.Second, func() bool { return first.has(netcode.MsgWelcome, 0) })

	second, _, err := dialRaw(t, b, tok, nil)
	if err != nil {
		t.Fatalf("token refused on node b: %v", err)
	}
	second.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	waitUntil(t, 5*time.Second, func() bool { return second.has(netcode.MsgWelcome, 0) })
	if code, _ := first.waitClose(t, 5*time.Second); code != uint16(netcode.CloseReplaced) {
		t.Errorf("the first connection closed with %d, want 4003", code)
	}

	// Origins: node a's own URL is a fleet node's, so node b takes a page
	// from it; a stranger's is still refused.
	waitUntil(t, 5*time.Second, func() bool {
		_, body := deployGet(t, b+"/v1/fleet", "")
		return strings.Contains(string(body), `"id":"a"`)
	})
	for origin, ok := range map[string]bool{a: true, "http://game-b.example": true, "http://evil.example": false} {
		hdr := http.Header{"Origin": {origin}}
		_, resp, err := dialRaw(t, b, createSession(t, b), hdr)
		if got := err == nil; got != ok {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("origin %s on node b: accepted %v (status %d), want %v", origin, got, status, ok)
		}
	}
}

// A match's checkpoint and host record are written while it runs and
// deleted when it ends.
func TestCheckpointDeletedWhenMatchEnds(t *testing.T) {
	addr := testRedis(t)
	_, base := startServer(t, Options{Redis: addr, NodeID: "solo", FillTimeout: 50 * time.Millisecond, ModeOpts: []string{"arena.duration=1500ms"}})
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	c := playing(t, base, client.Options{})
	waitUntil(t, 5*time.Second, func() bool { return c.View().MatchID != "" })
	id := c.View().MatchID
	exists := func(key string) bool {
		n, err := rdb.Exists(context.Background(), key).Result()
		return err == nil && n == 1
	}
	waitUntil(t, 3*time.Second, func() bool { return exists(fleetKey("cp", id)) && exists(fleetKey("m", id)) })
	waitUntil(t, 5*time.Second, func() bool { return c.Phase() == client.PhaseLobby })
	waitUntil(t, 3*time.Second, func() bool { return !exists(fleetKey("cp", id)) && !exists(fleetKey("m", id)) })
	if n, _ := rdb.SCard(context.Background(), fleetKey("nm", "solo")).Result(); n != 0 {
		t.Errorf("match set not empty: %d", n)
	}
}
