package jetstream

import (
	"context"
	"encoding/json"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/store"
)

var _ store.PropertyHistory = (*props)(nil)

// History implements store.PropertyHistory from the property-changed
// stream (Config.ChangeStream), which holds the events the relay
// published. JetStream reads a stream forwards only, so History reads
// windows of sequences backwards from the stream's end, each with a
// short-lived consumer filtered on the subject's token (the server skips
// the other subjects' events), doubling the window until it holds limit
// events or reaches the stream's start: a subject that changed rarely
// costs a few windows, not one per event.
func (p *props) History(ctx context.Context, subj string, limit int) ([]cloudevents.Event, error) {
	if err := store.CheckHistory(subj, limit); err != nil {
		return nil, err
	}
	s := p.s()
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("property history: %w", err)
	}
	filter := s.cfg.ChangeSubject + ".>"
	if subj != "" {
		filter = s.cfg.ChangeSubject + "." + encode(subj) + ".*"
	}
	stream := s.events.events
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("property history: %w", unavailable(ctx, err))
	}
	out := []cloudevents.Event{}
	if info.State.Msgs == 0 {
		return out, nil
	}
	first, hi := info.State.FirstSeq, info.State.LastSeq
	window := uint64(max(scanFirstWindow, 4*limit))
	for {
		lo := first
		if hi-first >= window {
			lo = hi - window + 1
		}
		got, err := readEvents(ctx, stream, filter, lo, hi, limit-len(out))
		if err != nil {
			return nil, fmt.Errorf("property history: %w", unavailable(ctx, err))
		}
		// got is oldest first; out is newest first.
		for i := len(got) - 1; i >= 0 && len(out) < limit; i-- {
			out = append(out, got[i])
		}
		if len(out) >= limit || lo <= first {
			return out, nil
		}
		hi = lo - 1
		window = min(2*window, scanMaxWindow)
	}
}

// readEvents returns the last keep CloudEvents on filter with sequences in
// [lo, hi], oldest first, skipping messages that are not one.
func readEvents(ctx context.Context, stream jetstream.Stream, filter string, lo, hi uint64, keep int) ([]cloudevents.Event, error) {
	var out []cloudevents.Event
	err := scanRange(ctx, stream, []string{filter}, lo, hi, func(msg jetstream.Msg, _ *jetstream.MsgMetadata) {
		var ev cloudevents.Event
		if json.Unmarshal(msg.Data(), &ev) == nil {
			out = append(out, ev)
		}
		if len(out) >= 2*keep {
			out = append(out[:0], out[len(out)-keep:]...)
		}
	})
	if err != nil {
		return nil, err
	}
	return out[max(0, len(out)-keep):], nil
}
