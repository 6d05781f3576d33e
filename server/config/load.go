package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Dev-mode defaults. They are public so that the banner, the docs and the
// token command agree on them.
const (
	DevAPIKey    = "devkey"
	DevAPISecret = "secret"
	DevBind      = "127.0.0.1"
)

// DefaultDatabasePath is where the embedded SQLite database lives unless configured.
const DefaultDatabasePath = "data/yunke.db"

// MinSecretLen is the shortest API secret, in bytes, accepted outside dev
// mode; LiveKit's server asks the same. A token signed with a short secret
// can be forged by guessing the secret offline.
const MinSecretLen = 32

// publicSecrets are API secrets published in development setups and
// documentation (Yunke's and LiveKit's): anyone can sign tokens with them,
// so outside dev mode they are refused whatever their length.
var publicSecrets = []string{
	DevAPISecret,
	"8nTlwISkb-63DPP7OH4e.nw.J44JjicvZDiz8J59EoQ+", // LiveKit's README example
	"secretsecretsecretsecretsecretsecret",
	"do-not-commit-real-secrets",
	"a-long-random-secret",
	"the-next-secret-during-rotation",
}

// DefaultMetricsAddress is where /metrics listens unless configured:
// loopback, on a port clear of LiveKit's (7880-7882, 3478, 5349, 6789).
const DefaultMetricsAddress = "127.0.0.1:7889"

// MinMetricsTokenLen is the shortest metrics.token accepted.
const MinMetricsTokenLen = 16

// Default returns the built-in defaults, the first layer of every Config.
func Default() *Config {
	return &Config{
		Port: 7880,
		RTC: RTCConfig{
			UDPPort:             7882,
			TCPPort:             7881,
			PacketBufferSize:    500,
			UDPBatchSize:        1024,
			UDPBatchFlushMicros: 500,
			UDPGSO:              true,
			UDPRawSyscalls:      true,
			SendSideBWE:         true,
			DirectForwarding:    true,
			DownlinkBWE:         "gcc",
			ResumeGraceSeconds:  15,
			TURN:                TURNConfig{UDPPort: 3478, TCPPort: 3478, CredentialTTLSeconds: 600},
		},
		Logging:  LoggingConfig{Level: "info"},
		Room:     RoomConfig{EmptyTimeout: 300},
		Database: DatabaseConfig{Path: DefaultDatabasePath},
		Auth:     AuthConfig{AdminUsername: "admin", SessionHours: 12, FailuresPerAccount: 5, FailuresPerAddress: 300},
		Redis:    RedisConfig{KeyPrefix: "yunke"},
		Tutoring: TutoringConfig{
			OfferSeconds: 20, PresenceSeconds: 15, MaxLapses: 2, Capacity: 1,
			GraceSeconds: 30, MaxMinutes: 60, RatingEditMinutes: 30,
		},
		QA: QAConfig{MaxImages: 4, EditMinutes: 15, AdoptChangeHours: 24, ClaimMinutes: 5, NotifyBatch: 5, WidenSeconds: 60, SchoolRounds: 2},
		Classes: ClassesConfig{JoinEarlyMinutes: 10, EmptyGraceSeconds: 120, OverrunMinutes: 60, RatingDays: 7,
			RatingEditMinutes: 30, SeenSeconds: 5},
		Limits:  LimitsConfig{ConnectionsPerAddress: 1000, RTCPerAddress: 500, SocketsPerUser: 8},
		Metrics: MetricsConfig{Address: DefaultMetricsAddress},
		Reports: ReportsConfig{TermStarts: []string{"02-01", "09-01"}},
		Microlessons: MicrolessonsConfig{MaxBytes: 2 << 30, MaxMinutes: 30, UploadsPerUser: 3, UploadHours: 24,
			StagingMaxBytes: 50 << 30},
		Recording: RecordingConfig{Classes: true},
		Media:     MediaConfig{Store: MediaLocal, S3: S3Config{Region: "us-east-1"}},
	}
}

// Load assembles a Config for one run of the server:
//
//	defaults → YAML (--config-body / --config) → environment → flags → dev defaults → Validate
//
// args are the command-line arguments after the subcommand name; getenv is
// usually os.Getenv (nil means an empty environment). Load touches no global
// state. A caller that wants its own usage text uses RegisterFlags instead.
func Load(args []string, getenv func(string) string) (*Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f.Load(getenv)
}

// Flags are the command-line settings bound to one flag.FlagSet.
type Flags struct {
	fs *flag.FlagSet

	configFile string
	configBody string
	dev        bool
	port       int
	bind       listFlag
	udpPort    int
	tcpPort    int
	nodeIP     string
	keys       string
	logLevel   string
	logJSON    bool
	redis      string
	dbURL      string
	dbPath     string
}

