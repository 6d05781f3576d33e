// Package events carries application events (tutoring offers, queue
// positions, session notices) to users' browsers over one WebSocket per
// tab at /api/v1/ws, whichever node the browser is connected to.
//
// A Hub holds this node's sockets; a Bus moves events between nodes: Local
// for a single node, Redis (pub/sub) for several. Events are notices, not
// the record: a client that reconnects asks for the current state again,
// so an event lost while Redis restarts costs nothing but a refresh.
package events

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// UserID is the recipient of an event (a storage user id).
type UserID int64

// Event is one JSON message, {"type": ..., ...fields}.
type Event struct {
	Type string
	Data any // marshalled into the same object as type
}

// MarshalJSON writes {"type": Type} merged with Data's fields.
func (e Event) MarshalJSON() ([]byte, error) {
	if e.Data == nil {
		return json.Marshal(map[string]string{"type": e.Type})
	}
	raw, err := json.Marshal(e.Data)
	if err != nil {
		return nil, fmt.Errorf("events: %s: %w", e.Type, err)
	}
	if len(raw) < 2 || raw[0] != '{' {
		return nil, fmt.Errorf("events: %s: data must be a JSON object", e.Type)
	}
	typ, _ := json.Marshal(e.Type)
	out := make([]byte, 0, len(raw)+len(typ)+10)
	out = append(out, `{"type":`...)
	out = append(out, typ...)
	if len(raw) > 2 {
		out = append(out, ',')
		out = append(out, raw[1:]...)
	} else {
		out = append(out, '}')
	}
	return out, nil
}

// Message is one event from a client: its type and the raw object.
type Message struct {
	Type string          `json:"type"`
	Raw  json.RawMessage `json:"-"`
}

// ParseMessage reads a client frame; it must be a JSON object with a
// non-empty string "type".
func ParseMessage(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("events: frame is not a JSON object with a type: %w", err)
	}
	if m.Type == "" || len(m.Type) > 64 {
		return Message{}, fmt.Errorf("events: frame has no type")
	}
	m.Raw = append(json.RawMessage(nil), b...)
	return m, nil
}

// Decode unmarshals the message's fields into v, rejecting unknown fields
// except "type".
func (m Message) Decode(v any) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(m.Raw, &fields); err != nil {
		return err
	}
	delete(fields, "type")
	rest, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("events: %s: %w", m.Type, err)
	}
	return nil
}
