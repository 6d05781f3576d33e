package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestRTCURL(t *testing.T) {
	for _, tc := range []struct {
		base, want    string
		auto, inQuery bool
	}{
		{"http://127.0.0.1:7880", "ws://127.0.0.1:7880/rtc?access_token=T&auto_subscribe=1&protocol=17&sdk=go&version=" + Version, true, true},
		{"https://example.com/", "wss://example.com/rtc?access_token=T&auto_subscribe=0&protocol=17&sdk=go&version=" + Version, false, true},
		{"wss://example.com/lk", "wss://example.com/lk/rtc?auto_subscribe=0&protocol=17&sdk=go&version=" + Version, false, false},
		{"ws://h:1/a/?x=1", "ws://h:1/a/rtc?auto_subscribe=1&protocol=17&sdk=go&version=" + Version + "&x=1", true, false},
	} {
		got, err := RTCURL(tc.base, "T", tc.auto, tc.inQuery)
		if err != nil {
			t.Fatalf("RTCURL(%q): %v", tc.base, err)
		}
		if got != tc.want {
			t.Errorf("RTCURL(%q) = %q, want %q", tc.base, got, tc.want)
		}
	}
	for _, bad := range []string{"ftp://x", "127.0.0.1:7880", "http://", "::"} {
		if _, err := RTCURL(bad, "T", true, true); err == nil {
			t.Errorf("RTCURL(%q) succeeded", bad)
		}
	}
}

func TestParseStreamID(t *testing.T) {
	for _, tc := range []struct{ stream, track, psid, tsid string }{
		{"PA_a|TR_b", "TR_b", "PA_a", "TR_b"},
		{"PA_a|TR_b", "other", "PA_a", "TR_b"},
		{"PA_a", "TR_c", "PA_a", "TR_c"},
		{"", "TR_c", "", "TR_c"},
	} {
		p, tr := ParseStreamID(tc.stream, tc.track)
		if p != tc.psid || tr != tc.tsid {
			t.Errorf("ParseStreamID(%q, %q) = %q, %q; want %q, %q", tc.stream, tc.track, p, tr, tc.psid, tc.tsid)
		}
	}
}

func TestHandshakeRefused(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rtc" || r.URL.Query().Get("access_token") != "bad" || r.URL.Query().Get("protocol") != "17" {
			t.Errorf("unexpected request %s", r.URL)
		}
		http.Error(w, "invalid token", http.StatusUnauthorized)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Connect(ctx, Options{URL: srv.URL, Token: "bad"})
	var he *HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 401 || he.Body != "invalid token" {
		t.Fatalf("Connect error = %v, want a 401 HandshakeError with the body", err)
	}
	srv.CloseClientConnections()
}

func TestJoinTimeout(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeServer(t)
	f.silent = true
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Connect(ctx, Options{URL: f.URL(), Token: "x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect error = %v, want deadline exceeded", err)
	}
	f.Close()
}

func loopbackOnly(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
}

// TestAgainstFake runs the whole client against the fake server: join,
// subscriber offer with data channels, publish, renegotiation of the
// subscriber with our own track looped back, data both ways, ping, leave.
func TestAgainstFake(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeServer(t)
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c, err := Connect(ctx, Options{URL: f.URL(), Token: "alice", AutoSubscribe: true, SettingEngine: loopbackOnly,
		Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.SID() != "PA_alice" || c.Identity() != "alice" {
		t.Fatalf("joined as %s/%s", c.SID(), c.Identity())
	}
	if _, err := c.WaitParticipant(ctx, "bob", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	lt, err := c.PublishTrack(ctx, TrackOptions{MimeType: webrtc.MimeTypeVP8, Name: "cam"})
	if err != nil {
		t.Fatal(err)
	}
	if lt.SID() != "TR_1" {
		t.Fatalf("track sid %q", lt.SID())
	}
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			lt.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
				Payload: []byte{0x10, 0, 0x9d, 0x01, 0x2a, byte(seq >> 8), byte(seq)}})
		}
	}()
	defer func() { close(stop); <-sent }()

	rt, err := c.WaitTrack(ctx, func(rt *RemoteTrack) bool { return rt.Kind() == webrtc.RTPCodecTypeVideo })
	if err != nil {
		t.Fatal(err)
	}
	if rt.ParticipantSID() != "PA_bob" || rt.SID() != "TR_1" || rt.Identity() != "bob" {
		t.Fatalf("remote track %s/%s/%s", rt.ParticipantSID(), rt.SID(), rt.Identity())
	}
	p, err := rt.ReadRTP()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Payload) != 7 || p.Payload[2] != 0x9d {
		t.Fatalf("payload %x", p.Payload)
	}

	if err := c.SendData(ctx, []byte("hello"), DataOptions{Reliable: true, Topic: "chat"}); err != nil {
		t.Fatal(err)
	}
	select {
	case pkt := <-c.Data():
		if string(pkt.GetUser().GetPayload()) != "hello" || pkt.GetUser().GetTopic() != "chat" || pkt.GetParticipantIdentity() != "alice" {
			t.Fatalf("echoed packet %v", pkt)
		}
	case <-ctx.Done():
		t.Fatal("no data echoed")
	}

	f.sendLeave(livekit.DisconnectReason_ROOM_DELETED)
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("leave not noticed")
	}
	if !errors.Is(c.Err(), ErrLeft) || c.LeaveReason() != livekit.DisconnectReason_ROOM_DELETED {
		t.Fatalf("Err %v reason %v", c.Err(), c.LeaveReason())
	}
}

// TestCloseSendsLeave checks that Close says goodbye and leaves no goroutine.
func TestCloseSendsLeave(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeServer(t)
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, Options{URL: f.URL(), Token: "carol", SettingEngine: loopbackOnly})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendRaw(1, []byte("not protobuf")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case <-f.gotLeave:
	case <-ctx.Done():
		t.Fatal("server saw no leave")
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err = %v", c.Err())
	}
	if err := c.Mute("TR_x", true); !errors.Is(err, ErrClosed) {
		t.Fatalf("Mute after Close = %v", err)
	}
	if f.rawText.Load() != 1 {
		t.Fatalf("server saw %d text frames", f.rawText.Load())
	}
}

func TestRTCURLRedact(t *testing.T) {
	u, _ := url.Parse(redactToken("ws://h/rtc?access_token=secret&x=1"))
	if u.Query().Get("access_token") == "secret" {
		t.Fatal("token not redacted")
	}
}
