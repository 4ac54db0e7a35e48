package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"

	"skirmish/netcode"
)

// Source addresses. Each attack comes from loopback addresses of its own,
// so that the server's per-IP limits, which the attacks test, never mix
// two attacks (Linux lets a socket bind any 127.x.y.z).
var (
	srcFlood     = ip4(127, 2, 0, 1) // session flood
	srcUpgrades  = ip4(127, 4, 0, 1) // 2,000 upgrades from one IP
	srcWatcher   = ip4(127, 5, 0, 1) // /healthz watcher
	srcNoHello   = ip4(127, 6, 0, 1)
	srcOneToken  = ip4(127, 6, 0, 2)
	srcFlooder   = ip4(127, 6, 0, 3) // ping flood
	srcPlayer    = ip4(127, 6, 0, 4) // the normal player beside the ping flood
	srcPlayerA   = ip4(127, 6, 0, 5) // close-then-hello
	srcAttackerA = ip4(127, 6, 0, 6)
)

// Tokens come from 127.3.x.y, tokensPerAddr sessions an address: well
// under the server's session burst.
const tokensPerAddr = 10

// srcToken is the source address of the i-th token's session.
func srcToken(i int) netip.Addr {
	k := i / tokensPerAddr
	return ip4(127, 3, byte(k/250), byte(k%250+1))
}

// srcSlowPost and srcIdle are the source addresses of the i-th slow POST
// and idle keep-alive connection (i < 250): one each.
func srcSlowPost(i int) netip.Addr { return ip4(127, 7, 0, byte(i%250+1)) }
func srcIdle(i int) netip.Addr     { return ip4(127, 7, 1, byte(i%250+1)) }

func ip4(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }

// dialTimeout bounds every connect.
const dialTimeout = 5 * time.Second

// dialer returns a dialer whose connections leave from src.
func dialer(src netip.Addr) *net.Dialer {
	return &net.Dialer{Timeout: dialTimeout, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
}

// httpClient returns an HTTP client from src. With keepAlive it keeps up
// to conns idle connections (close them with CloseIdleConnections);
// without, every request has a connection of its own.
func httpClient(src netip.Addr, keepAlive bool, conns int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:         dialer(src).DialContext,
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: conns,
			MaxIdleConns:        conns,
		},
	}
}

// createSession posts a guest session with hc and returns its token.
func createSession(ctx context.Context, hc *http.Client, base *url.URL) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.JoinPath("/v1/sessions").String(), strings.NewReader("{}"))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create session: %s", resp.Status)
	}
	var s struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.Token == "" {
		return "", fmt.Errorf("create session: bad answer (%v)", err)
	}
	return s.Token, nil
}

// tokenSource creates valid tokens for the attacks, from many source
// addresses (srcToken), so that the per-IP session limit does not get in
// their way.
type tokenSource struct {
	base *url.URL
	next atomic.Int64
}

// take creates n sessions, 16 at a time, and returns their tokens.
func (ts *tokenSource) take(ctx context.Context, n int) ([]string, error) {
	toks := make([]string, n)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		i     atomic.Int64
	)
	for range min(n, 16) {
		wg.Go(func() {
			for {
				j := int(i.Add(1) - 1)
				if j >= n {
					return
				}
				src := srcToken(int(ts.next.Add(1) - 1))
				tok, err := createSession(ctx, httpClient(src, false, 0), ts.base)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("token from %s: %w", src, err)
					}
					mu.Unlock()
					return
				}
				toks[j] = tok
			}
		})
	}
	wg.Wait()
	return toks, first
}

// wsURL returns the /ws URL of token.
func wsURL(base *url.URL, token string) string {
	u := *base
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = "/ws"
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String()
}

// wsConn is one attack WebSocket: it answers pings, counts pongs, notes
// the welcome and how and when the server closed it.
type wsConn struct {
	conn     *gws.Conn
	upgraded time.Time
	welcome  chan struct{} // closed at the welcome
	closed   chan struct{} // closed when the connection ended
	pongs    atomic.Int64

	// set before closed is closed
	code     uint16 // close code from the server; 0: none (cut, or closed by us)
	closedAt time.Time

	reader   *netcode.Reader // read goroutine only
	msg      netcode.ServerMsg
	welcomed bool
}

// upgrade opens a game WebSocket with token from src and starts reading
// it. A refused upgrade returns its HTTP status (0 for a network error).
func upgrade(base *url.URL, src netip.Addr, token string) (*wsConn, int, error) {
	w := &wsConn{welcome: make(chan struct{}), closed: make(chan struct{}), reader: netcode.NewReader()}
	d := dialer(src)
	conn, resp, err := gws.NewClient(w, &gws.ClientOption{
		Addr:               wsURL(base, token),
		ReadMaxPayloadSize: 1 << 20,
		HandshakeTimeout:   5 * time.Second,
		NewDialer:          func() (gws.Dialer, error) { return d, nil },
	})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		return nil, status, err
	}
	w.conn, w.upgraded = conn, time.Now()
	go conn.ReadLoop()
	return w, http.StatusSwitchingProtocols, nil
}

// sendHello sends a hello of this protocol version.
func (w *wsConn) sendHello() error {
	return w.conn.WriteMessage(gws.OpcodeBinary, netcode.AppendHello(nil, netcode.Version, netcode.Version))
}

// hello sends a hello and waits up to d for the welcome.
func (w *wsConn) hello(d time.Duration) error {
	if err := w.sendHello(); err != nil {
		return err
	}
	select {
	case <-w.welcome:
		return nil
	case <-w.closed:
		return fmt.Errorf("closed with %d before the welcome", w.code)
	case <-time.After(d):
		return errors.New("no welcome")
	}
}

// isClosed reports whether the connection ended.
func (w *wsConn) isClosed() bool {
	select {
	case <-w.closed:
		return true
	default:
		return false
	}
}

// close ends the connection from our side (1000), if still open.
func (w *wsConn) close() {
	_ = w.conn.WriteClose(1000, nil)
	_ = w.conn.NetConn().Close()
}

func (w *wsConn) OnOpen(*gws.Conn) {}

func (w *wsConn) OnClose(_ *gws.Conn, err error) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		w.code = ce.Code
	}
	w.closedAt = time.Now()
	close(w.closed)
}

// OnPing answers as every client does: that must not keep a connection
// that said no hello alive.
func (w *wsConn) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (w *wsConn) OnPong(*gws.Conn, []byte) { w.pongs.Add(1) }

func (w *wsConn) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	if w.welcomed || w.reader.DecodeServer(m.Bytes(), &w.msg, nil) != nil {
		return
	}
	if w.msg.Type == netcode.MsgWelcome {
		w.welcomed = true
		close(w.welcome)
	}
}

// rawConn dials base's host from src over plain TCP.
func rawConn(ctx context.Context, base *url.URL, src netip.Addr) (net.Conn, error) {
	return dialer(src).DialContext(ctx, "tcp", hostPort(base))
}

// hostPort returns base's host:port (port 80 by default).
func hostPort(base *url.URL) string {
	if base.Port() != "" {
		return base.Host
	}
	return net.JoinHostPort(base.Hostname(), "80")
}

// drain reads r (c's data) until c ends, and returns when; it gives up at
// deadline (then closed is false).
func drain(c net.Conn, r io.Reader, deadline time.Time) (at time.Time, closed bool) {
	_ = c.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return time.Now(), false
	}
	return time.Now(), true
}
