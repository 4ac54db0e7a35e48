package netcode

import "math"

// Reject reports an input that was not applied, and why.
type Reject struct {
	Seq  uint32
	Code uint8
}

// Event is something that happened during a tick (EventHit, …).
type Event struct {
	Type uint8
	A, B uint32
}

// Score is one seated player's score, keyed by their avatar.
type Score struct {
	Entity uint32
	Score  int32
}

// Standing is one player's line in a match result.
type Standing struct {
	PlayerID string
	Name     string
	Entity   uint32
	Score    int32
	Place    uint16
}

// SnapshotHeader is everything in a snapshot but its entities.
type SnapshotHeader struct {
	Tick       uint32
	AckSeq     uint32
	Rejects    []Reject
	Events     []Event
	TimeLeftMs uint32
	Scores     []Score
}

// Snapshot is a decoded snapshot, entities dequantized.
type Snapshot struct {
	SnapshotHeader
	Entities []Entity
}

// Matched is the content of a matched message.
type Matched struct {
	MatchID        string
	Mode           string
	Entity         uint32
	TickRate       uint32
	WorldW, WorldH float32
	Schema         Schema
}

// AppendWelcome appends a welcome frame.
func AppendWelcome(dst []byte, version uint32, playerID, name string) []byte {
	dst = appendArray(dst, 4)
	dst = appendUint(dst, MsgWelcome)
	dst = appendUint(dst, uint64(version))
	dst = appendString(dst, playerID)
	return appendString(dst, name)
}

// AppendQueued appends a queued frame.
func AppendQueued(dst []byte, mode string) []byte {
	dst = appendArray(dst, 2)
	dst = appendUint(dst, MsgQueued)
	return appendString(dst, mode)
}

// AppendMatched appends a matched frame.
func AppendMatched(dst []byte, m *Matched) []byte {
	dst = appendArray(dst, 8)
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
	return dst
}

// AppendSnapshotHeader appends a snapshot frame up to and including the
// header of its entity array; the caller then appends exactly entities
// entities with AppendEntity.
func AppendSnapshotHeader(dst []byte, h *SnapshotHeader, entities int) []byte {
	dst = appendArray(dst, 8)
	dst = appendUint(dst, MsgSnapshot)
	dst = appendUint(dst, uint64(h.Tick))
	dst = appendUint(dst, uint64(h.AckSeq))
	dst = appendArray(dst, len(h.Rejects))
	for _, r := range h.Rejects {
		dst = appendArray(dst, 2)
		dst = appendUint(dst, uint64(r.Seq))
		dst = appendUint(dst, uint64(r.Code))
	}
	dst = appendArray(dst, len(h.Events))
	for _, e := range h.Events {
		dst = appendArray(dst, 3)
		dst = appendUint(dst, uint64(e.Type))
		dst = appendUint(dst, uint64(e.A))
		dst = appendUint(dst, uint64(e.B))
	}
	dst = appendUint(dst, uint64(h.TimeLeftMs))
	dst = appendArray(dst, len(h.Scores))
	for _, s := range h.Scores {
		dst = appendArray(dst, 2)
		dst = appendUint(dst, uint64(s.Entity))
		dst = appendInt(dst, int64(s.Score))
	}
	return appendArray(dst, entities)
}

// AppendEntity appends one entity, quantized by s.
func AppendEntity(dst []byte, s *Schema, e *Entity) []byte {
	dst = appendArray(dst, 4+len(s.Fields))
	dst = appendUint(dst, uint64(e.ID))
	dst = appendUint(dst, uint64(e.Kind))
	dst = appendInt(dst, Quantize(e.X, s.PosScale))
	dst = appendInt(dst, Quantize(e.Y, s.PosScale))
	for i, f := range s.Fields {
		dst = appendInt(dst, Quantize(e.F[i], f.Scale))
	}
	return dst
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

// AppendPong appends a pong frame.
func AppendPong(dst []byte, clientTime float64, serverTimeMs uint64) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgPong)
	dst = appendFloat(dst, clientTime)
	return appendUint(dst, serverTimeMs)
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
}

