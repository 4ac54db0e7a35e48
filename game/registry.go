package game

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Def declares a mode to the registry: its name, what players read about
// it, the options an operator may set, and how to build it. A mode
// registers itself once, from its own file (Register in an init), and the
// server, the clients and the bots take it from there: nothing else lists
// modes.
type Def struct {
	// Name is the mode's name in queue messages; it must match the name
	// of the Spec that New returns.
	Name string
	// Title and Doc are shown to players (GET /v1/modes) and operators
	// (-h): a short title and a sentence.
	Title, Doc string
	// Options are the mode's settings, each with its default.
	Options []Option
	// New builds the mode with every option's value (set or default). It
	// returns an error for values it cannot play with.
	New func(v Values) (Mode, error)
}

// Option declares one setting of a mode, set on the server with
// -mode-opt <mode>.<name>=<value>.
type Option struct {
	// Name is the option's name ("players").
	Name string
	// Doc says what it sets, for -h and GET /v1/modes.
	Doc string
	// Default is its value when not set. Its type is the option's: int,
	// float64, time.Duration or bool.
	Default any
	// Min and Max bound a number (a duration in seconds), both included;
	// both 0: any value of the type.
	Min, Max float64
}

// Values are a mode's options as built: every declared option, with its
// set or default value. The getters panic on an undeclared name or a type
// other than the option's, a mistake of the mode's own code.
type Values struct {
	mode string
	v    map[string]any
}

func (v Values) get(name string) any {
	x, ok := v.v[name]
	if !ok {
		panic(fmt.Sprintf("game: mode %s has no option %q", v.mode, name))
	}
	return x
}

// Int returns the value of the int option name.
func (v Values) Int(name string) int { return v.get(name).(int) }

// Float returns the value of the float64 option name.
func (v Values) Float(name string) float64 { return v.get(name).(float64) }

// Duration returns the value of the time.Duration option name.
func (v Values) Duration(name string) time.Duration { return v.get(name).(time.Duration) }

// Bool returns the value of the bool option name.
func (v Values) Bool(name string) bool { return v.get(name).(bool) }

// Text returns the value of option name as -mode-opt takes it.
func (v Values) Text(name string) string { return FormatValue(v.get(name)) }

var registry struct {
	sync.Mutex
	defs map[string]Def
}

