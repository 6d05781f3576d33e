package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Validate reports every problem in c at once, each naming its YAML key.
// It never quotes a secret.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	port := func(key string, p int) {
		if p < 0 || p > 65535 {
			bad(key, "%d is not a port (0..65535)", p)
		}
	}

	port("port", c.Port)
	port("rtc.udp_port", c.RTC.UDPPort)
	port("rtc.tcp_port", c.RTC.TCPPort)
	port("rtc.port_range_start", c.RTC.PortRangeStart)
	port("rtc.port_range_end", c.RTC.PortRangeEnd)
	if c.Port != 0 && c.Port == c.RTC.TCPPort {
		bad("rtc.tcp_port", "%d is also the HTTP port", c.RTC.TCPPort)
	}
	if start, end := c.RTC.PortRangeStart, c.RTC.PortRangeEnd; start != 0 || end != 0 {
		switch {
		case start == 0 || end == 0:
			bad("rtc.port_range_start", "give both port_range_start and port_range_end, or neither")
		case start > end:
			bad("rtc.port_range_start", "%d is above port_range_end %d", start, end)
		case c.RTC.UDPPort != 0:
			bad("rtc.udp_port", "is %d, so the port range %d-%d would be ignored: set udp_port to 0 to use the range", c.RTC.UDPPort, start, end)
		}
	}
	if b := c.RTC.DownlinkBWE; b != "" && b != "gcc" && b != "remb" {
		bad("rtc.downlink_bwe", "is %q: want gcc or remb", b)
	}
	if g := c.RTC.ResumeGraceSeconds; g < 0 || g > 300 {
		bad("rtc.resume_grace_seconds", "must be 0 (off) to 300, not %d", g)
	}
	if t := c.RTC.TURN; t.Enabled {
		for key, v := range map[string]int{"rtc.turn.udp_port": t.UDPPort, "rtc.turn.tcp_port": t.TCPPort} {
			if v < -1 || v > 65535 {
				bad(key, "must be -1 (off), 0 (any free port) or a port, not %d", v)
			}
		}
		port("rtc.turn.tls_port", t.TLSPort)
		port("rtc.turn.relay_port_range_start", t.RelayPortRangeStart)
		port("rtc.turn.relay_port_range_end", t.RelayPortRangeEnd)
		if t.TLSPort > 0 && (t.CertFile == "" || t.KeyFile == "") {
			bad("rtc.turn.tls_port", "needs rtc.turn.cert_file and rtc.turn.key_file")
		}
		if t.TLSPort > 0 && t.TLSPort == c.Port {
			bad("rtc.turn.tls_port", "%d is also the HTTP port", t.TLSPort)
		}
		if t.TCPPort > 0 && (t.TCPPort == c.Port || t.TCPPort == c.RTC.TCPPort) {
			bad("rtc.turn.tcp_port", "%d is also the HTTP or ICE-TCP port", t.TCPPort)
		}
		if t.UDPPort > 0 && t.UDPPort == c.RTC.UDPPort {
			bad("rtc.turn.udp_port", "%d is also the media UDP port", t.UDPPort)
		}
		if t.CredentialTTLSeconds < 60 || t.CredentialTTLSeconds > 24*3600 {
			bad("rtc.turn.credential_ttl_seconds", "must be 60 to 86400, not %d", t.CredentialTTLSeconds)
		}
		if start, end := t.RelayPortRangeStart, t.RelayPortRangeEnd; (start == 0) != (end == 0) || start > end {
			bad("rtc.turn.relay_port_range_start", "give both ends of the relay port range, start ≤ end, or neither")
		}
	}
	if c.RTC.PacketBufferSize <= 0 {
		bad("rtc.packet_buffer_size", "must be positive, not %d", c.RTC.PacketBufferSize)
	}
	if c.RTC.UDPBatchSize < 0 || c.RTC.UDPBatchSize > 1024 {
		bad("rtc.udp_batch_size", "must be 0 to 1024, not %d", c.RTC.UDPBatchSize)
	}
	if c.RTC.UDPBatchSize > 1 && (c.RTC.UDPBatchFlushMicros < 1 || c.RTC.UDPBatchFlushMicros > 20000) {
		bad("rtc.udp_batch_flush_us", "must be 1 to 20000 (20 ms), not %d", c.RTC.UDPBatchFlushMicros)
	}
	if c.RTC.NodeIP != "" {
		if _, err := netip.ParseAddr(c.RTC.NodeIP); err != nil {
			bad("rtc.node_ip", "%q is not an IP address", c.RTC.NodeIP)
		}
	}
	for _, a := range c.BindAddresses {
		if _, err := netip.ParseAddr(a); err != nil {
			bad("bind_addresses", "%q is not an IP address", a)
		}
	}

	if len(c.Keys) == 0 {
		bad("keys", "no API keys: set keys in the config file, YUNKE_KEYS or --keys (or run with --dev)")
	}
	names := make([]string, 0, len(c.Keys))
	for k := range c.Keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		secret := c.Keys[k]
		switch {
		case strings.TrimSpace(k) == "":
			bad("keys", "an API key is empty")
		case secret == "":
			bad("keys", "the secret of key %q is empty", k)
		case c.Development:
		case k == DevAPIKey || slices.Contains(publicSecrets, secret):
			bad("keys", "key %q is a published development key: outside dev mode give a key of your own with a random secret (openssl rand -base64 32)", k)
		case len(secret) < MinSecretLen:
			bad("keys", "the secret of key %q is shorter than %d bytes: use a random one (openssl rand -base64 32)", k, MinSecretLen)
		}
	}

	if _, err := ParseLevel(c.Logging.Level); err != nil {
		bad("logging.level", "%v", err)
	}
	if c.Redis.DB < 0 {
		bad("redis.db", "must not be negative, not %d", c.Redis.DB)
	}
	if c.Room.EmptyTimeout < 0 {
		bad("room.empty_timeout", "must not be negative, not %d", c.Room.EmptyTimeout)
	}
	if c.Room.MaxParticipants < 0 {
		bad("room.max_participants", "must not be negative, not %d", c.Room.MaxParticipants)
	}

	if u := c.Database.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		bad("database.url", "must be a postgres:// URL (leave it empty for the embedded SQLite file)")
	}
	if c.Database.URL == "" && strings.TrimSpace(c.Database.Path) == "" {
		bad("database.path", "is empty: give a SQLite file path or a database.url")
	}
	if strings.TrimSpace(c.Auth.AdminUsername) == "" {
		bad("auth.admin_username", "must not be empty")
	}
	if p := c.Auth.AdminPassword; p != "" && (len(p) < 8 || len(p) > 128) {
		bad("auth.admin_password", "must be 8 to 128 characters")
	}
	if c.Auth.SessionHours < 1 || c.Auth.SessionHours > 24*30 {
		bad("auth.session_hours", "must be between 1 and 720, not %d", c.Auth.SessionHours)
	}

	positive := func(key string, v, max int) {
		if v < 1 || v > max {
			bad(key, "must be between 1 and %d, not %d", max, v)
		}
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		bad("trusted_proxies", "%v", err)
	}
	positive("auth.failures_per_account", c.Auth.FailuresPerAccount, 1000)
	positive("auth.failures_per_address", c.Auth.FailuresPerAddress, 1000000)
	positive("qa.max_images", c.QA.MaxImages, 4)
	positive("qa.edit_minutes", c.QA.EditMinutes, 24*60)
	positive("qa.adopt_change_hours", c.QA.AdoptChangeHours, 24*30)
	positive("qa.claim_minutes", c.QA.ClaimMinutes, 60)
	positive("qa.notify_batch", c.QA.NotifyBatch, 100)
	positive("qa.widen_seconds", c.QA.WidenSeconds, 3600)
	positive("qa.school_rounds", c.QA.SchoolRounds, 4)
	positive("tutoring.offer_seconds", c.Tutoring.OfferSeconds, 600)
	positive("tutoring.presence_seconds", c.Tutoring.PresenceSeconds, 600)
	positive("tutoring.max_lapses", c.Tutoring.MaxLapses, 100)
	positive("tutoring.capacity", c.Tutoring.Capacity, 20)
	positive("tutoring.grace_seconds", c.Tutoring.GraceSeconds, 3600)
	positive("tutoring.max_minutes", c.Tutoring.MaxMinutes, 24*60)
	positive("tutoring.rating_edit_minutes", c.Tutoring.RatingEditMinutes, 7*24*60)
	positive("classes.join_early_minutes", c.Classes.JoinEarlyMinutes, 120)
	positive("classes.empty_grace_seconds", c.Classes.EmptyGraceSeconds, 3600)
	positive("classes.overrun_minutes", c.Classes.OverrunMinutes, 24*60)
	positive("classes.rating_days", c.Classes.RatingDays, 365)
	positive("classes.rating_edit_minutes", c.Classes.RatingEditMinutes, 7*24*60)
	positive("classes.seen_seconds", c.Classes.SeenSeconds, 60)
	if c.Redis.Address != "" && strings.TrimSpace(c.Redis.KeyPrefix) == "" {
		bad("redis.key_prefix", "must not be empty")
	}
	nonNegative := func(key string, v, max int) {
		if v < 0 || v > max {
			bad(key, "must be between 0 (no limit) and %d, not %d", max, v)
		}
	}
	nonNegative("limits.connections_per_address", c.Limits.ConnectionsPerAddress, 1000000)
	nonNegative("limits.rtc_per_address", c.Limits.RTCPerAddress, 1000000)
	nonNegative("limits.sockets_per_user", c.Limits.SocketsPerUser, 1000)
	if a := c.Metrics.Address; a != "" {
		host, p, err := net.SplitHostPort(a)
		n, perr := strconv.Atoi(p)
		switch {
		case err != nil || perr != nil || n < 0 || n > 65535:
			bad("metrics.address", "%q is not host:port, e.g. %s", a, DefaultMetricsAddress)
		case host != "" && net.ParseIP(host) == nil:
			bad("metrics.address", "%q: the host must be an IP address", a)
		case n != 0 && n == c.Port:
			bad("metrics.address", "port %d is also the HTTP port: metrics are served apart from the app", n)
		}
	}
	if n := c.Microlessons.MaxBytes; n < 1<<20 || n > 1<<40 {
		bad("microlessons.max_bytes", "must be between 1 MiB (1048576) and 1 TiB, not %d", n)
	}
	positive("microlessons.max_minutes", c.Microlessons.MaxMinutes, 24*60)
	positive("microlessons.uploads_per_user", c.Microlessons.UploadsPerUser, 100)
	positive("microlessons.upload_hours", c.Microlessons.UploadHours, 30*24)
	if n := c.Microlessons.StagingMaxBytes; n != 0 && n < c.Microlessons.MaxBytes {
		bad("microlessons.staging_max_bytes", "must be 0 (no cap) or at least microlessons.max_bytes (%d), not %d", c.Microlessons.MaxBytes, n)
	}
	if n := c.Recording.Composites; n < 0 || n > 16 {
		bad("recording.composites", "must be 0 (one) to 16, not %d", n)
	}
	if n := c.Recording.RetentionDays; n < 0 || n > 36500 {
		bad("recording.retention_days", "must be 0 (keep) to 36500, not %d", n)
	}
	if n := c.Recording.STIntervalSeconds; n != 0 && (n < 5 || n > 600) {
		bad("recording.st_interval_seconds", "must be 0 (30 s) or 5 to 600, not %d", n)
	}
	if n := c.Recording.SpeakingFlushSeconds; n < 0 || n > 300 {
		bad("recording.speaking_flush_seconds", "must be 0 (10 s) to 300, not %d", n)
	}
	switch c.Media.Store {
	case MediaLocal:
	case MediaS3:
		s3 := c.Media.S3
		if !validEndpoint(s3.Endpoint) {
			bad("media.s3.endpoint", "%q is not host or host:port without a scheme, e.g. minio:9000 (https is media.s3.use_ssl)", s3.Endpoint)
		}
		if !validBucket(s3.Bucket) {
			bad("media.s3.bucket", "%q is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens)", s3.Bucket)
		}
		if s3.AccessKey == "" {
			bad("media.s3.access_key", "is empty")
		}
		if s3.SecretKey == "" {
			bad("media.s3.secret_key", "is empty")
		}
		if p := strings.Trim(s3.Prefix, "/"); p != "" && (strings.Contains(p, "//") || strings.Contains(p, "..") || strings.ContainsAny(p, "\\\x00")) {
			bad("media.s3.prefix", "%q is not a clean relative path such as yunke/", s3.Prefix)
		}
	default:
		bad("media.store", "%q is neither local nor s3", c.Media.Store)
	}
	if err := ValidTermStarts(c.Reports.TermStarts); err != nil {
		bad("reports.term_starts", "%v", err)
	}
	for _, u := range c.Webhook.URLs {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("webhook.urls", "an entry is not an http or https URL such as https://hooks.example.edu/livekit")
		}
	}
	if len(c.Webhook.URLs) > 0 {
		switch k := c.SigningKey(); {
		case k == "":
			bad("webhook.api_key", "name the key of keys that signs webhooks (there are %d keys)", len(c.Keys))
		case c.Keys[k] == "":
			bad("webhook.api_key", "%q is not one of keys", k)
		}
	}
	if t := c.Metrics.Token; t != "" && len(t) < MinMetricsTokenLen {
		bad("metrics.token", "is shorter than %d characters", MinMetricsTokenLen)
	}
	if u := c.PublicURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || (pu.Path != "" && pu.Path != "/") {
			bad("public_url", "%q is not a base URL like https://yunke.example.edu", u)
		}
	}

	switch len(errs) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("config: %w", errs[0])
	}
	return fmt.Errorf("config: %d problems:\n  %w", len(errs), indent(errors.Join(errs...)))
}

