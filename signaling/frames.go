package signaling

import (
	"errors"
	"fmt"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// ErrMalformedFrame is wrapped by every frame-decoding error.
var ErrMalformedFrame = errors.New("malformed signal request")

var jsonIn = protojson.UnmarshalOptions{DiscardUnknown: true}

// decodeRequest parses one WebSocket frame: binary protobuf (what the SDKs
// send) or protojson text (accepted, as LiveKit's server does).
func decodeRequest(msgType int, data []byte) (*livekit.SignalRequest, error) {
	req := &livekit.SignalRequest{}
	switch msgType {
	case websocket.BinaryMessage:
		if err := proto.Unmarshal(data, req); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedFrame, err)
		}
	case websocket.TextMessage:
		if err := jsonIn.Unmarshal(data, req); err != nil {
			return nil, fmt.Errorf("%w: not a SignalRequest in JSON: %v", ErrMalformedFrame, err)
		}
	default:
		return nil, fmt.Errorf("%w: unexpected frame type %d", ErrMalformedFrame, msgType)
	}
	if req.Message == nil {
		return nil, fmt.Errorf("%w: empty message", ErrMalformedFrame)
	}
	return req, nil
}

// encodeResponse serializes a response in the client's framing.
func encodeResponse(msg *livekit.SignalResponse, asJSON bool) (int, []byte, error) {
	if asJSON {
		b, err := protojson.Marshal(msg)
		return websocket.TextMessage, b, err
	}
	b, err := proto.Marshal(msg)
	return websocket.BinaryMessage, b, err
}
