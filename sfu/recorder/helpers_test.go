package recorder

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
	"go.uber.org/goleak"

	"yunke/sfu"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	opusCap = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	vp8Cap  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	vp9Cap  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}
	h264Cap = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}
)

// audioLevelExt is the RFC 6464 extension id the tests' publishers use.
const audioLevelExt = 1

// fakeRemote feeds a Track raw RTP packets from a channel, as a publisher's
// webrtc.TrackRemote would.
type fakeRemote struct {
	ssrc webrtc.SSRC
	in   chan []byte
	once sync.Once
}

func newFakeRemote(t testing.TB, ssrc uint32) *fakeRemote {
	r := &fakeRemote{ssrc: webrtc.SSRC(ssrc), in: make(chan []byte, 4096)}
	t.Cleanup(r.close)
	return r
}

func (r *fakeRemote) close() { r.once.Do(func() { close(r.in) }) }

func (r *fakeRemote) Read(b []byte) (int, interceptor.Attributes, error) {
	pkt, ok := <-r.in
	if !ok {
		return 0, nil, io.EOF
	}
	return copy(b, pkt), nil, nil
}

func (r *fakeRemote) SSRC() webrtc.SSRC { return r.ssrc }

func (r *fakeRemote) send(t testing.TB, p *rtp.Packet) {
	t.Helper()
	p.SSRC = uint32(r.ssrc)
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r.in <- b
}

// fakePublisher counts keyframe requests per SSRC.
type fakePublisher struct {
	mu   sync.Mutex
	plis map[uint32]int
}

func (p *fakePublisher) WriteRTCP(pkts []rtcp.Packet) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.plis == nil {
		p.plis = map[uint32]int{}
	}
	for _, pk := range pkts {
		if pli, ok := pk.(*rtcp.PictureLossIndication); ok {
			p.plis[pli.MediaSSRC]++
		}
	}
	return nil
}

func (p *fakePublisher) count(ssrc uint32) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plis[ssrc]
}

// countingRequester counts RequestKeyframe calls per layer.
type countingRequester struct {
	mu sync.Mutex
	n  [sfu.MaxLayers]int
}

func (c *countingRequester) RequestKeyframe(l int) {
	c.mu.Lock()
	c.n[l]++
	c.mu.Unlock()
}

func (c *countingRequester) count(l int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[l]
}

// tapSource is a Source for tests that drive a recorder's OnPacket by hand.
type tapSource struct {
	countingRequester
	mu   sync.Mutex
	taps []sfu.Tap
}

func (s *tapSource) AddTap(t sfu.Tap) func() {
	s.mu.Lock()
	s.taps = append(s.taps, t)
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(t.OnClose) }
}

func (s *tapSource) packet(p *sfu.Packet) {
	s.mu.Lock()
	taps := s.taps
	s.mu.Unlock()
	for _, t := range taps {
		t.OnPacket(p)
	}
}

// testFrame is one encoded frame of a test stream.
type testFrame struct {
	data []byte
	key  bool
}

// readIVF reads every frame of a testdata IVF file.
func readIVF(t testing.TB, name string) []testFrame {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []testFrame
	for {
		b, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		key := b[0]&1 == 0 // VP8
		if strings.HasPrefix(name, "vp9") {
			_, _, key = vp9Header(b)
		}
		out = append(out, testFrame{data: b, key: key})
	}
}

// readOgg reads every Opus packet of a testdata Ogg file (one per page).
func readOgg(t testing.TB, name string) []testFrame {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []testFrame
	for {
		b, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasPrefix(b, []byte("OpusTags")) {
			continue
		}
		out = append(out, testFrame{data: b, key: true})
	}
}

// readH264 reads an Annex-B stream into access units (one per VCL NAL,
// with the SPS/PPS before an IDR).
func readH264(t testing.TB, name string) []testFrame {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := h264reader.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []testFrame
	var au []byte
	key := false
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
		switch nal.UnitType {
		case h264reader.NalUnitTypeCodedSliceIdr:
			key = true
			fallthrough
		case h264reader.NalUnitTypeCodedSliceNonIdr:
			out = append(out, testFrame{data: au, key: key})
			au, key = nil, false
		}
	}
}

