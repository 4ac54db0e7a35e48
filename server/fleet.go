package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"skirmish/match"
	"skirmish/netcode"
)

// The fleet: every node started with -redis joins the fleet on that Redis.
// Redis is the only thing the nodes share (no consensus of our own):
//
//	skirmish:{fleet}:node:<id>       the node's record (JSON), PX nodeTTL,
//	                                 refreshed every nodeRefresh
//	skirmish:{fleet}:nodes           sorted set: node id → expiry (unix ms)
//	skirmish:{fleet}:m:<match>       the match's host: a hash (node, mode, tick)
//	skirmish:{fleet}:nm:<node>       set of the matches a node hosts
//	skirmish:{fleet}:cp:<match>      the match's latest checkpoint (msgpack)
//	skirmish:{fleet}:free:<mode>     hash: match → free seats, for backfill
//	skirmish:{fleet}:q:<mode>        the mode's queue: sorted set, player id →
//	                                 time queued (unix ms)
//	skirmish:{fleet}:qt:<mode>       hash: player id → ticket (JSON)
//	skirmish:{fleet}:mm              the matchmaker lease (SET NX PX)
//	skirmish:{fleet}:adopt:<match>   the adoption lease of a dead node's match
//	skirmish:{fleet}:to:<node>       pub/sub channel of messages to a node
//	skirmish:{fleet}:all             pub/sub channel of messages to every node
//
// All of them share the hash tag {fleet}, so that Lua scripts may touch
// any of them on Redis Cluster too.
const (
	nodeRefresh    = time.Second
	nodeTTL        = 3 * time.Second
	watchEvery     = 250 * time.Millisecond
	matchmakeEvery = 100 * time.Millisecond
	mmLease        = time.Second
	adoptLease     = 10 * time.Second
	// healthyBeforeAdopting: a node adopts a dead node's matches only
	// after its own records have been refreshed this long without a
	// failure, so that after a Redis outage every live node has had the
	// time to refresh its record before any is taken for dead.
	healthyBeforeAdopting = nodeTTL + 500*time.Millisecond
	// adoptFallback: a dead node's match is adopted by the live node that
	// rendezvous hashing picks; any node tries once it is orphaned this long.
	adoptFallback  = 2 * time.Second
	fleetOpTimeout = time.Second
)

func fleetKey(parts ...string) string {
	k := "skirmish:{fleet}"
	for _, p := range parts {
		k += ":" + p
	}
	return k
}

// NodeInfo is a live node's record, as GET /v1/fleet lists it.
type NodeInfo struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Players  int    `json:"players"`
	Matches  int    `json:"matches"`
	Capacity int    `json:"capacity"`
	// Full: the node refuses newcomers and new matches now (overloaded,
	// or at -max-players); the matchmaker places no match there.
	Full     bool `json:"full"`
	Draining bool `json:"draining"`
	// Updated is when the node last wrote its record (unix ms).
	Updated int64 `json:"updated"`
}

// freshFor: a node whose record is older than this (by Redis's clock: its
// TTL left) missed a refresh and may be dead: no player is sent to it.
const freshFor = nodeRefresh * 5 / 4

// fleetMsg is a message between nodes, on pub/sub.
type fleetMsg struct {
	T       string         `json:"t"` // adopt, host, fill, moved, kick
	Match   string         `json:"match,omitempty"`
	Mode    string         `json:"mode,omitempty"`
	Player  string         `json:"player,omitempty"`
	URL     string         `json:"url,omitempty"`
	From    string         `json:"from,omitempty"`
	Tickets []match.Ticket `json:"tickets,omitempty"`
}

type fleet struct {
	s        *Server
	rdb      redis.UniversalClient
	id, url  string
	log      *slog.Logger
	draining atomic.Bool
	started  atomic.Bool // the first refresh succeeded
	// healthySince is when the node's refreshes last started succeeding
	// (unix ns); 0 while they fail.
	healthySince atomic.Int64
	nodes        atomic.Pointer[[]NodeInfo] // live nodes, by id

	mu      sync.Mutex
	jobs    []func(context.Context) error // ordered writes (queue, dequeue)
	cps     map[string]cpJob              // latest checkpoint per match
	free    map[string]freeJob            // latest free seats per match
	ended   map[string]time.Time          // matches ended here lately
	wake    chan struct{}
	orphans map[string]time.Time // dead nodes' matches: first seen (watch loop)
	sent    []sentLoad           // matchmaker loop

	quit chan struct{}
	wg   sync.WaitGroup
	logs logLimiter
	// base bounds every Redis call: a shutdown out of time cancels it.
	base       context.Context
	cancelBase context.CancelFunc
}

type cpJob struct {
	mode string
	tick uint64
	free int
	data []byte
}

type freeJob struct {
	mode string
	free int
}

func newFleet(s *Server, rdb redis.UniversalClient) *fleet {
	f := &fleet{
		s:       s,
		rdb:     rdb,
		id:      s.nodeID,
		url:     s.opts.PublicURL,
		log:     s.log.With("node", s.nodeID),
		cps:     map[string]cpJob{},
		free:    map[string]freeJob{},
		ended:   map[string]time.Time{},
		orphans: map[string]time.Time{},
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
	}
	f.logs = logLimiter{every: time.Second, onSuppress: func() { s.limited(limLogs) }}
	f.base, f.cancelBase = context.WithCancel(context.Background())
	empty := []NodeInfo{}
	f.nodes.Store(&empty)
	return f
}

