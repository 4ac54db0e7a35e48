package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config is what a run does: main fills it from the flags; zero sizes
// take the defaults of withDefaults.
type Config struct {
	// URL is the server's base URL; PID its process, whose RSS and life are
	// checked (0: not checked).
	URL string
	PID int

	// What the server is expected to do: its -hello-timeout,
	// -http-read-timeout, -http-idle-timeout, the session rate limit per IP
	// (Rate per second, bursts of Burst) and -max-conns-per-ip.
	HelloTimeout    time.Duration
	HTTPReadTimeout time.Duration
	HTTPIdleTimeout time.Duration
	SessionRate     float64
	SessionBurst    int
	MaxConnsPerIP   int

	// Sizes of the attacks.
	Flood     int           // session requests of the flood; default 2,000
	NoHello   int           // connections that never say hello; default 100
	OneToken  int           // upgrades with one token; default 100
	Pings     int           // pings of the ping flood; default 5,000
	PingFor   time.Duration // the ping flood's length; default 2 s
	SlowPosts int           // slow POST bodies; default 50
	Idle      int           // idle keep-alive connections; default 50
	Upgrades  int           // upgrades from one IP; default 2,000
	Mode      string        // the mode the normal player queues for; default arena

	// Limits of the whole run: every /healthz answer within HealthzMax
	// (default 50 ms), the server's RSS grown by less than RSSGrowthMax
	// (default 100 MB).
	HealthzMax   time.Duration
	RSSGrowthMax int64
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	defD(&c.HelloTimeout, 5*time.Second)
	defD(&c.HTTPReadTimeout, 10*time.Second)
	defD(&c.HTTPIdleTimeout, 60*time.Second)
	if c.SessionRate == 0 {
		c.SessionRate = 10
	}
	def(&c.SessionBurst, 50)
	def(&c.MaxConnsPerIP, 256)
	def(&c.Flood, 2000)
	def(&c.NoHello, 100)
	def(&c.OneToken, 100)
	def(&c.Pings, 5000)
	defD(&c.PingFor, 2*time.Second)
	def(&c.SlowPosts, 50)
	def(&c.Idle, 50)
	def(&c.Upgrades, 2000)
	if c.Mode == "" {
		c.Mode = "arena"
	}
	defD(&c.HealthzMax, 50*time.Millisecond)
	if c.RSSGrowthMax == 0 {
		c.RSSGrowthMax = 100 << 20
	}
	return c
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("-url is empty")
	case c.PID < 0:
		return fmt.Errorf("-pid %d: must be a process id, or 0 for none", c.PID)
	case c.HelloTimeout < 0 || c.HTTPReadTimeout < 0 || c.HTTPIdleTimeout < 0:
		return errors.New("timeouts must be positive")
	case c.SessionRate < 0 || c.SessionBurst < 0 || c.MaxConnsPerIP < 0:
		return errors.New("limits must be positive")
	case c.SlowPosts > 250 || c.Idle > 250:
		return errors.New("at most 250 slow POSTs and idle connections (one source address each)")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port", c.URL)
	}
	if !loopback4(u.Hostname()) {
		return fmt.Errorf("-url %q: the server must be on the IPv4 loopback (127.0.0.0/8 or localhost): the attacks connect from 127.x.y.z", c.URL)
	}
	return nil
}

// loopback4 reports whether host is an IPv4 loopback address or localhost.
func loopback4(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true // a dialer bound to an IPv4 address dials its IPv4 address
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().Is4() && a.IsLoopback()
}

// Result is the outcome of one assertion.
type Result struct {
	Name   string
	Pass   bool
	Detail string // the numbers the verdict rests on
}

// String is the result's line: PASS name: detail, or FAIL name: detail.
func (r Result) String() string {
	v := "FAIL"
	if r.Pass {
		v = "PASS"
	}
	return fmt.Sprintf("%s %s: %s", v, r.Name, r.Detail)
}

// observation is what one attack saw.
type observation interface {
	// saw is the attack's line: what it did and saw.
	saw() string
	// judge is the attack's assertion.
	judge(cfg *Config) Result
}

// attacker runs the attacks against one server.
type attacker struct {
	cfg    Config
	base   *url.URL
	tokens *tokenSource
}

func newAttacker(cfg Config) (*attacker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL)
	return &attacker{cfg: cfg, base: u, tokens: &tokenSource{base: u}}, nil
}

