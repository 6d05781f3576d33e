package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// RemoteTrack is a track the server forwards on the subscriber
// PeerConnection.
type RemoteTrack struct {
	c              *Client
	track          *webrtc.TrackRemote
	receiver       *webrtc.RTPReceiver
	participantSID string
	trackSID       string
}

// ParseStreamID splits the media stream id of a forwarded track,
// "PA_sid|TR_sid", into participant and track sid. A stream id without "|"
// (older servers) is the participant sid, and the track id is the track sid.
func ParseStreamID(streamID, trackID string) (participantSID, trackSID string) {
	if p, t, ok := strings.Cut(streamID, "|"); ok {
		return p, t
	}
	return streamID, trackID
}

// onTrack runs on a goroutine Pion starts and does not wait for, so it
// joins the client's WaitGroup (unless the session has already ended) to
// let Close wait for the OnTrack callback.
func (c *Client) onTrack(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	psid, tsid := ParseStreamID(tr.StreamID(), tr.ID())
	rt := &RemoteTrack{c: c, track: tr, receiver: recv, participantSID: psid, trackSID: tsid}
	c.log.Debug("remote track", "participant", psid, "track", tsid, "kind", tr.Kind(), "codec", tr.Codec().MimeType)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	defer c.wg.Done()
	c.tracks = append(c.tracks, rt)
	c.notifyLocked()
	c.mu.Unlock()
	if c.opts.OnTrack != nil {
		c.opts.OnTrack(rt)
	}
}

// RemoteTracks lists every track received since Connect, in arrival order
// (including tracks that have ended since).
func (c *Client) RemoteTracks() []*RemoteTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*RemoteTrack(nil), c.tracks...)
}

// WaitTrack waits for a received track for which pred holds (any track if
// pred is nil), including tracks received before the call.
func (c *Client) WaitTrack(ctx context.Context, pred func(*RemoteTrack) bool) (*RemoteTrack, error) {
	seen := 0
	for {
		c.mu.Lock()
		tracks := c.tracks[seen:]
		seen = len(c.tracks)
		changed := c.changed
		sessionErr := c.err
		c.mu.Unlock()
		for _, t := range tracks {
			if pred == nil || pred(t) {
				return t, nil
			}
		}
		if sessionErr != nil {
			return nil, sessionErr
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("client: waiting for a track: %w", ctx.Err())
		case <-changed:
		}
	}
}

// ParticipantSID is the publisher's participant sid.
func (t *RemoteTrack) ParticipantSID() string { return t.participantSID }

// Identity is the publisher's identity, if the server has announced the
// participant (in join or an update); empty otherwise.
func (t *RemoteTrack) Identity() string {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.c.identities[t.participantSID]
}

// SID is the track sid (TR_…).
func (t *RemoteTrack) SID() string { return t.trackSID }

// Kind is audio or video.
func (t *RemoteTrack) Kind() webrtc.RTPCodecType { return t.track.Kind() }

// Codec is the negotiated codec.
func (t *RemoteTrack) Codec() webrtc.RTPCodecParameters { return t.track.Codec() }

// ReadRTP reads and parses the next RTP packet.
func (t *RemoteTrack) ReadRTP() (*rtp.Packet, error) {
	p, _, err := t.track.ReadRTP()
	return p, err
}

// Read reads the next RTP packet, unparsed, into b; it does not allocate.
func (t *RemoteTrack) Read(b []byte) (int, error) {
	n, _, err := t.track.Read(b)
	return n, err
}

// RequestKeyframe sends a Picture Loss Indication for this track (RFC 4585
// section 6.3.1), asking the SFU for a keyframe.
func (t *RemoteTrack) RequestKeyframe() error {
	return t.c.sub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.track.SSRC())}})
}

// Track is the underlying Pion track.
func (t *RemoteTrack) Track() *webrtc.TrackRemote { return t.track }