// start runs the fleet's loops.
func (f *fleet) start() {
	f.refresh()
	_, _ = f.readNodes()
	f.reclaim()
	for _, loop := range []func(){f.heartbeatLoop, f.watchLoop, f.matchmakeLoop, f.writeLoop, f.subscribeLoop, f.requeueLoop} {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			loop()
		}()
	}
}

// stop ends the loops, writes what waits, and removes the node's record:
// a clean exit, not a death (there is nothing left to adopt).
func (f *fleet) stop(ctx context.Context) {
	select {
	case <-f.quit:
		return
	default:
		close(f.quit)
	}
	stop := context.AfterFunc(ctx, f.cancelBase)
	defer stop()
	f.wg.Wait()
	if f.healthyFor() > 0 {
		f.flush(ctx)
	}
	octx, cancel := f.ctx()
	defer cancel()
	pipe := f.rdb.TxPipeline()
	pipe.Del(octx, fleetKey("node", f.id))
	pipe.ZRem(octx, fleetKey("nodes"), f.id)
	if _, err := pipe.Exec(octx); err != nil {
		f.warn("fleet: leaving", err)
	}
	f.releaseLease()
}

func (f *fleet) warn(msg string, err error) {
	f.logs.log(f.log, slog.LevelWarn, msg, "err", err)
}

func (f *fleet) every(d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-f.quit:
			return
		case <-t.C:
			fn()
		}
	}
}

func (f *fleet) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(f.base, fleetOpTimeout)
}

// --- node records ---

func (f *fleet) heartbeatLoop() { f.every(nodeRefresh, f.refresh) }

// refresh writes the node's record, with its counts.
func (f *fleet) refresh() {
	players, matches := f.s.lobby.Counts()
	rec, _ := json.Marshal(NodeInfo{ID: f.id, URL: f.url, Players: players, Matches: matches,
		Capacity: f.s.capacity(), Full: f.s.full(), Draining: f.draining.Load(), Updated: time.Now().UnixMilli()})
	ctx, cancel := f.ctx()
	defer cancel()
	now := time.Now()
	pipe := f.rdb.TxPipeline()
	pipe.Set(ctx, fleetKey("node", f.id), rec, nodeTTL)
	pipe.ZAdd(ctx, fleetKey("nodes"), redis.Z{Score: float64(now.Add(nodeTTL).UnixMilli()), Member: f.id})
	if _, err := pipe.Exec(ctx); err != nil {
		if f.healthySince.Swap(0) != 0 {
			f.log.Warn("fleet: redis unreachable; matches go on, queues fall back to this node", "err", err)
		}
		f.s.metrics.fleetErrors.WithLabelValues("refresh").Inc()
		return
	}
	if f.healthySince.CompareAndSwap(0, now.UnixNano()) {
		f.log.Info("fleet: node record written", "url", f.url)
		if f.started.Swap(true) {
			// Redis is back (maybe empty, after a restart): the queue
			// gets this node's waiting players again.
			go f.resync()
		}
	}
}

// resync makes mode queues in Redis hold exactly the players waiting in
// the fleet's queue on this node: tickets lost with a Redis restart come
// back, tickets of players who left or were matched here meanwhile go.
func (f *fleet) resync() {
	f.sync(f.s.lobby.FleetQueued(0), true)
	f.log.Info("fleet: queue resynced")
}

// requeueEvery: a node puts back in the queue its players who have waited
// that long and whose ticket is gone (lost with a Redis restart too quick
// to notice, or claimed for a match on a node that died before it started
// it). A player waiting less long may be on their way to a match.
const requeueEvery = 5 * time.Second

func (f *fleet) requeueLoop() {
	f.every(requeueEvery, func() {
		if f.healthyFor() > 0 && !f.draining.Load() {
			f.sync(f.s.lobby.FleetQueued(requeueEvery), false)
		}
	})
}

// sync puts the tickets of want back in their queues, keeping the place of
// those still there; with prune it also drops this node's tickets of
// players not in want.
func (f *fleet) sync(want map[string]match.Queued, prune bool) {
	ctx, cancel := f.ctx()
	defer cancel()
	for mode := range f.s.modes {
		if !prune {
			break
		}
		all, err := f.rdb.HGetAll(ctx, fleetKey("qt", mode)).Result()
		if err != nil {
			f.warn("fleet: resync", err)
			return
		}
		for id, v := range all {
			var t match.Ticket
			if json.Unmarshal([]byte(v), &t) == nil && t.Node == f.id && want[id].Mode != mode {
				pipe := f.rdb.TxPipeline()
				pipe.ZRem(ctx, fleetKey("q", mode), id)
				pipe.HDel(ctx, fleetKey("qt", mode), id)
				_, _ = pipe.Exec(ctx)
			}
		}
	}
	for _, w := range want {
		w.Ticket.Node = f.id
		if err := f.enqueue(ctx, w.Mode, w.Ticket, time.Now()); err != nil {
			f.warn("fleet: resync", err)
			return
		}
	}
}

