package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"skirmish/netcode"
)

// redisServer is a real redis-server a test started, or REDIS_ADDR's.
type redisServer struct {
	Addr string
	cmd  *exec.Cmd
	port int
	dir  string
}

// testRedis returns the address of a real Redis for the test: REDIS_ADDR
// when set, else a redis-server started on a free port (stopped when the
// test ends). Only where neither exists does it fall back to an embedded
// miniredis, and it says so.
func testRedis(t testing.TB) string {
	t.Helper()
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		return addr
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		rs := startRedis(t, 0)
		return rs.Addr
	}
	t.Log("no REDIS_ADDR and no redis-server on PATH: falling back to embedded miniredis")
	mr := miniredis.RunT(t)
	return mr.Addr()
}

// startRedis starts redis-server on port (0: a free one), without
// persistence, and stops it when the test ends.
func startRedis(t testing.TB, port int) *redisServer {
	t.Helper()
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	rs := &redisServer{port: port, dir: t.TempDir(), Addr: "127.0.0.1:" + strconv.Itoa(port)}
	rs.start(t)
	t.Cleanup(func() { rs.stop() })
	return rs
}

func (rs *redisServer) start(t testing.TB) {
	t.Helper()
	rs.cmd = exec.Command("redis-server", "--port", strconv.Itoa(rs.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", rs.dir)
	if err := rs.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", rs.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start", rs.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (rs *redisServer) stop() {
	if rs.cmd != nil && rs.cmd.Process != nil {
		_ = rs.cmd.Process.Kill()
		_ = rs.cmd.Wait()
		rs.cmd = nil
	}
}

// storeContract is the behaviour every SessionStore must have.
func storeContract(t *testing.T, newStore func(t *testing.T) SessionStore) {
	ctx := context.Background()
	t.Run("create and lookup", func(t *testing.T) {
		st := newStore(t)
		tok, err := st.Create(ctx, Session{PlayerID: "p-1", Name: "ann"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s, err := st.Lookup(ctx, HashToken(tok), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if s.PlayerID != "p-1" || s.Name != "ann" || s.MatchID != "" || s.Status != StatusLobby || s.SeatHeld {
			t.Errorf("got %+v", s)
		}
		if _, err := st.Lookup(ctx, HashToken("nope"), time.Hour); !errors.Is(err, ErrNoSession) {
			t.Errorf("unknown token: %v", err)
		}
	})
	t.Run("ttl slides and expires", func(t *testing.T) {
		st := newStore(t)
		tok, _ := st.Create(ctx, Session{PlayerID: "p-2"}, 300*time.Millisecond)
		time.Sleep(200 * time.Millisecond)
		if _, err := st.Lookup(ctx, HashToken(tok), 300*time.Millisecond); err != nil {
			t.Fatalf("lookup within ttl: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // 400 ms after create, 200 after the slide
		if _, err := st.Lookup(ctx, HashToken(tok), 300*time.Millisecond); err != nil {
			t.Fatalf("ttl did not slide: %v", err)
		}
		time.Sleep(450 * time.Millisecond)
		if _, err := st.Lookup(ctx, HashToken(tok), time.Hour); !errors.Is(err, ErrNoSession) {
			t.Errorf("not expired: %v", err)
		}
	})
	t.Run("seat held for the grace", func(t *testing.T) {
		st := newStore(t)
		tok, _ := st.Create(ctx, Session{PlayerID: "p-3"}, time.Hour)
		h := HashToken(tok)
		seated := Session{MatchID: "m-1", Seat: 4, NodeID: "n1", Status: StatusOnline}
		if err := st.Save(ctx, h, seated, 0); err != nil {
			t.Fatal(err)
		}
		s, _ := st.Lookup(ctx, h, time.Hour)
		if s.MatchID != "m-1" || s.Seat != 4 || s.NodeID != "n1" || s.Status != StatusOnline || s.SeatHeld {
			t.Errorf("online: %+v", s)
		}
		away := seated
		away.Status, away.LastSeq = StatusAway, 77
		if err := st.Save(ctx, h, away, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		s, _ = st.Lookup(ctx, h, time.Hour)
		if !s.SeatHeld || s.LastSeq != 77 || s.Status != StatusAway {
			t.Errorf("away within grace: %+v", s)
		}
		time.Sleep(400 * time.Millisecond)
		if s, _ = st.Lookup(ctx, h, time.Hour); s.SeatHeld {
			t.Errorf("seat still held after the grace: %+v", s)
		}
		if err := st.Save(ctx, HashToken("gone"), away, time.Second); !errors.Is(err, ErrNoSession) {
			t.Errorf("save of an unknown session: %v", err)
		}
	})
	t.Run("leaderboard", func(t *testing.T) {
		st := newStore(t)
		mode := fmt.Sprintf("arena-%d", time.Now().UnixNano())
		match := func(scores ...int32) []netcode.Standing {
			var out []netcode.Standing
			for i, s := range scores {
				out = append(out, netcode.Standing{PlayerID: fmt.Sprintf("p-%d", i), Name: fmt.Sprintf("n%d", i), Score: s, Place: uint16(i + 1)})
			}
			return out
		}
		_, _ = st.RecordResult(ctx, "m1", mode, match(10, 5, 1)) // p-0 wins
		_, _ = st.RecordResult(ctx, "m2", mode, match(3, 20))    // p-0 wins again
		if _, err := st.RecordResult(ctx, "m3", mode, []netcode.Standing{{PlayerID: "p-2", Name: "n2", Score: 50, Place: 1}}); err != nil {
			t.Fatal(err)
		}
		top, err := st.Leaderboard(ctx, mode, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []LeaderboardEntry{
			{PlayerID: "p-0", Name: "n0", Wins: 2, Losses: 0, Score: 13},
			{PlayerID: "p-2", Name: "n2", Wins: 1, Losses: 1, Score: 51},
			{PlayerID: "p-1", Name: "n1", Wins: 0, Losses: 2, Score: 25},
		}
		if fmt.Sprint(top) != fmt.Sprint(want) {
			t.Errorf("leaderboard\n got %+v\nwant %+v", top, want)
		}
		if top, _ := st.Leaderboard(ctx, mode, 2); len(top) != 2 {
			t.Errorf("top 2 gave %d", len(top))
		}
	})
	t.Run("deadline honoured", func(t *testing.T) {
		st := newStore(t)
		dctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := st.Create(dctx, Session{PlayerID: "p"}, time.Hour); err == nil {
			t.Error("create with a cancelled context succeeded")
		}
	})
}

func TestMemoryStoreContract(t *testing.T) {
	storeContract(t, func(t *testing.T) SessionStore { return NewMemoryStore(0) })
}

func TestRedisStoreContract(t *testing.T) {
	addr := testRedis(t)
	storeContract(t, func(t *testing.T) SessionStore {
		st := NewRedisStoreClient(redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}, ContextTimeoutEnabled: true}))
		if err := st.Ping(context.Background()); err != nil {
			t.Fatalf("redis at %s: %v", addr, err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}