// RegisterFlags defines the server's flags on fs. Parse fs, then call Load.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.configFile, "config", "", "YAML config `file` (env YUNKE_CONFIG_FILE)")
	fs.StringVar(&f.configBody, "config-body", "", "YAML config given inline, instead of a file (env YUNKE_CONFIG_BODY)")
	fs.BoolVar(&f.dev, "dev", false, "development mode: listen on "+DevBind+", API key "+DevAPIKey+" / "+DevAPISecret+" (env YUNKE_DEV)")
	fs.IntVar(&f.port, "port", 0, "HTTP/WebSocket `port` (env YUNKE_PORT; default 7880)")
	fs.Var(&f.bind, "bind", "IP `address` to listen on; repeatable or comma-separated (env YUNKE_BIND; default all, 127.0.0.1 in dev)")
	fs.IntVar(&f.udpPort, "udp-port", 0, "WebRTC UDP `port`, shared by all peers (env YUNKE_UDP_PORT; default 7882)")
	fs.IntVar(&f.tcpPort, "tcp-port", 0, "WebRTC ICE-TCP `port`, 0 disables (env YUNKE_TCP_PORT; default 7881)")
	fs.StringVar(&f.nodeIP, "node-ip", "", "IP `address` advertised in ICE candidates (env YUNKE_NODE_IP)")
	fs.StringVar(&f.keys, "keys", "", "API keys as \"key:secret,key2:secret2\" (env YUNKE_KEYS)")
	fs.StringVar(&f.logLevel, "log-level", "", "log `level`: debug, info, warn, error (env YUNKE_LOG_LEVEL; default info)")
	fs.BoolVar(&f.logJSON, "log-json", false, "write logs as JSON lines (env YUNKE_LOG_JSON)")
	fs.StringVar(&f.redis, "redis", "", "Redis `host:port` for multi-node presence; empty: in-process (env YUNKE_REDIS_ADDRESS)")
	fs.StringVar(&f.dbURL, "database-url", "", "Postgres `URL`; empty: the embedded SQLite file (env YUNKE_DATABASE_URL)")
	fs.StringVar(&f.dbPath, "database-path", "", "SQLite database `file` (env YUNKE_DATABASE_PATH; default "+DefaultDatabasePath+")")
	return f
}

