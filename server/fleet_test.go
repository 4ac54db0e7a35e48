//go:build linux

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"skirmish/client"
)

// fleetNode is one skirmish process of a test fleet.
type fleetNode struct {
	id, base string
	c        *child
}

// startFleetNode starts node id as its own process on a real Redis.
func startFleetNode(t *testing.T, bin, redisAddr, id string, args ...string) *fleetNode {
	t.Helper()
	port := freeLoopbackPort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	args = append([]string{"-addr", "127.0.0.1:" + strconv.Itoa(port), "-node-id", id, "-redis", redisAddr,
		"-public-url", base, "-log-level", "info"}, args...)
	c := startChild(t, "node "+id, filepath.Join(t.TempDir(), id+".log"), syscall.SIGKILL, bin, args...)
	c.waitReady(t, func() bool {
		code, _ := deployGet(t, base+"/healthz", "")
		return code == http.StatusOK
	})
	return &fleetNode{id: id, base: base, c: c}
}

// fleetBot is one player of the fleet test: a Go client that wanders and
// shoots.
type fleetBot struct {
	c      *client.Client
	origin string // the node it created its session and queued on

	mu      sync.Mutex
	outages []time.Duration // reconnects: time from the drop to the seat back
}

func (b *fleetBot) view() client.View { return b.c.View() }

