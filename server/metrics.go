package server

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"yunke/sfu"
	"yunke/sfu/recorder"
	"yunke/sfu/udpbatch"
	"yunke/signaling"
)

// collector exports the SFU's counters and the signaling service's gauges
// at scrape time, so the media path only ever touches its own atomics.
type collector struct {
	m       *sfu.Metrics
	sig     *signaling.Service
	refused *refusals

	rooms, participants, tracks, subscriptions *prometheus.Desc
	packets, bytes, dropped, nacks, plis       *prometheus.Desc
	direct                                     *prometheus.Desc
	refusedConns                               *prometheus.Desc
}

func newCollector(m *sfu.Metrics, sig *signaling.Service, refused *refusals) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("yunke_"+name, help, labels, nil)
	}
	return &collector{
		m:             m,
		sig:           sig,
		refused:       refused,
		rooms:         d("rooms", "Rooms open on this node."),
		participants:  d("participants", "Participants connected to this node."),
		tracks:        d("tracks", "Published tracks being received."),
		subscriptions: d("subscriptions", "Subscribed tracks being forwarded."),
		packets:       d("rtp_packets_total", "RTP packets received from publishers (in) and sent to subscribers (out).", "direction"),
		direct:        d("rtp_packets_direct_total", "RTP packets sent to subscribers (of rtp_packets_total out) that a publisher's read goroutine wrote itself rather than a subscriber's writer goroutine (rtc.direct_forwarding)."),
		bytes:         d("rtp_bytes_total", "RTP bytes received (in) and sent (out).", "direction"),
		dropped:       d("rtp_packets_dropped_total", "RTP packets not forwarded, by reason.", "reason"),
		nacks:         d("nacks_total", "Sequence numbers subscribers NACKed (received), those resent from the cache (answered) and those refused by the resend limits (limited).", "result"),
		plis:          d("keyframe_requests_total", "Keyframe requests from subscribers (received) and sent to publishers after throttling (sent).", "direction"),
		refusedConns:  d("connections_refused_total", "Connections refused because one client address held too many open, by limit (connections_per_address, rtc_per_address).", "limit"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rooms, c.participants, c.tracks, c.subscriptions, c.packets, c.direct, c.bytes, c.dropped, c.nacks, c.plis, c.refusedConns} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.sig.Stats()
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge(c.rooms, float64(st.Rooms))
	gauge(c.participants, float64(st.Participants))
	gauge(c.tracks, float64(c.m.Tracks.Load()))
	gauge(c.subscriptions, float64(c.m.DownTracks.Load()))
	counter(c.packets, c.m.PacketsIn.Load(), "in")
	counter(c.packets, c.m.PacketsOut.Load(), "out")
	counter(c.direct, c.m.DirectOut.Load())
	counter(c.bytes, c.m.BytesIn.Load(), "in")
	counter(c.bytes, c.m.BytesOut.Load(), "out")
	for _, r := range sfu.DropReasons() {
		counter(c.dropped, c.m.Dropped(r), r.String())
	}
	counter(c.nacks, c.m.NACKs.Load(), "received")
	counter(c.nacks, c.m.NACKsAnswered.Load(), "answered")
	counter(c.nacks, c.m.NACKsLimited.Load(), "limited")
	counter(c.plis, c.m.PLIsIn.Load(), "received")
	counter(c.plis, c.m.PLIsOut.Load(), "sent")
	counter(c.refusedConns, c.refused.connections.Load(), "connections_per_address")
	counter(c.refusedConns, c.refused.rtc.Load(), "rtc_per_address")
}

// mainPortMetrics serves /metrics on the app's port only to a request
// carrying metrics.token as a bearer token; without a token configured the
// metrics are not there at all (they have a listener of their own).
func (s *Server) mainPortMetrics() http.Handler {
	token := s.cfg.Metrics.Token
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			http.NotFound(w, r)
			return
		}
		h := r.Header.Get("Authorization")
		if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") ||
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h[7:])), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <metrics.token>", http.StatusUnauthorized)
			return
		}
		s.promHandler.ServeHTTP(w, r)
	})
}

