// Package server is Yunke's composition root: it binds the listeners, builds
// the SFU, signaling and web handlers from one Config, and serves them.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"yunke/server/account"
	"yunke/server/activity"
	"yunke/server/auth"
	"yunke/server/classes"
	"yunke/server/classroom"
	"yunke/server/config"
	"yunke/server/directory"
	"yunke/server/httpapi"
	"yunke/server/jobs"
	"yunke/server/microlessons"
	"yunke/server/qa"
	"yunke/server/recording"
	"yunke/server/reports"
	"yunke/server/research"
	"yunke/server/review"
	"yunke/server/rooms"
	"yunke/server/selection"
	"yunke/server/webhooks"
	"yunke/sfu"
	"yunke/sfu/udpbatch"
	"yunke/signaling"
	"yunke/signaling/turn"
	"yunke/storage"
	"yunke/storage/blob"
	"yunke/web"
)

// CompatVersion is the LiveKit server version whose client protocol Yunke
// speaks; SDKs gate features on the version the server reports.
const CompatVersion = "1.9.0"

// udpSocketBuffer is the socket buffer size asked for the RTC UDP port.
const udpSocketBuffer = 4 << 20

// Params are what New needs.
type Params struct {
	Config *config.Config
	Logger *slog.Logger
	// Version is Yunke's own version, shown in the banner and the API.
	Version string
	// UDPConn and TCPListener, when set, replace the RTC sockets the config
	// describes (tests hand in sockets bound to free ports).
	UDPConn     net.PacketConn
	TCPListener net.Listener
	// Store, when set, is used instead of opening the configured database;
	// the caller keeps ownership and closes it.
	Store *storage.Store
	// Password sets the argon2id cost of new password hashes; zero fields
	// take auth.DefaultParams (tests lower it to run fast).
	Password auth.Params
	// Now is the clock of sessions and sign-in throttling; nil is time.Now.
	Now func() time.Time
	// ClassesTick is how often classes write attendance and look for
	// empty rooms (default 1 s; tests shorten it).
	ClassesTick time.Duration
	// TutoringTick is how often tutoring collects lapsed offers and
	// refreshes queue places (0: every second); tests shorten it.
	TutoringTick time.Duration
	// JobPoll is how often an idle node looks for due background jobs
	// (0: every second); tests shorten it.
	JobPoll time.Duration
	// JobBackoff is the wait before a failed job's next attempt (nil:
	// jobs.DefaultBackoff); tests shorten it.
	JobBackoff func(attempt int) time.Duration
	// IdleTimeout closes keep-alive connections idle this long (0: 120 s);
	// RequestTimeout bounds reading a request and writing its answer
	// (0: 2 minutes). Tests shorten them.
	IdleTimeout, RequestTimeout time.Duration
}

// Server is a Yunke instance with its listeners bound.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	version string

	httpLns []net.Listener
	udpConn net.PacketConn
	udpMux  ice.UDPMux
	tcpLn   net.Listener
	tcpMux  ice.TCPMux
	// turn is the embedded TURN server (nil when off); turnAddrs its sockets.
	turn      *turn.Server
	turnAddrs []string

	metrics *sfu.Metrics
	sig     *signaling.Service
	httpSrv *http.Server
	ready   atomic.Bool

	promHandler http.Handler // the Prometheus exposition
	metricsLn   net.Listener // metrics.address; nil when off
	metricsSrv  *http.Server
	connCount   *addrCounter // limits.connections_per_address
	rtcCount    *addrCounter // limits.rtc_per_address
	refused     refusals

	store    *storage.Store
	ownStore bool // opened here, so closed here

	now    func() time.Time
	hasher *auth.Hasher

	// The domains, each with its routes under /api/v1, behind one gate.
	gate      *httpapi.Gate
	account   *account.Handler
	directory *directory.Handler
	activity  *activity.Handler
	rooms     *rooms.Handler
	classroom *classroom.Service

	// media is the object store every domain keeps its finished media in
	// (media.store: s3); nil when each keeps them on the local disk.
	media        blob.Store
	microlessons *microlessons.Service
	qa           *qa.Service
	qaRouter     *qa.Router
	review       *review.Service
	research     *research.Service
	selection    *selection.Service
	reports      *reports.Service
	classes      *classes.Service
	recording    *recording.Service
	// jobs runs the domains' durable background work.
	jobs *jobs.Queue
	// webhooks tells the configured URLs what happens in rooms.
	webhooks *webhooks.Service

	tutor        *tutoringParts
	tutoringTick time.Duration
	classesTick  time.Duration

	bannerMu    sync.Mutex
	adminBanner string // shown once: it may carry a one-time password
}

