package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"skirmish/client"
	"skirmish/netcode"
)

// rss returns the server's RSS, 0 if it is not watched or unreadable.
func (a *attacker) rss() int64 {
	if a.cfg.PID <= 0 {
		return 0
	}
	n, _ := readRSS(a.cfg.PID)
	return n
}

// sessionFlood posts cfg.Flood sessions as fast as it can from one source
// address, on 32 kept-alive connections.
func (a *attacker) sessionFlood(ctx context.Context) observation {
	o := &floodObs{src: srcFlood, n: a.cfg.Flood, other: map[int]int{}}
	o.rssBefore = a.rss()
	hc := httpClient(srcFlood, true, 32)
	defer hc.Transport.(*http.Transport).CloseIdleConnections()
	url := a.base.JoinPath("/v1/sessions").String()
	var mu sync.Mutex
	start := time.Now()
	parallel(o.n, 32, func(int) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("{}"))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			o.errs++
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated:
			o.created++
		case http.StatusTooManyRequests:
			o.limited++
			if resp.Header.Get("Retry-After") != "" {
				o.retryAfter++
			}
		default:
			o.other[resp.StatusCode]++
		}
	})
	o.elapsed = time.Since(start)
	o.rssAfter = a.rss()
	return o
}

// upgradeAll opens a WebSocket from src for each token, up to workers at
// a time, and returns them (nil where refused) with the refusals by status
// (0: network error). With hello, each says hello as soon as it is open.
func (a *attacker) upgradeAll(toks []string, workers int, src func(i int) netip.Addr, hello bool) ([]*wsConn, map[int]int) {
	conns := make([]*wsConn, len(toks))
	refused := map[int]int{}
	var mu sync.Mutex
	parallel(len(toks), workers, func(i int) {
		w, status, err := upgrade(a.base, src(i), toks[i])
		if err != nil {
			mu.Lock()
			refused[status]++
			mu.Unlock()
			return
		}
		if hello {
			_ = w.sendHello()
		}
		conns[i] = w
	})
	return conns, refused
}

// closeAll closes the connections still open.
func closeAll(conns []*wsConn) {
	parallel(len(conns), 32, func(i int) {
		if conns[i] != nil {
			conns[i].close()
		}
	})
}

// helloTimeout opens cfg.NoHello connections, each with a token of its
// own, that never say hello (but answer pings), and waits for the server
// to close each within -hello-timeout + 2 s of its upgrade.
func (a *attacker) helloTimeout(ctx context.Context) observation {
	o := &helloObs{src: srcNoHello, n: a.cfg.NoHello, wait: a.cfg.HelloTimeout + closeSlack, otherCodes: map[uint16]int{}}
	toks, err := a.tokens.take(ctx, o.n)
	if err != nil {
		o.err = err
		return o
	}
	conns, refused := a.upgradeAll(toks, 16, func(int) netip.Addr { return srcNoHello }, false)
	defer closeAll(conns)
	o.refused = refused
	for _, w := range conns {
		if w == nil {
			continue
		}
		select {
		case <-w.closed:
		case <-time.After(time.Until(w.upgraded.Add(o.wait))):
		case <-ctx.Done():
		}
	}
	for _, w := range conns {
		switch {
		case w == nil:
		case !w.isClosed() || w.closedAt.Sub(w.upgraded) > o.wait:
			o.open++
		case w.code == closeHelloTimeout:
			o.timedOut++
			o.slowest = max(o.slowest, w.closedAt.Sub(w.upgraded))
		default:
			o.otherCodes[w.code]++
		}
	}
	return o
}

