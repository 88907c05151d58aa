package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmfaas/wasmfaas/internal/functions"
	"github.com/wasmfaas/wasmfaas/internal/server"
	"github.com/wasmfaas/wasmfaas/router"
)

// client talks to a running `wasmfaas serve` over its HTTP API.
type client struct {
	base  string
	token string
	http  *http.Client
	// progress, if set, shows the upload of large request bodies.
	progress io.Writer
}

func newClient(cmd *cobra.Command) (*client, error) {
	cfg, _, err := loadConfig(cmd.Flags(), os.Environ(), clientScope)
	if err != nil {
		return nil, err
	}
	return &client{base: strings.TrimRight(cfg.Server, "/"), token: cfg.Token, http: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// progressMin is the smallest request body whose upload shows progress.
const progressMin = 4 << 20

// progressReader prints how much of a request body was sent, on one line
// rewritten in place, at most every 5%.
type progressReader struct {
	r           io.Reader
	total, sent int64
	last        int64 // percent last printed
	w           io.Writer
	label       string
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	pct := p.sent * 100 / p.total
	if pct >= p.last+5 || (err == io.EOF && p.last < 100) {
		p.last = pct
		fmt.Fprintf(p.w, "\ruploading %s of %s (%d%%)", humanSize(p.sent), humanSize(p.total), pct)
		if pct >= 100 {
			fmt.Fprintln(p.w)
		}
	}
	return n, err
}

// apiError is the server's error, printed as its message.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code) }

// do sends a request and returns the response; non-2xx answers become
// *apiError carrying the server's message.
func (c *client) do(method, path, ctype string, body []byte, hdr http.Header) (*http.Response, []byte, error) {
	var r io.Reader = bytes.NewReader(body)
	if c.progress != nil && len(body) >= progressMin {
		r = &progressReader{r: r, total: int64(len(body)), w: c.progress, label: method + " " + path}
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return nil, nil, err
	}
	req.ContentLength = int64(len(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	return resp, b, nil
}

func (c *client) call(method, path, ctype string, body []byte) ([]byte, error) {
	resp, b, err := c.do(method, path, ctype, body, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, toAPIError(resp.StatusCode, b)
	}
	return b, nil
}

func toAPIError(status int, b []byte) error {
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return &apiError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
	}
	return &apiError{Status: status, Code: http.StatusText(status), Message: strings.TrimSpace(string(b))}
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func printJSON(w io.Writer, b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		_, err = w.Write(b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// clientFlags adds the client's flags, --server and --token (also
// WASMFAAS_SERVER, WASMFAAS_TOKEN and wasmfaas.yaml), and none of the
// server's settings.
func clientFlags(cmd *cobra.Command) {
	addConfigFlags(cmd.Flags(), clientScope)
}

func newDeployCmd() *cobra.Command {
	var grants, config, triggers, allowHosts []string
	var replayFrom, schedule, scheduleTZ, route, dataSchema string
	var isolation string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "deploy NAME MODULE.wasm",
		Short: "Upload a module, bind a function to it and, with --trigger, add a trigger, in one step",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			name, path := args[0], args[1]
			wasm, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("read module: %w", err)
			}
			c.progress = cmd.ErrOrStderr()
			b, err := c.call("POST", "/v1/modules", "application/wasm", wasm)
			c.progress = nil
			if err != nil {
				return fmt.Errorf("upload %s: %w", path, err)
			}
			var mf struct {
				Digest string
				Size   int64
			}
			_ = json.Unmarshal(b, &mf)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "uploaded %s (%s) as %s\n", path, humanSize(mf.Size), mf.Digest)
			spec := functions.FunctionSpec{Module: mf.Digest, Grants: splitList(grants), Isolation: isolation, Config: map[string]string{},
				AllowedHosts: splitList(allowHosts)}
			for _, kv := range config {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--config %q: want key=value", kv)
				}
				spec.Config[k] = v
			}
			if timeout > 0 {
				spec.Limits.Timeout = router.Duration(timeout)
			}
			if dataSchema != "" {
				b, err := os.ReadFile(dataSchema)
				if err != nil {
					return fmt.Errorf("--data-schema: %w", err)
				}
				spec.DataSchema = b
			}
			b, err = c.call("PUT", "/v1/functions/"+url.PathEscape(name), "application/json", jsonBody(spec))
			if err != nil {
				return fmt.Errorf("deploy function %s: %w", name, err)
			}
			var info functions.FunctionInfo
			_ = json.Unmarshal(b, &info)
			fmt.Fprintf(out, "function %s is at revision %d\n", name, info.Revision)
			kinds := 0
			for _, set := range []bool{len(triggers) > 0, schedule != "" || scheduleTZ != "", route != ""} {
				if set {
					kinds++
				}
			}
			if kinds > 1 {
				return errors.New("--trigger, --schedule and --route each make the trigger named after the function; deploy with one, add others with `wasmfaas triggers put`")
			}
			if route != "" {
				if _, err := c.call("PUT", "/v1/triggers/"+url.PathEscape(name), "application/json", jsonBody(map[string]any{"function": name, "route": route})); err != nil {
					return fmt.Errorf("trigger %s: %w", name, err)
				}
				fmt.Fprintf(out, "trigger %s serves %s\n", name, route)
			}
			if schedule != "" || scheduleTZ != "" {
				body := map[string]any{"function": name, "schedule": schedule}
				if scheduleTZ != "" {
					body["schedule_tz"] = scheduleTZ
				}
				if _, err := c.call("PUT", "/v1/triggers/"+url.PathEscape(name), "application/json", jsonBody(body)); err != nil {
					return fmt.Errorf("trigger %s: %w", name, err)
				}
				fmt.Fprintf(out, "trigger %s runs %s on schedule %q\n", name, name, schedule)
			}
			if len(triggers) > 0 {
				exact := map[string]string{}
				for _, kv := range splitList(triggers) {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return fmt.Errorf("--trigger %q: want attribute=value", kv)
					}
					exact[k] = v
				}
				body := map[string]any{"function": name, "filters": []any{map[string]any{"exact": exact}}}
				if replayFrom != "" {
					body["replay_from"] = replayFrom
				}
				if _, err := c.call("PUT", "/v1/triggers/"+url.PathEscape(name), "application/json", jsonBody(body)); err != nil {
					return fmt.Errorf("trigger %s: %w", name, err)
				}
				fmt.Fprintf(out, "trigger %s sends events matching %v to %s\n", name, exact, name)
			}
			return nil
		},
	}
	clientFlags(cmd)
	cmd.Flags().StringSliceVar(&grants, "grant", nil, "capabilities to grant besides log,info,wasi (kv, props, emit, config, http)")
	cmd.Flags().StringArrayVar(&allowHosts, "allow-host", nil, "a host the http capability may reach (repeatable): api.example.com (ports 80/443), host:port, *.example.com, 127.0.0.1:8081; with --grant http and no --allow-host every request is refused")
	cmd.Flags().StringArrayVar(&config, "config", nil, "function config entry key=value (repeatable)")
	cmd.Flags().StringSliceVar(&triggers, "trigger", nil, "exact filter attribute=value for a trigger named after the function")
	cmd.Flags().StringVar(&replayFrom, "replay-from", "", `where a new trigger starts: "all" retained events, or an RFC 3339 time (default: the events stored after it is made)`)
	cmd.Flags().StringVar(&schedule, "schedule", "", `a cron trigger named after the function: "@every 30s", "@hourly", "@at 2026-12-24T18:00:00Z" or a 6-field cron expression "0 */5 * * * *" (seconds first); the function runs on a wasmfaas.schedule event at each tick`)
	cmd.Flags().StringVar(&scheduleTZ, "schedule-tz", "", "the IANA time zone of a --schedule cron expression, such as Europe/Berlin (default UTC)")
	cmd.Flags().StringVar(&route, "route", "", `an HTTP trigger named after the function: "GET /hello/{name}", served under http.routes_prefix (default /fn/)`)
	cmd.Flags().StringVar(&dataSchema, "data-schema", "", "a JSON Schema file (draft 2020-12) the data of every event must match; events that do not are rejected before the function runs")
	cmd.Flags().StringVar(&isolation, "isolation", "", "pooled or fresh")
	cmd.Flags().Var(durationValue{&timeout}, "timeout", "per-call timeout, a duration such as 5s (default: the server's)")
	return cmd
}