// play moves and shoots in a new random direction every 500 ms.
func (b *fleetBot) play(ctx context.Context, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		a := r.Float64() * 2 * math.Pi
		dx, dy := float32(math.Cos(a)), float32(math.Sin(a))
		b.c.SetControl(client.Control{MoveX: dx, MoveY: dy, Fire: true, AimX: -dy, AimY: dx})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fleetRedis reads the fleet's records.
func fleetHost(t *testing.T, rdb *redis.Client, matchID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	h, _ := rdb.HGet(ctx, fleetKey("m", matchID), "node").Result()
	return h
}

// waitFor polls cond every 20 ms for up to within.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// TestFleet runs a fleet of three nodes, each its own process, on a real
// redis-server, with 48 players spread over them, through a node killed
// with SIGKILL, a node drained with SIGTERM, and Redis stopped and started
// under the fleet.
func TestFleet(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("the fleet test needs redis-server on PATH (make test and .ci/run install it)")
	}
	rs := newStoppableRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	bin := skirmishBinary(t)
	args := []string{"-fill-timeout", "1s", "-seat-grace", "30s"}
	nodes := []*fleetNode{}
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, startFleetNode(t, bin, rs.Addr, fmt.Sprintf("n%d", i), args...))
	}
	urls := []string{nodes[0].base, nodes[1].base, nodes[2].base}
	if !waitFor(5*time.Second, func() bool {
		_, body := deployGet(t, urls[0]+"/v1/fleet", "")
		var f struct{ Nodes []NodeInfo }
		return json.Unmarshal(body, &f) == nil && len(f.Nodes) == 3
	}) {
		t.Fatal("/v1/fleet does not list the three nodes")
	}

	// 48 players, 16 per node, queue for the arena.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bots := make([]*fleetBot, 48)
	var wg sync.WaitGroup
	for i := range bots {
		b := &fleetBot{origin: nodes[i%3].id}
		bots[i] = b
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := client.Dial(ctx, urls[i%3], client.Options{
				Name: fmt.Sprintf("bot%d", i), Reconnect: true, Nodes: urls,
				OnReconnect: func(d time.Duration, resumed bool) {
					b.mu.Lock()
					b.outages = append(b.outages, d)
					b.mu.Unlock()
				},
			})
			if err != nil {
				t.Errorf("bot %d: %v", i, err)
				return
			}
			b.c = c
			c.Queue("arena")
			go b.play(ctx, uint64(i))
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	defer func() {
		for _, b := range bots {
			b.c.Close()
		}
	}()
	if !waitFor(15*time.Second, func() bool {
		for _, b := range bots {
			if v := b.view(); v.Phase != client.PhasePlaying || v.MatchID == "" {
				return false
			}
		}
		return true
	}) {
		t.Fatal("not every player is seated within 15 s")
	}

	// Six full matches; at least one of players who queued on different nodes.
	byMatch := map[string][]*fleetBot{}
	for _, b := range bots {
		id := b.view().MatchID
		byMatch[id] = append(byMatch[id], b)
	}
	mixed := 0
	for id, bs := range byMatch {
		origins := map[string]bool{}
		for _, b := range bs {
			origins[b.origin] = true
		}
		if len(origins) > 1 {
			mixed++
		}
		t.Logf("match %s on %s: %d players from %d nodes", id, fleetHost(t, rdb, id), len(bs), len(origins))
	}
	if len(byMatch) != 6 {
		t.Fatalf("%d matches, want 6 full ones", len(byMatch))
	}
	for id, bs := range byMatch {
		if len(bs) != 8 {
			t.Errorf("match %s has %d players, want 8", id, len(bs))
		}
	}
	if mixed == 0 {
		t.Error("no match mixes players who queued on different nodes")
	}
	time.Sleep(2 * time.Second) // play, score, checkpoint

	// --- kill -9 the node that hosts the most matches ---
	hosted := func(node string) []string {
		var ids []string
		for id := range byMatch {
			if fleetHost(t, rdb, id) == node {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		return ids
	}
	victim := nodes[0]
	for _, n := range nodes {
		if len(hosted(n.id)) > len(hosted(victim.id)) {
			victim = n
		}
	}
	killed := hosted(victim.id)
	if len(killed) == 0 {
		t.Fatal("no node hosts a match")
	}
	type before struct {
		match  string
		entity uint32
		score  int32
	}
	seen := map[*fleetBot]before{}
	for _, id := range killed {
		for _, b := range byMatch[id] {
			v := b.view()
			seen[b] = before{v.MatchID, v.Entity, v.Score}
		}
	}
	// Scores a checkpoint interval and more ago: the checkpoint has them.
	time.Sleep(1500 * time.Millisecond)
	t0 := time.Now()
	if err := victim.c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.c.done
	back := func(b *fleetBot) bool {
		v, was := b.view(), seen[b]
		return v.Phase == client.PhasePlaying && v.MatchID == was.match && v.Entity == was.entity && b.c.Stats().Migrated > 0
	}
	if !waitFor(15*time.Second, func() bool {
		for b := range seen {
			if !back(b) {
				return false
			}
		}
		return true
	}) {
		for b, was := range seen {
			if !back(b) {
				v := b.view()
				t.Errorf("bot from %s: phase %v match %s entity %d (was %s %d), stats %+v", b.origin, v.Phase, v.MatchID, v.Entity, was.match, was.entity, b.c.Stats())
			}
		}
		t.Fatalf("the killed node's players did not all resume within 15 s")
	}
	t.Logf("kill -9 of %s (%d matches): every player resumed after %v", victim.id, len(killed), time.Since(t0).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond) // the full views after the resume
	for b, was := range seen {
		if v := b.view(); v.Score < was.score {
			t.Errorf("score went from %d to %d: the checkpoint lost more than its interval", was.score, v.Score)
		}
	}
	for _, id := range killed {
		if h := fleetHost(t, rdb, id); h == "" || h == victim.id {
			t.Errorf("match %s hosted by %q after the kill", id, h)
		}
	}
	live := []*fleetNode{}
	for _, n := range nodes {
		if n != victim {
			live = append(live, n)
		}
	}

	// --- drain (SIGTERM) a node that hosts matches ---
	drained := live[0]
	if len(hosted(live[1].id)) > len(hosted(drained.id)) {
		drained = live[1]
	}
	moving := hosted(drained.id)
	if len(moving) == 0 {
		t.Fatal("no live node hosts a match")
	}
	type counts struct{ disconnects, migrated int }
	was := map[*fleetBot]counts{}
	for _, id := range moving {
		for _, b := range byMatch[id] {
			st := b.c.Stats()
			was[b] = counts{st.Disconnects, st.Migrated}
		}
	}
	t0 = time.Now()
	if err := drained.c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool {
		for b, c := range was {
			if b.c.Stats().Migrated == c.migrated || b.view().Phase != client.PhasePlaying {
				return false
			}
		}
		return true
	}) {
		t.Fatal("the drained node's players were not all moved within 10 s")
	}
	t.Logf("drain of %s (%d matches): every player moved and resumed after %v", drained.id, len(moving), time.Since(t0).Round(time.Millisecond))
	select {
	case <-drained.c.done:
	case <-time.After(6 * time.Second):
		t.Error("the drained node did not exit within its shutdown timeout")
	}
	if code := drained.c.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the drained node exited with %d", code)
	}
	for b, c := range was {
		if st := b.c.Stats(); st.Disconnects != c.disconnects {
			t.Errorf("a drained player saw a disconnect: %+v", st)
		}
	}
	last := live[1]
	if drained == live[1] {
		last = live[0]
	}
	for _, id := range moving {
		if h := fleetHost(t, rdb, id); h != last.id {
			t.Errorf("match %s hosted by %q after the drain, want %s", id, h, last.id)
		}
	}

	// --- Redis stopped and started under the fleet ---
	extra := startFleetNode(t, bin, rs.Addr, "n4", args...)
	snaps := func() int {
		n := 0
		for _, b := range bots {
			n += b.c.Stats().Snapshots
		}
		return n
	}
	idle := lobbyPlayers(ctx, t, last.base, "late", urls)
	rs.stop()
	s0 := snaps()
	time.Sleep(2 * time.Second)
	if got := snaps() - s0; got < 48*30 {
		t.Errorf("%d snapshots in 2 s with Redis down: the matches must go on", got)
	}
	for _, c := range idle {
		c.Queue("arena")
	}
	// Players queued while Redis is down are matched on their node.
	if !waitFor(5*time.Second, func() bool {
		return idle[0].Phase() == client.PhasePlaying && idle[1].Phase() == client.PhasePlaying
	}) {
		t.Error("players queued while Redis is down were not matched on their node")
	}
	if v := promValue(t, last.base, "skirmish_fleet_queue_fallbacks_total"); v < 1 {
		t.Errorf("queue fallbacks counted: %v", v)
	}
	if v := promValue(t, last.base, `skirmish_checkpoints_total{result="skipped"}`); v < 1 {
		t.Errorf("skipped checkpoints counted: %v", v)
	}
	rs.start()
	// The fleet recovers: both nodes listed again, every running match's
	// host record back (Redis restarted empty).
	if !waitFor(10*time.Second, func() bool {
		_, body := deployGet(t, extra.base+"/v1/fleet", "")
		var f struct{ Nodes []NodeInfo }
		if json.Unmarshal(body, &f) != nil || len(f.Nodes) != 2 {
			return false
		}
		for _, b := range bots {
			if v := b.view(); v.Phase == client.PhasePlaying && fleetHost(t, rdb, v.MatchID) == "" {
				return false
			}
		}
		return true
	}) {
		t.Error("the fleet did not recover within 10 s of Redis' return")
	}
	// A match made by the fleet's queue again.
	after := lobbyPlayers(ctx, t, extra.base, "after", urls)
	for _, c := range after {
		c.Queue("arena")
	}
	if !waitFor(8*time.Second, func() bool {
		return after[0].Phase() == client.PhasePlaying && after[1].Phase() == client.PhasePlaying
	}) {
		t.Error("players queued after Redis' return were not matched")
	}
	// They filled free seats of a running match on another node (the one
	// made on the local node while Redis was down).
	for _, c := range after {
		if c.View().MatchID != idle[0].View().MatchID || c.Stats().Moved == 0 {
			t.Errorf("a player queued on %s: match %s (moved %d), want the backfill of %s on %s",
				extra.id, c.View().MatchID, c.Stats().Moved, idle[0].View().MatchID, last.id)
		}
	}
	if v := promValue(t, extra.base, "skirmish_fleet_queue_fallbacks_total"); v != 0 {
		t.Errorf("queue fallbacks after Redis' return: %v", v)
	}

	for i, b := range bots {
		st := b.c.Stats()
		if st.InputsLost != 0 || st.ProtocolErrors != 0 {
			t.Errorf("bot %d: inputs lost %d, protocol errors %d", i, st.InputsLost, st.ProtocolErrors)
		}
	}
}

// lobbyPlayers connects two players to base, in the lobby, closed when the
// test ends.
func lobbyPlayers(ctx context.Context, t *testing.T, base, name string, nodes []string) []*client.Client {
	t.Helper()
	var cs []*client.Client
	for i := range 2 {
		c, err := client.Dial(ctx, base, client.Options{Name: fmt.Sprintf("%s%d", name, i), Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		cs = append(cs, c)
	}
	return cs
}

// promValue reads one series of base's /metrics (0 if absent).
func promValue(t *testing.T, base, series string) float64 {
	t.Helper()
	_, body := deployGet(t, base+"/metrics", "")
	for _, line := range strings.Split(string(body), "\n") {
		if len(line) > len(series) && line[:len(series)] == series && line[len(series)] == ' ' {
			v, _ := strconv.ParseFloat(line[len(series)+1:], 64)
			return v
		}
	}
	return 0
}
