package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
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
	args []string // more redis-server flags
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
// persistence and with args, and stops it when the test ends.
func startRedis(t testing.TB, port int, args ...string) *redisServer {
	t.Helper()
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	rs := &redisServer{port: port, dir: t.TempDir(), Addr: "127.0.0.1:" + strconv.Itoa(port), args: args}
	rs.start(t)
	t.Cleanup(func() { rs.stop() })
	return rs
}

func (rs *redisServer) start(t testing.TB) {
	t.Helper()
	args := append([]string{"--port", strconv.Itoa(rs.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", rs.dir}, rs.args...)
	rs.cmd = exec.Command("redis-server", args...)
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

// storeContract runs storeCases: the behaviour every SessionStore must
// have. newStore returns a store that the test may fill freely.
func storeContract(t *testing.T, newStore func(t *testing.T) SessionStore) {
	for _, c := range storeCases {
		t.Run(c.name, func(t *testing.T) { c.test(t, newStore(t)) })
	}
}

var storeCases = []struct {
	name string
	test func(t *testing.T, st SessionStore)
}{
	{"create and lookup", testCreateLookup},
	{"ttl slides and expires", testTTLSlides},
	{"seat held for the grace", testSeatHeld},
	{"save drops or sets the hold", testSaveHold},
	{"save after expiry", testSaveExpired},
	{"leaderboard", testLeaderboard},
	{"result counted once", testResultOnce},
	{"result retried after a timeout", testResultRetried},
	{"result raced by its retry", testResultRaced},
	{"result needs a match id", testResultNoMatchID},
	{"result of 300 players", testResultLarge},
	{"leaderboard order and top n", testLeaderboardOrder},
	{"deadline honoured", testDeadline},
}

var modes atomic.Int64

// newMode returns a mode name no other test uses, since Redis stores are
// shared between tests.
func newMode(t *testing.T) string {
	return fmt.Sprintf("arena-%d-%d", time.Now().UnixNano(), modes.Add(1))
}

// standings returns a result where player prefix-i has scores[i] and
// place i+1.
func standings(prefix string, scores ...int32) []netcode.Standing {
	var out []netcode.Standing
	for i, s := range scores {
		out = append(out, netcode.Standing{PlayerID: fmt.Sprintf("%s-%d", prefix, i), Name: fmt.Sprintf("n%d", i), Score: s, Place: uint16(i + 1)})
	}
	return out
}

func record(t *testing.T, st SessionStore, matchID, mode string, ss []netcode.Standing) bool {
	t.Helper()
	applied, err := st.RecordResult(context.Background(), matchID, mode, ss)
	if err != nil {
		t.Fatalf("record %s: %v", matchID, err)
	}
	return applied
}

func board(t *testing.T, st SessionStore, mode string, n int) []LeaderboardEntry {
	t.Helper()
	top, err := st.Leaderboard(context.Background(), mode, n)
	if err != nil {
		t.Fatalf("leaderboard %s top %d: %v", mode, n, err)
	}
	return top
}

func testCreateLookup(t *testing.T, st SessionStore) {
	ctx := context.Background()
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
}

func testTTLSlides(t *testing.T, st SessionStore) {
	ctx := context.Background()
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
}

func testSeatHeld(t *testing.T, st SessionStore) {
	ctx := context.Background()
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
}

// A save that is not away drops the hold at once; an away save with no
// grace holds nothing.
func testSaveHold(t *testing.T, st SessionStore) {
	ctx := context.Background()
	tok, _ := st.Create(ctx, Session{PlayerID: "p-4"}, time.Hour)
	h := HashToken(tok)
	away := Session{MatchID: "m-1", Seat: 1, NodeID: "n1", Status: StatusAway}
	steps := []struct {
		s     Session
		grace time.Duration
		held  bool
	}{
		{away, time.Hour, true},
		{Session{MatchID: "m-1", Seat: 1, NodeID: "n1", Status: StatusOnline}, time.Hour, false},
		{away, time.Hour, true},
		{Session{Seat: -1, Status: StatusLobby}, 0, false},
		{away, 0, false},
		{away, 500 * time.Microsecond, false}, // rounds up to 1 ms, gone by the check below
	}
	for i, step := range steps {
		if err := st.Save(ctx, h, step.s, step.grace); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if step.grace > 0 && step.grace < time.Millisecond {
			time.Sleep(5 * time.Millisecond)
		}
		s, err := st.Lookup(ctx, h, time.Hour)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if s.SeatHeld != step.held || s.Status != step.s.Status || s.MatchID != step.s.MatchID || s.Seat != step.s.Seat {
			t.Errorf("step %d: after saving %+v for %v: %+v", i, step.s, step.grace, s)
		}
	}
}

// A session that expired is not recreated by a late Save.
func testSaveExpired(t *testing.T, st SessionStore) {
	ctx := context.Background()
	tok, _ := st.Create(ctx, Session{PlayerID: "p-5"}, 50*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	h := HashToken(tok)
	if err := st.Save(ctx, h, Session{MatchID: "m-1", Status: StatusAway}, time.Hour); !errors.Is(err, ErrNoSession) {
		t.Errorf("save of an expired session: %v", err)
	}
	if _, err := st.Lookup(ctx, h, time.Hour); !errors.Is(err, ErrNoSession) {
		t.Errorf("expired session came back: %v", err)
	}
}

func testLeaderboard(t *testing.T, st SessionStore) {
	mode := newMode(t)
	record(t, st, "m-1", mode, standings("p", 10, 5, 1)) // p-0 wins
	record(t, st, "m-2", mode, standings("p", 3, 20))    // p-0 wins again
	record(t, st, "m-3", mode, []netcode.Standing{{PlayerID: "p-2", Name: "n2", Score: 50, Place: 1}})
	want := []LeaderboardEntry{
		{PlayerID: "p-0", Name: "n0", Wins: 2, Losses: 0, Score: 13},
		{PlayerID: "p-2", Name: "n2", Wins: 1, Losses: 1, Score: 51},
		{PlayerID: "p-1", Name: "n1", Wins: 0, Losses: 2, Score: 25},
	}
	if top := board(t, st, mode, 100); fmt.Sprint(top) != fmt.Sprint(want) {
		t.Errorf("leaderboard\n got %+v\nwant %+v", top, want)
	}
	if top := board(t, st, mode, 2); fmt.Sprint(top) != fmt.Sprint(want[:2]) {
		t.Errorf("top 2 gave %+v", top)
	}
	for _, n := range []int{0, -1} {
		if top := board(t, st, mode, n); len(top) != 0 {
			t.Errorf("top %d gave %+v", n, top)
		}
	}
	if top := board(t, st, newMode(t), 100); top == nil || len(top) != 0 {
		t.Errorf("a mode without results: %#v", top)
	}
}

// The same match recorded twice counts once; another match with the same
// standings counts again.
func testResultOnce(t *testing.T, st SessionStore) {
	mode := newMode(t)
	res := standings("p", 7, 2)
	if !record(t, st, "m-1", mode, res) {
		t.Fatal("first record of m-1 not applied")
	}
	if record(t, st, "m-1", mode, res) {
		t.Error("second record of m-1 applied")
	}
	want := []LeaderboardEntry{
		{PlayerID: "p-0", Name: "n0", Wins: 1, Score: 7},
		{PlayerID: "p-1", Name: "n1", Losses: 1, Score: 2},
	}
	if top := board(t, st, mode, 100); fmt.Sprint(top) != fmt.Sprint(want) {
		t.Errorf("after m-1 twice\n got %+v\nwant %+v", top, want)
	}
	// The marker is per match, and per mode.
	if !record(t, st, "m-2", mode, res) {
		t.Error("m-2 not applied")
	}
	if !record(t, st, "m-1", newMode(t), res) {
		t.Error("m-1 in another mode not applied")
	}
	if top := board(t, st, mode, 1); len(top) != 1 || top[0].Wins != 2 || top[0].Score != 14 {
		t.Errorf("after m-2: %+v", top)
	}
}

// The store writer's retry of a result: the first attempt fails before it
// reaches the store, the second lands but its caller times out (it never
// sees applied), the third finds the result counted.
func testResultRetried(t *testing.T, st SessionStore) {
	mode := newMode(t)
	res := standings("p", 4, 9, 1)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if applied, err := st.RecordResult(cancelled, "m-7", mode, res); err == nil || applied {
		t.Fatalf("record with a cancelled context: %v %v", applied, err)
	}
	if top := board(t, st, mode, 100); len(top) != 0 {
		t.Fatalf("a failed attempt counted: %+v", top)
	}
	_, _ = st.RecordResult(context.Background(), "m-7", mode, res) // landed; the caller timed out
	if record(t, st, "m-7", mode, res) {
		t.Error("the retry of a result that landed was applied")
	}
	top := board(t, st, mode, 100)
	if len(top) != 3 || top[0].PlayerID != "p-0" || top[0].Wins != 1 || top[0].Score != 4 || top[1].Losses != 1 || top[1].Score != 9 {
		t.Errorf("after a retry: %+v", top)
	}
}

// A result and its retry racing each other count once.
func testResultRaced(t *testing.T, st SessionStore) {
	mode := newMode(t)
	res := standings("p", 3, 1)
	var wg sync.WaitGroup
	var applied atomic.Int32
	for range 8 {
		wg.Go(func() {
			ok, err := st.RecordResult(context.Background(), "m-9", mode, res)
			if err != nil {
				t.Error(err)
			}
			if ok {
				applied.Add(1)
			}
		})
	}
	wg.Wait()
	if n := applied.Load(); n != 1 {
		t.Errorf("applied %d times", n)
	}
	if top := board(t, st, mode, 1); len(top) != 1 || top[0].Wins != 1 || top[0].Score != 3 {
		t.Errorf("after the race: %+v", top)
	}
}

func testResultNoMatchID(t *testing.T, st SessionStore) {
	mode := newMode(t)
	if applied, err := st.RecordResult(context.Background(), "", mode, standings("p", 1)); err == nil || applied {
		t.Errorf("record without a match id: %v %v", applied, err)
	}
	if top := board(t, st, mode, 100); len(top) != 0 {
		t.Errorf("counted: %+v", top)
	}
}

func testResultLarge(t *testing.T, st SessionStore) {
	mode := newMode(t)
	scores := make([]int32, 300)
	for i := range scores {
		scores[i] = int32(1000 - i)
	}
	if !record(t, st, "m-big", mode, standings("p", scores...)) {
		t.Fatal("not applied")
	}
	if record(t, st, "m-big", mode, standings("p", scores...)) {
		t.Error("applied twice")
	}
	top := board(t, st, mode, 300)
	if len(top) != 300 || top[0].PlayerID != "p-0" || top[0].Wins != 1 || top[1].PlayerID != "p-1" || top[299].Score != 701 {
		t.Errorf("got %d players, first %+v, last %+v", len(top), top[0], top[len(top)-1])
	}
}

// leaderboardModel is the ranking computed the slow, obvious way.
type leaderboardModel map[string]*LeaderboardEntry

func (lm leaderboardModel) record(ss []netcode.Standing) {
	for _, st := range ss {
		e := lm[st.PlayerID]
		if e == nil {
			e = &LeaderboardEntry{PlayerID: st.PlayerID}
			lm[st.PlayerID] = e
		}
		e.Name = st.Name
		if st.Place == 1 {
			e.Wins++
		} else {
			e.Losses++
		}
		e.Score += int64(st.Score)
	}
}

func (lm leaderboardModel) top(n int) []LeaderboardEntry {
	out := make([]LeaderboardEntry, 0, len(lm))
	for _, e := range lm {
		out = append(out, *e)
	}
	sortLeaderboard(out)
	return out[:min(n, len(out))]
}

// randomResult is a match of 2 to 8 of players p-0…p-(players-1), with
// scores from -3 to 12: ties are common, and a loss with a negative score
// makes a player drop.
func randomResult(rng *rand.Rand, players int) []netcode.Standing {
	n := 2 + rng.IntN(7)
	ss := make([]netcode.Standing, 0, n)
	for i, p := range rng.Perm(players)[:n] {
		ss = append(ss, netcode.Standing{PlayerID: fmt.Sprintf("p-%03d", p), Name: fmt.Sprintf("n%d", p), Score: int32(rng.IntN(16) - 3), Place: uint16(i + 1)})
	}
	return ss
}

// After every one of many results, some of them retried, the top n for
// several n is the model's, ties at the cut included.
func testLeaderboardOrder(t *testing.T, st SessionStore) {
	mode := newMode(t)
	rng := rand.New(rand.NewPCG(1, 2))
	lm := leaderboardModel{}
	var sent [][]netcode.Standing
	for i := range 120 {
		if len(sent) > 0 && rng.IntN(5) == 0 { // a retry
			j := rng.IntN(len(sent))
			if record(t, st, fmt.Sprintf("m-%d", j), mode, sent[j]) {
				t.Fatalf("the retry of m-%d was applied", j)
			}
			continue
		}
		res := randomResult(rng, 150)
		if !record(t, st, fmt.Sprintf("m-%d", len(sent)), mode, res) {
			t.Fatalf("m-%d not applied", len(sent))
		}
		sent = append(sent, res)
		lm.record(res)
		if i%10 != 9 {
			continue
		}
		for _, n := range []int{1, 7, 100, 101, 400} {
			if got, want := board(t, st, mode, n), lm.top(n); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after %d results, top %d\n got %+v\nwant %+v", len(sent), n, got, want)
			}
		}
	}
}

func testDeadline(t *testing.T, st SessionStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Create(ctx, Session{PlayerID: "p"}, time.Hour); err == nil {
		t.Error("create with a cancelled context succeeded")
	}
}

func TestMemoryStoreContract(t *testing.T) {
	storeContract(t, func(t *testing.T) SessionStore {
		st := NewMemoryStore(0)
		t.Cleanup(func() { st.Close() })
		return st
	})
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

// testClock is a clock that moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Unix(1_700_000_000, 0)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestMemoryStore is a MemoryStore on clock that never sweeps by itself.
func newTestMemoryStore(t *testing.T, maxSessions int, clock *testClock) *MemoryStore {
	m := newMemoryStore(maxSessions, clock.Now, time.Hour)
	t.Cleanup(func() { m.Close() })
	return m
}

func (m *MemoryStore) sessionCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// At the cap, Create refuses with ErrStoreFull until sessions expire; it
// removes the expired ones itself, or Sweep does.
func TestMemoryStoreFull(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	m := newTestMemoryStore(t, 3, clock)
	var toks []string
	for i := range 3 {
		tok, err := m.Create(ctx, Session{PlayerID: fmt.Sprint("p-", i)}, time.Duration(i+1)*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	if _, err := m.Create(ctx, Session{PlayerID: "p-x"}, time.Hour); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("create beyond the cap: %v", err)
	}
	// Using a session keeps it: still full a while later.
	clock.Add(50 * time.Second)
	if _, err := m.Lookup(ctx, HashToken(toks[0]), time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.Add(20 * time.Second) // p-0 slid, p-1 and p-2 live: full
	if _, err := m.Create(ctx, Session{PlayerID: "p-x"}, time.Hour); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("create beyond the cap: %v", err)
	}
	clock.Add(60 * time.Second) // p-1 expired: Create takes its place
	if _, err := m.Create(ctx, Session{PlayerID: "p-y"}, time.Hour); err != nil {
		t.Fatalf("create after an expiry: %v", err)
	}
	if _, err := m.Lookup(ctx, HashToken(toks[1]), time.Hour); !errors.Is(err, ErrNoSession) {
		t.Errorf("expired session: %v", err)
	}
	if _, err := m.Create(ctx, Session{PlayerID: "p-z"}, time.Hour); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("create beyond the cap: %v", err)
	}
	// Sweep frees places too.
	clock.Add(2 * time.Hour)
	if n := m.Sweep(clock.Now()); n != 3 {
		t.Errorf("swept %d sessions, want 3", n)
	}
	for i := range 3 {
		if _, err := m.Create(ctx, Session{PlayerID: fmt.Sprint("p-new-", i)}, time.Hour); err != nil {
			t.Fatalf("create %d after the sweep: %v", i, err)
		}
	}
	if n := m.sessionCount(); n != 3 {
		t.Errorf("%d sessions", n)
	}
}

func TestMemoryStoreDefaultCap(t *testing.T) {
	for _, m := range []*MemoryStore{NewMemoryStore(0), NewMemoryStore(-1)} {
		if m.maxSessions != defaultMaxSessions {
			t.Errorf("cap %d", m.maxSessions)
		}
		m.Close()
	}
	m := NewMemoryStore(7)
	defer m.Close()
	if m.maxSessions != 7 {
		t.Errorf("cap %d", m.maxSessions)
	}
}

// Sweep removes exactly the sessions expired at now and forgets matches
// counted 7 days ago.
func TestMemoryStoreSweep(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	m := newTestMemoryStore(t, 0, clock)
	var short, long []string
	for i := range 5 {
		tok, _ := m.Create(ctx, Session{PlayerID: fmt.Sprint("s-", i)}, time.Minute)
		short = append(short, tok)
		tok, _ = m.Create(ctx, Session{PlayerID: fmt.Sprint("l-", i)}, time.Hour)
		long = append(long, tok)
	}
	if n := m.Sweep(clock.Now()); n != 0 {
		t.Errorf("swept %d live sessions", n)
	}
	clock.Add(time.Minute) // expiry is inclusive
	if n := m.Sweep(clock.Now()); n != 5 {
		t.Errorf("swept %d sessions, want 5", n)
	}
	if n := m.sessionCount(); n != 5 {
		t.Errorf("%d sessions left, want 5", n)
	}
	for i := range 5 {
		if _, err := m.Lookup(ctx, HashToken(long[i]), time.Hour); err != nil {
			t.Errorf("long %d: %v", i, err)
		}
		if _, err := m.Lookup(ctx, HashToken(short[i]), time.Hour); !errors.Is(err, ErrNoSession) {
			t.Errorf("short %d: %v", i, err)
		}
	}

	mode := newMode(t)
	res := standings("p", 1, 2)
	record(t, m, "m-1", mode, res)
	clock.Add(resultMemory - time.Second)
	m.Sweep(clock.Now())
	if record(t, m, "m-1", mode, res) {
		t.Error("m-1 counted twice within 7 days")
	}
	clock.Add(time.Second)
	m.Sweep(clock.Now())
	m.lbMu.Lock()
	left := len(m.applied.at)
	m.lbMu.Unlock()
	if left != 0 {
		t.Errorf("%d match ids remembered after 7 days", left)
	}
}

// The store sweeps by itself, and Close stops it.
func TestMemoryStoreSweepsByItself(t *testing.T) {
	clock := newTestClock()
	m := newMemoryStore(0, clock.Now, 5*time.Millisecond)
	for i := range 10 {
		if _, err := m.Create(context.Background(), Session{PlayerID: fmt.Sprint("p-", i)}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if n := m.sessionCount(); n != 10 {
		t.Fatalf("%d sessions before they expired", n)
	}
	clock.Add(time.Hour)
	waitUntil(t, 5*time.Second, func() bool { return m.sessionCount() == 0 })
	m.Close()
	m.Close() // twice is fine
	select {
	case <-m.done:
	default:
		t.Error("sweeper still running after Close")
	}
}

// Beyond its cap of match ids the store forgets the oldest first, and
// its memory of them stays bounded.
func TestMemoryStoreAppliedCap(t *testing.T) {
	clock := newTestClock()
	m := newTestMemoryStore(t, 0, clock)
	m.applied.max = 100
	mode := newMode(t)
	res := standings("p", 1)
	for i := range 5000 {
		record(t, m, fmt.Sprint("m-", i), mode, res)
		clock.Add(time.Millisecond)
	}
	m.lbMu.Lock()
	ids, queued := len(m.applied.at), len(m.applied.queue)-m.applied.head
	capacity := cap(m.applied.queue)
	m.lbMu.Unlock()
	if ids != 100 || queued != 100 || capacity > 4096 {
		t.Errorf("remembers %d ids, %d queued, queue capacity %d", ids, queued, capacity)
	}
	if record(t, m, "m-4999", mode, res) || record(t, m, "m-4900", mode, res) {
		t.Error("a recent match counted twice")
	}
	if !record(t, m, "m-4899", mode, res) {
		t.Error("the oldest match was not forgotten")
	}
}

// Session calls never wait for the leaderboard lock, nor leaderboard calls
// for the session lock.
func TestMemoryStoreLocksApart(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore(0)
	defer m.Close()
	tok, _ := m.Create(ctx, Session{PlayerID: "p-1"}, time.Hour)
	within := func(what string, f func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", what, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s waited on the other lock", what)
		}
	}

	m.lbMu.Lock() // a leaderboard call in progress
	within("sessions", func() error {
		tok2, err := m.Create(ctx, Session{PlayerID: "p-2"}, time.Hour)
		if err != nil {
			return err
		}
		if err := m.Save(ctx, HashToken(tok2), Session{MatchID: "m-1", Status: StatusAway}, time.Second); err != nil {
			return err
		}
		if _, err := m.Lookup(ctx, HashToken(tok), time.Hour); err != nil {
			return err
		}
		m.mu.Lock()
		m.sweepLocked(m.now())
		m.mu.Unlock()
		return nil
	})
	m.lbMu.Unlock()

	m.mu.Lock() // a session call in progress
	within("leaderboard", func() error {
		if _, err := m.RecordResult(ctx, "m-1", "arena", standings("p", 1, 2)); err != nil {
			return err
		}
		_, err := m.Leaderboard(ctx, "arena", 100)
		return err
	})
	m.mu.Unlock()
}

// Results that only move players up keep the top ranked without a pass
// over the board; a ranked player who drops makes the next Leaderboard
// call rank the board, once. Either way the top is the model's.
func TestMemoryStoreLeaderboardCache(t *testing.T) {
	m := NewMemoryStore(0)
	defer m.Close()
	mode := newMode(t)
	lm := leaderboardModel{}
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(when string) {
		t.Helper()
		for _, n := range []int{1, 10, 100, 150, 2000} {
			if got, want := board(t, m, mode, n), lm.top(n); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: top %d\n got %+v\nwant %+v", when, n, got, want)
			}
		}
	}
	ranked := func() int {
		m.lbMu.Lock()
		defer m.lbMu.Unlock()
		return m.boards[mode].ranked
	}
	for i := range 500 {
		res := randomResult(rng, 1000)
		for j := range res {
			res[j].Score = max(res[j].Score, 0)
		}
		record(t, m, fmt.Sprint("m-", i), mode, res)
		lm.record(res)
		if i%50 == 0 {
			check(fmt.Sprint("result ", i))
		}
	}
	check("500 results")
	if n := ranked(); n != 0 {
		t.Errorf("ranked the whole board %d times for results that only move players up", n)
	}
	// The leader loses with a negative score: they may drop below someone
	// who is not in the top.
	top := board(t, m, mode, 100)
	last := top[len(top)-1]
	res := []netcode.Standing{
		{PlayerID: "p-new", Name: "new", Score: 1, Place: 1},
		{PlayerID: top[0].PlayerID, Name: top[0].Name, Score: -int32(top[0].Score) - 1, Place: 2},
		{PlayerID: last.PlayerID, Name: last.Name, Score: -int32(last.Score) - 1, Place: 3},
	}
	record(t, m, "m-drop", mode, res)
	lm.record(res)
	check("after a drop")
	if n := ranked(); n != 1 {
		t.Errorf("ranked %d times after a drop, want 1", n)
	}
	check("again")
	if n := ranked(); n != 1 {
		t.Errorf("ranked %d times, want 1", n)
	}
	// Random results, drops included, keep the model's top.
	for i := range 2000 {
		res := randomResult(rng, 1000)
		record(t, m, fmt.Sprint("r-", i), mode, res)
		lm.record(res)
		if i%100 == 0 {
			check(fmt.Sprint("random result ", i))
		}
	}
	check("2000 random results")
}

// BenchmarkLeaderboard reads the top 100 of a 100,000-player board: from
// the ranked top (cached), after each result that moves players up
// (after-result), and after each result that makes a ranked player drop
// (after-drop: a pass over the board each time).
func BenchmarkLeaderboard(b *testing.B) {
	ctx := context.Background()
	const players = 100_000
	m := NewMemoryStore(0)
	defer m.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range players / 100 {
		ss := make([]netcode.Standing, 100)
		for j := range ss {
			p := i*100 + j
			ss[j] = netcode.Standing{PlayerID: fmt.Sprintf("p-%06d", p), Name: "n", Score: int32(rng.IntN(1000)), Place: uint16(j + 1)}
		}
		if _, err := m.RecordResult(ctx, fmt.Sprint("seed-", i), "arena", ss); err != nil {
			b.Fatal(err)
		}
	}
	pick := func() string { return fmt.Sprintf("p-%06d", rng.IntN(players)) }
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if top, _ := m.Leaderboard(ctx, "arena", 100); len(top) != 100 {
				b.Fatal(len(top))
			}
		}
	})
	b.Run("after-result", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			ss := []netcode.Standing{{PlayerID: pick(), Score: 50, Place: 1}, {PlayerID: pick(), Score: 10, Place: 2}}
			_, _ = m.RecordResult(ctx, fmt.Sprint("r-", i), "arena", ss)
			if top, _ := m.Leaderboard(ctx, "arena", 100); len(top) != 100 {
				b.Fatal(len(top))
			}
		}
	})
	b.Run("after-drop", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			top, _ := m.Leaderboard(ctx, "arena", 1)
			ss := []netcode.Standing{{PlayerID: pick(), Score: 50, Place: 1}, {PlayerID: top[0].PlayerID, Score: -1, Place: 2}}
			_, _ = m.RecordResult(ctx, fmt.Sprint("d-", i), "arena", ss)
			if top, _ := m.Leaderboard(ctx, "arena", 100); len(top) != 100 {
				b.Fatal(len(top))
			}
		}
	})
}
