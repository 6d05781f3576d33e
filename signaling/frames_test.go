package signaling

import (
	"errors"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// seedRequests are requests the SDKs really send, one of each kind the
// server handles.
func seedRequests() []*livekit.SignalRequest {
	return []*livekit.SignalRequest{
		{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", Id: 3}}},
		{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: "v=0\r\n", Id: 1}}},
		{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{
			CandidateInit: `{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0}`,
			Target:        livekit.SignalTarget_SUBSCRIBER,
		}}},
		{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
			Cid: "TR_cam", Name: "camera", Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_CAMERA, Width: 1280, Height: 720,
			Layers:          []*livekit.VideoLayer{{Quality: livekit.VideoQuality_LOW, Width: 320, Height: 180, Rid: "q"}},
			SimulcastCodecs: []*livekit.SimulcastCodec{{Codec: "vp8", Cid: "TR_cam"}},
		}}},
		{Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{Sid: "TR_x", Muted: true}}},
		{Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{
			TrackSids: []string{"TR_x"}, Subscribe: true,
			ParticipantTracks: []*livekit.ParticipantTracks{{ParticipantSid: "PA_y", TrackSids: []string{"TR_x"}}},
		}}},
		{Message: &livekit.SignalRequest_TrackSetting{TrackSetting: &livekit.UpdateTrackSettings{TrackSids: []string{"TR_x"}, Width: 320, Height: 180}}},
		{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT}}},
		{Message: &livekit.SignalRequest_Ping{Ping: 1700000000000}},
		{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 1700000000000, Rtt: 12}}},
		{Message: &livekit.SignalRequest_UpdateMetadata{UpdateMetadata: &livekit.UpdateParticipantMetadata{
			Name: "王老师", Metadata: `{"hand":"up"}`, Attributes: map[string]string{"role": "teacher", "b": ""},
		}}},
	}
}

// FuzzDecodeRequest: decodeRequest never panics; it either fails with
// ErrMalformedFrame or returns a request with a message, which re-encodes
// (in the frame's own framing and in binary) and decodes to the same request.
func FuzzDecodeRequest(f *testing.F) {
	for _, req := range seedRequests() {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(websocket.BinaryMessage, b)
		j, err := protojson.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(websocket.TextMessage, j)
	}
	f.Add(websocket.BinaryMessage, []byte{})
	f.Add(websocket.BinaryMessage, []byte{0x0f, 0xde, 0xad})                   // wire type 7
	f.Add(websocket.BinaryMessage, []byte{0xf8, 0x3f, 0x01})                   // an unknown field only
	f.Add(websocket.BinaryMessage, []byte{0x42, 0x05, 0x0a, 0x03, 0xff, 0xfe}) // invalid UTF-8 in a string
	f.Add(websocket.TextMessage, []byte(`{"offer": {"type": "offer", "sdp": 12`))
	f.Add(websocket.TextMessage, []byte(`{"ping": "12", "unknown": [1, {}]}`))
	f.Add(websocket.TextMessage, []byte(`{}`))
	f.Add(websocket.TextMessage, []byte(`null`))
	f.Add(websocket.PingMessage, []byte("x"))
	f.Add(websocket.CloseMessage, []byte{0x03, 0xe8})

	f.Fuzz(func(t *testing.T, msgType int, data []byte) {
		req, err := decodeRequest(msgType, data)
		if err != nil {
			if !errors.Is(err, ErrMalformedFrame) {
				t.Fatalf("error %v does not wrap ErrMalformedFrame", err)
			}
			if req != nil {
				t.Fatalf("a request (%v) with the error %v", req, err)
			}
			return
		}
		if req == nil || req.Message == nil {
			t.Fatalf("no error and no message: %v", req)
		}
		det := proto.MarshalOptions{Deterministic: true}
		bin, err := det.Marshal(req)
		if err != nil {
			t.Fatalf("decoded request does not re-encode: %v", err)
		}
		again, err := decodeRequest(websocket.BinaryMessage, bin)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if bin2, err := det.Marshal(again); err != nil || string(bin2) != string(bin) {
			t.Fatalf("binary round trip changed the request: %x → %x (%v)", bin, bin2, err)
		}
		if msgType == websocket.TextMessage {
			j, err := protojson.Marshal(req)
			if err != nil {
				t.Fatalf("decoded JSON request does not re-encode as JSON: %v", err)
			}
			fromJSON, err := decodeRequest(websocket.TextMessage, j)
			if err != nil {
				t.Fatalf("re-encoded JSON %s does not decode: %v", j, err)
			}
			if bin3, err := det.Marshal(fromJSON); err != nil || string(bin3) != string(bin) {
				t.Fatalf("JSON round trip changed the request: %s", j)
			}
		}
	})
}

// TestDecodeRequestFraming: binary and JSON frames decode to the same
// request; other frame types, garbage and empty requests are refused.
func TestDecodeRequestFraming(t *testing.T) {
	for _, want := range seedRequests() {
		b, _ := proto.Marshal(want)
		j, _ := protojson.Marshal(want)
		for _, tc := range []struct {
			typ  int
			data []byte
		}{{websocket.BinaryMessage, b}, {websocket.TextMessage, j}} {
			got, err := decodeRequest(tc.typ, tc.data)
			if err != nil {
				t.Errorf("decodeRequest(%d, %s): %v", tc.typ, tc.data, err)
				continue
			}
			if !proto.Equal(got, want) {
				t.Errorf("decodeRequest(%d) = %v, want %v", tc.typ, got, want)
			}
		}
	}
	for _, tc := range []struct {
		name string
		typ  int
		data []byte
	}{
		{"empty binary", websocket.BinaryMessage, nil},
		{"unknown fields only", websocket.BinaryMessage, []byte{0xf8, 0x3f, 0x01}},
		{"bad wire type", websocket.BinaryMessage, []byte{0x0f, 0x00}},
		{"JSON garbage", websocket.TextMessage, []byte(`{"offer":`)},
		{"empty JSON object", websocket.TextMessage, []byte(`{}`)},
		{"ping frame", websocket.PingMessage, []byte{}},
	} {
		if req, err := decodeRequest(tc.typ, tc.data); !errors.Is(err, ErrMalformedFrame) {
			t.Errorf("%s: decodeRequest = %v, %v; want ErrMalformedFrame", tc.name, req, err)
		}
	}
}
