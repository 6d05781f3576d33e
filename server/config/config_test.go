package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// secret1 is a secret long enough for production.
const secret1 = "7f3a9c1e5b2d8f4a6c0e9b7d5f3a1c8e"

// env turns a map into a getenv function, so no test touches the process environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "yunke.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, args []string, e map[string]string) *Config {
	t.Helper()
	cfg, err := Load(args, env(e))
	if err != nil {
		t.Fatalf("Load(%q): %v", args, err)
	}
	return cfg
}

func TestDefaultsSurviveEmptyLoad(t *testing.T) {
	t.Parallel()
	keys := map[string]string{"YUNKE_KEYS": "k1: " + secret1}
	for name, args := range map[string][]string{
		"no file":    nil,
		"empty file": {"--config", writeFile(t, "")},
		"comments":   {"--config", writeFile(t, "# nothing set here\n")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := mustLoad(t, args, keys)
			want := Default()
			want.Keys = map[string]string{"k1": secret1}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDefaultValues(t *testing.T) {
	t.Parallel()
	d := Default()
	if d.Port != 7880 || d.RTC.UDPPort != 7882 || d.RTC.TCPPort != 7881 ||
		d.Logging.Level != "info" || d.RTC.PacketBufferSize != 500 || d.Room.EmptyTimeout != 300 ||
		d.RTC.UDPBatchSize != 1024 || d.RTC.UDPBatchFlushMicros != 500 || !d.RTC.UDPGSO || !d.RTC.SendSideBWE || d.RTC.DownlinkBWE != "gcc" {
		t.Errorf("unexpected defaults: %+v", d)
	}
	// Metrics are served apart from the app, on loopback; the limits are on.
	if d.Metrics.Address != "127.0.0.1:7889" || d.Metrics.Token != "" {
		t.Errorf("metrics defaults: %+v", d.Metrics)
	}
	if d.Limits.ConnectionsPerAddress != 1000 || d.Limits.RTCPerAddress != 500 || d.Limits.SocketsPerUser != 8 {
		t.Errorf("limits defaults: %+v", d.Limits)
	}
	// Micro-lessons: 2 GiB and 30 minutes at most, 3 uploads in progress
	// each for a day, 50 GiB of them together, beside the database.
	if m := d.Microlessons; m.MaxBytes != 2<<30 || m.MaxMinutes != 30 || m.UploadsPerUser != 3 || m.UploadHours != 24 ||
		m.StagingMaxBytes != 50<<30 || d.MicrolessonsDir() != filepath.Join("data", "microlessons") {
		t.Errorf("micro-lesson defaults: %+v in %s", m, d.MicrolessonsDir())
	}
	// Recordings: classes yes, tutoring no, ffmpeg from PATH, beside the database.
	if r := d.Recording; !r.Classes || r.Tutoring || r.FFmpeg != "" || d.RecordingDir() != filepath.Join("data", "recordings") {
		t.Errorf("recording defaults: %+v in %s", r, d.RecordingDir())
	}
	// Default returns a fresh value each time: no shared state between callers.
	d.Port = 1
	if Default().Port != 7880 {
		t.Error("Default shares state between calls")
	}
}

func TestUnknownKeysFail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, want string }{
		{"port: 7880\nprot: 1\n", `unknown key "prot"`},
		{"rtc:\n  udp_prot: 7882\n", `unknown key "rtc.udp_prot"`},
		{"logging:\n  levle: debug\n", `unknown key "logging.levle"`},
	} {
		_, err := Load([]string{"--config", writeFile(t, tc.body), "--dev"}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("body %q: err = %v, want it to contain %s", tc.body, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "line ") {
			t.Errorf("error %q does not give the line", err)
		}
	}
}

func TestUnknownKeyListsKnownKeys(t *testing.T) {
	t.Parallel()
	_, err := Load([]string{"--config-body", "rtc:\n  udpport: 1\n", "--dev"}, nil)
	if err == nil || !strings.Contains(err.Error(), "udp_port") {
		t.Errorf("err = %v, want the known key udp_port suggested", err)
	}
}

func TestBadYAML(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"port: abc\n", "port: [\n", "rtc: 5\n"} {
		if _, err := Load([]string{"--config-body", body, "--dev"}, nil); err == nil {
			t.Errorf("body %q loaded without error", body)
		}
	}
	if _, err := Load([]string{"--config", filepath.Join(t.TempDir(), "missing.yaml"), "--dev"}, nil); err == nil {
		t.Error("missing config file loaded without error")
	}
	if _, err := Load([]string{"--config", writeFile(t, "port: 1\n"), "--config-body", "port: 2\n", "--dev"}, nil); err == nil {
		t.Error("both a config file and a config body accepted")
	}
	// The config body comes from the environment too.
	cfg := mustLoad(t, []string{"--dev"}, map[string]string{"YUNKE_CONFIG_BODY": "port: 9000\n"})
	if cfg.Port != 9000 {
		t.Errorf("YUNKE_CONFIG_BODY not applied: port = %d", cfg.Port)
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `
port: 1001
rtc:
  udp_port: 1002
  node_ip: 10.0.0.1
logging:
  level: debug
keys:
  filekey: file-secret-0123456789abcdef012345
redis:
  address: file:6379
`)
	e := map[string]string{
		"YUNKE_CONFIG_FILE":   file,
		"YUNKE_PORT":          "2001",
		"YUNKE_NODE_IP":       "10.0.0.2",
		"YUNKE_LOG_LEVEL":     "warn",
		"YUNKE_REDIS_ADDRESS": "env:6379",
	}

	t.Run("file", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoad(t, nil, map[string]string{"YUNKE_CONFIG_FILE": file})
		if cfg.Port != 1001 || cfg.RTC.UDPPort != 1002 || cfg.RTC.TCPPort != 7881 || cfg.Logging.Level != "debug" ||
			cfg.Keys["filekey"] != "file-secret-0123456789abcdef012345" || cfg.Redis.Address != "file:6379" {
			t.Errorf("file not applied over defaults: %+v", cfg)
		}
	})
	t.Run("env over file", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoad(t, nil, e)
		if cfg.Port != 2001 || cfg.RTC.UDPPort != 1002 || cfg.RTC.NodeIP != "10.0.0.2" ||
			cfg.Logging.Level != "warn" || cfg.Redis.Address != "env:6379" {
			t.Errorf("env not applied over file: %+v", cfg)
		}
	})
	t.Run("flags over env", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoad(t, []string{
			"--port", "3001", "--node-ip", "10.0.0.3", "--log-level", "error", "--redis", "flag:6379",
			"--keys", "flagkey:flag-secret-0123456789abcdef012345", "--udp-port", "3002", "--tcp-port", "3003",
		}, e)
		if cfg.Port != 3001 || cfg.RTC.UDPPort != 3002 || cfg.RTC.TCPPort != 3003 || cfg.RTC.NodeIP != "10.0.0.3" ||
			cfg.Logging.Level != "error" || cfg.Redis.Address != "flag:6379" {
			t.Errorf("flags not applied over env: %+v", cfg)
		}
		if want := map[string]string{"flagkey": "flag-secret-0123456789abcdef012345"}; !reflect.DeepEqual(cfg.Keys, want) {
			t.Errorf("keys = %v, want %v (flags replace, not merge)", cfg.Keys, want)
		}
	})
	t.Run("config flag over env file", func(t *testing.T) {
		t.Parallel()
		other := writeFile(t, "port: 4001\nkeys: {k: other-secret-0123456789abcdef01234}\n")
		cfg := mustLoad(t, []string{"--config", other}, map[string]string{"YUNKE_CONFIG_FILE": file})
		if cfg.Port != 4001 {
			t.Errorf("port = %d, want 4001 from the --config file", cfg.Port)
		}
	})
	t.Run("flag set to its zero value still wins", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoad(t, []string{"--tcp-port", "0"}, e)
		if cfg.RTC.TCPPort != 0 {
			t.Errorf("tcp_port = %d, want 0", cfg.RTC.TCPPort)
		}
	})
}

