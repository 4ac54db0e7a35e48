package match

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"

	"skirmish/game"
	"skirmish/netcode"
)

// The input log of a match (a replay): what a match is a function of, so
// that Replay can compute it again. docs/PROTOCOL.md, "Replay logs",
// describes the format for readers in other languages; in short:
//
//	log    = magic "SKRL", version (uvarint, 1), header, record...
//	header = matchID (str), mode (str), settings (uvarint n, str...),
//	         seed (8 bytes LE), tickRate, idBase, rewindTicks (uvarints),
//	         startUnixMs (zigzag varint), checkpoint (uvarint n, n bytes)
//	record = kind (1 byte) and its fields
//	str    = uvarint length, UTF-8 bytes
//
// A record of kind step ends a tick: the records before it since the last
// step are the seat events and the inputs of that tick, in the order the
// match applied them. The end record closes the log.
const (
	// LogVersion is the version of the log format, after the magic.
	LogVersion = 1
	logMagic   = "SKRL"
)

// Record kinds.
const (
	RecStep  uint8 = 1 // a tick ran: Step, then the next tick
	RecJoin  uint8 = 2 // seat, player id, name: rules.Join
	RecLeave uint8 = 3 // seat: rules.Leave
	RecAway  uint8 = 4 // seat: the player's connection dropped (Player.Away)
	RecBack  uint8 = 5 // seat: the player is back
	RecInput uint8 = 6 // seat, the input (delta-coded): rules.Apply
	RecEnd   uint8 = 7 // ticks, state hash, outcome, standings
)

// Bits of an input record's mask: which fields differ from the seat's
// previous input (all zero after a join). A seq is the previous one plus 1
// unless inSeq is set.
const (
	inMoveX = 1 << iota
	inMoveY
	inButtons
	inAimX
	inAimY
	inViewTick
	inViewFrac
	inSeq
)

// Limits of a decoded log. Every length is also checked against the bytes
// left, so what a decoder allocates is in proportion to its input.
const (
	maxLogString     = 256
	maxLogSettings   = 64
	maxLogCheckpoint = 64 << 20
	maxLogStandings  = 1 << 16
	// MaxLogSeats bounds the seats a LogReader tracks.
	MaxLogSeats = 1 << 16
)

// LogHeader is the start of an input log.
type LogHeader struct {
	MatchID, Mode string
	// Settings are the mode's options as game.NewMode takes them
	// ("players=8"), every option of the mode.
	Settings []string
	Seed     uint64
	TickRate int
	IDBase   uint32
	// RewindTicks is the world's rewind bound in ticks (lag compensation).
	RewindTicks uint32
	// StartUnixMs is when the match started: metadata, not simulated.
	StartUnixMs int64
	// Checkpoint, if not empty, is the state the log starts from (an
	// AppendCheckpoint of a match adopted from another node); Seed and
	// IDBase are then unused.
	Checkpoint []byte
}

// appendLogHeader appends the magic, the version and h.
func appendLogHeader(b []byte, h *LogHeader) []byte {
	b = append(b, logMagic...)
	b = binary.AppendUvarint(b, LogVersion)
	b = appendLogString(b, h.MatchID)
	b = appendLogString(b, h.Mode)
	b = binary.AppendUvarint(b, uint64(len(h.Settings)))
	for _, s := range h.Settings {
		b = appendLogString(b, s)
	}
	b = binary.LittleEndian.AppendUint64(b, h.Seed)
	b = binary.AppendUvarint(b, uint64(h.TickRate))
	b = binary.AppendUvarint(b, uint64(h.IDBase))
	b = binary.AppendUvarint(b, uint64(h.RewindTicks))
	b = binary.AppendVarint(b, h.StartUnixMs)
	b = binary.AppendUvarint(b, uint64(len(h.Checkpoint)))
	return append(b, h.Checkpoint...)
}

