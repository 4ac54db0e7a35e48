package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"skirmish/match"
)

// metrics are the server's Prometheus series, on a registry of its own. It
// implements match.Observer; every method is lock-free.
type metrics struct {
	reg            *prometheus.Registry
	connections    prometheus.Gauge
	matches        prometheus.Gauge
	matchesEnded   *prometheus.CounterVec
	tickDuration   prometheus.Histogram
	tickOverruns   prometheus.Counter
	bytesIn        prometheus.Counter
	bytesOut       prometheus.Counter
	framesOut      prometheus.Counter
	inputsApplied  prometheus.Counter
	inputsRejected prometheus.Counter
	inputsDropped  prometheus.Counter
	protocolErrors prometheus.Counter
	rateLimited    prometheus.Counter
	viewsSkipped   prometheus.Counter
	closes         *prometheus.CounterVec
	panics         prometheus.Counter
	sessions       prometheus.Counter
	storeErrors    *prometheus.CounterVec
	resumes        prometheus.Counter
	limited        *prometheus.CounterVec
	storeDropped   *prometheus.CounterVec
	results        *prometheus.CounterVec
	refused        *prometheus.CounterVec
	overloaded     prometheus.Gauge

	// load is the tick load of every match, for the overload signal.
	load *tickLoad

	// the fleet
	fleetErrors     *prometheus.CounterVec
	fleetFallbacks  prometheus.Counter
	checkpoints     *prometheus.CounterVec
	checkpointBytes prometheus.Counter
	checkpointWrite prometheus.Histogram
	checkpointCPU   prometheus.Histogram
	adopted         prometheus.Counter
	handedOff       prometheus.Counter
	moved           prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg:            prometheus.NewRegistry(),
		connections:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "skirmish_connections", Help: "Open WebSocket connections."}),
		matches:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "skirmish_matches", Help: "Running matches."}),
		matchesEnded:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skirmish_matches_ended_total", Help: "Matches ended, by outcome."}, []string{"outcome"}),
		tickDuration:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "skirmish_tick_duration_seconds", Help: "Duration of one match tick.", Buckets: tickBuckets}),
		tickOverruns:   prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_tick_overruns_total", Help: "Ticks that started a whole tick late or more, or were skipped."}),
		bytesIn:        prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_bytes_in_total", Help: "WebSocket payload bytes received."}),
		bytesOut:       prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_bytes_out_total", Help: "WebSocket payload bytes sent."}),
		framesOut:      prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_frames_out_total", Help: "WebSocket frames sent."}),
		inputsApplied:  prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_inputs_applied_total", Help: "Inputs applied by matches."}),
		inputsRejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_inputs_rejected_total", Help: "Inputs rejected by the rules."}),
		inputsDropped:  prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_inputs_dropped_total", Help: "Inputs dropped, each once: not seated, full inbox or queue, or from a connection the seat is not bound to."}),
		protocolErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_protocol_errors_total", Help: "Connections closed for a malformed or unexpected frame (not the closes the server initiates for other reasons)."}),
		rateLimited:    prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_messages_rate_limited_total", Help: "Client messages dropped by the rate limit."}),
		viewsSkipped:   prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_views_skipped_total", Help: "Snapshots not sent to a congested client."}),
		closes:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skirmish_closes_total", Help: "Connections the server closed, by reason."}, []string{"reason"}),
		panics:         prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_panics_total", Help: "Panics recovered on connection goroutines."}),
		sessions:       prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_sessions_created_total", Help: "Guest sessions created."}),
		storeErrors:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skirmish_store_errors_total", Help: "Failed session store operations, by operation."}, []string{"op"}),
		resumes:        prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_reconnects_total", Help: "Connections of a player this node already knew (reconnects)."}),
		limited:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skirmish_limited_total", Help: "Times a limit on what a client can claim triggered, by limit."}, []string{"what"}),
		storeDropped:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skirmish_store_writes_dropped_total", Help: "Store writes given up (queue full, or a shutdown out of time), by operation."}, []string{"op"}),
		results:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skirmish_results_total", Help: "Match results for the leaderboard: ranked (applied), duplicate (already applied), unranked (too few players)."}, []string{"outcome"}),
		refused:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skirmish_refused_total", Help: "Players refused with server_full: overload (the node cannot keep its ticks; a WebSocket of a newcomer, or a player to be taken into a match), max_players (a newcomer's WebSocket past -max-players)."}, []string{"why"}),
		overloaded:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "skirmish_overloaded", Help: "1 while the node cannot keep its ticks and refuses new matches and newcomers (server_full), else 0."}),
		load:           newTickLoad(30),

		fleetErrors:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skirmish_fleet_errors_total", Help: "Failed fleet operations on Redis, by operation."}, []string{"op"}),
		fleetFallbacks:  prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_fleet_queue_fallbacks_total", Help: "Queues matched on this node because the fleet's queue in Redis was out of reach."}),
		checkpoints:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skirmish_checkpoints_total", Help: "Match checkpoints: written to Redis, skipped (Redis out of reach), replaced (a newer one came before it was written)."}, []string{"result"}),
		checkpointBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_checkpoint_bytes_total", Help: "Bytes of the checkpoints written."}),
		checkpointWrite: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "skirmish_checkpoint_write_seconds", Help: "Time to write one checkpoint to Redis.", Buckets: []float64{100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 50e-3, 250e-3, 1}}),
		checkpointCPU:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "skirmish_checkpoint_encode_seconds", Help: "Time the match goroutine spends taking and encoding one checkpoint.", Buckets: []float64{5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3}}),
		adopted:         prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_matches_adopted_total", Help: "Matches resumed on this node from a checkpoint (a dead node's, or handed off by a draining one)."}),
		handedOff:       prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_matches_handed_off_total", Help: "Matches this node handed to another while draining."}),
		moved:           prometheus.NewCounter(prometheus.CounterOpts{Name: "skirmish_moved_total", Help: "Connections sent to another node (moved) on hello."}),
	}
	m.reg.MustRegister(m.connections, m.matches, m.matchesEnded, m.tickDuration, m.tickOverruns,
		m.bytesIn, m.bytesOut, m.framesOut, m.inputsApplied, m.inputsRejected, m.inputsDropped,
		m.protocolErrors, m.rateLimited, m.viewsSkipped, m.closes, m.panics, m.sessions, m.storeErrors, m.resumes, m.limited, m.storeDropped, m.results,
		m.refused, m.overloaded,
		m.fleetErrors, m.fleetFallbacks, m.checkpoints, m.checkpointBytes, m.checkpointWrite, m.checkpointCPU, m.adopted, m.handedOff, m.moved,
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler, collectors.MetricsGC)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "skirmish_replay_logs_given_up_total",
		Help: "Input logs (-record) whose rest a match gave up because their writer fell behind (the part written stays valid, without its end)."},
		func() float64 { return float64(match.RecordsGivenUp()) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "skirmish_replay_logs_cut_total",
		Help: "Input logs whose Redis copy was cut because it outgrew -record-max-bytes (the part kept stays valid, without its end)."},
		func() float64 { return float64(ReplayLogsCut()) }))
	for _, why := range []string{refusedOverload, refusedMaxPlayers} {
		m.refused.WithLabelValues(why)
	}
	return m
}

