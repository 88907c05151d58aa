package abi

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sentinels of module validation; ModuleError wraps one of them.
var (
	// ErrInvalidModule: the bytes are not a usable wasm module.
	ErrInvalidModule = errors.New("invalid module")
	// ErrABIVersion: the module speaks an ABI version this host does not.
	ErrABIVersion = errors.New("unsupported ABI version")
	// ErrUnknownImport: the module imports something the host does not provide.
	ErrUnknownImport = errors.New("unknown import")
	// ErrNotGranted: the module imports a capability its function was not granted.
	ErrNotGranted = errors.New("capability not granted")
)

// ModuleError says why a module was refused; Import names the offending
// import when there is one.
type ModuleError struct {
	Err    error  // one of the sentinels above
	Import string // "module.name", when an import is at fault
	Reason string
}

func (e *ModuleError) Error() string {
	if e.Import != "" {
		return fmt.Sprintf("%s: import %s: %s", e.Err, e.Import, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Err, e.Reason)
}

func (e *ModuleError) Unwrap() error { return e.Err }

// FuncType is a wasm function type, value types by their text names
// ("i32", "i64", "f32", "f64", …).
type FuncType struct {
	Params, Results []string
}

// String renders t as "(i32, i32) -> i64", "() -> ()" for no results.
func (t FuncType) String() string {
	var b strings.Builder
	b.WriteString("(" + strings.Join(t.Params, ", ") + ") -> ")
	switch len(t.Results) {
	case 0:
		b.WriteString("()")
	case 1:
		b.WriteString(t.Results[0])
	default:
		b.WriteString("(" + strings.Join(t.Results, ", ") + ")")
	}
	return b.String()
}

// Import is one imported function.
type Import struct {
	Module, Name string
	Type         FuncType
}

// ModuleShape is what a compiler reports of a module: its imported and
// exported functions and memories. CheckModule judges it.
type ModuleShape struct {
	Imports []Import
	Exports map[string]FuncType
	// ImportedMemories names every imported memory as "module.name".
	ImportedMemories []string
	// Memories are the exported memories' minimum sizes in pages, by name.
	Memories map[string]uint32
}

// ModuleInfo is what a valid module is to the host.
type ModuleInfo struct {
	Mode Mode
	// Imports lists every imported function as "module.name", in import order.
	Imports []string
	// Exports lists every exported function name, sorted.
	Exports []string
	// Capabilities are the groups the module's imports need, sorted; the
	// core group is never listed.
	Capabilities []Capability
	// MinMemoryPages is the memory the module declares at start.
	MinMemoryPages uint32
	// ImportCaps maps each import ("module.name") to its capability.
	ImportCaps map[string]Capability
	// HasInit says the module exports InitializeExport (a WASI reactor).
	HasInit bool
}

// CheckModule validates a module's shape against this ABI: its version,
// its mode (reactor or WASI command) and the signatures of its exports,
// that it defines its own memory, and that it imports only host functions
// of this ABI (with their signatures) or WASI. Errors are *ModuleError.
func CheckModule(s ModuleShape) (ModuleInfo, error) {
	var m ModuleInfo
	for name := range s.Exports {
		m.Exports = append(m.Exports, name)
	}
	sort.Strings(m.Exports)

	// The version check comes first: a v2 module's other faults are noise.
	for _, name := range m.Exports {
		if v, ok := strings.CutPrefix(name, VersionExportPrefix); ok && name != VersionExport {
			return m, &ModuleError{Err: ErrABIVersion, Reason: fmt.Sprintf("module speaks wasmfaas ABI v%s; this host speaks v%d", v, Version)}
		}
	}
	for _, im := range s.Imports {
		if v, ok := strings.CutPrefix(im.Module, ImportModulePrefix); ok && im.Module != ImportModule {
			if _, err := strconv.Atoi(v); err == nil {
				return m, &ModuleError{Err: ErrABIVersion, Reason: fmt.Sprintf("module speaks wasmfaas ABI v%s; this host speaks v%d", v, Version)}
			}
		}
	}

	handle, hasHandle := s.Exports[HandleExport]
	_, hasMarker := s.Exports[VersionExport]
	_, hasStart := s.Exports[StartExport]
	_, m.HasInit = s.Exports[InitializeExport]
	switch {
	case hasHandle && hasMarker:
		m.Mode = ModeReactor
	case hasHandle:
		return m, &ModuleError{Err: ErrInvalidModule, Reason: fmt.Sprintf("module exports %s but not the version marker %s", HandleExport, VersionExport)}
	case hasMarker:
		return m, &ModuleError{Err: ErrInvalidModule, Reason: fmt.Sprintf("module exports %s but not %s", VersionExport, HandleExport)}
	case hasStart:
		m.Mode = ModeCommand
	default:
		return m, &ModuleError{Err: ErrInvalidModule, Reason: fmt.Sprintf("module exports neither %s nor %s", HandleExport, StartExport)}
	}
	if m.Mode == ModeReactor {
		if len(handle.Params) != 0 || len(handle.Results) != 1 || handle.Results[0] != string(I32) {
			return m, &ModuleError{Err: ErrInvalidModule, Reason: fmt.Sprintf("export %s must be () -> i32, is %s", HandleExport, handle)}
		}
	}
	if len(s.ImportedMemories) > 0 {
		return m, &ModuleError{Err: ErrUnknownImport, Import: s.ImportedMemories[0], Reason: "modules must define their own memory, not import one"}
	}
	if pages, ok := s.Memories[MemoryExport]; ok {
		m.MinMemoryPages = pages
	} else if m.Mode == ModeReactor {
		return m, &ModuleError{Err: ErrInvalidModule, Reason: "reactor module must export its memory as \"memory\""}
	}

	m.ImportCaps = map[string]Capability{}
	caps := map[Capability]bool{}
	for _, im := range s.Imports {
		full := im.Module + "." + im.Name
		m.Imports = append(m.Imports, full)
		var c Capability
		switch im.Module {
		case ImportModule:
			if m.Mode == ModeCommand {
				return m, &ModuleError{Err: ErrUnknownImport, Import: full, Reason: "a WASI command module gets no wasmfaas capabilities; export wasmfaas_abi_v1 and wasmfaas_handle to use them"}
			}
			f, ok := Lookup(im.Name)
			if !ok {
				return m, &ModuleError{Err: ErrUnknownImport, Import: full, Reason: "unknown host function"}
			}
			if want, got := f.Type().String(), im.Type.String(); want != got {
				return m, &ModuleError{Err: ErrUnknownImport, Import: full, Reason: fmt.Sprintf("signature is %s, ABI v1 says %s", got, want)}
			}
			c = f.Group
		case WASIModule:
			c = CapWASI
		default:
			return m, &ModuleError{Err: ErrUnknownImport, Import: full, Reason: fmt.Sprintf("unknown import module %q (the host provides %s and %s)", im.Module, ImportModule, WASIModule)}
		}
		m.ImportCaps[full] = c
		if c != CapCore {
			caps[c] = true
		}
	}
	for c := range caps {
		m.Capabilities = append(m.Capabilities, c)
	}
	sort.Slice(m.Capabilities, func(i, j int) bool { return m.Capabilities[i] < m.Capabilities[j] })
	return m, nil
}

// CheckGrants refuses a module that imports a capability not in g, naming
// the first such import in import order.
func (m ModuleInfo) CheckGrants(g Grants) error {
	if m.Mode == ModeCommand && !g.Has(CapWASI) {
		return &ModuleError{Err: ErrNotGranted, Reason: `a WASI command module needs capability "wasi", which is not granted`}
	}
	for _, full := range m.Imports {
		if c := m.ImportCaps[full]; !g.Has(c) {
			return &ModuleError{Err: ErrNotGranted, Import: full, Reason: fmt.Sprintf("needs capability %q, which is not granted", c)}
		}
	}
	return nil
}

// Type is f's wasm function type.
func (f Func) Type() FuncType {
	t := FuncType{Params: make([]string, len(f.Types)), Results: []string{string(f.Result)}}
	for i, v := range f.Types {
		t.Params[i] = string(v)
	}
	return t
}
