package signaling

import (
	"context"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// TestDataSenderStamped: whatever sender a client writes into a data packet,
// the others receive the real one, in every field that names it; a
// transcription attributed to someone else and a speaker update (the
// server's to send) are dropped.
func TestDataSenderStamped(t *testing.T) {
	_, base := startService(t, Params{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	teacher := connect(t, ctx, base, grantToken(t, "teacher", teacherGrant("data")))
	mallory := connect(t, ctx, base, grantToken(t, "mallory", studentGrant("data")))
	bob := connect(t, ctx, base, grantToken(t, "bob", studentGrant("data")))
	for _, c := range []interface{ WaitConnected(context.Context) error }{teacher, mallory, bob} {
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	}

	forged := func(dp *livekit.DataPacket) *livekit.DataPacket {
		dp.ParticipantIdentity, dp.ParticipantSid = "teacher", teacher.SID()
		return dp
	}
	transcription := func(who string) *livekit.DataPacket {
		return forged(&livekit.DataPacket{Value: &livekit.DataPacket_Transcription{Transcription: &livekit.Transcription{
			TranscribedParticipantIdentity: who, Segments: []*livekit.TranscriptionSegment{{Id: "s-" + who, Text: "都听懂了吗", Final: true}},
		}}})
	}
	sent := []*livekit.DataPacket{
		forged(&livekit.DataPacket{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{ParticipantIdentity: "teacher", ParticipantSid: teacher.SID(), Payload: []byte("下课")}}}),
		forged(&livekit.DataPacket{Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{Id: "c1", Message: "作业取消"}}}),
		transcription("teacher"), // dropped
		forged(&livekit.DataPacket{Value: &livekit.DataPacket_Speaker{Speaker: &livekit.ActiveSpeakerUpdate{Speakers: []*livekit.SpeakerInfo{{Sid: teacher.SID(), Level: 1, Active: true}}}}}), // dropped
		transcription(""),
		transcription("mallory"),
		forged(&livekit.DataPacket{Value: &livekit.DataPacket_RpcRequest{RpcRequest: &livekit.RpcRequest{Id: "r1", Method: "endClass"}}}),
		forged(&livekit.DataPacket{Value: &livekit.DataPacket_StreamHeader{StreamHeader: &livekit.DataStream_Header{StreamId: "st1", Topic: "lk.chat"}}}),
		forged(&livekit.DataPacket{Value: &livekit.DataPacket_StreamChunk{StreamChunk: &livekit.DataStream_Chunk{StreamId: "st1", Content: []byte("x")}}}),
	}
	for _, dp := range sent {
		if err := mallory.SendDataPacket(ctx, dp, true); err != nil {
			t.Fatal(err)
		}
	}
	end := &livekit.DataPacket{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{Payload: []byte("end")}}}
	if err := mallory.SendDataPacket(ctx, end, true); err != nil {
		t.Fatal(err)
	}

	// The reliable channel keeps order: bob gets what was relayed, then "end".
	var got []*livekit.DataPacket
	for done := false; !done; {
		select {
		case dp := <-bob.Data():
			if done = string(dp.GetUser().GetPayload()) == "end"; !done {
				got = append(got, dp)
			}
		case <-ctx.Done():
			t.Fatalf("bob got %d packets and no end", len(got))
		}
	}
	var want []*livekit.DataPacket
	for _, i := range []int{0, 1, 4, 5, 6, 7, 8} {
		want = append(want, &livekit.DataPacket{Value: sent[i].Value})
	}
	if len(got) != len(want) {
		t.Fatalf("bob got %d packets, want %d: %v", len(got), len(want), got)
	}
	for i, dp := range got {
		if dp.GetParticipantIdentity() != "mallory" || dp.GetParticipantSid() != mallory.SID() {
			t.Errorf("packet %d (%T) from %q %q, want mallory %s", i, dp.Value, dp.GetParticipantIdentity(), dp.GetParticipantSid(), mallory.SID())
		}
		if u := dp.GetUser(); u != nil && (u.GetParticipantIdentity() != "mallory" || u.GetParticipantSid() != mallory.SID()) {
			t.Errorf("user packet says it is from %q %q", u.GetParticipantIdentity(), u.GetParticipantSid())
		}
		if tr := dp.GetTranscription(); tr != nil && tr.GetTranscribedParticipantIdentity() != "mallory" {
			t.Errorf("transcription of %q relayed", tr.GetTranscribedParticipantIdentity())
		}
		// Apart from the sender, the packet is what was sent.
		w := want[i]
		g := proto.Clone(dp).(*livekit.DataPacket)
		g.ParticipantIdentity, g.ParticipantSid, g.Kind, g.Sequence = "", "", 0, 0
		if u := g.GetUser(); u != nil {
			u.ParticipantIdentity, u.ParticipantSid = "", ""
			w = proto.Clone(w).(*livekit.DataPacket)
			w.GetUser().ParticipantIdentity, w.GetUser().ParticipantSid = "", ""
		}
		if tr := g.GetTranscription(); tr != nil {
			tr.TranscribedParticipantIdentity = ""
			w = proto.Clone(w).(*livekit.DataPacket)
			w.GetTranscription().TranscribedParticipantIdentity = ""
		}
		if !proto.Equal(g, w) {
			t.Errorf("packet %d: got %v, want %v", i, g, w)
		}
	}
}
