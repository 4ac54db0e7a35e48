package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// parseFrame is a reference reader of one masked client frame: it returns
// the FIN bit, the opcode, the unmasked payload and the bytes after it.
func parseFrame(t *testing.T, b []byte) (fin bool, op byte, payload, rest []byte) {
	t.Helper()
	if len(b) < 2 || b[1]&0x80 == 0 {
		t.Fatalf("frame %x: not masked", b)
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	n, i := int(b[1]&0x7f), 2
	switch n {
	case 126:
		n, i = int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		n, i = int(binary.BigEndian.Uint64(b[2:])), 10
	}
	key := b[i : i+4]
	i += 4
	payload = make([]byte, n)
	for j := range n {
		payload[j] = b[i+j] ^ key[j%4]
	}
	return fin, op, payload, b[i+n:]
}

func TestClientFrame(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte{0xa5, 0x00, 0xff}, n/3+1)[:n]
		b := clientFrame([]byte("prefix"), opBinary, payload, key)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("%d bytes: dst not kept", n)
		}
		fin, op, got, rest := parseFrame(t, b[len("prefix"):])
		if !fin || op != opBinary || !bytes.Equal(got, payload) || len(rest) != 0 {
			t.Errorf("%d bytes: fin %v op %d payload equal %v, %d bytes left", n, fin, op, bytes.Equal(got, payload), len(rest))
		}
		header := map[bool]int{true: 2}[n < 126] + map[bool]int{true: 4}[n >= 126 && n <= 0xffff] + map[bool]int{true: 10}[n > 0xffff]
		if len(b)-len("prefix") != header+4+n {
			t.Errorf("%d bytes: frame of %d bytes, want %d", n, len(b)-len("prefix"), header+4+n)
		}
	}
	// A ping with no payload: 0x89, mask bit and length 0, the key.
	if b := clientFrame(nil, opPing, nil, key); !bytes.Equal(b, []byte{0x89, 0x80, 0x12, 0x34, 0x56, 0x78}) {
		t.Errorf("empty ping % x", b)
	}
}

func TestBadThenHello(t *testing.T) {
	b := badThenHello()
	_, op, p1, rest := parseFrame(t, b)
	if op != opBinary || !bytes.Equal(p1, []byte{0xc1}) {
		t.Fatalf("first frame: op %d payload % x", op, p1)
	}
	_, op, p2, rest := parseFrame(t, rest)
	if op != opBinary || len(rest) != 0 || len(p2) == 0 {
		t.Fatalf("second frame: op %d payload % x, %d bytes left", op, p2, len(rest))
	}
	assertHello(t, p2)
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tskirmish\nState:\tS (sleeping)\nVmPeak:\t  999 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 1 kB\n"
	if n, err := parseVmRSS(strings.NewReader(status)); err != nil || n != 12345*1024 {
		t.Errorf("%d %v, want %d", n, err, 12345*1024)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tmany kB\n", "VmRSS:\n"} {
		if _, err := parseVmRSS(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestReadRSSSelf(t *testing.T) {
	n, err := readRSS(os.Getpid())
	if err != nil || n < 1<<20 || n > 1<<40 {
		t.Errorf("own RSS %d, %v", n, err)
	}
	if _, err := readRSS(1 << 30); err == nil {
		t.Error("RSS of a process that cannot exist: no error")
	}
}

func TestProcessAlive(t *testing.T) {
	if !processAlive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !processAlive(pid) {
		t.Error("a sleeping child is not alive")
	}
	_ = cmd.Process.Kill()
	for deadline := time.Now().Add(5 * time.Second); processAlive(pid); { // a zombie until reaped
		if time.Now().After(deadline) {
			t.Fatal("a killed child is still alive")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Wait()
	if processAlive(pid) {
		t.Error("a reaped child is alive")
	}
	for stat, want := range map[string]bool{
		"1 (init) S 0":          true,
		"7 (a) b) Z 1":          false, // the name may hold ") "
		"8 (worker) R 1 2 3":    true,
		"9 (x) X 1":             false,
		"garbage without paren": false,
	} {
		if statAlive(stat) != want {
			t.Errorf("statAlive(%q) = %v", stat, !want)
		}
	}
}

func TestCounts(t *testing.T) {
	if got := counts(map[int]int{503: 2, 0: 1, 400: 7}); got != "{0×1, 400×7, 503×2}" {
		t.Errorf("counts %s", got)
	}
	if got := counts(map[uint16]int{}); got != "{}" {
		t.Errorf("counts %s", got)
	}
}

func TestConfigDefaultsAndFlags(t *testing.T) {
	var stderr bytes.Buffer
	cfg, err := parseFlags([]string{"-url", "http://127.0.0.1:9", "-pid", "42", "-hello-timeout", "1s", "-http-read-timeout", "2s", "-http-idle-timeout", "3s"}, &stderr)
	if err != nil {
		t.Fatal(err, stderr.String())
	}
	if cfg.PID != 42 || cfg.HelloTimeout != time.Second || cfg.HTTPReadTimeout != 2*time.Second || cfg.HTTPIdleTimeout != 3*time.Second ||
		cfg.SessionRate != 10 || cfg.SessionBurst != 50 || cfg.MaxConnsPerIP != 256 || cfg.Flood != 2000 || cfg.Upgrades != 2000 ||
		cfg.Pings != 5000 || cfg.PingFor != 2*time.Second || cfg.NoHello != 100 || cfg.HealthzMax != 50*time.Millisecond || cfg.RSSGrowthMax != 100<<20 {
		t.Errorf("config %+v", cfg)
	}
	for _, args := range [][]string{{"-url", ""}, {"-url", "ftp://x"}, {"-url", "https://127.0.0.1:1"}, {"-url", "http://10.1.2.3:80"},
		{"-url", "http://[::1]:80"}, {"-url", "http://example.com"}, {"-pid", "-1"}, {"-nope"}, {"extra"}} {
		if _, err := parseFlags(args, &stderr); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	for _, url := range []string{"http://localhost:8080", "http://127.9.9.9", "http://[::ffff:127.0.0.1]:1"} {
		if _, err := parseFlags([]string{"-url", url}, &stderr); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
	if code := mainExit(t.Context(), []string{"-h"}, &stderr, &stderr); code != exitPass {
		t.Errorf("-h: exit %d", code)
	}
	if !strings.Contains(stderr.String(), "-max-conns-per-ip") {
		t.Error("-h lists no -max-conns-per-ip")
	}
}
