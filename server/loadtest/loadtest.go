// Package loadtest drives simulated classes against any server that speaks
// LiveKit's client protocol: publishers send synthetic VP8 and Opus, paced
// subscribers receive them, and the run reports loss, duplicates, order,
// bitrate and forwarding latency.
//
// Publishers and subscribers live in this one process, so every packet can
// carry its send time on the process's monotonic clock and a per-track
// counter (see media.go); subscribers measure latency and loss from them
// without trusting anything the SFU rewrites.
package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"yunke/signaling/client"
)

// Config is one load run.
type Config struct {
	URL              string
	APIKey           string
	APISecret        string
	Room             string
	Publishers       int
	Subscribers      int
	Duration         time.Duration // steady phase, after every subscriber has joined (and Warmup)
	Warmup           time.Duration // after the last join, before the steady phase
	VideoBitrate     int64         // bits per second; 0 sends no video
	FPS              int
	KeyframeInterval time.Duration
	Audio            bool
	// Simulcast publishes the camera as three layers (RIDs q, h, f) at
	// 1/16, 1/4 and all of VideoBitrate, each its own marker stream.
	Simulcast bool
	// ScreenBitrate, if positive, publishes a screen share track too (VP8,
	// source SCREEN_SHARE) at ScreenFPS frames a second.
	ScreenBitrate int64
	ScreenFPS     int
	// LayerSwitch, if positive, has every subscriber alternate the quality
	// it asks for of each video track between low and high this often in
	// the steady window, so the SFU switches simulcast layers.
	LayerSwitch    time.Duration
	JoinRate       float64 // subscriber joins per second
	ConnectTimeout time.Duration
	Grace          time.Duration // wait for in-flight packets after publishers stop
	ICELoopback    bool
	ServerPID      int // if set, the server's CPU time over the steady window is measured (Linux)
	// Teacher, if set, is the identity of the first publisher, which joins
	// with the role attribute "teacher" as the app's class tokens give it:
	// on a Yunke server a class room ("s<school>-…") with its teacher
	// ("u<account>") in it is recorded.
	Teacher string
	JSON    bool
	Verbose bool

	// Class runs the class scenario (class.go): accounts and a class made
	// through the API as AdminUser, students signed in with
	// StudentPassword, Hands of them raising a hand, a poll, the stage,
	// and chat at ChatRate messages a second.
	Class           bool
	AdminUser       string
	AdminPassword   string
	StudentPassword string
	Hands           int
	ChatRate        float64
}

// Command runs `yunke loadtest`. It returns flag.ErrHelp after printing help.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, rooms, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if cfg.Verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if rooms > 1 {
		return runRooms(ctx, cfg, rooms, log, stdout)
	}
	sum, err := Run(ctx, cfg, log)
	if sum != nil {
		if cfg.JSON {
			b, _ := json.Marshal(sum)
			fmt.Fprintln(stdout, string(b))
		} else {
			sum.Print(stdout)
		}
	}
	return err
}

// runRooms runs the same load in rooms rooms at once (named room-1 …), one
// Run each in this process, and prints each room's summary as it ends (one
// JSON line each with --json). Each room's server CPU figure covers its own
// steady window; the per-packet figure across rooms is the server's CPU
// over the summed packet rates.
func runRooms(ctx context.Context, cfg Config, rooms int, log *slog.Logger, stdout io.Writer) error {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for i := range rooms {
		c := cfg
		c.Room = fmt.Sprintf("%s-%d", cfg.Room, i+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sum, err := Run(ctx, c, log.With("room", c.Room))
			mu.Lock()
			defer mu.Unlock()
			if sum != nil {
				if cfg.JSON {
					b, _ := json.Marshal(sum)
					fmt.Fprintln(stdout, string(b))
				} else {
					sum.Print(stdout)
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("room %s: %w", c.Room, err))
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func parseFlags(args []string, stderr io.Writer) (Config, int, error) {
	cfg := Config{}
	rooms := 1
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		// GNU-style flags (--url), like the other yunke commands; the flag
		// package accepts both - and --.
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
		fmt.Fprintf(stderr, "Usage: yunke loadtest [flags]\n\n"+
			"Joins publishers that send synthetic VP8 and Opus and paced subscribers that\n"+
			"receive them, on any LiveKit-compatible server, and reports loss, order,\n"+
			"bitrate and forwarding latency.\n\n"+
			"  yunke loadtest --url http://127.0.0.1:7880 --subscribers 100 --duration 1m\n\nFlags:%s",
			strings.ReplaceAll("\n"+b.String(), "\n  -", "\n  --"))
	}
	bitrate := "1.5M"
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:7880", "server base URL (http, https, ws or wss)")
	fs.StringVar(&cfg.APIKey, "api-key", "devkey", "API key to sign tokens with")
	fs.StringVar(&cfg.APISecret, "api-secret", "secret", "API secret to sign tokens with")
	fs.StringVar(&cfg.Room, "room", "loadtest", "room name")
	fs.IntVar(&cfg.Publishers, "publishers", 1, "number of publishers")
	fs.IntVar(&cfg.Subscribers, "subscribers", 10, "number of subscribers")
	fs.IntVar(&rooms, "rooms", 1, "run the load in this many rooms at once (named <room>-1 …), e.g. --rooms 25 --subscribers 1 for one-to-one tutoring rooms; one summary per room")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "steady phase, after every subscriber has joined")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "wait after the last join before the steady phase (its figures then exclude joins and first keyframes)")
	fs.StringVar(&bitrate, "video-bitrate", bitrate, "video bitrate per publisher, e.g. 800k, 1.5M; 0 for no video")
	fs.IntVar(&cfg.FPS, "fps", 30, "video frames per second")
	fs.DurationVar(&cfg.KeyframeInterval, "keyframe-interval", 2*time.Second, "time between video keyframes")
	fs.BoolVar(&cfg.Audio, "audio", true, "publish Opus audio too (50 packets/s)")
	simulcast := fs.Bool("simulcast", false, "publish the camera as three simulcast layers (q, h, f at 1/16, 1/4 and all of --video-bitrate); on by default with --class")
	screen := fs.Bool("screen", false, "publish a screen share track too (VP8 at --screen-bitrate and --screen-fps); on by default with --class")
	screenBitrate := "500k"
	fs.StringVar(&screenBitrate, "screen-bitrate", screenBitrate, "with --screen: the screen share's bitrate")
	fs.IntVar(&cfg.ScreenFPS, "screen-fps", 5, "with --screen: the screen share's frames per second")
	fs.DurationVar(&cfg.LayerSwitch, "layer-switch", 0, "with --simulcast: every subscriber alternates between asking for the low and the high layer this often in the steady window (0: never)")
	fs.Float64Var(&cfg.JoinRate, "join-rate", 20, "subscriber joins per second")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 15*time.Second, "per-participant connection timeout")
	fs.DurationVar(&cfg.Grace, "grace", time.Second, "wait for in-flight packets after publishers stop")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "measure this process's CPU time (the server's, on this host) over the steady window")
	fs.BoolVar(&cfg.ICELoopback, "ice-loopback", false, "use only the loopback interface for ICE (server on this host)")
	fs.StringVar(&cfg.Teacher, "teacher", "", "the first publisher joins as this `identity` with the role attribute teacher (e.g. u1 in room s1-x: a Yunke server records that class)")
	fs.BoolVar(&cfg.JSON, "json", false, "print the summary as one JSON line")
	fs.BoolVar(&cfg.Verbose, "v", false, "log every participant's connection")
	fs.BoolVar(&cfg.Class, "class", false, "run a Yunke class: the publisher is its teacher, the subscribers its students, with hands, stage, a poll and chat (see docs/benchmarks.md)")
	fs.StringVar(&cfg.AdminUser, "admin-user", "admin", "with --class: the administrator who makes the accounts and the class")
	fs.StringVar(&cfg.AdminPassword, "admin-password", os.Getenv("YUNKE_LOADTEST_ADMIN_PASSWORD"), "with --class: the administrator's password (env YUNKE_LOADTEST_ADMIN_PASSWORD)")
	fs.StringVar(&cfg.StudentPassword, "student-password", "Loadtest-student-1", "with --class: the password of the accounts the scenario makes")
	fs.IntVar(&cfg.Hands, "hands", 30, "with --class: students who raise a hand")
	fs.Float64Var(&cfg.ChatRate, "chat-rate", 1, "with --class: chat messages per second from the students")
	if err := fs.Parse(args); err != nil {
		return cfg, rooms, err
	}
	if fs.NArg() > 0 {
		return cfg, rooms, fmt.Errorf("loadtest: unexpected argument %q", fs.Arg(0))
	}
	var err error
	if cfg.VideoBitrate, err = ParseBitrate(bitrate); err != nil {
		return cfg, rooms, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg.Simulcast = *simulcast || !set["simulcast"] && cfg.Class
	if *screen || !set["screen"] && cfg.Class {
		if cfg.ScreenBitrate, err = ParseBitrate(screenBitrate); err != nil {
			return cfg, rooms, err
		}
	}
	if rooms < 1 || rooms > 1000 || rooms > 1 && cfg.Class {
		return cfg, rooms, errors.New("loadtest: --rooms must be 1 to 1000, and 1 with --class")
	}
	return cfg, rooms, cfg.validate()
}