// New binds every listener (HTTP, RTC UDP/TCP) so that the returned server's
// addresses are final, but serves nothing until Run.
func New(p Params) (_ *Server, err error) {
	cfg := p.Config
	if cfg == nil {
		return nil, errors.New("server: no configuration")
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, version: p.Version, metrics: new(sfu.Metrics), now: p.Now, tutoringTick: p.TutoringTick,
		classesTick: p.ClassesTick}
	if s.now == nil {
		s.now = time.Now
	}
	defer func() {
		if err != nil {
			s.closeListeners()
			if s.tutor != nil {
				s.tutor.closeFn()
			}
			s.closeStore()
		}
	}()
	s.hasher = auth.NewHasher(p.Password)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if p.Store != nil {
		s.store = p.Store
	} else {
		st, err := storage.Open(ctx, storage.OpenParams{URL: cfg.Database.URL, Path: cfg.Database.Path, Logger: log.With("component", "storage"), Now: s.now})
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		s.store, s.ownStore = st, true
	}
	if s.adminBanner, err = account.Bootstrap(ctx, account.BootstrapParams{Store: s.store, Hasher: s.hasher, Auth: cfg.Auth,
		Logger: log.With("component", "account")}); err != nil {
		return nil, err
	}

	binds := cfg.BindAddresses
	if len(binds) == 0 {
		binds = []string{""}
	}
	for _, b := range binds {
		ln, err := net.Listen("tcp", net.JoinHostPort(b, strconv.Itoa(cfg.Port)))
		if err != nil {
			return nil, fmt.Errorf("listen http on %s:%d: %w", b, cfg.Port, err)
		}
		s.httpLns = append(s.httpLns, ln)
	}

	rtcHost := ""
	if len(cfg.BindAddresses) == 1 {
		rtcHost = cfg.BindAddresses[0]
	}
	loopback := rtcHost != "" && net.ParseIP(rtcHost) != nil && net.ParseIP(rtcHost).IsLoopback()
	pionLog := logging.NewDefaultLoggerFactory()
	engine := sfu.EngineParams{IncludeLoopback: loopback, NoSendSideBWE: !cfg.RTC.SendSideBWE,
		ReceiverSideBWE: cfg.RTC.DownlinkBWE == "remb", NoDirectForwarding: !cfg.RTC.DirectForwarding}
	if cfg.RTC.NodeIP != "" {
		engine.NAT1To1IPs = []string{cfg.RTC.NodeIP}
	}

	switch {
	case p.UDPConn != nil:
		s.udpConn = p.UDPConn
	case cfg.RTC.UDPPort == 0 && cfg.RTC.PortRangeStart > 0:
		engine.PortRangeStart, engine.PortRangeEnd = uint16(cfg.RTC.PortRangeStart), uint16(cfg.RTC.PortRangeEnd)
	default:
		c, err := net.ListenPacket("udp", net.JoinHostPort(rtcHost, strconv.Itoa(cfg.RTC.UDPPort)))
		if err != nil {
			return nil, fmt.Errorf("listen rtc udp on %d: %w", cfg.RTC.UDPPort, err)
		}
		s.udpConn = c
	}
	if s.udpConn != nil {
		// One socket carries every peer: give it room for bursts (many
		// joins, keyframes to a whole class). The kernel caps the request
		// at net.core.rmem_max / wmem_max.
		if uc, ok := s.udpConn.(*net.UDPConn); ok {
			if err := uc.SetReadBuffer(udpSocketBuffer); err != nil {
				log.Warn("rtc udp receive buffer", "err", err)
			}
			if err := uc.SetWriteBuffer(udpSocketBuffer); err != nil {
				log.Warn("rtc udp send buffer", "err", err)
			}
			// A class's fan-out writes each packet to every subscriber
			// at once: many datagrams per sendmmsg call, and a frame's
			// packets to one peer as one segmented send (UDP GSO).
			if cfg.RTC.UDPBatchSize > 1 {
				bc, err := udpbatch.New(uc, udpbatch.Params{Size: cfg.RTC.UDPBatchSize,
					FlushInterval: time.Duration(cfg.RTC.UDPBatchFlushMicros) * time.Microsecond,
					GSO:           cfg.RTC.UDPGSO, RawSyscalls: cfg.RTC.UDPRawSyscalls, Bursts: true, ReadBatch: min(cfg.RTC.UDPBatchSize, 64), Logger: log.With("component", "udpbatch")})
				if err != nil {
					return nil, fmt.Errorf("rtc udp batching: %w", err)
				}
				s.udpConn = bc
				log.Info("rtc udp batching", "size", cfg.RTC.UDPBatchSize, "flush_us", cfg.RTC.UDPBatchFlushMicros, "gso", bc.Stats().GSO)
			}
		}
		s.udpMux = webrtc.NewICEUDPMux(pionLog.NewLogger("udpmux"), s.udpConn)
		engine.UDPMux = s.udpMux
	}
	switch {
	case p.TCPListener != nil:
		s.tcpLn = p.TCPListener
	case cfg.RTC.TCPPort > 0:
		ln, err := net.Listen("tcp", net.JoinHostPort(rtcHost, strconv.Itoa(cfg.RTC.TCPPort)))
		if err != nil {
			return nil, fmt.Errorf("listen rtc tcp on %d: %w", cfg.RTC.TCPPort, err)
		}
		s.tcpLn = ln
	}
	if s.tcpLn != nil {
		s.tcpMux = webrtc.NewICETCPMux(pionLog.NewLogger("tcpmux"), s.tcpLn, 64)
		engine.TCPMux = s.tcpMux
	}

	api, err := sfu.NewAPI(engine)
	if err != nil {
		return nil, fmt.Errorf("webrtc: %w", err)
	}
	subAPI, err := sfu.NewSubscriberAPI(engine)
	if err != nil {
		return nil, fmt.Errorf("webrtc subscribers: %w", err)
	}
	// River's tables, after Yunke's own (storage.Open migrated those).
	if s.jobs, err = jobs.New(ctx, jobs.Params{Store: s.store, Logger: log.With("component", "jobs"), PollInterval: p.JobPoll,
		Backoff: p.JobBackoff, Node: nodeName(cfg)}); err != nil {
		return nil, err
	}
	if s.webhooks, err = webhooks.New(webhookParams(s)); err != nil {
		return nil, err
	}
	if s.webhooks.Enabled() {
		log.Info("webhooks", "webhook", cfg.Webhook)
	}
	if err := s.setupMedia(ctx); err != nil {
		return nil, err
	}
	if err := s.setupTutoring(ctx); err != nil {
		return nil, err
	}
	if err := s.setupDomains(); err != nil {
		return nil, err
	}
	iceServers, err := s.setupTURN(rtcHost)
	if err != nil {
		return nil, err
	}
	var batch sfu.Batcher
	if bc, ok := s.udpConn.(*udpbatch.Conn); ok {
		batch = bc
	}
	s.sig = signaling.New(signaling.Params{
		ICEServers:      iceServers,
		Observers:       []signaling.Observer{s.tutor.service, s.classes, s.recording, s.classroom, s.webhooks},
		Admission:       s.rooms.Admission(),
		Gates:           []signaling.JoinGate{s.classroom},
		DataFilters:     []signaling.DataFilter{s.classroom},
		API:             api,
		SubscriberAPI:   subAPI,
		Keys:            signaling.Keys(cfg.Keys),
		Logger:          log.With("component", "signaling"),
		Metrics:         s.metrics,
		ServerVersion:   CompatVersion,
		NodeID:          "yunke-" + s.httpLns[0].Addr().String(),
		PacketCacheSize: cfg.RTC.PacketBufferSize,
		MaxParticipants: cfg.Room.MaxParticipants,
		EmptyTimeout:    time.Duration(cfg.Room.EmptyTimeout) * time.Second,
		ResumeGrace:     resumeGrace(cfg.RTC.ResumeGraceSeconds),
		Batch:           batch,
	})
	s.recording.SetRooms(s.sig)
	s.classroom.SetRooms(s.sig)
	s.classroom.SetRoles(classRoles{live: classroom.LiveRoles{Rooms: s.sig, Schools: s.store}, store: s.store})
	s.connCount = newAddrCounter(cfg.Limits.ConnectionsPerAddress)
	s.rtcCount = newAddrCounter(cfg.Limits.RTCPerAddress)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newCollector(s.metrics, s.sig, &s.refused), newRecorderCollector(s.recording.Metrics()))
	if bc, ok := s.udpConn.(*udpbatch.Conn); ok {
		reg.MustRegister(newUDPCollector(bc))
	}
	s.promHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	idle, request := p.IdleTimeout, p.RequestTimeout
	if idle <= 0 {
		idle = defaultIdleTimeout
	}
	if request <= 0 {
		request = defaultRequestTimeout
	}
	s.httpSrv = &http.Server{
		Handler:           requestDeadlines(s.routes(), max(request, uploadTimeout)),
		ReadHeaderTimeout: min(headerTimeout, request),
		ReadTimeout:       request,
		WriteTimeout:      request,
		IdleTimeout:       idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if cfg.Metrics.Address != "" {
		if s.metricsLn, err = net.Listen("tcp", cfg.Metrics.Address); err != nil {
			return nil, fmt.Errorf("listen metrics on %s: %w", cfg.Metrics.Address, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.promHandler)
		s.metricsSrv = &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: min(headerTimeout, request),
			ReadTimeout:       request,
			WriteTimeout:      request,
			IdleTimeout:       idle,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
	}
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	rtc := http.NewServeMux()
	s.sig.Register(rtc)
	rtcLimited := limitRTC(rtc, s.rtcCount, &s.refused.rtc, s.log.With("component", "limits"))
	mux.Handle("/rtc", rtcLimited)
	mux.Handle("/rtc/", rtcLimited)
	s.sig.RegisterRoomService(mux)

	mux.Handle("GET /metrics", s.mainPortMetrics())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			s.log.Warn("readiness: database", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	s.gate.Mount(mux, s.apiRoutes())
	mux.Handle("/", web.Handler(web.MediaOrigins(s.cfg.MediaOrigin())))
	trusted, _ := s.cfg.TrustedProxyPrefixes() // validated with the config
	return realIP(mux, trusted)
}

// realIP replaces a request's remote address with the client's when it
// comes from a trusted reverse proxy: the rightmost X-Forwarded-For entry
// that is not itself a trusted proxy. Without trusted proxies the header is
// ignored, since any client could write it.
func realIP(next http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := trustedBy(trusted)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err == nil && isTrusted(ap.Addr()) {
			var hops []string
			for _, h := range r.Header.Values("X-Forwarded-For") {
				hops = append(hops, strings.Split(h, ",")...)
			}
			for i := len(hops) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if err != nil {
					break // a malformed hop: trust nothing beyond it
				}
				if !isTrusted(a) || i == 0 {
					r2 := r.Clone(r.Context())
					r2.RemoteAddr = netip.AddrPortFrom(a.Unmap(), 0).String()
					r = r2
					break
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// trustedBy reports whether an address is one of the trusted proxies.
func trustedBy(trusted []netip.Prefix) func(netip.Addr) bool {
	return func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
}

// URL is the base HTTP URL clients open, e.g. http://127.0.0.1:7880.
func (s *Server) URL() string {
	addr := s.httpLns[0].Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
		if s.cfg.RTC.NodeIP != "" {
			host = s.cfg.RTC.NodeIP
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// MetricsURL is the /metrics URL of the metrics listener, or "" when
// metrics.address is empty.
func (s *Server) MetricsURL() string {
	if s.metricsLn == nil {
		return ""
	}
	addr := s.metricsLn.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port)) + "/metrics"
}

// UDPAddr is the RTC UDP address, or nil when each peer gets its own port.
func (s *Server) UDPAddr() net.Addr {
	if s.udpConn == nil {
		return nil
	}
	return s.udpConn.LocalAddr()
}

// Run serves until ctx is done, then shuts down gracefully: participants
// are told the server is going away, then the listeners close.
func (s *Server) Run(ctx context.Context) error {
	// Waiting requests and running sessions are back in the matcher
	// before anyone can ask or accept.
	if err := s.tutor.service.Restore(ctx); err != nil {
		s.log.Warn("restore tutoring state", "err", err)
	}
	// Attendance a crash left open is closed before anyone can join.
	if err := s.classes.Restore(ctx); err != nil {
		s.log.Warn("restore classes state", "err", err)
	}
	// Polls running when the server stopped still end at their time limit.
	if err := s.classroom.Restore(ctx); err != nil {
		s.log.Warn("restore classroom polls", "err", err)
	}
	// Recordings a crash cut are repaired and marked interrupted before
	// any room opens.
	if err := s.recording.Recover(ctx); err != nil {
		s.log.Warn("recover recordings", "err", err)
	}
	// Open questions whose routing a restart cut short are routed again.
	if s.qaRouter != nil {
		if qs, err := s.store.RecentOpenQuestions(ctx, s.now().Add(-s.qaRouter.Horizon()), 1000); err != nil {
			s.log.Warn("resume Q&A routing", "err", err)
		} else {
			s.qaRouter.Resume(ctx, qs)
		}
	}
	s.webhooks.Start()
	if err := s.jobs.Start(ctx); err != nil {
		s.webhooks.Close(ctx)
		s.tutor.closeFn()
		s.closeListeners()
		s.closeStore()
		return err
	}
	errc := make(chan error, len(s.httpLns)+1)
	var wg sync.WaitGroup
	trusted, _ := s.cfg.TrustedProxyPrefixes() // validated with the config
	limitLog := s.log.With("component", "limits")
	refusing := make(chan struct{}, 64)
	for _, ln := range s.httpLns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			limited := &limitListener{Listener: ln, count: s.connCount, exempt: trustedBy(trusted),
				refused: &s.refused.connections, log: limitLog, refusing: refusing}
			if err := s.httpSrv.Serve(limited); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http on %s: %w", ln.Addr(), err)
			}
		}()
	}
	if s.metricsLn != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.metricsSrv.Serve(s.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics on %s: %w", s.metricsLn.Addr(), err)
			}
		}()
	}
	pruneCtx, stopPrune := context.WithCancel(context.Background())
	wg.Add(4)
	go func() {
		defer wg.Done()
		s.account.PruneSessions(pruneCtx)
	}()
	go func() {
		defer wg.Done()
		s.classes.Run(pruneCtx)
	}()
	go func() {
		defer wg.Done()
		s.microlessons.Run(pruneCtx)
	}()
	go func() {
		defer wg.Done()
		_ = s.tutor.service.Run(pruneCtx)
	}()
	s.ready.Store(true)
	s.log.Info("serving", "url", s.URL(), "rtc_udp", s.UDPAddr())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.ready.Store(false)
	s.log.Info("shutting down")
	s.tutor.hub.Close()
	s.sig.Close()
	s.classroom.Close()
	stopPrune()
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.httpSrv.Shutdown(shutCtx)
	if s.metricsSrv != nil {
		_ = s.metricsSrv.Shutdown(shutCtx)
	}
	wg.Wait()
	s.recording.Close()
	// The last events (rooms finished, recordings stopped) are queued.
	hookCtx, cancelHooks := context.WithTimeout(context.Background(), 10*time.Second)
	s.webhooks.Close(hookCtx)
	cancelHooks()
	// Running jobs finish or are put back before the database closes.
	jobCtx, cancelJobs := context.WithTimeout(context.Background(), 10*time.Second)
	if err := s.jobs.Stop(jobCtx); err != nil {
		s.log.Warn("stop jobs", "err", err)
	}
	cancelJobs()
	if s.qaRouter != nil {
		s.qaRouter.Close() // pending widenings would read a closed store
	}
	s.tutor.closeFn()
	s.closeListeners()
	s.closeStore()
	return runErr
}

