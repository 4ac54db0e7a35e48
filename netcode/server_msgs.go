package netcode

import "math"

// Standing is one player's line in a match result.
type Standing struct {
	PlayerID string
	Name     string
	Entity   uint32
	Score    int32
	Place    uint16
	// Team is the player's team in a team mode, from 1; 0 in a mode
	// without teams (the standing then travels without it).
	Team uint8
}

// Matched is the content of a matched message.
type Matched struct {
	MatchID        string
	Mode           string
	Entity         uint32
	TickRate       uint32
	WorldW, WorldH float32
	Schema         Schema
	// Tick is the match's current tick and EndTick the tick at which it
	// ends by the clock: time left is (EndTick - tick) / TickRate.
	Tick, EndTick uint32
	// AckSeq is the last input seq the match applied for this player: 0 in
	// a new match, where the player's seqs start again at 1; on a resumed
	// seat, inputs after it must be resent.
	AckSeq uint32
	// Info is the rest of the mode's declaration: movement, radii,
	// actions, events, teams and the immobility rule.
	Info ModeInfo
	// Spectating marks the answer to a spectate: the receiver watches the
	// match and has no avatar (Entity is 0, AckSeq 0). It travels as a
	// 13th element, [delayMs, follow]; a matched without it is a seat.
	Spectating bool
	// DelayMs is how far behind the live match the spectator's snapshots
	// are; Follow is the avatar entity the view follows (0: the whole
	// world).
	DelayMs, Follow uint32
}

// AppendWelcome appends a welcome frame.
func AppendWelcome(dst []byte, version uint32, playerID, name string, where uint8) []byte {
	dst = appendArray(dst, 5)
	dst = appendUint(dst, MsgWelcome)
	dst = appendUint(dst, uint64(version))
	dst = appendString(dst, playerID)
	dst = appendString(dst, name)
	return appendUint(dst, uint64(where))
}

// AppendQueued appends a queued frame.
func AppendQueued(dst []byte, mode string) []byte {
	dst = appendArray(dst, 2)
	dst = appendUint(dst, MsgQueued)
	return appendString(dst, mode)
}

// AppendMatched appends a matched frame (protocol version 3):
//
//	[2, matchId, mode, entity, tickRate, worldW, worldH, schema, tick, endTick, ackSeq, info]
//	schema = [posScale, [[name, shape, color, size, label, team, (meter, meterMax)]…], [[name, scale]…]]
//	info   = [speed, avatarRadius, interestRadius, [[bit, name, cooldownTicks, aimed]…],
//	          [[type, name, a, b]…], [[name, color]…], [] or [field, min, max]]
//
// Scales, sizes and radii are floats (float64). A spectator's matched
// (m.Spectating) has a 13th element, [delayMs, follow].
func AppendMatched(dst []byte, m *Matched) []byte {
	if m.Spectating {
		dst = appendArray(dst, 13)
	} else {
		dst = appendArray(dst, 12)
	}
	dst = appendUint(dst, MsgMatched)
	dst = appendString(dst, m.MatchID)
	dst = appendString(dst, m.Mode)
	dst = appendUint(dst, uint64(m.Entity))
	dst = appendUint(dst, uint64(m.TickRate))
	dst = appendFloat(dst, float64(m.WorldW))
	dst = appendFloat(dst, float64(m.WorldH))
	s := &m.Schema
	dst = appendArray(dst, 3)
	dst = appendFloat(dst, float64(s.PosScale))
	dst = appendArray(dst, len(s.Kinds))
	for _, k := range s.Kinds {
		if k.MeterMax > 0 {
			dst = appendArray(dst, 8)
		} else {
			dst = appendArray(dst, 6)
		}
		dst = appendString(dst, k.Name)
		dst = appendString(dst, k.Shape)
		dst = appendString(dst, k.Color)
		dst = appendFloat(dst, float64(k.Size))
		dst = appendInt(dst, int64(k.Label))
		dst = appendInt(dst, int64(k.Team))
		if k.MeterMax > 0 {
			dst = appendInt(dst, int64(k.Meter))
			dst = appendFloat(dst, float64(k.MeterMax))
		}
	}
	dst = appendArray(dst, len(s.Fields))
	for _, f := range s.Fields {
		dst = appendArray(dst, 2)
		dst = appendString(dst, f.Name)
		dst = appendFloat(dst, float64(f.Scale))
	}
	dst = appendUint(dst, uint64(m.Tick))
	dst = appendUint(dst, uint64(m.EndTick))
	dst = appendUint(dst, uint64(m.AckSeq))
	dst = appendModeInfo(dst, &m.Info)
	if m.Spectating {
		dst = appendArray(dst, 2)
		dst = appendUint(dst, uint64(m.DelayMs))
		dst = appendUint(dst, uint64(m.Follow))
	}
	return dst
}

