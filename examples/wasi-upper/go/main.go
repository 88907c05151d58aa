// Command wasi-upper is a plain WASI command, not an SDK handler: wasmfaas
// runs any module with _start in command mode, passing the triggering event
// as a structured CloudEvent on stdin and taking stdout as the result. It
// writes the event's data upper-cased: a JSON string is upper-cased and
// written as JSON, other JSON is written unchanged, and data_base64 that is
// UTF-8 text is decoded and upper-cased.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -o wasi-upper.wasm .
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// event is the part of a structured-mode CloudEvent this command reads.
type event struct {
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	DataBase64 *string         `json:"data_base64"`
}

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wasi-upper:", err)
		os.Exit(1)
	}
}

func run(stdin io.Reader, stdout, stderr io.Writer) error {
	in, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	var ev event
	if err := json.Unmarshal(in, &ev); err != nil {
		return fmt.Errorf("stdin is not a structured CloudEvent: %w", err)
	}
	if ev.Type == "" {
		return fmt.Errorf("stdin is not a CloudEvent: no type")
	}
	out, err := upper(ev)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wasi-upper: %s event, %d bytes out\n", ev.Type, len(out))
	_, err = stdout.Write(out)
	return err
}

func upper(ev event) ([]byte, error) {
	switch {
	case ev.DataBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*ev.DataBase64)
		if err != nil {
			return nil, fmt.Errorf("data_base64: %w", err)
		}
		if utf8.Valid(b) {
			return bytes.ToUpper(b), nil
		}
		return b, nil
	case len(ev.Data) == 0 || string(ev.Data) == "null":
		return nil, nil
	}
	var s string
	if json.Unmarshal(ev.Data, &s) != nil {
		return ev.Data, nil
	}
	return json.Marshal(strings.ToUpper(s))
}
