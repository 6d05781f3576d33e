package signaling

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"yunke/signaling/client"
)

// updateLog records what a client heard about one identity.
type updateLog struct {
	mu    sync.Mutex
	infos []*livekit.ParticipantInfo
	gone  chan struct{}
	once  sync.Once
}

func newUpdateLog() *updateLog { return &updateLog{gone: make(chan struct{})} }

func (u *updateLog) onSignal(identity string) func(*livekit.SignalResponse) {
	return func(res *livekit.SignalResponse) {
		for _, p := range res.GetUpdate().GetParticipants() {
			if p.GetIdentity() != identity {
				continue
			}
			u.mu.Lock()
			u.infos = append(u.infos, p)
			u.mu.Unlock()
			if p.GetState() == livekit.ParticipantInfo_DISCONNECTED {
				u.once.Do(func() { close(u.gone) })
			}
		}
	}
}

// disconnects lists the DISCONNECTED updates heard.
func (u *updateLog) disconnects() []*livekit.ParticipantInfo {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*livekit.ParticipantInfo
	for _, p := range u.infos {
		if p.GetState() == livekit.ParticipantInfo_DISCONNECTED {
			out = append(out, p)
		}
	}
	return out
}

// joinRaw opens /rtc for tok on a bare WebSocket and returns its join.
func joinRaw(t *testing.T, url, tok string) (*websocket.Conn, *livekit.JoinResponse) {
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
	res, err := readSignal(ws)
	if err != nil || res.GetJoin() == nil {
		t.Fatalf("no join: %v %v", res, err)
	}
	return ws, res.GetJoin()
}

// resumeRaw dials /rtc with reconnect=1&sid=sid and returns the socket.
func resumeRaw(t *testing.T, url, tok, sid string) *websocket.Conn {
	t.Helper()
	u, err := client.RTCURL(url, tok, false, true)
	if err != nil {
		t.Fatal(err)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u+"&reconnect=1&reconnect_reason=1&sid="+sid, nil)
	if err != nil {
		t.Fatalf("dial resume: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	return ws
}

// cut drops a WebSocket the way a lost network does: no leave, no close frame.
func cut(ws *websocket.Conn) { _ = ws.UnderlyingConn().Close() }

// watchStudent connects a teacher that records what it hears of "student".
func watchStudent(t *testing.T, ctx context.Context, url, room string) (*client.Client, *updateLog) {
	t.Helper()
	log := newUpdateLog()
	c, err := client.Connect(ctx, client.Options{URL: url, Token: grantToken(t, "teacher", teacherGrant(room)),
		SettingEngine: connectSettings, OnSignal: log.onSignal("student")})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, log
}

func TestResumeKeepsTheParticipant(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, url := startService(t, Params{ResumeGrace: 10 * time.Second})
	teacher, heard := watchStudent(t, ctx, url, "r")
	tok := grantToken(t, "student", studentGrant("r"))
	ws, join := joinRaw(t, url, tok)
	if got := join.GetClientConfiguration().GetResumeConnection(); got != livekit.ClientConfigSetting_ENABLED {
		t.Fatalf("join says resume is %v; the SDKs would rejoin instead of resuming", got)
	}
	sid := join.GetParticipant().GetSid()
	if _, err := teacher.WaitParticipant(ctx, "student", nil); err != nil {
		t.Fatal(err)
	}

	cut(ws)
	ws2 := resumeRaw(t, url, tok, sid)
	res, err := readSignal(ws2)
	if err != nil || res.GetReconnect() == nil {
		t.Fatalf("first message of a resume: %v %v, want a reconnect response", res, err)
	}
	if res.GetReconnect().GetClientConfiguration().GetResumeConnection() != livekit.ClientConfigSetting_ENABLED {
		t.Error("the reconnect response does not keep resume enabled")
	}
	// The subscriber offer the student never answered comes again on the
	// new socket, and the session answers pings there.
	var offered bool
	for _, m := range pingPong(t, ws2) {
		offered = offered || m.GetOffer() != nil
	}
	if !offered {
		t.Error("the unanswered subscriber offer was not sent again after the resume")
	}
	if p, err := teacher.WaitParticipant(ctx, "student", nil); err != nil || p.GetSid() != sid {
		t.Fatalf("after the resume the teacher sees %v (%v), want the same participant %s", p, err, sid)
	}

	// Leaving for real is the only departure the teacher ever hears of.
	sendSignal(t, ws2, &livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
		Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT}}})
	select {
	case <-heard.gone:
	case <-ctx.Done():
		t.Fatal("the teacher never heard the student leave")
	}
	d := heard.disconnects()
	if len(d) != 1 || d[0].GetDisconnectReason() != livekit.DisconnectReason_CLIENT_INITIATED || d[0].GetSid() != sid {
		t.Fatalf("the teacher heard these departures: %v; want only the student's own leave", d)
	}
}

func TestResumeOnlyBySameIdentityAndSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, url := startService(t, Params{ResumeGrace: 10 * time.Second})
	teacher, heard := watchStudent(t, ctx, url, "r")
	ws, join := joinRaw(t, url, grantToken(t, "student", studentGrant("r")))
	sid := join.GetParticipant().GetSid()
	if _, err := teacher.WaitParticipant(ctx, "student", nil); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"another identity":        grantToken(t, "mallory", studentGrant("r")),
		"same identity, new room": grantToken(t, "student", studentGrant("other")),
	} {
		ws2 := resumeRaw(t, url, tok, sid)
		res, err := readSignal(ws2)
		if err != nil || res.GetLeave().GetAction() != livekit.LeaveRequest_RECONNECT {
			t.Errorf("%s resuming %s: got %v (%v), want a leave telling it to rejoin", name, sid, res, err)
		}
	}
	// A wrong sid of the right identity is not that session either.
	ws3 := resumeRaw(t, url, grantToken(t, "student", studentGrant("r")), "PA_notthisone")
	if res, err := readSignal(ws3); err != nil || res.GetLeave() == nil {
		t.Errorf("resume of an unknown sid: %v (%v), want a leave", res, err)
	}
	// An expired token resumes nothing (the upgrade is refused).
	u, _ := client.RTCURL(url, "not-a-token", false, true)
	if _, resp, err := websocket.DefaultDialer.Dial(u+"&reconnect=1&sid="+sid, nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("resume with a bad token: %v, want HTTP 401", err)
	}
	// The real session is untouched.
	pingPong(t, ws)
	if len(heard.disconnects()) != 0 {
		t.Fatalf("the student was disconnected by others' resume attempts: %v", heard.disconnects())
	}
}

func TestResumeGraceEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, url := startService(t, Params{ResumeGrace: 300 * time.Millisecond})
	teacher, heard := watchStudent(t, ctx, url, "r")
	ws, _ := joinRaw(t, url, grantToken(t, "student", studentGrant("r")))
	if _, err := teacher.WaitParticipant(ctx, "student", nil); err != nil {
		t.Fatal(err)
	}
	cut(ws)
	select {
	case <-heard.gone:
	case <-ctx.Done():
		t.Fatal("a participant that never resumed was kept")
	}
	if d := heard.disconnects(); d[0].GetDisconnectReason() != livekit.DisconnectReason_SIGNAL_CLOSE {
		t.Errorf("departure reason %v, want SIGNAL_CLOSE", d[0].GetDisconnectReason())
	}
}

func TestResumeDisabled(t *testing.T) {
	_, url := startService(t, Params{ResumeGrace: -1})
	_, join := joinRaw(t, url, grantToken(t, "student", studentGrant("r")))
	if got := join.GetClientConfiguration().GetResumeConnection(); got != livekit.ClientConfigSetting_DISABLED {
		t.Fatalf("resume disabled, but the join says %v", got)
	}
}

// fixedICE hands every participant a TURN URL naming it.
type fixedICE struct{}

func (fixedICE) ICEServers(identity Identity) []*livekit.ICEServer {
	return []*livekit.ICEServer{{Urls: []string{"turn:turn.example:3478?transport=tcp"}, Username: "exp:" + string(identity), Credential: "c"}}
}

func TestICEServersInJoinAndReconnect(t *testing.T) {
	_, url := startService(t, Params{ICEServers: fixedICE{}})
	tok := grantToken(t, "student", studentGrant("r"))
	ws, join := joinRaw(t, url, tok)
	if s := join.GetIceServers(); len(s) != 1 || s[0].GetUsername() != "exp:student" {
		t.Fatalf("join ICE servers %v, want the participant's own TURN credential", s)
	}
	cut(ws)
	res, err := readSignal(resumeRaw(t, url, tok, join.GetParticipant().GetSid()))
	if err != nil || len(res.GetReconnect().GetIceServers()) != 1 || res.GetReconnect().GetIceServers()[0].GetUsername() != "exp:student" {
		t.Fatalf("reconnect response %v (%v), want fresh ICE servers", res, err)
	}
}