// packetizer turns frames into RTP packets for one stream.
func packetizer(mime string, ssrc uint32, seq uint16) rtp.Packetizer {
	var (
		pl    rtp.Payloader
		clock uint32 = 90000
		pt    uint8  = 96
	)
	switch mime {
	case webrtc.MimeTypeOpus:
		pl, clock, pt = &codecs.OpusPayloader{}, 48000, 111
	case webrtc.MimeTypeVP8:
		pl = &codecs.VP8Payloader{EnablePictureID: true}
	case webrtc.MimeTypeVP9:
		pl = &codecs.VP9Payloader{InitialPictureIDFn: func() uint16 { return 1 }}
	case webrtc.MimeTypeH264:
		pl, pt = &codecs.H264Payloader{}, 125
	}
	return rtp.NewPacketizer(1200, pt, ssrc, pl, rtp.NewFixedSequencer(seq), clock)
}

// lossy drops a share of packets and swaps some neighbours, deterministically.
type lossy struct {
	rng     *rand.Rand
	loss    float64
	reorder float64
	held    *rtp.Packet
	lost    int
}

func newLossy(seed uint64, loss, reorder float64) *lossy {
	return &lossy{rng: rand.New(rand.NewPCG(seed, seed)), loss: loss, reorder: reorder}
}

// apply returns the packets to send now, in order.
func (l *lossy) apply(pkts []*rtp.Packet) []*rtp.Packet {
	var out []*rtp.Packet
	for _, p := range pkts {
		if l.rng.Float64() < l.loss {
			l.lost++
			continue
		}
		if l.held != nil {
			out = append(out, p, l.held) // p overtakes the held one
			l.held = nil
			continue
		}
		if l.rng.Float64() < l.reorder {
			l.held = p
			continue
		}
		out = append(out, p)
	}
	return out
}

func (l *lossy) flush() []*rtp.Packet {
	if l.held == nil {
		return nil
	}
	p := l.held
	l.held = nil
	return []*rtp.Packet{p}
}

// withLevel sets the RFC 6464 audio level (-dBov) on a packet.
func withLevel(t testing.TB, p *rtp.Packet, level byte) *rtp.Packet {
	t.Helper()
	if err := p.Header.SetExtension(audioLevelExt, []byte{0x80 | level}); err != nil {
		t.Fatal(err)
	}
	return p
}

// requireFFmpeg fails (never skips) when ffmpeg/ffprobe are missing.
func requireFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: the recorder's tests decode every file with Debian's ffmpeg; `make deps` installs it", tool)
		}
	}
}

// decodes checks that ffmpeg decodes every frame of a file without an error.
func decodes(t testing.TB, path string) {
	t.Helper()
	requireFFmpeg(t)
	// -enc_time_base -1 keeps the file's millisecond time base through the
	// null output: frames at 15 fps that start at an odd millisecond would
	// otherwise round onto one another in a 1/15 s time base, which ffmpeg
	// reports although every frame decoded.
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-enc_time_base", "-1", "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg could not decode %s cleanly: %v\n%s", filepath.Base(path), err, out)
	}
}

// probeDuration is the duration ffprobe reads from a file's header, in ms.
func probeDuration(t testing.TB, path string) int64 {
	t.Helper()
	requireFFmpeg(t)
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	s := strings.TrimSpace(string(out))
	d, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("ffprobe %s: duration %q", path, s)
	}
	return int64(d*1000 + 0.5)
}

// parsedFrame is one block read back with ebml-go.
type parsedFrame struct {
	track uint64
	tc    int64
	key   bool
	data  []byte
}

type parsedFile struct {
	Header  webm.EBMLHeader `ebml:"EBML"`
	Segment webm.Segment    `ebml:"Segment"`
}

