package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"skirmish/client"
	"skirmish/netcode"
)

// Config is what a run does; main fills it from the flags.
type Config struct {
	// URL is the server's base URL, or a comma-separated list of the base
	// URLs of a fleet's nodes: bot i creates its session and makes its
	// first connection on node i mod n, and falls back to the others
	// (round robin) when its connection drops.
	URL      string
	N        int
	Duration time.Duration
	Mode     string
	Behavior string
	Ramp     time.Duration
	Seed     uint64
	// Chaos is the number of connections cut per bot per minute: each
	// minute Chaos×N connections of random playing bots are cut (as a
	// network failure would, without a close frame), evenly spread over the
	// minute, and the bots reconnect. 0: none.
	Chaos float64
	// DebugURL is the server's -debug-addr (net/http/pprof) as a base URL;
	// soak mode forces a GC there before each measure of the heap. Empty:
	// no forced GC.
	DebugURL string
	// Soak checks the server and the bots after the run (see soak.go).
	Soak bool
	// SourceAddrs is an IPv4 range (CIDR) that spreads the bots over source
	// addresses when the server is on the loopback: bot i connects from
	// the range's i-th address (see Config.sourceAddr), so that a server's
	// per-IP limits see each bot as a client of its own. "off" or empty:
	// the system's choice.
	SourceAddrs string
	// ControlInterval is how often each bot updates its control; default
	// 100 ms.
	ControlInterval time.Duration
	// Progress receives a progress line every second; nil: none.
	Progress io.Writer
	// Logger logs errors; nil: slog.Default().
	Logger *slog.Logger
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	switch {
	case len(c.Nodes()) == 0:
		return errors.New("-url is empty")
	case c.Soak && len(c.Nodes()) > 1:
		return errors.New("-soak checks one server: give -url one node")
	case c.N < 1:
		return fmt.Errorf("-n %d: need at least one bot", c.N)
	case c.Duration <= 0:
		return fmt.Errorf("-duration %v: must be positive", c.Duration)
	case c.Mode == "":
		return errors.New("-mode is empty")
	case c.Ramp < 0:
		return fmt.Errorf("-ramp %v: must not be negative", c.Ramp)
	case c.Chaos < 0 || math.IsNaN(c.Chaos) || math.IsInf(c.Chaos, 0):
		return fmt.Errorf("-chaos %v: must be 0 or more", c.Chaos)
	}
	for _, n := range c.Nodes() {
		u, err := url.Parse(n)
		if err != nil {
			return fmt.Errorf("-url: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-url %q: not an http or https base URL", n)
		}
	}
	if _, err := parseSourceAddrs(c.SourceAddrs); err != nil {
		return err
	}
	_, err := NewBehavior(c.Behavior, rand.New(rand.NewPCG(0, 0)))
	return err
}

