package functions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// Data schemas at the door: a function or a trigger may declare a JSON
// Schema (draft 2020-12 unless the schema's $schema says otherwise) for
// the data of the events it takes. An event whose data fails it is
// rejected before any instance runs, with the failing path and reason,
// and is never retried. A schema loads no other document ($ref reaches only
// into the schema itself), so compiling one never touches the network or
// the disk.

// maxSchemaBytes bounds a declared schema.
const maxSchemaBytes = 256 << 10

// dataSchema is a compiled schema and the URI it declares ($id), against
// which an event's dataschema attribute is checked.
type dataSchema struct {
	id  string
	sch *jsonschema.Schema
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("a data schema loads no other document (%s): put what it refers to under $defs", url)
}

// compileSchema compiles raw (nil: no schema) for what ("function x",
// "trigger y"), or says why it does not compile.
func compileSchema(what string, raw json.RawMessage) (*dataSchema, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > maxSchemaBytes {
		return nil, errorf(ErrInvalid, "%s: data_schema is %d bytes, more than %d", what, len(raw), maxSchemaBytes)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, errorf(ErrInvalid, "%s: data_schema is not JSON: %v", what, err)
	}
	id := ""
	if m, ok := doc.(map[string]any); ok {
		id, _ = m["$id"].(string)
	} else if _, ok := doc.(bool); !ok {
		return nil, errorf(ErrInvalid, "%s: data_schema must be a JSON object or boolean", what)
	}
	loc := id
	if loc == "" {
		loc = "urn:wasmfaas:data-schema"
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	c.AssertFormat()
	if err := c.AddResource(loc, doc); err != nil {
		return nil, errorf(ErrInvalid, "%s: data_schema: %v", what, err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, errorf(ErrInvalid, "%s: data_schema does not compile: %v", what, err)
	}
	return &dataSchema{id: id, sch: sch}, nil
}

// check validates ev's data against the schema of what: the data must be
// JSON, and an event that names its dataschema must name this one's $id
// (when the schema declares one).
func (d *dataSchema) check(what string, ev *cloudevents.Event) error {
	if d == nil {
		return nil
	}
	if ds := ev.DataSchema(); ds != "" && d.id != "" && ds != d.id {
		return fmt.Errorf("the event's dataschema %q is not %s's schema %q", ds, what, d.id)
	}
	if ct := ev.DataContentType(); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") && mt != "text/json" {
			return fmt.Errorf("%s takes JSON data (it declares a data schema), not %s", what, ct)
		}
	}
	data := ev.Data()
	if len(data) == 0 {
		data = []byte("null")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("data is not JSON, and %s declares a data schema: %v", what, err)
	}
	if err := d.sch.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("data does not match %s's schema: %s", what, schemaReason(ve))
		}
		return fmt.Errorf("data does not match %s's schema: %v", what, err)
	}
	return nil
}

// schemaReason renders a validation error as its failing paths and
// reasons, one per leaf, without the schema URL header line.
func schemaReason(ve *jsonschema.ValidationError) string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			path := "/" + strings.Join(e.InstanceLocation, "/")
			out = append(out, fmt.Sprintf("at %s: %s", path, e.ErrorKind.LocalizedString(printer)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(out) > 8 {
		out = append(out[:8], fmt.Sprintf("and %d more", len(out)-8))
	}
	return strings.Join(out, "; ")
}

// setTriggerSchemas replaces the data schemas of the triggers by name.
func (c *Catalog) setTriggerSchemas(m map[string]*dataSchema) {
	c.triggerSchemas.Store(&m)
}

// triggerSchema returns trigger's data schema, nil for none.
func (c *Catalog) triggerSchema(trigger string) *dataSchema {
	if trigger == "" {
		return nil
	}
	m := c.triggerSchemas.Load()
	if m == nil {
		return nil
	}
	return (*m)[trigger]
}
