package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/wasmfaas/wasmfaas/router"
)

// defaultPublishURL is where publish looks for NATS when neither nats.url
// nor nats.listen is configured: the embedded server of `serve` is reachable
// from another process only when it listens on TCP (serve --nats-listen).
const defaultPublishURL = "nats://127.0.0.1:4222"

func newPublishCmd() *cobra.Command {
	var source, subject, data, natsSubject string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "publish TYPE",
		Short: "Publish one CloudEvent to the events stream over NATS",
		Long: `Publish builds a CloudEvent of type TYPE (a new UUID as id, the time now) and
publishes it with JetStream, so it is stored once the command prints its stream
sequence.

NATS is --nats-url when set, else the nats.listen address of the configuration
(the same wasmfaas.yaml a running serve reads), else ` + defaultPublishURL + `.
The embedded server of serve accepts other processes only when it listens on
TCP: run serve with --nats-listen 127.0.0.1:4222. Without --nats-url, publish
presents the listener's nats.listen_token or nats.listen_user and
nats.listen_password, and trusts nats.tls_cert, from the same configuration.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadConfig(cmd.Flags(), os.Environ(), publishScope)
			if err != nil {
				return err
			}
			ev, err := buildEvent(args[0], source, subject, data)
			if err != nil {
				return err
			}
			url := publishURL(cfg.NATS)
			opts := append(publishAuth(cfg.NATS), nats.Name("wasmfaas-publish"), nats.Timeout(timeout))
			nc, err := nats.Connect(url, opts...)
			if err != nil {
				return fmt.Errorf("connect to NATS at %s: %w (is `wasmfaas serve --nats-listen` running? or pass --nats-url)", url, err)
			}
			defer nc.Close()
			ack, err := publishEvent(cmd.Context(), nc, natsSubject, ev, timeout)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "id %s\nstream %s seq %d\n", ev.ID(), ack.Stream, ack.Sequence)
			return nil
		},
	}
	addConfigFlags(cmd.Flags(), publishScope)
	cmd.Flags().Lookup("nats-url").Usage = "NATS server URL (default: nats.listen of the configuration, else " + defaultPublishURL + ") (env WASMFAAS_NATS_URL)"
	cmd.Flags().Lookup("nats-token").Usage = "token for the NATS server (env WASMFAAS_NATS_TOKEN)"
	cmd.Flags().Lookup("nats-creds").Usage = "credentials file for the NATS server (env WASMFAAS_NATS_CREDS)"
	cmd.Flags().StringVar(&source, "source", "wasmfaas/cli", "event source")
	cmd.Flags().StringVar(&subject, "subject", "", "event subject")
	cmd.Flags().StringVar(&data, "data", "", "event data: JSON, @file, or other text (sent as text/plain)")
	cmd.Flags().StringVar(&natsSubject, "nats-subject", "events.cli", "NATS subject (under the events prefix)")
	timeout = 5 * time.Second
	cmd.Flags().Var(durationValue{&timeout}, "timeout", "how long to wait for the connection and for the stream to store the event")
	return cmd
}

// publishURL picks the NATS server: nats.url, else nats.listen, else the default.
func publishURL(c NATSConfig) string {
	if c.URL != "" {
		return c.URL
	}
	if c.Listen != "" {
		host, port, err := net.SplitHostPort(c.Listen)
		if err == nil {
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			return "nats://" + net.JoinHostPort(host, port)
		}
	}
	return defaultPublishURL
}

// publishAuth is how publish authenticates: --nats-token and --nats-creds
// when given; else, when it connects to serve's listener (no nats.url), the
// listener's token or user and password, trusting nats.tls_cert when the
// listener speaks TLS.
func publishAuth(c NATSConfig) []nats.Option {
	var opts []nats.Option
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.URL != "" {
		return opts
	}
	if len(opts) == 0 {
		switch {
		case c.ListenToken != "":
			opts = append(opts, nats.Token(c.ListenToken))
		case c.ListenUser != "":
			opts = append(opts, nats.UserInfo(c.ListenUser, c.ListenPassword))
		}
	}
	if c.TLSCert != "" {
		opts = append(opts, nats.RootCAs(c.TLSCert))
	}
	return opts
}

// buildEvent makes the event: JSON data as application/json, anything else
// as text/plain; "@path" reads the data from a file.
func buildEvent(typ, source, subject, data string) (cloudevents.Event, error) {
	ev := cloudevents.NewEvent()
	ev.SetID(uuid.NewString())
	ev.SetTime(time.Now().UTC())
	ev.SetType(typ)
	ev.SetSource(source)
	if subject != "" {
		ev.SetSubject(subject)
	}
	if strings.HasPrefix(data, "@") {
		b, err := os.ReadFile(data[1:])
		if err != nil {
			return ev, fmt.Errorf("read data: %w", err)
		}
		data = string(b)
	}
	if data != "" {
		if json.Valid([]byte(data)) {
			ev.SetDataContentType(cloudevents.ApplicationJSON)
			ev.DataEncoded = []byte(data)
		} else {
			ev.SetDataContentType(cloudevents.TextPlain)
			ev.DataEncoded = []byte(data)
		}
	}
	if err := ev.Validate(); err != nil {
		return ev, fmt.Errorf("invalid event: %w", err)
	}
	return ev, nil
}

// publishEvent stores ev on subject with JetStream; the PubAck means stored.
func publishEvent(ctx context.Context, nc *nats.Conn, subject string, ev cloudevents.Event, timeout time.Duration) (*jetstream.PubAck, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	msg, err := router.EncodeMsg(subject, ev)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ack, err := js.PublishMsg(ctx, msg)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		return nil, fmt.Errorf("publish on %s: no stream stores this subject (events go under the events prefix, e.g. events.x; is serve running with its streams?): %w", subject, err)
	}
	if err != nil {
		return nil, fmt.Errorf("publish on %s: %w", subject, err)
	}
	return ack, nil
}