// v1URL is the /rtc/v1 URL of a join (or, with sid, a resume) request.
func v1URL(t *testing.T, base, tok, sid string) string {
	t.Helper()
	jr := &livekit.JoinRequest{
		ClientInfo:         &livekit.ClientInfo{Sdk: livekit.ClientInfo_JS, Protocol: 17},
		ConnectionSettings: &livekit.ConnectionSettings{AutoSubscribe: true},
		Reconnect:          sid != "",
		ParticipantSid:     sid,
	}
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	b, _ := proto.Marshal(jr)
	zw.Write(b)
	zw.Close()
	w, _ := proto.Marshal(&livekit.WrappedJoinRequest{Compression: livekit.WrappedJoinRequest_GZIP, JoinRequest: body.Bytes()})
	return "ws" + strings.TrimPrefix(base, "http") + "/rtc/v1?access_token=" + tok + "&join_request=" + base64.URLEncoding.EncodeToString(w)
}

func dialRaw(t *testing.T, u string) *websocket.Conn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	return ws
}

func TestResumeOnV1(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, url := startService(t, Params{ResumeGrace: 10 * time.Second})
	teacher, heard := watchStudent(t, ctx, url, "r")
	tok := grantToken(t, "student", studentGrant("r"))
	ws := dialRaw(t, v1URL(t, url, tok, ""))
	res, err := readSignal(ws)
	join := res.GetJoin()
	if err != nil || join == nil {
		t.Fatalf("no join on /rtc/v1: %v %v", res, err)
	}
	if join.GetSubscriberPrimary() {
		t.Error("a single-PeerConnection join says subscriber_primary")
	}
	sid := join.GetParticipant().GetSid()
	if _, err := teacher.WaitParticipant(ctx, "student", nil); err != nil {
		t.Fatal(err)
	}

	cut(ws)
	ws2 := dialRaw(t, v1URL(t, url, tok, sid))
	if res, err := readSignal(ws2); err != nil || res.GetReconnect() == nil {
		t.Fatalf("first message of a /rtc/v1 resume: %v %v, want a reconnect response", res, err)
	}
	pingPong(t, ws2)
	// Another identity cannot take the session over /rtc/v1 either.
	ws3 := dialRaw(t, v1URL(t, url, grantToken(t, "mallory", studentGrant("r")), sid))
	if res, err := readSignal(ws3); err != nil || res.GetLeave().GetAction() != livekit.LeaveRequest_RECONNECT {
		t.Errorf("another identity resuming over /rtc/v1: %v (%v), want a leave", res, err)
	}
	sendSignal(t, ws2, &livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
		Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT}}})
	select {
	case <-heard.gone:
	case <-ctx.Done():
		t.Fatal("the teacher never heard the student leave")
	}
	if d := heard.disconnects(); len(d) != 1 || d[0].GetDisconnectReason() != livekit.DisconnectReason_CLIENT_INITIATED || d[0].GetSid() != sid {
		t.Fatalf("the teacher heard these departures: %v; want only the student's own leave", d)
	}
}

func TestV1RefusesABadJoinRequest(t *testing.T) {
	_, url := startService(t, Params{})
	tok := grantToken(t, "student", studentGrant("r"))
	u := "ws" + strings.TrimPrefix(url, "http") + "/rtc/v1?access_token=" + tok + "&join_request=%21%21"
	if _, resp, err := websocket.DefaultDialer.Dial(u, nil); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("a malformed join_request: %v, want HTTP 400", err)
	}
}

// A client silent on signaling past the ping timeout (its pings stuck
// behind video on a congested link) stays while its media flows; one with
// no media is disconnected.
func TestSilentSignalingKeptWhileMediaFlows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The clients ping at the interval the join names: an hour, never here.
	_, url := startService(t, Params{PingInterval: time.Hour, PingTimeout: time.Second, ResumeGrace: -1})
	heard := newUpdateLog()
	teacher, err := client.Connect(ctx, client.Options{URL: url, Token: grantToken(t, "teacher", teacherGrant("r")),
		SettingEngine: connectSettings, OnSignal: heard.onSignal("student")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { teacher.Close() })
	if err := teacher.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// The student has no media; it goes silent too, after the teacher did.
	joinRaw(t, url, grantToken(t, "student", studentGrant("r")))
	select {
	case <-heard.gone:
	case <-ctx.Done():
		t.Fatal("a client silent past the ping timeout, without media, was kept")
	}
	if d := heard.disconnects(); d[0].GetDisconnectReason() != livekit.DisconnectReason_CONNECTION_TIMEOUT {
		t.Errorf("the silent student left with %v, want CONNECTION_TIMEOUT", d[0].GetDisconnectReason())
	}
	// The teacher, silent for longer, is still in session.
	if teacher.Err() != nil {
		t.Fatalf("the teacher, whose media flows, was disconnected: %v (%v)", teacher.Err(), teacher.LeaveReason())
	}
	if _, err := teacher.Ping(ctx); err != nil {
		t.Fatalf("the teacher's session does not answer: %v", err)
	}
}
