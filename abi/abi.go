package abi

import (
	"fmt"
	"sort"
	"strings"
)

// Version is the ABI version this package describes.
const Version = 1

// Names of the module-level contract (README §1, §2).
const (
	// ImportModule is the module every host function of this version is imported from.
	ImportModule = "wasmfaas_v1"
	// ImportModulePrefix starts the import module of any ABI version (wasmfaas_vN).
	ImportModulePrefix = "wasmfaas_v"
	// VersionExport is the export that marks a module as speaking this version.
	VersionExport = "wasmfaas_abi_v1"
	// VersionExportPrefix starts the version marker of any ABI version.
	VersionExportPrefix = "wasmfaas_abi_v"
	// HandleExport is the reactor entry point: () -> i32, 0 for success.
	HandleExport = "wasmfaas_handle"
	// MemoryExport is the guest's linear memory.
	MemoryExport = "memory"
	// InitializeExport is the optional reactor initialiser, run once per instance.
	InitializeExport = "_initialize"
	// StartExport marks a WASI command module.
	StartExport = "_start"
	// WASIModule is the import module of WASI preview 1.
	WASIModule = "wasi_snapshot_preview1"
)

// Mode is how a module is run.
type Mode string

const (
	// ModeReactor is an ABI v1 module: exports wasmfaas_handle, imports wasmfaas_v1.
	ModeReactor Mode = "reactor"
	// ModeCommand is a plain WASI command: event on stdin, result on stdout.
	ModeCommand Mode = "command"
)

// Status is a host function's negative return code (README §3).
type Status int32

// Status codes; every host function returns one of these or a non-negative result.
const (
	OK          Status = 0
	NotFound    Status = -1
	Conflict    Status = -2
	Invalid     Status = -3
	TooLarge    Status = -4
	Limit       Status = -5
	Unavailable Status = -6
	Internal    Status = -7
	Denied      Status = -8
	Timeout     Status = -9
)

// StatusNames maps each status code to the name README.md gives it.
var StatusNames = map[Status]string{
	OK:          "OK",
	NotFound:    "NOT_FOUND",
	Conflict:    "CONFLICT",
	Invalid:     "INVALID",
	TooLarge:    "TOO_LARGE",
	Limit:       "LIMIT",
	Unavailable: "UNAVAILABLE",
	Internal:    "INTERNAL",
	Denied:      "DENIED",
	Timeout:     "TIMEOUT",
}

func (s Status) String() string {
	if n, ok := StatusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Status(%d)", int32(s))
}

// Revision sentinels for compare-and-set arguments (README §3, "Revisions").
const (
	// RevAny makes a write unconditional.
	RevAny int64 = -1
	// RevAbsent makes a write succeed only if the entry does not exist.
	RevAbsent int64 = 0
)

// Log levels accepted by log_write; they are slog's levels.
const (
	LevelDebug int32 = -4
	LevelInfo  int32 = 0
	LevelWarn  int32 = 4
	LevelError int32 = 8
)

// Error kinds with a meaning to the host. Guests may use any kind matching
// [a-z0-9_]{1,64}; these are the ones the host sets or interprets.
const (
	KindError        = "error"         // the default kind of a failed handler
	KindInvalidInput = "invalid_input" // the event was wrong: status rejected, not retried
	KindTrap         = "trap"
	KindTimeout      = "timeout"
	KindOverloaded   = "overloaded"
	KindLimit        = "limit"
	KindInvalidEmit  = "invalid_emit"
	// KindInvalidSchedule: a schedule_event with a bad key, event or time.
	KindInvalidSchedule = "invalid_schedule"
	// KindInvalidResponse: result_status or result_header with a value
	// no HTTP response can carry.
	KindInvalidResponse = "invalid_response"
	KindUnavailable     = "unavailable"
	KindExit            = "exit"
	KindInternal        = "internal"
)

// Size limits of README §3, "Names and limits".
const (
	MaxKeyLen          = 1024
	MaxValueLen        = 1 << 20
	MaxSubjectLen      = 1024
	MaxPropertyNameLen = 256
	MaxPropertyLen     = 1 << 20
	MaxExtNameLen      = 20
	MaxExtValueLen     = 4096
	MaxFieldKeyLen     = 64
	MaxErrorKindLen    = 64
	MaxScheduleKeyLen  = 256
	MaxHeaderNameLen   = 256
	MaxHeaderValueLen  = 8192
)

