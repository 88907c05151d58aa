package router

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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

// maxErrorData bounds knativeerrordata before base64. Knative cuts the
// response body at 1 KiB; an error message with a guest's stack or stderr
// head is often longer, and a cut message is useless, so we keep 64 KiB.
const maxErrorData = 64 << 10

// ErrNotDeadLetter is returned for a sequence number that is not a dead
// letter.
var ErrNotDeadLetter = errors.New("no such dead letter")

// DeadLetter is what the dead-letter stream holds for an event a trigger
// gave up on: the original event (with Knative's error extensions added),
// the last attempt's full ExecutionInfo, and where the event came from.
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
	// Error is the full error message (knativeerrordata is its base64).
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	Time     time.Time `json:"time"`
	// Stream, StreamSeq and NATSSubject locate the original message.
	Stream      string `json:"stream"`
	StreamSeq   uint64 `json:"stream_seq"`
	NATSSubject string `json:"nats_subject"`
	// Event is the original event plus knativeerrordest, knativeerrorcode
	// and knativeerrordata.
	Event cloudevents.Event `json:"event"`
	// Execution is the last attempt's ExecutionInfo; nil for a loop (no
	// call) or an unavailable function.
	Execution *host.ExecutionInfo `json:"execution,omitempty"`
}

// OriginalEvent returns Event without the Knative error extensions.
func (d *DeadLetter) OriginalEvent() cloudevents.Event {
	ev := d.Event.Clone()
	for _, ext := range []string{ExtErrorDest, ExtErrorCode, ExtErrorData} {
		ev.SetExtension(ext, nil)
	}
	return ev
}

// deadLetter publishes d to its trigger's dead-letter subject, then
// terminates the message. If the dead letter cannot be stored, the message
// is NAKed while a delivery is left (see maxDeliver), otherwise publishing
// is retried until the router stops.
func (r *Router) deadLetter(ctx context.Context, d *delivered) {
	log := r.log.With(logKeyTrigger, d.t.Name, logKeyEvent, d.ev.ID(), logKeyAttempt, d.attempt)
	data := d.errMsg
	if len(data) > maxErrorData {
		data = data[:maxErrorData]
	}
	ev := d.ev.Clone()
	ev.SetExtension(ExtErrorDest, "wasmfaas:functions/"+d.t.Function)
	ev.SetExtension(ExtErrorCode, strconv.Itoa(d.code))
	ev.SetExtension(ExtErrorData, base64.StdEncoding.EncodeToString([]byte(data)))
	dl := DeadLetter{
		Trigger: d.t.Name, Function: d.t.Function, Reason: d.reason, Code: d.code, Error: d.errMsg,
		Attempts: d.attempt, Time: time.Now().UTC(),
		Stream: d.meta.Stream, StreamSeq: d.meta.Sequence.Stream, NATSSubject: d.m.Subject(),
		Event: ev, Execution: d.info,
	}
	body, err := json.Marshal(dl)
	if err != nil {
		log.Error("encode dead letter", logKeyError, err)
		body, _ = json.Marshal(DeadLetter{Trigger: dl.Trigger, Function: dl.Function, Reason: dl.Reason, Code: dl.Code,
			Error: dl.Error + " (execution info not encodable: " + err.Error() + ")", Attempts: dl.Attempts, Time: dl.Time,
			Stream: dl.Stream, StreamSeq: dl.StreamSeq, NATSSubject: dl.NATSSubject, Event: ev})
	}
	msg := nats.NewMsg(d.t.Delivery.DeadLetter)
	msg.Data = body
	msg.Header.Set("Content-Type", "application/json")
	msg.Header.Set(HeaderTrigger, d.t.Name)
	msg.Header.Set(HeaderReason, d.reason)
	msg.Header.Set(nats.MsgIdHdr, deadLetterMsgID(d.t.Name, d.meta.Stream, d.meta.Sequence.Stream))
	spare := d.attempt < maxDeliver(d.t)
	pctx := ctx
	if spare {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, r.cfg.PublishTimeout)
		defer cancel()
	}
	if err := publishRetry(pctx, r.js, msg); err != nil {
		if spare && ctx.Err() == nil {
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
		dl, err := decodeDeadLetter(meta.Sequence.Stream, m.Data())
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
	return decodeDeadLetter(seq, raw.Data)
}

func decodeDeadLetter(seq uint64, b []byte) (DeadLetter, error) {
	var dl DeadLetter
	if err := json.Unmarshal(b, &dl); err != nil {
		return dl, fmt.Errorf("decode dead letter %d: %w", seq, err)
	}
	dl.Seq = seq
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
