package storetest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/store"
)

// Run runs the shared suite against the backend built by newStore, which is
// called once per subtest and must return an empty store. Each subtest closes
// its store when it is done (some close it earlier too), so Close must
// tolerate being called twice.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		require.NotNil(t, s, "newStore returned nil")
		t.Cleanup(func() { assert.NoError(t, s.Close()) })
		return s
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"KV/PutGetDelete", testKVPutGetDelete},
		{"KV/NotFound", testKVNotFound},
		{"KV/Revisions", testKVRevisions},
		{"KV/EmptyValue", testKVEmptyValue},
		{"KV/Limits", testKVLimits},
		{"KV/Keys", testKVKeys},
		{"KV/NamespacesIsolated", testKVNamespaces},
		{"KV/CopiesValues", testKVCopies},
		{"KV/Invalid", testKVInvalid},
		{"Properties/SetGetDelete", testPropsSetGetDelete},
		{"Properties/NotFound", testPropsNotFound},
		{"Properties/Change", testPropsChange},
		{"Properties/CompareAndSet", testPropsCAS},
		{"Properties/DeleteCompareAndSet", testPropsDeleteCAS},
		{"Properties/RevisionNotReused", testPropsRevisionNotReused},
		{"Properties/List", testPropsList},
		{"Properties/CopiesValues", testPropsCopies},
		{"Properties/Invalid", testPropsInvalid},
		{"Properties/History", testPropsHistory},
		{"Extended/SetGetDelete", testExtSetGetDelete},
		{"Extended/SeparateFromProperties", testExtSeparate},
		{"Extended/Invalid", testExtInvalid},
		{"WriteID/Once", testWriteIDOnce},
		{"WriteID/Counter", testWriteIDCounter},
		{"NaughtyStrings", testNaughty},
		{"AtomicIncrementHammer", testHammer},
		{"CanceledContext", testCanceled},
		{"Closed", testClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// assertChange compares changes, treating nil and empty values alike and
// comparing JSON values semantically (a backend may re-encode them).
func assertChange(t *testing.T, want, got store.Change, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, want.Subject, got.Subject, msgAndArgs...)
	assert.Equal(t, want.Name, got.Name, msgAndArgs...)
	assert.Equal(t, want.Revision, got.Revision, msgAndArgs...)
	assertJSON(t, want.Old, got.Old, msgAndArgs...)
	assertJSON(t, want.New, got.New, msgAndArgs...)
}

func assertJSON(t *testing.T, want, got json.RawMessage, msgAndArgs ...any) {
	t.Helper()
	if len(want) == 0 || len(got) == 0 {
		assert.Empty(t, got, msgAndArgs...)
		assert.Empty(t, want, msgAndArgs...)
		return
	}
	assert.JSONEq(t, string(want), string(got), msgAndArgs...)
}
