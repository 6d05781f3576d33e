// Package recordingtest publishes a synthetic class for the recording tests:
// a real VP8 camera (160×120, 15 fps, a keyframe every second) and a real
// Opus microphone that says it is speaking (RFC 6464 audio levels), sent
// in real time through a signaling client, so that what is recorded is
// decodable by ffmpeg.
package recordingtest

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"yunke/signaling/client"
)

//go:embed testdata
var testdata embed.FS

// audioLevelURI is the RFC 6464 header extension.
const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

func frames(name string) ([][]byte, error) {
	b, err := testdata.ReadFile("testdata/" + name)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	if name == "low.ivf" {
		r, _, err := ivfreader.NewWith(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		for {
			f, _, err := r.ParseNextFrame()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	r, _, err := oggreader.NewWith(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	for {
		p, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(p, []byte("OpusHead")) || bytes.HasPrefix(p, []byte("OpusTags")) {
			continue
		}
		out = append(out, p)
	}
}

// Publisher is a synthetic participant sending a camera and a microphone.
type Publisher struct {
	Camera, Mic *client.LocalTrack
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	mu          sync.Mutex
	err         error
}

// Publish publishes c's camera and microphone and sends media until Stop.
func Publish(ctx context.Context, c *client.Client) (*Publisher, error) {
	video, err := frames("low.ivf")
	if err != nil {
		return nil, fmt.Errorf("recordingtest: %w", err)
	}
	audio, err := frames("opus.ogg")
	if err != nil {
		return nil, fmt.Errorf("recordingtest: %w", err)
	}
	cam, err := c.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Name: "camera", Width: 160, Height: 120})
	if err != nil {
		return nil, err
	}
	mic, err := c.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeOpus, Name: "microphone"})
	if err != nil {
		return nil, err
	}
	run, cancel := context.WithCancel(context.Background())
	p := &Publisher{Camera: cam, Mic: mic, cancel: cancel}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(time.Second / 15)
		defer tick.Stop()
		for i := 0; ; i++ {
			if err := cam.WriteSample(media.Sample{Data: video[i%len(video)], Duration: time.Second / 15}); err != nil {
				p.fail(err)
			}
			select {
			case <-run.Done():
				return
			case <-tick.C:
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		ext := mic.HeaderExtensionID(audioLevelURI)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		seq, ts := uint16(rand.Uint32()), rand.Uint32()
		for i := 0; ; i++ {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: i == 0},
				Payload: audio[i%len(audio)]}
			if ext != 0 {
				_ = pkt.Header.SetExtension(ext, []byte{0x80 | 20}) // voice, -20 dBov
			}
			if err := mic.WriteRTP(pkt); err != nil {
				p.fail(err)
			}
			seq++
			ts += 960
			select {
			case <-run.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p, nil
}

func (p *Publisher) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// Stop stops sending and returns the first write error, if any.
func (p *Publisher) Stop() error {
	p.cancel()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