// parse reads a whole file back with ebml-go's reader (independent of the
// package's own reader) and lists its frames.
func parse(t testing.TB, path string) (parsedFile, []parsedFrame) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pf parsedFile
	if err := ebml.Unmarshal(f, &pf); err != nil {
		t.Fatalf("ebml-go cannot read %s: %v", filepath.Base(path), err)
	}
	var frames []parsedFrame
	for _, c := range pf.Segment.Cluster {
		for _, b := range c.SimpleBlock {
			frames = append(frames, parsedFrame{track: b.TrackNumber, tc: int64(c.Timecode) + int64(b.Timecode), key: b.Keyframe, data: bytes.Join(b.Data, nil)})
		}
	}
	return pf, frames
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fakeClock is a Params.Clock the test moves by hand, with packets'
// arrival times to match.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() int64 { return c.ns.Load() }

// synth feeds a recorder packets of a stream with made-up arrival times.
type synth struct {
	src   *tapSource
	pz    rtp.Packetizer
	layer int8
	n     int // packets fed
}

func newSynth(src *tapSource, mime string, ssrc uint32, layer int8) *synth {
	return &synth{src: src, pz: packetizer(mime, ssrc, uint16(ssrc*1000)), layer: layer}
}

// frame packetizes one frame arriving at arrival; level > 0 adds an audio level.
func (s *synth) frame(t testing.TB, data []byte, samples uint32, arrival int64, level byte) {
	t.Helper()
	for _, p := range s.pz.Packetize(data, samples) {
		if level > 0 {
			withLevel(t, p, level)
		}
		s.src.packet(&sfu.Packet{Header: p.Header, Payload: p.Payload, Layer: s.layer, Arrival: arrival})
		s.n++
	}
}

// skip advances the stream's timestamps without sending.
func (s *synth) skip(samples uint32) { s.pz.SkipSamples(samples) }

// recordSynthetic records a camera (frames of one IVF file, from video
// offset on) and a microphone through tapSources with made-up arrival times,
// fast, and returns the manifest.
func recordSynthetic(t testing.TB, dir, ivf string, mime string, videoAt time.Duration) Manifest {
	t.Helper()
	clock := &fakeClock{}
	clock.ns.Store(int64(time.Second))
	s, err := Start(Params{Dir: dir, Clock: clock.now, QueueSize: 1 << 15, StartTime: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	cam, mic := &tapSource{}, &tapSource{}
	if _, err := s.AddTrack(TrackMeta{TrackID: "TR_v", Participant: "t1", Role: RoleTeacher, Source: SourceCamera, Codec: mime}, cam); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTrack(TrackMeta{TrackID: "TR_a", Participant: "t1", Role: RoleTeacher, Source: SourceMicrophone, Codec: webrtc.MimeTypeOpus, AudioLevelExtID: audioLevelExt}, mic); err != nil {
		t.Fatal(err)
	}
	var frames []testFrame
	if mime == webrtc.MimeTypeH264 {
		frames = readH264(t, ivf)
	} else {
		frames = readIVF(t, ivf)
	}
	opus := readOgg(t, "opus.ogg")
	vs, as := newSynth(cam, mime, 7, 0), newSynth(mic, webrtc.MimeTypeOpus, 8, 0)
	base := clock.now()
	vi := 0
	for ai := range opus {
		at := time.Duration(ai) * 20 * time.Millisecond
		for vi < len(frames) && videoAt+time.Duration(vi)*time.Second/15 <= at {
			vs.frame(t, frames[vi].data, 6000, base+int64(videoAt)+int64(vi)*int64(time.Second)/15, 0)
			vi++
		}
		as.frame(t, opus[ai].data, 960, base+int64(at), 20)
	}
	clock.ns.Store(base + int64(4*time.Second))
	return s.Stop()
}

// seekDecodes checks that ffmpeg can seek to pos (seconds) and decode on.
func seekDecodes(t testing.TB, path, pos string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-ss", pos, "-i", path, "-enc_time_base", "-1", "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg could not seek in %s: %v\n%s", filepath.Base(path), err, out)
	}
}
