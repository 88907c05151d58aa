// Package store owns the state a function host keeps outside guests: per-function
// key/value namespaces and the reactive properties of subjects (with their
// property-changed events), behind small interfaces with one backend per
// subpackage (store/mem now, store/jetstream next) and one shared test suite,
// storetest.Run, that every backend must pass.
//
// Besides the interfaces (store.go) and sentinel errors (errors.go), it holds
// what every backend shares so it is written once: the Check functions that
// validate keys, subjects, names, values and expected revisions (check.go),
// and Change.Event, which turns a committed change into the property-changed
// CloudEvent delivered through a Notifier (event.go).
package store
