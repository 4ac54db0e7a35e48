package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
)

// defaultSourceAddrs is -source-addrs' default: Linux lets a socket bind
// any address of 127.0.0.0/8; other systems only those configured (macOS:
// 127.0.0.1), so there the default is off.
func defaultSourceAddrs() string {
	if runtime.GOOS == "linux" {
		return "127.1.0.0/16"
	}
	return "off"
}

// parseSourceAddrs parses -source-addrs: an IPv4 range in CIDR notation, or
// "off" or empty for none (the zero Prefix).
func parseSourceAddrs(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("-source-addrs %q: not a CIDR range (e.g. 127.1.0.0/16) or off", s)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("-source-addrs %q: must be an IPv4 range", s)
	}
	return p.Masked(), nil
}

// nthAddr returns the i-th address of p (i ≥ 0) that does not end in .0 or
// .255, wrapping around when i passes their number. A /31 or /32 has no
// other: there every address counts.
func nthAddr(p netip.Prefix, i int) netip.Addr {
	base := p.Masked().Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	size := uint64(1) << (32 - p.Bits())
	var off uint64
	switch {
	case p.Bits() <= 24: // whole blocks of 256: .1 to .254 of each
		n := uint64(i) % (size / 256 * 254)
		off = n/254*256 + n%254 + 1
	case p.Bits() >= 31:
		off = uint64(i) % size
	default: // part of a block: skip its .0 or .255 if it holds them
		var ok []uint64
		for o := range size {
			if last := (uint64(start) + o) & 0xff; last != 0 && last != 255 {
				ok = append(ok, o)
			}
		}
		off = ok[uint64(i)%uint64(len(ok))]
	}
	a := start + uint32(off)
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

// loopbackHost reports whether u's host is a loopback address
// (127.0.0.0/8, ::1) or localhost.
func loopbackHost(u *url.URL) bool {
	h := u.Hostname()
	if strings.EqualFold(strings.TrimSuffix(h, "."), "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// sourceAddr returns the source address of bot i: the i-th of
// Config.SourceAddrs when every node of -url is on this machine's loopback
// and of the range's family (localhost counts as IPv4); "" otherwise (the
// system's choice). A bot reconnects from its address to any node.
func (c *Config) sourceAddr(i int) string {
	p, err := parseSourceAddrs(c.SourceAddrs)
	if err != nil || !p.IsValid() {
		return ""
	}
	nodes := c.Nodes()
	if len(nodes) == 0 {
		return ""
	}
	for _, n := range nodes {
		u, err := url.Parse(n)
		if err != nil || !loopbackHost(u) {
			return ""
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && a.Is6() && !a.Is4In6() {
			return "" // an IPv4 source cannot reach ::1
		}
	}
	return nthAddr(p, i).String()
}