func appendLogString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendInput appends the input record of seat, in delta-coded against
// prev (the seat's previous input), and sets *prev to in. It allocates
// nothing when b has room.
func appendInput(b []byte, seat int, in, prev *netcode.Input) []byte {
	var mask uint8
	if math.Float32bits(in.MoveX) != math.Float32bits(prev.MoveX) {
		mask |= inMoveX
	}
	if math.Float32bits(in.MoveY) != math.Float32bits(prev.MoveY) {
		mask |= inMoveY
	}
	if in.Buttons != prev.Buttons {
		mask |= inButtons
	}
	if math.Float32bits(in.AimX) != math.Float32bits(prev.AimX) {
		mask |= inAimX
	}
	if math.Float32bits(in.AimY) != math.Float32bits(prev.AimY) {
		mask |= inAimY
	}
	if in.ViewTick != prev.ViewTick {
		mask |= inViewTick
	}
	if math.Float32bits(in.ViewFrac) != math.Float32bits(prev.ViewFrac) {
		mask |= inViewFrac
	}
	if in.Seq != prev.Seq+1 {
		mask |= inSeq
	}
	b = append(b, RecInput)
	b = binary.AppendUvarint(b, uint64(seat))
	b = append(b, mask)
	if mask&inSeq != 0 {
		b = binary.AppendVarint(b, int64(in.Seq)-int64(prev.Seq)-1)
	}
	if mask&inMoveX != 0 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(in.MoveX))
	}
	if mask&inMoveY != 0 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(in.MoveY))
	}
	if mask&inButtons != 0 {
		b = append(b, in.Buttons)
	}
	if mask&inAimX != 0 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(in.AimX))
	}
	if mask&inAimY != 0 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(in.AimY))
	}
	if mask&inViewTick != 0 {
		b = binary.AppendVarint(b, int64(in.ViewTick)-int64(prev.ViewTick))
	}
	if mask&inViewFrac != 0 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(in.ViewFrac))
	}
	*prev = *in
	return b
}

// appendLogEnd appends the end record.
func appendLogEnd(b []byte, ticks, hash uint64, outcome uint8, standings []netcode.Standing) []byte {
	b = append(b, RecEnd)
	b = binary.AppendUvarint(b, ticks)
	b = binary.LittleEndian.AppendUint64(b, hash)
	b = append(b, outcome)
	b = binary.AppendUvarint(b, uint64(len(standings)))
	for i := range standings {
		s := &standings[i]
		b = binary.AppendUvarint(b, uint64(s.Place))
		b = binary.AppendVarint(b, int64(s.Score))
		b = append(b, s.Team)
		b = appendLogString(b, s.PlayerID)
		b = appendLogString(b, s.Name)
	}
	return b
}

// LogEnd is a log's end record.
type LogEnd struct {
	// Ticks is the number of ticks the world had run (World.Tick).
	Ticks uint64
	// Hash is StateHash of the match at its end.
	Hash    uint64
	Outcome uint8
	// Standings are the result sent to the players (place, score, team,
	// player id, name; the entity is not recorded).
	Standings []netcode.Standing
}

// LogRecord is one record of a log, as LogReader.Next returns it; only
// the fields of its Kind are set.
type LogRecord struct {
	Kind           uint8
	Seat           int
	PlayerID, Name string        // RecJoin
	Input          netcode.Input // RecInput
	End            LogEnd        // RecEnd
}

// ErrLogIncomplete is the error of a log that stops, at a record's end,
// before its end record: its match was still running, or its writer fell
// behind and gave up the rest.
var ErrLogIncomplete = errors.New("replay log: incomplete (no end record)")

// LogReader reads a log from bytes that may be hostile: every length is
// checked against a limit and against the bytes left before it is used.
type LogReader struct {
	b    []byte
	off  int
	prev []netcode.Input // each seat's previous input
	end  bool
}

// NewLogReader reads the header of log b and returns it with a reader of
// the records that follow (call SetSeats before Next). A header that is
// not a log of LogVersion, or is cut short, is an error. The header's
// Checkpoint shares b's bytes.
func NewLogReader(b []byte) (*LogReader, *LogHeader, error) {
	r := &LogReader{b: b}
	if len(b) < len(logMagic) || string(b[:len(logMagic)]) != logMagic {
		return nil, nil, errors.New("replay log: not a log (bad magic)")
	}
	r.off = len(logMagic)
	v, err := r.uvarint()
	if err != nil {
		return nil, nil, err
	}
	if v != LogVersion {
		return nil, nil, fmt.Errorf("replay log: version %d (this build reads %d)", v, LogVersion)
	}
	h := &LogHeader{}
	if h.MatchID, err = r.str(); err != nil {
		return nil, nil, err
	}
	if h.Mode, err = r.str(); err != nil {
		return nil, nil, err
	}
	n, err := r.uvarint()
	if err != nil {
		return nil, nil, err
	}
	if n > maxLogSettings || n > uint64(r.left()) {
		return nil, nil, fmt.Errorf("replay log: %d settings", n)
	}
	h.Settings = make([]string, n)
	for i := range h.Settings {
		if h.Settings[i], err = r.str(); err != nil {
			return nil, nil, err
		}
	}
	if r.left() < 8 {
		return nil, nil, errLogShort
	}
	h.Seed = binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	tr, err := r.uvarint()
	if err != nil {
		return nil, nil, err
	}
	if tr < 1 || tr > 128 {
		return nil, nil, fmt.Errorf("replay log: tick rate %d", tr)
	}
	h.TickRate = int(tr)
	base, err := r.uvarint()
	if err != nil {
		return nil, nil, err
	}
	rw, err := r.uvarint()
	if err != nil {
		return nil, nil, err
	}
	if base > math.MaxUint32 {
		return nil, nil, errors.New("replay log: id base beyond 32 bits")
	}
	// The rewind bound sizes the world's position history: no more than
	// MaxRewind at the log's tick rate, as a match can have.
	if rw > uint64(MaxRewind.Seconds()*float64(tr)) {
		return nil, nil, fmt.Errorf("replay log: rewind bound of %d ticks over %v", rw, MaxRewind)
	}
	h.IDBase, h.RewindTicks = uint32(base), uint32(rw)
	if h.StartUnixMs, err = r.varint(); err != nil {
		return nil, nil, err
	}
	n, err = r.uvarint()
	if err != nil {
		return nil, nil, err
	}
	if n > maxLogCheckpoint || n > uint64(r.left()) {
		return nil, nil, fmt.Errorf("replay log: checkpoint of %d bytes", n)
	}
	if n > 0 {
		h.Checkpoint = r.b[r.off : r.off+int(n) : r.off+int(n)]
		r.off += int(n)
	}
	return r, h, nil
}

