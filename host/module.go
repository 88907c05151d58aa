package host

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmfaas/wasmfaas/abi"
)

// Module is a validated wasm module: its bytes, content address, ABI mode and
// what it imports and exports. It is immutable and safe to share.
type Module struct {
	Digest string
	Size   int
	Mode   abi.Mode
	// Imports lists every imported function as "module.name".
	Imports []string
	// Exports lists every exported function name, sorted.
	Exports []string
	// Capabilities are the groups the module's imports need, sorted.
	Capabilities []abi.Capability
	// MinMemoryPages is the memory the module declares at start.
	MinMemoryPages uint32

	wasm      []byte
	importCap map[string]abi.Capability // "module.name" -> capability
	hasInit   bool
}

// Load validates wasm against ABI v1 and returns the Module. Errors are
// *ModuleError naming what is wrong. Load compiles the module once; the
// compilation cache makes the compile of a later NewFunction cheap.
func (h *Host) Load(ctx context.Context, wasm []byte) (*Module, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, &ModuleError{Err: ErrInvalidModule, Reason: "not a wasm binary (bad magic number)"}
	}
	instrumented, err := instrument(wasm)
	if err != nil {
		return nil, &ModuleError{Err: ErrInvalidModule, Reason: err.Error()}
	}
	m := &Module{Digest: Digest(wasm), Size: len(wasm), wasm: instrumented}
	env, cm, err := h.compile(ctx, m, 65536)
	if err != nil {
		return nil, err
	}
	_ = env
	defer h.release(ctx, m.Digest, 65536)
	if err := m.inspect(cm.ImportedFunctions(), cm.ExportedFunctions(), cm.ImportedMemories(), cm.ExportedMemories()); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Module) inspect(imports []api.FunctionDefinition, exports map[string]api.FunctionDefinition,
	importedMem []api.MemoryDefinition, exportedMem map[string]api.MemoryDefinition) error {
	for name := range exports {
		m.Exports = append(m.Exports, name)
	}
	sort.Strings(m.Exports)

	// The version check comes first: a v2 module's other faults are noise.
	for _, name := range m.Exports {
		if v, ok := strings.CutPrefix(name, abi.VersionExportPrefix); ok && name != abi.VersionExport {
			return &ModuleError{Err: ErrABIVersion, Reason: fmt.Sprintf("module speaks wasmfaas ABI v%s; this host speaks v%d", v, abi.Version)}
		}
	}
	for _, d := range imports {
		mod, _, _ := d.Import()
		if v, ok := strings.CutPrefix(mod, abi.ImportModulePrefix); ok && mod != abi.ImportModule {
			if _, err := strconv.Atoi(v); err == nil {
				return &ModuleError{Err: ErrABIVersion, Reason: fmt.Sprintf("module speaks wasmfaas ABI v%s; this host speaks v%d", v, abi.Version)}
			}
		}
	}

	_, hasHandle := exports[abi.HandleExport]
	_, hasMarker := exports[abi.VersionExport]
	_, hasStart := exports[abi.StartExport]
	_, m.hasInit = exports[abi.InitializeExport]
	switch {
	case hasHandle && hasMarker:
		m.Mode = abi.ModeReactor
	case hasHandle:
		return &ModuleError{Err: ErrInvalidModule, Reason: fmt.Sprintf("module exports %s but not the version marker %s", abi.HandleExport, abi.VersionExport)}
	case hasMarker:
		return &ModuleError{Err: ErrInvalidModule, Reason: fmt.Sprintf("module exports %s but not %s", abi.VersionExport, abi.HandleExport)}
	case hasStart:
		m.Mode = abi.ModeCommand
	default:
		return &ModuleError{Err: ErrInvalidModule, Reason: fmt.Sprintf("module exports neither %s nor %s", abi.HandleExport, abi.StartExport)}
	}
	if m.Mode == abi.ModeReactor {
		if d := exports[abi.HandleExport]; len(d.ParamTypes()) != 0 || len(d.ResultTypes()) != 1 || d.ResultTypes()[0] != api.ValueTypeI32 {
			return &ModuleError{Err: ErrInvalidModule, Reason: fmt.Sprintf("export %s must be () -> i32, is %s", abi.HandleExport, sig(d))}
		}
	}
	if len(importedMem) > 0 {
		mod, name, _ := importedMem[0].Import()
		return &ModuleError{Err: ErrUnknownImport, Import: mod + "." + name, Reason: "modules must define their own memory, not import one"}
	}
	if mem, ok := exportedMem[abi.MemoryExport]; ok {
		m.MinMemoryPages = mem.Min()
	} else if m.Mode == abi.ModeReactor {
		return &ModuleError{Err: ErrInvalidModule, Reason: "reactor module must export its memory as \"memory\""}
	}

	m.importCap = map[string]abi.Capability{}
	caps := map[abi.Capability]bool{}
	for _, d := range imports {
		mod, name, _ := d.Import()
		full := mod + "." + name
		m.Imports = append(m.Imports, full)
		var c abi.Capability
		switch mod {
		case abi.ImportModule:
			if m.Mode == abi.ModeCommand {
				return &ModuleError{Err: ErrUnknownImport, Import: full, Reason: "a WASI command module gets no wasmfaas capabilities; export wasmfaas_abi_v1 and wasmfaas_handle to use them"}
			}
			f, ok := abi.Lookup(name)
			if !ok {
				return &ModuleError{Err: ErrUnknownImport, Import: full, Reason: "unknown host function"}
			}
			if want, got := wantSig(f), sig(d); want != got {
				return &ModuleError{Err: ErrUnknownImport, Import: full, Reason: fmt.Sprintf("signature is %s, ABI v1 says %s", got, want)}
			}
			c = f.Group
		case abi.WASIModule:
			c = abi.CapWASI
		default:
			return &ModuleError{Err: ErrUnknownImport, Import: full, Reason: fmt.Sprintf("unknown import module %q (the host provides %s and %s)", mod, abi.ImportModule, abi.WASIModule)}
		}
		m.importCap[full] = c
		if c != abi.CapCore {
			caps[c] = true
		}
	}
	for c := range caps {
		m.Capabilities = append(m.Capabilities, c)
	}
	sort.Slice(m.Capabilities, func(i, j int) bool { return m.Capabilities[i] < m.Capabilities[j] })
	return nil
}

