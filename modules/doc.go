// Package modules owns the module registry: uploads of .wasm bytes are
// validated against ABI v1 (they compile, their mode is known, every import
// is a known host function, their start memory fits the limit), stored by
// sha256 content address in the store's blob backend, and described by a
// Manifest (mode, exports, imported capabilities). It compiles modules to
// inspect them but never runs a guest.
package modules
