package router

import (
	"fmt"
	"strings"
)

// HTTP triggers: a trigger with a Route serves a method and path pattern
// on the HTTP listener (internal/server), calling its function
// synchronously with the request as a CloudEvent. The router consumes
// nothing for it; it only validates the route here.

// RouteType is the type of the CloudEvent an HTTP route's request becomes.
const RouteType = "wasmfaas.http.request"

// Extensions of a route's request event (docs/HTTP.md has the mapping).
const (
	ExtHTTPMethod = "httpmethod"
	ExtHTTPPath   = "httppath"
	ExtHTTPQuery  = "httpquery"
	ExtHTTPRoute  = "httproute"
	// ExtParamPrefix starts the extension of each path parameter:
	// {name} is extension "paramname".
	ExtParamPrefix = "param"
)

// routeMethods are the methods a route may name; a route without one
// serves every method.
var routeMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// maxParamName keeps "param" + a parameter's name a CloudEvents extension
// name (at most 20 characters).
const maxParamName = 20 - len(ExtParamPrefix)

// ParseRoute splits and validates a route, "METHOD /path" or "/path": the
// path is absolute, its segments literal text or a parameter "{name}"
// ("{name...}" as the last segment takes the rest of the path; "{$}" as the
// last ends the path at a trailing slash); parameter names are 1-15
// lowercase letters and digits, each used once.
func ParseRoute(route string) (method, path string, params []string, err error) {
	bad := func(format string, args ...any) (string, string, []string, error) {
		return "", "", nil, fmt.Errorf("%w: route %q: %s", ErrInvalidTrigger, route, fmt.Sprintf(format, args...))
	}
	method, path, found := strings.Cut(strings.TrimSpace(route), " ")
	if !found {
		method, path = "", method
	}
	path = strings.TrimSpace(path)
	if method != "" {
		known := false
		for _, m := range routeMethods {
			known = known || m == method
		}
		if !known {
			return bad("method %q is not one of %s", method, strings.Join(routeMethods, ", "))
		}
	}
	if !strings.HasPrefix(path, "/") {
		return bad("the path must start with /")
	}
	if strings.ContainsAny(path, " \t\r\n?#%\\") {
		return bad("the path has a space, ?, #, %% or \\")
	}
	segs := strings.Split(path[1:], "/")
	seen := map[string]bool{}
	for i, seg := range segs {
		if seg == "." || seg == ".." {
			return bad("segment %q is not allowed", seg)
		}
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
			return bad("segment %q: a parameter is a whole segment, such as {name}", seg)
		}
		name := seg[1 : len(seg)-1]
		last := i == len(segs)-1
		if name == "$" {
			if !last {
				return bad("{$} must be the last segment")
			}
			continue
		}
		if rest, ok := strings.CutSuffix(name, "..."); ok {
			if !last {
				return bad("{%s} must be the last segment", name)
			}
			name = rest
		}
		if name == "" || len(name) > maxParamName || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return bad("parameter {%s}: names are 1-%d lowercase letters and digits (it becomes the event extension %s<name>)", name, maxParamName, ExtParamPrefix)
		}
		if seen[name] {
			return bad("parameter {%s} is used twice", name)
		}
		seen[name] = true
		params = append(params, name)
	}
	return method, path, params, nil
}
