package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/store"
)

// RunCallLog runs the call-log suite against the backend built by newLog,
// which is called once per subtest with the retention to apply and must
// return an empty log.
//
// Retention by age is checked in real time with a MaxAge of one second, so
// the suite takes a few seconds; a backend with an injectable clock should
// also test age without sleeping.
func RunCallLog(t *testing.T, newLog func(t *testing.T, r store.Retention) store.CallLog) {
	t.Helper()
	for _, tc := range []struct {
		name string
		ret  store.Retention
		run  func(t *testing.T, l store.CallLog)
	}{
		{"AppendGet", store.Retention{}, testCallAppendGet},
		{"NotFound", store.Retention{}, testCallNotFound},
		{"Idempotent", store.Retention{}, testCallIdempotent},
		{"NewestFirst", store.Retention{}, testCallOrder},
		{"Filters", store.Retention{}, testCallFilters},
		{"SparseFilter", store.Retention{}, testCallSparse},
		{"Limits", store.Retention{}, testCallLimits},
		{"NaughtyNames", store.Retention{}, testCallNaughty},
		{"Invalid", store.Retention{}, testCallInvalid},
		{"CopiesRecords", store.Retention{}, testCallCopies},
		{"CanceledContext", store.Retention{}, testCallCanceled},
		{"RetentionByCount", store.Retention{MaxCount: 5}, testCallRetainCount},
		{"RetentionByAge", store.Retention{MaxAge: time.Second}, testCallRetainAge},
		{"RetentionCountsFromAppend", store.Retention{MaxAge: time.Hour}, testCallRetainLate},
		{"ConcurrentAppends", store.Retention{}, testCallConcurrent},
		{"Follow", store.Retention{}, testCallFollow},
		{"FollowFilters", store.Retention{}, testCallFollowFilters},
		{"FollowStops", store.Retention{}, testCallFollowStops},
		{"FollowInvalid", store.Retention{}, testCallFollowInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLog(t, tc.ret)
			require.NotNil(t, l, "newLog returned nil")
			tc.run(t, l)
		})
	}
}

// callAt returns a call with a small ExecutionInfo-like record.
func callAt(id, fn, status string, start time.Time) store.Call {
	rec, err := json.Marshal(map[string]any{"call_id": id, "function": fn, "status": status, "start": start})
	if err != nil {
		panic(err) // strings and a time always marshal
	}
	return store.Call{ID: id, Function: fn, Status: status, Start: start, Record: rec}
}

// base is a fixed start time in the past: calls' order must come from
// Start, not from when they were appended.
var base = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

func appendAll(t *testing.T, l store.CallLog, calls ...store.Call) {
	t.Helper()
	for _, c := range calls {
		require.NoError(t, l.Append(t.Context(), c), "append %s", c.ID)
	}
}

func ids(calls []store.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.ID
	}
	return out
}

func assertCall(t *testing.T, want, got store.Call, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID, msgAndArgs...)
	assert.Equal(t, want.Function, got.Function, msgAndArgs...)
	assert.Equal(t, want.Status, got.Status, msgAndArgs...)
	assert.Equal(t, want.Start.UTC(), got.Start, msgAndArgs...)
	assert.Equal(t, string(want.Record), string(got.Record), msgAndArgs...)
	assert.Equal(t, want.Subject, got.Subject, msgAndArgs...)
	if len(want.Extensions) == 0 {
		assert.Empty(t, got.Extensions, msgAndArgs...)
	} else {
		assert.Equal(t, want.Extensions, got.Extensions, msgAndArgs...)
	}
}

func testCallAppendGet(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	// A start in another zone and with a monotonic reading comes back in UTC.
	local := time.Now().In(time.FixedZone("X", 3600))
	calls := []store.Call{
		callAt("c1", "hello", "ok", base),
		callAt("c2", "hello", "error", local),
	}
	calls[1].Record = json.RawMessage(" {\"pretty\": [1, 2],\n \"unicode\": \"é\"} ")
	// The execution event's subject and extensions come back as appended.
	calls[1].Subject = "sensors/é 1/\"x\""
	calls[1].Extensions = map[string]string{"attempt": "2", "trigger": "on-reading", "wasmfaashops": "3", "empty": ""}
	appendAll(t, l, calls...)
	for _, want := range calls {
		got, err := l.Get(ctx, want.ID)
		require.NoError(t, err)
		assertCall(t, want, got)
		assert.Equal(t, time.UTC, got.Start.Location())
	}
	got, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assertCall(t, calls[1], got[0], "records are stored verbatim")
	assertCall(t, calls[0], got[1])
}