func (c *Config) validate() error {
	switch {
	case c.Publishers < 1 || c.Publishers > math.MaxUint16:
		return errors.New("loadtest: --publishers must be between 1 and 65535")
	case c.Subscribers < 0:
		return errors.New("loadtest: --subscribers must not be negative")
	case c.VideoBitrate == 0 && !c.Audio:
		return errors.New("loadtest: nothing to send: --video-bitrate 0 and --audio=false")
	case c.VideoBitrate > 0 && (c.FPS < 1 || c.FPS > 120):
		return errors.New("loadtest: --fps must be between 1 and 120")
	case c.ScreenBitrate > 0 && (c.ScreenFPS < 1 || c.ScreenFPS > 120):
		return errors.New("loadtest: --screen-fps must be between 1 and 120")
	case c.JoinRate <= 0:
		return errors.New("loadtest: --join-rate must be positive")
	case c.Duration <= 0 || c.ConnectTimeout <= 0:
		return errors.New("loadtest: --duration and --connect-timeout must be positive")
	case c.Warmup < 0:
		return errors.New("loadtest: --warmup must not be negative")
	case c.LayerSwitch < 0:
		return errors.New("loadtest: --layer-switch must not be negative")
	case !c.Class && (c.APIKey == "" || c.APISecret == ""):
		return errors.New("loadtest: --api-key and --api-secret are required")
	case c.Class && c.Publishers != 1:
		return errors.New("loadtest: --class has one publisher, the teacher")
	case c.Class && (c.AdminUser == "" || c.AdminPassword == ""):
		return errors.New("loadtest: --class needs --admin-user and --admin-password")
	case c.Class && (c.Hands < 0 || c.ChatRate < 0 || c.ChatRate > 100):
		return errors.New("loadtest: --hands must not be negative, --chat-rate must be 0–100")
	case c.Class && c.Duration < 10*time.Second:
		return errors.New("loadtest: --class needs a --duration of 10s or more (hands, stage and poll happen in its first 5 s)")
	}
	if c.KeyframeInterval <= 0 {
		c.KeyframeInterval = 2 * time.Second
	}
	return nil
}

// ParseBitrate parses a bitrate in bits per second with an optional k, M or
// G suffix (decimal): "1.5M" is 1,500,000.
func ParseBitrate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "bps"), "b")
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1e3, t[:n-1]
		case 'm', 'M':
			mult, t = 1e6, t[:n-1]
		case 'g', 'G':
			mult, t = 1e9, t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || f*mult > 1e11 {
		return 0, fmt.Errorf("loadtest: bad bitrate %q (want e.g. 800k or 1.5M)", s)
	}
	return int64(f * mult), nil
}

// run is the state of one load run.
type run struct {
	cfg    Config
	log    *slog.Logger
	epoch  time.Time // the monotonic clock markers are read against
	prefix string    // identity prefix, unique per run

	pubs []*publisher

	class    *classRun       // the class scenario, or nil
	watchCtx context.Context // ends when the run does

	// The steady window, in time since epoch, over which bitrates are
	// measured: from the last subscriber join to the stop of the publishers.
	steadyStart, steadyEnd atomic.Int64
	serverCPU, selfCPU     time.Duration // used in the steady window
	serverCPUErr           error

	mu          sync.Mutex
	subs        []*subscriber
	connectTime histogram
	failed      int
	firstErrs   []string
}

type publisher struct {
	index   int
	c       *client.Client
	video   *sourceTrack    // the camera without simulcast
	layers  [3]*sourceTrack // the camera's simulcast layers, low to high
	screen  *sourceTrack
	audio   *sourceTrack
	senders sync.WaitGroup
}

