package jetstream

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/store"
)

// DefaultClockSkew is how far a host's clock may run ahead of the NATS
// server's without List missing its calls (see List). The embedded server
// shares its host's clock and NTP keeps hosts within milliseconds; a larger
// value makes List read further back (every call appended in the last
// ClockSkew), which at 10,000 calls a second costs about 20 ms per 250 ms of
// skew in-process.
const DefaultClockSkew = 250 * time.Millisecond

// Call headers. Values are encoded (base64url, like key tokens) because a
// call ID may hold bytes a NATS header cannot carry (CR, LF).
const (
	hdrCallID    = "Wasmfaas-Call-Id"
	hdrCallStart = "Wasmfaas-Call-Start"
)

// Tuning of List's backward scan.
const (
	scanFirstWindow = 256              // sequences in the first window (at least 2×limit)
	scanMaxWindow   = 1 << 20          // windows double up to this
	scanBatch       = 256              // messages per fetch
	scanInactive    = 30 * time.Second // the server drops a scan's consumer if we cannot
	scanCleanup     = 2 * time.Second  // how long deleting a scan's consumer may take
)

// CallLogConfig configures a CallLog. The zero value uses the default
// layout's streams (internal/layout), which must exist; the layout also
// applies the retention and duplicate window.
type CallLogConfig struct {
	// Stream is the stream holding the calls; layout.CallsStream if empty.
	Stream string
	// Subject prefixes every call's subject,
	// <Subject>.<function>.<status>.<id> (each token base64url-encoded);
	// layout.CallsSubject if empty.
	Subject string
	// IDStream and IDSubject hold the index from call ID to sequence that
	// earlier versions wrote, read for their calls if the stream exists;
	// layout.CallIDStream and layout.CallIDSubject if empty.
	IDStream  string
	IDSubject string
	// ClockSkew is the most a host's clock may run ahead of the server's;
	// DefaultClockSkew if zero.
	ClockSkew time.Duration
}

// CallLog is a store.CallLog on a JetStream stream. It is safe for
// concurrent use, and several CallLogs (hosts) may share the stream.
//
// Every call is one message on <Subject>.<function>.<status>.<id> in
// Stream, so subscribers of <Subject>.<function>.> see each call of a
// function as it is logged, the execution event of ARCHITECTURE.md in
// structured mode (see message), with the ExecutionInfo JSON as its data.
// The server applies retention (MaxAge, MaxMsgs, discarding the oldest),
// drops a duplicate append within the duplicate window (Nats-Msg-Id is the
// call ID) and refuses one after it (each call's subject holds at most its
// one message), and finds a call by ID through its subject index: one
// write per call, one direct get per lookup. Calls appended by earlier
// versions, on <Subject>.<function>.<status> with an index stream
// (IDStream) from ID to sequence, are still read.
type CallLog struct {
	cfg       CallLogConfig
	js        jetstream.JetStream
	nc        *nats.Conn
	calls, id jetstream.Stream
}

var _ store.CallLog = (*CallLog)(nil)

// NewCallLog opens the call log's streams, which must exist (layout.Ensure).
func NewCallLog(ctx context.Context, js jetstream.JetStream, cfg CallLogConfig) (*CallLog, error) {
	if cfg.ClockSkew < 0 {
		return nil, fmt.Errorf("open call log: %w: negative clock skew", store.ErrInvalid)
	}
	cfg.Stream = cmp.Or(cfg.Stream, layout.CallsStream)
	cfg.Subject = cmp.Or(cfg.Subject, layout.CallsSubject)
	cfg.IDStream = cmp.Or(cfg.IDStream, layout.CallIDStream)
	cfg.IDSubject = cmp.Or(cfg.IDSubject, layout.CallIDSubject)
	cfg.ClockSkew = cmp.Or(cfg.ClockSkew, DefaultClockSkew)
	calls, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		return nil, fmt.Errorf("open call log stream %s: %w", cfg.Stream, natsUnavailable(ctx, err))
	}
	// The ID index of calls appended by earlier versions, if it is there.
	id, err := js.Stream(ctx, cfg.IDStream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		id = nil
	case err != nil:
		return nil, fmt.Errorf("open call log index stream %s: %w", cfg.IDStream, natsUnavailable(ctx, err))
	}
	return &CallLog{cfg: cfg, js: js, nc: js.Conn(), calls: calls, id: id}, nil
}