// recorderCollector exports the recorder's counters.
type recorderCollector struct {
	m                                          *recorder.Metrics
	sessions, tracks, packets, dropped, frames *prometheus.Desc
	bytes, skipped, keyframes, failures        *prometheus.Desc
}

func newRecorderCollector(m *recorder.Metrics) *recorderCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("yunke_recorder_"+name, help, nil, nil)
	}
	return &recorderCollector{
		m:         m,
		sessions:  d("recordings", "Recordings in progress on this node."),
		tracks:    d("tracks", "Tracks being recorded."),
		packets:   d("packets_total", "RTP packets queued for writing."),
		dropped:   d("packets_dropped_total", "RTP packets dropped because a track's write queue was full (a slow or stuck disk); the track is marked damaged."),
		frames:    d("frames_total", "Frames written to recording files."),
		bytes:     d("bytes_total", "Bytes written to recording files."),
		skipped:   d("frames_skipped_total", "Frames not written while waiting for a keyframe."),
		keyframes: d("keyframe_requests_total", "Keyframes the recorder asked publishers for."),
		failures:  d("track_failures_total", "Recorded tracks stopped by a write error (a full disk, an I/O error)."),
	}
}

func (c *recorderCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.tracks, c.packets, c.dropped, c.frames, c.bytes, c.skipped, c.keyframes, c.failures} {
		ch <- d
	}
}

func (c *recorderCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.sessions, c.m.Sessions.Load())
	gauge(c.tracks, c.m.Tracks.Load())
	counter(c.packets, c.m.Packets.Load())
	counter(c.dropped, c.m.Dropped.Load())
	counter(c.frames, c.m.Frames.Load())
	counter(c.bytes, c.m.Bytes.Load())
	counter(c.skipped, c.m.Skipped.Load())
	counter(c.keyframes, c.m.KeyframeRequests.Load())
	counter(c.failures, c.m.Failures.Load())
}

// udpCollector exports the media UDP port's send batching (see
// rtc.udp_batch_size): how many datagrams went out in how many system
// calls, and how many as GSO segments.
type udpCollector struct {
	c                                 *udpbatch.Conn
	datagrams, sends, segmented, errs *prometheus.Desc
	gso, reads, readDatagrams         *prometheus.Desc
}

func newUDPCollector(c *udpbatch.Conn) *udpCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("yunke_udp_"+name, help, nil, nil)
	}
	return &udpCollector{
		c:             c,
		datagrams:     d("datagrams_sent_total", "Datagrams sent on the media UDP port through the send batch."),
		sends:         d("send_calls_total", "System calls (sendmmsg, or single writes) that carried them."),
		segmented:     d("gso_segments_total", "Datagrams sent as segments of a UDP GSO send."),
		errs:          d("send_errors_total", "Datagrams the kernel refused (dropped)."),
		gso:           d("gso_enabled", "1 while UDP generic segmentation offload is in use."),
		reads:         d("read_calls_total", "recvmmsg calls on the media UDP port (reads are batched with sends)."),
		readDatagrams: d("datagrams_read_total", "Datagrams those calls brought."),
	}
}

func (c *udpCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.datagrams, c.sends, c.segmented, c.errs, c.gso, c.reads, c.readDatagrams} {
		ch <- d
	}
}

func (c *udpCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.c.Stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.datagrams, st.Datagrams)
	counter(c.sends, st.Sends)
	counter(c.segmented, st.Segmented)
	counter(c.errs, st.Errors)
	counter(c.reads, st.Reads)
	counter(c.readDatagrams, st.ReadDatagrams)
	gso := 0.0
	if st.GSO {
		gso = 1
	}
	ch <- prometheus.MustNewConstMetric(c.gso, prometheus.GaugeValue, gso)
}
