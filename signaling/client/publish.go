package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Simulcast layer RIDs, as the JS SDK names them (quarter, half, full size).
const (
	RIDLow    = "q"
	RIDMedium = "h"
	RIDHigh   = "f"
)

// TrackOptions describe a track to publish.
type TrackOptions struct {
	// MimeType is the codec: webrtc.MimeTypeVP8, MimeTypeH264, MimeTypeVP9,
	// MimeTypeAV1 (video) or MimeTypeOpus (audio).
	MimeType string
	// Name is the track name shown to others.
	Name string
	// Source defaults to CAMERA for video and MICROPHONE for audio.
	Source livekit.TrackSource
	// Width and Height of the video (default 1280×720).
	Width, Height uint32
	// Simulcast sends three layers with RIDs q, h and f (video only).
	Simulcast bool
	// Muted publishes the track muted.
	Muted bool
	// OnKeyframeRequest is called (on an RTCP goroutine) when the server asks
	// for a keyframe with a PLI or FIR.
	OnKeyframeRequest func(rid string)
}

// LocalTrack is a published track. Write RTP packets (with your own sequence
// numbers and timestamps) or media samples (packetized here); Pion sets the
// SSRC and payload type.
type LocalTrack struct {
	c           *Client
	info        *livekit.TrackInfo
	cid         string
	layers      map[string]*webrtc.TrackLocalStaticRTP // by rid; "" without simulcast
	top         *webrtc.TrackLocalStaticRTP
	transceiver *webrtc.RTPTransceiver
	simulcast   bool
	midExt      uint8
	ridExt      uint8
	mid         string
	keyframeReq atomic.Uint64

	mu         sync.Mutex // guards packetizer
	packetizer rtp.Packetizer
	clockRate  uint32
}

func newCID() string {
	var b [12]byte
	rand.Read(b[:])
	return "TR_c" + hex.EncodeToString(b[:])
}

func codecCapability(mime string) (webrtc.RTPCodecCapability, webrtc.RTPCodecType, error) {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeOpus):
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"}, webrtc.RTPCodecTypeAudio, nil
	case strings.ToLower(webrtc.MimeTypeVP8), strings.ToLower(webrtc.MimeTypeVP9), strings.ToLower(webrtc.MimeTypeAV1):
		return webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}, webrtc.RTPCodecTypeVideo, nil
	case strings.ToLower(webrtc.MimeTypeH264):
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, webrtc.RTPCodecTypeVideo, nil
	}
	return webrtc.RTPCodecCapability{}, 0, fmt.Errorf("client: unsupported codec %q", mime)
}

func payloader(mime string) (rtp.Payloader, error) {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeOpus):
		return &codecs.OpusPayloader{}, nil
	case strings.ToLower(webrtc.MimeTypeVP8):
		return &codecs.VP8Payloader{EnablePictureID: true}, nil
	case strings.ToLower(webrtc.MimeTypeVP9):
		return &codecs.VP9Payloader{}, nil
	case strings.ToLower(webrtc.MimeTypeAV1):
		return &codecs.AV1Payloader{}, nil
	case strings.ToLower(webrtc.MimeTypeH264):
		return &codecs.H264Payloader{}, nil
	}
	return nil, fmt.Errorf("client: no packetizer for %q", mime)
}