// Nodes returns the base URLs of -url's nodes, in order.
func (c *Config) Nodes() []string {
	var nodes []string
	for n := range strings.SplitSeq(c.URL, ",") {
		if n = strings.TrimSpace(n); n != "" {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// ErrNoBots is returned by run when not a single bot could connect.
var ErrNoBots = errors.New("no bot could connect")

// Timings of the end of a run.
const (
	// leaveTimeout bounds how long a bot, at the end of the run, waits for
	// a reconnect under way to finish and then for its leave to be read by
	// the server, before it closes anyway.
	leaveTimeout = 3 * time.Second
)

// bot is one simulated player.
type bot struct {
	id     int
	r      *runner
	client atomic.Pointer[client.Client] // set once Dial succeeds
	self   atomic.Uint32                 // own entity of the current match
	hits   atomic.Int64
	// hitType is the type of the mode's event named "hit" (its A: the
	// shooter), +1; 0: the mode declares none.
	hitType atomic.Int32
	early   atomic.Bool // the client gave up its connection before the end of the run
	// matchedAt is when the current match's matched message arrived (unix
	// ns); staleAcks counts acks of inputs sent before it (see onAck).
	matchedAt atomic.Int64
	staleAcks atomic.Int64
	leaving   atomic.Bool   // the run is over: the bot is leaving
	pong      chan struct{} // a pong arrived (see leave)
	ready     atomic.Bool   // the control loop may update the bot (the fields under ctl are set)

	ctl        sync.Mutex // guards the fields below, the control loop's
	beh        Behavior
	slot       int         // the control loop's slot of the bot
	view       client.View // reused by every update
	wasPlaying bool        // counted in runner.playing
	stopped    bool        // the bot is done: no more updates

	mu     sync.Mutex // guards the fields below
	acks   []time.Duration
	acked  int             // acks[:acked] were seen by the sampler
	recons []time.Duration // outage of each reconnect
	match  string          // id of the last matched message's match
	queues []queueSample   // queue → matched of each new match
	migs   []migration     // each seat resumed on another node
}

// queueSample is the time from a queue to the matched of the new match.
type queueSample struct {
	match string
	d     time.Duration
}

// migration is a seat resumed on another node: when, after how long since
// the client lost its node, and whether that was a drain (moved) rather
// than a drop (the node died).
type migration struct {
	at    time.Time
	d     time.Duration
	drain bool
}

// runner is the state shared by the bots of one run.
type runner struct {
	cfg   Config
	log   *slog.Logger
	bots  []*bot
	start time.Time

	mu        sync.Mutex
	matchIDs  map[string]struct{}
	errs      int
	errSample []string
	// dialRefused counts dials refused with 503 (retried); the clients
	// count the queue requests refused as server_full.
	dialRefused int
	closeCodes  map[uint16]int // of bots that gave up; 0: no close frame
	series      []Sample

	playing   atomic.Int64
	tickRate  atomic.Int64 // of the last match a bot was seated in
	chaosCuts atomic.Int64
	// chaosCutsPlaying counts the cuts of bots seated in a match.
	chaosCutsPlaying atomic.Int64
}

// run starts cfg.N bots over cfg.Ramp, lets them play until cfg.Duration has
// elapsed since the start or ctx is cancelled, makes them leave and returns
// the report. Its error is ErrNoBots if no bot connected, or a
// configuration error.
func run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if cfg.ControlInterval <= 0 {
		cfg.ControlInterval = 100 * time.Millisecond
	}
	r := &runner{cfg: cfg, log: cfg.Logger, matchIDs: map[string]struct{}{}, closeCodes: map[uint16]int{}}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.start = time.Now()
	cpu0 := processCPU()
	ctx, cancel := context.WithDeadline(ctx, r.start.Add(cfg.Duration))
	defer cancel()

	var wg sync.WaitGroup
	for i := range cfg.N {
		b := &bot{id: i, r: r, pong: make(chan struct{}, 1)}
		r.bots = append(r.bots, b)
		delay := time.Duration(0)
		if cfg.N > 1 {
			delay = cfg.Ramp * time.Duration(i) / time.Duration(cfg.N)
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		wg.Go(func() { b.run(ctx, r.start.Add(delay), rng) })
	}
	var bg sync.WaitGroup
	bg.Go(func() { r.sampleLoop(ctx) })
	bg.Go(func() { r.controlLoop(ctx) })
	bg.Go(func() { r.chaos(ctx, rand.New(rand.NewPCG(cfg.Seed, math.MaxUint64))) })
	wg.Wait()
	cancel() // every bot is done, even if early: so is the run
	bg.Wait()
	rep := r.report(time.Since(r.start), processCPU()-cpu0)
	if rep.Connected == 0 {
		return rep, ErrNoBots
	}
	return rep, nil
}

// report sums the bots' counters; every bot has finished. cpu is the
// process's CPU time over the run.
func (r *runner) report(elapsed, cpu time.Duration) Report {
	t := totals{chaosCuts: int(r.chaosCuts.Load()), chaosCutsPlaying: int(r.chaosCutsPlaying.Load()), tickRate: int(r.tickRate.Load()), cpu: cpu}
	var acks []time.Duration
	for _, b := range r.bots {
		b.mu.Lock() // a client's read goroutine may outlive its bot
		acks = append(acks, b.acks...)
		t.recons = append(t.recons, b.recons...)
		t.queues = append(t.queues, b.queues...)
		t.migs = append(t.migs, b.migs...)
		b.mu.Unlock()
		t.hits += int(b.hits.Load())
		t.staleAcks += int(b.staleAcks.Load())
		c := b.client.Load()
		if c == nil {
			continue
		}
		t.connected++
		if b.early.Load() {
			t.gaveUp++
		}
		s := c.Stats()
		t.snapshots += s.Snapshots
		t.inputsSent += s.InputsSent
		t.rejected += s.Rejected
		t.refused += s.Refused
		t.protocolErrors += s.ProtocolErrors
		t.bytesDown += s.BytesDown
		t.bytesUp += s.BytesUp
		t.disconnects += s.Disconnects
		t.reconnects += s.Reconnects
		t.resumed += s.Resumed
		t.moved += s.Moved
		t.migrated += s.Migrated
		t.inputsLost += s.InputsLost
		t.lateSends += s.LateSends
		t.drains += s.Drains
		t.maxPredError = max(t.maxPredError, s.MaxPredictionError)
		t.maxCorrection = max(t.maxCorrection, s.MaxCorrection)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.refused += r.dialRefused
	rep := buildReport(r.cfg, elapsed, t, len(r.matchIDs), acks, r.errs, r.errSample)
	for code, n := range r.closeCodes {
		rep.CloseCodes[strconv.Itoa(int(code))] = n
	}
	rep.StartedAt = r.start.UTC().Format(time.RFC3339)
	rep.Series = append(rep.Series, r.series...)
	return rep
}

// refuse records a dial the server refused for want of room (503).
func (r *runner) refuse() {
	r.mu.Lock()
	r.dialRefused++
	r.mu.Unlock()
}

// fail records an error of bot id.
func (r *runner) fail(id int, err error) {
	msg := fmt.Sprintf("bot-%d: %v", id, err)
	r.mu.Lock()
	r.errs++
	sample := len(r.errSample) < maxErrorSamples
	if sample {
		r.errSample = append(r.errSample, msg)
	}
	r.mu.Unlock()
	if sample { // don't flood the log when hundreds of bots fail alike
		r.log.Error("bot error", "bot", id, "err", err)
	}
}

func (r *runner) seated(matchID string) {
	r.mu.Lock()
	r.matchIDs[matchID] = struct{}{}
	r.mu.Unlock()
}

// chaosInterval is the time between two connection cuts of a run of n bots
// at chaos cuts per bot per minute; 0: no cuts.
func chaosInterval(chaos float64, n int) time.Duration {
	perMinute := chaos * float64(n)
	if perMinute <= 0 {
		return 0
	}
	return max(time.Duration(float64(time.Minute)/perMinute), time.Millisecond)
}

// chaos cuts a random bot's connection every chaosInterval until ctx ends.
// The first cut comes one interval after the start, so a run of d cuts
// about d/interval connections whatever its length.
func (r *runner) chaos(ctx context.Context, rng *rand.Rand) {
	every := chaosInterval(r.cfg.Chaos, r.cfg.N)
	if every == 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ctx.Err() != nil {
				return
			}
			if c, playing := r.victim(rng); c != nil {
				c.Drop()
				r.chaosCuts.Add(1)
				if playing {
					r.chaosCutsPlaying.Add(1)
				}
			}
		}
	}
}

// victim picks a random bot to cut: one that is playing (its seat is held
// while it reconnects, so the cut tests a resume), or failing that one that
// is connected; nil if none is. playing tells which.
func (r *runner) victim(rng *rand.Rand) (c *client.Client, playing bool) {
	var fallback *client.Client
	off := rng.IntN(len(r.bots))
	for i := range r.bots {
		c := r.bots[(off+i)%len(r.bots)].client.Load()
		if c == nil {
			continue
		}
		switch c.Phase() {
		case client.PhasePlaying:
			return c, true
		case client.PhaseLobby, client.PhaseQueued:
			if fallback == nil {
				fallback = c
			}
		}
	}
	return fallback, false
}

// run is one bot's life: wait for its start, dial, queue, play (through
// reconnects) until ctx ends, then leave; or until the client gives up.
func (b *bot) run(ctx context.Context, at time.Time, rng *rand.Rand) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(at)):
	}
	cfg := &b.r.cfg
	nodes := cfg.Nodes() // validated by run
	var c *client.Client
	// A server that refuses for want of room (503) is asked again after a
	// backoff, as a player's client would: that is no error.
	for wait := time.Second; ; wait = min(2*wait, 10*time.Second) {
		var err error
		c, err = client.Dial(ctx, nodes[b.id%len(nodes)], client.Options{
			Name:        fmt.Sprintf("bot-%d", b.id),
			Nodes:       nodes,
			Requeue:     true,
			Reconnect:   true,
			OnAck:       b.onAck,
			OnMessage:   b.onMessage,
			OnReconnect: b.onReconnect,
			OnQueued:    b.onQueued,
			OnMigrated:  b.onMigrated,
			LocalAddr:   cfg.sourceAddr(b.id), // reconnects keep it
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return // a dial cut short by the end of the run
		}
		if !errors.Is(err, client.ErrUnavailable) {
			b.r.fail(b.id, fmt.Errorf("dial: %w", err))
			return
		}
		b.r.refuse()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(float64(wait) * (0.8 + 0.4*rng.Float64()))):
		}
	}
	b.client.Store(c)
	defer c.Close()
	c.Queue(cfg.Mode)

	beh, _ := NewBehavior(cfg.Behavior, rng) // validated by run
	b.ctl.Lock()
	b.beh, b.slot = beh, rng.IntN(controlSlots) // spread the bots' control updates over the interval
	b.ctl.Unlock()
	b.ready.Store(true)
	defer b.stopControl()
	select {
	case <-ctx.Done():
		b.leave(c)
	case <-c.Done():
		b.closedEarly(ctx, c)
	}
}

