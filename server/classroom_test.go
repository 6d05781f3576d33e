package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/signaling/client"
)

// classUser signs in a new account of school A with roles.
func classUser(t *testing.T, fx *fixture, username string, roles ...string) (*api, int64) {
	t.Helper()
	body := map[string]any{"username": username, "name": "名 " + username, "password": "initial-password", "roles": roles, "school_id": fx.schoolA}
	if roles[0] == "student" {
		body["student_no"], body["grade"] = "S-"+username, 3
	} else {
		body["staff_no"] = "T-" + username
	}
	var created map[string]any
	fx.users["system_admin"].must(201, "POST", "/api/v1/users", body, &created)
	c := signedIn(t, fx.srv, username, "initial-password")
	c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
	return c, id(created)
}

// roomToken is the room token the API hands a signed-in user for room.
func roomToken(t *testing.T, a *api, room string) (tok, roomName, identity string) {
	t.Helper()
	var out struct{ Token, Room, Identity string }
	a.must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": room}, &out)
	return out.Token, out.Room, out.Identity
}

// signals records the server messages of one client.
type signals struct {
	mu   sync.Mutex
	msgs []*livekit.SignalResponse
}

func (s *signals) record(m *livekit.SignalResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

func (s *signals) has(pred func(*livekit.SignalResponse) bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if pred(m) {
			return true
		}
	}
	return false
}

// waitData waits for a data packet matching pred on c.
func waitData(t *testing.T, ctx context.Context, c *client.Client, what string, pred func(*livekit.DataPacket) bool) *livekit.DataPacket {
	t.Helper()
	for {
		select {
		case dp := <-c.Data():
			if pred(dp) {
				return dp
			}
		case <-ctx.Done():
			t.Fatalf("%s: no such data packet", what)
			return nil
		}
	}
}

func chatText(dp *livekit.DataPacket) string {
	if c := dp.GetChatMessage(); c != nil {
		return c.GetMessage()
	}
	if u := dp.GetUser(); u != nil && u.GetTopic() == "chat" {
		var m struct{ Message string }
		_ = json.Unmarshal(u.GetPayload(), &m)
		return m.Message
	}
	return ""
}

// mintAgain is a fresh room token for the fixture's class.
func mintAgain(t *testing.T, a *api) string {
	tok, _, _ := roomToken(t, a, "math-7")
	return tok
}