func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func newInvokeCmd() *cobra.Command {
	var data, typ, subject, output string
	cmd := &cobra.Command{
		Use:   "invoke NAME",
		Short: "Invoke a function synchronously and print its result (-o json: the ExecutionInfo)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			var body []byte
			if strings.HasPrefix(data, "@") {
				if body, err = os.ReadFile(data[1:]); err != nil {
					return fmt.Errorf("--data: %w", err)
				}
			} else {
				body = []byte(data)
			}
			q := url.Values{}
			if typ != "" {
				q.Set("type", typ)
			}
			if subject != "" {
				q.Set("subject", subject)
			}
			if output == "json" {
				q.Set("output", "info")
			}
			path := "/v1/functions/" + url.PathEscape(args[0]) + "/invoke"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			ctype := ""
			if len(body) > 0 && json.Valid(body) {
				ctype = "application/json"
			} else if len(body) > 0 {
				ctype = "application/octet-stream"
			}
			resp, b, err := c.do("POST", path, ctype, body, nil)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			status := resp.Header.Get(server.HeaderStatus)
			if status == "" { // the server refused the request itself
				return toAPIError(resp.StatusCode, b)
			}
			if output == "json" {
				if err := printJSON(out, b); err != nil {
					return err
				}
			} else if resp.StatusCode < 300 {
				_, _ = out.Write(b)
				if len(b) > 0 && b[len(b)-1] != '\n' {
					fmt.Fprintln(out)
				}
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "call %s ended %s: %v\n", resp.Header.Get(server.HeaderCallID), status, toAPIError(resp.StatusCode, b))
			}
			if status != "ok" {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	clientFlags(cmd)
	cmd.Flags().StringVar(&data, "data", "", "event data: JSON, or @file")
	cmd.Flags().StringVar(&typ, "type", "", "event type (default wasmfaas.invoke)")
	cmd.Flags().StringVar(&subject, "subject", "", "event subject")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json (the ExecutionInfo)")
	return cmd
}

// newResourceCmd makes `functions|modules|triggers ls|get|rm`.
func newResourceCmd(plural string, columns func(item map[string]any) []string, header []string) *cobra.Command {
	cmd := &cobra.Command{Use: plural, Short: "List, show or remove " + plural}
	var output string
	ls := &cobra.Command{Use: "ls", Short: "List " + plural, Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		c, err := newClient(cmd)
		if err != nil {
			return err
		}
		b, err := c.call("GET", "/v1/"+plural, "", nil)
		if err != nil {
			return err
		}
		if output == "json" {
			return printJSON(cmd.OutOrStdout(), b)
		}
		var list map[string][]map[string]any
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		var rows [][]string
		for _, it := range list[plural] {
			rows = append(rows, columns(it))
		}
		table(cmd.OutOrStdout(), header, rows)
		return nil
	}}
	get := &cobra.Command{Use: "get NAME", Short: "Show one", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		c, err := newClient(cmd)
		if err != nil {
			return err
		}
		b, err := c.call("GET", "/v1/"+plural+"/"+url.PathEscape(args[0]), "", nil)
		if err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), b)
	}}
	rm := &cobra.Command{Use: "rm NAME", Short: "Remove one", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		c, err := newClient(cmd)
		if err != nil {
			return err
		}
		if _, err := c.call("DELETE", "/v1/"+plural+"/"+url.PathEscape(args[0]), "", nil); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "removed %s %s\n", strings.TrimSuffix(plural, "s"), args[0])
		return nil
	}}
	for _, sub := range []*cobra.Command{ls, get, rm} {
		clientFlags(sub)
	}
	ls.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	cmd.AddCommand(ls, get, rm)
	return cmd
}