// healthyFor reports how long the node's refreshes have been succeeding.
func (f *fleet) healthyFor() time.Duration {
	since := f.healthySince.Load()
	if since == 0 {
		return 0
	}
	return time.Since(time.Unix(0, since))
}

// readNodes reads the live nodes' records.
func (f *fleet) readNodes() ([]string, error) {
	ctx, cancel := f.ctx()
	defer cancel()
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	ids, err := f.rdb.ZRangeByScore(ctx, fleetKey("nodes"), &redis.ZRangeBy{Min: "(" + now, Max: "+inf"}).Result()
	if err != nil {
		return nil, err
	}
	live := []NodeInfo{}
	if len(ids) > 0 {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = fleetKey("node", id)
		}
		vals, err := f.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue
			}
			var n NodeInfo
			if json.Unmarshal([]byte(s), &n) == nil && n.ID != "" {
				live = append(live, n)
			}
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].ID < live[j].ID })
	f.nodes.Store(&live)
	dead, err := f.rdb.ZRangeByScore(ctx, fleetKey("nodes"), &redis.ZRangeBy{Min: "-inf", Max: now}).Result()
	return dead, err
}

// Nodes returns the live nodes, as last read.
func (f *fleet) Nodes() []NodeInfo { return *f.nodes.Load() }

// node returns live node id's record.
func (f *fleet) node(id string) (NodeInfo, bool) {
	for _, n := range f.Nodes() {
		if n.ID == id {
			return n, true
		}
	}
	return NodeInfo{}, false
}

// others returns the live nodes but this one that take matches, least
// loaded first.
func (f *fleet) others() []NodeInfo {
	var out []NodeInfo
	for _, n := range f.Nodes() {
		if n.ID != f.id && !n.Draining {
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Players < out[j].Players })
	return out
}

// reclaim resumes the matches that the records say this node hosts: a node
// restarted with the same ID before its old record expired (a crash and a
// quick restart) would otherwise hold them forever without running them.
func (f *fleet) reclaim() {
	ctx, cancel := f.ctx()
	defer cancel()
	ids, err := f.rdb.SMembers(ctx, fleetKey("nm", f.id)).Result()
	if err != nil {
		return
	}
	for _, id := range ids {
		pipe := f.rdb.Pipeline()
		h := pipe.HGet(ctx, fleetKey("m", id), "node")
		c := pipe.Get(ctx, fleetKey("cp", id))
		if _, err := pipe.Exec(ctx); err != nil || h.Val() != f.id {
			f.rdb.SRem(ctx, fleetKey("nm", f.id), id)
			continue
		}
		f.resume(id, []byte(c.Val()), "reclaimed after a restart")
	}
}

// --- watching for dead nodes, adoption ---

func (f *fleet) watchLoop() { f.every(watchEvery, f.watch) }

func (f *fleet) watch() {
	dead, err := f.readNodes()
	if err != nil || f.draining.Load() || f.healthyFor() < healthyBeforeAdopting {
		return
	}
	for _, d := range dead {
		if d != f.id {
			f.adoptFrom(d)
		}
	}
}

// adoptFrom adopts the matches of dead node d that fall to this node.
func (f *fleet) adoptFrom(d string) {
	ctx, cancel := f.ctx()
	defer cancel()
	ids, err := f.rdb.SMembers(ctx, fleetKey("nm", d)).Result()
	if err != nil {
		return
	}
	if len(ids) == 0 {
		// Nothing left of d: forget it, unless it came back meanwhile.
		_ = forgetNodeScript.Run(ctx, f.rdb, []string{fleetKey("node", d), fleetKey("nodes"), fleetKey("nm", d)}, d).Err()
		return
	}
	// A full node (overloaded, or at -max-players) takes no one's match
	// while another can: it adopts only after adoptFallback, as the last
	// resort that keeps the match from being lost.
	takers := adoptTakers(f.Nodes())
	full := f.s.full()
	now := time.Now()
	for _, id := range ids {
		first, seen := f.orphans[id]
		if !seen {
			first = now
			f.orphans[id] = now
		}
		if !adoptsNow(f.id, id, takers, full, now.Sub(first)) {
			continue
		}
		f.adopt(id, d)
	}
	for id, t := range f.orphans {
		if now.Sub(t) > time.Minute {
			delete(f.orphans, id)
		}
	}
}

// adoptTakers returns the nodes that may adopt a dead node's matches at
// once: those neither draining nor full.
func adoptTakers(nodes []NodeInfo) []string {
	var takers []string
	for _, n := range nodes {
		if !n.Draining && !n.Full {
			takers = append(takers, n.ID)
		}
	}
	return takers
}

// adoptsNow reports whether node me adopts orphaned match id, which has
// been orphaned for waited: the taker rendezvous hashing picks does at
// once, unless it is full now; any node does after adoptFallback.
func adoptsNow(me, id string, takers []string, full bool, waited time.Duration) bool {
	return waited >= adoptFallback || !full && pick(id, takers) == me
}

// pick chooses the node of nodes that adopts match id (rendezvous hashing:
// the matches of a dead node spread over the live ones).
func pick(id string, nodes []string) string {
	var best string
	var bestH uint64
	for _, n := range nodes {
		h := fnv.New64a()
		h.Write([]byte(id))
		h.Write([]byte{0})
		h.Write([]byte(n))
		if v := h.Sum64(); best == "" || v > bestH {
			best, bestH = n, v
		}
	}
	return best
}

