// Package config holds Yunke's one configuration struct and the way it is
// assembled: defaults, then a YAML file (unknown keys rejected), then
// environment variables, then command-line flags, then validation.
//
// Where LiveKit's server has the same setting, the YAML key is the same, so
// an operator's LiveKit config carries over.
package config

import (
	"log/slog"
	"net/url"
	"path/filepath"
)

// Config is the whole server configuration.
type Config struct {
	// Port is the HTTP/WebSocket port (signaling, API, web, metrics). 0 picks a free port.
	Port int `yaml:"port"`
	// BindAddresses are the IP addresses the HTTP server listens on. Empty means all.
	BindAddresses []string `yaml:"bind_addresses"`
	// Keys maps API keys to their secrets; access tokens are signed with
	// them. Outside dev mode a secret has at least MinSecretLen bytes.
	Keys map[string]string `yaml:"keys"`
	// Development enables dev mode: loopback, devkey/secret, open join page.
	Development bool `yaml:"development"`

	RTC      RTCConfig      `yaml:"rtc"`
	Redis    RedisConfig    `yaml:"redis"`
	Logging  LoggingConfig  `yaml:"logging"`
	Room     RoomConfig     `yaml:"room"`
	Database DatabaseConfig `yaml:"database"`
	Auth     AuthConfig     `yaml:"auth"`
	Tutoring TutoringConfig `yaml:"tutoring"`
	// QA tunes the Q&A centre.
	QA QAConfig `yaml:"qa"`
	// Classes tunes scheduled interactive classes.
	Classes ClassesConfig `yaml:"classes"`
	// PublicURL is the base URL browsers reach this node at
	// (https://yunke-1.example.edu). Empty: derived from the listener and
	// rtc.node_ip. Sessions hosted on this node send their browsers here.
	PublicURL string `yaml:"public_url"`
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies
	// (load balancers) whose X-Forwarded-For header names the real client.
	// Empty: the header is ignored and the socket's address is the client's.
	TrustedProxies []string `yaml:"trusted_proxies"`

	Limits  LimitsConfig  `yaml:"limits"`
	Metrics MetricsConfig `yaml:"metrics"`

	Microlessons MicrolessonsConfig `yaml:"microlessons"`
	Recording    RecordingConfig    `yaml:"recording"`
	Media        MediaConfig        `yaml:"media"`
	// Webhook sends LiveKit-format webhooks (the same keys as LiveKit's).
	Webhook WebhookConfig `yaml:"webhook"`
	// Reports configures the statistics: the school terms.
	Reports ReportsConfig `yaml:"reports"`
}

// ReportsConfig configures statistics. A term begins on each of
// TermStarts ("MM-DD", in Asia/Shanghai) and lasts until the next one
// begins, so the terms cover the whole year. Default: "02-01" (the spring
// term, 第二学期) and "09-01" (the autumn term, 第一学期).
type ReportsConfig struct {
	TermStarts []string `yaml:"term_starts"`
}

// WebhookConfig sends LiveKit-format webhooks of rooms, participants,
// tracks and recordings to URLs, signed with one of the API keys. A URL
// may carry a credential in its query: it is never logged with it.
type WebhookConfig struct {
	// URLs receive every event (http or https). Empty: no webhooks.
	URLs []string `yaml:"urls"`
	// APIKey names the key of keys whose secret signs the deliveries.
	// Empty: the only key, when there is exactly one.
	APIKey string `yaml:"api_key"`
}

// SigningKey is the API key that signs webhooks: webhook.api_key, or the
// only key.
func (c *Config) SigningKey() string {
	if c.Webhook.APIKey != "" || len(c.Keys) != 1 {
		return c.Webhook.APIKey
	}
	for k := range c.Keys {
		return k
	}
	return ""
}