// list renders a JSON array of strings as a comma-separated cell, "-"
// when empty, so a table's columns stay aligned.
func list(v any) string {
	items, _ := v.([]any)
	if len(items) == 0 {
		return "-"
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = str(it)
	}
	return strings.Join(out, ",")
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.0f", x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func newCallsCmd() *cobra.Command {
	var function, status, output string
	var limit int
	var watch bool
	cmd := &cobra.Command{
		Use:   "calls [ID]",
		Short: "Show a call's ExecutionInfo, or list calls newest first (-w: follow new calls live)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if watch {
				if len(args) == 1 {
					return errors.New("calls -w follows new calls; it takes no call id")
				}
				return c.watchCalls(cmd.Context(), out, cmd.ErrOrStderr(), function, status, output == "json")
			}
			if len(args) == 1 {
				b, err := c.call("GET", "/v1/calls/"+url.PathEscape(args[0]), "", nil)
				if err != nil {
					return err
				}
				return printJSON(out, b)
			}
			q := url.Values{}
			if function != "" {
				q.Set("function", function)
			}
			if status != "" {
				q.Set("status", status)
			}
			if limit > 0 {
				q.Set("limit", fmt.Sprint(limit))
			}
			b, err := c.call("GET", "/v1/calls?"+q.Encode(), "", nil)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(out, b)
			}
			var list struct{ Calls []map[string]any }
			if err := json.Unmarshal(b, &list); err != nil {
				return err
			}
			var rows [][]string
			for _, it := range list.Calls {
				rows = append(rows, callRow(it))
			}
			table(out, callHeader, rows)
			return nil
		},
	}
	clientFlags(cmd)
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow calls as they are logged, one line each, until interrupted")
	cmd.Flags().StringVar(&function, "function", "", "only calls of this function")
	cmd.Flags().StringVar(&status, "status", "", "only calls with this status")
	cmd.Flags().Var(countValue{&limit}, "limit", "at most this many (0: the server's default, 50)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// callHeader and callRow are the columns of `calls`, listed or followed.
var callHeader = []string{"CALL", "FUNCTION", "STATUS", "DURATION", "START", "EVENT TYPE"}

func callRow(it map[string]any) []string {
	ev, _ := it["event"].(map[string]any)
	return []string{str(it["call_id"]), str(it["function"]), str(it["status"]), callDuration(it), str(it["start"]), str(ev["type"])}
}

// watchCalls follows GET /v1/calls/stream until ctx is done, printing one
// line per call (in JSON: the record, one a line) and, on stderr, the
// server's notices of calls dropped because this client read too slowly.
func (c *client) watchCalls(ctx context.Context, out, errw io.Writer, function, status string, asJSON bool) error {
	q := url.Values{}
	if function != "" {
		q.Set("function", function)
	}
	if status != "" {
		q.Set("status", status)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/v1/calls/stream?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// The stream lasts until interrupted: no client timeout.
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("GET %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return toAPIError(resp.StatusCode, b)
	}
	if !asJSON {
		fmt.Fprintln(out, strings.Join(callHeader, "  "))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 2<<20) // a call record is at most 1 MiB
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			if err := printStreamEvent(out, errw, event, data, asJSON); err != nil {
				return err
			}
			event, data = "", ""
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read call stream: %w", err)
	}
	return errors.New("the server ended the call stream")
}

func printStreamEvent(out, errw io.Writer, event, data string, asJSON bool) error {
	if event == server.StreamDroppedEvent {
		var n struct{ Dropped int }
		_ = json.Unmarshal([]byte(data), &n)
		fmt.Fprintf(errw, "wasmfaas: %d calls dropped (this client read too slowly)\n", n.Dropped)
		return nil
	}
	if asJSON {
		_, err := fmt.Fprintln(out, data)
		return err
	}
	var it map[string]any
	if err := json.Unmarshal([]byte(data), &it); err != nil {
		return fmt.Errorf("call stream: %w", err)
	}
	_, err := fmt.Fprintln(out, strings.Join(callRow(it), "  "))
	return err
}

// callDuration is a listed call's duration_ns (see host.ExecutionInfo) in a
// human form; empty when the record has none.
func callDuration(it map[string]any) string {
	ns, ok := it["duration_ns"].(float64)
	if !ok {
		return ""
	}
	return humanDuration(time.Duration(ns))
}

// humanDuration rounds d to about three significant digits in the unit
// time.Duration picks: 850ns, 3.42µs, 1.2ms, 12.35ms, 2.5s, 1m5s.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return d.Round(10 * time.Nanosecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func newPropsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "props SUBJECT",
		Short: "Show a subject's properties and extended properties",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			b, err := c.call("GET", "/v1/subjects/"+url.PathEscape(args[0])+"/properties", "", nil)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), b)
			}
			var p struct {
				Properties map[string]struct {
					Value    json.RawMessage
					Revision uint64
				}
				Extended map[string]string
			}
			if err := json.Unmarshal(b, &p); err != nil {
				return err
			}
			var rows [][]string
			for k, v := range p.Properties {
				rows = append(rows, []string{k, string(v.Value), fmt.Sprint(v.Revision)})
			}
			for k, v := range p.Extended {
				rows = append(rows, []string{k + " (extended)", v, ""})
			}
			sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
			table(cmd.OutOrStdout(), []string{"PROPERTY", "VALUE", "REVISION"}, rows)
			return nil
		},
	}
	clientFlags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func newDeadLettersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "deadletters", Short: "List, show and replay dead letters"}
	var trigger, output string
	var limit int
	ls := &cobra.Command{Use: "ls", Short: "List dead letters, oldest first", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		c, err := newClient(cmd)
		if err != nil {
			return err
		}
		q := url.Values{}
		if trigger != "" {
			q.Set("trigger", trigger)
		}
		if limit > 0 {
			q.Set("limit", fmt.Sprint(limit))
		}
		b, err := c.call("GET", "/v1/deadletters?"+q.Encode(), "", nil)
		if err != nil {
			return err
		}
		if output == "json" {
			return printJSON(cmd.OutOrStdout(), b)
		}
		var list struct{ Deadletters []map[string]any }
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		var rows [][]string
		for _, d := range list.Deadletters {
			rows = append(rows, []string{str(d["seq"]), str(d["trigger"]), str(d["function"]), str(d["reason"]), str(d["attempts"]), str(d["time"])})
		}
		table(cmd.OutOrStdout(), []string{"SEQ", "TRIGGER", "FUNCTION", "REASON", "ATTEMPTS", "TIME"}, rows)
		return nil
	}}
	show := &cobra.Command{Use: "show SEQ", Short: "Show a dead letter with its event and ExecutionInfo", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		c, err := newClient(cmd)
		if err != nil {
			return err
		}
		b, err := c.call("GET", "/v1/deadletters/"+url.PathEscape(args[0]), "", nil)
		if err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), b)
	}}
	replay := &cobra.Command{Use: "replay SEQ", Short: "Re-publish a dead letter's event to its trigger", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		c, err := newClient(cmd)
		if err != nil {
			return err
		}
		b, err := c.call("POST", "/v1/deadletters/"+url.PathEscape(args[0])+"/replay", "", nil)
		if err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), b)
	}}
	for _, sub := range []*cobra.Command{ls, show, replay} {
		clientFlags(sub)
	}
	ls.Flags().StringVar(&trigger, "trigger", "", "only this trigger's dead letters")
	ls.Flags().Var(countValue{&limit}, "limit", "at most this many (0: the server's default, 100)")
	ls.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	cmd.AddCommand(ls, show, replay)
	return cmd
}