// appendModeInfo appends the info element of a matched frame.
func appendModeInfo(dst []byte, mi *ModeInfo) []byte {
	dst = appendArray(dst, 7)
	dst = appendFloat(dst, float64(mi.Speed))
	dst = appendFloat(dst, float64(mi.AvatarRadius))
	dst = appendFloat(dst, float64(mi.InterestRadius))
	dst = appendArray(dst, len(mi.Actions))
	for _, a := range mi.Actions {
		dst = appendArray(dst, 4)
		dst = appendUint(dst, uint64(a.Bit))
		dst = appendString(dst, a.Name)
		dst = appendUint(dst, uint64(a.CooldownTicks))
		dst = appendBool(dst, a.Aimed)
	}
	dst = appendArray(dst, len(mi.Events))
	for _, e := range mi.Events {
		dst = appendArray(dst, 4)
		dst = appendUint(dst, uint64(e.Type))
		dst = appendString(dst, e.Name)
		dst = appendString(dst, e.A)
		dst = appendString(dst, e.B)
	}
	dst = appendArray(dst, len(mi.Teams))
	for _, t := range mi.Teams {
		dst = appendArray(dst, 2)
		dst = appendString(dst, t.Name)
		dst = appendString(dst, t.Color)
	}
	if im := mi.Immobile; im != nil {
		dst = appendArray(dst, 3)
		dst = appendUint(dst, uint64(im.Field))
		dst = appendFloat(dst, float64(im.Min))
		return appendFloat(dst, float64(im.Max))
	}
	return appendArray(dst, 0)
}

// AppendResult appends a result frame.
func AppendResult(dst []byte, outcome uint8, standings []Standing) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgResult)
	dst = appendUint(dst, uint64(outcome))
	dst = appendArray(dst, len(standings))
	for _, s := range standings {
		n := 5
		if s.Team != 0 {
			n = 6
		}
		dst = appendArray(dst, n)
		dst = appendString(dst, s.PlayerID)
		dst = appendString(dst, s.Name)
		dst = appendUint(dst, uint64(s.Entity))
		dst = appendInt(dst, int64(s.Score))
		dst = appendUint(dst, uint64(s.Place))
		if s.Team != 0 {
			dst = appendUint(dst, uint64(s.Team))
		}
	}
	return dst
}

// AppendPong appends a pong frame that echoes clientTime, the MessagePack
// encoding of the ping's clientTime exactly as the client sent it
// (ClientMsg.RawClientTime).
func AppendPong(dst []byte, clientTime []byte, serverTimeMs uint64) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgPong)
	dst = append(dst, clientTime...)
	return appendUint(dst, serverTimeMs)
}

// MaxURL is the longest URL a moved message may carry.
const MaxURL = 1024

// AppendMoved appends a moved frame: the player's seat is at the node whose
// base URL is url.
func AppendMoved(dst []byte, url string) []byte {
	dst = appendArray(dst, 2)
	dst = appendUint(dst, MsgMoved)
	return appendString(dst, url)
}

// AppendError appends an error frame.
func AppendError(dst []byte, code ErrorCode) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgError)
	dst = appendUint(dst, uint64(code))
	return appendString(dst, code.String())
}

// Limits of the server-frame decoder. They bound what a client allocates for
// a frame from a faulty or hostile server.
const (
	maxEntities  = 1 << 16
	maxList      = 4096
	maxStrServer = 256
)

