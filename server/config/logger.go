package config

import (
	"errors"
	"io"
	"log/slog"
)

// Logger builds the process's root slog.Logger from cfg, writing text or
// JSON lines to w. Components get scoped children of it (logger.With), never
// a global.
func Logger(cfg LoggingConfig, w io.Writer) (*slog.Logger, error) {
	if w == nil {
		return nil, errors.New("config: Logger needs a writer")
	}
	level, err := ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.JSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
