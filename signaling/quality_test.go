package signaling

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"yunke/sfu"
)

func TestScoreQuality(t *testing.T) {
	cases := []struct {
		loss, jitter float64
		want         livekit.ConnectionQuality
	}{
		{0, 5, livekit.ConnectionQuality_EXCELLENT},
		{1.5, 20, livekit.ConnectionQuality_EXCELLENT},
		{3, 10, livekit.ConnectionQuality_GOOD},
		{1, 100, livekit.ConnectionQuality_GOOD},
		{6, 10, livekit.ConnectionQuality_POOR},
		{0, 200, livekit.ConnectionQuality_POOR},
	}
	for _, c := range cases {
		got, score := scoreQuality(c.loss, c.jitter)
		if got != c.want {
			t.Errorf("loss %.1f%% jitter %.0f ms: %v (score %.2f), want %v", c.loss, c.jitter, got, score, c.want)
		}
		if score < 1 || score > 5 {
			t.Errorf("score %.2f out of 1..5", score)
		}
	}
}

// Every participant is told, about every two seconds, the connection
// quality of itself and of the others it sees, once per change.
func TestConnectionQualityUpdates(t *testing.T) {
	_, url := startService(t, Params{})
	a := rawJoin(t, url, grantToken(t, "alice", peerGrant("quality")))
	rawJoin(t, url, grantToken(t, "bob", peerGrant("quality")))
	seen := map[string]livekit.ConnectionQuality{}
	for len(seen) < 2 {
		res, err := readSignal(a)
		if err != nil {
			t.Fatalf("no connection quality for both participants (have %v): %v", seen, err)
		}
		for _, u := range res.GetConnectionQuality().GetUpdates() {
			if _, dup := seen[u.GetParticipantSid()]; dup {
				t.Errorf("quality of %s sent twice without a change", u.GetParticipantSid())
			}
			seen[u.GetParticipantSid()] = u.GetQuality()
		}
	}
	for sid, q := range seen {
		if q != livekit.ConnectionQuality_EXCELLENT {
			t.Errorf("%s: %v, want EXCELLENT for an idle local connection", sid, q)
		}
	}
}

// stillRemote is a simulcast stream that sends nothing until closed.
type stillRemote struct {
	ssrc webrtc.SSRC
	done chan struct{}
}

func (r *stillRemote) Read([]byte) (int, interceptor.Attributes, error) {
	<-r.done
	return 0, nil, io.EOF
}

func (r *stillRemote) SSRC() webrtc.SSRC { return r.ssrc }

// Dynacast: a simulcast track nobody receives has its layers paused at the
// publisher, but only after dynacastDelay, in one SubscribedQualityUpdate
// naming every layer and the codec.
func TestDynacastPausesUnreceivedLayers(t *testing.T) {
	p := &Participant{
		out:        make(chan *livekit.SignalResponse, 8),
		done:       make(chan struct{}),
		updSignal:  make(chan struct{}, 1),
		pendingUpd: make(map[string]*livekit.ParticipantInfo),
		log:        slog.New(slog.DiscardHandler),
	}
	tr := sfu.NewTrack(sfu.TrackParams{ID: "TR_cam", Kind: webrtc.RTPCodecTypeVideo, Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
	done := make(chan struct{})
	t.Cleanup(func() { close(done); tr.Close() })
	for i := range sfu.MaxLayers {
		if err := tr.AddLayer(i, &stillRemote{ssrc: webrtc.SSRC(i + 1), done: done}); err != nil {
			t.Fatal(err)
		}
	}
	pub := &publication{info: &livekit.TrackInfo{Sid: "TR_cam", Simulcast: true, MimeType: "video/VP8"}, track: tr}
	pub.dyn.sent = 1<<sfu.MaxLayers - 1

	start := time.Now()
	p.layersChanged(pub)
	p.layersChanged(pub) // a second change inside the delay schedules nothing more
	var u *livekit.SubscribedQualityUpdate
	select {
	case msg := <-p.out:
		u = msg.GetSubscribedQualityUpdate()
	case <-time.After(dynacastDelay + 5*time.Second):
		t.Fatal("no SubscribedQualityUpdate")
	}
	if waited := time.Since(start); waited < dynacastDelay {
		t.Errorf("layers paused after %v, before the %v delay", waited, dynacastDelay)
	}
	if u.GetTrackSid() != "TR_cam" || len(u.GetSubscribedQualities()) != sfu.MaxLayers {
		t.Fatalf("update %v", u)
	}
	for _, q := range u.GetSubscribedQualities() {
		if q.GetEnabled() {
			t.Errorf("layer %v still enabled with no subscriber", q.GetQuality())
		}
	}
	if c := u.GetSubscribedCodecs(); len(c) != 1 || c[0].GetCodec() != "vp8" {
		t.Errorf("codecs %v, want vp8", c)
	}
	select {
	case msg := <-p.out:
		t.Errorf("a second update: %v", msg)
	case <-time.After(200 * time.Millisecond):
	}
}
