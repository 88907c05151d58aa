// Package storetest owns the test suite that every store backend must pass:
// Run checks a store.Store against the contract of package store and
// abi/README.md (revisions, compare-and-set, validation, exact round trips of
// naughty strings, atomic updates under contention), and RunNotifier checks
// the delivery of property changes to a store.Notifier.
//
// A backend's test calls them with a constructor:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return mem.New() })
//	}
package storetest