// adopt takes match id of dead node d, under its lease, and runs it here
// from its checkpoint.
func (f *fleet) adopt(id, d string) {
	ctx, cancel := f.ctx()
	defer cancel()
	keys := []string{fleetKey("m", id), fleetKey("cp", id), fleetKey("nm", d), fleetKey("nm", f.id),
		fleetKey("adopt", id), fleetKey("node", d)}
	data, err := adoptScript.Run(ctx, f.rdb, keys, f.id, d, id, adoptLease.Milliseconds()).Text()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			f.warn("fleet: adopting", err)
		}
		return
	}
	delete(f.orphans, id)
	f.resume(id, []byte(data), "adopted from "+d)
}

// resume runs match id here from checkpoint data; the records already name
// this node its host.
func (f *fleet) resume(id string, data []byte, why string) {
	var cp match.Checkpoint
	err := match.DecodeCheckpoint(data, &cp)
	if err == nil && cp.MatchID != id {
		err = fmt.Errorf("checkpoint of %s", cp.MatchID)
	}
	if err == nil {
		err = f.s.lobby.Adopt(&cp)
	}
	if err != nil {
		f.log.Error("fleet: cannot resume match", "match", id, "err", err)
		f.s.metrics.fleetErrors.WithLabelValues("resume").Inc()
		f.matchEnded(id, "")
		return
	}
	f.s.metrics.adopted.Inc()
	f.log.Info("fleet: match resumed here", "match", id, "why", why, "tick", cp.World.Tick)
}

// --- checkpoints and match records ---

// Checkpoint implements match.Checkpointer: the latest checkpoint of each
// match waits for the writer.
func (f *fleet) Checkpoint(matchID, mode string, tick uint64, free int, data []byte, took time.Duration) {
	f.s.metrics.checkpointCPU.Observe(took.Seconds())
	f.mu.Lock()
	if _, gone := f.ended[matchID]; !gone {
		if _, queued := f.cps[matchID]; queued {
			f.s.metrics.checkpoints.WithLabelValues("replaced").Inc()
		}
		f.cps[matchID] = cpJob{mode: mode, tick: tick, free: free, data: data}
	}
	f.mu.Unlock()
	f.poke()
}

// Seats implements match.Fleet.
func (f *fleet) Seats(matchID, mode string, free int) {
	f.mu.Lock()
	if _, gone := f.ended[matchID]; !gone {
		f.free[matchID] = freeJob{mode: mode, free: free}
	}
	f.mu.Unlock()
	f.poke()
}

// ended forgets match id on this node: its records go, unless another
// node hosts it now.
func (f *fleet) matchEnded(id, mode string) {
	f.mu.Lock()
	delete(f.cps, id)
	delete(f.free, id)
	f.ended[id] = time.Now()
	f.jobs = append(f.jobs, func(ctx context.Context) error {
		keys := []string{fleetKey("m", id), fleetKey("cp", id), fleetKey("nm", f.id), fleetKey("free", mode)}
		return endScript.Run(ctx, f.rdb, keys, f.id, id).Err()
	})
	f.mu.Unlock()
	f.poke()
}

func (f *fleet) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Enqueue implements match.Fleet.
func (f *fleet) Enqueue(p *match.Player, mode string) {
	t := match.Ticket{ID: p.ID, Name: p.Name, Key: p.Key, Node: f.id}
	if f.healthyFor() == 0 {
		// Redis is out of reach: do not wait for it.
		f.s.metrics.fleetFallbacks.Inc()
		f.logs.log(f.log, slog.LevelWarn, "fleet: queue unreachable, matching on this node", "player", t.ID, "mode", mode)
		go f.s.lobby.QueueLocal(t.ID, mode)
		return
	}
	f.push(func(ctx context.Context) error {
		err := f.enqueue(ctx, mode, t, time.Now())
		if err != nil {
			f.s.metrics.fleetFallbacks.Inc()
			f.logs.log(f.log, slog.LevelWarn, "fleet: queue unreachable, matching on this node", "player", t.ID, "mode", mode, "err", err)
			go f.s.lobby.QueueLocal(t.ID, mode)
		}
		return nil
	})
}

func (f *fleet) enqueue(ctx context.Context, mode string, t match.Ticket, at time.Time) error {
	b, _ := json.Marshal(t)
	pipe := f.rdb.TxPipeline()
	pipe.ZAddNX(ctx, fleetKey("q", mode), redis.Z{Score: float64(at.UnixMilli()), Member: t.ID})
	pipe.HSet(ctx, fleetKey("qt", mode), t.ID, b)
	_, err := pipe.Exec(ctx)
	return err
}

// Dequeue implements match.Fleet.
func (f *fleet) Dequeue(id, mode string) {
	f.push(func(ctx context.Context) error {
		pipe := f.rdb.TxPipeline()
		pipe.ZRem(ctx, fleetKey("q", mode), id)
		pipe.HDel(ctx, fleetKey("qt", mode), id)
		_, err := pipe.Exec(ctx)
		return err
	})
}

// maxFleetJobs bounds the writes waiting for Redis.
const maxFleetJobs = 100_000

