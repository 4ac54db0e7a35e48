//go:build linux

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"skirmish/netcode"
)

// The nginx config of docs/DEPLOY.md, run by Debian's nginx in front of
// three real skirmish processes on a real Redis: every route it documents,
// the WebSocket through it, X-Forwarded-For, and a `moved` followed
// through it.
//
// NGINX_BIN overrides /usr/sbin/nginx; SKIRMISH_BIN a prebuilt server
// (default: ./server/cmd/skirmish, built into the test's directory).
func TestDeployNginx(t *testing.T) {
	nginx := os.Getenv("NGINX_BIN")
	if nginx == "" {
		nginx = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(nginx); err != nil {
		t.Fatalf("no nginx at %s (%v): `make test` installs it (as root: apt-get install nginx-light), "+
			"or set NGINX_BIN; this test checks the nginx config of docs/DEPLOY.md", nginx, err)
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("no redis-server on PATH: the fleet needs a real Redis (apt-get install redis-server)")
	}
	snippet := deployNginxSnippet(t)
	bin := skirmishBinary(t)
	rs := startRedis(t, 0)

	front := freeLoopbackPort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(front)
	ids := []string{"n1", "n2", "n3"}
	addrs := make([]string, len(ids))
	for i, id := range ids {
		addrs[i] = "127.0.0.1:" + strconv.Itoa(freeLoopbackPort(t))
		startNode(t, bin, addrs[i], id,
			"-redis", rs.Addr, "-public-url", base+"/n/"+id, "-trusted-proxies", "127.0.0.1",
			"-fill-timeout", "200ms", "-seat-grace", "30s",
			// one session per client IP: shows which IP the node sees
			"-session-burst", "1", "-session-rate", "0.01")
	}
	conf := strings.NewReplacer(
		"__LISTEN__", "127.0.0.1:"+strconv.Itoa(front),
		"__SERVER_NAME__", "127.0.0.1",
		"__NODE1__", addrs[0], "__NODE2__", addrs[1], "__NODE3__", addrs[2],
	).Replace(snippet)
	if left := regexp.MustCompile(`__[A-Z0-9_]+__`).FindAllString(conf, -1); left != nil {
		t.Fatalf("docs/DEPLOY.md's nginx config has placeholders this test does not fill: %v", left)
	}
	startNginx(t, nginx, conf, front)

	// Source addresses of the test's clients: each session comes from an
	// address of its own, since the nodes allow one per IP.
	src := 10
	nextSrc := func() string {
		src++
		return fmt.Sprintf("127.0.0.%d", src)
	}
	// session creates a session through nginx's / route (any node).
	session := func(t *testing.T) string {
		t.Helper()
		code, tok := deploySession(t, base, nextSrc(), nil)
		if code != http.StatusCreated {
			t.Fatalf("POST /v1/sessions through nginx: %d", code)
		}
		return tok
	}

	t.Run("fleet", func(t *testing.T) {
		var fleet struct {
			Nodes []struct {
				ID, URL  string
				Draining bool
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := deployGet(t, base+"/v1/fleet", "")
			fleet.Nodes = nil
			if code == http.StatusOK && json.Unmarshal(body, &fleet) == nil && len(fleet.Nodes) == len(ids) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /v1/fleet through nginx: %d %s; want the %d nodes", code, body, len(ids))
			}
			time.Sleep(100 * time.Millisecond)
		}
		for i, n := range fleet.Nodes {
			if n.ID != ids[i] || n.URL != base+"/n/"+ids[i] || n.Draining {
				t.Errorf("fleet node %d: %+v, want id %s url %s/n/%s", i, n, ids[i], base, ids[i])
			}
		}
	})

	t.Run("routes", func(t *testing.T) {
		for _, id := range ids {
			code, body := deployGet(t, base+"/n/"+id+"/healthz", "")
			var h struct{ Node string }
			if code != http.StatusOK || json.Unmarshal(body, &h) != nil || h.Node != id {
				t.Errorf("GET /n/%s/healthz: %d %s; want node %q", id, code, body, id)
			}
		}
		if code, body := deployGet(t, base+"/healthz", ""); code != http.StatusOK || !bytes.Contains(body, []byte(`"node"`)) {
			t.Errorf("GET /healthz: %d %s", code, body)
		}
		if code, body := deployGet(t, base+"/", ""); code != http.StatusOK || !bytes.Contains(bytes.ToLower(body), []byte("<html")) {
			t.Errorf("GET /: %d, %d bytes", code, len(body))
		}
		if code, _ := deployGet(t, base+"/v1/leaderboard?mode=arena", ""); code != http.StatusOK {
			t.Errorf("GET /v1/leaderboard: %d", code)
		}
		for _, p := range []string{"/metrics", "/n/n1/metrics", "/n/n3/metrics"} {
			if code, _ := deployGet(t, base+p, ""); code != http.StatusForbidden {
				t.Errorf("GET %s through nginx: %d, want 403", p, code)
			}
		}
	})

	t.Run("x-forwarded-for", func(t *testing.T) {
		// One session per IP on each node: the second from the same
		// client is refused, another client's is not, so the node sees
		// the client (not nginx), and a forged X-Forwarded-For changes
		// nothing.
		a, b := nextSrc(), nextSrc()
		if code, _ := deploySession(t, base+"/n/n1", a, nil); code != http.StatusCreated {
			t.Fatalf("first session from %s: %d", a, code)
		}
		forged := http.Header{"X-Forwarded-For": {"203.0.113.9"}}
		if code, _ := deploySession(t, base+"/n/n1", a, forged); code != http.StatusTooManyRequests {
			t.Errorf("second session from %s (X-Forwarded-For forged): %d, want 429", a, code)
		}
		if code, _ := deploySession(t, base+"/n/n1", b, nil); code != http.StatusCreated {
			t.Errorf("first session from %s: %d, want 201: the node does not see the client's IP", b, code)
		}
	})

	t.Run("websocket", func(t *testing.T) {
		tok := session(t)
		ws := dialDeploy(t, deployWSURL(t, base, tok))
		ws.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
		w := ws.expect(t, netcode.MsgWelcome)
		if w.Where != netcode.WhereLobby || w.PlayerID == "" {
			t.Errorf("welcome %+v", w)
		}
		ws.closeNormally(t)
	})

	t.Run("moved", func(t *testing.T) {
		tok := session(t)
		// Queue on n1. The fleet seats the player on the least loaded
		// node: matched here, or moved there first.
		ws := dialDeploy(t, deployWSURL(t, base+"/n/n1", tok))
		ws.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
		ws.expect(t, netcode.MsgWelcome)
		ws.send(t, netcode.AppendQueue(nil, "arena"))
		host := "n1"
		m := ws.expect(t, netcode.MsgQueued, netcode.MsgMatched, netcode.MsgMoved)
		if m.Type == netcode.MsgQueued {
			m = ws.expect(t, netcode.MsgMatched, netcode.MsgMoved)
		}
		if m.Type == netcode.MsgMoved {
			host = nodeOfURL(t, base, m.URL)
			ws.expectClose(t, netcode.CloseMoved)
			ws = dialDeploy(t, deployWSURL(t, m.URL, tok))
			ws.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
			if w := ws.expect(t, netcode.MsgWelcome); w.Where != netcode.WhereSeated {
				t.Errorf("welcome on %s after moved: where %d, want seated", host, w.Where)
			}
			m = ws.expect(t, netcode.MsgMatched)
		}
		seat := m.Matched
		t.Logf("seated on %s in %s as entity %d", host, seat.MatchID, seat.Entity)
		ws.waitSnapshots(t, 3)
		ws.drop()

		// Reconnect through another node's route: it points at the host.
		other := "n2"
		if host == other {
			other = "n3"
		}
		ws = dialDeploy(t, deployWSURL(t, base+"/n/"+other, tok))
		ws.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
		mv := ws.expect(t, netcode.MsgWelcome, netcode.MsgMoved)
		if mv.Type == netcode.MsgWelcome {
			mv = ws.expect(t, netcode.MsgMoved)
		}
		if want := base + "/n/" + host; mv.URL != want {
			t.Fatalf("moved from %s to %q, want %q", other, mv.URL, want)
		}
		ws.expectClose(t, netcode.CloseMoved)
		ws = dialDeploy(t, deployWSURL(t, mv.URL, tok))
		ws.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
		if w := ws.expect(t, netcode.MsgWelcome); w.Where != netcode.WhereSeated {
			t.Errorf("welcome after following moved: where %d, want seated", w.Where)
		}
		r := ws.expect(t, netcode.MsgMatched).Matched
		if r.MatchID != seat.MatchID || r.Entity != seat.Entity {
			t.Errorf("resumed as %s/%d, was %s/%d", r.MatchID, r.Entity, seat.MatchID, seat.Entity)
		}
		ws.waitSnapshots(t, 3)
		ws.drop()

		// The same through /ws, as a browser on the public origin does:
		// the node nginx picks resumes the seat or points at the host.
		moves := 0
		defer func() { t.Logf("3 resumes through /ws, %d of them after a moved", moves) }()
		for i := 0; i < 3; i++ {
			ws = dialDeploy(t, deployWSURL(t, base, tok))
			ws.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
			m := ws.expect(t, netcode.MsgWelcome, netcode.MsgMoved)
			if m.Type == netcode.MsgWelcome {
				if m.Where != netcode.WhereSeated {
					t.Errorf("welcome through /ws: where %d, want seated", m.Where)
				}
				m = ws.expect(t, netcode.MsgMatched, netcode.MsgMoved)
			}
			if m.Type == netcode.MsgMoved {
				if want := base + "/n/" + host; m.URL != want {
					t.Fatalf("moved through /ws to %q, want %q", m.URL, want)
				}
				moves++
				ws.expectClose(t, netcode.CloseMoved)
				ws = dialDeploy(t, deployWSURL(t, m.URL, tok))
				ws.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
				ws.expect(t, netcode.MsgWelcome)
				m = ws.expect(t, netcode.MsgMatched)
			}
			if m.Matched.MatchID != seat.MatchID || m.Matched.Entity != seat.Entity {
				t.Errorf("resumed through /ws as %s/%d, was %s/%d", m.Matched.MatchID, m.Matched.Entity, seat.MatchID, seat.Entity)
			}
			ws.waitSnapshots(t, 1)
			ws.drop()
		}
	})
}

// deployNginxSnippet returns the nginx config of docs/DEPLOY.md: the one
// fenced block between <!-- nginx-begin --> and <!-- nginx-end -->.
func deployNginxSnippet(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i := strings.Index(s, "<!-- nginx-begin -->")
	j := strings.Index(s, "<!-- nginx-end -->")
	if i < 0 || j < i {
		t.Fatal("docs/DEPLOY.md has no <!-- nginx-begin --> … <!-- nginx-end --> section")
	}
	lines := strings.Split(strings.TrimSpace(s[i+len("<!-- nginx-begin -->"):j]), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "```") || strings.TrimSpace(lines[len(lines)-1]) != "```" {
		t.Fatal("the nginx section of docs/DEPLOY.md is not one fenced code block")
	}
	body := strings.Join(lines[1:len(lines)-1], "\n") + "\n"
	if strings.Contains(body, "```") {
		t.Fatal("the nginx section of docs/DEPLOY.md holds more than one code block")
	}
	return body
}

// skirmishBinary returns SKIRMISH_BIN, or bin/skirmish built from this
// tree into the test's directory.
func skirmishBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("SKIRMISH_BIN"); b != "" {
		return b
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(t.TempDir(), "skirmish")
	cmd := exec.Command(goBin, "build", "-o", out, "./server/cmd/skirmish")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./server/cmd/skirmish: %v\n%s", err, b)
	}
	return out
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// child is a process the test started; its output goes to log.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startChild starts prog and stops it with stop when the test ends (or
// when the test process dies), then with SIGKILL if it is still there 5 s
// later. nginx needs SIGTERM: its master then stops its workers, which a
// SIGKILL would leave behind.
func startChild(t *testing.T, name, logPath string, stop syscall.Signal, prog string, args ...string) *child {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	c := &child{name: name, cmd: exec.Command(prog, args...), log: logPath, done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = f, f
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: stop}
	if err := c.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = c.cmd.Wait(); f.Close(); close(c.done) }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Signal(stop)
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			t.Errorf("%s still running 5 s after %v: killed", c.name, stop)
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("%s's output (%s), last lines:\n%s", c.name, c.log, tail(c.log, 30))
		}
	})
	return c
}