// streams are the publisher's marker streams.
func (p *publisher) streams() []*sourceTrack {
	var out []*sourceTrack
	for _, t := range []*sourceTrack{p.video, p.layers[0], p.layers[1], p.layers[2], p.screen, p.audio} {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// stream is the marker stream of a kind and layer, or nil.
func (p *publisher) stream(kind, layer uint8) *sourceTrack {
	switch {
	case kind == kindVideo && layer == layerNone:
		return p.video
	case kind == kindVideo && layer <= layerHigh:
		return p.layers[layer-layerLow]
	case kind == kindScreen && layer == layerNone:
		return p.screen
	case kind == kindAudio && layer == layerNone:
		return p.audio
	}
	return nil
}

// sourceTrack is one marker stream: a published track, or one simulcast
// layer of it, and its counter.
type sourceTrack struct {
	lt           *client.LocalTrack // shared by the layers of a track
	rid          string             // the simulcast layer, or ""
	lastSent     atomic.Int64       // last marker counter sent, -1 before the first
	steadyFirst  atomic.Int64       // first counter sent in the steady window; MaxInt64 before it
	wantKeyframe atomic.Bool        // the SFU sent a PLI or FIR
}

type subscriber struct {
	c      *client.Client
	joined time.Duration // since epoch, when the connection attempt began
	mu     sync.Mutex
	tracks []*recvTrack
}

// recvTrack is what one subscriber received of one track. Only its reader
// goroutine writes it; it is read after that goroutine has ended.
//
// A simulcast track reaches a subscriber as one layer at a time, and each
// layer has its own counter, so loss is judged per segment: a run of packets
// of one layer, from the first received after the SFU switched to it to the
// last received before it switched away. seq, steadyFirst and steadyUnique
// are the current segment's; a packet of another layer closes it (adding
// what it expected and received to the closed totals) and opens the next.
// Packets a layer's publisher sent outside the segments this subscriber
// received of it are not expected, so a layer switch is not loss; only the
// last segment is judged up to the last packet sent. (Loss just before a
// switch, after a segment's last received packet, goes uncounted.)
type recvTrack struct {
	sid         string // set before the reader starts
	video       bool
	gotMarker   bool
	source      marker // publisher and kind of the first marked packet
	layer       uint8  // the current segment's simulcast layer
	switches    uint64 // layer switches seen
	seq         seqTracker
	latency     histogram
	packets     uint64        // marked packets from the source
	steadyBytes uint64        // bytes received in the steady window
	steadyPkts  uint64        // packets received in the steady window
	keyframeAt  time.Duration // since epoch, the first keyframe packet
	misrouted   uint64        // marked packets from another source than the first
	corrupted   uint64        // marked packets whose filler after the marker differs
	unmarked    uint64        // packets with media but no marker
	padding     uint64        // packets without payload (probing)
	malformed   uint64

	// Packets the publisher sent in the steady window (counter at or past
	// the source's steadyFirst): their latency and how many arrived.
	steadyFrom    func(marker) *atomic.Int64 // finds the source's steadyFirst; may be nil
	steadyFirst   *atomic.Int64
	steadyLatency histogram
	steadyUnique  uint64

	// Closed segments: counters expected (first to highest received) and
	// received unique, overall and in the steady window.
	closedExpected, closedUnique             uint64
	closedSteadyExpected, closedSteadyUnique uint64
}

// closeSegment ends the current layer's segment.
func (t *recvTrack) closeSegment() {
	if !t.seq.started {
		return
	}
	t.closedExpected += uint64(t.seq.highest-t.seq.first) + 1
	t.closedUnique += t.seq.unique()
	if t.steadyFirst != nil {
		from := max(t.steadyFirst.Load(), int64(t.seq.first))
		if from != math.MaxInt64 && int64(t.seq.highest) >= from {
			t.closedSteadyExpected += uint64(int64(t.seq.highest)-from) + 1
			t.closedSteadyUnique += t.steadyUnique
		}
	}
	t.seq = seqTracker{}
	t.steadyUnique = 0
	t.steadyFirst = nil
}

// loss is what the track expected and received, overall and in the steady
// window, given the last counter sent on the current segment's layer and
// that layer's first counter of the steady window (MaxInt64 if none).
func (t *recvTrack) loss(lastSent, steadyFirst int64) (exp, unique, steadyExp, steadyUnique uint64) {
	exp, unique = t.closedExpected, t.closedUnique+t.seq.unique()
	steadyExp, steadyUnique = t.closedSteadyExpected, t.closedSteadyUnique+t.steadyUnique
	if lastSent >= 0 {
		exp += t.seq.expected(uint32(lastSent))
	}
	if t.seq.started {
		from := max(steadyFirst, int64(t.seq.first))
		if from != math.MaxInt64 && lastSent >= from {
			steadyExp += uint64(lastSent-from) + 1
		}
	}
	return exp, unique, steadyExp, steadyUnique
}

// Run performs one load run and returns its summary. Connection failures of
// subscribers are counted, not returned; a publisher that cannot publish
// ends the run with an error.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Summary, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var id [3]byte
	rand.Read(id[:])
	r := &run{cfg: cfg, log: log, epoch: time.Now(), prefix: "lt-" + hex.EncodeToString(id[:])}
	r.steadyStart.Store(math.MaxInt64)
	r.steadyEnd.Store(math.MaxInt64)
	sendCtx, stopSending := context.WithCancel(ctx)
	defer func() {
		stopSending()
		for _, p := range r.pubs {
			p.senders.Wait()
		}
		r.closeAll()
	}()
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	r.watchCtx = watchCtx
	if cfg.Class {
		var err error
		if r.class, err = setupClass(ctx, r); err != nil {
			return nil, fmt.Errorf("loadtest: class: %w", err)
		}
	}
	for i := range cfg.Publishers {
		if err := r.startPublisher(ctx, sendCtx, i); err != nil {
			return nil, fmt.Errorf("loadtest: publisher %d: %w", i, err)
		}
	}
	log.Info("publishers sending", "publishers", cfg.Publishers, "videoBitrate", cfg.VideoBitrate, "audio", cfg.Audio)

	joinStart := time.Now()
	r.joinSubscribers(ctx)
	joinTime := time.Since(joinStart)
	log.Info("subscribers joined", "connected", len(r.subs), "failed", r.failed, "took", joinTime.Round(time.Millisecond))

	if r.class != nil {
		r.mu.Lock()
		subs := slices.Clone(r.subs)
		r.mu.Unlock()
		r.class.prepareChat(ctx, subs)
	}
	if cfg.Warmup > 0 {
		t := time.NewTimer(cfg.Warmup)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	var serverCPU0 time.Duration
	if cfg.ServerPID > 0 {
		serverCPU0, r.serverCPUErr = procCPU(cfg.ServerPID)
	}
	selfCPU0 := selfCPU()
	for _, p := range r.pubs {
		for _, t := range p.streams() {
			t.steadyFirst.Store(t.lastSent.Load() + 1)
		}
	}
	r.steadyStart.Store(int64(time.Since(r.epoch)))
	log.Info("steady window", "duration", cfg.Duration)
	driveCtx, stopDriving := context.WithCancel(ctx)
	driven := make(chan struct{})
	if r.class != nil {
		r.mu.Lock()
		subs := slices.Clone(r.subs)
		r.mu.Unlock()
		go func() { defer close(driven); r.class.drive(driveCtx, subs) }()
	} else {
		close(driven)
	}
	switched := make(chan struct{})
	if cfg.LayerSwitch > 0 {
		r.mu.Lock()
		subs := slices.Clone(r.subs)
		r.mu.Unlock()
		go func() { defer close(switched); r.switchLayers(driveCtx, subs) }()
	} else {
		close(switched)
	}
	steady := time.NewTimer(cfg.Duration)
	select {
	case <-steady.C:
	case <-ctx.Done():
		steady.Stop()
	}
	stopDriving()
	<-driven
	<-switched
	r.steadyEnd.Store(int64(time.Since(r.epoch)))
	r.selfCPU = selfCPU() - selfCPU0
	if cfg.ServerPID > 0 && r.serverCPUErr == nil {
		var cpu time.Duration
		cpu, r.serverCPUErr = procCPU(cfg.ServerPID)
		r.serverCPU = cpu - serverCPU0
	}
	stopSending()
	for _, p := range r.pubs {
		p.senders.Wait()
	}
	if ctx.Err() == nil {
		time.Sleep(cfg.Grace)
	}
	if r.class != nil {
		r.class.finish(ctx)
	}
	r.closeAll()
	return r.summarize(joinTime), ctx.Err()
}

func (r *run) token(identity string, publish bool) (string, error) {
	grant := &auth.VideoGrant{RoomJoin: true, Room: r.cfg.Room}
	grant.SetCanPublish(publish)
	grant.SetCanPublishData(publish)
	grant.SetCanSubscribe(!publish)
	at := auth.NewAccessToken(r.cfg.APIKey, r.cfg.APISecret).
		SetIdentity(identity).SetName(identity).SetVideoGrant(grant).
		SetValidFor(r.cfg.Duration + time.Hour)
	if publish && r.cfg.Teacher != "" && identity == r.cfg.Teacher {
		at.SetAttributes(map[string]string{"role": "teacher"})
	}
	return at.ToJWT()
}

// interceptors are what a browser runs on a receiving connection (NACK,
// receiver reports, transport-wide congestion control feedback), without
// Pion's stats interceptor, which only the load process would pay for.
func interceptors(me *webrtc.MediaEngine, reg *interceptor.Registry) error {
	if err := webrtc.ConfigureNack(me, reg); err != nil {
		return err
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return err
	}
	return webrtc.ConfigureTWCCSender(me, reg)
}

func (r *run) clientOptions(identity string, publish bool) (client.Options, error) {
	var tok string
	var err error
	if r.class != nil {
		if tok = r.class.tokens[identity]; tok == "" {
			return client.Options{}, fmt.Errorf("no class token for %s", identity)
		}
	} else if tok, err = r.token(identity, publish); err != nil {
		return client.Options{}, err
	}
	o := client.Options{
		URL: r.cfg.URL, Token: tok, AutoSubscribe: !publish,
		Logger:       r.log.With("identity", identity),
		Interceptors: interceptors,
	}
	if r.cfg.ICELoopback {
		o.SettingEngine = func(se *webrtc.SettingEngine) {
			se.SetIncludeLoopbackCandidate(true)
			se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		}
	}
	return o, nil
}

func (r *run) startPublisher(ctx, sendCtx context.Context, i int) error {
	identity := fmt.Sprintf("%s-pub-%d", r.prefix, i)
	if i == 0 && r.cfg.Teacher != "" {
		identity = r.cfg.Teacher
	}
	opts, err := r.clientOptions(identity, true)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	c, err := client.Connect(cctx, opts)
	if err != nil {
		return err
	}
	p := &publisher{index: i, c: c}
	r.pubs = append(r.pubs, p) // at index i; closed by closeAll even if publishing fails
	newStream := func(rid string) *sourceTrack {
		t := &sourceTrack{rid: rid}
		t.lastSent.Store(-1)
		t.steadyFirst.Store(math.MaxInt64)
		return t
	}
	var sends []videoStream
	if r.cfg.VideoBitrate > 0 && !r.cfg.Simulcast {
		p.video = newStream("")
		lt, err := c.PublishTrack(cctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Name: "camera", Width: 1280, Height: 720,
			OnKeyframeRequest: func(string) { p.video.wantKeyframe.Store(true) }})
		if err != nil {
			return err
		}
		p.video.lt = lt
		sends = append(sends, videoStream{st: p.video, kind: kindVideo, bitrate: r.cfg.VideoBitrate, fps: r.cfg.FPS, width: 1280, height: 720})
	}
	if r.cfg.VideoBitrate > 0 && r.cfg.Simulcast {
		rids := [3]string{client.RIDLow, client.RIDMedium, client.RIDHigh}
		for i, rid := range rids {
			p.layers[i] = newStream(rid)
		}
		lt, err := c.PublishTrack(cctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Name: "camera", Width: 1280, Height: 720,
			Simulcast: true,
			OnKeyframeRequest: func(rid string) {
				for _, l := range p.layers {
					if l.rid == rid {
						l.wantKeyframe.Store(true)
					}
				}
			}})
		if err != nil {
			return err
		}
		for i, l := range p.layers {
			l.lt = lt
			// 1/16, 1/4 and all of the bitrate at 1/4, 1/2 and full size.
			div := [3]int64{16, 4, 1}[i]
			size := [3]uint16{4, 2, 1}[i]
			sends = append(sends, videoStream{st: l, kind: kindVideo, layer: uint8(layerLow + i),
				bitrate: max(r.cfg.VideoBitrate/div, 1), fps: r.cfg.FPS, width: 1280 / size, height: 720 / size})
		}
	}
	if r.cfg.ScreenBitrate > 0 {
		p.screen = newStream("")
		lt, err := c.PublishTrack(cctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Name: "screen", Width: 1920, Height: 1080,
			Source:            livekit.TrackSource_SCREEN_SHARE,
			OnKeyframeRequest: func(string) { p.screen.wantKeyframe.Store(true) }})
		if err != nil {
			return err
		}
		p.screen.lt = lt
		sends = append(sends, videoStream{st: p.screen, kind: kindScreen, bitrate: r.cfg.ScreenBitrate, fps: r.cfg.ScreenFPS, width: 1920, height: 1080})
	}
	if r.cfg.Audio {
		lt, err := c.PublishTrack(cctx, client.TrackOptions{MimeType: webrtc.MimeTypeOpus, Name: "microphone"})
		if err != nil {
			return err
		}
		p.audio = newStream("")
		p.audio.lt = lt
	}
	for _, v := range sends {
		p.senders.Add(1)
		go func() { defer p.senders.Done(); r.sendVideo(sendCtx, p, v) }()
	}
	if p.audio != nil {
		p.senders.Add(1)
		go func() { defer p.senders.Done(); r.sendAudio(sendCtx, p) }()
	}
	return nil
}