// attacks are run in this order.
var attacks = []struct {
	name string
	do   func(*attacker, context.Context) observation
}{
	{"session-flood", (*attacker).sessionFlood},
	{"hello-timeout", (*attacker).helloTimeout},
	{"one-token", (*attacker).oneToken},
	{"ping-flood", (*attacker).pingFlood},
	{"close-then-hello", (*attacker).closeThenHello},
	{"slow-post", (*attacker).slowPosts},
	{"idle-keepalive", (*attacker).idleKeepAlives},
	{"upgrade-cap", (*attacker).upgradeCap},
}

// errSetup reports a run that could not start: the server did not
// answer, or its process could not be read.
var errSetup = errors.New("setup")

// run attacks the server of cfg, writing one line per attack and one per
// assertion to out, and returns the results. Its error (errSetup) is for a
// run that could not start.
func run(ctx context.Context, cfg Config, out io.Writer) ([]Result, error) {
	a, err := newAttacker(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errSetup, err)
	}
	cfg = a.cfg
	if _, err := healthz(ctx, httpClient(srcWatcher, false, 0), a.base); err != nil {
		return nil, fmt.Errorf("%w: server not reachable: %v", errSetup, err)
	}
	var rss0 int64
	if cfg.PID > 0 {
		if rss0, err = readRSS(cfg.PID); err != nil {
			return nil, fmt.Errorf("%w: server process: %v", errSetup, err)
		}
		fmt.Fprintf(out, "attacking %s (pid %d, RSS %s)\n", a.base, cfg.PID, mb(rss0))
	} else {
		fmt.Fprintf(out, "attacking %s (no -pid: RSS and process not checked)\n", a.base)
	}
	w := startWatcher(a.base, cfg.HealthzMax)
	var results []Result
	for _, at := range attacks {
		if ctx.Err() != nil {
			break
		}
		o := at.do(a, ctx)
		fmt.Fprintf(out, "attack %s: %s\n", at.name, o.saw())
		r := o.judge(&cfg)
		r.Name = at.name
		fmt.Fprintln(out, r)
		results = append(results, r)
	}
	for _, r := range a.finalChecks(ctx, w.stop(), rss0) {
		fmt.Fprintln(out, r)
		results = append(results, r)
	}
	var failed []string
	for _, r := range results {
		if !r.Pass {
			failed = append(failed, r.Name)
		}
	}
	if len(failed) == 0 {
		fmt.Fprintf(out, "result: PASS, %d assertions\n", len(results))
	} else {
		fmt.Fprintf(out, "result: FAIL, %d of %d assertions failed (%s)\n", len(failed), len(results), strings.Join(failed, ", "))
	}
	return results, ctx.Err()
}

// finalChecks judges the run as a whole: the watcher's answers, the
// server alive, its RSS growth.
func (a *attacker) finalChecks(ctx context.Context, w watchObs, rss0 int64) []Result {
	rs := []Result{w.judge(&a.cfg)}
	alive := aliveObs{pid: a.cfg.PID}
	_, alive.healthErr = healthz(ctx, httpClient(srcWatcher, false, 0), a.base)
	if a.cfg.PID > 0 {
		alive.alive = processAlive(a.cfg.PID)
	}
	rs = append(rs, alive.judge(&a.cfg))
	if a.cfg.PID > 0 {
		o := rssObs{start: rss0}
		o.end, o.err = readRSS(a.cfg.PID)
		rs = append(rs, o.judge(&a.cfg))
	}
	return rs
}

// healthz gets /healthz with hc and returns how long the answer took.
func healthz(ctx context.Context, hc *http.Client, base *url.URL) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.JoinPath("/healthz").String(), nil)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return time.Since(t0), err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("healthz: %s", resp.Status)
	}
	return d, nil
}

// watcher polls /healthz every 100 ms from its own source address for the
// whole run.
type watcher struct {
	mu   sync.Mutex
	obs  watchObs
	quit chan struct{}
	done chan struct{}
}

func startWatcher(base *url.URL, limit time.Duration) *watcher {
	w := &watcher{obs: watchObs{limit: limit}, quit: make(chan struct{}), done: make(chan struct{})}
	hc := httpClient(srcWatcher, false, 0)
	go func() {
		defer close(w.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.quit:
				return
			case <-t.C:
			}
			d, err := healthz(context.Background(), hc, base)
			w.mu.Lock()
			w.obs.add(d, err)
			w.mu.Unlock()
		}
	}()
	return w
}

// stop ends the watch and returns what it saw.
func (w *watcher) stop() watchObs {
	close(w.quit)
	<-w.done
	return w.obs
}

// parallel runs f(0) … f(n-1) on up to workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, workers) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
