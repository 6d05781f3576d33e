package classroom

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/livekit/protocol/livekit"

	"yunke/signaling"
	"yunke/storage"
)

// StreamChatTopic is the topic of chat sent as a text stream (livekit-client
// sendText, LiveKit's components).
const StreamChatTopic = "lk.chat"

// Bounds of the chat streams followed at once.
const (
	maxOpenStreams = 4096
	streamMaxAge   = 2 * time.Minute
	// maxStreamBytes bounds what is kept of one stream (UTF-8 of MaxChatText characters).
	maxStreamBytes = 4 * MaxChatText
)

// chatStream is a chat text stream being received.
type chatStream struct {
	room    signaling.RoomName
	from    signaling.ParticipantEvent
	id      string
	buf     []byte
	drop    bool
	started time.Time
}

// chatStreams follows the chat text streams in flight, by sender and id.
type chatStreams struct {
	mu   sync.Mutex
	open map[string]*chatStream
}

func streamKey(room signaling.RoomName, id signaling.Identity, stream string) string {
	return string(room) + "\x00" + string(id) + "\x00" + stream
}

func (cs *chatStreams) start(key string, st *chatStream) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.open == nil {
		cs.open = map[string]*chatStream{}
	}
	if len(cs.open) >= maxOpenStreams {
		for k, o := range cs.open {
			if st.started.Sub(o.started) > streamMaxAge {
				delete(cs.open, k)
			}
		}
		if len(cs.open) >= maxOpenStreams {
			return // followed no longer: relayed, not stored
		}
	}
	cs.open[key] = st
}

func (cs *chatStreams) get(key string, take bool) *chatStream {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	st := cs.open[key]
	if take {
		delete(cs.open, key)
	}
	return st
}

// filterStream handles the parts of a chat text stream: it reports whether
// the packet is relayed, and whether it was a chat stream's at all.
func (s *Service) filterStream(ctx context.Context, d signaling.DataEvent, drop bool) (forward, handled bool) {
	switch v := d.Packet.Value.(type) {
	case *livekit.DataPacket_StreamHeader:
		h := v.StreamHeader
		if h == nil || h.GetTopic() != StreamChatTopic || h.GetTextHeader() == nil {
			return true, false
		}
		if len(h.GetStreamId()) > 128 {
			return false, true
		}
		if h.GetTextHeader().GetOperationType() != livekit.DataStream_CREATE {
			return !drop, true // edits, deletions, reactions: relayed, not stored
		}
		if !drop && !s.allowChat(d.Room, d.Participant.Identity) {
			drop = true // over the rate: this stream is dropped whole
		}
		st := &chatStream{room: d.Room, from: d.Participant, id: h.GetStreamId(), drop: drop, started: time.Now()}
		st.buf = append(st.buf, h.GetInlineContent()...)
		s.streams.start(streamKey(d.Room, d.Participant.Identity, h.GetStreamId()), st)
		return !drop, true
	case *livekit.DataPacket_StreamChunk:
		c := v.StreamChunk
		st := s.streams.get(streamKey(d.Room, d.Participant.Identity, c.GetStreamId()), false)
		if st == nil {
			return true, false
		}
		if !st.drop && len(st.buf) < maxStreamBytes {
			s.streams.mu.Lock()
			st.buf = append(st.buf, c.GetContent()[:min(len(c.GetContent()), maxStreamBytes-len(st.buf))]...)
			s.streams.mu.Unlock()
		}
		return !st.drop, true
	case *livekit.DataPacket_StreamTrailer:
		t := v.StreamTrailer
		st := s.streams.get(streamKey(d.Room, d.Participant.Identity, t.GetStreamId()), true)
		if st == nil {
			return true, false
		}
		if st.drop {
			return false, true
		}
		s.streams.mu.Lock()
		text := string(st.buf)
		s.streams.mu.Unlock()
		for !utf8.ValidString(text) && len(text) > 0 { // cut inside a character
			text = text[:len(text)-1]
		}
		if r := []rune(text); len(r) > MaxChatText {
			text = string(r[:MaxChatText])
		}
		if text != "" {
			s.storeChat(ctx, st.room, st.from, st.id, text)
		}
		return true, true
	}
	return true, false
}

// storeChat stores one chat message as it is relayed.
func (s *Service) storeChat(ctx context.Context, room signaling.RoomName, from signaling.ParticipantEvent, msgID, text string) {
	ctx, cancel := context.WithTimeout(ctx, chatStoreTimeout)
	defer cancel()
	if _, err := s.store.AddChatMessage(ctx, storage.ChatMessage{Room: string(room), MsgID: msgID, Identity: string(from.Identity),
		UserID: accountOf(from.Identity), Name: from.Name, Message: text, SentAt: s.now()}); err != nil {
		// Relayed all the same: the class goes on; the record misses it.
		s.log.Error("chat message not stored", "room", string(room), "participant", string(from.Identity), "err", err)
	}
}