// LogValue shows the settings with each URL's user information and query
// left out.
func (c WebhookConfig) LogValue() slog.Value {
	urls := make([]string, 0, len(c.URLs))
	for _, u := range c.URLs {
		pu, err := url.Parse(u)
		if err != nil {
			urls = append(urls, "(malformed)")
			continue
		}
		pu.User, pu.RawQuery, pu.Fragment, pu.RawFragment = nil, "", "", ""
		urls = append(urls, pu.String())
	}
	return slog.GroupValue(slog.Any("urls", urls), slog.String("api_key", c.APIKey))
}

// RecordingConfig chooses what is recorded and where the files go.
type RecordingConfig struct {
	// Dir holds this node's recordings: those being written in Dir/work
	// and, while media are kept on the local disk, the finished files in
	// Dir/media. Empty: "recordings" beside database.path.
	Dir string `yaml:"dir"`
	// Classes records every class a teacher opens (default true).
	Classes bool `yaml:"classes"`
	// Tutoring records one-to-one tutoring sessions too (default false).
	Tutoring bool `yaml:"tutoring"`
	// FFmpeg is the ffmpeg binary that renders composite downloads: empty
	// looks it up on PATH, "-" turns composites off.
	FFmpeg string `yaml:"ffmpeg"`
	// Composites is how many composites this node renders at once (0: 1;
	// each ffmpeg takes about a core); more wait their turn.
	Composites int `yaml:"composites"`
	// SpeakingFlushSeconds: the speaking activity of a recording in
	// progress is saved this often (0: 10), so that a crash loses at most
	// that much of it.
	SpeakingFlushSeconds int `yaml:"speaking_flush_seconds"`
	// STIntervalSeconds is the default sampling interval of the S-T
	// analysis of a recording (0: 30 s; 5–600).
	STIntervalSeconds int `yaml:"st_interval_seconds"`
	// RetentionDays: recordings that ended this many days ago are deleted
	// (files and all; the row stays, marked deleted). 0 keeps them.
	RetentionDays int `yaml:"retention_days"`
}

// MediaOrigin is the origin browsers fetch media from besides the app's
// own: the object store's (its signed URLs), or "" with media on the
// local disk.
func (c *Config) MediaOrigin() string {
	if c.Media.Store != MediaS3 || c.Media.S3.Endpoint == "" {
		return ""
	}
	if c.Media.S3.UseSSL {
		return "https://" + c.Media.S3.Endpoint
	}
	return "http://" + c.Media.S3.Endpoint
}

// RecordingDir is recording.dir, or its default beside the database file.
func (c *Config) RecordingDir() string {
	if c.Recording.Dir != "" {
		return c.Recording.Dir
	}
	return filepath.Join(filepath.Dir(c.Database.Path), "recordings")
}

// Media stores: where finished media (recordings, micro-lesson videos) are kept.
const (
	MediaLocal = "local"
	MediaS3    = "s3"
)

// MediaConfig chooses where finished media files are kept: the local disk
// (each domain's own directory) or an S3-compatible object store such as
// MinIO, which several nodes can share.
type MediaConfig struct {
	// Store is "local" (the default) or "s3".
	Store string   `yaml:"store"`
	S3    S3Config `yaml:"s3"`
}

// S3Config reaches an S3-compatible bucket. Its secret key is never logged
// nor quoted in an error.
type S3Config struct {
	// Endpoint is host:port of the S3 API, without a scheme (minio:9000).
	Endpoint string `yaml:"endpoint"`
	// Bucket must exist; Yunke never creates it.
	Bucket    string `yaml:"bucket"`
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	// Region is the bucket's region (MinIO's default: us-east-1).
	Region string `yaml:"region"`
	// UseSSL selects https.
	UseSSL bool `yaml:"use_ssl"`
	// Prefix starts every object name ("yunke/"), so one bucket can be shared.
	Prefix string `yaml:"prefix"`
}

// LogValue shows the settings with the secret key hidden.
func (c S3Config) LogValue() slog.Value {
	secret := ""
	if c.SecretKey != "" {
		secret = "(set)"
	}
	return slog.GroupValue(slog.String("endpoint", c.Endpoint), slog.String("bucket", c.Bucket),
		slog.String("access_key", c.AccessKey), slog.String("secret_key", secret), slog.String("region", c.Region),
		slog.Bool("use_ssl", c.UseSSL), slog.String("prefix", c.Prefix))
}