func (f *fleet) push(job func(context.Context) error) {
	f.mu.Lock()
	if len(f.jobs) >= maxFleetJobs {
		f.mu.Unlock()
		f.s.metrics.fleetErrors.WithLabelValues("queue_full").Inc()
		return
	}
	f.jobs = append(f.jobs, job)
	f.mu.Unlock()
	f.poke()
}

// writeLoop writes to Redis what the lobby and the matches hand over:
// queue changes in order, the latest checkpoint and free seats of each
// match. A checkpoint that cannot be written is skipped (counted): the
// next one replaces it.
func (f *fleet) writeLoop() {
	for {
		select {
		case <-f.quit:
			return
		case <-f.wake:
		}
		f.drain()
	}
}

// flush writes what is left, until ctx ends.
func (f *fleet) flush(ctx context.Context) {
	for ctx.Err() == nil && f.drain() {
	}
}

// drain writes what waits; it reports whether there was anything.
func (f *fleet) drain() bool {
	f.mu.Lock()
	jobs, cps, free := f.jobs, f.cps, f.free
	f.jobs, f.cps, f.free = nil, map[string]cpJob{}, map[string]freeJob{}
	for id, t := range f.ended {
		if time.Since(t) > time.Minute {
			delete(f.ended, id)
		}
	}
	f.mu.Unlock()
	if len(jobs) == 0 && len(cps) == 0 && len(free) == 0 {
		return false
	}
	for _, job := range jobs {
		ctx, cancel := f.ctx()
		if err := job(ctx); err != nil {
			f.s.metrics.fleetErrors.WithLabelValues("write").Inc()
			f.warn("fleet: write", err)
		}
		cancel()
	}
	for id, j := range cps {
		f.writeCheckpoint(id, j)
	}
	for id, j := range free {
		ctx, cancel := f.ctx()
		var err error
		if j.free > 0 {
			err = f.rdb.HSet(ctx, fleetKey("free", j.mode), id, j.free).Err()
		} else {
			err = f.rdb.HDel(ctx, fleetKey("free", j.mode), id).Err()
		}
		cancel()
		if err != nil {
			f.s.metrics.fleetErrors.WithLabelValues("write").Inc()
		}
	}
	return true
}

func (f *fleet) writeCheckpoint(id string, j cpJob) {
	if f.healthyFor() == 0 {
		f.s.metrics.checkpoints.WithLabelValues("skipped").Inc()
		return
	}
	ctx, cancel := f.ctx()
	defer cancel()
	t0 := time.Now()
	keys := []string{fleetKey("m", id), fleetKey("cp", id), fleetKey("nm", f.id), fleetKey("free", j.mode)}
	owner, err := checkpointScript.Run(ctx, f.rdb, keys, f.id, j.data, j.mode, j.tick, j.free, id).Text()
	if err != nil {
		f.s.metrics.checkpoints.WithLabelValues("skipped").Inc()
		f.warn("fleet: checkpoint skipped", err)
		return
	}
	f.s.metrics.checkpoints.WithLabelValues("written").Inc()
	f.s.metrics.checkpointBytes.Add(float64(len(j.data)))
	f.s.metrics.checkpointWrite.Observe(time.Since(t0).Seconds())
	if owner != "" {
		// Another node adopted the match (this one was taken for dead):
		// its players go there.
		f.log.Warn("fleet: match adopted elsewhere, moving its players", "match", id, "host", owner)
		go f.fence(id, owner)
	}
}

// fence ends match id here, whose host is now node owner.
func (f *fleet) fence(id, owner string) {
	n, ok := f.node(owner)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if !ok || f.s.lobby.Freeze(ctx, id) == nil {
		return
	}
	f.mu.Lock()
	f.ended[id] = time.Now()
	delete(f.cps, id)
	f.mu.Unlock()
	f.s.lobby.MoveAway(id, n.URL)
}

// hostOf returns the node hosting match id ("" if none), and its record if
// it is live and refreshed its record lately (a node killed a moment ago
// has a record for up to nodeTTL more, but misses its refreshes).
func (f *fleet) hostOf(ctx context.Context, id string) (string, *NodeInfo, error) {
	host, err := f.rdb.HGet(ctx, fleetKey("m", id), "node").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	pipe := f.rdb.Pipeline()
	get := pipe.Get(ctx, fleetKey("node", host))
	ttl := pipe.PTTL(ctx, fleetKey("node", host))
	if _, err := pipe.Exec(ctx); errors.Is(err, redis.Nil) {
		return host, nil, nil
	} else if err != nil {
		return "", nil, err
	}
	var n NodeInfo
	if json.Unmarshal([]byte(get.Val()), &n) != nil || ttl.Val() < nodeTTL-freshFor {
		return host, nil, nil
	}
	return host, &n, nil
}

// --- drain ---

// drainProbe bounds the check that Redis answers before a drain.
const drainProbe = 300 * time.Millisecond

