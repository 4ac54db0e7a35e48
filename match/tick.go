package match

import (
	"fmt"
	"time"

	"skirmish/netcode"
)

// run is the match goroutine: it seats the first players, then runs tick n
// at start + n·dt. When late it runs the late ticks back to back, at most
// MaxCatchUp of them, skips the rest and counts them as overruns.
func (m *Match) run(players []*Player) {
	defer close(m.done)
	outcome := uint8(netcode.OutcomeNormal)
	defer func() {
		if v := recover(); v != nil {
			m.log.Error("match panicked", "panic", fmt.Sprint(v))
			m.end(netcode.OutcomeError)
		}
	}()
	if !m.restored {
		if err := m.safely(func() { m.rules = m.mode.NewRules(m.world) }); err != nil {
			m.end(netcode.OutcomeError)
			return
		}
	}
	m.startRecording()
	m.obs.MatchStarted(m.spec.Name)
	m.liveTick.Store(uint32(m.world.Tick))
	if m.restored {
		// Every seat waits for its player, from now on.
		holdUntil := m.cfg.Clock.Now().Add(m.cfg.SeatGrace)
		for i := range m.seats {
			if s := &m.seats[i]; s.p != nil {
				m.hooks.Away(s.p, m.ID, i, s.seqs.Ack, holdUntil)
			}
		}
	}
	for _, p := range players {
		m.join(p)
	}
	m.checkpoint()
	clock := m.cfg.Clock
	m.startAt = m.phase(clock.Now())
	timer := clock.NewTimer(0)
	defer timer.Stop()
	var n int64 // next tick
	for !m.ended {
		select {
		case c := <-m.ctl:
			switch {
			case c.kind == ctlFreeze:
				if m.freeze(c.reply) {
					return
				}
				// Thawed: the ticks missed while frozen are skipped.
				m.startAt, n = m.phase(clock.Now()), 0
				timer.Reset(0)
			case m.control(c):
				outcome = netcode.OutcomeShutdown
				m.end(outcome)
			}
			continue
		case <-timer.C():
		}
		now := clock.Now()
		for ran := 0; !m.ended && !now.Before(m.tickTime(n)); ran++ {
			if ran == m.cfg.MaxCatchUp {
				skip := int64(now.Sub(m.tickTime(n))/m.dt) + 1
				m.obs.Overrun(int(skip))
				n += skip
				break
			}
			if now.Sub(m.tickTime(n)) >= m.dt {
				m.obs.Overrun(1)
			}
			t0 := time.Now()
			if err := m.safely(m.tick); err != nil {
				m.end(netcode.OutcomeError)
				break
			}
			m.obs.TickDone(time.Since(t0))
			n++
			if m.rules.Over(m.world) || m.empty() {
				m.end(netcode.OutcomeNormal)
			} else if m.cpEvery > 0 {
				if m.cpTicks++; m.cpTicks >= m.cpEvery {
					m.cpTicks = 0
					m.checkpoint()
				}
			}
		}
		if !m.ended {
			timer.Reset(m.tickTime(n).Sub(clock.Now()))
		}
	}
}

// empty reports a match whose every seat is free (seats held for away
// players count as taken): it ends, and its goroutine with it.
func (m *Match) empty() bool {
	for i := range m.seats {
		if m.seats[i].p != nil {
			return false
		}
	}
	return true
}

func (m *Match) tickTime(n int64) time.Time { return m.startAt.Add(time.Duration(n) * m.dt) }

// phase returns the time of the first tick of a match starting at now: the
// last instant of its place in its phase (see Config.TickPhaseGroup), counted
// in ticks since the zero time, so that the matches of a phase tick
// PhaseStep apart, in the same order, every tick. A slot of -1 ticks from
// now.
func (m *Match) phase(now time.Time) time.Time {
	if m.phaseSlot < 0 {
		return now
	}
	at := now.Truncate(m.dt).Add(time.Duration(m.phaseSlot)*m.dt/PhaseSlots + time.Duration(m.phaseIdx)*PhaseStep)
	if at.After(now) {
		at = at.Add(-m.dt)
	}
	return at
}

// safely runs f, turning a panic into an error so that a fault in the rules
// ends this match only.
func (m *Match) safely(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			m.log.Error("rules panicked", "panic", fmt.Sprint(v), "tick", m.world.Tick)
			err = fmt.Errorf("rules panic: %v", v)
		}
	}()
	f()
	return nil
}

// tick runs one tick: gather inputs, apply at most one per player, step,
// send every player its snapshot.
func (m *Match) tick() {
	w := m.world
	now := monoNow()
	m.gather()
	applied, rejected := 0, 0
	for i := range m.seats {
		s := &m.seats[i]
		s.hasLead = false
		if s.p == nil {
			continue
		}
		if s.n == 0 {
			// Seqs rejected on arrival (dropped, missing) are settled too.
			s.seqs.Settle()
			continue
		}
		// One input a tick; a seat catching up on a resent backlog takes a
		// second one while more wait.
		for k := 0; k == 0 || (k == 1 && s.catchUp > 0 && s.n > 1); k++ {
			if k > 0 {
				s.catchUp--
			}
			msg := &s.queue[s.head]
			in := &msg.in
			s.head = (s.head + 1) % len(s.queue)
			s.n--
			// The snapshot's ackSeq is this input's, so that its lead is
			// the lead of input ackSeq; seqs rejected on arrival above it
			// are settled by a later tick.
			s.seqs.Applied(in.Seq)
			s.lead = netcode.LeadUs(time.Duration(now - msg.at))
			s.hasLead = true
			m.rec.input(i, in)
			if code := m.rules.Apply(w, &s.gp, in); code != netcode.RejectNone {
				s.reject(in.Seq, code)
				rejected++
			} else {
				applied++
			}
		}
	}
	m.obs.InputsApplied(applied, rejected)
	for i := range m.seats {
		if s := &m.seats[i]; s.p != nil && s.away {
			if s.awayTicks++; s.awayTicks >= m.graceAt {
				m.log.Info("seat grace expired", "player", s.p.ID)
				m.leave(s.p)
			}
		}
	}
	m.rules.Step(w)
	m.send()
	m.sendSpectators()
	w.EndTick()
	w.Tick++
	m.rec.step()
	m.liveTick.Store(uint32(w.Tick))
}