// MicrolessonsConfig bounds micro-lesson uploads.
type MicrolessonsConfig struct {
	// Dir holds this node's micro-lesson files: uploads in progress in
	// Dir/uploads and, while media are kept on the local disk, the
	// videos in Dir/videos. Empty: "microlessons" beside database.path.
	Dir string `yaml:"dir"`
	// MaxBytes is the largest video a teacher may upload.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxMinutes is the longest video accepted.
	MaxMinutes int `yaml:"max_minutes"`
	// UploadsPerUser caps one user's uploads in progress.
	UploadsPerUser int `yaml:"uploads_per_user"`
	// UploadHours: an upload not filed as a micro-lesson this long after
	// it started is removed with its bytes.
	UploadHours int `yaml:"upload_hours"`
	// StagingMaxBytes caps the sizes all uploads in progress announce
	// together (0: no cap).
	StagingMaxBytes int64 `yaml:"staging_max_bytes"`
}

// MicrolessonsDir is microlessons.dir, or its default beside the database file.
func (c *Config) MicrolessonsDir() string {
	if c.Microlessons.Dir != "" {
		return c.Microlessons.Dir
	}
	return filepath.Join(filepath.Dir(c.Database.Path), "microlessons")
}

// ClassesConfig tunes scheduled interactive classes.
type ClassesConfig struct {
	// JoinEarlyMinutes: joining opens this long before a class starts.
	JoinEarlyMinutes int `yaml:"join_early_minutes"`
	// EmptyGraceSeconds: a live class ends when its room has been empty this long.
	EmptyGraceSeconds int `yaml:"empty_grace_seconds"`
	// OverrunMinutes: a live class still running this long after its planned end is ended.
	OverrunMinutes int `yaml:"overrun_minutes"`
	// RatingDays: students may rate a class for this many days after it ends.
	RatingDays int `yaml:"rating_days"`
	// RatingEditMinutes is how long after rating a student may change it.
	RatingEditMinutes int `yaml:"rating_edit_minutes"`
	// SeenSeconds is how often the attendance of the people in a room is
	// marked seen: a crash loses at most this much of it.
	SeenSeconds int `yaml:"seen_seconds"`
}

// TutoringConfig tunes one-to-one tutoring.
type TutoringConfig struct {
	// OfferSeconds is how long a teacher has to accept an offer.
	OfferSeconds int `yaml:"offer_seconds"`
	// PresenceSeconds: a teacher not heard from for this long (no heartbeat)
	// drops out of matching.
	PresenceSeconds int `yaml:"presence_seconds"`
	// MaxLapses: a teacher who lets this many offers in a row lapse is set unavailable.
	MaxLapses int `yaml:"max_lapses"`
	// Capacity is how many students a teacher tutors at once.
	Capacity int `yaml:"capacity"`
	// GraceSeconds: a session ends when a participant has been gone this long.
	GraceSeconds int `yaml:"grace_seconds"`
	// MaxMinutes ends a session that runs this long.
	MaxMinutes int `yaml:"max_minutes"`
	// RatingEditMinutes is how long after rating a student may change it.
	RatingEditMinutes int `yaml:"rating_edit_minutes"`
}

// QAConfig tunes the Q&A centre.
type QAConfig struct {
	// StudentsAnswer lets students answer their district's questions (default false: teachers
	// only); the default of districts that have not chosen.
	StudentsAnswer bool `yaml:"students_answer"`
	// MaxImages bounds the pictures of a question or an answer (1–4).
	MaxImages int `yaml:"max_images"`
	// EditMinutes is how long the asker may edit an unanswered question.
	EditMinutes int `yaml:"edit_minutes"`
	// AdoptChangeHours is how long after adopting the asker may change the choice.
	AdoptChangeHours int `yaml:"adopt_change_hours"`
	// ClaimMinutes is how long a teacher's claim holds a question.
	ClaimMinutes int `yaml:"claim_minutes"`
	// NotifyBatch is how many online teachers are told of a new question at a time.
	NotifyBatch int `yaml:"notify_batch"`
	// WidenSeconds is how long a batch has before the next is told.
	WidenSeconds int `yaml:"widen_seconds"`
	// SchoolRounds is how many first batches go to teachers of the
	// question's school only, before the rest of the district.
	SchoolRounds int `yaml:"school_rounds"`
}