// tickBuckets are the bounds of skirmish_tick_duration_seconds: fine
// between 1 and 10 ms, so that a p99 read as the smallest bound holding
// 99% of the ticks (make soak, make capacity) is within a few percent of
// 25% of a 30 Hz tick (8.33 ms: the bound 8.3 ms) and of a 60 Hz one
// (4.17 ms: 4 ms).
var tickBuckets = []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 1.5e-3, 2e-3, 2.5e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3, 8e-3, 8.3e-3,
	10e-3, 12.5e-3, 16.6e-3, 25e-3, 33.3e-3, 50e-3, 100e-3}

func (m *metrics) TickDone(d time.Duration) {
	m.tickDuration.Observe(d.Seconds())
	m.load.tick(d)
}

func (m *metrics) Overrun(n int) {
	m.tickOverruns.Add(float64(n))
	m.load.overrun(n)
}
func (m *metrics) InputsApplied(applied, rejected int) {
	if applied > 0 {
		m.inputsApplied.Add(float64(applied))
	}
	if rejected > 0 {
		m.inputsRejected.Add(float64(rejected))
	}
}
func (m *metrics) InputDropped() { m.inputsDropped.Inc() }
func (m *metrics) ViewSkipped()  { m.viewsSkipped.Inc() }

// FramesSent counts a tick's snapshots at once: one update of each counter
// per tick, not per frame.
func (m *metrics) FramesSent(frames, bytes int) {
	if frames > 0 {
		m.framesOut.Add(float64(frames))
		m.bytesOut.Add(float64(bytes))
	}
}
func (m *metrics) MatchStarted(string) { m.matches.Inc() }
func (m *metrics) MatchEnded(_ string, outcome uint8) {
	m.matches.Dec()
	label := strconv.Itoa(int(outcome))
	if outcome == match.OutcomeMoved {
		label = "moved"
	}
	m.matchesEnded.WithLabelValues(label).Inc()
}