// Register adds mode d to the registry. It panics if d is incomplete
// (no name or New), its name is taken, or an option is declared twice or
// with a default of another type or out of its range: call it from an
// init function of the mode's own file.
func Register(d Def) {
	if d.Name == "" || d.New == nil {
		panic("game: Register: a mode needs a name and New")
	}
	if strings.ContainsAny(d.Name, ".= ") {
		panic(fmt.Sprintf("game: Register: mode name %q has '.', '=' or a space", d.Name))
	}
	for i, o := range d.Options {
		if o.Name == "" || strings.ContainsAny(o.Name, ".= ") {
			panic(fmt.Sprintf("game: Register: mode %s: option name %q", d.Name, o.Name))
		}
		for _, p := range d.Options[:i] {
			if p.Name == o.Name {
				panic(fmt.Sprintf("game: Register: mode %s: option %s declared twice", d.Name, o.Name))
			}
		}
		if _, err := o.Parse(FormatValue(o.Default)); err != nil {
			panic(fmt.Sprintf("game: Register: mode %s: option %s: default: %v", d.Name, o.Name, err))
		}
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.defs == nil {
		registry.defs = map[string]Def{}
	}
	if _, dup := registry.defs[d.Name]; dup {
		panic(fmt.Sprintf("game: Register: mode %s registered twice", d.Name))
	}
	d.Options = slices.Clone(d.Options)
	registry.defs[d.Name] = d
}

// Modes returns every registered mode, sorted by name.
func Modes() []Def {
	registry.Lock()
	defer registry.Unlock()
	out := make([]Def, 0, len(registry.defs))
	for _, d := range registry.defs {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Def) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Lookup returns the registered mode name.
func Lookup(name string) (Def, bool) {
	registry.Lock()
	defer registry.Unlock()
	d, ok := registry.defs[name]
	return d, ok
}

// Option returns d's option name.
func (d *Def) Option(name string) (Option, bool) {
	for _, o := range d.Options {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// FormatValue formats an option's value as -mode-opt takes it.
func FormatValue(x any) string {
	switch v := x.(type) {
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Duration:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(x)
}

// Type names the option's type: int, float, duration or bool.
func (o *Option) Type() string {
	switch o.Default.(type) {
	case int:
		return "int"
	case float64:
		return "float"
	case time.Duration:
		return "duration"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", o.Default)
}

// Range describes the option's bounds ("1 to 4096"), or "".
func (o *Option) Range() string {
	if o.Min == 0 && o.Max == 0 {
		return ""
	}
	f := func(x float64) string {
		if _, ok := o.Default.(time.Duration); ok {
			return time.Duration(x * float64(time.Second)).String()
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return f(o.Min) + " to " + f(o.Max)
}

// Parse parses s as a value of the option: of its type and within its
// bounds.
func (o *Option) Parse(s string) (any, error) {
	var x any
	var num float64
	switch o.Default.(type) {
	case int:
		v, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		x, num = v, float64(v)
	case float64:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v != v || v > 1e300 || v < -1e300 {
			return nil, fmt.Errorf("%q is not a finite number", s)
		}
		x, num = v, v
	case time.Duration:
		v, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration (e.g. 90s, 3m)", s)
		}
		x, num = v, v.Seconds()
	case bool:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return v, nil
	default:
		return nil, fmt.Errorf("unsupported option type %T", o.Default)
	}
	if (o.Min != 0 || o.Max != 0) && (num < o.Min || num > o.Max) {
		return nil, fmt.Errorf("%s is out of range (%s)", s, o.Range())
	}
	return x, nil
}

// ParseSetting parses an operator's setting "mode.option=value" against
// the registry: an unknown mode, an unknown option or a bad value is an
// error that says which.
func ParseSetting(s string) (mode, option string, value any, err error) {
	key, text, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", nil, fmt.Errorf("mode option %q: want mode.option=value", s)
	}
	mode, option, ok = strings.Cut(strings.TrimSpace(key), ".")
	if !ok || mode == "" || option == "" {
		return "", "", nil, fmt.Errorf("mode option %q: want mode.option=value", s)
	}
	d, ok := Lookup(mode)
	if !ok {
		return "", "", nil, fmt.Errorf("mode option %q: unknown mode %q (modes: %s)", s, mode, modeNames())
	}
	o, ok := d.Option(option)
	if !ok {
		return "", "", nil, fmt.Errorf("mode option %q: mode %s has no option %q (options: %s)", s, mode, option, optionNames(&d))
	}
	if value, err = o.Parse(strings.TrimSpace(text)); err != nil {
		return "", "", nil, fmt.Errorf("mode option %s.%s: %w", mode, option, err)
	}
	return mode, option, value, nil
}

func modeNames() string {
	var names []string
	for _, d := range Modes() {
		names = append(names, d.Name)
	}
	return strings.Join(names, ", ")
}

func optionNames(d *Def) string {
	var names []string
	for _, o := range d.Options {
		names = append(names, o.Name)
	}
	return strings.Join(names, ", ")
}

// Built is a registered mode built with its options.
type Built struct {
	Def    Def
	Values Values
	Mode   Mode
}

// Build builds every registered mode with its defaults overridden by
// settings ("mode.option=value"; a later one wins), sorted by name. Each
// mode's spec is validated (Spec.Validate) and must carry the mode's name.
func Build(settings []string) ([]Built, error) {
	set := map[string]map[string]any{}
	for _, s := range settings {
		mode, opt, v, err := ParseSetting(s)
		if err != nil {
			return nil, err
		}
		if set[mode] == nil {
			set[mode] = map[string]any{}
		}
		set[mode][opt] = v
	}
	var out []Built
	for _, d := range Modes() {
		b, err := build(d, set[d.Name])
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// NewMode builds the registered mode name with its defaults overridden by
// settings ("option=value", without the mode's name). An unknown mode is
// an error: there is no mode without a declaration.
func NewMode(name string, settings ...string) (Mode, error) {
	d, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown mode %q (modes: %s)", name, modeNames())
	}
	set := map[string]any{}
	for _, s := range settings {
		_, opt, v, err := ParseSetting(name + "." + s)
		if err != nil {
			return nil, err
		}
		set[opt] = v
	}
	b, err := build(d, set)
	return b.Mode, err
}

func build(d Def, set map[string]any) (Built, error) {
	vals := Values{mode: d.Name, v: make(map[string]any, len(d.Options))}
	for _, o := range d.Options {
		vals.v[o.Name] = o.Default
		if v, ok := set[o.Name]; ok {
			vals.v[o.Name] = v
		}
	}
	m, err := d.New(vals)
	if err != nil {
		return Built{}, fmt.Errorf("mode %s: %w", d.Name, err)
	}
	if m == nil {
		return Built{}, fmt.Errorf("mode %s: New returned no mode", d.Name)
	}
	spec := m.Spec()
	if spec.Name != d.Name {
		return Built{}, fmt.Errorf("mode %s: its spec is named %q", d.Name, spec.Name)
	}
	if err := spec.Validate(); err != nil {
		return Built{}, err
	}
	return Built{Def: d, Values: vals, Mode: m}, nil
}