// DatabaseConfig chooses the durable store: Postgres when URL is set,
// otherwise an embedded SQLite file at Path.
type DatabaseConfig struct {
	// URL is a Postgres connection URL (postgres://user@host:5432/db?sslmode=disable).
	URL string `yaml:"url"`
	// Path is the SQLite database file used when URL is empty.
	Path string `yaml:"path"`
}

// AuthConfig configures sign-in and browser sessions.
type AuthConfig struct {
	// AdminUsername is the system administrator created on the first start.
	AdminUsername string `yaml:"admin_username"`
	// AdminPassword is that administrator's first password. Empty: a one-time
	// password is generated and printed once; it must be changed at first sign-in.
	AdminPassword string `yaml:"admin_password"`
	// SessionHours is how long a browser session lasts without activity.
	SessionHours int `yaml:"session_hours"`
	// CookieSecure marks the session cookie Secure (serve over HTTPS, or
	// behind a TLS-terminating proxy).
	CookieSecure bool `yaml:"cookie_secure"`
	// FailuresPerAccount failed sign-ins to one account are free; after
	// them each attempt waits, 1 s after the last, twice as long each time,
	// up to 15 minutes. A browser the account signed in from before has an
	// allowance of its own, so the account is never locked out.
	FailuresPerAccount int `yaml:"failures_per_account"`
	// FailuresPerAddress failed sign-ins from one address within 15
	// minutes block that address. A whole school usually shares one
	// address behind its NAT, so this is high.
	FailuresPerAddress int `yaml:"failures_per_address"`
}

// RTCConfig configures WebRTC transport.
type RTCConfig struct {
	// UDPPort is the single UDP port shared by all peers (a UDP mux).
	// 0 with no port range picks a free port.
	UDPPort int `yaml:"udp_port"`
	// TCPPort is the ICE-over-TCP port, the fallback for networks that block UDP. 0 disables it.
	TCPPort int `yaml:"tcp_port"`
	// PortRangeStart/End: when UDPPort is 0 and a range is given, each peer gets its own port from it.
	PortRangeStart int `yaml:"port_range_start"`
	PortRangeEnd   int `yaml:"port_range_end"`
	// NodeIP is the IP address advertised in ICE candidates (1:1 NAT). Empty: the interfaces' own.
	NodeIP string `yaml:"node_ip"`
	// PacketBufferSize is the per-track packet cache length (packets) for NACK answers.
	PacketBufferSize int `yaml:"packet_buffer_size"`
	// UDPBatchSize is how many datagrams the shared UDP port sends per
	// sendmmsg call (Linux). 0 or 1: one write per datagram, no batching.
	UDPBatchSize int `yaml:"udp_batch_size"`
	// UDPBatchFlushMicros bounds, in microseconds, how long a datagram waits
	// for its batch to fill.
	UDPBatchFlushMicros int `yaml:"udp_batch_flush_us"`
	// UDPGSO sends runs of equal-sized datagrams to one peer as one
	// segmented send where the kernel supports UDP_SEGMENT (with batching on).
	UDPGSO bool `yaml:"udp_gso"`
	// UDPRawSyscalls sends on the shared UDP port with system calls the Go
	// scheduler is not told about (Linux, with batching on): a send never
	// blocks, and announcing it costs thread hand-offs under load.
	UDPRawSyscalls bool `yaml:"udp_raw_syscalls"`
	// SendSideBWE runs Google Congestion Control on every subscriber's
	// PeerConnection from its transport-wide feedback. Off, the allocator
	// relies on the clients' REMB and loss reports.
	SendSideBWE bool `yaml:"send_side_bwe"`
	// DirectForwarding lets a publisher's read goroutine write each packet
	// to its UDP subscribers itself, rather than waking a writer goroutine
	// per subscriber and track. Subscribers over ICE-TCP always get their
	// own writer.
	DirectForwarding bool `yaml:"direct_forwarding"`
	// DownlinkBWE is who estimates a subscriber's downstream bandwidth:
	// "gcc", the server (Google Congestion Control over transport-wide
	// feedback, subject to SendSideBWE), or "remb", the subscriber's
	// browser, which reports its estimate in REMB.
	DownlinkBWE string `yaml:"downlink_bwe"`
	// ResumeGraceSeconds is how long a participant whose signaling socket
	// dropped is kept for the client to resume its session. 0 disables
	// resume: clients then rejoin.
	ResumeGraceSeconds int `yaml:"resume_grace_seconds"`
	// TURN is the embedded TURN server, for networks that block UDP.
	TURN TURNConfig `yaml:"turn"`
}