// handOff moves every match of this node to the other nodes and sends
// every player there. It reports false if there is no other node (the
// node then shuts down as a single one).
func (f *fleet) handOff(ctx context.Context) bool {
	// Redis out of reach (or just gone): shut down as a single node, with
	// the shutdown's time left for the matches' results.
	if f.healthyFor() == 0 {
		return false
	}
	probe, cancel := context.WithTimeout(ctx, drainProbe)
	err := f.rdb.Ping(probe).Err()
	cancel()
	if err != nil {
		return false
	}
	stop := context.AfterFunc(ctx, f.cancelBase)
	defer stop()
	f.draining.Store(true)
	f.refresh()
	if _, err := f.readNodes(); err != nil || f.healthyFor() == 0 {
		f.draining.Store(false)
		return false
	}
	targets := f.others()
	if len(targets) == 0 {
		f.draining.Store(false)
		return false
	}
	f.releaseLease()
	t0 := time.Now()
	f.s.lobby.Drain(targets[0].URL)
	load := make([]int, len(targets))
	for i, n := range targets {
		load[i] = n.Players
	}
	ids := f.s.lobby.MatchIDs()
	var wg sync.WaitGroup
	for _, id := range ids {
		data := f.s.lobby.Freeze(ctx, id)
		if data == nil {
			continue
		}
		var cp match.Checkpoint
		seated := 0
		if match.DecodeCheckpoint(data, &cp) == nil {
			for _, s := range cp.Seats {
				if s.PlayerID != "" {
					seated++
				}
			}
		}
		k := 0
		for i := range targets {
			if load[i] < load[k] {
				k = i
			}
		}
		load[k] += seated
		to := targets[k]
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.mu.Lock()
			f.ended[id] = time.Now() // no more checkpoints from here
			delete(f.cps, id)
			delete(f.free, id)
			f.mu.Unlock()
			octx, cancel := f.ctx()
			defer cancel()
			keys := []string{fleetKey("m", id), fleetKey("cp", id), fleetKey("nm", f.id), fleetKey("nm", to.ID), fleetKey("adopt", id), fleetKey("free", cp.Mode)}
			ok, err := handoffScript.Run(octx, f.rdb, keys, f.id, to.ID, data, id).Int()
			if err == nil && ok == 1 {
				err = f.publish(octx, to.ID, fleetMsg{T: "adopt", Match: id, From: f.id})
			}
			if err != nil || ok != 1 {
				f.log.Error("fleet: hand-off failed, the match ends here", "match", id, "to", to.ID, "err", err)
				f.s.lobby.Thaw(id)
				return
			}
			f.s.lobby.MoveAway(id, to.URL)
			f.s.metrics.handedOff.Inc()
		}()
	}
	wg.Wait()
	f.log.Info("fleet: drained", "matches", len(ids), "took", time.Since(t0))
	return true
}

// --- matchmaking ---

// releaseLease gives up the matchmaker lease, if this node holds it:
// another node takes the matchmaking at once.
func (f *fleet) releaseLease() {
	ctx, cancel := f.ctx()
	defer cancel()
	_ = releaseScript.Run(ctx, f.rdb, []string{fleetKey("mm")}, f.id).Err()
}

func (f *fleet) matchmakeLoop() { f.every(matchmakeEvery, f.matchmake) }

// matchmake runs one round of the fleet's matchmaking, if this node holds
// the lease.
func (f *fleet) matchmake() {
	if f.draining.Load() || f.healthyFor() == 0 {
		return
	}
	ctx, cancel := f.ctx()
	defer cancel()
	ok, err := leaseScript.Run(ctx, f.rdb, []string{fleetKey("mm")}, f.id, mmLease.Milliseconds()).Int()
	if err != nil || ok != 1 {
		return
	}
	modes := make([]string, 0, len(f.s.modes))
	for name := range f.s.modes {
		modes = append(modes, name)
	}
	sort.Strings(modes)
	// A node's load is its players as its record says, plus the players
	// sent to it since that record was written (records are a second old).
	now := time.Now()
	load := map[string]int{}
	for _, n := range f.Nodes() {
		if !n.Draining && !n.Full {
			load[n.ID] = n.Players
		}
	}
	for i := 0; i < len(f.sent); i++ {
		if s := f.sent[i]; now.Sub(s.at) > 2*nodeRefresh {
			f.sent = append(f.sent[:i], f.sent[i+1:]...)
			i--
		} else if _, ok := load[s.node]; ok {
			load[s.node] += s.n
		}
	}
	before := maps.Clone(load)
	for _, mode := range modes {
		if err := f.matchMode(ctx, mode, load); err != nil {
			f.warn("fleet: matchmaking", err)
		}
	}
	for id, n := range load {
		if d := n - before[id]; d > 0 {
			f.sent = append(f.sent, sentLoad{node: id, n: d, at: now})
		}
	}
}

// sentLoad is players the matchmaker sent to a node lately.
type sentLoad struct {
	node string
	n    int
	at   time.Time
}

// queued is a ticket waiting in a fleet queue.
type queued struct {
	t  match.Ticket
	at time.Time
}