// Append implements store.CallLog in one write: the call on its own
// subject, <Subject>.<function>.<status>.<id>, with its ID as Nats-Msg-Id
// and an expected last sequence of 0 on that subject. A re-append within
// the duplicate window is answered with the first record's sequence; a
// re-append after it is refused as a conflict: either way the first record
// stays the only one, and Append reports success.
func (l *CallLog) Append(ctx context.Context, c store.Call) error {
	if err := store.CheckCall(c); err != nil {
		return err
	}
	if err := l.check(ctx); err != nil {
		return store.WrapCall("append", c.ID, err)
	}
	msg, err := l.message(c)
	if err != nil {
		return store.WrapCall("append", c.ID, err)
	}
	ack, err := l.js.PublishMsg(ctx, msg, jetstream.WithMsgID(encode(c.ID)), jetstream.WithExpectStream(l.cfg.Stream),
		jetstream.WithExpectLastSequencePerSubject(0))
	switch {
	case err == nil && !ack.Duplicate:
		return nil
	case err == nil, isConflict(err):
		// The server says the call is stored already: a repeat of this
		// append. Believe it only after reading it: on a cluster a repeat
		// sent while the stream changed leaders can be refused against a
		// first attempt that was never stored.
		return l.confirm(ctx, c, msg)
	default:
		return store.WrapCall("append", c.ID, natsUnavailable(ctx, err))
	}
}

// confirm reads back the call an append was told is stored already and
// stores it if it is not (without a Nats-Msg-Id: the duplicate window may
// remember the attempt that was lost; the expected last subject sequence
// still refuses a second record).
func (l *CallLog) confirm(ctx context.Context, c store.Call, msg *nats.Msg) error {
	_, err := l.calls.GetLastMsgForSubject(ctx, l.cfg.Subject+".*.*."+encode(c.ID))
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, jetstream.ErrMsgNotFound):
		return store.WrapCall("append", c.ID, natsUnavailable(ctx, err))
	}
	again := nats.NewMsg(msg.Subject)
	for k, v := range msg.Header {
		if k != jetstream.MsgIDHeader {
			again.Header[k] = v
		}
	}
	again.Data = msg.Data
	_, err = l.js.PublishMsg(ctx, again, jetstream.WithExpectStream(l.cfg.Stream), jetstream.WithExpectLastSequencePerSubject(0))
	if err != nil && !isConflict(err) {
		return store.WrapCall("append", c.ID, natsUnavailable(ctx, err))
	}
	return nil
}

