package match

import (
	"strings"
	"testing"
	"time"

	"skirmish/game"
)

func TestConfigEnsureDefaults(t *testing.T) {
	c := (*Config)(nil).EnsureDefaults()
	switch {
	case c.TickRate != DefaultTickRate, c.MaxCatchUp != DefaultMaxCatchUp,
		c.CongestedTimeout != DefaultCongestedTimeout, c.SeatGrace != DefaultSeatGrace,
		c.TickPhaseGroup != DefaultTickPhaseGroup:
		t.Errorf("defaults not applied: %+v", c)
	case c.Clock == nil, c.Observer == nil, c.Logger == nil, c.Hooks == nil:
		t.Errorf("a nil default left: %+v", c)
	case c.InterestRadius != 0, c.FullSnapshots, c.CheckpointInterval != 0:
		t.Errorf("an optional field set: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults are invalid: %v", err)
	}
	// Set fields are kept; -1 is a phase group of its own; a second call
	// changes nothing.
	set := Config{TickRate: 60, MaxCatchUp: 2, CongestedTimeout: time.Second, SeatGrace: time.Minute, TickPhaseGroup: -1}
	got := set
	got.EnsureDefaults().EnsureDefaults()
	if got.TickRate != 60 || got.MaxCatchUp != 2 || got.CongestedTimeout != time.Second || got.SeatGrace != time.Minute || got.TickPhaseGroup != -1 {
		t.Errorf("set fields changed: %+v", got)
	}
	// Not positive is the default, for the fields that cannot be.
	neg := Config{MaxCatchUp: -3, CongestedTimeout: -time.Second, SeatGrace: -1}
	neg.EnsureDefaults()
	if neg.MaxCatchUp != DefaultMaxCatchUp || neg.CongestedTimeout != DefaultCongestedTimeout || neg.SeatGrace != DefaultSeatGrace {
		t.Errorf("negative fields kept: %+v", neg)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string // "" valid, else part of the error
	}{
		{Config{}, ""},
		{Config{TickRate: 128}, ""},
		{Config{TickRate: 129}, "tick rate"},
		{Config{TickRate: -1}, "tick rate"},
		{Config{InterestRadius: -1}, "interest radius"},
		{Config{CheckpointInterval: time.Second}, "Checkpoints"},
		{Config{CheckpointInterval: -time.Second, Checkpoints: newFakeFleet()}, "negative"},
		{Config{CheckpointInterval: time.Second, Checkpoints: newFakeFleet()}, ""},
	} {
		err := tc.c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v, want valid", tc.c, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want an error about %s", tc.c, err, tc.want)
		}
	}
}

func TestLobbyConfigDefaultsAndValidate(t *testing.T) {
	c := (&LobbyConfig{Modes: map[string]game.Mode{"arena": quietArena()}}).EnsureDefaults()
	if c.FillTimeout != DefaultFillTimeout || c.Match.TickRate != DefaultTickRate {
		t.Errorf("lobby defaults not applied: fill %v, tick rate %d", c.FillTimeout, c.Match.TickRate)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid lobby config: %v", err)
	}
	for name, bad := range map[string]LobbyConfig{
		"no modes":   {},
		"wrong name": {Modes: map[string]game.Mode{"tag": quietArena()}},
		"bad match":  {Modes: map[string]game.Mode{"arena": quietArena()}, Match: Config{TickRate: 500}},
	} {
		if err := bad.EnsureDefaults().Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
		if _, err := NewLobby(bad); err == nil {
			t.Errorf("%s: NewLobby accepted it", name)
		}
	}
}