// videoStream is what sendVideo sends: one track, or one simulcast layer.
type videoStream struct {
	st            *sourceTrack
	kind, layer   uint8
	bitrate       int64
	fps           int
	width, height uint16
}

// sendVideo sends one stream of synthetic VP8 at its bitrate and frame rate: a
// keyframe (five times the size of an average frame) every KeyframeInterval
// and, like a browser's encoder, soon after the SFU asks for one (at most
// every 300 ms); every frame split into RTP packets of at most 1200 bytes of
// payload.
func (r *run) sendVideo(ctx context.Context, p *publisher, v videoStream) {
	const mtu = 1200
	fps := v.fps
	st := v.st
	avg := int(v.bitrate / 8 / int64(fps))
	gop := max(1, int(r.cfg.KeyframeInterval.Seconds()*float64(fps)))
	keySize := 5 * avg
	deltaSize := avg
	if gop > 1 {
		deltaSize = max(0, (gop*avg-keySize)/(gop-1))
	}
	minFrame := vp8FrameHeaderLen(true) + markerLen
	buf := make([]byte, mtu)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2}, Payload: buf}
	lastKey := -gop
	var seq uint32
	var rtpSeq uint16
	var pictureID uint16
	ts := uint32(0)
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	for frame := 0; ; frame++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		key := frame-lastKey >= gop
		if st.wantKeyframe.Load() && frame-lastKey >= fps*3/10 {
			st.wantKeyframe.Store(false)
			key = true
		}
		if key {
			lastKey = frame
		}
		size := deltaSize
		if key {
			size = keySize
		}
		size = max(size, minFrame)
		left := size
		for first := true; left > 0; first = false {
			chunk := min(left, mtu-vp8DescLen)
			if first {
				// The frame header and the marker must not be split.
				chunk = max(chunk, vp8FrameHeaderLen(key)+markerLen)
			} else {
				chunk = max(chunk, markerLen)
			}
			putVP8Descriptor(buf, first, pictureID)
			off := vp8DescLen
			if first {
				putVP8FrameHeader(buf[off:], key, size/4, v.width, v.height)
				off += vp8FrameHeaderLen(key)
			}
			m := marker{publisher: uint16(p.index), kind: v.kind, flags: withLayer(0, v.layer), seq: seq, sent: int64(time.Since(r.epoch))}
			if key {
				m.flags |= flagKeyframe
			}
			putMarker(buf[off:], m)
			copy(buf[off+markerLen:vp8DescLen+chunk], filler)
			left -= chunk
			pkt.Payload = buf[:vp8DescLen+chunk]
			pkt.SequenceNumber = rtpSeq
			pkt.Timestamp = ts
			pkt.Marker = left <= 0
			var err error
			if st.rid != "" {
				err = st.lt.WriteLayerRTP(st.rid, &pkt)
			} else {
				err = st.lt.WriteRTP(&pkt)
			}
			if err != nil {
				r.log.Debug("video write", "publisher", p.index, "kind", v.kind, "layer", v.layer, "err", err)
			}
			st.lastSent.Store(int64(seq))
			seq++
			rtpSeq++
		}
		pictureID = (pictureID + 1) & 0x7fff
		ts += uint32(90000 / fps)
	}
}