// waitReady waits until ready says yes, failing if the child exits first.
func (c *child) waitReady(t *testing.T, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ready() {
		select {
		case <-c.done:
			t.Fatalf("%s exited (%v):\n%s", c.name, c.cmd.ProcessState, tail(c.log, 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 10 s:\n%s", c.name, tail(c.log, 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startNode starts a skirmish node listening on addr and waits until it
// answers /healthz.
func startNode(t *testing.T, bin, addr, id string, args ...string) {
	t.Helper()
	args = append([]string{"-addr", addr, "-node-id", id}, args...)
	c := startChild(t, "node "+id, filepath.Join(t.TempDir(), id+".log"), syscall.SIGKILL, bin, args...)
	c.waitReady(t, func() bool {
		code, _ := deployGet(t, "http://"+addr+"/healthz", "")
		return code == http.StatusOK
	})
}

// startNginx runs nginx in the foreground with the http-context config
// conf, everything it writes in a directory of the test, and waits until
// it listens on port.
func startNginx(t *testing.T, nginx, conf string, port int) {
	t.Helper()
	dir := t.TempDir()
	v, _ := exec.Command(nginx, "-V").CombinedOutput()
	var temps strings.Builder
	for _, m := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if m != "client_body" && strings.Contains(string(v), "--without-http_"+m+"_module") {
			continue
		}
		fmt.Fprintf(&temps, "    %s_temp_path %s;\n", m, filepath.Join(dir, m))
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers write the test's temp directory
	}
	main := fmt.Sprintf(`daemon off;
%sworker_processes 1;
pid %s;
error_log %s info;
events { worker_connections 512; }
http {
    access_log %s;
%s
%s
}
`, user, filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"), filepath.Join(dir, "access.log"), temps.String(), conf)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects docs/DEPLOY.md's config: %v\n%s\nconfig:\n%s", err, out, main)
	}
	c := startChild(t, "nginx", filepath.Join(dir, "stderr.log"), syscall.SIGTERM, nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nginx error.log, last lines:\n%s", tail(filepath.Join(dir, "error.log"), 30))
		}
	})
	c.waitReady(t, func() bool {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 100*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}

// deployClient is an HTTP client whose connections come from the local
// address from ("": any).
func deployClient(from string) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// deployGet returns the status and body of GET u (0 if it failed).
func deployGet(t *testing.T, u, from string) (int, []byte) {
	t.Helper()
	resp, err := deployClient(from).Get(u)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// deploySession posts a session to base from the local address from and
// returns the status and token.
func deploySession(t *testing.T, base, from string, hdr http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/sessions", strings.NewReader(`{"name":"deploy"}`))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := deployClient(from).Do(req)
	if err != nil {
		t.Fatalf("POST %s/v1/sessions: %v", base, err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode == http.StatusCreated && body.Token == "" {
		t.Fatalf("POST %s/v1/sessions: 201 without a token", base)
	}
	return resp.StatusCode, body.Token
}

// deployWSURL is the game WebSocket of the node (or front) at base, as a
// client following moved builds it: ws(s), base's path + /ws, token.
func deployWSURL(t *testing.T, base, token string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("bad base URL %q: %v", base, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		t.Fatalf("base URL %q: scheme %q", base, u.Scheme)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ws"
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String()
}

// nodeOfURL returns the node id of a public URL base/n/<id>.
func nodeOfURL(t *testing.T, base, u string) string {
	t.Helper()
	id, ok := strings.CutPrefix(u, base+"/n/")
	if !ok || id == "" || strings.Contains(id, "/") {
		t.Fatalf("moved to %q, want %s/n/<node-id>", u, base)
	}
	return id
}

// deployWS is a WebSocket peer that hands over the server's messages
// (snapshots only counted) in order.
type deployWS struct {
	gws.BuiltinEventHandler
	url    string
	conn   *gws.Conn
	msgs   chan netcode.ServerMsg
	closed chan struct{} // closed when the connection is
	mu     sync.Mutex
	code   uint16
	snaps  int
}

func dialDeploy(t *testing.T, u string) *deployWS {
	t.Helper()
	w := &deployWS{url: u, msgs: make(chan netcode.ServerMsg, 256), closed: make(chan struct{})}
	conn, resp, err := gws.NewClient(w, &gws.ClientOption{Addr: u})
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("dial %s: %v %s", u, err, status)
	}
	w.conn = conn
	go conn.ReadLoop()
	t.Cleanup(func() { _ = conn.NetConn().Close() })
	return w
}

func (w *deployWS) OnClose(_ *gws.Conn, err error) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		w.mu.Lock()
		w.code = ce.Code
		w.mu.Unlock()
	}
	close(w.closed)
}

func (w *deployWS) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	f := m.Bytes()
	if len(f) > 1 && f[1] == netcode.MsgSnapshot {
		w.mu.Lock()
		w.snaps++
		w.mu.Unlock()
		return
	}
	var msg netcode.ServerMsg
	if err := netcode.NewReader().DecodeServer(append([]byte(nil), f...), &msg, nil); err != nil {
		msg = netcode.ServerMsg{Type: 255, ErrText: err.Error()}
	}
	select {
	case w.msgs <- msg:
	default:
	}
}

func (w *deployWS) send(t *testing.T, b []byte) {
	t.Helper()
	if err := w.conn.WriteMessage(gws.OpcodeBinary, b); err != nil {
		t.Fatalf("%s: write: %v", w.url, err)
	}
}

// expect returns the next message, which must be of one of types.
func (w *deployWS) expect(t *testing.T, types ...uint8) netcode.ServerMsg {
	t.Helper()
	var m netcode.ServerMsg
	select {
	case m = <-w.msgs:
	case <-w.closed:
		// gws hands over every message before the close: what came
		// before it is queued (select picks at random among ready cases).
		select {
		case m = <-w.msgs:
		default:
			t.Fatalf("%s: closed (code %d) while waiting for message type %v", w.url, w.closeCode(), types)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no message of type %v within 10 s", w.url, types)
	}
	for _, typ := range types {
		if m.Type == typ {
			return m
		}
	}
	t.Fatalf("%s: got message type %d (error %v %q, moved %q), want one of %v", w.url, m.Type, m.ErrCode, m.ErrText, m.URL, types)
	return m
}

func (w *deployWS) closeCode() uint16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.code
}

// expectClose waits for the server to close with code.
func (w *deployWS) expectClose(t *testing.T, code netcode.CloseCode) {
	t.Helper()
	select {
	case <-w.closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not closed within 5 s, want close %d", w.url, code)
	}
	if got := w.closeCode(); got != uint16(code) {
		t.Fatalf("%s: closed with %d, want %d", w.url, got, code)
	}
}

func (w *deployWS) waitSnapshots(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, 5*time.Second, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.snaps >= n
	})
}

// drop cuts the connection without a close frame, as a lost network does.
func (w *deployWS) drop() { _ = w.conn.NetConn().Close(); <-w.closed }

// closeNormally sends a normal close and waits for the server's answer.
func (w *deployWS) closeNormally(t *testing.T) {
	t.Helper()
	_ = w.conn.WriteClose(uint16(netcode.CloseNormal), nil)
	select {
	case <-w.closed:
	case <-time.After(5 * time.Second):
		t.Errorf("%s: no close within 5 s of ours", w.url)
	}
}