// controlSlots is the number of slots of the control interval: the control
// loop wakes once a slot and updates the bots of that slot.
const controlSlots = 10

// controlLoop updates the control of every ready bot once per
// ControlInterval, from one goroutine: each wakeup (every 1/controlSlots of
// the interval) updates the bots of one slot. One goroutine and one timer
// for all the bots costs far less than a ticker per bot.
func (r *runner) controlLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.ControlInterval / controlSlots)
	defer t.Stop()
	for slot := 0; ; slot = (slot + 1) % controlSlots {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, b := range r.bots {
				if b.ready.Load() {
					b.control(now, slot)
				}
			}
		}
	}
}

// control updates the bot's control from its client's view, if the bot is
// in slot.
func (b *bot) control(now time.Time, slot int) {
	b.ctl.Lock()
	defer b.ctl.Unlock()
	if b.slot != slot || b.stopped {
		return
	}
	c := b.client.Load()
	c.ViewInto(&b.view)
	playing := b.view.Phase == client.PhasePlaying
	if playing != b.wasPlaying {
		if playing {
			b.r.playing.Add(1)
		} else {
			b.r.playing.Add(-1)
		}
		b.wasPlaying = playing
	}
	c.SetControl(b.beh.Control(now, &b.view))
}

// stopControl takes the bot out of the control loop.
func (b *bot) stopControl() {
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.stopped = true
	if b.wasPlaying {
		b.r.playing.Add(-1)
		b.wasPlaying = false
	}
}