// sendAudio sends synthetic Opus: 50 packets a second of about 60 bytes,
// with the audio level extension (RFC 6464) if the server accepted it.
func (r *run) sendAudio(ctx context.Context, p *publisher) {
	const size = 60
	buf := make([]byte, size)
	buf[0] = opusTOC
	copy(buf[1+markerLen:], filler)
	levelID := p.audio.lt.HeaderExtensionID(sdp.AudioLevelURI)
	level := []byte{0x80 | 30} // voice activity, -30 dBov
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, Marker: true}, Payload: buf}
	var seq uint32
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if levelID != 0 {
			pkt.Header.Extension = false
			pkt.Header.Extensions = pkt.Header.Extensions[:0]
			pkt.Header.SetExtension(levelID, level)
		}
		putMarker(buf[1:], marker{publisher: uint16(p.index), kind: kindAudio, seq: seq, sent: int64(time.Since(r.epoch))})
		pkt.SequenceNumber = uint16(seq)
		pkt.Timestamp = seq * 960
		if err := p.audio.lt.WriteRTP(&pkt); err != nil {
			r.log.Debug("audio write", "publisher", p.index, "err", err)
		}
		p.audio.lastSent.Store(int64(seq))
		pkt.Marker = false
		seq++
	}
}

// joinSubscribers connects the subscribers at JoinRate, each attempt
// bounded by ConnectTimeout, and returns when every attempt has finished.
func (r *run) joinSubscribers(ctx context.Context) {
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / r.cfg.JoinRate)
	next := time.Now()
	for i := range r.cfg.Subscribers {
		if d := time.Until(next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			break
		}
		next = next.Add(interval)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.joinSubscriber(ctx, i)
		}()
	}
	wg.Wait()
}