// DecodeServer decodes one server frame into m. Snapshots are dequantized
// with schema (from the matched message); schema may be nil for other
// messages. Lengths are bounded like those of DecodeClient.
func (r *Reader) DecodeServer(frame []byte, m *ServerMsg, schema *Schema) error {
	r.Reset(frame)
	n, err := r.ArrayLen(64)
	if err != nil {
		return err
	}
	if n < 1 {
		return errTruncated
	}
	t, err := r.Uint(math.MaxUint8)
	if err != nil {
		return err
	}
	m.Type = uint8(t)
	need := 1
	switch m.Type {
	case MsgWelcome:
		need = 4
		if n < need {
			return errTruncated
		}
		v, err := r.Uint(math.MaxUint32)
		if err != nil {
			return err
		}
		m.Version = uint32(v)
		if m.PlayerID, err = r.String(maxStrServer); err != nil {
			return err
		}
		if m.Name, err = r.String(maxStrServer); err != nil {
			return err
		}
	case MsgQueued:
		need = 2
		if n < need {
			return errTruncated
		}
		if m.Mode, err = r.String(maxStrServer); err != nil {
			return err
		}
	case MsgMatched:
		need = 8
		if n < need {
			return errTruncated
		}
		if err := r.decodeMatched(&m.Matched); err != nil {
			return err
		}
	case MsgSnapshot:
		need = 8
		if n < need {
			return errTruncated
		}
		if schema == nil {
			return errType
		}
		if err := r.decodeSnapshot(&m.Snapshot, schema); err != nil {
			return err
		}
	case MsgResult:
		need = 3
		if n < need {
			return errTruncated
		}
		if err := r.decodeResult(m); err != nil {
			return err
		}
	case MsgPong:
		need = 3
		if n < need {
			return errTruncated
		}
		if m.ClientTime, err = r.Float(); err != nil {
			return err
		}
		if m.ServerTimeMs, err = r.Uint(math.MaxInt64); err != nil {
			return err
		}
	case MsgError:
		need = 3
		if n < need {
			return errTruncated
		}
		c, err := r.Uint(math.MaxUint16)
		if err != nil {
			return err
		}
		m.ErrCode = ErrorCode(c)
		if m.ErrText, err = r.String(maxStrServer); err != nil {
			return err
		}
	default:
		return errUnknown
	}
	if err := r.SkipRest(n - need); err != nil {
		return err
	}
	return r.End()
}

func (r *Reader) decodeMatched(m *Matched) error {
	var err error
	if m.MatchID, err = r.String(maxStrServer); err != nil {
		return err
	}
	if m.Mode, err = r.String(maxStrServer); err != nil {
		return err
	}
	v, err := r.Uint(math.MaxUint32)
	if err != nil {
		return err
	}
	m.Entity = uint32(v)
	if v, err = r.Uint(1000); err != nil {
		return err
	}
	m.TickRate = uint32(v)
	w, err := r.Float()
	if err != nil {
		return err
	}
	h, err := r.Float()
	if err != nil {
		return err
	}
	m.WorldW, m.WorldH = float32(w), float32(h)
	n, err := r.ArrayLen(16)
	if err != nil {
		return err
	}
	if n < 3 {
		return errTruncated
	}
	s := &m.Schema
	ps, err := r.Uint(1 << 20)
	if err != nil {
		return err
	}
	s.PosScale = float32(ps)
	k, err := r.ArrayLen(255)
	if err != nil {
		return err
	}
	s.Kinds = s.Kinds[:0]
	for range k {
		name, err := r.String(maxStrServer)
		if err != nil {
			return err
		}
		s.Kinds = append(s.Kinds, name)
	}
	f, err := r.ArrayLen(MaxFields)
	if err != nil {
		return err
	}
	s.Fields = s.Fields[:0]
	for range f {
		fl, err := r.ArrayLen(8)
		if err != nil {
			return err
		}
		if fl < 2 {
			return errTruncated
		}
		name, err := r.String(maxStrServer)
		if err != nil {
			return err
		}
		sc, err := r.Uint(1 << 20)
		if err != nil {
			return err
		}
		if err := r.SkipRest(fl - 2); err != nil {
			return err
		}
		s.Fields = append(s.Fields, Field{Name: name, Scale: float32(sc)})
	}
	if err := r.SkipRest(n - 3); err != nil {
		return err
	}
	return s.Validate()
}