// TURNConfig configures the embedded TURN server (RFC 8656). Participants
// are handed short-lived credentials for it in their join responses.
type TURNConfig struct {
	// Enabled starts it.
	Enabled bool `yaml:"enabled"`
	// UDPPort and TCPPort are where clients reach it (0: a free port; -1: off).
	UDPPort int `yaml:"udp_port"`
	TCPPort int `yaml:"tcp_port"`
	// TLSPort serves TURN over TLS (turns:), 443 in production where only
	// HTTPS leaves a school network; 0 turns it off. Needs CertFile and KeyFile.
	TLSPort  int    `yaml:"tls_port"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Domain is the host name in the TURN URLs (the TLS certificate's
	// name). Empty: rtc.node_ip, or the bind address.
	Domain string `yaml:"domain"`
	// CredentialTTLSeconds is how long a handed-out credential may open
	// relays.
	CredentialTTLSeconds int `yaml:"credential_ttl_seconds"`
	// RelayPortRangeStart/End bound the relay ports (both 0: any free port).
	RelayPortRangeStart int `yaml:"relay_port_range_start"`
	RelayPortRangeEnd   int `yaml:"relay_port_range_end"`
}

// RedisConfig points at Redis for multi-node presence and routing. Empty address: in-process.
type RedisConfig struct {
	Address  string `yaml:"address"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"`
	// KeyPrefix starts every key and channel Yunke uses, so that several
	// installations (or test runs) can share one Redis.
	KeyPrefix string `yaml:"key_prefix"`
}

// LoggingConfig configures log/slog output.
type LoggingConfig struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// JSON switches from text to JSON log lines.
	JSON bool `yaml:"json"`
}

// RoomConfig holds room defaults.
type RoomConfig struct {
	// EmptyTimeout is how long (seconds) an empty room is kept before it is closed.
	EmptyTimeout int `yaml:"empty_timeout"`
	// MaxParticipants limits a room's size; 0 means no limit.
	MaxParticipants int `yaml:"max_participants"`
}

// LimitsConfig bounds what one client may hold open. 0 turns a limit off.
type LimitsConfig struct {
	// ConnectionsPerAddress caps the TCP connections one client address
	// holds open on the HTTP port (reverse proxies in trusted_proxies are
	// not counted). A whole school often shares one address behind its
	// NAT, so this is high.
	ConnectionsPerAddress int `yaml:"connections_per_address"`
	// RTCPerAddress caps the open /rtc signaling WebSockets of one client
	// address (after X-Forwarded-For from a trusted proxy).
	RTCPerAddress int `yaml:"rtc_per_address"`
	// SocketsPerUser caps one user's event sockets (/api/v1/ws) on a node:
	// one per open tab.
	SocketsPerUser int `yaml:"sockets_per_user"`
}

// MetricsConfig places the Prometheus endpoint.
type MetricsConfig struct {
	// Address is where /metrics is served, apart from the app
	// (host:port; loopback by default). Empty: no separate listener.
	Address string `yaml:"address"`
	// Token, when set, also serves /metrics on the main port to requests
	// that carry "Authorization: Bearer <token>".
	Token string `yaml:"token"`
}
