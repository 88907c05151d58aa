package router

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/layout"
)

// Dead-letter reasons.
const (
	// ReasonFailed: every attempt ended error, timeout or trap.
	ReasonFailed = "failed"
	// ReasonRejected: the function refused the event as invalid input;
	// it is not retried.
	ReasonRejected = "rejected"
	// ReasonLoop: the event passed through more than MaxHops functions.
	ReasonLoop = "loop"
	// ReasonUnavailable: the function could not be called at all (not
	// deployed) on any attempt.
	ReasonUnavailable = "unavailable"
)

// Knative's dead-letter extensions, set on the dead-lettered event.
const (
	ExtErrorDest = "knativeerrordest"
	ExtErrorCode = "knativeerrorcode"
	ExtErrorData = "knativeerrordata"
)

// Our dead-letter extensions, beside Knative's: what the dead letter adds
// to the event that Knative's three do not carry. Every value is a string
// (numbers in decimal), so every binding reads them alike.
const (
	// ExtDLTrigger and ExtDLFunction name the trigger that gave up and
	// its function.
	ExtDLTrigger  = "wasmfaastrigger"
	ExtDLFunction = "wasmfaasfunction"
	// ExtDLReason is one of ReasonFailed, ReasonRejected, ReasonLoop,
	// ReasonUnavailable.
	ExtDLReason = "wasmfaasreason"
	// ExtDLAttempts is how many deliveries were made.
	ExtDLAttempts = "wasmfaasattempts"
	// ExtDLCallID is the call id of the last attempt, present when it made
	// a call: the call log has that call's ExecutionInfo (wasmfaas calls
	// show), whether or not knativeerrordata holds it too.
	ExtDLCallID = "wasmfaascallid"
	// ExtDLStream, ExtDLStreamSeq and ExtDLSubject locate the original
	// message: its stream, its sequence there and its NATS subject.
	ExtDLStream    = "wasmfaasstream"
	ExtDLStreamSeq = "wasmfaasstreamseq"
	ExtDLSubject   = "wasmfaassubject"
)

// deadLetterExts are every extension a dead letter adds to the original
// event; OriginalEvent removes them.
var deadLetterExts = []string{ExtErrorDest, ExtErrorCode, ExtErrorData, ExtDLTrigger, ExtDLFunction, ExtDLReason,
	ExtDLAttempts, ExtDLCallID, ExtDLStream, ExtDLStreamSeq, ExtDLSubject}

// maxErrorData bounds an error message in knativeerrordata (before
// base64). Knative cuts the response body at 1 KiB;
// an error message with a guest's stack or stderr head is often longer,
// and a cut message is useless, so we keep 64 KiB.
const maxErrorData = 64 << 10

// ErrNotDeadLetter is returned for a sequence number that is not a dead
// letter.
var ErrNotDeadLetter = errors.New("no such dead letter")

// DeadLetter is a dead letter read back from the dead-letter stream, where
// it is stored as a CloudEvent in the NATS binding's structured mode: the
// original event (id, source, type, subject, data unchanged) with
// Knative's dead-letter extensions and ours (ExtDLTrigger and the like).
// knativeerrordata is the base64 of the last attempt's ExecutionInfo JSON
// when the call failed or rejected the event (in wasmfaas a call's
// response is its ExecutionInfo, which is what Knative puts there), or of
// the error message, cut at 64 KiB, when no call settled (loop,
// unavailable) or the ExecutionInfo would not fit in one message. It holds
// the ExecutionInfo when it is a JSON object whose call_id is
// wasmfaascallid.
// Dead letters stored by earlier versions as a JSON object of these
// fields are read too.
type DeadLetter struct {
	// Seq is the dead letter's sequence in the dead-letter stream, set
	// when it is read back.
	Seq      uint64 `json:"seq,omitempty"`
	Trigger  string `json:"trigger"`
	Function string `json:"function"`
	// Reason is one of ReasonFailed, ReasonRejected, ReasonLoop,
	// ReasonUnavailable.
	Reason string `json:"reason"`
	// Code is the HTTP-style status also in knativeerrorcode.
	Code int `json:"code"`
	// Error is the error message: the ExecutionInfo's error kind and
	// message, or knativeerrordata's text.
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
	// Time is when the dead letter was stored.
	Time time.Time `json:"time"`
	// Stream, StreamSeq and NATSSubject locate the original message.
	Stream      string `json:"stream"`
	StreamSeq   uint64 `json:"stream_seq"`
	NATSSubject string `json:"nats_subject"`
	// Event is the dead-letter event as stored: the original event plus
	// the dead-letter extensions.
	Event cloudevents.Event `json:"event"`
	// Execution is the last attempt's ExecutionInfo; nil for a loop (no
	// call), an unavailable function, or one too large to store with
	// the event.
	Execution *host.ExecutionInfo `json:"execution,omitempty"`
}