func (r *Reader) decodeSnapshot(s *Snapshot, schema *Schema) error {
	v, err := r.Uint(math.MaxUint32)
	if err != nil {
		return err
	}
	s.Tick = uint32(v)
	if v, err = r.Uint(math.MaxUint32); err != nil {
		return err
	}
	s.AckSeq = uint32(v)

	n, err := r.ArrayLen(maxList)
	if err != nil {
		return err
	}
	s.Rejects = s.Rejects[:0]
	for range n {
		var rj Reject
		if err := r.tuple(2); err != nil {
			return err
		}
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		rj.Seq = uint32(v)
		if v, err = r.Uint(math.MaxUint8); err != nil {
			return err
		}
		rj.Code = uint8(v)
		s.Rejects = append(s.Rejects, rj)
	}

	if n, err = r.ArrayLen(maxList); err != nil {
		return err
	}
	s.Events = s.Events[:0]
	for range n {
		var ev Event
		if err := r.tuple(3); err != nil {
			return err
		}
		if v, err = r.Uint(math.MaxUint8); err != nil {
			return err
		}
		ev.Type = uint8(v)
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		ev.A = uint32(v)
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		ev.B = uint32(v)
		s.Events = append(s.Events, ev)
	}

	if v, err = r.Uint(math.MaxUint32); err != nil {
		return err
	}
	s.TimeLeftMs = uint32(v)

	if n, err = r.ArrayLen(maxList); err != nil {
		return err
	}
	s.Scores = s.Scores[:0]
	for range n {
		var sc Score
		if err := r.tuple(2); err != nil {
			return err
		}
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		sc.Entity = uint32(v)
		iv, err := r.Int(math.MinInt32, math.MaxInt32)
		if err != nil {
			return err
		}
		sc.Score = int32(iv)
		s.Scores = append(s.Scores, sc)
	}

	if n, err = r.ArrayLen(maxEntities); err != nil {
		return err
	}
	s.Entities = s.Entities[:0]
	nf := len(schema.Fields)
	for range n {
		var e Entity
		l, err := r.ArrayLen(4 + MaxFields + 8)
		if err != nil {
			return err
		}
		if l < 4+nf {
			return errTruncated
		}
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		e.ID = uint32(v)
		if v, err = r.Uint(math.MaxUint8); err != nil {
			return err
		}
		e.Kind = uint8(v)
		x, err := r.Int(math.MinInt32, math.MaxInt32)
		if err != nil {
			return err
		}
		y, err := r.Int(math.MinInt32, math.MaxInt32)
		if err != nil {
			return err
		}
		e.X, e.Y = Dequantize(x, schema.PosScale), Dequantize(y, schema.PosScale)
		for i := range nf {
			q, err := r.Int(math.MinInt32, math.MaxInt32)
			if err != nil {
				return err
			}
			e.F[i] = Dequantize(q, schema.Fields[i].Scale)
		}
		if err := r.SkipRest(l - 4 - nf); err != nil {
			return err
		}
		s.Entities = append(s.Entities, e)
	}
	return nil
}

func (r *Reader) decodeResult(m *ServerMsg) error {
	v, err := r.Uint(math.MaxUint8)
	if err != nil {
		return err
	}
	m.Outcome = uint8(v)
	n, err := r.ArrayLen(maxList)
	if err != nil {
		return err
	}
	m.Standings = m.Standings[:0]
	for range n {
		var s Standing
		if err := r.tuple(5); err != nil {
			return err
		}
		if s.PlayerID, err = r.String(maxStrServer); err != nil {
			return err
		}
		if s.Name, err = r.String(maxStrServer); err != nil {
			return err
		}
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		s.Entity = uint32(v)
		iv, err := r.Int(math.MinInt32, math.MaxInt32)
		if err != nil {
			return err
		}
		s.Score = int32(iv)
		if v, err = r.Uint(math.MaxUint16); err != nil {
			return err
		}
		s.Place = uint16(v)
		m.Standings = append(m.Standings, s)
	}
	return nil
}

// tuple reads the header of a fixed-size array of exactly n elements.
func (r *Reader) tuple(n int) error {
	l, err := r.ArrayLen(n)
	if err != nil {
		return err
	}
	if l != n {
		return errTruncated
	}
	return nil
}