// validEndpoint reports whether e is host or host:port, without a scheme or path.
func validEndpoint(e string) bool {
	if e == "" || strings.ContainsAny(e, "/?#@ ") {
		return false
	}
	if !strings.Contains(e, ":") {
		return true
	}
	host, port, err := net.SplitHostPort(e)
	n, perr := strconv.Atoi(port)
	return err == nil && host != "" && perr == nil && n > 0 && n <= 65535
}

// validBucket reports whether name is an S3 bucket name.
func validBucket(name string) bool {
	if len(name) < 3 || len(name) > 63 || strings.Contains(name, "..") {
		return false
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '.') && i > 0 && i < len(name)-1:
		default:
			return false
		}
	}
	return true
}

// indent keeps a multi-line error readable under its heading.
func indent(err error) error {
	return errors.New(strings.ReplaceAll(err.Error(), "\n", "\n  "))
}

// ParseLevel maps a logging.level value (debug, info, warn or warning,
// error; any case) to a slog.Level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown level %q (want debug, info, warn or error)", s)
}

// TrustedProxyPrefixes parses trusted_proxies: each an IP address or a CIDR range.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range c.TrustedProxies {
		v = strings.TrimSpace(v)
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR range", v)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ValidTermStarts checks term starts: one to four "MM-DD" dates of a
// non-leap calendar, in increasing order.
func ValidTermStarts(starts []string) error {
	if len(starts) == 0 || len(starts) > 4 {
		return fmt.Errorf("give one to four term starts, not %d", len(starts))
	}
	prev := ""
	for _, s := range starts {
		if _, err := time.Parse("2006-01-02", "2001-"+s); err != nil || len(s) != 5 {
			return fmt.Errorf("%q is not a MM-DD date", s)
		}
		if s <= prev {
			return fmt.Errorf("%q does not come after %q", s, prev)
		}
		prev = s
	}
	return nil
}
