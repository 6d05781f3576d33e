package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"yunke/server/config"
	"yunke/storage"
)

// dbFlags select the database for the tools that work on it directly
// (import, backup, migrate, admin). They read the same settings as serve —
// the database section of the config file, YUNKE_DATABASE_URL,
// YUNKE_DATABASE_PATH, --database-url, --database-path — and nothing else,
// so no API keys are needed to run them.
type dbFlags struct {
	fs         *flag.FlagSet
	configFile string
	url        string
	path       string
}

func registerDBFlags(fs *flag.FlagSet) *dbFlags {
	f := &dbFlags{fs: fs}
	fs.StringVar(&f.configFile, "config", "", "YAML config `file`; only its database section is read (env YUNKE_CONFIG_FILE)")
	fs.StringVar(&f.url, "database-url", "", "Postgres `URL`; empty: the embedded SQLite file (env YUNKE_DATABASE_URL)")
	fs.StringVar(&f.path, "database-path", "", "SQLite database `file` (env YUNKE_DATABASE_PATH; default "+config.DefaultDatabasePath+")")
	return f
}

// config resolves the database settings: defaults → config file → environment → flags.
func (f *dbFlags) config(getenv func(string) string) (config.DatabaseConfig, error) {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	db := config.Default().Database

	file, body := getenv("YUNKE_CONFIG_FILE"), getenv("YUNKE_CONFIG_BODY")
	if set["config"] {
		file, body = f.configFile, ""
	}
	var data []byte
	switch {
	case file != "":
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return db, fmt.Errorf("config: %w", err)
		}
	case body != "":
		data, file = []byte(body), "config body"
	}
	if len(data) > 0 {
		// The other sections are serve's to check.
		var doc struct {
			Database *config.DatabaseConfig `yaml:"database"`
		}
		doc.Database = &db
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return db, fmt.Errorf("config: %s: %w", file, err)
		}
	}
	if v := strings.TrimSpace(getenv("YUNKE_DATABASE_URL")); v != "" {
		db.URL = v
	}
	if v := strings.TrimSpace(getenv("YUNKE_DATABASE_PATH")); v != "" {
		db.Path = v
	}
	if set["database-url"] {
		db.URL = f.url
	}
	if set["database-path"] {
		db.Path = f.path
	}
	if u := db.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return db, usageError{errors.New("--database-url must be a postgres:// URL (leave it empty for the embedded SQLite file)")}
	}
	if db.URL == "" && db.Path == "" {
		return db, usageError{errors.New("give --database-path or --database-url")}
	}
	return db, nil
}

// open opens the store (applying pending migrations); its log lines of
// level warn and above go to stderr.
func (f *dbFlags) open(ctx context.Context, stderr io.Writer, level slog.Level) (*storage.Store, config.DatabaseConfig, error) {
	db, err := f.config(os.Getenv)
	if err != nil {
		return nil, db, err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := storage.Open(ctx, storage.OpenParams{URL: db.URL, Path: db.Path, Logger: logger})
	if err != nil {
		return nil, db, fmt.Errorf("opening the database %s: %w", describeDB(db), err)
	}
	return s, db, nil
}

// describeDB names the database for messages, without a password.
func describeDB(db config.DatabaseConfig) string {
	if db.URL == "" {
		return db.Path
	}
	return redactURL(db.URL)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