// checkGrants refuses a module that imports a capability not in g, naming
// the first such import in import order.
func (m *Module) checkGrants(g abi.Grants) error {
	if m.Mode == abi.ModeCommand && !g.Has(abi.CapWASI) {
		return &ModuleError{Err: ErrNotGranted, Reason: `a WASI command module needs capability "wasi", which is not granted`}
	}
	for _, full := range m.Imports {
		if c := m.importCap[full]; !g.Has(c) {
			return &ModuleError{Err: ErrNotGranted, Import: full, Reason: fmt.Sprintf("needs capability %q, which is not granted", c)}
		}
	}
	return nil
}

func wantSig(f abi.Func) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, t := range f.Types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t))
	}
	b.WriteString(") -> ")
	b.WriteString(string(f.Result))
	return b.String()
}

func sig(d api.FunctionDefinition) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, t := range d.ParamTypes() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(api.ValueTypeName(t))
	}
	b.WriteString(") -> ")
	switch rs := d.ResultTypes(); len(rs) {
	case 0:
		b.WriteString("()")
	case 1:
		b.WriteString(api.ValueTypeName(rs[0]))
	default:
		names := make([]string, len(rs))
		for i, r := range rs {
			names[i] = api.ValueTypeName(r)
		}
		b.WriteString("(" + strings.Join(names, ", ") + ")")
	}
	return b.String()
}