// sendStream sends text as a chat text stream (header, chunks, trailer).
func sendStream(t *testing.T, ctx context.Context, c *client.Client, id string, chunks ...string) {
	t.Helper()
	pkts := []*livekit.DataPacket{{Value: &livekit.DataPacket_StreamHeader{StreamHeader: &livekit.DataStream_Header{
		StreamId: id, Topic: "lk.chat", MimeType: "text/plain",
		ContentHeader: &livekit.DataStream_Header_TextHeader{TextHeader: &livekit.DataStream_TextHeader{}}}}}}
	for i, ch := range chunks {
		pkts = append(pkts, &livekit.DataPacket{Value: &livekit.DataPacket_StreamChunk{StreamChunk: &livekit.DataStream_Chunk{
			StreamId: id, ChunkIndex: uint64(i), Content: []byte(ch)}}})
	}
	pkts = append(pkts, &livekit.DataPacket{Value: &livekit.DataPacket_StreamTrailer{StreamTrailer: &livekit.DataStream_Trailer{StreamId: id}}})
	for _, p := range pkts {
		if err := c.SendDataPacket(ctx, p, true); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClassroomControls(t *testing.T) {
	clock := newTestClock()
	srv := startServer(t, withClock(clock))
	fx := newFixture(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	teacherAPI := fx.users["teacher"]
	studentAPI := fx.users["student"]
	student2API, _ := classUser(t, fx, "student.two", "student")
	lateAPI, _ := classUser(t, fx, "student.late", "student")
	lockedOutAPI, _ := classUser(t, fx, "student.locked", "student")
	otherTeacherAPI, _ := classUser(t, fx, "teacher.other", "teacher")

	tTok, room, tID := roomToken(t, teacherAPI, "math-7")
	teacher := join(t, ctx, srv, tTok, client.Options{AutoSubscribe: true})
	sTok, _, sID := roomToken(t, studentAPI, "math-7")
	var studentSignals signals
	student := join(t, ctx, srv, sTok, client.Options{AutoSubscribe: true, OnSignal: studentSignals.record})
	s2Tok, _, s2ID := roomToken(t, student2API, "math-7")
	student2 := join(t, ctx, srv, s2Tok, client.Options{AutoSubscribe: true})
	// Another teacher of the same school, teaching another class.
	oTok, _, _ := roomToken(t, otherTeacherAPI, "history-7")
	join(t, ctx, srv, oTok, client.Options{})

	base := "/api/v1/classroom/rooms/" + room
	// Every control is refused to a student and to another class's teacher.
	var poll map[string]any
	teacherAPI.must(201, "POST", base+"/polls", map[string]any{"question": "2+2?", "options": []string{"3", "4", "5"}, "correct": []int{1}}, &poll)
	pollPath := "/api/v1/classroom/polls/" + itoa(id(poll))
	controls := []struct{ method, path string }{
		{"GET", base + "/hands"},
		{"PUT", base + "/participants/" + s2ID + "/hand"},
		{"PUT", base + "/participants/" + s2ID + "/stage"},
		{"POST", base + "/participants/" + s2ID + "/mute"},
		{"POST", base + "/participants/" + s2ID + "/remove"},
		{"DELETE", base + "/bans/" + s2ID},
		{"PATCH", base + "/settings"},
		{"DELETE", base + "/chat/1"},
		{"POST", base + "/polls"},
		{"POST", pollPath + "/start"},
		{"POST", pollPath + "/end"},
		{"POST", pollPath + "/show"},
	}
	bodies := map[string]any{"PUT": map[string]any{"raised": false, "on_stage": true}, "POST": map[string]any{}, "PATCH": map[string]any{"locked": true}}
	for _, c := range controls {
		body := bodies[c.method]
		if c.method == "PUT" && len(c.path) > 5 && c.path[len(c.path)-5:] == "/hand" {
			body = map[string]any{"raised": false}
		} else if c.method == "PUT" {
			body = map[string]any{"on_stage": true}
		}
		if c.path == base+"/polls" {
			body = map[string]any{"question": "q", "options": []string{"a", "b"}}
		}
		for name, a := range map[string]*api{"student": studentAPI, "another class's teacher": otherTeacherAPI} {
			if r := a.send(c.method, c.path, body); r.status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %v, want 403", c.method, c.path, name, r)
			}
		}
	}
	// A student answers only as a student, and only in their class.
	if r := teacherAPI.send("PUT", base+"/hand", map[string]any{"raised": true}); r.status != http.StatusForbidden {
		t.Errorf("the teacher raises a hand: %v, want 403", r)
	}
	if r := otherTeacherAPI.send("GET", base+"/chat", nil); r.status != http.StatusForbidden {
		t.Errorf("another class's teacher reads the chat: %v, want 403", r)
	}

	// Hands: raised in order, queued in order.
	studentAPI.must(200, "PUT", base+"/hand", map[string]any{"raised": true}, nil)
	clock.Advance(time.Second)
	student2API.must(200, "PUT", base+"/hand", map[string]any{"raised": true}, nil)
	var hands struct{ Items []struct{ Identity string } }
	teacherAPI.must(200, "GET", base+"/hands", nil, &hands)
	if len(hands.Items) != 2 || hands.Items[0].Identity != sID || hands.Items[1].Identity != s2ID {
		t.Fatalf("hands: %+v, want %s then %s", hands.Items, sID, s2ID)
	}
	if _, err := teacher.WaitParticipant(ctx, sID, func(p *livekit.ParticipantInfo) bool { return p != nil && p.Attributes["hand"] != "" }); err != nil {
		t.Fatalf("the teacher never saw the raised hand: %v", err)
	}

	// Before the stage, the student may not publish.
	if student.LocalParticipant().GetPermission().GetCanPublish() {
		t.Fatal("a student may publish before being brought on stage")
	}
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := student.PublishTrack(pctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8}); err == nil {
		t.Fatal("a student published before being brought on stage")
	}
	pcancel()

	// On stage: the permission arrives live, the hand goes down, media flows.
	teacherAPI.must(200, "PUT", base+"/participants/"+sID+"/stage", map[string]any{"on_stage": true}, nil)
	if !pollUntil(10*time.Second, func() bool { return student.LocalParticipant().GetPermission().GetCanPublish() }) {
		t.Fatal("the student never learned they may publish")
	}
	teacherAPI.must(200, "GET", base+"/hands", nil, &hands)
	if len(hands.Items) != 1 || hands.Items[0].Identity != s2ID {
		t.Errorf("hands after the stage: %+v, want only %s", hands.Items, s2ID)
	}
	cam, err := student.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8})
	if err != nil {
		t.Fatalf("publish on stage: %v", err)
	}
	stop := pump(20*time.Millisecond, func(i int) {
		_ = cam.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 3000)}, Payload: []byte{0x10, 0, 0, 0}})
	})
	if _, err := teacher.WaitParticipant(ctx, sID, func(p *livekit.ParticipantInfo) bool { return p != nil && len(p.Tracks) == 1 }); err != nil {
		t.Fatalf("the teacher never saw the student's camera: %v", err)
	}
	// Back from the stage: publishing ends, and so does the track.
	teacherAPI.must(200, "PUT", base+"/participants/"+sID+"/stage", map[string]any{"on_stage": false}, nil)
	if _, err := teacher.WaitParticipant(ctx, sID, func(p *livekit.ParticipantInfo) bool { return p != nil && len(p.Tracks) == 0 }); err != nil {
		t.Fatalf("the student's track outlived the stage: %v", err)
	}
	stop()
	if !pollUntil(10*time.Second, func() bool {
		return studentSignals.has(func(m *livekit.SignalResponse) bool { return m.GetTrackUnpublished().GetTrackSid() == cam.SID() })
	}) {
		t.Error("the student was not told its track was unpublished")
	}
	if student.LocalParticipant().GetPermission().GetCanPublish() {
		t.Error("the student may still publish after leaving the stage")
	}

	// Chat: stored, relayed, and given to a late joiner.
	if err := teacher.SendDataPacket(ctx, &livekit.DataPacket{Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{
		Id: "m1", Timestamp: clock.Now().UnixMilli(), Message: "同学们好"}}}, true); err != nil {
		t.Fatal(err)
	}
	waitData(t, ctx, student, "the teacher's chat", func(dp *livekit.DataPacket) bool { return chatText(dp) == "同学们好" })
	if err := student.SendData(ctx, []byte(`{"id":"m2","timestamp":1,"message":"老师好"}`), client.DataOptions{Reliable: true, Topic: "chat"}); err != nil {
		t.Fatal(err)
	}
	waitData(t, ctx, teacher, "the student's chat", func(dp *livekit.DataPacket) bool { return chatText(dp) == "老师好" })
	// A text stream on lk.chat (livekit-client's sendText), in two chunks.
	sendStream(t, ctx, student, "stream-1", "流", "消息")
	waitData(t, ctx, teacher, "the student's chat stream", func(dp *livekit.DataPacket) bool { return dp.GetStreamTrailer().GetStreamId() == "stream-1" })

	// Student chat stopped: the student's message is dropped (a packet sent
	// after it on the same ordered channel arrives, it does not).
	teacherAPI.must(200, "PATCH", base+"/settings", map[string]any{"student_chat": false}, nil)
	if err := student.SendData(ctx, []byte(`{"id":"m3","message":"不该出现"}`), client.DataOptions{Reliable: true, Topic: "chat"}); err != nil {
		t.Fatal(err)
	}
	sendStream(t, ctx, student, "stream-2", "不该出现")
	if err := student.SendData(ctx, []byte("marker"), client.DataOptions{Reliable: true, Topic: "marker"}); err != nil {
		t.Fatal(err)
	}
	waitData(t, ctx, teacher, "the marker", func(dp *livekit.DataPacket) bool {
		if chatText(dp) == "不该出现" || dp.GetStreamHeader().GetStreamId() == "stream-2" || dp.GetStreamChunk() != nil && dp.GetStreamChunk().GetStreamId() == "stream-2" {
			t.Error("a student's chat was relayed while student chat was stopped")
		}
		return dp.GetUser().GetTopic() == "marker"
	})
	lTok, _, _ := roomToken(t, lateAPI, "math-7")
	late := join(t, ctx, srv, lTok, client.Options{})
	var history struct {
		Items []struct {
			ID       int64
			Message  string
			Identity string
		}
	}
	lateAPI.must(200, "GET", base+"/chat", nil, &history)
	if len(history.Items) != 3 || history.Items[0].Message != "同学们好" || history.Items[1].Message != "老师好" || history.Items[1].Identity != sID ||
		history.Items[2].Message != "流消息" {
		t.Fatalf("chat history of a late joiner: %+v", history.Items)
	}
	// The teacher hides a message; students no longer get it, the teacher does.
	teacherAPI.must(200, "DELETE", base+"/chat/"+itoa(history.Items[1].ID), nil, nil)
	lateAPI.must(200, "GET", base+"/chat", nil, &history)
	if len(history.Items) != 2 {
		t.Errorf("history after a deletion: %+v, want two messages", history.Items)
	}
	teacherAPI.must(200, "GET", base+"/chat", nil, &history)
	if len(history.Items) != 3 {
		t.Errorf("the teacher's history after a deletion: %+v, want both (one deleted)", history.Items)
	}

	// Lock: no new students; the settings reach clients in the room metadata.
	teacherAPI.must(200, "PATCH", base+"/settings", map[string]any{"locked": true, "spotlight": tID}, nil)
	lockTok, _, _ := roomToken(t, lockedOutAPI, "math-7")
	if _, err := client.Connect(ctx, client.Options{URL: srv.url, Token: lockTok, SettingEngine: loopbackUDP}); err == nil {
		t.Error("a new student joined a locked class")
	}
	// A student who was in the class comes back after a dropped connection.
	// It reads the settings from the room metadata of its join response.
	late.Close()
	var md struct {
		Classroom struct {
			Locked    bool
			Spotlight string
		}
	}
	lateJoin := join(t, ctx, srv, mintAgain(t, lateAPI), client.Options{})
	if err := json.Unmarshal([]byte(lateJoin.JoinResponse().GetRoom().GetMetadata()), &md); err != nil || !md.Classroom.Locked || md.Classroom.Spotlight != tID {
		t.Errorf("room metadata in the join response: %q (%v)", lateJoin.JoinResponse().GetRoom().GetMetadata(), err)
	}
	teacherAPI.must(200, "PATCH", base+"/settings", map[string]any{"locked": false}, nil)

	// Remove: out, and kept out.
	teacherAPI.must(204, "POST", base+"/participants/"+s2ID+"/remove", map[string]any{}, nil)
	select {
	case <-student2.Done():
	case <-ctx.Done():
		t.Fatal("the removed student is still connected")
	}
	if student2.LeaveReason() != livekit.DisconnectReason_PARTICIPANT_REMOVED {
		t.Errorf("removed with reason %v", student2.LeaveReason())
	}
	again, _, _ := roomToken(t, student2API, "math-7")
	_, err = client.Connect(ctx, client.Options{URL: srv.url, Token: again, SettingEngine: loopbackUDP})
	var he *client.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Errorf("a removed student rejoins: %v, want a 403 refusal", err)
	}

	// A poll: answered once, counted, results live to the teacher.
	teacherAPI.must(200, "POST", pollPath+"/start", map[string]any{}, nil)
	if r := studentAPI.send("POST", pollPath+"/answer", map[string]any{"choices": []int{7}}); r.status != http.StatusBadRequest {
		t.Errorf("an answer out of range: %v, want 400", r)
	}
	studentAPI.must(200, "POST", pollPath+"/answer", map[string]any{"choices": []int{1}}, nil)
	if r := studentAPI.send("POST", pollPath+"/answer", map[string]any{"choices": []int{0}}); r.status != http.StatusConflict {
		t.Errorf("a second answer: %v, want 409", r)
	}
	if r := teacherAPI.send("POST", pollPath+"/answer", map[string]any{"choices": []int{0}}); r.status != http.StatusForbidden {
		t.Errorf("the teacher answers: %v, want 403", r)
	}
	waitData(t, ctx, teacher, "live results", func(dp *livekit.DataPacket) bool {
		var ev struct {
			Type    string
			Results struct{ Answers int }
		}
		u := dp.GetUser()
		return u.GetTopic() == "yunke.classroom" && json.Unmarshal(u.GetPayload(), &ev) == nil && ev.Type == "poll_results" && ev.Results.Answers == 1
	})
	if r := studentAPI.send("GET", pollPath+"/results", nil); r.status != http.StatusForbidden {
		t.Errorf("a student reads results not shown: %v, want 403", r)
	}
	teacherAPI.must(200, "POST", pollPath+"/show", map[string]any{}, nil)
	var res struct {
		Answers        int
		Counts         []int
		CorrectAnswers int `json:"correct_answers"`
	}
	studentAPI.must(200, "GET", pollPath+"/results", nil, &res)
	if res.Answers != 1 || fmt.Sprint(res.Counts) != "[0 1 0]" || res.CorrectAnswers != 1 {
		t.Errorf("results: %+v", res)
	}

	// A poll with a time limit ends by itself; a late answer is refused.
	var timed map[string]any
	teacherAPI.must(201, "POST", base+"/polls", map[string]any{"question": "快答", "options": []string{"是", "否"}, "time_limit_s": 1, "start": true}, &timed)
	waitData(t, ctx, student, "the timed poll's end", func(dp *livekit.DataPacket) bool {
		var ev struct {
			Type string
			Poll struct{ ID int64 }
		}
		u := dp.GetUser()
		return u.GetTopic() == "yunke.classroom" && json.Unmarshal(u.GetPayload(), &ev) == nil && ev.Type == "poll_ended" && ev.Poll.ID == id(timed)
	})
	if r := studentAPI.send("POST", "/api/v1/classroom/polls/"+itoa(id(timed))+"/answer", map[string]any{"choices": []int{0}}); r.status != http.StatusConflict || r.errCode() != "poll_closed" {
		t.Errorf("an answer after the time limit: %v, want 409 poll_closed", r)
	}

	// Administrators in scope run the controls without being in the room;
	// an administrator of another school does not.
	fx.users["school_admin"].must(200, "PATCH", base+"/settings", map[string]any{"student_chat": true}, nil)
	fx.users["district_admin"].must(200, "GET", base+"/hands", nil, nil)
	var sb map[string]any
	fx.users["system_admin"].must(201, "POST", "/api/v1/users", map[string]any{"username": "admin.b", "name": "B 管理员", "password": "initial-password",
		"roles": []string{"school_admin"}, "school_id": fx.schoolB}, &sb)
	adminB := signedIn(t, srv, "admin.b", "initial-password")
	adminB.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
	if r := adminB.send("PATCH", base+"/settings", map[string]any{"locked": true}); r.status != http.StatusForbidden {
		t.Errorf("another school's admin locks the class: %v, want 403", r)
	}
	// An expert reads the chat once watching the class, hidden; nobody can act on them.
	expert := fx.users["expert"]
	if r := expert.send("GET", base+"/chat", nil); r.status != http.StatusForbidden {
		t.Errorf("an expert outside the class reads its chat: %v, want 403", r)
	}
	var obs struct{ Token, Identity string }
	expert.must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": "math-7", "school_id": fx.schoolA}, &obs)
	join(t, ctx, srv, obs.Token, client.Options{})
	expert.must(200, "GET", base+"/chat", nil, &history)
	if r := teacherAPI.send("POST", base+"/participants/"+obs.Identity+"/remove", map[string]any{}); r.status != http.StatusNotFound {
		t.Errorf("the teacher removes a hidden observer: %v, want 404", r)
	}
}
