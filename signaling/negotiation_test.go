package signaling

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"yunke/sfu"
)

// A client that never answers the server's offer is asked to reconnect,
// rather than left with a subscriber connection that can never change.
func TestUnansweredOfferAsksClientToReconnect(t *testing.T) {
	api, err := sfu.NewAPI(sfu.EngineParams{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Params{API: api, Keys: Keys{"key": "secret-secret"}, NegotiationTimeout: 300 * time.Millisecond})
	mux := http.NewServeMux()
	svc.Register(mux)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer svc.Close()

	g := &auth.VideoGrant{RoomJoin: true, Room: "r"}
	tok, err := auth.NewAccessToken("key", "secret-secret").SetIdentity("mute-client").SetVideoGrant(g).SetValidFor(time.Minute).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(hs.URL, "http", "ws", 1)+"/rtc?access_token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var sawOffer bool
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("no leave before the connection ended: %v", err)
		}
		var res livekit.SignalResponse
		if err := proto.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		if res.GetOffer() != nil {
			sawOffer = true // and never answered
		}
		if l := res.GetLeave(); l != nil {
			if !sawOffer {
				t.Fatal("leave before any offer")
			}
			if l.GetAction() != livekit.LeaveRequest_RECONNECT {
				t.Fatalf("leave action %v, want RECONNECT", l.GetAction())
			}
			return
		}
	}
}
