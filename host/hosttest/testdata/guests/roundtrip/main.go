// Command roundtrip echoes the event's subject, type, source, extension
// "note" and data through KV and properties back into the result, so a test
// can check that hostile strings cross every path unchanged.
package main

import (
	"bytes"
	"encoding/json"
	"errors"

	wasmfaas "github.com/wasmfaas/wasmfaas/guest-sdks/go"
)

type echo struct {
	Subject  string   `json:"subject"`
	Type     string   `json:"type"`
	Source   string   `json:"source"`
	Note     string   `json:"note"`
	Data     []byte   `json:"data"`
	KV       []byte   `json:"kv"`
	KVKeys   []string `json:"kv_keys"`
	Property string   `json:"property"`
	Ext      string   `json:"ext"`
}

func init() {
	wasmfaas.Handle(func(ctx *wasmfaas.Context, ev *wasmfaas.Event) error {
		data := ev.Data()
		subj := ctx.Subject(ev.Subject())
		key := string(data)
		if _, err := ctx.KV().Set(key, data); err != nil {
			return err
		}
		kv, _, err := ctx.KV().Get(key)
		if err != nil {
			return err
		}
		// GetInto reads the same value, into a buffer too small (it grows)
		// and into one large enough (it is reused).
		for _, buf := range [][]byte{make([]byte, 0, 1), make([]byte, 0, len(kv)+16)} {
			got, _, err := ctx.KV().GetInto(key, buf)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, kv) {
				return errors.New("KV GetInto read other bytes than Get")
			}
		}
		keys, err := ctx.KV().Keys("")
		if err != nil {
			return err
		}
		if err := subj.Set(string(data), string(data)); err != nil {
			return err
		}
		var prop string
		if _, err := subj.Get(string(data), &prop); err != nil {
			return err
		}
		note, _ := ev.Extension("note")
		if err := subj.SetExt("note", note); err != nil {
			return err
		}
		ext, _, err := subj.Ext("note")
		if err != nil {
			return err
		}
		out := echo{Subject: ev.Subject(), Type: ev.Type(), Source: ev.Source(), Note: note, Data: data, KV: kv, KVKeys: keys, Property: prop, Ext: ext}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return ctx.Result("application/json", b)
	})
}

func main() {}
