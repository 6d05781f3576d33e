package signaling

import (
	"testing"

	"github.com/livekit/protocol/livekit"
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