// nodeName names this node for the jobs only it may work (those that need
// its files): its host name and HTTP port, the same across restarts.
func nodeName(cfg *config.Config) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "local"
	}
	return host + ":" + strconv.Itoa(cfg.Port)
}

// closeStore closes the database when New opened it.
func (s *Server) closeStore() {
	if s.ownStore && s.store != nil {
		if err := s.store.Close(); err != nil {
			s.log.Warn("close database", "err", err)
		}
		s.ownStore = false
	}
}

func (s *Server) closeListeners() {
	for _, ln := range s.httpLns {
		_ = ln.Close()
	}
	if s.metricsLn != nil {
		_ = s.metricsLn.Close()
	}
	if s.udpMux != nil {
		_ = s.udpMux.Close()
	}
	if s.udpConn != nil {
		_ = s.udpConn.Close()
	}
	if s.tcpMux != nil {
		_ = s.tcpMux.Close()
	}
	if s.tcpLn != nil {
		_ = s.tcpLn.Close()
	}
	if s.turn != nil {
		_ = s.turn.Close()
	}
}

// PrintBanner writes the human start-up banner (URL, and in dev mode the API
// key and secret). After the first start it also names the administrator
// created, with the one-time password when one was generated: that line is
// printed once and never logged.
func (s *Server) PrintBanner(w io.Writer) {
	mode := ""
	if s.cfg.Development {
		mode = " (development mode)"
	}
	u := s.URL()
	fmt.Fprintf(w, "Yunke %s is running%s\n", s.version, mode)
	fmt.Fprintf(w, "  Open:        %s/\n", u)
	fmt.Fprintf(w, "  Signaling:   ws%s  (LiveKit client protocol)\n", u[len("http"):])
	if s.cfg.Development {
		keys := make([]string, 0, len(s.cfg.Keys))
		for k := range s.cfg.Keys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  API key:     %s\n  API secret:  %s\n", k, s.cfg.Keys[k])
		}
	} else {
		fmt.Fprintf(w, "  API keys:    %d configured\n", len(s.cfg.Keys))
	}
	if a := s.UDPAddr(); a != nil {
		fmt.Fprintf(w, "  WebRTC UDP:  %s\n", a)
	}
	if s.tcpLn != nil {
		fmt.Fprintf(w, "  WebRTC TCP:  %s\n", s.tcpLn.Addr())
	}
	for _, a := range s.turnAddrs {
		fmt.Fprintf(w, "  TURN:        %s\n", a)
	}
	fmt.Fprintf(w, "  Health:      %s/healthz  %s/readyz\n", u, u)
	switch m := s.MetricsURL(); {
	case m != "" && s.cfg.Metrics.Token != "":
		fmt.Fprintf(w, "  Metrics:     %s  (and %s/metrics with the bearer token)\n", m, u)
	case m != "":
		fmt.Fprintf(w, "  Metrics:     %s\n", m)
	case s.cfg.Metrics.Token != "":
		fmt.Fprintf(w, "  Metrics:     %s/metrics  (with the bearer token)\n", u)
	default:
		fmt.Fprintf(w, "  Metrics:     off\n")
	}
	fmt.Fprintf(w, "  Database:    %s\n", s.databaseLabel())
	s.bannerMu.Lock()
	admin := s.adminBanner
	s.adminBanner = "" // a one-time password is shown once
	s.bannerMu.Unlock()
	if admin != "" {
		_, _ = io.WriteString(w, admin)
	}
}

// databaseLabel names the database for the banner, never with a password.
func (s *Server) databaseLabel() string {
	if s.cfg.Database.URL == "" {
		return "SQLite " + s.cfg.Database.Path
	}
	u, err := url.Parse(s.cfg.Database.URL)
	if err != nil {
		return "Postgres"
	}
	return "Postgres " + u.Host + u.Path
}

// resumeGrace turns rtc.resume_grace_seconds into signaling's ResumeGrace
// (0 in the config turns resume off, a negative grace for signaling).
func resumeGrace(seconds int) time.Duration {
	if seconds <= 0 {
		return -1
	}
	return time.Duration(seconds) * time.Second
}
