package ingress

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names and defaults.
const (
	// EventsStream captures every event under Config.Prefix. The router
	// creates it too, with the same configuration, so either may start first.
	EventsStream = "WASMFAAS_EVENTS"
	// RejectedStream keeps the messages that are not valid CloudEvents.
	RejectedStream = "WASMFAAS_REJECTED"
	// RejectedPrefix is the subject prefix RejectedStream captures.
	RejectedPrefix = "rejected"
	// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id.
	DuplicateWindow = 2 * time.Minute

	// DefaultPrefix is the subject prefix events are published under.
	DefaultPrefix = "events"
	// DefaultMaxBodyBytes bounds an HTTP request body.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultPublishTimeout bounds waiting for one PubAck.
	DefaultPublishTimeout = 5 * time.Second
)

// Config configures the ingress edges; the zero value of each field means
// its default.
type Config struct {
	// Prefix is the first subject token(s) events are published under;
	// the events stream captures "<Prefix>.>".
	Prefix string
	// MaxBodyBytes is the largest HTTP body accepted (413 above).
	MaxBodyBytes int64
	// PublishTimeout bounds waiting for JetStream to store one event.
	PublishTimeout time.Duration
}

// withDefaults fills in defaults and validates cfg.
func (c Config) withDefaults() (Config, error) {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if err := validPrefix(c.Prefix); err != nil {
		return c, err
	}
	if c.MaxBodyBytes < 0 {
		return c, fmt.Errorf("ingress config: max body bytes %d: must be positive", c.MaxBodyBytes)
	}
	if c.PublishTimeout < 0 {
		return c, fmt.Errorf("ingress config: publish timeout %s: must be positive", c.PublishTimeout)
	}
	return c, nil
}

func validPrefix(p string) error {
	if p == RejectedPrefix || strings.HasPrefix(p, RejectedPrefix+".") {
		return fmt.Errorf("ingress config: prefix %q overlaps the rejected stream's %q", p, RejectedPrefix+".>")
	}
	for _, tok := range strings.Split(p, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return fmt.Errorf("ingress config: prefix %q: want dot-separated subject tokens without wildcards or spaces", p)
		}
	}
	return nil
}

// Subject returns the subject HTTP ingress stores events on.
func (c Config) httpSubject() string { return c.Prefix + ".http" }

// rejectedSubject is where Rejecter moves invalid messages.
func (c Config) rejectedSubject() string { return RejectedPrefix + "." + c.Prefix }

// EventsStreamConfig is the events stream's configuration; the router uses
// the same one so that CreateOrUpdateStream from either side agrees.
func EventsStreamConfig(prefix string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       EventsStream,
		Subjects:   []string{prefix + ".>"},
		Storage:    jetstream.FileStorage,
		Duplicates: DuplicateWindow,
	}
}

// RejectedStreamConfig is the rejected stream's configuration.
func RejectedStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       RejectedStream,
		Subjects:   []string{RejectedPrefix + ".>"},
		Storage:    jetstream.FileStorage,
		Duplicates: DuplicateWindow,
	}
}

// EnsureStreams creates or updates the events and rejected streams.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	var errs []error
	for _, sc := range []jetstream.StreamConfig{EventsStreamConfig(cfg.Prefix), RejectedStreamConfig()} {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			errs = append(errs, fmt.Errorf("ensure stream %s: %w", sc.Name, err))
		}
	}
	return errors.Join(errs...)
}