// OriginalEvent returns Event without the dead-letter extensions, the
// event as it was delivered.
func (d *DeadLetter) OriginalEvent() cloudevents.Event {
	ev := d.Event.Clone()
	for _, ext := range deadLetterExts {
		ev.SetExtension(ext, nil)
	}
	return ev
}

// deadLetter publishes d to its trigger's dead-letter subject, then
// terminates the message. If the dead letter cannot be stored, the message
// is NAKed and comes back (the consumer has no delivery limit: see
// maxDeliver); if the router is stopping, it is left unacked.
func (r *Router) deadLetter(ctx context.Context, d *delivered) {
	log := r.log.With(logKeyTrigger, d.t.Name, logKeyEvent, d.ev.ID(), logKeyAttempt, d.attempt)
	msg, err := r.deadLetterMsg(d)
	if err != nil {
		log.Error("encode dead letter", logKeyError, err)
		_ = d.m.NakWithDelay(time.Second)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	if err := publishRetry(pctx, r.js, msg); err != nil {
		if ctx.Err() == nil {
			log.Warn("publish dead letter; redelivering", logKeyError, err)
			_ = d.m.NakWithDelay(time.Second)
			return
		}
		log.Error("publish dead letter; message left unacked", logKeyError, err)
		return
	}
	log.Warn("dead-lettered", "reason", d.reason, logKeyError, d.errMsg)
	if err := d.m.TermWithReason("dead-lettered: " + d.reason); err != nil {
		log.Warn("term", logKeyError, err)
	}
}

// deadLetterMsg is d's dead letter: the event with the dead-letter
// extensions, in structured mode. knativeerrordata is the ExecutionInfo
// of a call that failed or rejected the event, when the message fits the
// server's max payload with it, the error message otherwise.
func (r *Router) deadLetterMsg(d *delivered) (*nats.Msg, error) {
	ev := d.ev.Clone()
	for name, v := range map[string]string{
		ExtErrorDest: "wasmfaas:functions/" + d.t.Function, ExtErrorCode: strconv.Itoa(d.code),
		ExtDLTrigger: d.t.Name, ExtDLFunction: d.t.Function, ExtDLReason: d.reason,
		ExtDLAttempts: strconv.Itoa(d.attempt), ExtDLStream: d.meta.Stream,
		ExtDLStreamSeq: strconv.FormatUint(d.meta.Sequence.Stream, 10), ExtDLSubject: d.m.Subject(),
	} {
		ev.SetExtension(name, v)
	}
	if d.info != nil && d.info.CallID != "" {
		ev.SetExtension(ExtDLCallID, d.info.CallID)
	}
	if d.info != nil && d.info.CallID != "" && (d.reason == ReasonFailed || d.reason == ReasonRejected) {
		info, err := json.Marshal(d.info)
		if err == nil {
			full := ev.Clone()
			full.SetExtension(ExtErrorData, base64.StdEncoding.EncodeToString(info))
			msg, err := r.encodeDeadLetter(d, full)
			if err != nil || MsgSize(msg) <= r.js.Conn().MaxPayload() {
				return msg, err
			}
			r.log.Warn("dead letter too large with its execution info; storing the error message only",
				logKeyTrigger, d.t.Name, logKeyEvent, d.ev.ID(), "bytes", MsgSize(msg))
		} else {
			r.log.Error("encode execution info of dead letter", logKeyTrigger, d.t.Name, logKeyEvent, d.ev.ID(), logKeyError, err)
		}
	}
	ev.SetExtension(ExtErrorData, base64.StdEncoding.EncodeToString([]byte(cutUTF8(d.errMsg, maxErrorData))))
	return r.encodeDeadLetter(d, ev)
}

func (r *Router) encodeDeadLetter(d *delivered, ev cloudevents.Event) (*nats.Msg, error) {
	msg, err := EncodeMsg(d.t.Delivery.DeadLetter, ev)
	if err != nil {
		return nil, err
	}
	msg.Header.Set(HeaderTrigger, d.t.Name)
	msg.Header.Set(HeaderReason, d.reason)
	msg.Header.Set(nats.MsgIdHdr, deadLetterMsgID(d.t.Name, d.meta.Stream, d.meta.Sequence.Stream))
	return msg, nil
}

// cutUTF8 returns at most n bytes of s, not splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// deadLetterMsgID is unique per (trigger, original message): a dead letter
// published twice (the term lost) is stored once, and a replayed event,
// stored at a new sequence, can be dead-lettered again.
func deadLetterMsgID(trigger, stream string, seq uint64) string {
	h := sha256.Sum256([]byte("deadletter\x00" + trigger + "\x00" + stream + "\x00" + strconv.FormatUint(seq, 10)))
	return hex.EncodeToString(h[:16])
}

// deadLetterSubject is where trigger's dead letters are: its configured
// subject when the router knows the trigger, deadletter.<trigger>
// otherwise.
func (r *Router) deadLetterSubject(trigger string) string {
	if trigger == "" {
		return layout.DeadLetterPrefix + ".>"
	}
	r.mu.Lock()
	t, ok := r.triggers[trigger]
	r.mu.Unlock()
	if ok {
		return t.Delivery.DeadLetter
	}
	return layout.DeadLetterPrefix + "." + trigger
}

// ListDeadLetters returns up to limit dead letters of trigger (of every
// trigger when it is empty), oldest first.
func (r *Router) ListDeadLetters(ctx context.Context, trigger string, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	st, err := r.js.Stream(ctx, r.cfg.DeadLetterStream)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	subject := r.deadLetterSubject(trigger)
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	if total == 0 {
		return nil, nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	var out []DeadLetter
	for len(out) < limit {
		m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
				break
			}
			return out, fmt.Errorf("list dead letters: %w", err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return out, fmt.Errorf("list dead letters: %w", err)
		}
		dl, err := decodeDeadLetter(meta.Sequence.Stream, meta.Timestamp, &nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
		if err != nil {
			return out, err
		}
		out = append(out, dl)
		if meta.NumPending == 0 {
			break
		}
	}
	return out, nil
}

// GetDeadLetter returns the dead letter at seq in the dead-letter stream.
func (r *Router) GetDeadLetter(ctx context.Context, seq uint64) (DeadLetter, error) {
	st, err := r.js.Stream(ctx, r.cfg.DeadLetterStream)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("get dead letter %d: %w", seq, err)
	}
	raw, err := st.GetMsg(ctx, seq)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return DeadLetter{}, fmt.Errorf("get dead letter %d: %w", seq, ErrNotDeadLetter)
		}
		return DeadLetter{}, fmt.Errorf("get dead letter %d: %w", seq, err)
	}
	if !strings.HasPrefix(raw.Subject, layout.DeadLetterPrefix+".") {
		return DeadLetter{}, fmt.Errorf("get dead letter %d: %w", seq, ErrNotDeadLetter)
	}
	return decodeDeadLetter(seq, raw.Time, &nats.Msg{Subject: raw.Subject, Header: raw.Header, Data: raw.Data})
}

