package client

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fakeServer is the least of a LiveKit server that exercises the client: it
// joins everyone as the identity in the token, announces a participant
// "bob", offers the subscriber PeerConnection with the two data channels,
// answers publisher offers, loops every published track back as bob's TR_1,
// and echoes data packets on the subscriber's _reliable channel.
type fakeServer struct {
	t        *testing.T
	srv      *httptest.Server
	silent   bool // never send join
	gotLeave chan struct{}
	rawText  atomic.Int32

	mu    sync.Mutex
	conns []*fakeConn
}

type fakeConn struct {
	f       *fakeServer
	ws      *websocket.Conn
	wmu     sync.Mutex
	pub     *webrtc.PeerConnection
	sub     *webrtc.PeerConnection
	offerID uint32
	turn    chan struct{} // one subscriber offer outstanding at a time
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{t: t, gotLeave: make(chan struct{}, 4)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeServer) URL() string { return f.srv.URL }

func (f *fakeServer) Close() {
	f.mu.Lock()
	for _, c := range f.conns {
		c.ws.Close()
	}
	f.mu.Unlock()
	f.srv.Close()
}

func (f *fakeServer) sendLeave(reason livekit.DisconnectReason) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{Reason: reason}}})
	}
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &fakeConn{f: f, ws: ws, turn: make(chan struct{}, 1)}
	c.turn <- struct{}{}
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	defer ws.Close()
	if f.silent {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}
	c.run(r.URL.Query().Get("access_token"))
}

func (c *fakeConn) send(res *livekit.SignalResponse) {
	b, _ := proto.Marshal(res)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.WriteMessage(websocket.BinaryMessage, b)
}

func (c *fakeConn) trickle(target livekit.SignalTarget) func(*webrtc.ICECandidate) {
	return func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		b, _ := json.Marshal(cand.ToJSON())
		c.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Trickle{Trickle: &livekit.TrickleRequest{
			CandidateInit: string(b), Target: target,
		}}})
	}
}

func (c *fakeConn) offerSub() {
	<-c.turn
	c.offerID++
	offer, err := c.sub.CreateOffer(nil)
	if err == nil {
		err = c.sub.SetLocalDescription(offer)
	}
	if err != nil {
		c.f.t.Errorf("fake: subscriber offer: %v", err)
		return
	}
	c.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{Offer: &livekit.SessionDescription{
		Type: "offer", Sdp: offer.SDP, Id: c.offerID,
	}}})
}

func (c *fakeConn) run(identity string) {
	t := c.f.t
	me := &webrtc.MediaEngine{}
	me.RegisterDefaultCodecs()
	se := webrtc.SettingEngine{}
	loopbackOnly(&se)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	var err error
	if c.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Error(err)
		return
	}
	defer c.pub.GracefulClose()
	if c.sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Error(err)
		return
	}
	defer c.sub.GracefulClose()
	c.pub.OnICECandidate(c.trickle(livekit.SignalTarget_PUBLISHER))
	c.sub.OnICECandidate(c.trickle(livekit.SignalTarget_SUBSCRIBER))

	c.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Join{Join: &livekit.JoinResponse{
		Participant:       &livekit.ParticipantInfo{Sid: "PA_" + identity, Identity: identity, State: livekit.ParticipantInfo_JOINED},
		OtherParticipants: []*livekit.ParticipantInfo{{Sid: "PA_bob", Identity: "bob", State: livekit.ParticipantInfo_ACTIVE}},
		ServerVersion:     "1.9.0",
		SubscriberPrimary: true,
		PingInterval:      5,
		PingTimeout:       15,
	}}})

	rel, _ := c.sub.CreateDataChannel("_reliable", nil)
	ordered, zero := false, uint16(0)
	c.sub.CreateDataChannel("_lossy", &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &zero})
	c.pub.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { rel.Send(m.Data) })
	})
	c.pub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		local, err := webrtc.NewTrackLocalStaticRTP(tr.Codec().RTPCodecCapability, "TR_1", "PA_bob|TR_1")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := c.sub.AddTrack(local); err != nil {
			t.Error(err)
			return
		}
		c.offerSub()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			local.WriteRTP(p)
		}
	})
	c.offerSub()

	for {
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.BinaryMessage {
			c.f.rawText.Add(1)
			continue
		}
		var req livekit.SignalRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("fake: bad request: %v", err)
			return
		}
		switch m := req.Message.(type) {
		case *livekit.SignalRequest_Answer:
			if m.Answer.GetId() != c.offerID {
				t.Errorf("fake: answer id %d, want %d", m.Answer.GetId(), c.offerID)
			}
			if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.Answer.GetSdp()}); err != nil {
				t.Errorf("fake: %v", err)
			}
			c.turn <- struct{}{}
		case *livekit.SignalRequest_Offer:
			if err := c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.Offer.GetSdp()}); err != nil {
				t.Errorf("fake: %v", err)
				return
			}
			ans, _ := c.pub.CreateAnswer(nil)
			c.pub.SetLocalDescription(ans)
			c.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Answer{Answer: &livekit.SessionDescription{
				Type: "answer", Sdp: ans.SDP, Id: m.Offer.GetId(),
			}}})
		case *livekit.SignalRequest_Trickle:
			var init webrtc.ICECandidateInit
			if err := json.Unmarshal([]byte(m.Trickle.GetCandidateInit()), &init); err != nil {
				t.Errorf("fake: bad candidate %q", m.Trickle.GetCandidateInit())
				continue
			}
			pc := c.pub
			if m.Trickle.GetTarget() == livekit.SignalTarget_SUBSCRIBER {
				pc = c.sub
			}
			if err := pc.AddICECandidate(init); err != nil {
				t.Errorf("fake: candidate for %s: %v", m.Trickle.GetTarget(), err)
			}
		case *livekit.SignalRequest_AddTrack:
			c.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackPublished{TrackPublished: &livekit.TrackPublishedResponse{
				Cid: m.AddTrack.GetCid(), Track: &livekit.TrackInfo{Sid: "TR_1", Type: m.AddTrack.GetType(), Name: m.AddTrack.GetName()},
			}}})
		case *livekit.SignalRequest_PingReq:
			c.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_PongResp{PongResp: &livekit.Pong{
				LastPingTimestamp: m.PingReq.GetTimestamp(),
			}}})
		case *livekit.SignalRequest_Leave:
			c.f.gotLeave <- struct{}{}
			return
		}
	}
}
