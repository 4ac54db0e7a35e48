package netcode

import "math"

// Standing is one player's line in a match result.
type Standing struct {
	PlayerID string
	Name     string
	Entity   uint32
	Score    int32
	Place    uint16
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

// AppendMatched appends a matched frame.
func AppendMatched(dst []byte, m *Matched) []byte {
	dst = appendArray(dst, 11)
	dst = appendUint(dst, MsgMatched)
	dst = appendString(dst, m.MatchID)
	dst = appendString(dst, m.Mode)
	dst = appendUint(dst, uint64(m.Entity))
	dst = appendUint(dst, uint64(m.TickRate))
	dst = appendFloat(dst, float64(m.WorldW))
	dst = appendFloat(dst, float64(m.WorldH))
	s := &m.Schema
	dst = appendArray(dst, 3)
	dst = appendUint(dst, uint64(s.PosScale))
	dst = appendArray(dst, len(s.Kinds))
	for _, k := range s.Kinds {
		dst = appendString(dst, k)
	}
	dst = appendArray(dst, len(s.Fields))
	for _, f := range s.Fields {
		dst = appendArray(dst, 2)
		dst = appendString(dst, f.Name)
		dst = appendUint(dst, uint64(f.Scale))
	}
	dst = appendUint(dst, uint64(m.Tick))
	dst = appendUint(dst, uint64(m.EndTick))
	return appendUint(dst, uint64(m.AckSeq))
}

// AppendResult appends a result frame.
func AppendResult(dst []byte, outcome uint8, standings []Standing) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgResult)
	dst = appendUint(dst, uint64(outcome))
	dst = appendArray(dst, len(standings))
	for _, s := range standings {
		dst = appendArray(dst, 5)
		dst = appendString(dst, s.PlayerID)
		dst = appendString(dst, s.Name)
		dst = appendUint(dst, uint64(s.Entity))
		dst = appendInt(dst, int64(s.Score))
		dst = appendUint(dst, uint64(s.Place))
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
		need = 11
		if n < need {
			return errTruncated
		}
		d.matched(&m.Matched)
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
	m.WorldW, m.WorldH = float32(d.float()), float32(d.float())
	n := d.arrayLen(16)
	if d.ok() && n < 3 {
		d.fail(errTruncated)
	}
	s := &m.Schema
	s.PosScale = float32(d.uint(1 << 20))
	k := d.arrayLen(255)
	s.Kinds = s.Kinds[:0]
	for i := 0; i < k && d.ok(); i++ {
		if name := d.string(maxStrServer); d.ok() {
			s.Kinds = append(s.Kinds, name)
		}
	}
	f := d.arrayLen(MaxFields)
	s.Fields = s.Fields[:0]
	for i := 0; i < f && d.ok(); i++ {
		fl := d.arrayLen(8)
		if d.ok() && fl < 2 {
			d.fail(errTruncated)
		}
		name := d.string(maxStrServer)
		sc := d.uint(1 << 20)
		d.skipRest(fl - 2)
		if d.ok() {
			s.Fields = append(s.Fields, Field{Name: name, Scale: float32(sc)})
		}
	}
	d.skipRest(n - 3)
	if d.ok() {
		d.fail(s.Validate())
	}
	m.Tick = d.u32()
	m.EndTick = d.u32()
	m.AckSeq = d.u32()
}

func (d *dec) result(m *ServerMsg) {
	m.Outcome = d.u8()
	n := d.arrayLen(maxList)
	m.Standings = m.Standings[:0]
	for i := 0; i < n && d.ok(); i++ {
		d.tuple(5)
		s := Standing{
			PlayerID: d.string(maxStrServer),
			Name:     d.string(maxStrServer),
			Entity:   d.u32(),
			Score:    d.i32(),
			Place:    d.u16(),
		}
		if d.ok() {
			m.Standings = append(m.Standings, s)
		}
	}
}