// newTriggerPutCmd makes `triggers put`: one trigger of any kind, by name.
func newTriggerPutCmd() *cobra.Command {
	var function, replayFrom, schedule, scheduleTZ, route, dataSchema string
	var filters []string
	cmd := &cobra.Command{
		Use:   "put NAME --function FN (--filter attr=value... | --schedule S | --route 'METHOD /path')",
		Short: "Create or replace a trigger: events matching exact filters, a schedule, or an HTTP route, sent to a function",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			if function == "" {
				return errors.New("--function is required")
			}
			body := map[string]any{"function": function}
			if len(filters) > 0 {
				exact := map[string]string{}
				for _, kv := range splitList(filters) {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return fmt.Errorf("--filter %q: want attribute=value", kv)
					}
					exact[k] = v
				}
				body["filters"] = []any{map[string]any{"exact": exact}}
			}
			for k, v := range map[string]string{"replay_from": replayFrom, "schedule": schedule, "schedule_tz": scheduleTZ, "route": route} {
				if v != "" {
					body[k] = v
				}
			}
			if dataSchema != "" {
				b, err := os.ReadFile(dataSchema)
				if err != nil {
					return fmt.Errorf("--data-schema: %w", err)
				}
				body["data_schema"] = json.RawMessage(b)
			}
			b, err := c.call("PUT", "/v1/triggers/"+url.PathEscape(args[0]), "application/json", jsonBody(body))
			if err != nil {
				return fmt.Errorf("trigger %s: %w", args[0], err)
			}
			var info struct{ Revision uint64 }
			_ = json.Unmarshal(b, &info)
			fmt.Fprintf(cmd.OutOrStdout(), "trigger %s is at revision %d\n", args[0], info.Revision)
			return nil
		},
	}
	clientFlags(cmd)
	cmd.Flags().StringVar(&function, "function", "", "the function the trigger calls")
	cmd.Flags().StringSliceVar(&filters, "filter", nil, "exact filter attribute=value (repeatable; all must match)")
	cmd.Flags().StringVar(&replayFrom, "replay-from", "", `where a new trigger starts: "all" retained events, or an RFC 3339 time`)
	cmd.Flags().StringVar(&schedule, "schedule", "", `run the function on a schedule instead: "@every 30s", "@hourly", "@at TIME" or a 6-field cron expression`)
	cmd.Flags().StringVar(&scheduleTZ, "schedule-tz", "", "the IANA time zone of a cron --schedule")
	cmd.Flags().StringVar(&route, "route", "", `serve an HTTP route instead: "GET /hello/{name}"`)
	cmd.Flags().StringVar(&dataSchema, "data-schema", "", "a JSON Schema file the data of the events this trigger delivers must match")
	return cmd
}

// humanSize renders a byte count for people: 512 B, 18.0 KiB, 3.1 MiB.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// humanAge renders an RFC 3339 time as how long ago it was ("3m ago"),
// the time itself when it does not parse.
func humanAge(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	d := time.Since(t)
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