// leave ends the bot's session as a polite player does: it leaves its
// match or queue, so that the server frees its seat at once rather than
// holding it for the reconnect grace (which would keep the match and its
// goroutine alive after the run), and closes. A reconnect under way is
// let finish first. The server reads a connection's messages in order, so
// the pong of a ping sent after the leave tells that the leave was read.
func (b *bot) leave(c *client.Client) {
	b.leaving.Store(true)
	deadline := time.NewTimer(leaveTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for c.Phase() == client.PhaseReconnecting {
		select {
		case <-c.Done():
			return
		case <-deadline.C:
			return
		case <-poll.C:
		}
	}
	if c.Phase() != client.PhaseLobby { // in the lobby, leave is an error
		c.Leave()
	}
	select {
	case <-b.pong:
	default:
	}
	c.Ping()
	select {
	case <-b.pong:
	case <-c.Done():
	case <-deadline.C:
	}
}

// closedEarly records a client that gave up its connection (it does not
// reconnect after some close codes) before the end of the run.
func (b *bot) closedEarly(ctx context.Context, c *client.Client) {
	if ctx.Err() != nil {
		return
	}
	b.early.Store(true)
	code := c.Stats().CloseCode
	b.r.mu.Lock()
	b.r.closeCodes[code]++
	first := b.r.closeCodes[code] == 1
	b.r.mu.Unlock()
	if first { // once per close code: hundreds of bots usually go alike
		b.r.log.Warn("bot gave up its connection", "bot", b.id, "close_code", code)
	}
}

// onAck runs on the client's read goroutine with the client's lock held: it
// must not call the client.
//
// An input sent before the current match was seated cannot be one of its
// inputs: such a sample would measure the time between matches, not
// latency, so it is dropped and counted apart (stale_acks). So are the
// inputs resent after a resume (the resume's matched message sets
// matchedAt too): their ack time holds the outage, which reconnect_ms
// measures.
func (b *bot) onAck(d time.Duration) {
	if time.Now().Add(-d).UnixNano() < b.matchedAt.Load() {
		b.staleAcks.Add(1)
		return
	}
	b.mu.Lock()
	b.acks = append(b.acks, d)
	b.mu.Unlock()
}

// onReconnect runs with the client's lock held: it must not call the
// client.
func (b *bot) onReconnect(d time.Duration, _ bool) {
	b.mu.Lock()
	b.recons = append(b.recons, d)
	b.mu.Unlock()
}

// onQueued runs on the client's read goroutine, with the client's lock
// held, after onMessage saw the matched message: it must not call the
// client.
func (b *bot) onQueued(d time.Duration) {
	b.mu.Lock()
	b.queues = append(b.queues, queueSample{match: b.match, d: d})
	b.mu.Unlock()
}

// onMigrated runs with the client's lock held: it must not call the
// client.
func (b *bot) onMigrated(d time.Duration, moved bool) {
	b.mu.Lock()
	b.migs = append(b.migs, migration{at: time.Now(), d: d, drain: moved})
	b.mu.Unlock()
}

// onMessage runs on the client's read goroutine.
func (b *bot) onMessage(m *netcode.ServerMsg) {
	switch m.Type {
	case netcode.MsgMatched:
		b.matchedAt.Store(time.Now().UnixNano())
		b.self.Store(m.Matched.Entity)
		b.hitType.Store(0)
		if ev, ok := m.Matched.Info.Event("hit"); ok {
			b.hitType.Store(int32(ev.Type) + 1)
		}
		b.r.tickRate.Store(int64(m.Matched.TickRate))
		b.r.seated(m.Matched.MatchID)
		b.mu.Lock()
		b.match = m.Matched.MatchID
		b.mu.Unlock()
	case netcode.MsgSnapshot:
		self, hit := b.self.Load(), b.hitType.Load()
		for _, e := range m.Snapshot.Events {
			if int32(e.Type)+1 == hit && e.A == self {
				b.hits.Add(1)
			}
		}
	case netcode.MsgPong:
		select {
		case b.pong <- struct{}{}:
		default:
		}
	case netcode.MsgError:
		switch {
		case m.ErrCode == netcode.ErrNotQueued && b.leaving.Load():
			return // its match ended just as it left: nothing to leave
		case m.ErrCode == netcode.ErrServerFull:
			return // counted by the client (Stats.Refused), which queues again later
		case m.ErrCode == netcode.ErrSeatExpired || m.ErrCode == netcode.ErrMatchGone:
			// A cut as the match ended, or longer than the grace: the seat
			// is gone and the client queues again. It shows in the report
			// as a reconnect that did not resume; it is no server error.
			return
		}
		b.r.fail(b.id, fmt.Errorf("server error %d %s", m.ErrCode, m.ErrText))
	}
}

// newAcks returns the ack samples recorded since its last call.
func (b *bot) newAcks(dst []time.Duration) []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	dst = append(dst, b.acks[b.acked:]...)
	b.acked = len(b.acks)
	return dst
}