func TestDevMode(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, []string{"--dev"}, nil)
	if !cfg.Development {
		t.Error("Development not set")
	}
	if want := []string{"127.0.0.1"}; !reflect.DeepEqual(cfg.BindAddresses, want) {
		t.Errorf("bind = %v, want %v", cfg.BindAddresses, want)
	}
	if want := map[string]string{"devkey": "secret"}; !reflect.DeepEqual(cfg.Keys, want) {
		t.Errorf("keys = %v, want %v", cfg.Keys, want)
	}
	if cfg.Redis.Address != "" {
		t.Errorf("dev mode needs no Redis, got %q", cfg.Redis.Address)
	}
	// Dev servers run side by side: metrics get a free loopback port.
	if cfg.Metrics.Address != "127.0.0.1:0" {
		t.Errorf("metrics.address = %q in dev mode, want 127.0.0.1:0", cfg.Metrics.Address)
	}
	cfg = mustLoad(t, []string{"--dev"}, map[string]string{"YUNKE_METRICS_ADDRESS": "127.0.0.1:9100"})
	if cfg.Metrics.Address != "127.0.0.1:9100" {
		t.Errorf("metrics.address = %q, want the one given", cfg.Metrics.Address)
	}

	// Explicit bind and keys win over dev defaults, from any layer.
	cfg = mustLoad(t, []string{"--bind", "0.0.0.0", "--bind", "::1,127.0.0.2"}, map[string]string{
		"YUNKE_DEV": "true", "YUNKE_KEYS": "mine: abc",
	})
	if want := []string{"0.0.0.0", "::1", "127.0.0.2"}; !reflect.DeepEqual(cfg.BindAddresses, want) {
		t.Errorf("bind = %v, want %v", cfg.BindAddresses, want)
	}
	if want := map[string]string{"mine": "abc"}; !reflect.DeepEqual(cfg.Keys, want) {
		t.Errorf("keys = %v, want %v (short secrets are fine in dev)", cfg.Keys, want)
	}

	// development: true in the file, --dev=false on the command line.
	_, err := Load([]string{"--config-body", "development: true\n", "--dev=false"}, nil)
	if err == nil || !strings.Contains(err.Error(), "no API keys") {
		t.Errorf("--dev=false did not turn dev mode off: err = %v", err)
	}
}

