// Package store owns the state a function host keeps outside guests: per-function
// key/value namespaces and the reactive properties of subjects (with their
// property-changed events), behind small interfaces with one backend per
// subpackage (store/mem now, store/jetstream next) and one shared test suite,
// storetest.Run, that every backend must pass.
package store
