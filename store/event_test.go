package store_test

import (
	"encoding/json"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/store"
)

func TestChangeEvent(t *testing.T) {
	before := time.Now()
	c := store.Change{Subject: "device/42", Name: "tempc", Old: json.RawMessage(`21.5`), New: json.RawMessage(`{"v": 22}`), Revision: 9}
	e := c.Event("wasmfaas/functions/thermo", map[string]string{"deviceclass": "class-a", "tenant": ""})

	require.NoError(t, e.Validate())
	assert.Equal(t, cloudevents.VersionV1, e.SpecVersion())
	assert.NotEmpty(t, e.ID())
	assert.Equal(t, store.PropertyChangedType, e.Type())
	assert.Equal(t, "wasmfaas/functions/thermo", e.Source())
	assert.Equal(t, "device/42", e.Subject())
	assert.Equal(t, cloudevents.ApplicationJSON, e.DataContentType())
	assert.Equal(t, time.UTC, e.Time().Location())
	assert.WithinRange(t, e.Time(), before.Add(-time.Second), time.Now().Add(time.Second))
	assert.Equal(t, map[string]any{
		store.ExtPropertyName: "tempc",
		"deviceclass":         "class-a",
		"tenant":              "",
	}, e.Extensions())
	assert.JSONEq(t, `{"property_name": "tempc", "old_value": 21.5, "value": {"v": 22}}`, string(e.Data()))

	// The structured encoding embeds the data as JSON, not base64.
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.Equal(t, map[string]any{"property_name": "tempc", "old_value": 21.5, "value": map[string]any{"v": 22.0}}, doc["data"])
	assert.NotContains(t, doc, "data_base64")

	assert.NotEqual(t, e.ID(), c.Event("x", nil).ID(), "every event gets a fresh id")
}

func TestChangeEventNulls(t *testing.T) {
	created := store.Change{Subject: "s", Name: "p", New: json.RawMessage(`"v"`), Revision: 1}.Event("", nil)
	require.NoError(t, created.Validate())
	assert.Equal(t, store.DefaultSource, created.Source())
	assert.JSONEq(t, `{"property_name": "p", "old_value": null, "value": "v"}`, string(created.Data()))

	deleted := store.Change{Subject: "s", Name: "p", Old: json.RawMessage(`"v"`), New: json.RawMessage{}}.Event("src", nil)
	require.NoError(t, deleted.Validate())
	assert.JSONEq(t, `{"property_name": "p", "old_value": "v", "value": null}`, string(deleted.Data()))

	// A property whose old value was JSON null looks like one that did not
	// exist: the data cannot tell them apart (KRules' payload cannot either).
	nulled := store.Change{Subject: "s", Name: "p", Old: json.RawMessage(`null`), New: json.RawMessage(`1`)}.Event("src", nil)
	assert.JSONEq(t, `{"property_name": "p", "old_value": null, "value": 1}`, string(nulled.Data()))
}

func TestChangeEventReservedExtensions(t *testing.T) {
	c := store.Change{Subject: "real", Name: "p", New: json.RawMessage(`1`)}
	e := c.Event("src", map[string]string{
		"subject": "fake", "type": "fake", "id": "fake", "source": "fake", "time": "fake",
		"specversion": "0.3", "datacontenttype": "text/plain", "dataschema": "x", "data": "x",
		"propertyname": "fake", "class": "a",
	})
	require.NoError(t, e.Validate())
	assert.Equal(t, "real", e.Subject())
	assert.Equal(t, store.PropertyChangedType, e.Type())
	assert.Equal(t, "src", e.Source())
	assert.Equal(t, map[string]any{store.ExtPropertyName: "p", "class": "a"}, e.Extensions())
}
