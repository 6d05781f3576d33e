package signaling

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"yunke/sfu"
	"yunke/signaling/client"
)

const (
	testKey    = "key"
	testSecret = "secret-secret"
)

// startService serves a Service with p (API and keys filled in) on a
// loopback port; both are closed when the test ends.
func startService(t *testing.T, p Params) (*Service, string) {
	t.Helper()
	api, err := sfu.NewAPI(sfu.EngineParams{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	p.API = api
	p.Keys = Keys{testKey: testSecret}
	svc := New(p)
	mux := http.NewServeMux()
	svc.Register(mux)
	svc.RegisterRoomService(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	t.Cleanup(svc.Close) // runs first: sessions end before the listener goes
	return svc, hs.URL
}

// grantToken signs a token for identity with g.
func grantToken(t *testing.T, identity string, g *auth.VideoGrant) string {
	t.Helper()
	tok, err := auth.NewAccessToken(testKey, testSecret).SetIdentity(identity).SetVideoGrant(g).SetValidFor(time.Minute).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// studentGrant may join room, subscribe and send data, but neither publish
// nor administer (and so not create rooms).
func studentGrant(room string) *auth.VideoGrant {
	g := &auth.VideoGrant{RoomJoin: true, Room: room}
	g.SetCanPublish(false)
	g.SetCanSubscribe(true)
	g.SetCanPublishData(true)
	return g
}

// peerGrant may also publish, like either side of a tutoring session.
func peerGrant(room string) *auth.VideoGrant {
	g := studentGrant(room)
	g.SetCanPublish(true)
	return g
}

// teacherGrant administers room.
func teacherGrant(room string) *auth.VideoGrant {
	g := peerGrant(room)
	g.RoomAdmin = true
	return g
}

// rawJoin opens /rtc with tok on a bare WebSocket and reads the join.
func rawJoin(t *testing.T, url, tok string) *websocket.Conn {
	t.Helper()
	u, err := client.RTCURL(url, tok, false, true)
	if err != nil {
		t.Fatal(err)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	if res, err := readSignal(ws); err != nil || res.GetJoin() == nil {
		t.Fatalf("no join: %v %v", res, err)
	}
	return ws
}

// readSignal reads one server message (10 s at most).
func readSignal(ws *websocket.Conn) (*livekit.SignalResponse, error) {
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	res := &livekit.SignalResponse{}
	return res, proto.Unmarshal(b, res)
}

// sendSignal writes one request.
func sendSignal(t *testing.T, ws *websocket.Conn, req *livekit.SignalRequest) {
	t.Helper()
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// pingPong pings and reads up to the pong, returning what came before it.
func pingPong(t *testing.T, ws *websocket.Conn) []*livekit.SignalResponse {
	t.Helper()
	sendSignal(t, ws, &livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: 1}})
	var before []*livekit.SignalResponse
	for {
		res, err := readSignal(ws)
		if err != nil {
			t.Fatalf("waiting for the pong: %v", err)
		}
		if res.GetPong() != 0 {
			return before
		}
		before = append(before, res)
	}
}

// readLeave reads until the server's leave and then the close frame.
func readLeave(t *testing.T, ws *websocket.Conn) (*livekit.LeaveRequest, *websocket.CloseError) {
	t.Helper()
	var leave *livekit.LeaveRequest
	for {
		res, err := readSignal(ws)
		if err != nil {
			var ce *websocket.CloseError
			errors.As(err, &ce)
			return leave, ce
		}
		if l := res.GetLeave(); l != nil {
			leave = l
		}
	}
}

// connect joins with the Go client over loopback UDP; it is closed when the
// test ends.
func connect(t *testing.T, ctx context.Context, url, tok string) *client.Client {
	t.Helper()
	c, err := client.Connect(ctx, client.Options{URL: url, Token: tok, SettingEngine: connectSettings})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connectSettings keep a test client on loopback UDP.
func connectSettings(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
}

// handshakeStatus is the HTTP status a refused connect got, or 0.
func handshakeStatus(err error) (int, string) {
	var he *client.HandshakeError
	if errors.As(err, &he) {
		return he.StatusCode, he.Body
	}
	return 0, ""
}
