package signaling

import (
	"fmt"
	"testing"

	"github.com/livekit/protocol/livekit"
)

// A crowd leaving at once becomes one update per recipient, with the latest
// state of each participant, sent ahead of whatever the client is sent next.
func TestParticipantUpdatesCoalesce(t *testing.T) {
	p := &Participant{
		out:        make(chan *livekit.SignalResponse, 4),
		done:       make(chan struct{}),
		updSignal:  make(chan struct{}, 1),
		pendingUpd: make(map[string]*livekit.ParticipantInfo),
	}
	const crowd = 500
	for v := uint32(1); v <= 3; v++ {
		for i := range crowd {
			p.queueUpdate(&livekit.ParticipantInfo{Sid: fmt.Sprintf("PA_%d", i), Version: v, State: livekit.ParticipantInfo_State(v)})
		}
	}
	p.queueUpdate(&livekit.ParticipantInfo{Sid: "PA_0", Version: 1}) // stale: ignored
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Pong{Pong: 1}})

	if n := len(p.out); n != 2 {
		t.Fatalf("%d messages queued, want 2 (one update, then the pong)", n)
	}
	u := (<-p.out).GetUpdate()
	if len(u.GetParticipants()) != crowd {
		t.Fatalf("update carries %d participants, want %d", len(u.GetParticipants()), crowd)
	}
	for _, info := range u.GetParticipants() {
		if info.Version != 3 || info.State != livekit.ParticipantInfo_DISCONNECTED {
			t.Fatalf("%s: version %d state %v, want the latest", info.Sid, info.Version, info.State)
		}
	}
	if (<-p.out).GetPong() != 1 {
		t.Fatal("the pong did not follow the update")
	}
}