// Sample is one second of a run, as the sampler saw it at T.
type Sample struct {
	T float64 `json:"t"` // seconds since the start
	// AckP50MS and AckP99MS are of the acks of this second; 0 when
	// Acks is 0.
	AckP50MS float64 `json:"ack_p50_ms"`
	AckP99MS float64 `json:"ack_p99_ms"`
	Acks     int     `json:"acks"`
	// DownBytesPerBot and UpBytesPerBot are the bytes of this second per
	// connected bot.
	DownBytesPerBot float64 `json:"down_bytes_per_bot_s"`
	UpBytesPerBot   float64 `json:"up_bytes_per_bot_s"`
	SnapshotsPerBot float64 `json:"snapshots_per_bot_s"`
	// Connected bots have a live connection; Reconnecting ones are getting
	// one back; Playing ones are seated in a match.
	Connected    int `json:"connected"`
	Reconnecting int `json:"reconnecting"`
	Playing      int `json:"playing"`
	// Disconnects, Reconnects, Resumed, Moved and Migrated are running
	// totals.
	Disconnects int `json:"disconnects"`
	Reconnects  int `json:"reconnects"`
	Resumed     int `json:"resumed"`
	Moved       int `json:"moved"`
	Migrated    int `json:"migrated"`
	Matches     int `json:"matches"`
	Errors      int `json:"errors"`
}

