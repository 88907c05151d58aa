package ingress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/router"
)

// Headers Rejecter sets on a rejected message.
const (
	HeaderRejectReason    = "Wasmfaas-Reject-Reason"
	HeaderOriginalSubject = "Wasmfaas-Original-Subject"
	HeaderOriginalSeq     = "Wasmfaas-Original-Seq"
	HeaderOriginalMsgID   = "Wasmfaas-Original-Msg-Id"

	// RejecterConsumer is the durable consumer shared by every host.
	RejecterConsumer = "wasmfaas-ingress"

	// maxReasonLen bounds the reason header; NATS headers are not meant
	// for kilobytes of JSON error text.
	maxReasonLen = 1024
	// rejectRetryDelay is how long a message waits after the rejected
	// stream could not store it.
	rejectRetryDelay = time.Second
	ackWait          = 30 * time.Second
)

// Rejecter moves every message of the events stream that is not a valid
// CloudEvent (router.DecodeMsg) to the rejected stream, and acks the rest.
// One durable consumer serves every host, so each message is checked once.
type Rejecter struct {
	cfg Config
	js  jetstream.JetStream
	log *slog.Logger
}

// NewRejecter returns a Rejecter reading cfg.Prefix's stream; log may be nil.
func NewRejecter(cfg Config, js jetstream.JetStream, log *slog.Logger) (*Rejecter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if js == nil {
		return nil, errors.New("new rejecter: nil jetstream")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Rejecter{cfg: cfg, js: js, log: log.With("component", "ingress")}, nil
}

// Run checks messages until ctx is done, then waits for the one in hand.
// The streams must exist (internal/layout creates them).
//
// A message is never retried for being invalid: it is moved and acked at
// once. The only retry is of storing it in the rejected stream, which fails
// only while JetStream does; until then the message stays unacked in the
// events stream, so nothing is dropped. The rejected copy's Nats-Msg-Id is
// derived from the events stream sequence, so a redelivery (a lost ack,
// another host) does not store it twice.
func (r *Rejecter) Run(ctx context.Context) error {
	cons, err := r.js.CreateOrUpdateConsumer(ctx, r.cfg.EventsStream, jetstream.ConsumerConfig{
		Durable:       RejecterConsumer,
		Description:   "moves messages that are not CloudEvents to " + r.cfg.RejectedPrefix + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: r.cfg.Prefix + ".>",
		AckWait:       ackWait,
		MaxAckPending: 1000,
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", RejecterConsumer, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { r.handle(ctx, m) },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			r.log.Warn("rejecter consume", "error", err)
		}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", RejecterConsumer, err)
	}
	r.log.Debug("rejecter started", "stream", r.cfg.EventsStream, "consumer", RejecterConsumer)
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	return nil
}

func (r *Rejecter) handle(ctx context.Context, m jetstream.Msg) {
	_, derr := router.DecodeMsg(&nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
	if derr == nil {
		r.ack(m)
		return
	}
	meta, err := m.Metadata()
	if err != nil {
		// Without a sequence there is no stable dedupe id; this is not a
		// JetStream message at all, which Consume never hands over.
		r.log.Error("rejecter: message without metadata", "subject", m.Subject(), "error", err)
		_ = m.Term()
		return
	}
	rm := rejected(r.cfg.rejectedSubject(), m, r.cfg.EventsStream, meta.Sequence.Stream, derr)
	pctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	if _, err := r.js.PublishMsg(pctx, rm); err != nil {
		r.log.Warn("store rejected message; retrying", "subject", m.Subject(), "seq", meta.Sequence.Stream, "error", err)
		_ = m.NakWithDelay(rejectRetryDelay)
		return
	}
	r.log.Info("message rejected", "subject", m.Subject(), "seq", meta.Sequence.Stream, "reason", rm.Header.Get(HeaderRejectReason))
	r.ack(m)
}

func (r *Rejecter) ack(m jetstream.Msg) {
	if err := m.Ack(); err != nil {
		r.log.Warn("rejecter ack", "subject", m.Subject(), "error", err)
	}
}

// rejected builds the rejected copy of m: its data and headers (without
// NATS's own, which would make JetStream dedupe or refuse it), the reason,
// the original subject, sequence and Nats-Msg-Id.
func rejected(subject string, m jetstream.Msg, stream string, seq uint64, reason error) *nats.Msg {
	rm := nats.NewMsg(subject)
	rm.Data = m.Data()
	for k, vs := range m.Headers() {
		if strings.HasPrefix(strings.ToLower(k), "nats-") {
			continue
		}
		rm.Header[k] = vs
	}
	if id := m.Headers().Get(nats.MsgIdHdr); id != "" {
		rm.Header.Set(HeaderOriginalMsgID, id)
	}
	rm.Header.Set(HeaderRejectReason, headerSafe(reason.Error()))
	rm.Header.Set(HeaderOriginalSubject, m.Subject())
	rm.Header.Set(HeaderOriginalSeq, strconv.FormatUint(seq, 10))
	rm.Header.Set(nats.MsgIdHdr, RejectedMsgID(stream, seq))
	return rm
}

// RejectedMsgID is the Nats-Msg-Id of the rejected copy of the message seq
// of the events stream.
func RejectedMsgID(stream string, seq uint64) string {
	return stream + "-" + strconv.FormatUint(seq, 10)
}

// headerSafe makes s one header line of at most maxReasonLen bytes.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxReasonLen {
		s = strings.ToValidUTF8(s[:maxReasonLen], "")
	}
	return s
}
