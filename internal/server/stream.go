package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/wasmfaas/wasmfaas/internal/apierr"
	"github.com/wasmfaas/wasmfaas/store"
)

// Defaults of the call stream (Config.StreamBuffer, StreamBufferBytes,
// StreamHeartbeat) and how long one event may take to reach a client.
const (
	DefaultStreamBuffer      = 256
	DefaultStreamBufferBytes = 4 << 20
	DefaultStreamHeartbeat   = 15 * time.Second
	streamWriteTimeout       = 30 * time.Second
)

// StreamDroppedEvent is the SSE event name of the notice that calls were
// dropped for a slow client; its data is {"dropped": n}.
const StreamDroppedEvent = "dropped"

// streamBuffer is one client's bounded queue between the call log's
// follower and the response writer. The follower never waits: a call that
// does not fit (by count or bytes) is counted as dropped, and the writer
// tells the client how many before the next call it sends. A slow client
// thus costs at most the buffer's bounds, whatever the call rate.
type streamBuffer struct {
	calls    chan store.Call
	bytes    atomic.Int64 // record bytes queued in calls
	maxBytes int64
	dropped  atomic.Int64  // calls dropped since the last notice
	wake     chan struct{} // signalled (never blocking) when a call is dropped
}

func newStreamBuffer(n int, maxBytes int64) *streamBuffer {
	return &streamBuffer{calls: make(chan store.Call, n), maxBytes: maxBytes, wake: make(chan struct{}, 1)}
}

// offer queues c or drops it; it never blocks.
func (b *streamBuffer) offer(c store.Call) {
	size := int64(len(c.Record))
	if b.bytes.Add(size) <= b.maxBytes {
		select {
		case b.calls <- c:
			return
		default:
		}
	}
	b.bytes.Add(-size)
	b.dropped.Add(1)
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// streamCalls answers GET /v1/calls/stream?function=&status= with
// server-sent events: one `data:` line per call appended from now on that
// matches, the same JSON as GET /v1/calls/{id}, with the call id as the
// event's id; a `dropped` event when calls were dropped because the
// client read too slowly; a comment line as a heartbeat. The stream ends
// when the client goes away or the server shuts down (CloseStreams).
func (s *Server) streamCalls(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Calls == nil {
		return apierr.Errorf(apierr.KindNotFound, "no call log")
	}
	q := r.URL.Query()
	f := store.CallFilter{Function: q.Get("function"), Status: q.Get("status")}
	rc := http.NewResponseController(w)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.streams, cancel)
	defer stop()

	buf := newStreamBuffer(s.cfg.StreamBuffer, s.cfg.StreamBufferBytes)
	if err := s.deps.Calls.Follow(ctx, f, buf.offer); err != nil {
		return err
	}
	// An event stream outlives the server's read and write timeouts:
	// each event gets its own write deadline instead.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The first bytes tell the client the stream is open (a follower is
	// in place: every call from now on is sent or counted as dropped).
	if _, err := fmt.Fprint(w, ": following calls\n\n"); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}
	beat := time.NewTicker(s.cfg.StreamHeartbeat)
	defer beat.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case c := <-buf.calls:
			buf.bytes.Add(-int64(len(c.Record)))
			err = s.writeDropped(w, buf)
			if err == nil {
				err = writeEvent(w, "", c.ID, c.Record)
			}
		case <-buf.wake:
			err = s.writeDropped(w, buf)
		case <-beat.C:
			_, err = fmt.Fprint(w, ": heartbeat\n\n")
		}
		if err == nil {
			_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			err = rc.Flush()
		}
		if err != nil {
			// The client is gone or too slow to take one event in
			// streamWriteTimeout: end its stream.
			s.log.Debug("call stream ended", "error", err)
			return nil
		}
	}
}

// writeDropped sends the notice of the calls dropped since the last one,
// if any.
func (s *Server) writeDropped(w http.ResponseWriter, buf *streamBuffer) error {
	n := buf.dropped.Swap(0)
	if n == 0 {
		return nil
	}
	b, _ := json.Marshal(map[string]int64{"dropped": n})
	_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", StreamDroppedEvent, b)
	return err
}

// writeEvent writes one SSE event. A record is JSON, which the call log
// keeps verbatim and may hold line breaks between tokens: they are
// whitespace, so compacting them away keeps the event one data line.
func writeEvent(w http.ResponseWriter, event, id string, data json.RawMessage) error {
	var line bytes.Buffer
	line.Grow(len(data))
	if err := json.Compact(&line, data); err != nil {
		return fmt.Errorf("call record: %w", err) // the call log keeps valid JSON only
	}
	if event != "" {
		if _, err := fmt.Fprintf(w, "event: %s\n", event); err != nil {
			return err
		}
	}
	if id != "" && store.IsAttributeValue(id) {
		if _, err := fmt.Fprintf(w, "id: %s\n", id); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "data: %s\n\n", line.Bytes())
	return err
}