// sampleLoop records a Sample every second, and prints it as a progress
// line if cfg.Progress is set, until ctx ends.
func (r *runner) sampleLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last counters
	last.at = r.start
	var acks []time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if ctx.Err() != nil { // the bots are leaving: nothing to tell
				return
			}
			var s Sample
			s, last, acks = r.sample(now, last, acks[:0])
			r.mu.Lock()
			r.series = append(r.series, s)
			r.mu.Unlock()
			if r.cfg.Progress != nil {
				fmt.Fprintf(r.cfg.Progress, "t=%.0fs bots=%d playing=%d matches=%d snaps/s/bot=%.1f down=%.1fKB/s/bot up=%.2fKB/s/bot ack p50=%.1fms p99=%.1fms drops=%d resumed=%d moved=%d migrated=%d rejected=%d errors=%d\n",
					s.T, s.Connected, s.Playing, s.Matches, s.SnapshotsPerBot,
					s.DownBytesPerBot/1024, s.UpBytesPerBot/1024, s.AckP50MS, s.AckP99MS,
					s.Disconnects, s.Resumed, s.Moved, s.Migrated, last.rejected, s.Errors)
			}
		}
	}
}

// counters are the running totals a sample is the difference of.
type counters struct {
	at                 time.Time
	snapshots          int
	rejected           int
	bytesDown, bytesUp int64
}

// sample sums the bots' counters at now; last are those of the previous
// sample, acks a buffer for the acks of the second.
func (r *runner) sample(now time.Time, last counters, acks []time.Duration) (Sample, counters, []time.Duration) {
	s := Sample{T: round3(now.Sub(r.start).Seconds()), Playing: int(r.playing.Load())}
	cur := counters{at: now}
	for _, b := range r.bots {
		acks = b.newAcks(acks)
		c := b.client.Load()
		if c == nil {
			continue
		}
		switch c.Phase() {
		case client.PhaseClosed:
		case client.PhaseReconnecting:
			s.Reconnecting++
		default:
			s.Connected++
		}
		st := c.Stats()
		cur.snapshots += st.Snapshots
		cur.rejected += st.Rejected
		cur.bytesDown += st.BytesDown
		cur.bytesUp += st.BytesUp
		s.Disconnects += st.Disconnects
		s.Reconnects += st.Reconnects
		s.Resumed += st.Resumed
		s.Moved += st.Moved
		s.Migrated += st.Migrated
	}
	per := now.Sub(last.at).Seconds() * float64(max(s.Connected, 1))
	s.SnapshotsPerBot = round3(float64(cur.snapshots-last.snapshots) / per)
	s.DownBytesPerBot = round3(float64(cur.bytesDown-last.bytesDown) / per)
	s.UpBytesPerBot = round3(float64(cur.bytesUp-last.bytesUp) / per)
	slices.Sort(acks)
	s.Acks = len(acks)
	s.AckP50MS = round3(ms(Percentile(acks, 50)))
	s.AckP99MS = round3(ms(Percentile(acks, 99)))
	r.mu.Lock()
	s.Matches, s.Errors = len(r.matchIDs), r.errs
	r.mu.Unlock()
	return s, cur, acks
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