func (r *run) joinSubscriber(ctx context.Context, i int) {
	identity := fmt.Sprintf("%s-sub-%d", r.prefix, i)
	s := &subscriber{joined: time.Since(r.epoch)}
	fail := func(err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.failed++
		if len(r.firstErrs) < 5 {
			r.firstErrs = append(r.firstErrs, fmt.Sprintf("%s: %v", identity, err))
		}
		r.log.Warn("subscriber failed", "identity", identity, "err", err)
	}
	opts, err := r.clientOptions(identity, false)
	if err != nil {
		fail(err)
		return
	}
	opts.OnTrack = s.onTrackFunc(r)
	if r.class != nil {
		opts.OnSignal = r.class.onSignal(i)
	}
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	c, err := client.Connect(cctx, opts)
	if err == nil {
		s.c = c
		err = c.WaitConnected(cctx)
	}
	if err != nil {
		if c != nil {
			c.Close()
		}
		fail(err)
		return
	}
	took := time.Since(start)
	r.log.Debug("subscriber connected", "identity", identity, "took", took)
	if r.class != nil {
		go r.class.watchData(r.watchCtx, i, c)
	}
	r.mu.Lock()
	r.subs = append(r.subs, s)
	r.connectTime.record(took)
	r.mu.Unlock()
}

// switchLayers has every subscriber ask for the low, then the high quality
// of each video track it receives, alternating every LayerSwitch until ctx
// ends. The SFU switches at the target layer's next keyframe.
func (r *run) switchLayers(ctx context.Context, subs []*subscriber) {
	tick := time.NewTicker(r.cfg.LayerSwitch)
	defer tick.Stop()
	quality := livekit.VideoQuality_LOW
	var sids []string
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, s := range subs {
			sids = sids[:0]
			s.mu.Lock()
			for _, t := range s.tracks {
				if t.video {
					sids = append(sids, t.sid)
				}
			}
			s.mu.Unlock()
			if len(sids) == 0 {
				continue
			}
			if err := s.c.UpdateTrackSettings(&livekit.UpdateTrackSettings{TrackSids: slices.Clone(sids), Quality: quality}); err != nil {
				r.log.Debug("track settings", "err", err)
			}
		}
		if quality == livekit.VideoQuality_LOW {
			quality = livekit.VideoQuality_HIGH
		} else {
			quality = livekit.VideoQuality_LOW
		}
	}
}

func (s *subscriber) onTrackFunc(r *run) func(*client.RemoteTrack) {
	return func(rt *client.RemoteTrack) {
		t := &recvTrack{sid: rt.SID(), video: rt.Kind() == webrtc.RTPCodecTypeVideo, steadyFrom: r.steadyFirstOf}
		s.mu.Lock()
		s.tracks = append(s.tracks, t)
		s.mu.Unlock()
		t.read(rt, r)
	}
}

// read receives one track until it ends.
func (t *recvTrack) read(rt *client.RemoteTrack, r *run) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, err := rt.Read(buf)
		if err != nil {
			return
		}
		now := time.Since(r.epoch)
		t.handle(buf[:n], now, &pkt)
		if int64(now) >= r.steadyStart.Load() && int64(now) <= r.steadyEnd.Load() {
			t.steadyBytes += uint64(n)
			t.steadyPkts++
		}
	}
}

// handle accounts for one received RTP packet b, which arrived at now. pkt
// is scratch space; handle allocates nothing.
func (t *recvTrack) handle(b []byte, now time.Duration, pkt *rtp.Packet) {
	if err := pkt.Unmarshal(b); err != nil {
		t.malformed++
		return
	}
	if len(pkt.Payload) == 0 {
		t.padding++
		return
	}
	m, off, ok := findMarker(t.video, pkt.Payload)
	if !ok {
		t.unmarked++
		return
	}
	if rest := pkt.Payload[off+markerLen:]; len(rest) > len(filler) || !bytes.Equal(rest, filler[:len(rest)]) {
		t.corrupted++
	}
	if !t.gotMarker {
		t.gotMarker, t.source = true, m
	} else if m.publisher != t.source.publisher || m.kind != t.source.kind {
		t.misrouted++
		return
	}
	if l := m.layer(); l != t.layer {
		if t.seq.started {
			t.switches++
		}
		t.closeSegment()
		t.layer = l
	}
	if m.flags&flagKeyframe != 0 && t.keyframeAt == 0 {
		t.keyframeAt = now
	}
	t.packets++
	unique := t.seq.add(m.seq)
	lat := now - time.Duration(m.sent)
	t.latency.record(lat)
	if t.steadyFirst == nil && t.steadyFrom != nil {
		t.steadyFirst = t.steadyFrom(m)
	}
	if t.steadyFirst != nil && int64(m.seq) >= t.steadyFirst.Load() {
		t.steadyLatency.record(lat)
		if unique {
			t.steadyUnique++
		}
	}
}

// steadyFirstOf is the steadyFirst counter of the track a marker comes
// from, or nil if there is no such track.
func (r *run) steadyFirstOf(m marker) *atomic.Int64 {
	if t := r.streamOf(m); t != nil {
		return &t.steadyFirst
	}
	return nil
}

// streamOf is the marker stream (publisher, kind, layer) of m, or nil.
func (r *run) streamOf(m marker) *sourceTrack {
	if int(m.publisher) >= len(r.pubs) {
		return nil
	}
	return r.pubs[m.publisher].stream(m.kind, m.layer())
}

// closeAll closes every client, in parallel; Close waits for the track
// readers. It may run more than once.
func (r *run) closeAll() {
	r.mu.Lock()
	subs := r.subs
	r.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	closeClient := func(c *client.Client) {
		defer wg.Done()
		sem <- struct{}{}
		defer func() { <-sem }()
		c.Close()
	}
	for _, p := range r.pubs {
		wg.Add(1)
		go closeClient(p.c)
	}
	for _, s := range subs {
		wg.Add(1)
		go closeClient(s.c)
	}
	wg.Wait()
}

