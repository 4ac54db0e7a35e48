package game

import (
	"math"
	"strings"
	"testing"
	"time"

	"skirmish/netcode"
)

// The built-in modes are registered from their own files, valid, with
// their declared defaults.
func TestBuiltinModesRegistered(t *testing.T) {
	built, err := Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*Spec{}
	for _, b := range built {
		names[b.Def.Name] = b.Mode.Spec()
		if b.Def.Title == "" || b.Def.Doc == "" || len(b.Def.Options) == 0 {
			t.Errorf("mode %s: no title, doc or options", b.Def.Name)
		}
		for _, o := range b.Def.Options {
			if o.Doc == "" || b.Values.Text(o.Name) != FormatValue(o.Default) {
				t.Errorf("mode %s option %s: doc %q, value %s, default %v", b.Def.Name, o.Name, o.Doc, b.Values.Text(o.Name), o.Default)
			}
		}
	}
	a, tag := names["arena"], names["tag"]
	if a == nil || tag == nil {
		t.Fatalf("registered: %v", names)
	}
	if a.MaxPlayers != 8 || a.Speed != ArenaSpeed || a.Duration != 3*time.Minute || a.Interest.Radius != 500 || len(a.Actions) != 2 {
		t.Errorf("arena defaults: %+v", a)
	}
	if tag.MaxPlayers != 8 || tag.Speed != TagSpeed || tag.Width != 1000 || tag.Interest.Radius != 600 || len(tag.Actions) != 0 {
		t.Errorf("tag defaults: %+v", tag)
	}
}

// Settings override defaults, a later one wins, and each mode gets only
// its own.
func TestBuildWithSettings(t *testing.T) {
	built, err := Build([]string{"arena.players=100", "arena.npcs=900", "tag.speed=300", "arena.players=50",
		"arena.duration=90s", "arena.interest-radius=250.5", "tag.size=400"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range built {
		s := b.Mode.Spec()
		switch b.Def.Name {
		case "arena":
			if s.MaxPlayers != 50 || s.Duration != 90*time.Second || s.Interest.Radius != 250.5 ||
				s.Width != float32(2000*math.Sqrt(950.0/72)) {
				t.Errorf("arena: %+v", s)
			}
			if b.Values.Int("npcs") != 900 || b.Values.Text("players") != "50" {
				t.Errorf("arena values: %v", b.Values.v)
			}
		case "tag":
			if s.Speed != 300 || s.Width != 400 || s.MaxPlayers != 8 {
				t.Errorf("tag: %+v", s)
			}
		}
	}
	m, err := NewMode("tag", "speed=123")
	if err != nil || m.Spec().Speed != 123 {
		t.Fatalf("NewMode: %v %+v", err, m)
	}
	// Tag moves at its spec's speed, not a constant.
	w := NewWorld(m.Spec(), 30, 1, 0)
	r := m.NewRules(w)
	p := &Player{Seat: 0, ID: "a"}
	w.Players[0] = p
	r.Join(w, p)
	x0 := w.Get(p.Entity).X
	r.Apply(w, p, &netcode.Input{Seq: 1, MoveX: 1})
	if e := w.Get(p.Entity); e.X != min(x0+123*w.Dt, w.Width) {
		t.Errorf("tag moved %v in a tick at speed 123", e.X-x0)
	}
}

// Every kind of bad setting is refused with an error that names it.
func TestSettingErrors(t *testing.T) {
	for _, tc := range []struct{ setting, want string }{
		{"arena.players", "want mode.option=value"},
		{"players=3", "want mode.option=value"},
		{".players=3", "want mode.option=value"},
		{"chess.players=3", `unknown mode "chess"`},
		{"arena.lives=3", `mode arena has no option "lives"`},
		{"arena.players=many", `"many" is not an integer`},
		{"arena.players=0", "out of range (1 to 4096)"},
		{"arena.size=NaN", "is not a finite number"},
		{"arena.duration=3", "is not a duration"},
		{"arena.duration=0s", "out of range (1ms to 24h0m0s)"},
		{"tag.speed=-1", "out of range"},
	} {
		_, _, _, err := ParseSetting(tc.setting)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.setting, err, tc.want)
		}
		if _, err := Build([]string{tc.setting}); err == nil {
			t.Errorf("Build(%s) succeeded", tc.setting)
		}
	}
	if _, err := NewMode("chess"); err == nil || !strings.Contains(err.Error(), `unknown mode "chess"`) {
		t.Errorf("NewMode(chess): %v", err)
	}
}

// Register refuses incomplete or clashing declarations at once.
func TestRegisterRefuses(t *testing.T) {
	ok := func(Values) (Mode, error) { return NewTag(TagConfig{}), nil }
	for name, d := range map[string]Def{
		"no name":          {New: ok},
		"no New":           {Name: "x1"},
		"dotted name":      {Name: "a.b", New: ok},
		"taken":            {Name: "arena", New: ok},
		"option twice":     {Name: "x2", New: ok, Options: []Option{{Name: "o", Default: 1}, {Name: "o", Default: 2}}},
		"default of range": {Name: "x3", New: ok, Options: []Option{{Name: "o", Default: 0, Min: 1, Max: 2}}},
		"odd type":         {Name: "x4", New: ok, Options: []Option{{Name: "o", Default: "text"}}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered", name)
				}
			}()
			Register(d)
		}()
	}
	if _, ok := Lookup("x1"); ok {
		t.Error("a refused mode is registered")
	}
}

// A mode whose spec does not match its declaration, or cannot travel on
// the wire, is refused by Build, never played with a zero spec.
func TestBuildRefusesBadSpecs(t *testing.T) {
	bad := map[string]func(s *Spec){
		"other name":       func(s *Spec) { s.Name = "tag" },
		"no speed":         func(s *Spec) { s.Speed = 0 },
		"no avatar radius": func(s *Spec) { s.AvatarRadius = 0 },
		"action bit 9":     func(s *Spec) { s.Actions = []Action{{Bit: 9, Name: "x"}} },
		"unnamed event":    func(s *Spec) { s.Events = append(s.Events, netcode.EventDecl{Type: 9}) },
		"no kinds":         func(s *Spec) { s.Schema.Kinds = nil },
	}
	for name, edit := range bad {
		d := Def{Name: "bad", New: func(Values) (Mode, error) {
			m := NewTag(TagConfig{})
			m.spec.Name = "bad"
			edit(&m.spec)
			return m, nil
		}}
		if _, err := build(d, nil); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}
