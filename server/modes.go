package server

import (
	"encoding/json"
	"net/http"

	"skirmish/game"
)

// modeJSON is one mode of GET /v1/modes.
type modeJSON struct {
	Name        string       `json:"name"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Players     int          `json:"players"`
	DurationMs  int64        `json:"durationMs"`
	Options     []optionJSON `json:"options"`
}

// optionJSON is one option of a mode: its value on this server, its
// default and what it sets.
type optionJSON struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Value   string `json:"value"`
	Default string `json:"default"`
	Doc     string `json:"doc"`
	Range   string `json:"range,omitempty"`
}

// modesJSON returns the body of GET /v1/modes: the server's modes, built
// from the registry with its options, sorted by name.
func modesJSON(built []game.Built) ([]byte, error) {
	out := struct {
		Modes []modeJSON `json:"modes"`
	}{Modes: []modeJSON{}}
	for _, b := range built {
		spec := b.Mode.Spec()
		m := modeJSON{Name: b.Def.Name, Title: b.Def.Title, Description: b.Def.Doc, Players: spec.MaxPlayers,
			DurationMs: spec.Duration.Milliseconds(), Options: []optionJSON{}}
		for _, o := range b.Def.Options {
			m.Options = append(m.Options, optionJSON{Name: o.Name, Type: o.Type(), Value: b.Values.Text(o.Name),
				Default: game.FormatValue(o.Default), Doc: o.Doc, Range: o.Range()})
		}
		out.Modes = append(out.Modes, m)
	}
	return json.Marshal(out)
}

// handleModes serves GET /v1/modes: the modes a player may queue for.
func (s *Server) handleModes(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write(s.modesJSON)
}