// Load builds the Config from defaults, the YAML config, getenv and the
// flags that were set on the command line, then validates it.
func (f *Flags) Load(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	cfg := Default()

	// The config source itself: a flag beats the environment.
	file, body := getenv("YUNKE_CONFIG_FILE"), getenv("YUNKE_CONFIG_BODY")
	if set["config"] {
		file = f.configFile
	}
	if set["config-body"] {
		body = f.configBody
	}
	switch {
	case body != "" && file != "":
		return nil, errors.New("config: give a config file or a config body, not both")
	case body != "":
		if err := decodeYAML(cfg, []byte(body), "config body"); err != nil {
			return nil, err
		}
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(cfg, data, file); err != nil {
			return nil, err
		}
	}

	if err := applyEnv(cfg, getenv); err != nil {
		return nil, err
	}
	if err := f.apply(cfg, set); err != nil {
		return nil, err
	}
	cfg.applyDevDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (f *Flags) apply(cfg *Config, set map[string]bool) error {
	if set["dev"] {
		cfg.Development = f.dev
	}
	if set["port"] {
		cfg.Port = f.port
	}
	if set["bind"] {
		cfg.BindAddresses = append([]string(nil), f.bind...)
	}
	if set["udp-port"] {
		cfg.RTC.UDPPort = f.udpPort
	}
	if set["tcp-port"] {
		cfg.RTC.TCPPort = f.tcpPort
	}
	if set["node-ip"] {
		cfg.RTC.NodeIP = f.nodeIP
	}
	if set["keys"] {
		keys, err := ParseKeys(f.keys)
		if err != nil {
			return fmt.Errorf("config: --keys: %w", err)
		}
		cfg.Keys = keys
	}
	if set["log-level"] {
		cfg.Logging.Level = f.logLevel
	}
	if set["log-json"] {
		cfg.Logging.JSON = f.logJSON
	}
	if set["redis"] {
		cfg.Redis.Address = f.redis
	}
	if set["database-url"] {
		cfg.Database.URL = f.dbURL
	}
	if set["database-path"] {
		cfg.Database.Path = f.dbPath
	}
	return nil
}

// applyDevDefaults fills what dev mode promises and the operator left empty.
func (c *Config) applyDevDefaults() {
	if !c.Development {
		return
	}
	if len(c.BindAddresses) == 0 {
		c.BindAddresses = []string{DevBind}
	}
	if len(c.Keys) == 0 {
		c.Keys = map[string]string{DevAPIKey: DevAPISecret}
	}
	// Several dev servers may run side by side (tests, benchmarks): the
	// default metrics port becomes a free one, shown in the banner.
	if c.Metrics.Address == DefaultMetricsAddress {
		c.Metrics.Address = DevBind + ":0"
	}
}

// EnvVar is one environment variable Load reads.
type EnvVar struct {
	Name string
	Key  string // the YAML key it overrides
	set  func(c *Config, v string) error
}

// EnvVars lists, in order, the environment variables that override the
// config file (YUNKE_CONFIG_FILE and YUNKE_CONFIG_BODY, which choose the
// file, are read first and are not listed). An empty value counts as unset.
func EnvVars() []EnvVar {
	return []EnvVar{
		{"YUNKE_DEV", "development", func(c *Config, v string) error { return parseBool(v, &c.Development) }},
		{"YUNKE_PORT", "port", func(c *Config, v string) error { return parseInt(v, &c.Port) }},
		{"YUNKE_BIND", "bind_addresses", func(c *Config, v string) error {
			c.BindAddresses = splitList(v)
			return nil
		}},
		{"YUNKE_KEYS", "keys", func(c *Config, v string) error {
			keys, err := ParseKeys(v)
			c.Keys = keys
			return err
		}},
		{"YUNKE_UDP_PORT", "rtc.udp_port", func(c *Config, v string) error { return parseInt(v, &c.RTC.UDPPort) }},
		{"YUNKE_TCP_PORT", "rtc.tcp_port", func(c *Config, v string) error { return parseInt(v, &c.RTC.TCPPort) }},
		{"YUNKE_NODE_IP", "rtc.node_ip", func(c *Config, v string) error { c.RTC.NodeIP = v; return nil }},
		{"YUNKE_REDIS_ADDRESS", "redis.address", func(c *Config, v string) error { c.Redis.Address = v; return nil }},
		{"YUNKE_REDIS_USERNAME", "redis.username", func(c *Config, v string) error { c.Redis.Username = v; return nil }},
		{"YUNKE_REDIS_PASSWORD", "redis.password", func(c *Config, v string) error { c.Redis.Password = v; return nil }},
		{"YUNKE_DATABASE_URL", "database.url", func(c *Config, v string) error { c.Database.URL = v; return nil }},
		{"YUNKE_DATABASE_PATH", "database.path", func(c *Config, v string) error { c.Database.Path = v; return nil }},
		{"YUNKE_ADMIN_USERNAME", "auth.admin_username", func(c *Config, v string) error { c.Auth.AdminUsername = v; return nil }},
		{"YUNKE_ADMIN_PASSWORD", "auth.admin_password", func(c *Config, v string) error { c.Auth.AdminPassword = v; return nil }},
		{"YUNKE_COOKIE_SECURE", "auth.cookie_secure", func(c *Config, v string) error { return parseBool(v, &c.Auth.CookieSecure) }},
		{"YUNKE_PUBLIC_URL", "public_url", func(c *Config, v string) error { c.PublicURL = v; return nil }},
		{"YUNKE_METRICS_ADDRESS", "metrics.address", func(c *Config, v string) error { c.Metrics.Address = v; return nil }},
		{"YUNKE_METRICS_TOKEN", "metrics.token", func(c *Config, v string) error { c.Metrics.Token = v; return nil }},
		{"YUNKE_MEDIA_STORE", "media.store", func(c *Config, v string) error { c.Media.Store = v; return nil }},
		{"YUNKE_S3_ENDPOINT", "media.s3.endpoint", func(c *Config, v string) error { c.Media.S3.Endpoint = v; return nil }},
		{"YUNKE_S3_BUCKET", "media.s3.bucket", func(c *Config, v string) error { c.Media.S3.Bucket = v; return nil }},
		{"YUNKE_S3_ACCESS_KEY", "media.s3.access_key", func(c *Config, v string) error { c.Media.S3.AccessKey = v; return nil }},
		{"YUNKE_S3_SECRET_KEY", "media.s3.secret_key", func(c *Config, v string) error { c.Media.S3.SecretKey = v; return nil }},
		{"YUNKE_S3_REGION", "media.s3.region", func(c *Config, v string) error { c.Media.S3.Region = v; return nil }},
		{"YUNKE_S3_USE_SSL", "media.s3.use_ssl", func(c *Config, v string) error { return parseBool(v, &c.Media.S3.UseSSL) }},
		{"YUNKE_S3_PREFIX", "media.s3.prefix", func(c *Config, v string) error { c.Media.S3.Prefix = v; return nil }},
		{"YUNKE_WEBHOOK_URLS", "webhook.urls", func(c *Config, v string) error {
			c.Webhook.URLs = splitList(v)
			return nil
		}},
		{"YUNKE_WEBHOOK_API_KEY", "webhook.api_key", func(c *Config, v string) error { c.Webhook.APIKey = v; return nil }},
		{"YUNKE_LOG_LEVEL", "logging.level", func(c *Config, v string) error { c.Logging.Level = v; return nil }},
		{"YUNKE_LOG_JSON", "logging.json", func(c *Config, v string) error { return parseBool(v, &c.Logging.JSON) }},
	}
}

func applyEnv(cfg *Config, getenv func(string) string) error {
	for _, e := range EnvVars() {
		v := strings.TrimSpace(getenv(e.Name))
		if v == "" {
			continue
		}
		if err := e.set(cfg, v); err != nil {
			return fmt.Errorf("config: %s: %w", e.Name, err)
		}
	}
	return nil
}

func parseInt(v string, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	*dst = n
	return nil
}

func parseBool(v string, dst *bool) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true or false", v)
	}
	*dst = b
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ParseKeys parses API keys written as "key: secret" lines (LiveKit's
// LIVEKIT_KEYS form) or as "key:secret,key2:secret2" on one line. Errors
// never quote a secret.
func ParseKeys(s string) (map[string]string, error) {
	sep := ","
	if strings.Contains(s, "\n") {
		sep = "\n"
	}
	keys := map[string]string{}
	for i, entry := range strings.Split(s, sep) {
		entry = strings.TrimSpace(entry)
		if entry == "" || strings.HasPrefix(entry, "#") {
			continue
		}
		k, v, ok := strings.Cut(entry, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("entry %d is not \"key: secret\"", i+1)
		}
		if _, dup := keys[k]; dup {
			return nil, fmt.Errorf("key %q is given twice", k)
		}
		keys[k] = v
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys given")
	}
	return keys, nil
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, splitList(v)...)
	return nil
}