// oneToken makes cfg.OneToken upgrades with one token at once; nobody
// says hello.
func (a *attacker) oneToken(ctx context.Context) observation {
	o := &oneTokenObs{src: srcOneToken, n: a.cfg.OneToken, other: map[int]int{}}
	toks, err := a.tokens.take(ctx, 1)
	if err != nil {
		o.err = err
		return o
	}
	conns := make([]*wsConn, o.n)
	defer closeAll(conns)
	statuses := make([]int, o.n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range o.n {
		wg.Go(func() {
			<-start
			conns[i], statuses[i], _ = upgrade(a.base, srcOneToken, toks[0])
		})
	}
	close(start)
	wg.Wait()
	for _, s := range statuses {
		switch s {
		case http.StatusSwitchingProtocols:
			o.upgraded++
		case http.StatusTooManyRequests:
			o.limited++
		default:
			o.other[s]++
		}
	}
	return o
}

// pingFlood: a normal player plays while a hello'd connection sends
// cfg.Pings pings, evenly over cfg.PingFor; the player must keep getting
// snapshots, the flooder far fewer pongs than pings.
func (a *attacker) pingFlood(ctx context.Context) observation {
	o := &pingObs{}
	var snaps atomic.Int64
	var lastSnap atomic.Int64 // unix ns
	player, err := client.Dial(ctx, a.base.String(), client.Options{
		Name:      "attack-player",
		LocalAddr: srcPlayer.String(),
		OnMessage: func(m *netcode.ServerMsg) {
			if m.Type == netcode.MsgSnapshot {
				lastSnap.Store(time.Now().UnixNano())
				snaps.Add(1)
			}
		},
	})
	if err != nil {
		o.err = fmt.Errorf("player: %w", err)
		return o
	}
	defer player.Close()
	player.Queue(a.cfg.Mode)
	for deadline := time.Now().Add(10 * time.Second); snaps.Load() == 0; {
		if time.Now().After(deadline) || ctx.Err() != nil {
			o.err = errors.New("player: no snapshot within 10s of queueing (is -fill-timeout short?)")
			return o
		}
		time.Sleep(10 * time.Millisecond)
	}
	toks, err := a.tokens.take(ctx, 1)
	if err != nil {
		o.err = err
		return o
	}
	fl, status, err := upgrade(a.base, srcFlooder, toks[0])
	if err != nil {
		o.err = fmt.Errorf("flooder: upgrade %d: %w", status, err)
		return o
	}
	defer fl.close()
	if err := fl.hello(2 * time.Second); err != nil {
		o.err = fmt.Errorf("flooder: %w", err)
		return o
	}

	// Watch the player's snapshots during the flood and a little after.
	s0 := snaps.Load()
	var maxGap atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				gap := now.UnixNano() - lastSnap.Load()
				if gap > maxGap.Load() {
					maxGap.Store(gap)
				}
			}
		}
	}()
	t0 := time.Now()
	for o.pings < a.cfg.Pings && !fl.isClosed() && ctx.Err() == nil {
		due := t0.Add(time.Duration(int64(a.cfg.PingFor) * int64(o.pings) / int64(a.cfg.Pings)))
		if ahead := time.Until(due); ahead > time.Millisecond {
			time.Sleep(ahead)
		}
		if fl.conn.WritePing(nil) != nil {
			break
		}
		o.pings++
		if time.Since(t0) > 2*a.cfg.PingFor { // writes too slow: enough
			break
		}
	}
	o.flood = time.Since(t0)
	time.Sleep(300 * time.Millisecond) // the pongs on their way
	close(stop)
	<-watched
	o.pongs = int(fl.pongs.Load())
	if fl.isClosed() {
		o.flooderClosed, o.flooderCode = true, fl.code
	}
	o.snapshots = int(snaps.Load() - s0)
	o.maxGap = time.Duration(maxGap.Load())
	select {
	case <-player.Done():
		o.playerClosed = true
		o.playerCloseMsg = fmt.Sprintf("close code %d", player.Stats().CloseCode)
	default:
	}
	return o
}

