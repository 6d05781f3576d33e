package signaling

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"

	"yunke/signaling/client"
)

// candidate is a trickle request whose candidate JSON is size bytes long
// (padded in the username fragment).
func candidate(target livekit.SignalTarget, size int) *livekit.SignalRequest {
	init := `{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"%s"}`
	pad := size - len(fmt.Sprintf(init, ""))
	return &livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{
		CandidateInit: fmt.Sprintf(init, strings.Repeat("x", max(pad, 0))), Target: target,
	}}}
}

// TestTrickleLimits: candidates held for a PeerConnection that has no remote
// description yet are bounded in number and bytes, and one candidate in
// size; a client going over is sent a leave (STATE_MISMATCH, no reconnect)
// and a close frame (1008) saying why. Up to the limits, nothing happens.
func TestTrickleLimits(t *testing.T) {
	_, url := startService(t, Params{})
	for _, tc := range []struct {
		name   string
		size   int // of each candidate
		target livekit.SignalTarget
		ok     int // candidates accepted before the one that ends the session
	}{
		// The subscriber offer is never answered and the publisher never
		// offered: every candidate is held.
		{"count, subscriber", 150, livekit.SignalTarget_SUBSCRIBER, maxHeldCandidates},
		{"count, publisher", 150, livekit.SignalTarget_PUBLISHER, maxHeldCandidates},
		{"bytes", maxCandidateSize, livekit.SignalTarget_SUBSCRIBER, maxHeldCandidateBytes / maxCandidateSize},
		{"one candidate too big", maxCandidateSize + 1, livekit.SignalTarget_PUBLISHER, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := rawJoin(t, url, grantToken(t, "trickler", peerGrant("trickle")))
			for range tc.ok {
				sendSignal(t, ws, candidate(tc.target, tc.size))
			}
			for _, res := range pingPong(t, ws) {
				if res.GetLeave() != nil {
					t.Fatalf("left within the limits: %v", res.GetLeave())
				}
			}
			sendSignal(t, ws, candidate(tc.target, tc.size))
			leave, ce := readLeave(t, ws)
			if leave == nil || leave.GetReason() != livekit.DisconnectReason_STATE_MISMATCH ||
				leave.GetAction() != livekit.LeaveRequest_DISCONNECT || leave.GetCanReconnect() {
				t.Errorf("leave = %v, want STATE_MISMATCH, DISCONNECT", leave)
			}
			if ce == nil || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "ICE candidate") {
				t.Errorf("close frame %v, want 1008 naming the ICE candidate limit", ce)
			}
		})
	}
}

// TestPendingTracksBounded: addTrack requests awaiting media are bounded; the
// one over the limit is answered LIMIT_EXCEEDED and not published.
func TestPendingTracksBounded(t *testing.T) {
	_, url := startService(t, Params{})
	ws := rawJoin(t, url, grantToken(t, "publisher", peerGrant("tracks")))
	for i := range maxPendingTracks + 1 {
		sendSignal(t, ws, &livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
			Cid: fmt.Sprintf("TR_%d", i), Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE,
		}}})
	}
	var published int
	var refused *livekit.RequestResponse
	for _, res := range pingPong(t, ws) {
		if res.GetTrackPublished() != nil {
			published++
		}
		if rr := res.GetRequestResponse(); rr != nil {
			refused = rr
		}
	}
	if published != maxPendingTracks {
		t.Errorf("%d tracks published, want %d", published, maxPendingTracks)
	}
	if refused.GetReason() != livekit.RequestResponse_LIMIT_EXCEEDED || refused.GetAddTrack().GetCid() != fmt.Sprintf("TR_%d", maxPendingTracks) {
		t.Errorf("request response %v, want LIMIT_EXCEEDED for the last addTrack", refused)
	}
}

// TestSessionsPerIdentity: one identity holds at most MaxSessionsPerIdentity
// sessions across rooms; the next join is refused (HTTP 429, and the same
// on /rtc/validate) until one ends. Rejoining a room it is in still
// replaces that session, as in LiveKit.
func TestSessionsPerIdentity(t *testing.T) {
	const limit = 3
	svc, base := startService(t, Params{MaxSessionsPerIdentity: limit})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var first *client.Client
	for i := range limit {
		c := connect(t, ctx, base, grantToken(t, "hoarder", teacherGrant(fmt.Sprintf("room-%d", i))))
		if i == 0 {
			first = c
		}
	}
	over := grantToken(t, "hoarder", teacherGrant("room-x"))
	_, err := client.Connect(ctx, client.Options{URL: base, Token: over})
	if status, body := handshakeStatus(err); status != http.StatusTooManyRequests || !strings.Contains(body, "hoarder") {
		t.Fatalf("join over the limit: %v, want HTTP 429 naming the identity", err)
	}
	resp, err := http.Get(base + "/rtc/validate?access_token=" + url.QueryEscape(over))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("/rtc/validate over the limit: HTTP %d, want 429", resp.StatusCode)
	}
	// Others are not affected.
	connect(t, ctx, base, grantToken(t, "someone-else", teacherGrant("room-x")))

	// A rejoin of room-0 replaces the first session.
	again := connect(t, ctx, base, grantToken(t, "hoarder", teacherGrant("room-0")))
	select {
	case <-first.Done():
	case <-ctx.Done():
		t.Fatal("the first session was not replaced")
	}
	if r := first.LeaveReason(); r != livekit.DisconnectReason_DUPLICATE_IDENTITY {
		t.Errorf("replaced session: leave reason %v", r)
	}
	// Once a session ends, its slot is free again.
	again.Close()
	eventually(t, 10*time.Second, "the ended sessions' slots are given back", func() bool {
		svc.mu.Lock()
		defer svc.mu.Unlock()
		return svc.sessions["hoarder"] == limit-1
	})
	connect(t, ctx, base, over)
}

// eventually polls cond until it holds, failing the test after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("after %v: not true that %s", d, what)
		}
	}
}

// TestRoomsOpenedPerIdentity: an identity without roomCreate or roomAdmin (a
// student) may open rooms by joining them, up to MaxRoomsPerIdentity open at
// once; it may always join a room that is open; a room admin is not limited.
func TestRoomsOpenedPerIdentity(t *testing.T) {
	const limit = 2
	svc, base := startService(t, Params{MaxRoomsPerIdentity: limit, EmptyTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range limit {
		// Open a room and leave it: it stays open for the empty timeout.
		connect(t, ctx, base, grantToken(t, "student", studentGrant(fmt.Sprintf("room-%d", i)))).Close()
	}
	over := grantToken(t, "student", studentGrant("room-x"))
	_, err := client.Connect(ctx, client.Options{URL: base, Token: over})
	if status, body := handshakeStatus(err); status != http.StatusTooManyRequests || !strings.Contains(body, "room") {
		t.Fatalf("opening one room too many: %v, want HTTP 429", err)
	}
	if st := svc.Stats(); st.Rooms != limit {
		t.Errorf("%d rooms open, want %d", st.Rooms, limit)
	}
	// The teacher opens room-x (no limit for a room admin); then the student may join it.
	for i := range limit + 1 {
		connect(t, ctx, base, grantToken(t, "teacher", teacherGrant(fmt.Sprintf("room-t%d", i))))
	}
	connect(t, ctx, base, grantToken(t, "teacher", teacherGrant("room-x")))
	connect(t, ctx, base, grantToken(t, "student", studentGrant("room-x")))

	// Once a room the student opened closes, it may open another.
	if !svc.CloseRoom("room-0") {
		t.Fatal("room-0 was not open")
	}
	connect(t, ctx, base, grantToken(t, "student", studentGrant("room-y")))
}