// SetSeats sets how many seats the reader tracks (the mode's MaxPlayers):
// a record of another seat is an error. It must be called before Next.
func (r *LogReader) SetSeats(seats int) error {
	if seats < 1 || seats > MaxLogSeats {
		return fmt.Errorf("replay log: %d seats", seats)
	}
	r.prev = make([]netcode.Input, seats)
	return nil
}

var errLogShort = errors.New("replay log: truncated in a record")

func (r *LogReader) left() int { return len(r.b) - r.off }

func (r *LogReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, errLogShort
	}
	r.off += n
	return v, nil
}

func (r *LogReader) varint() (int64, error) {
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		return 0, errLogShort
	}
	r.off += n
	return v, nil
}

func (r *LogReader) str() (string, error) {
	n, err := r.uvarint()
	if err != nil {
		return "", err
	}
	if n > maxLogString {
		return "", fmt.Errorf("replay log: string of %d bytes (at most %d)", n, maxLogString)
	}
	if n > uint64(r.left()) {
		return "", errLogShort
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s, nil
}

func (r *LogReader) f32() (float32, error) {
	if r.left() < 4 {
		return 0, errLogShort
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(r.b[r.off:]))
	r.off += 4
	return v, nil
}

func (r *LogReader) byte() (byte, error) {
	if r.left() < 1 {
		return 0, errLogShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *LogReader) seat() (int, error) {
	v, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if v >= uint64(len(r.prev)) {
		return 0, fmt.Errorf("replay log: seat %d of %d", v, len(r.prev))
	}
	return int(v), nil
}

// Next reads the next record into rec. After the end record it returns
// io.EOF-like false with a nil error; a log that stops before its end
// record returns ErrLogIncomplete; bytes after the end record, an unknown
// kind or a truncated record are errors.
func (r *LogReader) Next(rec *LogRecord) (bool, error) {
	if r.end {
		if r.left() != 0 {
			return false, fmt.Errorf("replay log: %d bytes after the end record", r.left())
		}
		return false, nil
	}
	if r.prev == nil {
		return false, errors.New("replay log: SetSeats not called")
	}
	if r.left() == 0 {
		return false, ErrLogIncomplete
	}
	kind, _ := r.byte()
	*rec = LogRecord{Kind: kind}
	var err error
	switch kind {
	case RecStep:
	case RecJoin:
		if rec.Seat, err = r.seat(); err != nil {
			return false, err
		}
		if rec.PlayerID, err = r.str(); err != nil {
			return false, err
		}
		if rec.Name, err = r.str(); err != nil {
			return false, err
		}
		r.prev[rec.Seat] = netcode.Input{}
	case RecLeave, RecAway, RecBack:
		if rec.Seat, err = r.seat(); err != nil {
			return false, err
		}
	case RecInput:
		if rec.Seat, err = r.seat(); err != nil {
			return false, err
		}
		err = r.input(&rec.Input, &r.prev[rec.Seat])
	case RecEnd:
		err = r.readEnd(&rec.End)
		r.end = err == nil
	default:
		return false, fmt.Errorf("replay log: record kind %d at byte %d", kind, r.off-1)
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

func (r *LogReader) input(in, prev *netcode.Input) error {
	mask, err := r.byte()
	if err != nil {
		return err
	}
	*in = *prev
	in.Seq = prev.Seq + 1
	if mask&inSeq != 0 {
		d, err := r.varint()
		if err != nil {
			return err
		}
		s := int64(prev.Seq) + 1 + d
		if s < 0 || s > math.MaxUint32 {
			return fmt.Errorf("replay log: seq %d", s)
		}
		in.Seq = uint32(s)
	}
	for _, f := range [...]struct {
		bit uint8
		v   *float32
	}{{inMoveX, &in.MoveX}, {inMoveY, &in.MoveY}} {
		if mask&f.bit != 0 {
			if *f.v, err = r.f32(); err != nil {
				return err
			}
		}
	}
	if mask&inButtons != 0 {
		if in.Buttons, err = r.byte(); err != nil {
			return err
		}
	}
	if mask&inAimX != 0 {
		if in.AimX, err = r.f32(); err != nil {
			return err
		}
	}
	if mask&inAimY != 0 {
		if in.AimY, err = r.f32(); err != nil {
			return err
		}
	}
	if mask&inViewTick != 0 {
		d, err := r.varint()
		if err != nil {
			return err
		}
		t := int64(prev.ViewTick) + d
		if t < 0 || t > math.MaxUint32 {
			return fmt.Errorf("replay log: view tick %d", t)
		}
		in.ViewTick = uint32(t)
	}
	if mask&inViewFrac != 0 {
		if in.ViewFrac, err = r.f32(); err != nil {
			return err
		}
	}
	*prev = *in
	return nil
}

func (r *LogReader) readEnd(e *LogEnd) error {
	var err error
	if e.Ticks, err = r.uvarint(); err != nil {
		return err
	}
	if r.left() < 9 {
		return errLogShort
	}
	e.Hash = binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	e.Outcome, _ = r.byte()
	n, err := r.uvarint()
	if err != nil {
		return err
	}
	// A standing takes at least 5 bytes.
	if n > maxLogStandings || n*5 > uint64(r.left()) {
		return fmt.Errorf("replay log: %d standings", n)
	}
	e.Standings = make([]netcode.Standing, n)
	for i := range e.Standings {
		s := &e.Standings[i]
		place, err := r.uvarint()
		if err != nil {
			return err
		}
		if place > math.MaxUint16 {
			return fmt.Errorf("replay log: place %d", place)
		}
		s.Place = uint16(place)
		score, err := r.varint()
		if err != nil {
			return err
		}
		if score < math.MinInt32 || score > math.MaxInt32 {
			return fmt.Errorf("replay log: score %d", score)
		}
		s.Score = int32(score)
		if s.Team, err = r.byte(); err != nil {
			return err
		}
		if s.PlayerID, err = r.str(); err != nil {
			return err
		}
		if s.Name, err = r.str(); err != nil {
			return err
		}
	}
	return nil
}

// StateHash is the 64-bit FNV-1a hash of everything a match's future
// depends on, between two ticks: the world's state (World.SaveState: the
// tick, the random source, the ID and slot allocators, every entity in
// order), the rules' state (game.Portable, if they have one) and every
// seat (taken or not; its player's id, name, entity, score, team and
// away flag). Two matches with the same hash are, for all practical
// purposes, in the same state.
func StateHash(w *game.World, rules game.Rules) uint64 {
	var st game.WorldState
	w.SaveState(&st)
	b := make([]byte, 0, 256+64*len(st.Entities))
	b = binary.LittleEndian.AppendUint64(b, st.Tick)
	b = appendLogString(b, string(st.Rng))
	b = binary.LittleEndian.AppendUint32(b, st.NextID)
	b = binary.LittleEndian.AppendUint32(b, uint32(st.Slots))
	b = binary.AppendUvarint(b, uint64(len(st.FreeSlots)))
	for _, s := range st.FreeSlots {
		b = binary.LittleEndian.AppendUint32(b, uint32(s))
	}
	b = binary.AppendUvarint(b, uint64(len(st.Entities)))
	for i := range st.Entities {
		e := &st.Entities[i]
		b = binary.LittleEndian.AppendUint32(b, e.ID)
		b = append(b, e.Kind)
		for _, f := range [...]float32{e.X, e.Y, e.VX, e.VY, e.Radius, e.Timer} {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
		for _, f := range e.F {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
		b = binary.AppendVarint(b, int64(e.Owner))
		b = binary.LittleEndian.AppendUint32(b, uint32(e.Slot))
	}
	if p, ok := rules.(game.Portable); ok {
		rs := p.AppendState(nil)
		b = binary.AppendUvarint(b, uint64(len(rs)))
		b = append(b, rs...)
	}
	b = binary.AppendUvarint(b, uint64(len(w.Players)))
	for _, p := range w.Players {
		if p == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = appendLogString(b, p.ID)
		b = appendLogString(b, p.Name)
		b = binary.LittleEndian.AppendUint32(b, p.Entity)
		b = binary.LittleEndian.AppendUint32(b, uint32(p.Score))
		b = append(b, p.Team)
		if p.Away {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64()
}

// Offset is the offset in the log of the next record.
func (r *LogReader) Offset() int { return r.off }