func (f *fleet) matchMode(ctx context.Context, mode string, load map[string]int) error {
	zs, err := f.rdb.ZRangeWithScores(ctx, fleetKey("q", mode), 0, 999).Result()
	if err != nil || len(zs) == 0 {
		return err
	}
	ids := make([]string, len(zs))
	for i, z := range zs {
		ids[i], _ = z.Member.(string)
	}
	vals, err := f.rdb.HMGet(ctx, fleetKey("qt", mode), ids...).Result()
	if err != nil {
		return err
	}
	var q []queued
	for i, v := range vals {
		s, ok := v.(string)
		var t match.Ticket
		if !ok || json.Unmarshal([]byte(s), &t) != nil || t.ID != ids[i] {
			f.rdb.ZRem(ctx, fleetKey("q", mode), ids[i])
			continue
		}
		q = append(q, queued{t: t, at: time.UnixMilli(int64(zs[i].Score))})
	}
	// Backfill: free seats of running matches, fullest first.
	free, err := f.rdb.HGetAll(ctx, fleetKey("free", mode)).Result()
	if err != nil {
		return err
	}
	type slot struct {
		id   string
		free int
	}
	var slots []slot
	for id, v := range free {
		if n, _ := strconv.Atoi(v); n > 0 {
			slots = append(slots, slot{id, n})
		}
	}
	sort.Slice(slots, func(i, j int) bool {
		if slots[i].free != slots[j].free {
			return slots[i].free < slots[j].free
		}
		return slots[i].id < slots[j].id
	})
	for _, sl := range slots {
		if len(q) == 0 {
			break
		}
		host, n, err := f.hostOf(ctx, sl.id)
		if err != nil {
			return err
		}
		if n == nil || n.Draining || n.Full {
			if host == "" {
				f.rdb.HDel(ctx, fleetKey("free", mode), sl.id)
			}
			continue
		}
		k := min(sl.free, len(q))
		claimed, err := f.claim(ctx, mode, sl.id, q[:k])
		if err != nil {
			return err
		}
		q = q[k:]
		if len(claimed) > 0 {
			load[host] += len(claimed)
			if err := f.publish(ctx, host, fleetMsg{T: "fill", Match: sl.id, Mode: mode, Tickets: claimed}); err != nil {
				return err
			}
		}
	}
	// New matches: full ones, then one with whoever waited FillTimeout.
	maxP := f.s.modes[mode].Spec().MaxPlayers
	for len(q) > 0 {
		k := min(maxP, len(q))
		if k < maxP && time.Since(q[0].at) < f.s.opts.FillTimeout {
			break
		}
		host := ""
		for id, n := range load {
			if host == "" || n < load[host] || (n == load[host] && id < host) {
				host = id
			}
		}
		if host == "" {
			return nil
		}
		id := newMatchID()
		claimed, err := f.claim(ctx, mode, "", q[:k])
		if err != nil {
			return err
		}
		q = q[k:]
		if len(claimed) == 0 {
			continue
		}
		load[host] += len(claimed)
		if err := f.publish(ctx, host, fleetMsg{T: "host", Match: id, Mode: mode, Tickets: claimed}); err != nil {
			return err
		}
	}
	return nil
}

// newMatchID returns a fleet-wide unique match ID.
func newMatchID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "m-" + hex.EncodeToString(b[:])
}

// claim takes the tickets out of mode's queue, atomically; it returns
// those it took (a player may have left meanwhile). For a backfill of
// match id, its free seats go down by as many.
func (f *fleet) claim(ctx context.Context, mode, id string, q []queued) ([]match.Ticket, error) {
	args := []any{id}
	for _, e := range q {
		args = append(args, e.t.ID)
	}
	keys := []string{fleetKey("q", mode), fleetKey("qt", mode), fleetKey("free", mode)}
	got, err := claimScript.Run(ctx, f.rdb, keys, args...).StringSlice()
	if err != nil {
		return nil, err
	}
	var out []match.Ticket
	for _, e := range q {
		for _, g := range got {
			if g == e.t.ID {
				out = append(out, e.t)
				break
			}
		}
	}
	return out, nil
}

// --- messages between nodes ---

func (f *fleet) publish(ctx context.Context, node string, m fleetMsg) error {
	b, _ := json.Marshal(m)
	ch := fleetKey("to", node)
	if node == "" {
		ch = fleetKey("all")
	}
	return f.rdb.Publish(ctx, ch, b).Err()
}

