package mem

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/wasmfaas/wasmfaas/store"
)

// CallLogConfig configures a CallLog.
type CallLogConfig struct {
	// Retention bounds the log; the zero value keeps every call.
	Retention store.Retention
	// Now is the clock retention by age reads; nil means time.Now. Tests
	// inject one to age calls without sleeping.
	Now func() time.Time
}

// CallLog is an in-memory store.CallLog. It is safe for concurrent use.
//
// It is separate from Store (rather than a third view of it) because a call
// log has its own retention and no revisions or notifications to share.
type CallLog struct {
	ret store.Retention
	now func() time.Time

	mu    sync.Mutex
	byID  map[string]*loggedCall
	order []*loggedCall // append order, oldest first; retention drops from the front
	seq   uint64        // the last append's sequence number
	// appended is closed and replaced by every append: followers wait on
	// it, then read what is new from order (see Follow).
	appended chan struct{}
}

// loggedCall is a stored call, when it was appended and its sequence
// number (1, 2, 3… in append order). Its Record is never modified after it
// is stored.
type loggedCall struct {
	c   store.Call
	at  time.Time
	seq uint64
}

var _ store.CallLog = (*CallLog)(nil)

// NewCallLog returns an empty call log; a negative retention bound is
// store.ErrInvalid.
func NewCallLog(cfg CallLogConfig) (*CallLog, error) {
	if err := store.CheckRetention(cfg.Retention); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &CallLog{ret: cfg.Retention, now: cfg.Now, byID: map[string]*loggedCall{}, appended: make(chan struct{})}, nil
}

// Append implements store.CallLog.
func (l *CallLog) Append(ctx context.Context, c store.Call) error {
	if err := store.CheckCall(c); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return store.WrapCall("append", c.ID, err)
	}
	c = cloneCall(c)
	c.Start = c.Start.UTC()
	if len(c.Extensions) == 0 {
		c.Extensions = nil
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.expire(now)
	if _, ok := l.byID[c.ID]; ok {
		return nil
	}
	l.seq++
	lc := &loggedCall{c: c, at: now, seq: l.seq}
	l.byID[c.ID] = lc
	l.order = append(l.order, lc)
	if n := l.ret.MaxCount; n > 0 && len(l.order) > n {
		l.drop(len(l.order) - n)
	}
	close(l.appended)
	l.appended = make(chan struct{})
	return nil
}

// followBatch is the most calls a follower copies out under the lock at a
// time.
const followBatch = 256

// Follow implements store.CallLog. Each follower is a goroutine with a
// cursor (the sequence of the last call it saw): woken by an append, it
// copies what is newer from the log under the lock, at most followBatch at
// a time, and calls fn outside it. A follower holds no calls of its own
// beyond one batch, so a slow fn never makes the log keep more; calls
// retention drops before the follower reaches them are missed.
func (l *CallLog) Follow(ctx context.Context, f store.CallFilter, fn func(store.Call)) error {
	f.Limit = 0
	f, err := store.CheckCallFilter(f)
	if err != nil {
		return fmt.Errorf("follow calls: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("follow calls: %w", err)
	}
	l.mu.Lock()
	cursor := l.seq
	l.mu.Unlock()
	go func() {
		for {
			l.mu.Lock()
			wake := l.appended
			// order is sorted by seq: find the first call after the cursor.
			i, _ := slices.BinarySearchFunc(l.order, cursor+1, func(lc *loggedCall, seq uint64) int { return cmp.Compare(lc.seq, seq) })
			var batch []store.Call
			for ; i < len(l.order) && len(batch) < followBatch; i++ {
				lc := l.order[i]
				cursor = lc.seq
				if f.Match(lc.c) {
					batch = append(batch, cloneCall(lc.c))
				}
			}
			more := i < len(l.order)
			l.mu.Unlock()
			for _, c := range batch {
				if ctx.Err() != nil {
					return
				}
				fn(c)
			}
			if more {
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
		}
	}()
	return nil
}

// Get implements store.CallLog.
func (l *CallLog) Get(ctx context.Context, id string) (store.Call, error) {
	if err := store.CheckCallID("get", id); err != nil {
		return store.Call{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Call{}, store.WrapCall("get", id, err)
	}
	l.mu.Lock()
	l.expire(l.now())
	lc, ok := l.byID[id]
	l.mu.Unlock()
	if !ok {
		return store.Call{}, store.WrapCall("get", id, store.ErrNotFound)
	}
	return cloneCall(lc.c), nil
}

// List implements store.CallLog. It scans every call: the memory log is for
// tests and single processes, where that is cheap.
func (l *CallLog) List(ctx context.Context, f store.CallFilter) ([]store.Call, error) {
	f, err := store.CheckCallFilter(f)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.expire(l.now())
	var out []store.Call
	for _, lc := range l.order {
		if f.Match(lc.c) {
			out = append(out, lc.c)
		}
	}
	l.mu.Unlock()

	slices.SortFunc(out, store.CompareCalls)
	out = out[:min(len(out), f.Limit)]
	for i := range out {
		out[i] = cloneCall(out[i])
	}
	return out, nil
}

// expire drops the calls older than the retention's MaxAge; the caller holds mu.
func (l *CallLog) expire(now time.Time) {
	if l.ret.MaxAge <= 0 {
		return
	}
	cutoff := now.Add(-l.ret.MaxAge)
	n := 0
	for n < len(l.order) && l.order[n].at.Before(cutoff) {
		n++
	}
	l.drop(n)
}

// drop forgets the n oldest calls; the caller holds mu.
func (l *CallLog) drop(n int) {
	for i := range n {
		delete(l.byID, l.order[i].c.ID)
		l.order[i] = nil // release the record; append reallocates past the dropped prefix
	}
	l.order = l.order[n:]
}

func cloneCall(c store.Call) store.Call {
	c.Record = bytes.Clone(c.Record)
	c.Extensions = maps.Clone(c.Extensions)
	return c
}
