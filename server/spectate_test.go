package server

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"skirmish/netcode"
)

// listMatches gets GET /v1/matches.
func listMatches(t *testing.T, base string) matchesJSON {
	t.Helper()
	resp, err := http.Get(base + "/v1/matches")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/matches: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	var out matchesJSON
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshotTicks decodes r's frames: the spectating matched's schema, then
// the ticks of the snapshots after it, and whether the first was full.
func (r *rawClient) snapshotTicks(t *testing.T) (mt netcode.Matched, ticks []uint32, firstFull bool) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var m netcode.ServerMsg
	var schema *netcode.Schema
	rd := netcode.NewReader()
	for _, f := range r.frames {
		if err := rd.DecodeServer(f, &m, schema); err != nil {
			continue // a snapshot before the schema
		}
		switch m.Type {
		case netcode.MsgMatched:
			mt = m.Matched
			mt.Schema.Kinds = append([]netcode.Kind(nil), mt.Schema.Kinds...)
			mt.Schema.Fields = append([]netcode.Field(nil), mt.Schema.Fields...)
			schema = &mt.Schema
		case netcode.MsgSnapshot:
			if len(ticks) == 0 {
				firstFull = m.Snapshot.Reset
			}
			ticks = append(ticks, m.Snapshot.Tick)
		}
	}
	return mt, ticks, firstFull
}

// GET /v1/matches lists a running match; a spectator on a real WebSocket
// gets the spectating matched (no avatar, the delay), then full and
// delayed snapshots; the next spectator past -max-spectators is refused
// with spectators_full, a seated player with busy; the gauge counts the
// spectator.
func TestSpectateOverWebSocket(t *testing.T) {
	const delay = 300 * time.Millisecond // 9 ticks at 30 Hz
	srv, base := startServer(t, Options{FillTimeout: 50 * time.Millisecond, MaxSpectators: 1, SpectateDelay: delay})
	player := seatedRaw(t, base, createSession(t, base))
	var list matchesJSON
	waitUntil(t, 5*time.Second, func() bool { list = listMatches(t, base); return len(list.Matches) == 1 && list.Matches[0].Tick > 0 })
	mi := list.Matches[0]
	if mi.Mode != "arena" || mi.Players != 1 || mi.MaxPlayers != 8 || mi.Spectators != 0 || mi.MaxSpectators != 1 || mi.TimeLeft <= 0 || list.DelayMs != 300 {
		t.Fatalf("GET /v1/matches: %+v", list)
	}

	spec, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	spec.send(t, netcode.AppendSpectate(nil, mi.ID, 0))
	waitUntil(t, 5*time.Second, func() bool { _, ticks, _ := spec.snapshotTicks(t); return len(ticks) >= 30 })
	mt, ticks, full := spec.snapshotTicks(t)
	if !mt.Spectating || mt.Entity != 0 || mt.DelayMs != 300 || mt.MatchID != mi.ID || !full {
		t.Fatalf("spectating matched %+v, first snapshot full: %v", mt, full)
	}
	// The snapshots lag the live match by the delay: the spectator's
	// latest tick is 9 ticks behind the player's (give or take the frame
	// in flight).
	_, live, _ := player.snapshotTicksAny(t)
	lag := int(live) - int(ticks[len(ticks)-1])
	if lag < 8 || lag > 12 {
		t.Fatalf("spectator %d ticks behind the player, want about 9", lag)
	}
	for i := 1; i < len(ticks); i++ {
		if ticks[i] <= ticks[i-1] {
			t.Fatalf("snapshot ticks out of order: %v", ticks)
		}
	}
	if got := listMatches(t, base).Matches[0].Spectators; got != 1 {
		t.Fatalf("listed spectators %d", got)
	}
	if vals, _ := metricValues(t, srv, "skirmish_spectators"); len(vals) != 1 || vals[0] != 1 {
		t.Fatalf("skirmish_spectators = %v", vals)
	}

	// The cap: a second spectator is refused.
	full2, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	full2.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	full2.send(t, netcode.AppendSpectate(nil, mi.ID, 0))
	waitUntil(t, 5*time.Second, func() bool { return full2.has(netcode.MsgError, netcode.ErrSpectatorsFull) })
	// A seated player cannot spectate.
	player.send(t, netcode.AppendSpectate(nil, mi.ID, 0))
	waitUntil(t, 5*time.Second, func() bool { return player.has(netcode.MsgError, netcode.ErrBusy) })

	// The spectator disconnects: counted off.
	_ = spec.conn.NetConn().Close()
	waitUntil(t, 5*time.Second, func() bool {
		vals, _ := metricValues(t, srv, "skirmish_spectators")
		return len(vals) == 1 && vals[0] == 0
	})
}

// snapshotTicksAny returns the latest snapshot tick r received (a
// player's), decoding with the schema of its matched.
func (r *rawClient) snapshotTicksAny(t *testing.T) (netcode.Matched, uint32, bool) {
	t.Helper()
	mt, ticks, full := r.snapshotTicks(t)
	if len(ticks) == 0 {
		t.Fatal("no snapshot")
	}
	return mt, ticks[len(ticks)-1], full
}
