package host

import (
	"encoding/base64"
	"encoding/json"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is the outcome of one call.
type Status string

// Call outcomes (abi/README.md §2, "Outcome of a call").
const (
	StatusOK       Status = "ok"
	StatusError    Status = "error"
	StatusTimeout  Status = "timeout"
	StatusTrap     Status = "trap"
	StatusRejected Status = "rejected"
)

// ExecutionInfo is the wide event of one call: everything about it in one
// record. The same value is the HTTP response, the JSON log line, the call-log
// record and what a unit test asserts on, so its JSON form is stable (see the
// golden file in testdata/).
type ExecutionInfo struct {
	CallID          string                     `json:"call_id"`
	Function        string                     `json:"function"`
	ModuleDigest    string                     `json:"module_digest"`
	Mode            string                     `json:"mode,omitempty"`
	Event           EventInfo                  `json:"event"`
	Status          Status                     `json:"status"`
	Error           *ErrorInfo                 `json:"error,omitempty"`
	Start           time.Time                  `json:"start"`
	DurationNS      int64                      `json:"duration_ns"`
	Attempt         int                        `json:"attempt"`
	Redelivered     bool                       `json:"redelivered,omitempty"`
	MemoryBytes     uint64                     `json:"memory_bytes"`
	Result          *Result                    `json:"result,omitempty"`
	Emitted         []cloudevents.Event        `json:"emitted,omitempty"`
	Scheduled       []Scheduled                `json:"scheduled,omitempty"`
	PropertyChanges []PropertyChange           `json:"property_changes,omitempty"`
	KVChanges       []KVChange                 `json:"kv_changes,omitempty"`
	HTTPRequests    []HTTPRequest              `json:"http_requests,omitempty"`
	Logs            []LogLine                  `json:"logs,omitempty"`
	LogsTruncated   bool                       `json:"logs_truncated,omitempty"`
	Fields          map[string]json.RawMessage `json:"fields,omitempty"`
	// TraceID and SpanID are the call's span when tracing is on (the
	// call path sets them; W3C hex).
	TraceID string `json:"trace_id,omitempty"`
	SpanID  string `json:"span_id,omitempty"`
}

// EventInfo is the triggering event's attributes (not its data).
type EventInfo struct {
	ID              string            `json:"id"`
	Source          string            `json:"source"`
	Type            string            `json:"type"`
	Subject         string            `json:"subject,omitempty"`
	Time            string            `json:"time,omitempty"`
	DataContentType string            `json:"datacontenttype,omitempty"`
	Extensions      map[string]string `json:"extensions,omitempty"`
}

// ErrorInfo says why a call did not end ok.
type ErrorInfo struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Scheduled is one schedule operation of the call (schedule_event,
// schedule_event_at, schedule_cancel), applied in order if the call ends
// ok: Event due At under Key, or, with Cancel, the pending event under Key
// cancelled.
type Scheduled struct {
	Key    string             `json:"key"`
	Cancel bool               `json:"cancel,omitempty"`
	At     time.Time          `json:"at,omitzero"`
	Event  *cloudevents.Event `json:"event,omitempty"`
}

// PropertyChange is a property write made by the call.
type PropertyChange struct {
	Subject  string          `json:"subject"`
	Name     string          `json:"name"`
	Old      json.RawMessage `json:"old_value"`
	New      json.RawMessage `json:"value"`
	Revision uint64          `json:"revision"`
}

// KVChange is a KV write made by the call; Deleted marks a delete.
type KVChange struct {
	Key      string `json:"key"`
	Revision uint64 `json:"revision,omitempty"`
	Size     int    `json:"size"`
	Deleted  bool   `json:"deleted,omitempty"`
}

// HTTPRequest is an outbound request the call made through the http
// capability, answered or not. Host is "host:port"; Status is the HTTP
// status of an answered request, ErrorCode (an ABI status name such as
// DENIED) and Error say why one was not. The URL's path and query are not
// recorded: they may hold secrets.
type HTTPRequest struct {
	Method        string `json:"method"`
	Host          string `json:"host"`
	Status        int    `json:"status,omitempty"`
	ErrorCode     string `json:"error_code,omitempty"`
	Error         string `json:"error,omitempty"`
	DurationNS    int64  `json:"duration_ns"`
	RequestBytes  int    `json:"request_bytes"`
	ResponseBytes int    `json:"response_bytes"`
}

// LogLine is one line the guest logged.
type LogLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// Result is the guest's result body and content type.
type Result struct {
	ContentType string
	Body        []byte
	// Status is the HTTP status the guest set with result_status (0: not
	// set, 200 for an HTTP route); Headers the headers of result_header.
	Status  int
	Headers []Header
}

// Header is one HTTP response header a guest set.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// resultJSON is Result on the wire: the body is embedded as JSON when the
// content type is JSON and the body parses, as a string when it is UTF-8,
// and in base64 otherwise, so a reader never has to guess.
type resultJSON struct {
	ContentType string          `json:"content_type"`
	Status      int             `json:"status,omitempty"`
	Headers     []Header        `json:"headers,omitempty"`
	JSON        json.RawMessage `json:"json,omitempty"`
	Text        *string         `json:"text,omitempty"`
	Base64      string          `json:"base64,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (r Result) MarshalJSON() ([]byte, error) {
	out := resultJSON{ContentType: r.ContentType, Status: r.Status, Headers: r.Headers}
	switch {
	case isJSONType(r.ContentType) && json.Valid(r.Body):
		out.JSON = json.RawMessage(r.Body)
	case utf8.Valid(r.Body):
		s := string(r.Body)
		out.Text = &s
	default:
		out.Base64 = base64.StdEncoding.EncodeToString(r.Body)
	}
	return json.Marshal(out)
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Result) UnmarshalJSON(b []byte) error {
	var in resultJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	r.ContentType, r.Status, r.Headers = in.ContentType, in.Status, in.Headers
	switch {
	case in.JSON != nil:
		r.Body = []byte(in.JSON)
	case in.Text != nil:
		r.Body = []byte(*in.Text)
	default:
		body, err := base64.StdEncoding.DecodeString(in.Base64)
		if err != nil {
			return err
		}
		r.Body = body
	}
	return nil
}

func isJSONType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

// Duration is the call's wall-clock duration.
func (e *ExecutionInfo) Duration() time.Duration { return time.Duration(e.DurationNS) }

// Log attribute keys shared with slog handlers.
const (
	LogKeyCall     = "call_id"
	LogKeyFunction = "function"
	LogKeyStatus   = "status"
)

// LogValue implements slog.LogValuer so a call logs as one wide line:
// logger.Info("call", "call", info).
func (e ExecutionInfo) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String(LogKeyCall, e.CallID),
		slog.String(LogKeyFunction, e.Function),
		slog.String("module_digest", e.ModuleDigest),
		slog.String(LogKeyStatus, string(e.Status)),
		slog.Time("start", e.Start),
		slog.Int64("duration_ns", e.DurationNS),
		slog.Int("attempt", e.Attempt),
		slog.Uint64("memory_bytes", e.MemoryBytes),
		slog.Group("event",
			slog.String("id", e.Event.ID),
			slog.String("source", e.Event.Source),
			slog.String("type", e.Event.Type),
			slog.String("subject", e.Event.Subject),
		),
	}
	if e.Redelivered {
		attrs = append(attrs, slog.Bool("redelivered", true))
	}
	if e.Error != nil {
		attrs = append(attrs, slog.Group("error", slog.String("kind", e.Error.Kind), slog.String("message", e.Error.Message)))
	}
	if len(e.Emitted) > 0 {
		attrs = append(attrs, slog.Int("emitted", len(e.Emitted)))
	}
	if len(e.PropertyChanges) > 0 {
		attrs = append(attrs, slog.Any("property_changes", e.PropertyChanges))
	}
	if len(e.KVChanges) > 0 {
		attrs = append(attrs, slog.Any("kv_changes", e.KVChanges))
	}
	if len(e.HTTPRequests) > 0 {
		attrs = append(attrs, slog.Any("http_requests", e.HTTPRequests))
	}
	if len(e.Logs) > 0 {
		attrs = append(attrs, slog.Any("logs", e.Logs))
	}
	if len(e.Fields) > 0 {
		fs := make([]any, 0, len(e.Fields))
		for k, v := range e.Fields {
			fs = append(fs, slog.Any(k, v))
		}
		attrs = append(attrs, slog.Group("fields", fs...))
	}
	return slog.GroupValue(attrs...)
}