// decodeDeadLetter reads the dead letter at seq, stored at ts: a
// structured CloudEvent, or the JSON object earlier versions stored
// (Content-Type application/json).
func decodeDeadLetter(seq uint64, ts time.Time, m *nats.Msg) (DeadLetter, error) {
	if mt, _, _ := mime.ParseMediaType(m.Header.Get("Content-Type")); mt == "application/json" {
		var dl DeadLetter
		if err := json.Unmarshal(m.Data, &dl); err != nil {
			return dl, fmt.Errorf("decode dead letter %d: %w", seq, err)
		}
		dl.Seq = seq
		return dl, nil
	}
	// Not DecodeMsg: its ingress limits (CheckAttributes) are not for a
	// dead letter, whose knativeerrordata holds a whole ExecutionInfo and
	// whose extensions add to the original event's.
	ev, err := decodeStructured(m.Data)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("decode dead letter %d: %w", seq, err)
	}
	ext := func(name string) string {
		v, _ := Attr(&ev, name)
		return v
	}
	dl := DeadLetter{
		Seq: seq, Trigger: ext(ExtDLTrigger), Function: ext(ExtDLFunction), Reason: ext(ExtDLReason),
		Time: ts.UTC(), Stream: ext(ExtDLStream), NATSSubject: ext(ExtDLSubject), Event: ev,
	}
	dl.Code, _ = strconv.Atoi(ext(ExtErrorCode))
	dl.Attempts, _ = strconv.Atoi(ext(ExtDLAttempts))
	dl.StreamSeq, _ = strconv.ParseUint(ext(ExtDLStreamSeq), 10, 64)
	data, err := base64.StdEncoding.DecodeString(ext(ExtErrorData))
	if err != nil {
		return dl, fmt.Errorf("decode dead letter %d: %s: %w", seq, ExtErrorData, err)
	}
	var info host.ExecutionInfo
	if callID := ext(ExtDLCallID); callID != "" && len(data) > 0 && data[0] == '{' &&
		json.Unmarshal(data, &info) == nil && info.CallID == callID {
		dl.Execution = &info
		dl.Error = errorMessage(info)
	} else {
		dl.Error = string(data)
	}
	return dl, nil
}

