package client

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/lxzan/gws"
)

// dialTimeout bounds the TCP connect of a session request or a WebSocket.
const dialTimeout = 5 * time.Second

// parseLocalAddr parses Options.LocalAddr: an IP address, or empty for the
// system's choice (the zero Addr).
func parseLocalAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("client: local address %q: not an IP address", s)
	}
	return a.Unmap(), nil
}

// netDialer returns a dialer whose connections leave from local (any
// port); the zero Addr leaves the choice to the system. A dialer with a
// local address only reaches remote addresses of its family.
func netDialer(local netip.Addr) *net.Dialer {
	d := &net.Dialer{Timeout: dialTimeout}
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
	}
	return d
}

// sessionClients holds one HTTP client per local address (netip.Addr →
// *http.Client), shared by every Client that binds that address.
var sessionClients sync.Map

// httpClient returns the HTTP client of session requests from local:
// http.DefaultClient for the system's choice; otherwise a client shared by
// every Client of that address, whose transport binds it and keeps no idle
// connection. A client creates a session once (again only after a server
// restart), so a kept-alive connection would serve nothing, and thousands
// of bots must not each hold one open.
func httpClient(local netip.Addr) *http.Client {
	if !local.IsValid() {
		return http.DefaultClient
	}
	if hc, ok := sessionClients.Load(local); ok {
		return hc.(*http.Client)
	}
	hc, _ := sessionClients.LoadOrStore(local, &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         netDialer(local).DialContext,
		DisableKeepAlives:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   false,
	}})
	return hc.(*http.Client)
}

// wsDialer is the gws dialer of a WebSocket from local, cut short by ctx.
type wsDialer struct {
	ctx context.Context
	d   *net.Dialer
}

func (w wsDialer) Dial(network, addr string) (net.Conn, error) {
	return w.d.DialContext(w.ctx, network, addr)
}

// newWSDialer returns gws's ClientOption.NewDialer for a WebSocket from
// local whose connect ends with ctx.
func newWSDialer(ctx context.Context, local netip.Addr) func() (gws.Dialer, error) {
	return func() (gws.Dialer, error) { return wsDialer{ctx: ctx, d: netDialer(local)}, nil }
}