func testCallNotFound(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	_, err := l.Get(ctx, "missing")
	assert.ErrorIs(t, err, store.ErrNotFound)
	appendAll(t, l, callAt("present", "fn", "ok", base))
	_, err = l.Get(ctx, "presen")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = l.Get(ctx, "present ")
	assert.ErrorIs(t, err, store.ErrNotFound)
	got, err := l.List(ctx, store.CallFilter{Function: "nobody"})
	require.NoError(t, err)
	assert.Empty(t, got)
}

func testCallIdempotent(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	first := callAt("c1", "fn", "ok", base)
	appendAll(t, l, first, first, first)
	retry := callAt("c1", "fn", "error", base.Add(time.Second))
	require.NoError(t, l.Append(ctx, retry), "a different record under a stored ID is not an error")

	got, err := l.Get(ctx, "c1")
	require.NoError(t, err)
	assertCall(t, first, got, "the first record appended is kept")
	all, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	assert.Equal(t, []string{"c1"}, ids(all))
	errs, err := l.List(ctx, store.CallFilter{Status: "error"})
	require.NoError(t, err)
	assert.Empty(t, errs)
}

func testCallOrder(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	// Appended in an order unrelated to Start; ties on Start order by ID.
	starts := []time.Duration{5, 1, 9, 3, 3, 7, 0, 3, 8, 2}
	var calls []store.Call
	for i, s := range starts {
		calls = append(calls, callAt(fmt.Sprintf("c%02d", i), "fn", "ok", base.Add(s*time.Second)))
	}
	appendAll(t, l, calls...)
	want := slices.Clone(calls)
	slices.SortFunc(want, store.CompareCalls)
	got, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	assert.Equal(t, ids(want), ids(got))
	assert.Equal(t, []string{"c02", "c08", "c05", "c00", "c07", "c04", "c03", "c09", "c01", "c06"}, ids(got))

	top, err := l.List(ctx, store.CallFilter{Limit: 3})
	require.NoError(t, err)
	assert.Equal(t, []string{"c02", "c08", "c05"}, ids(top))
}

func testCallFilters(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	var calls []store.Call
	fns := []string{"a", "b", "ab"}
	statuses := []string{"ok", "error", "timeout"}
	for i := range 18 {
		calls = append(calls, callAt(fmt.Sprintf("c%02d", i), fns[i%3], statuses[(i/3)%3], base.Add(time.Duration(i)*time.Minute)))
	}
	appendAll(t, l, calls...)
	for _, f := range []store.CallFilter{
		{},
		{Function: "a"},
		{Function: "ab"},
		{Status: "error"},
		{Function: "b", Status: "timeout"},
		{Function: "a", Status: "trap"},
		{Function: "A"},
		{Function: "a", Limit: 2},
		{Status: "ok", Limit: 1},
	} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			var want []string
			for i := len(calls) - 1; i >= 0; i-- {
				if f.Match(calls[i]) && (f.Limit == 0 || len(want) < f.Limit) {
					want = append(want, calls[i].ID)
				}
			}
			got, err := l.List(ctx, f)
			require.NoError(t, err)
			assert.Equal(t, want, nonNil(ids(got)))
			for _, c := range got {
				assert.True(t, f.Match(c), "%s does not match", c.ID)
			}
		})
	}
}

func nonNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// testCallSparse lists a function with few calls hidden among many, the
// case where a backend scanning backwards in windows must keep going.
func testCallSparse(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	now := time.Now()
	var rare []string
	for i := range 3 {
		id := fmt.Sprintf("rare%d", i)
		appendAll(t, l, callAt(id, "rare", "ok", now.Add(time.Duration(i)*time.Millisecond)))
		rare = append([]string{id}, rare...)
	}
	for i := range 400 {
		// After the rare calls however fast the backend appends.
		appendAll(t, l, callAt(fmt.Sprintf("busy%03d", i), "busy", "ok", now.Add(10*time.Millisecond+time.Duration(i)*time.Microsecond)))
	}
	got, err := l.List(ctx, store.CallFilter{Function: "rare"})
	require.NoError(t, err)
	assert.Equal(t, rare, ids(got))
	got, err = l.List(ctx, store.CallFilter{Limit: 5})
	require.NoError(t, err)
	assert.Equal(t, []string{"busy399", "busy398", "busy397", "busy396", "busy395"}, ids(got))

	// A call that started first but was appended last is still the oldest.
	appendAll(t, l, callAt("late", "rare", "ok", now.Add(-time.Hour)))
	got, err = l.List(ctx, store.CallFilter{Function: "rare"})
	require.NoError(t, err)
	assert.Equal(t, append(rare, "late"), ids(got))
	// And one that started last but was appended first is the newest.
	got, err = l.List(ctx, store.CallFilter{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, []string{"busy399"}, ids(got))
}

func testCallLimits(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	n := store.DefaultCallLimit + 10
	var want []string
	for i := range n {
		id := fmt.Sprintf("c%03d", i)
		appendAll(t, l, callAt(id, "fn", "ok", base.Add(time.Duration(i)*time.Millisecond)))
		want = append([]string{id}, want...)
	}
	got, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	assert.Equal(t, want[:store.DefaultCallLimit], ids(got), "limit 0 means the default")
	got, err = l.List(ctx, store.CallFilter{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, want[:1], ids(got))
	got, err = l.List(ctx, store.CallFilter{Limit: store.MaxCallLimit})
	require.NoError(t, err)
	assert.Equal(t, want, ids(got))
	for _, bad := range []int{-1, store.MaxCallLimit + 1} {
		_, err = l.List(ctx, store.CallFilter{Limit: bad})
		assert.ErrorIs(t, err, store.ErrInvalid, "limit %d", bad)
	}
}

func testCallNaughty(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	strs, err := NaughtyStrings()
	require.NoError(t, err)
	var names []string
	for _, s := range strs {
		if len(s) <= store.MaxCallNameLen {
			names = append(names, s)
		}
	}
	for i, name := range names {
		// The name is the function of one call and the status and ID of another.
		appendAll(t, l,
			callAt(fmt.Sprintf("fn%d", i), name, "ok", base.Add(time.Duration(i)*time.Second)),
			callAt(name, "status", name, base.Add(time.Duration(i)*time.Second)),
		)
	}
	for i, name := range names {
		got, err := l.List(ctx, store.CallFilter{Function: name})
		require.NoError(t, err, "function %q", name)
		if assert.Len(t, got, 1, "function %q", name) {
			assert.Equal(t, fmt.Sprintf("fn%d", i), got[0].ID)
			assert.Equal(t, name, got[0].Function)
		}
		got, err = l.List(ctx, store.CallFilter{Status: name})
		require.NoError(t, err, "status %q", name)
		if assert.Len(t, got, 1, "status %q", name) {
			assert.Equal(t, name, got[0].ID)
			assert.Equal(t, name, got[0].Status)
		}
		c, err := l.Get(ctx, name)
		if assert.NoError(t, err, "id %q", name) {
			assert.Equal(t, name, c.ID)
		}
	}
}

func testCallInvalid(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	good := callAt("id", "fn", "ok", base)
	with := func(f func(*store.Call)) store.Call {
		c := good
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		c    store.Call
		err  error
	}{
		{"empty id", with(func(c *store.Call) { c.ID = "" }), store.ErrInvalid},
		{"NUL id", with(func(c *store.Call) { c.ID = "a\x00" }), store.ErrInvalid},
		{"invalid UTF-8 id", with(func(c *store.Call) { c.ID = "a\xff" }), store.ErrInvalid},
		{"long id", with(func(c *store.Call) { c.ID = strings.Repeat("i", store.MaxCallIDLen+1) }), store.ErrTooLarge},
		{"empty function", with(func(c *store.Call) { c.Function = "" }), store.ErrInvalid},
		{"NUL function", with(func(c *store.Call) { c.Function = "\x00" }), store.ErrInvalid},
		{"invalid UTF-8 function", with(func(c *store.Call) { c.Function = "caf\xc3" }), store.ErrInvalid},
		{"long function", with(func(c *store.Call) { c.Function = strings.Repeat("f", store.MaxCallNameLen+1) }), store.ErrTooLarge},
		{"empty status", with(func(c *store.Call) { c.Status = "" }), store.ErrInvalid},
		{"zero start", with(func(c *store.Call) { c.Start = time.Time{} }), store.ErrInvalid},
		{"nil record", with(func(c *store.Call) { c.Record = nil }), store.ErrInvalid},
		{"bad JSON", with(func(c *store.Call) { c.Record = json.RawMessage(`{"a":`) }), store.ErrInvalid},
		{"invalid UTF-8 record", with(func(c *store.Call) { c.Record = json.RawMessage("\"\xff\"") }), store.ErrInvalid},
		{"subject with newline", with(func(c *store.Call) { c.Subject = "a\nb" }), store.ErrInvalid},
		{"subject with C1 control", with(func(c *store.Call) { c.Subject = "a\u0085b" }), store.ErrInvalid},
		{"long subject", with(func(c *store.Call) { c.Subject = strings.Repeat("s", store.MaxCallSubject+1) }), store.ErrTooLarge},
		{"extension name with capitals", with(func(c *store.Call) { c.Extensions = map[string]string{"Attempt": "1"} }), store.ErrInvalid},
		{"extension name too long", with(func(c *store.Call) { c.Extensions = map[string]string{strings.Repeat("e", 21): "1"} }), store.ErrInvalid},
		{"extension overriding the status", with(func(c *store.Call) { c.Extensions = map[string]string{store.ExtStatus: "ok"} }), store.ErrInvalid},
		{"extension overriding the id", with(func(c *store.Call) { c.Extensions = map[string]string{"id": "x"} }), store.ErrInvalid},
		{"extension value with CR", with(func(c *store.Call) { c.Extensions = map[string]string{"x": "a\rb"} }), store.ErrInvalid},
		{"long extension value", with(func(c *store.Call) { c.Extensions = map[string]string{"x": strings.Repeat("v", store.MaxCallExtLen+1)} }), store.ErrTooLarge},
		{"huge record", with(func(c *store.Call) {
			c.Record = json.RawMessage(`"` + strings.Repeat("r", store.MaxCallRecordLen) + `"`)
		}), store.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, l.Append(ctx, tc.c), tc.err)
		})
	}
	for _, tc := range []struct {
		name string
		f    store.CallFilter
	}{
		{"NUL function", store.CallFilter{Function: "a\x00"}},
		{"invalid UTF-8 status", store.CallFilter{Status: "\xff"}},
		{"negative limit", store.CallFilter{Limit: -5}},
	} {
		t.Run("filter "+tc.name, func(t *testing.T) {
			_, err := l.List(ctx, tc.f)
			assert.ErrorIs(t, err, store.ErrInvalid)
		})
	}
	_, err := l.Get(ctx, "")
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = l.Get(ctx, "a\x00")
	assert.ErrorIs(t, err, store.ErrInvalid)

	all, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	assert.Empty(t, all, "invalid appends must not store anything")

	largest := with(func(c *store.Call) {
		c.ID = strings.Repeat("i", store.MaxCallIDLen)
		c.Function = strings.Repeat("é", store.MaxCallNameLen/2)
		c.Record = json.RawMessage(`"` + strings.Repeat("r", store.MaxCallRecordLen-2) + `"`)
	})
	require.NoError(t, l.Append(ctx, largest), "the largest call is allowed")
	got, err := l.Get(ctx, largest.ID)
	require.NoError(t, err)
	assertCall(t, largest, got)
}