// Summary is the result of a run; its JSON form is the machine-readable
// summary line.
type Summary struct {
	URL                  string   `json:"url"`
	Room                 string   `json:"room"`
	Publishers           int      `json:"publishers"`
	Subscribers          int      `json:"subscribers"`
	SubscribersConnected int      `json:"subscribers_connected"`
	SubscribersFailed    int      `json:"subscribers_failed"`
	FirstErrors          []string `json:"first_errors,omitempty"`
	JoinSeconds          float64  `json:"join_seconds"`
	ConnectP50Ms         float64  `json:"connect_p50_ms"`
	ConnectMaxMs         float64  `json:"connect_max_ms"`
	DurationSeconds      float64  `json:"duration_seconds"`
	VideoBitrate         int64    `json:"video_bitrate"`
	Audio                bool     `json:"audio"`
	Simulcast            bool     `json:"simulcast"`
	ScreenBitrate        int64    `json:"screen_bitrate,omitempty"`
	// LayerSwitches counts the simulcast layer changes subscribers saw;
	// CameraLayers how many subscribers ended on each camera layer (low,
	// medium, high).
	LayerSwitches            uint64    `json:"layer_switches"`
	CameraLayers             [3]uint64 `json:"camera_layers"`
	TracksExpected           int       `json:"tracks_expected"`
	TracksReceived           int       `json:"tracks_received"`
	PacketsSent              uint64    `json:"packets_sent"`
	PacketsExpected          uint64    `json:"packets_expected"`
	PacketsReceived          uint64    `json:"packets_received"`
	PacketsLost              uint64    `json:"packets_lost"`
	LossPercent              float64   `json:"loss_percent"`
	Duplicates               uint64    `json:"duplicates"`
	OutOfOrder               uint64    `json:"out_of_order"`
	Misrouted                uint64    `json:"misrouted"`
	Corrupted                uint64    `json:"corrupted"`
	Unmarked                 uint64    `json:"unmarked"`
	Malformed                uint64    `json:"malformed"`
	SubscriberMbpsMin        float64   `json:"subscriber_mbps_min"`
	SubscriberMbpsAvg        float64   `json:"subscriber_mbps_avg"`
	SubscriberMbpsMax        float64   `json:"subscriber_mbps_max"`
	LatencyP50Ms             float64   `json:"latency_p50_ms"`
	LatencyP95Ms             float64   `json:"latency_p95_ms"`
	LatencyP99Ms             float64   `json:"latency_p99_ms"`
	LatencyMaxMs             float64   `json:"latency_max_ms"`
	SteadyPacketsExpected    uint64    `json:"steady_packets_expected"`
	SteadyPacketsLost        uint64    `json:"steady_packets_lost"`
	SteadyLossPercent        float64   `json:"steady_loss_percent"`
	SteadyLatencyP50Ms       float64   `json:"steady_latency_p50_ms"`
	SteadyLatencyP99Ms       float64   `json:"steady_latency_p99_ms"`
	SteadyLatencyMaxMs       float64   `json:"steady_latency_max_ms"`
	FirstKeyframeP50Ms       float64   `json:"first_keyframe_p50_ms"`
	FirstKeyframeMaxMs       float64   `json:"first_keyframe_max_ms"`
	KeyframeRequests         uint64    `json:"keyframe_requests"`
	SteadySeconds            float64   `json:"steady_seconds"`
	SteadyPackets            uint64    `json:"steady_packets_received"`
	LoadCPUPercent           float64   `json:"load_cpu_percent"`
	ServerCPUSeconds         float64   `json:"server_cpu_seconds,omitempty"`
	ServerCPUPercent         float64   `json:"server_cpu_percent,omitempty"`
	ServerCPUMicrosPerPacket float64   `json:"server_cpu_us_per_packet,omitempty"`
	ServerCPUError           string    `json:"server_cpu_error,omitempty"`
	// Class is what the class scenario measured (--class).
	Class *ClassSummary `json:"class,omitempty"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

func (r *run) summarize(joinTime time.Duration) *Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg := r.cfg
	perPub := 0
	if cfg.VideoBitrate > 0 {
		perPub++
	}
	if cfg.Audio {
		perPub++
	}
	if cfg.ScreenBitrate > 0 {
		perPub++
	}
	s := &Summary{
		URL: cfg.URL, Room: cfg.Room, Publishers: cfg.Publishers, Subscribers: cfg.Subscribers,
		SubscribersConnected: len(r.subs), SubscribersFailed: r.failed, FirstErrors: r.firstErrs,
		JoinSeconds:  math.Round(joinTime.Seconds()*100) / 100,
		ConnectP50Ms: ms(r.connectTime.quantile(0.5)), ConnectMaxMs: ms(r.connectTime.max),
		DurationSeconds: cfg.Duration.Seconds(), VideoBitrate: cfg.VideoBitrate, Audio: cfg.Audio,
		Simulcast: cfg.Simulcast, ScreenBitrate: cfg.ScreenBitrate,
		TracksExpected: len(r.subs) * cfg.Publishers * perPub,
	}
	lastSent := func(m marker) int64 {
		if t := r.streamOf(m); t != nil {
			return t.lastSent.Load()
		}
		return -1
	}
	for _, p := range r.pubs {
		var counted []*client.LocalTrack // the layers of a track share it
		for _, t := range p.streams() {
			s.PacketsSent += uint64(t.lastSent.Load() + 1)
			if !slices.Contains(counted, t.lt) {
				counted = append(counted, t.lt)
				s.KeyframeRequests += t.lt.KeyframeRequests()
			}
		}
	}
	var lat, steadyLat, firstKey histogram
	var rates []float64
	steady := time.Duration(r.steadyEnd.Load() - r.steadyStart.Load())
	for _, sub := range r.subs {
		var bytes uint64
		for _, t := range sub.tracks {
			s.Unmarked += t.unmarked
			s.Malformed += t.malformed
			s.Misrouted += t.misrouted
			s.Corrupted += t.corrupted
			if !t.gotMarker {
				continue
			}
			if t.keyframeAt > 0 {
				firstKey.record(t.keyframeAt - sub.joined)
			}
			s.TracksReceived++
			s.PacketsReceived += t.packets
			s.Duplicates += t.seq.duplicates
			s.OutOfOrder += t.seq.outOfOrder
			// The steady window is counted from the later of its first
			// packet and the first this subscriber saw, like the loss.
			cur := t.source
			cur.flags = withLayer(0, t.layer)
			steadyFirst := int64(math.MaxInt64)
			if t.steadyFirst != nil {
				steadyFirst = t.steadyFirst.Load()
			}
			exp, uniq, sexp, suniq := t.loss(lastSent(cur), steadyFirst)
			s.PacketsExpected += exp
			s.PacketsLost += exp - min(exp, uniq)
			s.SteadyPacketsExpected += sexp
			s.SteadyPacketsLost += sexp - min(sexp, suniq)
			s.LayerSwitches += t.switches
			if t.source.kind == kindVideo && t.layer >= layerLow {
				s.CameraLayers[t.layer-layerLow]++
			}
			lat.merge(&t.latency)
			steadyLat.merge(&t.steadyLatency)
			bytes += t.steadyBytes
			s.SteadyPackets += t.steadyPkts
		}
		if steady > 0 && steady < time.Duration(math.MaxInt64/2) {
			rates = append(rates, float64(bytes*8)/steady.Seconds()/1e6)
		}
	}
	if s.PacketsExpected > 0 {
		s.LossPercent = math.Round(float64(s.PacketsLost)/float64(s.PacketsExpected)*1e5) / 1e3
	}
	if s.SteadyPacketsExpected > 0 {
		s.SteadyLossPercent = math.Round(float64(s.SteadyPacketsLost)/float64(s.SteadyPacketsExpected)*1e5) / 1e3
	}
	s.SteadyLatencyP50Ms = ms(steadyLat.quantile(0.50))
	s.SteadyLatencyP99Ms = ms(steadyLat.quantile(0.99))
	s.SteadyLatencyMaxMs = ms(steadyLat.max)
	if len(rates) > 0 {
		slices.Sort(rates)
		sum := 0.0
		for _, x := range rates {
			sum += x
		}
		round := func(x float64) float64 { return math.Round(x*1000) / 1000 }
		s.SubscriberMbpsMin, s.SubscriberMbpsMax = round(rates[0]), round(rates[len(rates)-1])
		s.SubscriberMbpsAvg = round(sum / float64(len(rates)))
	}
	s.LatencyP50Ms = ms(lat.quantile(0.50))
	s.LatencyP95Ms = ms(lat.quantile(0.95))
	s.LatencyP99Ms = ms(lat.quantile(0.99))
	s.LatencyMaxMs = ms(lat.max)
	s.FirstKeyframeP50Ms = ms(firstKey.quantile(0.5))
	s.FirstKeyframeMaxMs = ms(firstKey.max)
	if steady > 0 && steady < time.Duration(math.MaxInt64/2) {
		s.SteadySeconds = math.Round(steady.Seconds()*1000) / 1000
		s.LoadCPUPercent = math.Round(float64(r.selfCPU)/float64(steady)*1000) / 10
		if cfg.ServerPID > 0 && r.serverCPUErr == nil {
			s.ServerCPUSeconds = r.serverCPU.Seconds()
			s.ServerCPUPercent = math.Round(float64(r.serverCPU)/float64(steady)*1000) / 10
			if s.SteadyPackets > 0 {
				s.ServerCPUMicrosPerPacket = math.Round(float64(r.serverCPU)/float64(s.SteadyPackets)/1e3*1000) / 1000
			}
		}
	}
	if r.serverCPUErr != nil {
		s.ServerCPUError = r.serverCPUErr.Error()
	}
	if r.class != nil {
		s.Room = r.class.room
		s.Class = r.class.summary(r.subs)
	}
	return s
}

// Print writes the summary for people.
func (s *Summary) Print(w io.Writer) {
	video := "no video"
	if s.VideoBitrate > 0 {
		video = fmt.Sprintf("VP8 %.2f Mbps", float64(s.VideoBitrate)/1e6)
	}
	if s.VideoBitrate > 0 && s.Simulcast {
		video += " in three simulcast layers"
	}
	audio := ""
	if s.ScreenBitrate > 0 {
		audio += fmt.Sprintf(" + screen VP8 %.2f Mbps", float64(s.ScreenBitrate)/1e6)
	}
	if s.Audio {
		audio += " + Opus"
	}
	fmt.Fprintf(w, "room %s at %s: %d publishers (%s%s), %d subscribers, %.0fs steady\n",
		s.Room, s.URL, s.Publishers, video, audio, s.Subscribers, s.DurationSeconds)
	fmt.Fprintf(w, "subscribers: %d connected, %d failed; joined in %.2fs; connect p50 %.1f ms, max %.1f ms\n",
		s.SubscribersConnected, s.SubscribersFailed, s.JoinSeconds, s.ConnectP50Ms, s.ConnectMaxMs)
	for _, e := range s.FirstErrors {
		fmt.Fprintf(w, "  %s\n", e)
	}
	fmt.Fprintf(w, "tracks: %d of %d received\n", s.TracksReceived, s.TracksExpected)
	if s.Simulcast {
		fmt.Fprintf(w, "camera layer at the end (low/medium/high): %d/%d/%d; layer switches: %d\n",
			s.CameraLayers[0], s.CameraLayers[1], s.CameraLayers[2], s.LayerSwitches)
	}
	fmt.Fprintf(w, "packets: %d sent, %d expected, %d received, %d lost (%.3f %%), %d duplicates, %d out of order\n",
		s.PacketsSent, s.PacketsExpected, s.PacketsReceived, s.PacketsLost, s.LossPercent, s.Duplicates, s.OutOfOrder)
	if s.Misrouted+s.Unmarked+s.Malformed+s.Corrupted > 0 {
		fmt.Fprintf(w, "anomalies: %d misrouted, %d corrupted, %d unmarked, %d malformed\n",
			s.Misrouted, s.Corrupted, s.Unmarked, s.Malformed)
	}
	fmt.Fprintf(w, "bitrate per subscriber (steady window): min %.3f, avg %.3f, max %.3f Mbps\n",
		s.SubscriberMbpsMin, s.SubscriberMbpsAvg, s.SubscriberMbpsMax)
	fmt.Fprintf(w, "latency: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		s.LatencyP50Ms, s.LatencyP95Ms, s.LatencyP99Ms, s.LatencyMaxMs)
	fmt.Fprintf(w, "packets sent in the steady window: %d expected, %d lost (%.3f %%); latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		s.SteadyPacketsExpected, s.SteadyPacketsLost, s.SteadyLossPercent, s.SteadyLatencyP50Ms, s.SteadyLatencyP99Ms, s.SteadyLatencyMaxMs)
	fmt.Fprintf(w, "CPU in the steady window (%.1fs): load tool %.1f %%", s.SteadySeconds, s.LoadCPUPercent)
	if s.ServerCPUSeconds > 0 {
		fmt.Fprintf(w, ", server %.1f %% (%.2f s, %.2f µs per forwarded packet)",
			s.ServerCPUPercent, s.ServerCPUSeconds, s.ServerCPUMicrosPerPacket)
	}
	if s.ServerCPUError != "" {
		fmt.Fprintf(w, ", server: %s", s.ServerCPUError)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "first keyframe after join: p50 %.1f ms, max %.1f ms; keyframe requests to publishers: %d\n",
		s.FirstKeyframeP50Ms, s.FirstKeyframeMaxMs, s.KeyframeRequests)
	if s.Class != nil {
		s.Class.print(w)
	}
}
