package store

import (
	"context"
	"encoding/json"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
)

const (
	// PropertyChangedType is the CloudEvents type of a property-changed event
	// (abi/README.md §4 `props`).
	PropertyChangedType = "wasmfaas.property.changed"
	// ExtPropertyName is the extension that carries the changed property's
	// name, so triggers can filter on it without reading the data.
	ExtPropertyName = "propertyname"
	// DefaultSource is the source of a property-changed event when the
	// caller of Change.Event gives none.
	DefaultSource = "wasmfaas/store"
)

// Notifier receives every committed property change (set or delete). A
// backend calls it after the change is durable and outside its locks, so a
// Notifier may call back into the store; it must not retain c's slices past
// the call if it modifies them.
type Notifier func(ctx context.Context, c Change)

// changedData is the data of a property-changed event. Nil old or new values
// marshal as JSON null.
type changedData struct {
	PropertyName string          `json:"property_name"`
	OldValue     json.RawMessage `json:"old_value"`
	Value        json.RawMessage `json:"value"`
}

// Event returns the property-changed CloudEvent for c: a fresh UUID id, type
// PropertyChangedType, the given source (DefaultSource if empty), subject
// c.Subject, time now (UTC), JSON data
// {"property_name": …, "old_value": …, "value": …} with the old and new values
// embedded as they were stored (null when absent), the propertyname extension,
// and every extended property of the subject copied as an extension.
//
// An extended property whose name is a CloudEvents context attribute (id,
// source, type, …) or ExtPropertyName is not copied: it would overwrite an
// attribute this event must carry.
func (c Change) Event(source string, extended map[string]string) cloudevents.Event {
	if source == "" {
		source = DefaultSource
	}
	e := cloudevents.NewEvent(cloudevents.VersionV1)
	e.SetID(uuid.NewString())
	e.SetType(PropertyChangedType)
	e.SetSource(source)
	e.SetSubject(c.Subject)
	e.SetTime(time.Now().UTC())
	for name, value := range extended {
		if reservedExt(name) {
			continue
		}
		e.SetExtension(name, value)
	}
	e.SetExtension(ExtPropertyName, c.Name)

	// The values were checked as valid JSON when they were stored, and
	// RawMessage embeds them verbatim, so Marshal cannot fail here.
	data, err := json.Marshal(changedData{PropertyName: c.Name, OldValue: orNull(c.Old), Value: orNull(c.New)})
	if err != nil {
		panic("store: marshal property-changed data: " + err.Error())
	}
	// Setting DataEncoded directly keeps the data as JSON; SetData with a
	// []byte would mark it base64 for the structured encoding.
	e.SetDataContentType(cloudevents.ApplicationJSON)
	e.DataEncoded = data
	return e
}

// orNull maps an empty value to nil, which marshals as null; an empty
// non-nil RawMessage would make Marshal fail.
func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return nil
	}
	return v
}

// reservedExt reports whether name may not be used as an extension of a
// property-changed event.
func reservedExt(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "subject", "time",
		"datacontenttype", "dataschema", "data", "data_base64", ExtPropertyName:
		return true
	}
	return false
}