// PublishTrack announces a track (addTrack), waits for the server's
// trackPublished, adds the track to the publisher PeerConnection and
// negotiates it. It returns once the publisher PeerConnection is connected.
func (c *Client) PublishTrack(ctx context.Context, o TrackOptions) (*LocalTrack, error) {
	capability, kind, err := codecCapability(o.MimeType)
	if err != nil {
		return nil, err
	}
	if o.Simulcast && kind != webrtc.RTPCodecTypeVideo {
		return nil, errors.New("client: simulcast needs a video track")
	}
	cid := newCID()
	req := &livekit.AddTrackRequest{Cid: cid, Name: o.Name, Source: o.Source, Muted: o.Muted}
	if kind == webrtc.RTPCodecTypeAudio {
		req.Type = livekit.TrackType_AUDIO
		if req.Source == livekit.TrackSource_UNKNOWN {
			req.Source = livekit.TrackSource_MICROPHONE
		}
	} else {
		req.Type = livekit.TrackType_VIDEO
		if req.Source == livekit.TrackSource_UNKNOWN {
			req.Source = livekit.TrackSource_CAMERA
		}
		req.Width, req.Height = o.Width, o.Height
		if req.Width == 0 || req.Height == 0 {
			req.Width, req.Height = 1280, 720
		}
		if o.Simulcast {
			req.Layers = []*livekit.VideoLayer{
				{Quality: livekit.VideoQuality_LOW, Width: req.Width / 4, Height: req.Height / 4, Rid: RIDLow},
				{Quality: livekit.VideoQuality_MEDIUM, Width: req.Width / 2, Height: req.Height / 2, Rid: RIDMedium},
				{Quality: livekit.VideoQuality_HIGH, Width: req.Width, Height: req.Height, Rid: RIDHigh},
			}
		} else {
			req.Layers = []*livekit.VideoLayer{{Quality: livekit.VideoQuality_HIGH, Width: req.Width, Height: req.Height}}
		}
		codecName := strings.ToLower(strings.TrimPrefix(strings.ToLower(capability.MimeType), "video/"))
		req.SimulcastCodecs = []*livekit.SimulcastCodec{{Codec: codecName, Cid: cid}}
	}

	published := make(chan *livekit.TrackInfo, 1)
	c.mu.Lock()
	c.pendingPublish[cid] = published
	c.mu.Unlock()
	if err := c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: req}}); err != nil {
		return nil, err
	}
	var info *livekit.TrackInfo
	select {
	case info = <-published:
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pendingPublish, cid)
		c.mu.Unlock()
		return nil, fmt.Errorf("client: waiting for trackPublished: %w", ctx.Err())
	case <-c.done:
		return nil, c.Err()
	}

	t := &LocalTrack{c: c, info: info, cid: cid, layers: map[string]*webrtc.TrackLocalStaticRTP{},
		simulcast: o.Simulcast, clockRate: capability.ClockRate}
	rids := []string{""}
	if o.Simulcast {
		rids = []string{RIDLow, RIDMedium, RIDHigh}
	}
	for _, rid := range rids {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if rid != "" {
			opts = append(opts, webrtc.WithRTPStreamID(rid))
		}
		l, err := webrtc.NewTrackLocalStaticRTP(capability, cid, cid, opts...)
		if err != nil {
			return nil, fmt.Errorf("client: local track: %w", err)
		}
		t.layers[rid] = l
		t.top = l
	}

	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	t.transceiver, err = c.pub.pc.AddTransceiverFromTrack(t.layers[rids[0]],
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, fmt.Errorf("client: adding track: %w", err)
	}
	sender := t.transceiver.Sender()
	for _, rid := range rids[1:] {
		if err := sender.AddEncoding(t.layers[rid]); err != nil {
			return nil, fmt.Errorf("client: adding simulcast layer %s: %w", rid, err)
		}
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, c.err
	}
	for _, rid := range rids {
		c.wg.Add(1)
		go t.readRTCP(sender, rid, o.OnKeyframeRequest)
	}
	c.mu.Unlock()

	if err := c.negotiatePublisherLocked(ctx); err != nil {
		return nil, err
	}
	for _, ext := range sender.GetParameters().HeaderExtensions {
		switch ext.URI {
		case sdp.SDESMidURI:
			t.midExt = uint8(ext.ID)
		case sdp.SDESRTPStreamIDURI:
			t.ridExt = uint8(ext.ID)
		}
	}
	t.mid = t.transceiver.Mid()
	if o.Simulcast && (t.midExt == 0 || t.ridExt == 0) {
		return nil, errors.New("client: server did not accept the mid and rid header extensions simulcast needs")
	}
	return t, nil
}