// Get implements store.CallLog: one direct get of the last message on
// <Subject>.*.*.<id> (the server finds it through its subject index, going
// over the few function and status tokens), or, for a call appended by an
// earlier version, its sequence from the ID index and then the call.
func (l *CallLog) Get(ctx context.Context, id string) (store.Call, error) {
	if err := store.CheckCallID("get", id); err != nil {
		return store.Call{}, err
	}
	if err := l.check(ctx); err != nil {
		return store.Call{}, store.WrapCall("get", id, err)
	}
	raw, err := l.calls.GetLastMsgForSubject(ctx, l.cfg.Subject+".*.*."+encode(id))
	switch {
	case err == nil:
		return l.found(id, raw)
	case !errors.Is(err, jetstream.ErrMsgNotFound):
		return store.Call{}, store.WrapCall("get", id, natsUnavailable(ctx, err))
	case l.id == nil:
		return store.Call{}, store.WrapCall("get", id, store.ErrNotFound)
	}
	m, err := l.id.GetLastMsgForSubject(ctx, l.idSubject(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return store.Call{}, store.WrapCall("get", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Call{}, store.WrapCall("get", id, natsUnavailable(ctx, err))
	}
	seq, err := strconv.ParseUint(string(m.Data), 10, 64)
	if err != nil {
		return store.Call{}, store.WrapCall("get", id, fmt.Errorf("index entry %q: %w", m.Data, err))
	}
	raw, err = l.calls.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		// Retention dropped the call before its index entry.
		return store.Call{}, store.WrapCall("get", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Call{}, store.WrapCall("get", id, natsUnavailable(ctx, err))
	}
	return l.found(id, raw)
}

// found decodes the call message raw that Get found for id.
func (l *CallLog) found(id string, raw *jetstream.RawStreamMsg) (store.Call, error) {
	if expired(raw.Time, l.calls.CachedInfo().Config.MaxAge, time.Now()) {
		return store.Call{}, store.WrapCall("get", id, store.ErrNotFound)
	}
	c, ok := l.decodeCall(raw.Subject, raw.Header, raw.Data)
	if !ok || c.ID != id {
		// The sequence now holds another message: the stream was purged
		// or recreated since the index entry was written.
		return store.Call{}, store.WrapCall("get", id, store.ErrNotFound)
	}
	return c, nil
}

// List implements store.CallLog. JetStream reads streams forwards only, so
// List scans backwards in windows of sequences, newest window first, each
// read with a short-lived consumer filtered on the function and status
// subject tokens; windows double in size, so a rare function costs a few
// windows, not one per call.
//
// The stream is in append order and List orders by Start, which differ when
// calls overlap or are appended late. A call appended before time T started
// before T (plus the hosts' ClockSkew), so once List holds Limit calls that
// started after the append time of the earliest call in the window it has
// read, no earlier call can belong in the answer and it stops.
func (l *CallLog) List(ctx context.Context, f store.CallFilter) ([]store.Call, error) {
	f, err := store.CheckCallFilter(f)
	if err != nil {
		return nil, err
	}
	if err := l.check(ctx); err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	fn, status := "*", "*"
	if f.Function != "" {
		fn = encode(f.Function)
	}
	if f.Status != "" {
		status = encode(f.Status)
	}
	// Calls of this version end in their ID's token; those of earlier
	// versions do not.
	filter := []string{l.cfg.Subject + "." + fn + "." + status + ".*", l.cfg.Subject + "." + fn + "." + status}

	info, err := l.calls.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", natsUnavailable(ctx, err))
	}
	first, hi := info.State.FirstSeq, info.State.LastSeq
	out := []store.Call{}
	if info.State.Msgs == 0 {
		return out, nil
	}
	window := uint64(max(scanFirstWindow, 2*f.Limit))
	for {
		lo := first
		if hi-first >= window {
			lo = hi - window + 1
		}
		got, earliest, err := l.scan(ctx, filter, lo, hi, info.Config.MaxAge)
		if err != nil {
			return nil, fmt.Errorf("list calls: %w", err)
		}
		out = append(out, got...)
		slices.SortFunc(out, store.CompareCalls)
		out = out[:min(len(out), f.Limit)]
		if lo <= first {
			return out, nil
		}
		if len(out) == f.Limit && !earliest.IsZero() && earliest.Add(l.cfg.ClockSkew).Before(out[len(out)-1].Start) {
			return out, nil
		}
		hi = lo - 1
		window = min(2*window, scanMaxWindow)
	}
}

// scan returns the calls matching filter with sequences in [lo, hi], and the
// stream timestamp of the first of them (zero if none). It skips calls older
// than maxAge that the server has not removed yet.
func (l *CallLog) scan(ctx context.Context, filter []string, lo, hi uint64, maxAge time.Duration) ([]store.Call, time.Time, error) {
	now := time.Now()
	var (
		out      []store.Call
		earliest time.Time
	)
	err := scanRange(ctx, l.calls, filter, lo, hi, func(msg jetstream.Msg, meta *jetstream.MsgMetadata) {
		if expired(meta.Timestamp, maxAge, now) {
			return
		}
		c, ok := l.decodeCall(msg.Subject(), msg.Headers(), msg.Data())
		if !ok {
			return // not a call: someone else published on our subjects
		}
		if earliest.IsZero() {
			earliest = meta.Timestamp
		}
		out = append(out, c)
	})
	if err != nil {
		return nil, time.Time{}, natsUnavailable(ctx, err)
	}
	return out, earliest, nil
}

// expired reports whether a message stored at ts is past the stream's
// MaxAge (0: kept forever). The server removes such messages on its own
// timer, and the call and its index entry live in two streams that expire
// independently, so Get and List apply the age rule themselves and agree
// on which calls exist at every moment.
func expired(ts time.Time, maxAge time.Duration, now time.Time) bool {
	return maxAge > 0 && now.Sub(ts) > maxAge
}

// The call log entry is the call's execution event (store.Call.Event) in
// the CloudEvents NATS binding's structured mode: Content-Type
// application/cloudevents+json, the event in the JSON event format as the
// payload, its data the ExecutionInfo JSON embedded verbatim, and no ce-
// headers. That is the one form every NATS binding reads whole: sdk-go's
// nats binding reads only structured mode, and its nats_jetstream binding
// reads binary mode whenever a ce-specversion header is present, taking
// datacontenttype from a header named exactly "content-type". The entry
// is stored once, decoded as an event by any consumer of the stream (the
// router), and Get and List return its data as Call.Record, byte for byte.
//
// Entries written before were in binary mode (attributes in ce- headers,
// "%" written as "%25", the ExecutionInfo as the payload); decodeCall
// still reads them.
const (
	cePrefix       = "ce-"
	ceSpecVersion  = cePrefix + "specversion"
	ceSubject      = cePrefix + "subject"
	contentTypeCE  = "application/cloudevents+json"
	hdrContentType = "Content-Type"
)

// ceDerived are the attributes derived from the call rather than copied
// from Call.Extensions.
var ceDerived = map[string]bool{
	"specversion": true, "id": true, "type": true, "source": true, "time": true,
	"subject": true, "datacontenttype": true, "dataschema": true, "data": true, "data_base64": true,
	store.ExtFunction: true, store.ExtStatus: true,
}

// message is the call log entry for c: its execution event in structured
// mode, and the call's own headers. CheckCall has checked Subject and
// Extensions as attribute values; an ID, function or status that is not
// (store allows control characters in them) appears in its encoded token
// form in the event, since an attribute cannot hold it.
func (l *CallLog) message(c store.Call) (*nats.Msg, error) {
	data := appendExecutionEvent(make([]byte, 0, len(c.Record)+512), c)
	msg := nats.NewMsg(l.subject(c.Function, c.Status, c.ID))
	msg.Data = data
	h := msg.Header
	h.Set(hdrContentType, contentTypeCE)
	h.Set(hdrCallID, encode(c.ID))
	h.Set(hdrCallStart, c.Start.UTC().Format(time.RFC3339Nano))
	h.Set(store.HeaderCallStatus, attrSafe(c.Status))
	for name, ext := range map[string]string{store.HeaderCallTrigger: store.ExtTrigger,
		store.HeaderCallCauseID: store.ExtCauseID, store.HeaderCallCauseSource: store.ExtCauseSource} {
		if v := c.Extensions[ext]; v != "" {
			h.Set(name, v)
		}
	}
	return msg, nil
}

// decodeCall rebuilds a call from a message of the calls stream, in
// structured mode or in the binary mode of older entries; ok is false for
// a message that is not one (foreign, or a malformed header or payload).
func (l *CallLog) decodeCall(subject string, h nats.Header, data []byte) (store.Call, bool) {
	rest, ok := strings.CutPrefix(subject, l.cfg.Subject+".")
	if !ok {
		return store.Call{}, false
	}
	fnTok, statusTok, ok := strings.Cut(rest, ".")
	if !ok {
		return store.Call{}, false
	}
	statusTok, _, _ = strings.Cut(statusTok, ".") // the ID's token follows
	fn, err1 := decode(fnTok)
	status, err2 := decode(statusTok)
	id, err3 := decode(h.Get(hdrCallID))
	start, err4 := time.Parse(time.RFC3339Nano, h.Get(hdrCallStart))
	if err := errors.Join(err1, err2, err3, err4); err != nil || id == "" {
		return store.Call{}, false
	}
	c := store.Call{ID: id, Function: fn, Status: status, Start: start.UTC()}
	if h.Get(ceSpecVersion) != "" {
		decodeBinaryCall(&c, h, data)
		return c, true
	}
	return c, decodeStructuredCall(&c, data)
}

// decodeStructuredCall fills c's Record, Subject and Extensions from the
// structured execution event, in one pass over its top-level members. The
// record is the data member's bytes as written, with the whitespace around
// its value, so Get returns exactly what Append was given.
func decodeStructuredCall(c *store.Call, payload []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	var haveData bool
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return false
		}
		from := dec.InputOffset() // after the name; the colon follows
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return false
		}
		if name == "data" {
			haveData = true
			c.Record = rawMember(payload, from, dec.InputOffset())
			continue
		}
		if name != "subject" && ceDerived[name] {
			continue
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		if name == "subject" {
			c.Subject = v
			continue
		}
		if c.Extensions == nil {
			c.Extensions = map[string]string{}
		}
		c.Extensions[name] = v
	}
	return haveData
}

