package classroom

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
)

func TestRoleOfGrant(t *testing.T) {
	for _, c := range []struct {
		admin, hidden bool
		attrs         map[string]string
		want          Role
	}{
		{true, false, map[string]string{"role": "teacher"}, RoleTeacher},
		{true, false, map[string]string{"role": "assistant"}, RoleAssistant},
		{true, true, map[string]string{"role": "teacher"}, RoleObserver},
		{false, false, map[string]string{"role": "teacher"}, RoleStudent}, // attributes never make a teacher
		{false, false, map[string]string{"role": "assistant"}, RoleStudent},
		{false, false, nil, RoleStudent},
	} {
		if got := RoleOfGrant(c.admin, c.hidden, c.attrs); got != c.want {
			t.Errorf("RoleOfGrant(%v, %v, %v) = %q, want %q", c.admin, c.hidden, c.attrs, got, c.want)
		}
	}
}

func TestMergeMetadata(t *testing.T) {
	st := Settings{Locked: true, StudentChat: false, Spotlight: "u1"}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(mergeMetadata(`{"recording":{"on":true}}`, st)), &got); err != nil {
		t.Fatal(err)
	}
	if string(got["recording"]) != `{"on":true}` || string(got["classroom"]) != `{"locked":true,"student_chat":false,"spotlight":"u1"}` {
		t.Errorf("merged: %s", got)
	}
	if m := mergeMetadata("not json", Settings{StudentChat: true}); m != `{"classroom":{"locked":false,"student_chat":true}}` {
		t.Errorf("over non-JSON metadata: %s", m)
	}
}

func TestCheckChoices(t *testing.T) {
	for _, c := range []struct {
		choices  []int
		multiple bool
		ok       bool
	}{
		{[]int{0}, false, true},
		{[]int{0, 2}, true, true},
		{[]int{0, 2}, false, false},
		{[]int{3}, false, false},
		{[]int{-1}, false, false},
		{[]int{1, 1}, true, false},
		{nil, false, false},
		{[]int{0, 1, 2, 0}, true, false},
	} {
		if got := checkChoices(c.choices, 3, c.multiple, false) == ""; got != c.ok {
			t.Errorf("checkChoices(%v, multiple %v) ok = %v, want %v", c.choices, c.multiple, got, c.ok)
		}
	}
}

func TestBucket(t *testing.T) {
	var b bucket
	now := time.Unix(1000, 0)
	n := 0
	for range 100 {
		if b.take(now, chatRate, chatBurst) {
			n++
		}
	}
	if n != int(chatBurst) {
		t.Errorf("a burst let %d through, want %v", n, chatBurst)
	}
	if !b.take(now.Add(time.Second), chatRate, chatBurst) || !b.take(now.Add(time.Second), chatRate, chatBurst) || b.take(now.Add(time.Second), chatRate, chatBurst) {
		t.Errorf("a second later, want %v more", chatRate)
	}
}

func TestChatOf(t *testing.T) {
	topic := "lk-chat-topic"
	for _, c := range []struct {
		dp   *livekit.DataPacket
		text string
		ok   bool
	}{
		{&livekit.DataPacket{Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{Id: "a", Message: "hi"}}}, "hi", true},
		{&livekit.DataPacket{Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{Id: "a", Message: "hi", EditTimestamp: new(int64)}}}, "hi", true},
		{&livekit.DataPacket{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{Topic: &topic, Payload: []byte(`{"id":"b","message":"yo"}`)}}}, "yo", true},
		{&livekit.DataPacket{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{Payload: []byte(`{"id":"b","message":"yo"}`)}}}, "", false},
	} {
		_, text, ok := chatOf(c.dp)
		if ok != c.ok || text != c.text {
			t.Errorf("chatOf(%v) = %q, %v", c.dp, text, ok)
		}
	}
}