// readRTCP drains the sender's RTCP, which lets the interceptors answer
// NACKs, and counts keyframe requests.
func (t *LocalTrack) readRTCP(sender *webrtc.RTPSender, rid string, onKeyframe func(string)) {
	defer t.c.wg.Done()
	buf := make([]byte, 1500)
	for {
		var n int
		var err error
		if rid == "" {
			n, _, err = sender.Read(buf)
		} else {
			n, _, err = sender.ReadSimulcast(buf, rid)
		}
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				t.keyframeReq.Add(1)
				if onKeyframe != nil {
					onKeyframe(rid)
				}
			}
		}
	}
}

// HeaderExtensionID is the negotiated id of an RTP header extension (for
// example sdp.AudioLevelURI), or 0 if the server did not accept it.
func (t *LocalTrack) HeaderExtensionID(uri string) uint8 {
	for _, ext := range t.transceiver.Sender().GetParameters().HeaderExtensions {
		if ext.URI == uri {
			return uint8(ext.ID)
		}
	}
	return 0
}

// SID is the track sid the server assigned (TR_…).
func (t *LocalTrack) SID() string { return t.info.GetSid() }

// CID is the client id the track was announced with.
func (t *LocalTrack) CID() string { return t.cid }

// Info is the TrackInfo from trackPublished.
func (t *LocalTrack) Info() *livekit.TrackInfo { return t.info }

// KeyframeRequests is how many PLIs and FIRs the server has sent for this
// track.
func (t *LocalTrack) KeyframeRequests() uint64 { return t.keyframeReq.Load() }

// WriteRTP sends one RTP packet (on the top layer of a simulcast track).
func (t *LocalTrack) WriteRTP(p *rtp.Packet) error {
	if t.simulcast {
		return t.WriteLayerRTP(RIDHigh, p)
	}
	return ignoreClosedPipe(t.top.WriteRTP(p))
}

// WriteLayerRTP sends one RTP packet on a simulcast layer (RIDLow,
// RIDMedium, RIDHigh), tagging it with the mid and rid header extensions by
// which the SFU tells layers apart (RFC 8852 section 3.1).
func (t *LocalTrack) WriteLayerRTP(rid string, p *rtp.Packet) error {
	l := t.layers[rid]
	if l == nil {
		return fmt.Errorf("client: track %s has no layer %q", t.SID(), rid)
	}
	if !t.simulcast {
		return ignoreClosedPipe(l.WriteRTP(p))
	}
	h := p.Header
	h.Extensions = append([]rtp.Extension(nil), p.Header.Extensions...)
	if err := h.SetExtension(t.midExt, []byte(t.mid)); err != nil {
		return err
	}
	if err := h.SetExtension(t.ridExt, []byte(rid)); err != nil {
		return err
	}
	return ignoreClosedPipe(l.WriteRTP(&rtp.Packet{Header: h, Payload: p.Payload}))
}

// WriteSample packetizes one encoded frame (or audio packet) and sends it (on
// the top layer of a simulcast track).
func (t *LocalTrack) WriteSample(s media.Sample) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.packetizer == nil {
		pl, err := payloader(t.top.Codec().MimeType)
		if err != nil {
			return err
		}
		t.packetizer = rtp.NewPacketizer(1200, 0, 0, pl, rtp.NewRandomSequencer(), t.clockRate)
	}
	samples := uint32(s.Duration.Seconds() * float64(t.clockRate))
	for _, p := range t.packetizer.Packetize(s.Data, samples) {
		if err := t.WriteRTP(p); err != nil {
			return err
		}
	}
	return nil
}

// Unpublish removes the track from the publisher PeerConnection and
// renegotiates; as in the protocol, no signal names the track.
func (t *LocalTrack) Unpublish(ctx context.Context) error {
	c := t.c
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if err := c.pub.pc.RemoveTrack(t.transceiver.Sender()); err != nil {
		return fmt.Errorf("client: removing track: %w", err)
	}
	return c.negotiatePublisherLocked(ctx)
}

// ignoreClosedPipe hides the error Pion returns while a track is not yet
// bound (before the connection is up) or after it is unbound.
func ignoreClosedPipe(err error) error {
	if errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return err
}