// Capability is a group of host functions granted as a whole.
type Capability string

// Capability groups (README §4, §6).
const (
	CapCore     Capability = "core"
	CapLog      Capability = "log"
	CapInfo     Capability = "info"
	CapConfig   Capability = "config"
	CapEmit     Capability = "emit"
	CapKV       Capability = "kv"
	CapProps    Capability = "props"
	CapSchedule Capability = "schedule"
	CapHTTP     Capability = "http"
	CapWASI     Capability = "wasi"
)

// Capabilities lists every grantable capability in a stable order (core is
// always granted and not listed).
var Capabilities = []Capability{CapLog, CapInfo, CapConfig, CapEmit, CapSchedule, CapKV, CapProps, CapWASI, CapHTTP}

// DefaultGrants are granted to a function that names none: they only affect
// the call's own ExecutionInfo (log, info) or are needed by standard
// toolchains and sandboxed by the host (wasi).
var DefaultGrants = []Capability{CapLog, CapInfo, CapWASI}

// ParseCapability returns the capability named s.
func ParseCapability(s string) (Capability, error) {
	c := Capability(strings.TrimSpace(s))
	for _, k := range Capabilities {
		if k == c {
			return c, nil
		}
	}
	names := make([]string, len(Capabilities))
	for i, k := range Capabilities {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown capability %q (known: %s)", s, strings.Join(names, ", "))
}

// ValType is a wasm value type in a host function signature.
type ValType string

// Value types used by the ABI.
const (
	I32 ValType = "i32"
	I64 ValType = "i64"
)

// Func describes one host function of README §4.
type Func struct {
	Group  Capability
	Name   string
	Params []string  // parameter names, as in README.md
	Types  []ValType // parameter types, same length as Params
	Result ValType
}

// Signature renders f the way README.md writes it.
func (f Func) Signature() string {
	var b strings.Builder
	b.WriteString(f.Name)
	b.WriteByte('(')
	for i, p := range f.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p)
		b.WriteString(": ")
		b.WriteString(string(f.Types[i]))
	}
	b.WriteString(") -> ")
	b.WriteString(string(f.Result))
	return b.String()
}

func fn(group Capability, name string, result ValType, params ...string) Func {
	f := Func{Group: group, Name: name, Result: result}
	for _, p := range params {
		n, t, _ := strings.Cut(p, ":")
		f.Params = append(f.Params, n)
		f.Types = append(f.Types, ValType(t))
	}
	return f
}