// ReplayDeadLetter republishes the original event of the dead letter at
// seq into the events stream, for its trigger only (other triggers already
// handled it), with a fresh Nats-Msg-Id so the duplicate window does not
// drop it, then deletes the dead letter. It returns the event's sequence
// in the events stream.
func (r *Router) ReplayDeadLetter(ctx context.Context, seq uint64) (uint64, error) {
	dl, err := r.GetDeadLetter(ctx, seq)
	if err != nil {
		return 0, err
	}
	ev := dl.OriginalEvent()
	msg, err := EncodeMsg(r.cfg.Prefix+".replay."+subjectToken(dl.Trigger), ev)
	if err != nil {
		return 0, fmt.Errorf("replay dead letter %d: %w", seq, err)
	}
	// The id depends on the dead letter, so replaying the same one twice
	// (a retried CLI call) stores the event once.
	h := sha256.Sum256([]byte("replay\x00" + r.cfg.DeadLetterStream + "\x00" + strconv.FormatUint(seq, 10) + "\x00" + MsgID(ev)))
	msg.Header.Set(nats.MsgIdHdr, hex.EncodeToString(h[:16]))
	msg.Header.Set(HeaderTrigger, dl.Trigger)
	ack, err := r.js.PublishMsg(ctx, msg)
	if err != nil {
		return 0, fmt.Errorf("replay dead letter %d: %w", seq, err)
	}
	st, err := r.js.Stream(ctx, r.cfg.DeadLetterStream)
	if err != nil {
		return ack.Sequence, fmt.Errorf("replay dead letter %d: delete: %w", seq, err)
	}
	if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return ack.Sequence, fmt.Errorf("replay dead letter %d: delete: %w", seq, err)
	}
	return ack.Sequence, nil
}