// rawMember returns the bytes of a member's value in payload with the
// whitespace around it: from the colon after the name (which ends at from)
// to the comma or brace after the value (which ends at to).
func rawMember(payload []byte, from, to int64) json.RawMessage {
	start := bytes.IndexByte(payload[from:], ':') + int(from) + 1
	end := int(to)
	for end < len(payload) && (payload[end] == ' ' || payload[end] == '\t' || payload[end] == '\n' || payload[end] == '\r') {
		end++
	}
	return json.RawMessage(payload[start:end])
}

// decodeBinaryCall fills c from an entry in the binary mode written
// before: the payload is the record, the attributes are ce- headers with
// "%" written as "%25".
func decodeBinaryCall(c *store.Call, h nats.Header, data []byte) {
	c.Record = data
	c.Subject = unpercent(h.Get(ceSubject))
	for name, vals := range h {
		attr, ok := strings.CutPrefix(strings.ToLower(name), cePrefix)
		if !ok || len(vals) == 0 || ceDerived[attr] {
			continue
		}
		if c.Extensions == nil {
			c.Extensions = map[string]string{}
		}
		c.Extensions[attr] = unpercent(vals[0])
	}
}

// unpercent reverses the binary-mode entries' only encoding, "%" as "%25".
func unpercent(s string) string { return strings.ReplaceAll(s, "%25", "%") }