// ServerMsg is one decoded server frame. Only the fields of its Type are
// set; its slices are reused from one DecodeServer to the next.
type ServerMsg struct {
	Type uint8
	// welcome
	Version  uint32
	PlayerID string
	Name     string
	Where    uint8 // WhereLobby, WhereQueued or WhereSeated
	// queued
	Mode string
	// matched
	Matched Matched
	// snapshot
	Snapshot Snapshot
	// result
	Outcome   uint8
	Standings []Standing
	// pong
	ClientTime   float64
	ServerTimeMs uint64
	// error
	ErrCode ErrorCode
	ErrText string
	// moved: the base URL of the node to reconnect to
	URL string
}

// DecodeServer decodes one server frame into m. Snapshots are dequantized
// with schema (from the matched message); schema may be nil for other
// messages. Lengths are bounded like those of DecodeClient.
func (r *Reader) DecodeServer(frame []byte, m *ServerMsg, schema *Schema) error {
	n, typ, err := r.header(frame, 64)
	if err != nil {
		return err
	}
	m.Type = typ
	d := dec{r: r}
	need := 1
	switch m.Type {
	case MsgWelcome:
		need = 4
		if n < need {
			return errTruncated
		}
		m.Version = d.u32()
		m.PlayerID = d.string(maxStrServer)
		m.Name = d.string(maxStrServer)
		m.Where = WhereLobby
		if n >= 5 {
			need = 5
			m.Where = d.u8()
		}
	case MsgQueued:
		need = 2
		if n < need {
			return errTruncated
		}
		m.Mode = d.string(maxStrServer)
	case MsgMatched:
		need = 12
		if n < need {
			return errTruncated
		}
		d.matched(&m.Matched)
		m.Matched.Spectating, m.Matched.DelayMs, m.Matched.Follow = false, 0, 0
		if n >= 13 {
			need = 13
			d.spectating(&m.Matched)
		}
	case MsgSnapshot:
		need = snapFixed
		if n < need {
			return errTruncated
		}
		if schema == nil {
			return errType
		}
		need = d.snapshot(&m.Snapshot, schema, n)
	case MsgResult:
		need = 3
		if n < need {
			return errTruncated
		}
		d.result(m)
	case MsgPong:
		need = 3
		if n < need {
			return errTruncated
		}
		m.ClientTime = d.float()
		m.ServerTimeMs = d.uint(math.MaxInt64)
	case MsgError:
		need = 3
		if n < need {
			return errTruncated
		}
		m.ErrCode = ErrorCode(d.u16())
		m.ErrText = d.string(maxStrServer)
	case MsgMoved:
		need = 2
		if n < need {
			return errTruncated
		}
		m.URL = d.string(MaxURL)
	default:
		return errUnknown
	}
	d.skipRest(n - need)
	if d.err != nil {
		return d.err
	}
	return r.End()
}

func (d *dec) matched(m *Matched) {
	m.MatchID = d.string(maxStrServer)
	m.Mode = d.string(maxStrServer)
	m.Entity = d.u32()
	m.TickRate = uint32(d.uint(1000))
	m.WorldW, m.WorldH = d.float32(), d.float32()
	d.schema(&m.Schema)
	m.Tick = d.u32()
	m.EndTick = d.u32()
	m.AckSeq = d.u32()
	d.modeInfo(&m.Info, &m.Schema)
}

// spectating reads the 13th element of a spectator's matched.
func (d *dec) spectating(m *Matched) {
	n := d.fields(2, 16)
	m.DelayMs, m.Follow = d.u32(), d.u32()
	d.skipRest(n - 2)
	m.Spectating = d.ok()
}

// fields reads the header of an array of at least min elements (at most
// max) and returns its length; the caller skips what it does not read.
func (d *dec) fields(min, max int) int {
	n := d.arrayLen(max)
	if d.ok() && n < min {
		d.fail(errTruncated)
	}
	return n
}