func TestKeysForms(t *testing.T) {
	t.Parallel()
	want := map[string]string{"APIabc": "s3cret-one", "APIdef": "s3cret:two"}
	for _, s := range []string{
		"APIabc: s3cret-one\nAPIdef: s3cret:two\n",
		"APIabc:s3cret-one,APIdef:s3cret:two",
		" APIabc : s3cret-one , APIdef: s3cret:two ",
		"# production keys\nAPIabc: s3cret-one\n\nAPIdef: s3cret:two",
	} {
		got, err := ParseKeys(s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseKeys(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "justakey", "k:", ":secret", "k: a, k: b"} {
		if _, err := ParseKeys(s); err == nil {
			t.Errorf("ParseKeys(%q) succeeded", s)
		}
	}
	_, err := ParseKeys("k1: fine\nleakedsecretvalue")
	if err == nil || strings.Contains(err.Error(), "leakedsecretvalue") {
		t.Errorf("error quotes the input: %v", err)
	}
}

func TestEnvErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	for name, val := range map[string]string{"YUNKE_PORT": "http", "YUNKE_DEV": "maybe", "YUNKE_KEYS": "nocolon"} {
		_, err := Load([]string{"--dev"}, env(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: err = %v, want it to name %s", name, val, err, name)
		}
	}
}

// goodS3 is a valid object store configuration.
func goodS3() MediaConfig {
	return MediaConfig{Store: MediaS3, S3: S3Config{Endpoint: "minio:9000", Bucket: "yunke-media", AccessKey: "yunke",
		SecretKey: "media-secret-0123456789", Region: "us-east-1", Prefix: "yunke/"}}
}

// The object store is configured from the environment, its secret never
// shown in an error or a log line.
func TestMediaS3(t *testing.T) {
	t.Parallel()
	cfg, err := Load([]string{"--dev"}, env(map[string]string{"YUNKE_MEDIA_STORE": "s3", "YUNKE_S3_ENDPOINT": "10.0.0.5:9000",
		"YUNKE_S3_BUCKET": "yunke-media", "YUNKE_S3_ACCESS_KEY": "yunke", "YUNKE_S3_SECRET_KEY": "media-secret-0123456789",
		"YUNKE_S3_USE_SSL": "true", "YUNKE_S3_PREFIX": "prod/"}))
	if err != nil {
		t.Fatal(err)
	}
	want := S3Config{Endpoint: "10.0.0.5:9000", Bucket: "yunke-media", AccessKey: "yunke", SecretKey: "media-secret-0123456789",
		Region: "us-east-1", UseSSL: true, Prefix: "prod/"}
	if cfg.Media.Store != MediaS3 || cfg.Media.S3 != want {
		t.Fatalf("media = %+v", cfg.Media)
	}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("media", "s3", cfg.Media.S3)
	if strings.Contains(buf.String(), "media-secret") || !strings.Contains(buf.String(), "s3.bucket=yunke-media") {
		t.Errorf("logged %q", buf.String())
	}
	cfg.Media.S3.Bucket = ""
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "media-secret") {
		t.Errorf("validate: %v", err)
	}
	if d := Default(); d.Media.Store != MediaLocal {
		t.Errorf("default media store %q", d.Media.Store)
	}
}

// Webhooks are configured as LiveKit's (webhook.urls, webhook.api_key),
// signed with the only key by default; a URL's query is never logged nor
// quoted in an error.
func TestWebhook(t *testing.T) {
	t.Parallel()
	cfg, err := Load([]string{"--dev"}, env(map[string]string{"YUNKE_WEBHOOK_URLS": "https://hooks.example.edu/lk?token=hook-secret, http://10.0.0.9:8080/"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Webhook.URLs) != 2 || cfg.Webhook.URLs[1] != "http://10.0.0.9:8080/" || cfg.SigningKey() != DevAPIKey {
		t.Fatalf("webhook = %+v, signing key %q", cfg.Webhook, cfg.SigningKey())
	}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("webhooks", "webhook", cfg.Webhook)
	if strings.Contains(buf.String(), "hook-secret") || !strings.Contains(buf.String(), "hooks.example.edu/lk") {
		t.Errorf("logged %q", buf.String())
	}
	yaml := "keys:\n  k1: " + strings.Repeat("a", 32) + "\n  k2: " + strings.Repeat("b", 32) + "\nwebhook:\n  urls: [\"https://h.example.edu/x\"]\n"
	if _, err := Load([]string{"--config-body", yaml}, nil); err == nil || !strings.Contains(err.Error(), "webhook.api_key") {
		t.Errorf("two keys and no webhook.api_key: %v", err)
	}
	if c, err := Load([]string{"--config-body", yaml + "  api_key: k2\n"}, nil); err != nil || c.SigningKey() != "k2" {
		t.Errorf("webhook.api_key k2: %v", err)
	}
	if _, err := Load([]string{"--config-body", yaml + "  api_key: k3\n"}, nil); err == nil || !strings.Contains(err.Error(), "webhook.api_key") {
		t.Errorf("an unknown webhook.api_key: %v", err)
	}
	for _, bad := range []string{"ftp://h.example.edu/?token=hook-secret", "/relative?token=hook-secret", "https://?token=hook-secret"} {
		_, err := Load([]string{"--dev"}, env(map[string]string{"YUNKE_WEBHOOK_URLS": bad}))
		if err == nil || !strings.Contains(err.Error(), "webhook.urls") || strings.Contains(err.Error(), "hook-secret") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := func() *Config {
		c := Default()
		c.Keys = map[string]string{"k": secret1}
		return c
	}
	if err := ok().Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"port too big", func(c *Config) { c.Port = 70000 }, "port: 70000 is not a port"},
		{"negative udp port", func(c *Config) { c.RTC.UDPPort = -1 }, "rtc.udp_port: -1"},
		{"tcp port is http port", func(c *Config) { c.RTC.TCPPort = c.Port }, "also the HTTP port"},
		{"half a range", func(c *Config) { c.RTC.UDPPort = 0; c.RTC.PortRangeStart = 50000 }, "give both"},
		{"range backwards", func(c *Config) { c.RTC.UDPPort = 0; c.RTC.PortRangeStart, c.RTC.PortRangeEnd = 60000, 50000 }, "above port_range_end"},
		{"range and udp port", func(c *Config) { c.RTC.PortRangeStart, c.RTC.PortRangeEnd = 50000, 60000 }, "set udp_port to 0"},
		{"range end too big", func(c *Config) { c.RTC.UDPPort = 0; c.RTC.PortRangeStart, c.RTC.PortRangeEnd = 50000, 70000 }, "rtc.port_range_end"},
		{"no keys", func(c *Config) { c.Keys = nil }, "no API keys"},
		{"short secret", func(c *Config) { c.Keys = map[string]string{"k": "abc"} }, `key "k" is shorter than 32 bytes`},
		{"31-byte secret", func(c *Config) { c.Keys = map[string]string{"k": secret1[:31]} }, `key "k" is shorter than 32 bytes`},
		{"dev key", func(c *Config) { c.Keys = map[string]string{"devkey": "secret"} }, `key "devkey" is a published development key`},
		{"dev key, long secret", func(c *Config) { c.Keys = map[string]string{"devkey": secret1} }, `key "devkey" is a published development key`},
		{"LiveKit's example", func(c *Config) {
			c.Keys = map[string]string{"APIwLeah7g4fuLYDYAJeaKsSE": "8nTlwISkb-63DPP7OH4e.nw.J44JjicvZDiz8J59EoQ+"}
		}, `key "APIwLeah7g4fuLYDYAJeaKsSE" is a published development key`},
		{"empty secret", func(c *Config) { c.Keys = map[string]string{"k": ""} }, `secret of key "k" is empty`},
		{"unknown level", func(c *Config) { c.Logging.Level = "verbose" }, `logging.level: unknown level "verbose"`},
		{"bad node ip", func(c *Config) { c.RTC.NodeIP = "example.com" }, "rtc.node_ip"},
		{"bad bind", func(c *Config) { c.BindAddresses = []string{"localhost"} }, "bind_addresses"},
		{"zero buffer", func(c *Config) { c.RTC.PacketBufferSize = 0 }, "rtc.packet_buffer_size"},
		{"unknown downlink estimator", func(c *Config) { c.RTC.DownlinkBWE = "tfrc" }, "rtc.downlink_bwe"},
		{"huge udp batch", func(c *Config) { c.RTC.UDPBatchSize = 5000 }, "rtc.udp_batch_size"},
		{"udp batch never flushed", func(c *Config) { c.RTC.UDPBatchSize, c.RTC.UDPBatchFlushMicros = 64, 0 }, "rtc.udp_batch_flush_us"},
		{"negative timeout", func(c *Config) { c.Room.EmptyTimeout = -1 }, "room.empty_timeout"},
		{"negative connection limit", func(c *Config) { c.Limits.ConnectionsPerAddress = -1 }, "limits.connections_per_address"},
		{"negative rtc limit", func(c *Config) { c.Limits.RTCPerAddress = -1 }, "limits.rtc_per_address"},
		{"socket limit too big", func(c *Config) { c.Limits.SocketsPerUser = 5000 }, "limits.sockets_per_user"},
		{"metrics address without port", func(c *Config) { c.Metrics.Address = "127.0.0.1" }, "metrics.address"},
		{"metrics address with a host name", func(c *Config) { c.Metrics.Address = "localhost:7889" }, "metrics.address"},
		{"metrics on the http port", func(c *Config) { c.Metrics.Address = "127.0.0.1:7880" }, "also the HTTP port"},
		{"short metrics token", func(c *Config) { c.Metrics.Token = "short" }, "metrics.token: is shorter than 16"},
		{"tiny micro-lessons", func(c *Config) { c.Microlessons.MaxBytes = 1000 }, "microlessons.max_bytes"},
		{"no micro-lesson minutes", func(c *Config) { c.Microlessons.MaxMinutes = 0 }, "microlessons.max_minutes"},
		{"no uploads", func(c *Config) { c.Microlessons.UploadsPerUser = 0 }, "microlessons.uploads_per_user"},
		{"uploads never expire", func(c *Config) { c.Microlessons.UploadHours = 0 }, "microlessons.upload_hours"},
		{"staging below one video", func(c *Config) { c.Microlessons.StagingMaxBytes = 1 << 20 }, "microlessons.staging_max_bytes"},
		{"unknown media store", func(c *Config) { c.Media.Store = "ftp" }, `media.store: "ftp" is neither local nor s3`},
		{"s3 endpoint with a scheme", func(c *Config) { c.Media = goodS3(); c.Media.S3.Endpoint = "https://minio:9000" }, "media.s3.endpoint"},
		{"s3 endpoint without a port", func(c *Config) { c.Media = goodS3(); c.Media.S3.Endpoint = "minio:" }, "media.s3.endpoint"},
		{"s3 without endpoint", func(c *Config) { c.Media = goodS3(); c.Media.S3.Endpoint = "" }, "media.s3.endpoint"},
		{"s3 bad bucket", func(c *Config) { c.Media = goodS3(); c.Media.S3.Bucket = "Media_Files" }, "media.s3.bucket"},
		{"s3 without access key", func(c *Config) { c.Media = goodS3(); c.Media.S3.AccessKey = "" }, "media.s3.access_key: is empty"},
		{"s3 without secret key", func(c *Config) { c.Media = goodS3(); c.Media.S3.SecretKey = "" }, "media.s3.secret_key: is empty"},
		{"s3 prefix climbing out", func(c *Config) { c.Media = goodS3(); c.Media.S3.Prefix = "a/../b" }, "media.s3.prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := ok()
			tc.edit(c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}

	// Every problem is reported at once, and no secret is quoted.
	c := ok()
	c.Port, c.Logging.Level, c.Keys = -5, "loud", map[string]string{"k": "xyz12"}
	err := c.Validate()
	if err == nil || strings.Count(err.Error(), "\n") < 2 || strings.Contains(err.Error(), "xyz12") {
		t.Errorf("err = %v", err)
	}
	// Short secrets, and the dev key, are allowed in dev mode.
	c = ok()
	c.Development, c.Keys = true, map[string]string{"k": "abc", "devkey": "secret"}
	if err := c.Validate(); err != nil {
		t.Errorf("dev mode rejected a short secret: %v", err)
	}
	// The dev key is refused however it comes in outside dev mode.
	for name, args := range map[string][]string{
		"flag":      {"--keys", "devkey:secret"},
		"dev=false": {"--dev=false", "--keys", "devkey: secret"},
	} {
		if _, err := Load(args, nil); err == nil || !strings.Contains(err.Error(), "published development key") {
			t.Errorf("%s: err = %v, want the dev key refused", name, err)
		}
	}
	if _, err := Load(nil, env(map[string]string{"YUNKE_KEYS": "devkey: secret"})); err == nil || strings.Contains(err.Error(), ": secret") {
		t.Errorf("YUNKE_KEYS=devkey: secret: err = %v, want refused without quoting the secret", err)
	}
}

func TestFlagErrors(t *testing.T) {
	t.Parallel()
	if _, err := Load([]string{"--nope"}, nil); err == nil {
		t.Error("unknown flag accepted")
	}
	if _, err := Load([]string{"--dev", "extra"}, nil); err == nil {
		t.Error("stray argument accepted")
	}
	if _, err := Load([]string{"-h"}, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v, want flag.ErrHelp", err)
	}
	if _, err := Load([]string{"--keys", "bad"}, nil); err == nil || !strings.Contains(err.Error(), "--keys") {
		t.Errorf("bad --keys: err = %v", err)
	}
}

func TestLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := Logger(LoggingConfig{Level: "warn", JSON: true}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "room", "math-7")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	if line["msg"] != "shown" || line["room"] != "math-7" {
		t.Errorf("line = %v", line)
	}

	buf.Reset()
	log, err = Logger(LoggingConfig{Level: "DEBUG"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("text")
	if !strings.Contains(buf.String(), "level=DEBUG msg=text") {
		t.Errorf("text output = %q", buf.String())
	}
	if _, err := Logger(LoggingConfig{Level: "chatty"}, &buf); err == nil {
		t.Error("unknown level accepted")
	}
}

// The example production config in deploy/ must always load.
func TestDeployExampleLoads(t *testing.T) {
	t.Parallel()
	// Its keys come from the environment file the systemd unit reads.
	cfg := mustLoad(t, []string{"--config", "../../deploy/yunke.yaml"}, map[string]string{"YUNKE_KEYS": "APIa1b2c3d4: 0123456789abcdef0123456789abcdef"})
	if cfg.Development {
		t.Error("the production example turns on dev mode")
	}
}

// docs/configuration.md names every YAML key, environment variable and flag.
func TestDocsComplete(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	var names []string
	for _, k := range Keys() {
		names = append(names, "`"+k+"`")
	}
	for _, e := range EnvVars() {
		names = append(names, "`"+e.Name+"`")
	}
	names = append(names, "`YUNKE_CONFIG_FILE`", "`YUNKE_CONFIG_BODY`")
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	RegisterFlags(fs)
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "`--"+f.Name) })
	for _, n := range names {
		if !strings.Contains(doc, n) {
			t.Errorf("docs/configuration.md does not mention %s", n)
		}
	}
}

func TestValidTermStarts(t *testing.T) {
	for _, ok := range [][]string{{"02-01", "09-01"}, {"09-01"}, {"01-01", "03-01", "06-30", "12-31"}} {
		if err := ValidTermStarts(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][]string{nil, {"09-01", "02-01"}, {"02-30"}, {"2-1"}, {"02-01", "02-01"}, {"01-01", "02-01", "03-01", "04-01", "05-01"}} {
		if err := ValidTermStarts(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