// Functions is every host function of ABI v1, in README order.
var Functions = []Func{
	fn(CapCore, "event_attr", I32, "name_ptr:i32", "name_len:i32", "buf_ptr:i32", "buf_cap:i32"),
	fn(CapCore, "event_data", I32, "buf_ptr:i32", "buf_cap:i32"),
	fn(CapCore, "event_extensions", I32, "buf_ptr:i32", "buf_cap:i32"),
	fn(CapCore, "result_set", I32, "body_ptr:i32", "body_len:i32", "ct_ptr:i32", "ct_len:i32"),
	fn(CapCore, "error_set", I32, "kind_ptr:i32", "kind_len:i32", "msg_ptr:i32", "msg_len:i32"),
	fn(CapCore, "result_status", I32, "code:i32"),
	fn(CapCore, "result_header", I32, "name_ptr:i32", "name_len:i32", "val_ptr:i32", "val_len:i32"),
	fn(CapLog, "log_write", I32, "level:i32", "msg_ptr:i32", "msg_len:i32"),
	fn(CapInfo, "info_set", I32, "key_ptr:i32", "key_len:i32", "json_ptr:i32", "json_len:i32"),
	fn(CapInfo, "info_get", I32, "name_ptr:i32", "name_len:i32", "buf_ptr:i32", "buf_cap:i32"),
	fn(CapConfig, "config_get", I32, "key_ptr:i32", "key_len:i32", "buf_ptr:i32", "buf_cap:i32"),
	fn(CapEmit, "emit_event", I32, "attrs_ptr:i32", "attrs_len:i32", "data_ptr:i32", "data_len:i32"),
	fn(CapSchedule, "schedule_event", I32, "key_ptr:i32", "key_len:i32", "attrs_ptr:i32", "attrs_len:i32", "data_ptr:i32", "data_len:i32", "delay_ms:i64"),
	fn(CapSchedule, "schedule_event_at", I32, "key_ptr:i32", "key_len:i32", "attrs_ptr:i32", "attrs_len:i32", "data_ptr:i32", "data_len:i32", "unix_ms:i64"),
	fn(CapSchedule, "schedule_cancel", I32, "key_ptr:i32", "key_len:i32"),
	fn(CapKV, "kv_get", I32, "key_ptr:i32", "key_len:i32", "buf_ptr:i32", "buf_cap:i32", "rev_ptr:i32"),
	fn(CapKV, "kv_set", I64, "key_ptr:i32", "key_len:i32", "val_ptr:i32", "val_len:i32"),
	fn(CapKV, "kv_delete", I32, "key_ptr:i32", "key_len:i32"),
	fn(CapKV, "kv_keys", I32, "prefix_ptr:i32", "prefix_len:i32", "buf_ptr:i32", "buf_cap:i32"),
	fn(CapProps, "props_get", I32, "subj_ptr:i32", "subj_len:i32", "name_ptr:i32", "name_len:i32", "buf_ptr:i32", "buf_cap:i32", "rev_ptr:i32"),
	fn(CapProps, "props_set", I64, "subj_ptr:i32", "subj_len:i32", "name_ptr:i32", "name_len:i32", "val_ptr:i32", "val_len:i32", "expect:i64"),
	fn(CapProps, "props_delete", I32, "subj_ptr:i32", "subj_len:i32", "name_ptr:i32", "name_len:i32", "expect:i64"),
	fn(CapProps, "props_ext_get", I32, "subj_ptr:i32", "subj_len:i32", "name_ptr:i32", "name_len:i32", "buf_ptr:i32", "buf_cap:i32"),
	fn(CapProps, "props_ext_set", I32, "subj_ptr:i32", "subj_len:i32", "name_ptr:i32", "name_len:i32", "val_ptr:i32", "val_len:i32"),
	fn(CapProps, "props_ext_delete", I32, "subj_ptr:i32", "subj_len:i32", "name_ptr:i32", "name_len:i32"),
	fn(CapHTTP, "http_request", I32, "method_ptr:i32", "method_len:i32", "url_ptr:i32", "url_len:i32", "headers_ptr:i32", "headers_len:i32", "body_ptr:i32", "body_len:i32"),
	fn(CapHTTP, "http_response_body", I32, "buf_ptr:i32", "buf_cap:i32"),
	fn(CapHTTP, "http_response_header", I32, "name_ptr:i32", "name_len:i32", "buf_ptr:i32", "buf_cap:i32"),
	fn(CapHTTP, "http_response_headers", I32, "buf_ptr:i32", "buf_cap:i32"),
	fn(CapHTTP, "http_error", I32, "buf_ptr:i32", "buf_cap:i32"),
}

var byName = func() map[string]Func {
	m := make(map[string]Func, len(Functions))
	for _, f := range Functions {
		if _, dup := m[f.Name]; dup {
			panic("abi: duplicate host function " + f.Name)
		}
		m[f.Name] = f
	}
	return m
}()

// Lookup returns the host function called name.
func Lookup(name string) (Func, bool) {
	f, ok := byName[name]
	return f, ok
}

// Grants is a set of capabilities.
type Grants map[Capability]bool

// NewGrants returns a set holding caps.
func NewGrants(caps ...Capability) Grants {
	g := make(Grants, len(caps))
	for _, c := range caps {
		g[c] = true
	}
	return g
}

// ParseGrants parses a comma-separated list such as "kv,props".
func ParseGrants(s string) (Grants, error) {
	g := Grants{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		c, err := ParseCapability(part)
		if err != nil {
			return nil, err
		}
		g[c] = true
	}
	return g, nil
}

// Has reports whether c is granted; core always is.
func (g Grants) Has(c Capability) bool { return c == CapCore || g[c] }

// List returns the granted capabilities sorted by name.
func (g Grants) List() []Capability {
	out := make([]Capability, 0, len(g))
	for c, ok := range g {
		if ok && c != CapCore {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (g Grants) String() string {
	l := g.List()
	s := make([]string, len(l))
	for i, c := range l {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}
