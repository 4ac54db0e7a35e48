package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skirmish/match"
	"skirmish/server"
)

// TestRecordedBotsMatchReplays: a server with -record plays arena matches
// of 2 s with 8 fighting bots; every log it recorded re-simulates to the
// tick count, state hash and standings the live match ended with (the
// standings its players were sent), GET /v1/matches/{id}/replay serves
// the same bytes (404 for an unknown match, 400 for a bad id), and a log
// with one input changed is reported as a desync.
func TestRecordedBotsMatchReplays(t *testing.T) {
	dir := t.TempDir()
	base := startServer(t, server.Options{FillTimeout: 200 * time.Millisecond, Record: dir,
		ModeOpts: []string{"arena.duration=2s"}})
	rep, err := run(context.Background(), Config{URL: base, N: 8, Duration: 3 * time.Second, Mode: "arena",
		Behavior: BehaviorFight, Ramp: 100 * time.Millisecond, Seed: 3, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Matches < 1 || rep.InputsSent == 0 {
		t.Fatalf("matches %d, inputs %d", rep.Matches, rep.InputsSent)
	}
	// The bots left: every match ends and its log is renamed into place.
	var logs []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs, _ = filepath.Glob(filepath.Join(dir, "*.skrl"))
		if len(logs) >= rep.Matches || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(logs) < rep.Matches {
		t.Fatalf("%d logs for %d matches", len(logs), rep.Matches)
	}
	inputs, withStandings := 0, 0
	for _, path := range logs {
		var out bytes.Buffer
		if err := server.ReplayFile(path, &out); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, out.String())
		}
		t.Logf("%s", out.String())
		if !strings.Contains(out.String(), "ok:") {
			t.Errorf("replay output:\n%s", out.String())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := match.Replay(data, match.ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Ticks != res.End.Ticks || res.Hash != res.End.Hash || len(res.Standings) != len(res.End.Standings) {
			t.Fatalf("replayed %d ticks, hash %016x, %d standings; recorded %d, %016x, %d",
				res.Ticks, res.Hash, len(res.Standings), res.End.Ticks, res.End.Hash, len(res.End.Standings))
		}
		if len(res.Standings) > 0 {
			withStandings++
		}
		// The endpoint serves the same bytes.
		id := strings.TrimSuffix(filepath.Base(path), ".skrl")
		resp, err := http.Get(base + "/v1/matches/" + id + "/replay")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(body, data) {
			t.Fatalf("GET replay: %d %s, %d bytes of %d", resp.StatusCode, resp.Header.Get("Content-Type"), len(body), len(data))
		}
		// One input changed: a desync. (A move may change nothing: the
		// avatar is dead, or at the edge. Of 20 moves, one does.)
		for k := range 20 {
			bad := tamperInput(t, data, k)
			if bad == nil {
				break
			}
			tampered := filepath.Join(t.TempDir(), "bad.skrl")
			if err := os.WriteFile(tampered, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := server.ReplayFile(tampered, &out)
			if err != nil && !errors.Is(err, match.ErrDesync) {
				t.Fatalf("tampered log: %v, want a desync", err)
			}
			if err != nil {
				inputs++
				break
			}
		}
	}
	if withStandings == 0 {
		t.Error("no match ended with its players seated")
	}
	if inputs == 0 {
		t.Error("no log with one input changed desyncs")
	}
	for path, want := range map[string]int{"/v1/matches/m-nope-1/replay": 404, "/v1/matches/.hidden/replay": 400} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || !bytes.Contains(body, []byte(`"error"`)) {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
	}
}

// tamperInput returns a copy of log data with the move of one input
// reversed (the sign bit of its MoveX; the k-th such input from the
// 200th record on), or nil if there is none.
func tamperInput(t *testing.T, data []byte, k int) []byte {
	t.Helper()
	r, _, err := match.NewLogReader(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetSeats(match.MaxLogSeats); err != nil {
		t.Fatal(err)
	}
	var rec match.LogRecord
	for n := 0; ; n++ {
		at := r.Offset()
		ok, err := r.Next(&rec)
		if err != nil || !ok {
			return nil
		}
		// kind, seat (uvarint), mask, seq delta (varint, if mask bit 7),
		// MoveX (if mask bit 0): float32 little endian.
		if rec.Kind != match.RecInput || n < 200 {
			continue
		}
		_, sn := binary.Uvarint(data[at+1:])
		i := at + 1 + sn
		mask := data[i]
		i++
		if mask&1 == 0 || rec.Input.MoveX == 0 {
			continue
		}
		if k--; k >= 0 {
			continue
		}
		if mask&0x80 != 0 {
			_, dn := binary.Varint(data[i:])
			i += dn
		}
		out := bytes.Clone(data)
		out[i+3] ^= 0x80
		return out
	}
}
