package router

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
)

// TestStructuredNotJSON: a structured NATS message whose payload is not one
// JSON value is not an event, whatever sdk-go's reader would make of it.
func TestStructuredNotJSON(t *testing.T) {
	for name, d := range map[string]string{
		"trailing garbage": `{"specversion":"1.0","id":"1","source":"s","type":"t"} garbage`,
		"two objects":      `{"specversion":"1.0","id":"1","source":"s","type":"t"}{}`,
		"bad data":         `{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"a":}}`,
		"cut short":        `{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"a":1}`,
	} {
		m := nats.NewMsg("events.x")
		m.Header.Set("Content-Type", "application/cloudevents+json")
		m.Data = []byte(d)
		_, err := DecodeMsg(m)
		assert.ErrorIs(t, err, ErrInvalidEvent, name)
	}
}
