package ingress

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/wasmfaas/wasmfaas/internal/layout"
)

// Defaults of the ingress edges.
const (
	// DefaultMaxBodyBytes bounds an HTTP request body.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultPublishTimeout bounds waiting for one PubAck.
	DefaultPublishTimeout = 5 * time.Second
)

// Config configures the ingress edges; the zero value of each field means
// its default. The streams must exist (internal/layout creates them).
type Config struct {
	// Prefix is the first subject token(s) events are published under;
	// the events stream captures "<Prefix>.>". layout.EventsPrefix if empty.
	Prefix string
	// EventsStream is the events stream; layout.EventsStream if empty.
	EventsStream string
	// RejectedPrefix is the subject prefix of the rejected stream;
	// layout.RejectedPrefix if empty.
	RejectedPrefix string
	// MaxBodyBytes is the largest HTTP body accepted (413 above).
	MaxBodyBytes int64
	// PublishTimeout bounds waiting for JetStream to store one event.
	PublishTimeout time.Duration
}

// withDefaults fills in defaults and validates cfg.
func (c Config) withDefaults() (Config, error) {
	c.Prefix = cmp.Or(c.Prefix, layout.EventsPrefix)
	c.EventsStream = cmp.Or(c.EventsStream, layout.EventsStream)
	c.RejectedPrefix = cmp.Or(c.RejectedPrefix, layout.RejectedPrefix)
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if err := c.validPrefix(); err != nil {
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

func (c Config) validPrefix() error {
	p := c.Prefix
	if p == c.RejectedPrefix || strings.HasPrefix(p, c.RejectedPrefix+".") {
		return fmt.Errorf("ingress config: prefix %q overlaps the rejected stream's %q", p, c.RejectedPrefix+".>")
	}
	for _, tok := range strings.Split(p, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return fmt.Errorf("ingress config: prefix %q: want dot-separated subject tokens without wildcards or spaces", p)
		}
	}
	return nil
}

// httpSubject is the subject HTTP ingress stores events on.
func (c Config) httpSubject() string { return c.Prefix + ".http" }

// rejectedSubject is where Rejecter moves invalid messages.
func (c Config) rejectedSubject() string { return c.RejectedPrefix + "." + c.Prefix }
