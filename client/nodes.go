package client

import (
	"fmt"
	"net/url"
	"strings"
)

// parseNode parses the base URL of a node: http or https (ws and wss are
// taken as their http twins), a host, and maybe a path prefix under which
// a proxy routes to the node (https://game.example.com/n/n2). Its query
// and fragment are dropped.
func parseNode(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("client: node URL %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("client: node URL %q: no host", s)
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u, nil
}

// nodeKey names the node at base URL u: two URLs with the same key reach
// the same node.
func nodeKey(u *url.URL) string {
	return u.Scheme + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/")
}

// wsURL returns the URL of the game WebSocket of the node at base with
// token: scheme http→ws, https→wss, and the base's path joined with /ws
// (https://game.example.com/n/n2 → wss://game.example.com/n/n2/ws).
func wsURL(base *url.URL, token string) string {
	u := base.JoinPath("ws")
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String()
}

// sessionsURL returns the URL of the node's session endpoint.
func sessionsURL(base *url.URL) string { return base.JoinPath("v1", "sessions").String() }

// nodeRing returns the nodes a client falls back to: nodes, with first
// (Dial's base URL) added at the front unless it is one of them, and the
// index of first in it.
func nodeRing(first *url.URL, nodes []string) ([]*url.URL, int, error) {
	ring := make([]*url.URL, 0, len(nodes)+1)
	at := -1
	for _, s := range nodes {
		u, err := parseNode(s)
		if err != nil {
			return nil, 0, err
		}
		if at < 0 && nodeKey(u) == nodeKey(first) {
			at = len(ring)
		}
		ring = append(ring, u)
	}
	if at < 0 {
		ring = append([]*url.URL{first}, ring...)
		at = 0
	}
	return ring, at, nil
}
