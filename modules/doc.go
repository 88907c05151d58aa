// Package modules owns the module registry: uploads of .wasm bytes are
// validated (through a Validator, the host, which applies abi.CheckModule:
// they compile, their mode is known, every import is a known host function)
// and checked against the registry's start-memory limit, stored by sha256
// content address in the store's blob backend, and described by a Manifest
// (mode, exports, imported capabilities). It never runs a guest and does
// not import the host.
package modules
