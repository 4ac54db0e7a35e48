package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file holds the fleet itself: its Redis keys and timings, the fleet
// type with its start and stop, and the node records (the heartbeat, the
// live nodes, the host of a match). The rest of the fleet is split by job:
// fleet_queue.go (the fleet-wide queue and the matchmaker),
// fleet_adopt.go (dead nodes and adoption), fleet_handoff.go (drain and
// hand-off), fleet_writes.go (checkpoints and the writes to Redis) and
// fleet_msgs.go (messages between nodes).

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
