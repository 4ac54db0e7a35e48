package main

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"skirmish/netcode"
)

// Close codes the attacks expect.
const (
	closeFlood        = uint16(netcode.CloseFlood)
	closeProtocol     = uint16(netcode.CloseProtocol)
	closeReplaced     = uint16(netcode.CloseReplaced)
	closeHelloTimeout = uint16(netcode.CloseHelloTimeout) // no valid hello within -hello-timeout
)

// closeSlack is the time a server has past a timeout to close.
const closeSlack = 2 * time.Second

// floodSlack is the number of sessions a flood may get past
// burst + rate × elapsed (the limiter's clock and ours differ a little).
const floodSlack = 5

// maxSnapshotGap is the longest a normal player may go without a snapshot
// while another connection floods the server with pings.
const maxSnapshotGap = 500 * time.Millisecond

// counts formats a count per key as {k×n, …}, in key order.
func counts[K int | uint16](m map[K]int) string {
	if len(m) == 0 {
		return "{}"
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d×%d", k, m[k])
	}
	return "{" + b.String() + "}"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func msec(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// setupFailed is the result of an attack that could not be set up.
func setupFailed(err error) Result {
	return Result{Detail: "could not attack: " + err.Error()}
}

// floodObs: the session flood from one IP.
type floodObs struct {
	src                 netip.Addr
	n                   int
	elapsed             time.Duration
	created             int         // 201
	limited             int         // 429
	retryAfter          int         // 429 with a Retry-After header
	other               map[int]int // other statuses
	errs                int
	rssBefore, rssAfter int64 // 0: not read
}

func (o *floodObs) saw() string {
	s := fmt.Sprintf("%d POSTs /v1/sessions from %s in %s: 201×%d, 429×%d (%d with Retry-After), other %s, errors×%d",
		o.n, o.src, secs(o.elapsed), o.created, o.limited, o.retryAfter, counts(o.other), o.errs)
	if o.rssBefore > 0 && o.rssAfter > 0 {
		s += fmt.Sprintf("; server RSS %s before, %s after", mb(o.rssBefore), mb(o.rssAfter))
	}
	return s
}

// floodLimit is the most sessions a flood of elapsed may get.
func floodLimit(cfg *Config, elapsed time.Duration) float64 {
	return float64(cfg.SessionBurst) + cfg.SessionRate*elapsed.Seconds() + floodSlack
}

func (o *floodObs) judge(cfg *Config) Result {
	limit := floodLimit(cfg, o.elapsed)
	pass := float64(o.created) <= limit && 2*o.retryAfter > o.n && o.retryAfter == o.limited
	return Result{Pass: pass, Detail: fmt.Sprintf(
		"201×%d (at most %.0f = burst %d + %g/s × %s + %d); 429 with Retry-After on %d of %d (more than half), without on %d (none)",
		o.created, limit, cfg.SessionBurst, cfg.SessionRate, secs(o.elapsed), floodSlack, o.retryAfter, o.n, o.limited-o.retryAfter)}
}

// helloObs: connections that never say hello.
type helloObs struct {
	err        error // setup
	src        netip.Addr
	n          int
	refused    map[int]int // upgrades refused, by status (0: network error)
	wait       time.Duration
	timedOut   int            // closed with 4006 within wait of the upgrade
	slowest    time.Duration  // of those
	otherCodes map[uint16]int // closed within wait with another code (0: none)
	open       int            // still open after wait
}

func (o *helloObs) saw() string {
	if o.err != nil {
		return o.err.Error()
	}
	last := ""
	if o.timedOut > 0 {
		last = fmt.Sprintf(" (the last after %s)", secs(o.slowest))
	}
	return fmt.Sprintf("%d connections from %s said no hello: %d closed with 4006%s, closed with other codes %s, %d still open after %s; upgrades refused %s",
		o.n, o.src, o.timedOut, last, counts(o.otherCodes), o.open, secs(o.wait), counts(o.refused))
}

func (o *helloObs) judge(cfg *Config) Result {
	if o.err != nil {
		return setupFailed(o.err)
	}
	return Result{Pass: o.timedOut == o.n, Detail: fmt.Sprintf("%d of %d closed with 4006 within %s (want all; hello-timeout %s + %s)",
		o.timedOut, o.n, secs(o.wait), secs(cfg.HelloTimeout), secs(closeSlack))}
}

// oneTokenObs: many upgrades with one token at once.
type oneTokenObs struct {
	err      error
	src      netip.Addr
	n        int
	upgraded int
	limited  int         // 429
	other    map[int]int // other statuses (0: network error)
}

func (o *oneTokenObs) saw() string {
	if o.err != nil {
		return o.err.Error()
	}
	return fmt.Sprintf("%d upgrades with one token from %s at once: 101×%d, 429×%d, other %s", o.n, o.src, o.upgraded, o.limited, counts(o.other))
}

func (o *oneTokenObs) judge(*Config) Result {
	if o.err != nil {
		return setupFailed(o.err)
	}
	return Result{Pass: o.upgraded == 1 && o.limited == o.n-1,
		Detail: fmt.Sprintf("upgraded %d (want 1); 429 on %d of the other %d (want all)", o.upgraded, o.limited, o.n-o.upgraded)}
}

// pingObs: a ping flood beside a normal player.
type pingObs struct {
	err            error
	pings, pongs   int
	flood          time.Duration
	flooderCode    uint16 // close code of the flooder; 0: none
	flooderClosed  bool
	snapshots      int           // the player's, during the flood
	maxGap         time.Duration // the player's longest wait for a snapshot
	playerClosed   bool
	playerCloseMsg string
}

func (o *pingObs) saw() string {
	if o.err != nil {
		return o.err.Error()
	}
	fl := "still open"
	if o.flooderClosed {
		fl = fmt.Sprintf("closed with %d", o.flooderCode)
	}
	pl := "still connected"
	if o.playerClosed {
		pl = "disconnected: " + o.playerCloseMsg
	}
	return fmt.Sprintf("%d pings in %s from %s: %d pongs, flooder %s; a player from %s got %d snapshots meanwhile, at most %s apart, %s",
		o.pings, secs(o.flood), srcFlooder, o.pongs, fl, srcPlayer, o.snapshots, msec(o.maxGap), pl)
}

func (o *pingObs) judge(*Config) Result {
	if o.err != nil {
		return setupFailed(o.err)
	}
	pass := o.pings > 0 && 10*o.pongs < o.pings && o.snapshots > 0 && o.maxGap <= maxSnapshotGap && !o.playerClosed
	return Result{Pass: pass, Detail: fmt.Sprintf("%d pongs for %d pings (want fewer than %d, a tenth); player: %d snapshots (want some), longest gap %s (at most %s), connected %v (want true)",
		o.pongs, o.pings, (o.pings+9)/10, o.snapshots, msec(o.maxGap), msec(maxSnapshotGap), !o.playerClosed)}
}

// closeHelloObs: a protocol error and a hello in one write.
type closeHelloObs struct {
	err            error
	attackerClosed bool
	attackerCode   uint16
	attackerAfter  time.Duration
	playerClosed   bool // player A, after a second more
	playerCode     uint16
}

func (o *closeHelloObs) saw() string {
	if o.err != nil {
		return o.err.Error()
	}
	at := "not closed within 2s"
	if o.attackerClosed {
		at = fmt.Sprintf("closed with %d after %s", o.attackerCode, msec(o.attackerAfter))
	}
	pa := "still connected 1s later"
	if o.playerClosed {
		pa = fmt.Sprintf("closed with %d", o.playerCode)
	}
	return fmt.Sprintf("attacker (%s) sent a bad frame and a hello with player A's token in one write: %s; player A (%s) %s",
		srcAttackerA, at, srcPlayerA, pa)
}

func (o *closeHelloObs) judge(*Config) Result {
	if o.err != nil {
		return setupFailed(o.err)
	}
	pass := o.attackerClosed && o.attackerCode == closeProtocol && !o.playerClosed
	d := "attacker not closed within 2s (want closed with 4000); player A "
	if o.attackerClosed {
		d = fmt.Sprintf("attacker closed with %d (want 4000); player A ", o.attackerCode)
	}
	if o.playerClosed {
		d += fmt.Sprintf("closed with %d (want still connected)", o.playerCode)
	} else {
		d += "still connected"
	}
	return Result{Pass: pass, Detail: d}
}

// closesObs: connections the server should close after a timeout (slow
// POST bodies, idle keep-alives).
type closesObs struct {
	what    string // what the connections did
	n       int
	errs    int    // connections that could not be set up
	errMsg  string // the first such error
	wait    time.Duration
	closed  int           // closed by the server within wait
	slowest time.Duration // of those
	open    int           // still open after wait
	timeout string        // the server flag whose timeout applies
}

func (o *closesObs) saw() string {
	last := ""
	if o.closed > 0 {
		last = fmt.Sprintf(" (the last after %s)", secs(o.slowest))
	}
	s := fmt.Sprintf("%d connections %s: %d closed by the server%s, %d still open after %s",
		o.n, o.what, o.closed, last, o.open, secs(o.wait))
	if o.errs > 0 {
		s += fmt.Sprintf("; %d failed: %s", o.errs, o.errMsg)
	}
	return s
}

func (o *closesObs) judge(*Config) Result {
	return Result{Pass: o.closed == o.n && o.errs == 0, Detail: fmt.Sprintf("%d of %d closed within %s (want all; %s + %s)",
		o.closed, o.n, secs(o.wait), o.timeout, secs(closeSlack))}
}

// capObs: many upgrades from one IP.
type capObs struct {
	err      error
	src      netip.Addr
	n        int
	elapsed  time.Duration
	upgraded int
	limited  int
	other    map[int]int
}

func (o *capObs) saw() string {
	if o.err != nil {
		return o.err.Error()
	}
	return fmt.Sprintf("%d upgrades from %s in %s, each upgraded one held open with a hello: 101×%d, 429×%d, other %s",
		o.n, o.src, secs(o.elapsed), o.upgraded, o.limited, counts(o.other))
}

func (o *capObs) judge(cfg *Config) Result {
	if o.err != nil {
		return setupFailed(o.err)
	}
	return Result{Pass: o.upgraded <= cfg.MaxConnsPerIP && o.limited == o.n-o.upgraded,
		Detail: fmt.Sprintf("upgraded %d (at most %d); 429 on %d of the other %d (want all)", o.upgraded, cfg.MaxConnsPerIP, o.limited, o.n-o.upgraded)}
}

// watchObs: the /healthz answers during the run.
type watchObs struct {
	limit     time.Duration
	n         int
	slow      int // answered later than limit
	failed    int
	firstFail string
	max       time.Duration
}

func (o *watchObs) add(d time.Duration, err error) {
	o.n++
	o.max = max(o.max, d)
	switch {
	case err != nil:
		if o.failed == 0 {
			o.firstFail = err.Error()
		}
		o.failed++
	case d > o.limit:
		o.slow++
	}
}

func (o *watchObs) judge(*Config) Result {
	d := fmt.Sprintf("%d answers every 100ms from %s: %d slower than %s, %d failed (want none), slowest %s",
		o.n, srcWatcher, o.slow, msec(o.limit), o.failed, msec(o.max))
	if o.failed > 0 {
		d += " (" + o.firstFail + ")"
	}
	return Result{Name: "healthz", Pass: o.n > 0 && o.slow == 0 && o.failed == 0, Detail: d}
}

// aliveObs: the server at the end.
type aliveObs struct {
	pid       int // 0: not checked
	alive     bool
	healthErr error
}

func (o *aliveObs) judge(*Config) Result {
	var d []string
	if o.pid > 0 {
		d = append(d, fmt.Sprintf("process %d alive %v", o.pid, o.alive))
	}
	if o.healthErr != nil {
		d = append(d, "/healthz: "+o.healthErr.Error())
	} else {
		d = append(d, "/healthz answers")
	}
	return Result{Name: "server-alive", Pass: (o.pid == 0 || o.alive) && o.healthErr == nil, Detail: strings.Join(d, ", ")}
}

// rssObs: the server's memory at the start and the end.
type rssObs struct {
	start, end int64
	err        error
}

func (o *rssObs) judge(cfg *Config) Result {
	r := Result{Name: "server-rss"}
	if o.err != nil {
		r.Detail = "could not read the RSS at the end: " + o.err.Error()
		return r
	}
	growth := o.end - o.start
	r.Pass = growth < cfg.RSSGrowthMax
	r.Detail = fmt.Sprintf("RSS %s at the start, %s at the end: %+.1f MB (want less than %s)", mb(o.start), mb(o.end), float64(growth)/(1<<20), mb(cfg.RSSGrowthMax))
	return r
}