// decodeYAML decodes data over cfg, rejecting keys Config does not have.
func decodeYAML(cfg *Config, data []byte, source string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if errors.Is(err, io.EOF) { // an empty file sets nothing
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = explainYAMLError(m)
		}
		return fmt.Errorf("config: %s: %s", source, strings.Join(msgs, "; "))
	}
	if err != nil {
		return fmt.Errorf("config: %s: %w", source, err)
	}
	return nil
}

var unknownFieldRE = regexp.MustCompile(`^(line \d+): field (\S+) not found in type \S+\.(\w+)$`)

// explainYAMLError rewrites yaml.v3's "field x not found in type
// config.RTCConfig" into the dotted key the operator wrote and the keys
// that section does have.
func explainYAMLError(msg string) string {
	m := unknownFieldRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	section, known := sectionKeys(m[3])
	key := m[2]
	if section != "" {
		key = section + "." + key
	}
	where := "at the top level"
	if section != "" {
		where = "in " + section
	}
	return fmt.Sprintf("%s: unknown key %q (known keys %s: %s)", m[1], key, where, strings.Join(known, ", "))
}

// sectionKeys finds the struct type named typeName inside Config and returns
// its dotted YAML path and its own keys.
func sectionKeys(typeName string) (string, []string) {
	var walk func(t reflect.Type, path string) (string, []string, bool)
	walk = func(t reflect.Type, path string) (string, []string, bool) {
		if t.Name() == typeName {
			var keys []string
			for i := range t.NumField() {
				if k := yamlName(t.Field(i)); k != "" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			return path, keys, true
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Type.Kind() != reflect.Struct {
				continue
			}
			p := yamlName(f)
			if path != "" {
				p = path + "." + p
			}
			if s, k, ok := walk(f.Type, p); ok {
				return s, k, true
			}
		}
		return "", nil, false
	}
	s, k, _ := walk(reflect.TypeFor[Config](), "")
	return s, k
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// Keys returns every dotted YAML key of Config, e.g. "rtc.udp_port", sorted.
// The docs test uses it to keep docs/configuration.md complete.
func Keys() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, prefix+name+".")
				continue
			}
			out = append(out, prefix+name)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	sort.Strings(out)
	return out
}