// schema reads matched's schema and validates it.
func (d *dec) schema(s *Schema) {
	n := d.fields(3, 16)
	s.PosScale = d.float32()
	k := d.arrayLen(MaxKinds)
	s.Kinds = s.Kinds[:0]
	for i := 0; i < k && d.ok(); i++ {
		kl := d.fields(6, 16)
		kd := Kind{Name: d.string(maxStrServer), Shape: d.string(maxStrServer), Color: d.string(maxStrServer), Size: d.float32()}
		kd.Label = int8(d.int(LabelOwner, MaxFields-1))
		kd.Team = int8(d.int(-1, MaxFields-1))
		if kl >= 8 {
			kd.Meter = int8(d.int(0, MaxFields-1))
			kd.MeterMax = d.float32()
			d.skipRest(kl - 8)
		} else {
			d.skipRest(kl - 6)
		}
		if d.ok() {
			s.Kinds = append(s.Kinds, kd)
		}
	}
	f := d.arrayLen(MaxFields)
	s.Fields = s.Fields[:0]
	for i := 0; i < f && d.ok(); i++ {
		fl := d.fields(2, 8)
		fd := Field{Name: d.string(maxStrServer), Scale: d.float32()}
		d.skipRest(fl - 2)
		if d.ok() {
			s.Fields = append(s.Fields, fd)
		}
	}
	d.skipRest(n - 3)
	if d.ok() {
		d.fail(s.Validate())
	}
}

// modeInfo reads matched's info element. Event argument meanings are
// taken as sent (a later revision may add some); a kind's team field
// needs teams, and the immobility rule a field of schema s.
func (d *dec) modeInfo(mi *ModeInfo, s *Schema) {
	n := d.fields(7, 16)
	mi.Speed, mi.AvatarRadius, mi.InterestRadius = d.float32(), d.float32(), d.float32()
	na := d.arrayLen(MaxActions)
	mi.Actions = mi.Actions[:0]
	var used uint16
	for i := 0; i < na && d.ok(); i++ {
		al := d.fields(4, 8)
		bit := d.uint(7)
		if d.ok() && used&(1<<bit) != 0 {
			d.fail(errRange)
		}
		used |= 1 << bit
		a := Action{Bit: uint8(bit), Name: d.string(maxStrServer), CooldownTicks: d.u32(), Aimed: d.bool()}
		d.skipRest(al - 4)
		if d.ok() {
			mi.Actions = append(mi.Actions, a)
		}
	}
	ne := d.arrayLen(MaxEvents)
	mi.Events = mi.Events[:0]
	for i := 0; i < ne && d.ok(); i++ {
		el := d.fields(4, 8)
		e := EventDecl{Type: d.u8(), Name: d.string(maxStrServer), A: d.string(maxStrServer), B: d.string(maxStrServer)}
		d.skipRest(el - 4)
		if d.ok() {
			mi.Events = append(mi.Events, e)
		}
	}
	nt := d.arrayLen(MaxTeams)
	mi.Teams = mi.Teams[:0]
	for i := 0; i < nt && d.ok(); i++ {
		tl := d.fields(2, 8)
		t := Team{Name: d.string(maxStrServer), Color: d.string(maxStrServer)}
		d.skipRest(tl - 2)
		if d.ok() {
			mi.Teams = append(mi.Teams, t)
		}
	}
	il := d.arrayLen(8)
	mi.Immobile = nil
	if d.ok() && il > 0 {
		if il < 3 || len(s.Fields) == 0 {
			d.fail(errTruncated)
		}
		im := Immobile{Field: uint8(d.uint(uint64(max(len(s.Fields)-1, 0)))), Min: d.float32(), Max: d.float32()}
		d.skipRest(il - 3)
		if d.ok() {
			mi.Immobile = &im
		}
	}
	for _, k := range s.Kinds {
		if d.ok() && k.Team >= 0 && len(mi.Teams) == 0 {
			d.fail(errRange)
		}
	}
	d.skipRest(n - 7)
}

func (d *dec) result(m *ServerMsg) {
	m.Outcome = d.u8()
	n := d.arrayLen(maxList)
	m.Standings = m.Standings[:0]
	for i := 0; i < n && d.ok(); i++ {
		// 5 elements, or 6 with a team.
		l := d.fields(5, 6)
		s := Standing{
			PlayerID: d.string(maxStrServer),
			Name:     d.string(maxStrServer),
			Entity:   d.u32(),
			Score:    d.i32(),
			Place:    d.u16(),
		}
		if l == 6 {
			s.Team = d.u8()
		}
		if d.ok() {
			m.Standings = append(m.Standings, s)
		}
	}
}