// subscribeLoop receives the messages to this node and to all nodes.
func (f *fleet) subscribeLoop() {
	for {
		ctx, cancel := context.WithCancel(context.Background())
		ps := f.rdb.Subscribe(ctx, fleetKey("to", f.id), fleetKey("all"))
		go func() {
			// A blocked read ends only when its connection closes.
			select {
			case <-f.quit:
			case <-ctx.Done():
			}
			cancel()
			_ = ps.Close()
		}()
		for {
			msg, err := ps.ReceiveMessage(ctx)
			if err != nil {
				break
			}
			var m fleetMsg
			if json.Unmarshal([]byte(msg.Payload), &m) != nil {
				continue
			}
			f.handle(m)
		}
		_ = ps.Close()
		cancel()
		select {
		case <-f.quit:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (f *fleet) handle(m fleetMsg) {
	switch m.T {
	case "host":
		seated := f.s.lobby.Host(m.Match, m.Mode, m.Tickets)
		f.placed(m.Mode, m.Tickets, seated)
	case "fill":
		seated := f.s.lobby.Fill(m.Match, m.Tickets)
		f.placed(m.Mode, m.Tickets, seated)
	case "moved":
		f.s.lobby.MoveTo(m.Player, m.URL)
	case "kick":
		if m.From != f.id {
			f.s.lobby.Kick(m.Player, netcode.CloseReplaced)
		}
	case "adopt":
		go f.adoptHandedOff(m.Match)
	}
}

// placed sends the players seated here who queued on another node to this
// node, and puts the tickets not seated back in the queue.
func (f *fleet) placed(mode string, tickets, seated []match.Ticket) {
	ctx, cancel := f.ctx()
	defer cancel()
	in := map[string]bool{}
	for _, t := range seated {
		in[t.ID] = true
		if t.Node != f.id {
			_ = f.publish(ctx, t.Node, fleetMsg{T: "moved", Player: t.ID, URL: f.url})
		}
	}
	for _, t := range tickets {
		if !in[t.ID] {
			_ = f.enqueue(ctx, mode, t, time.Now())
		}
	}
}

// adoptHandedOff runs a match a draining node handed to this one.
func (f *fleet) adoptHandedOff(id string) {
	ctx, cancel := f.ctx()
	defer cancel()
	host, data := "", ""
	pipe := f.rdb.Pipeline()
	h := pipe.HGet(ctx, fleetKey("m", id), "node")
	c := pipe.Get(ctx, fleetKey("cp", id))
	if _, err := pipe.Exec(ctx); err != nil {
		f.warn("fleet: reading a handed-off match", err)
		return
	}
	host, data = h.Val(), c.Val()
	if host != f.id {
		return
	}
	f.resume(id, []byte(data), "handed off")
}

// kickElsewhere tells the other nodes that player id connected here: a
// connection they hold for the player is replaced (4003).
func (f *fleet) kickElsewhere(id string) {
	ctx, cancel := f.ctx()
	defer cancel()
	if err := f.publish(ctx, "", fleetMsg{T: "kick", Player: id, From: f.id}); err != nil {
		f.warn("fleet: publishing a replacement", err)
	}
}

// --- Lua scripts ---

// checkpointScript writes a match's checkpoint and host record, unless
// another node hosts the match now (it returns that node's id).
// KEYS: m, cp, nm:self, free:mode. ARGV: self, data, mode, tick, free, id.
var checkpointScript = redis.NewScript(`
local owner = redis.call('HGET', KEYS[1], 'node')
if owner and owner ~= ARGV[1] then return owner end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'mode', ARGV[3], 'tick', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[6])
if tonumber(ARGV[5]) > 0 then
  redis.call('HSET', KEYS[4], ARGV[6], ARGV[5])
else
  redis.call('HDEL', KEYS[4], ARGV[6])
end
return ''
`)

// endScript forgets an ended match, if this node hosts it.
// KEYS: m, cp, nm:self, free:mode. ARGV: self, id.
var endScript = redis.NewScript(`
local owner = redis.call('HGET', KEYS[1], 'node')
redis.call('SREM', KEYS[3], ARGV[2])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[4], ARGV[2])
return 1
`)

// adoptScript moves a dead node's match to this node under the adoption
// lease and returns its checkpoint; nil if the node is alive after all,
// the match is no longer the dead node's, or the lease is taken.
// KEYS: m, cp, nm:dead, nm:self, adopt, node:dead. ARGV: self, dead, id, lease ms.
var adoptScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[6]) == 1 then return false end
local owner = redis.call('HGET', KEYS[1], 'node')
if owner ~= ARGV[2] then
  redis.call('SREM', KEYS[3], ARGV[3])
  return false
end
local cp = redis.call('GET', KEYS[2])
if not cp then
  redis.call('SREM', KEYS[3], ARGV[3])
  redis.call('DEL', KEYS[1])
  return false
end
if not redis.call('SET', KEYS[5], ARGV[1], 'NX', 'PX', ARGV[4]) then return false end
redis.call('HSET', KEYS[1], 'node', ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
return cp
`)

// handoffScript gives a match of this node, with its final checkpoint, to
// another node. KEYS: m, cp, nm:self, nm:to, adopt, free:mode.
// ARGV: self, to, data, id.
var handoffScript = redis.NewScript(`
local owner = redis.call('HGET', KEYS[1], 'node')
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[1], 'node', ARGV[2])
redis.call('SREM', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('DEL', KEYS[5])
redis.call('HDEL', KEYS[6], ARGV[4])
return 1
`)

// forgetNodeScript drops a dead node with no matches left, unless it
// refreshed its record meanwhile. KEYS: node, nodes, nm. ARGV: id.
var forgetNodeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SCARD', KEYS[3]) > 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`)

// leaseScript takes or renews the lease at KEYS[1] for ARGV[1], for
// ARGV[2] ms; 1 if this node holds it.
var leaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// releaseScript gives up the lease at KEYS[1] if ARGV[1] holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// claimScript takes players out of a queue: KEYS: q, qt, free.
// ARGV: match id for a backfill ("" for a new match), player ids. It
// returns the ids it took.
var claimScript = redis.NewScript(`
local took = {}
for i = 2, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('HDEL', KEYS[2], ARGV[i])
    took[#took + 1] = ARGV[i]
  end
end
if ARGV[1] ~= '' and #took > 0 then
  local left = redis.call('HINCRBY', KEYS[3], ARGV[1], -#took)
  if left <= 0 then redis.call('HDEL', KEYS[3], ARGV[1]) end
end
return took
`)
