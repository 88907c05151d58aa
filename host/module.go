package host

import (
	"context"

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

	wasm []byte
	info abi.ModuleInfo
}

// Info is what the ABI's rules found in the module (abi.CheckModule).
func (m *Module) Info() abi.ModuleInfo { return m.info }

// Load validates wasm against the ABI (abi.CheckModule, on what wazero
// reports of the compiled module) and returns the Module. Errors are
// *abi.ModuleError naming what is wrong. A module is loaded once per host:
// later loads of the same bytes return the same Module, and the
// compilation cache makes the compile of a later NewFunction cheap.
func (h *Host) Load(ctx context.Context, wasm []byte) (*Module, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, &abi.ModuleError{Err: abi.ErrInvalidModule, Reason: "not a wasm binary (bad magic number)"}
	}
	digest := Digest(wasm)
	h.mu.Lock()
	m, ok := h.modules[digest]
	h.mu.Unlock()
	if ok {
		return m, nil
	}
	instrumented, err := instrument(wasm)
	if err != nil {
		return nil, &abi.ModuleError{Err: abi.ErrInvalidModule, Reason: err.Error()}
	}
	m = &Module{Digest: digest, Size: len(wasm), wasm: instrumented}
	_, cm, err := h.compile(ctx, m, 65536)
	if err != nil {
		return nil, err
	}
	defer h.release(ctx, m.Digest, 65536)
	info, err := abi.CheckModule(shapeOf(cm.ImportedFunctions(), cm.ExportedFunctions(), cm.ImportedMemories(), cm.ExportedMemories()))
	if err != nil {
		return nil, err
	}
	m.info = info
	m.Mode, m.Imports, m.Exports = info.Mode, info.Imports, info.Exports
	m.Capabilities, m.MinMemoryPages = info.Capabilities, info.MinMemoryPages
	h.mu.Lock()
	if prev, ok := h.modules[digest]; ok {
		m = prev // loaded concurrently: keep one
	} else {
		h.modules[digest] = m
	}
	h.mu.Unlock()
	return m, nil
}

// Validate checks wasm against the ABI and describes it: what a module
// registry needs of the host to accept an upload.
func (h *Host) Validate(ctx context.Context, wasm []byte) (abi.ModuleInfo, error) {
	m, err := h.Load(ctx, wasm)
	if err != nil {
		return abi.ModuleInfo{}, err
	}
	return m.info, nil
}

// Forget drops the loaded module with digest (after the registry deleted
// it); functions already made from it keep running.
func (h *Host) Forget(digest string) {
	h.mu.Lock()
	delete(h.modules, digest)
	h.mu.Unlock()
}

// shapeOf translates what wazero reports of a compiled module into the
// ABI's terms.
func shapeOf(imports []api.FunctionDefinition, exports map[string]api.FunctionDefinition,
	importedMem []api.MemoryDefinition, exportedMem map[string]api.MemoryDefinition) abi.ModuleShape {
	s := abi.ModuleShape{Exports: make(map[string]abi.FuncType, len(exports)), Memories: map[string]uint32{}}
	for _, d := range imports {
		mod, name, _ := d.Import()
		if mod == yieldModule {
			continue // instrument's, not the guest's
		}
		s.Imports = append(s.Imports, abi.Import{Module: mod, Name: name, Type: funcType(d)})
	}
	for name, d := range exports {
		s.Exports[name] = funcType(d)
	}
	for _, d := range importedMem {
		mod, name, _ := d.Import()
		s.ImportedMemories = append(s.ImportedMemories, mod+"."+name)
	}
	for name, d := range exportedMem {
		s.Memories[name] = d.Min()
	}
	return s
}

func funcType(d api.FunctionDefinition) abi.FuncType {
	t := abi.FuncType{Params: make([]string, len(d.ParamTypes())), Results: make([]string, len(d.ResultTypes()))}
	for i, v := range d.ParamTypes() {
		t.Params[i] = api.ValueTypeName(v)
	}
	for i, v := range d.ResultTypes() {
		t.Results[i] = api.ValueTypeName(v)
	}
	return t
}