// closeThenHello: player A is connected and hello'd with token T; an
// attacker connection with T sends, in one TCP write, a frame that breaks
// the protocol and then a valid hello. The server must close the attacker
// (4000) and act on nothing after it decided to: A stays.
func (a *attacker) closeThenHello(ctx context.Context) observation {
	o := &closeHelloObs{}
	toks, err := a.tokens.take(ctx, 1)
	if err != nil {
		o.err = err
		return o
	}
	pa, status, err := upgrade(a.base, srcPlayerA, toks[0])
	if err != nil {
		o.err = fmt.Errorf("player A: upgrade %d: %w", status, err)
		return o
	}
	defer pa.close()
	if err := pa.hello(2 * time.Second); err != nil {
		o.err = fmt.Errorf("player A: %w", err)
		return o
	}
	at, status, err := upgrade(a.base, srcAttackerA, toks[0])
	if err != nil {
		o.err = fmt.Errorf("attacker: upgrade %d: %w", status, err)
		return o
	}
	defer at.close()
	buf := badThenHello()
	sent := time.Now()
	if _, err := at.conn.NetConn().Write(buf); err != nil {
		o.err = fmt.Errorf("attacker: write: %w", err)
		return o
	}
	select {
	case <-at.closed:
		o.attackerClosed, o.attackerCode, o.attackerAfter = true, at.code, at.closedAt.Sub(sent)
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
	}
	select {
	case <-pa.closed:
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	if pa.isClosed() {
		o.playerClosed, o.playerCode = true, pa.code
	}
	return o
}

// badThenHello returns two masked client frames, to be sent in one write:
// a binary frame holding 0xc1 (a byte msgpack never uses), then a valid
// hello.
func badThenHello() []byte {
	key := func() [4]byte {
		var k [4]byte
		for i := range k {
			k[i] = byte(rand.Uint32())
		}
		return k
	}
	buf := clientFrame(nil, opBinary, []byte{0xc1}, key())
	return clientFrame(buf, opBinary, netcode.AppendHello(nil, netcode.Version, netcode.Version), key())
}

// slowPosts: cfg.SlowPosts connections, each from its own address, send a
// POST /v1/sessions announcing a body of 100 bytes, then one byte a
// second; the server must close each within -http-read-timeout + 2 s.
func (a *attacker) slowPosts(ctx context.Context) observation {
	o := &closesObs{what: "sent a POST /v1/sessions body of 100 bytes at one byte a second", n: a.cfg.SlowPosts,
		wait: a.cfg.HTTPReadTimeout + closeSlack, timeout: "http-read-timeout " + secs(a.cfg.HTTPReadTimeout)}
	head := fmt.Sprintf("POST /v1/sessions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", a.base.Host)
	a.holdUntilClosed(ctx, o, srcSlowPost, func(c net.Conn) (io.Reader, time.Time, error) {
		start := time.Now()
		if _, err := io.WriteString(c, head); err != nil {
			return nil, start, err
		}
		go func() { // a byte a second until the body is done or the server closes
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for range 100 {
				<-t.C
				if _, err := c.Write([]byte{' '}); err != nil {
					return
				}
			}
		}()
		return c, start, nil
	})
	return o
}

// idleKeepAlives: cfg.Idle connections, each from its own address, make
// one GET /healthz with keep-alive and stay idle; the server must close
// each within -http-idle-timeout + 2 s of its answer.
func (a *attacker) idleKeepAlives(ctx context.Context) observation {
	o := &closesObs{what: "made one keep-alive GET /healthz and stayed idle", n: a.cfg.Idle,
		wait: a.cfg.HTTPIdleTimeout + closeSlack, timeout: "http-idle-timeout " + secs(a.cfg.HTTPIdleTimeout)}
	req := fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", a.base.Host)
	a.holdUntilClosed(ctx, o, srcIdle, func(c net.Conn) (io.Reader, time.Time, error) {
		if _, err := io.WriteString(c, req); err != nil {
			return nil, time.Time{}, err
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return nil, time.Time{}, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, time.Time{}, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, time.Time{}, fmt.Errorf("GET /healthz: %s", resp.Status)
		}
		return br, time.Now(), nil
	})
	return o
}

// holdUntilClosed opens o.n raw connections at once, the i-th from
// src(i), starts each with begin (which returns what to read the rest
// from and when the server's timeout began), and records which the
// server closes within o.wait of that.
func (a *attacker) holdUntilClosed(ctx context.Context, o *closesObs, src func(int) netip.Addr, begin func(net.Conn) (io.Reader, time.Time, error)) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range o.n {
		wg.Go(func() {
			fail := func(err error) {
				mu.Lock()
				defer mu.Unlock()
				if o.errs == 0 {
					o.errMsg = err.Error()
				}
				o.errs++
			}
			c, err := rawConn(ctx, a.base, src(i))
			if err != nil {
				fail(err)
				return
			}
			defer c.Close()
			r, from, err := begin(c)
			if err != nil {
				fail(err)
				return
			}
			at, closed := drain(c, r, from.Add(o.wait))
			mu.Lock()
			defer mu.Unlock()
			if closed {
				o.closed++
				o.slowest = max(o.slowest, at.Sub(from))
			} else {
				o.open++
			}
		})
	}
	wg.Wait()
}

// upgradeCap opens cfg.Upgrades WebSockets from one address, each with a
// token of its own, 64 at a time, and keeps them: each upgraded one says
// hello, so that the hello timeout does not free its place under the
// per-IP cap while the others try.
func (a *attacker) upgradeCap(ctx context.Context) observation {
	o := &capObs{src: srcUpgrades, n: a.cfg.Upgrades, other: map[int]int{}}
	toks, err := a.tokens.take(ctx, o.n)
	if err != nil {
		o.err = err
		return o
	}
	start := time.Now()
	conns, refused := a.upgradeAll(toks, 64, func(int) netip.Addr { return srcUpgrades }, true)
	o.elapsed = time.Since(start)
	defer closeAll(conns)
	for _, w := range conns {
		if w != nil {
			o.upgraded++
		}
	}
	for s, n := range refused {
		if s == http.StatusTooManyRequests {
			o.limited += n
		} else {
			o.other[s] += n
		}
	}
	return o
}