func testCallCopies(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	c := callAt("c", "fn", "ok", base)
	c.Record = json.RawMessage(`"original"`)
	require.NoError(t, l.Append(ctx, c))
	copy(c.Record, `"XXXXXXXX"`)
	got, err := l.Get(ctx, "c")
	require.NoError(t, err)
	assert.Equal(t, `"original"`, string(got.Record), "the log must copy records in")
	copy(got.Record, `"YYYYYYYY"`)
	all, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, `"original"`, string(all[0].Record), "the log must copy records out")
	copy(all[0].Record, `"ZZZZZZZZ"`)
	got, err = l.Get(ctx, "c")
	require.NoError(t, err)
	assert.Equal(t, `"original"`, string(got.Record))
}

func testCallCanceled(t *testing.T, l store.CallLog) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, l.Append(ctx, callAt("c", "fn", "ok", base)), context.Canceled)
	_, err := l.Get(ctx, "c")
	assert.ErrorIs(t, err, context.Canceled)
	_, err = l.List(ctx, store.CallFilter{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = l.Get(t.Context(), "c")
	assert.ErrorIs(t, err, store.ErrNotFound, "a canceled append writes nothing")
}

// testCallRetainCount runs with MaxCount 5: the oldest appends are dropped.
func testCallRetainCount(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	var all []string
	for i := range 8 {
		id := fmt.Sprintf("c%d", i)
		// Start runs backwards: retention drops by append order, not by Start.
		appendAll(t, l, callAt(id, "fn", "ok", base.Add(-time.Duration(i)*time.Second)))
		all = append(all, id)
	}
	got, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	assert.Equal(t, all[3:], ids(got))
	for _, id := range all[:3] {
		_, err := l.Get(ctx, id)
		assert.ErrorIs(t, err, store.ErrNotFound, "dropped call %s", id)
	}
	for _, id := range all[3:] {
		_, err := l.Get(ctx, id)
		assert.NoError(t, err, "kept call %s", id)
	}
	appendAll(t, l, callAt("c8", "other", "ok", base))
	got, err = l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	assert.Len(t, got, 5, "the count is over every function")
	_, err = l.Get(ctx, "c3")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// testCallRetainAge runs with MaxAge 1s, in real time.
func testCallRetainAge(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	appendAll(t, l, callAt("old", "fn", "ok", time.Now()))
	_, err := l.Get(ctx, "old")
	require.NoError(t, err, "a call is kept until MaxAge")
	require.Eventually(t, func() bool {
		_, err := l.Get(ctx, "old")
		return errors.Is(err, store.ErrNotFound)
	}, 10*time.Second, 50*time.Millisecond, "a call older than MaxAge is dropped")
	appendAll(t, l, callAt("new", "fn", "ok", time.Now()))
	got, err := l.List(ctx, store.CallFilter{})
	require.NoError(t, err)
	assert.Equal(t, []string{"new"}, ids(got))
}

// testCallRetainLate runs with MaxAge 1h: a call that started long ago but
// was appended just now is kept.
func testCallRetainLate(t *testing.T, l store.CallLog) {
	ctx := t.Context()
	appendAll(t, l, callAt("late", "fn", "ok", time.Now().Add(-48*time.Hour)))
	_, err := l.Get(ctx, "late")
	assert.NoError(t, err)
}

// testCallConcurrent appends from many goroutines, each call twice from
// two goroutines: every call is stored exactly once.
func testCallConcurrent(t *testing.T, l store.CallLog) {
	const (
		workers = 8
		each    = 40
	)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for w := range workers {
		wg.Go(func() {
			// Worker w appends its own calls and then its neighbour's, in
			// a shuffled order, so duplicates race with the originals.
			var mine []store.Call
			for _, owner := range []int{w, (w + 1) % workers} {
				for i := range each {
					mine = append(mine, callAt(fmt.Sprintf("w%d-%02d", owner, i), fmt.Sprintf("fn%d", owner%3), "ok", base.Add(time.Duration(owner*each+i)*time.Millisecond)))
				}
			}
			rand.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			for _, c := range mine {
				errs <- l.Append(ctx, c)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := l.List(ctx, store.CallFilter{Limit: store.MaxCallLimit})
	require.NoError(t, err)
	assert.Len(t, got, workers*each)
	seen := map[string]bool{}
	for _, c := range got {
		assert.False(t, seen[c.ID], "duplicate %s", c.ID)
		seen[c.ID] = true
	}
	assert.True(t, slices.IsSortedFunc(got, store.CompareCalls), "newest first")
}

// follow starts a follower of f and returns the channel it delivers on;
// the follower ends with the test.
func follow(t *testing.T, l store.CallLog, f store.CallFilter) <-chan store.Call {
	t.Helper()
	got := make(chan store.Call, 1024)
	require.NoError(t, l.Follow(t.Context(), f, func(c store.Call) { got <- c }))
	return got
}

// next returns the next call a follower delivered, failing after a
// deadline.
func next(t *testing.T, got <-chan store.Call) store.Call {
	t.Helper()
	select {
	case c := <-got:
		return c
	case <-time.After(10 * time.Second):
		require.FailNow(t, "no call followed within 10s")
		return store.Call{}
	}
}

// testCallFollow: a follower sees the calls appended after Follow
// returns, not those before, in append order, with everything a Get
// returns; a repeated append is not seen twice.
func testCallFollow(t *testing.T, l store.CallLog) {
	appendAll(t, l, callAt("before", "hello", "ok", base))
	got := follow(t, l, store.CallFilter{})
	calls := []store.Call{
		callAt("f1", "hello", "ok", base.Add(time.Second)),
		callAt("f2", "other", "error", base), // an older Start: append order, not Start order
		callAt("f3", "hello", "trap", base.Add(2*time.Second)),
	}
	calls[1].Subject = "sensors/<b>1</b>"
	calls[1].Extensions = map[string]string{"attempt": "2", "trigger": "t"}
	appendAll(t, l, calls...)
	appendAll(t, l, calls[0]) // a repeat
	appendAll(t, l, callAt("marker", "hello", "ok", base))
	for _, want := range calls {
		assertCall(t, want, next(t, got))
	}
	assert.Equal(t, "marker", next(t, got).ID, "the repeat is not followed")
}

// testCallFollowFilters: a follower sees only its function and status.
func testCallFollowFilters(t *testing.T, l store.CallLog) {
	byFn := follow(t, l, store.CallFilter{Function: "a.b c"})
	byStatus := follow(t, l, store.CallFilter{Status: "error"})
	both := follow(t, l, store.CallFilter{Function: "a.b c", Status: "error", Limit: 3})
	appendAll(t, l,
		callAt("1", "a.b c", "ok", base),
		callAt("2", "other", "error", base),
		callAt("3", "a.b c", "error", base),
		callAt("4", "a.b", "ok", base),
		callAt("5", "a.b c", "ok", base),
		callAt("6", "other", "error", base),
	)
	read := func(ch <-chan store.Call, n int) []string {
		var out []string
		for range n {
			out = append(out, next(t, ch).ID)
		}
		return out
	}
	assert.Equal(t, []string{"1", "3", "5"}, read(byFn, 3))
	assert.Equal(t, []string{"2", "3", "6"}, read(byStatus, 3))
	assert.Equal(t, []string{"3"}, read(both, 1), "the filter's limit does not apply")
	appendAll(t, l, callAt("7", "a.b c", "error", base))
	assert.Equal(t, "7", next(t, both).ID, "nothing else arrived before the marker")
}

// testCallFollowStops: once its context is done, a follower is called no
// more, and a second follower still is; Follow with a done context fails.
func testCallFollowStops(t *testing.T, l store.CallLog) {
	ctx, cancel := context.WithCancel(t.Context())
	var (
		mu      sync.Mutex
		stopped bool
		late    []string
	)
	first := make(chan string, 16)
	require.NoError(t, l.Follow(ctx, store.CallFilter{}, func(c store.Call) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			late = append(late, c.ID)
		}
		first <- c.ID
	}))
	other := follow(t, l, store.CallFilter{})
	appendAll(t, l, callAt("s1", "f", "ok", base))
	require.Equal(t, "s1", <-first)
	require.Equal(t, "s1", next(t, other).ID)
	mu.Lock()
	stopped = true
	mu.Unlock()
	cancel()
	// Nothing else reaches the stopped follower: the other follower sees
	// three more calls as markers.
	for i := range 3 {
		id := fmt.Sprintf("s%d", i+2)
		appendAll(t, l, callAt(id, "f", "ok", base))
		require.Equal(t, id, next(t, other).ID)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, late, "a stopped follower was called")

	canceled, cancel2 := context.WithCancel(t.Context())
	cancel2()
	assert.ErrorIs(t, l.Follow(canceled, store.CallFilter{}, func(store.Call) {}), context.Canceled)
}

func testCallFollowInvalid(t *testing.T, l store.CallLog) {
	for _, f := range []store.CallFilter{{Function: "x\x00y"}, {Status: strings.Repeat("s", store.MaxCallNameLen+1)}} {
		assert.Error(t, l.Follow(t.Context(), f, func(store.Call) {}), "%+v", f)
	}
}
