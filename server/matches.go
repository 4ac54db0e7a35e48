package server

import (
	"encoding/json"
	"net/http"

	"skirmish/match"
)

// matchesJSON is the body of GET /v1/matches.
type matchesJSON struct {
	// DelayMs is how far behind live a spectator sees a match.
	DelayMs int64             `json:"delayMs"`
	Matches []match.MatchInfo `json:"matches"`
}

// handleMatches serves GET /v1/matches: the matches running on this node
// (not the fleet's), for a player to pick one to watch.
func (s *Server) handleMatches(w http.ResponseWriter, _ *http.Request) {
	body, err := json.Marshal(matchesJSON{DelayMs: s.opts.SpectateDelay.Milliseconds(), Matches: s.lobby.Matches()})
	if err != nil {
		http.Error(w, "internal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}