// attrSafe returns s, or its encoded token form if s holds a character no
// CloudEvents attribute may (store.IsAttributeValue), so the event stays
// valid for every reader.
// appendExecutionEvent appends c's execution event (store.Call.Event) in
// the JSON event format, written here rather than by sdk-go's encoder
// (5% of a call's CPU): the attributes are known, the record is the data as
// it is (valid JSON: CheckCall), so Get returns it byte for byte. The id,
// function and status appear in their encoded form when they are no valid
// attribute value.
func appendExecutionEvent(b []byte, c store.Call) []byte {
	str := func(b []byte, name, v string) []byte {
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		return appendJSONString(b, v)
	}
	b = append(b, `{"specversion":"1.0",`...)
	b = str(b, "id", attrSafe(c.ID))
	b = append(b, ',')
	b = str(b, "source", store.ExecutionSource)
	b = append(b, ',')
	b = str(b, "type", store.ExecutionType)
	if c.Subject != "" {
		b = append(b, ',')
		b = str(b, "subject", c.Subject)
	}
	b = append(b, ',')
	b = str(b, "time", c.Start.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"datacontenttype":"application/json",`...)
	b = str(b, store.ExtFunction, attrSafe(c.Function))
	b = append(b, ',')
	b = str(b, store.ExtStatus, attrSafe(c.Status))
	for name, v := range c.Extensions {
		if store.ReservedCallExt(name) {
			continue
		}
		b = append(b, ',')
		b = str(b, name, v)
	}
	b = append(b, `,"data":`...)
	b = append(b, c.Record...)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. s is valid UTF-8 (store's
// checks); only the quote, the backslash and control characters need
// escaping.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func attrSafe(s string) string {
	if store.IsAttributeValue(s) {
		return s
	}
	return encode(s)
}

func (l *CallLog) subject(fn, status, id string) string {
	return l.cfg.Subject + "." + encode(fn) + "." + encode(status) + "." + encode(id)
}

func (l *CallLog) idSubject(id string) string {
	return l.cfg.IDSubject + "." + encode(id)
}

// natsUnavailable wraps an error from NATS in store.ErrUnavailable, keeping
// the context's error visible to errors.Is when it caused it. It is
// jetstream.go's unavailable under another name, for the same reason as
// callToken.
func natsUnavailable(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w: %w", store.ErrUnavailable, ctxErr, err)
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// check returns the context's error, or an error wrapping
// store.ErrUnavailable when the connection is down, so a call fails at once
// instead of waiting for its deadline.
func (l *CallLog) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if st := l.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w: nats connection is %s", store.ErrUnavailable, st)
	}
	return nil
}

// followRetry is how long Follow waits before it starts another ordered
// consumer when the server ended the last one.
const followRetry = 500 * time.Millisecond

// Follow implements store.CallLog with an ordered consumer on the calls
// stream, delivering only what is stored after it is created (DeliverNew)
// and filtered on the function and status subject tokens, so the server
// sends a follower nothing it does not want. The consumer is ephemeral and
// in memory; the client's pull buffer is bounded by nats.go's defaults.
// An ordered consumer recreates itself after a gap; if the server ends it
// for good (a leader change it could not follow), Follow starts another
// from the sequence after the last call it delivered.
func (l *CallLog) Follow(ctx context.Context, f store.CallFilter, fn func(store.Call)) error {
	f.Limit = 0
	f, err := store.CheckCallFilter(f)
	if err != nil {
		return fmt.Errorf("follow calls: %w", err)
	}
	if err := l.check(ctx); err != nil {
		return fmt.Errorf("follow calls: %w", err)
	}
	fnTok, statusTok := "*", "*"
	if f.Function != "" {
		fnTok = encode(f.Function)
	}
	if f.Status != "" {
		statusTok = encode(f.Status)
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{l.cfg.Subject + "." + fnTok + "." + statusTok + ".*"},
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		InactiveThreshold: scanInactive,
	}
	var last atomic.Uint64 // the stream sequence of the last call delivered
	start := func() (jetstream.ConsumeContext, error) {
		cons, err := l.calls.OrderedConsumer(ctx, cfg)
		if err != nil {
			return nil, natsUnavailable(ctx, err)
		}
		return cons.Consume(func(m jetstream.Msg) {
			if meta, err := m.Metadata(); err == nil {
				last.Store(meta.Sequence.Stream)
			}
			if c, ok := l.decodeCall(m.Subject(), m.Headers(), m.Data()); ok && ctx.Err() == nil {
				fn(c)
			}
		})
	}
	cc, err := start()
	if err != nil {
		return fmt.Errorf("follow calls: %w", err)
	}
	go func() {
		for {
			if cc != nil {
				select {
				case <-ctx.Done():
					cc.Stop()
					return
				case <-cc.Closed():
					cc = nil
				}
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(followRetry):
			}
			if seq := last.Load(); seq > 0 {
				cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq+1
			}
			cc, _ = start() // nil on failure: try again after followRetry
		}
	}()
	return nil
}

// scanRange hands fn every message on filters with a stream sequence in
// [lo, hi], in order, through a temporary in-memory consumer that it
// removes afterwards: the one way the store reads a stretch of a stream.
func scanRange(ctx context.Context, stream jetstream.Stream, filters []string, lo, hi uint64, fn func(jetstream.Msg, *jetstream.MsgMetadata)) error {
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       lo,
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubjects:    filters,
		InactiveThreshold: scanInactive,
		MemoryStorage:     true,
		Replicas:          1,
	})
	if err != nil {
		return err
	}
	defer func() {
		// Best effort: the server drops the consumer after scanInactive anyway.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), scanCleanup)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	for next := lo; next <= hi; {
		batch, err := cons.FetchNoWait(int(min(hi-next+1, scanBatch)))
		if err != nil {
			return err
		}
		n, done := 0, false
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil || meta.Sequence.Stream > hi {
				done = true
				continue
			}
			next = meta.Sequence.Stream + 1
			if meta.NumPending == 0 {
				done = true
			}
			fn(msg, meta)
		}
		if err := batch.Error(); err != nil {
			return err
		}
		if done || n == 0 {
			return nil
		}
	}
	return nil
}
