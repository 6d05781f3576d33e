package server

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/classes"
	"yunke/server/config"
	"yunke/server/microlessons"
	"yunke/server/recording"
	"yunke/server/token"
	"yunke/server/tutoring"
	"yunke/signaling"
	"yunke/signaling/events"
	"yunke/signaling/matching"
	"yunke/storage"
	"yunke/storage/blob"
)

// tutoringParts are the pieces of one-to-one tutoring a Server runs:
// in process without Redis, shared through Redis with it.
type tutoringParts struct {
	rdb     *redis.Client
	hub     *events.Hub
	bus     events.Bus
	closeFn func()
	service *tutoring.Service
}

// setupTutoring decides memory or Redis once, here, and builds the
// matcher, the event bus and the tutoring service.
func (s *Server) setupTutoring(ctx context.Context) error {
	tc := s.cfg.Tutoring
	presence := time.Duration(tc.PresenceSeconds) * time.Second
	mcfg := matching.Config{
		PresenceTTL: presence,
		OfferTTL:    time.Duration(tc.OfferSeconds) * time.Second,
		MaxLapses:   tc.MaxLapses,
	}
	t := &tutoringParts{hub: events.NewHub(events.HubParams{Logger: s.log.With("component", "events"), ReadTimeout: presence, MaxPerUser: s.cfg.Limits.SocketsPerUser})}
	var m matching.Matcher
	if addr := s.cfg.Redis.Address; addr != "" {
		t.rdb = redis.NewClient(&redis.Options{Addr: addr, Username: s.cfg.Redis.Username, Password: s.cfg.Redis.Password, DB: s.cfg.Redis.DB})
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := t.rdb.Ping(pctx).Err(); err != nil {
			_ = t.rdb.Close()
			return fmt.Errorf("redis at %s: %w", addr, err)
		}
		prefix := s.cfg.Redis.KeyPrefix
		m = matching.NewRedis(matching.RedisParams{Client: t.rdb, Prefix: "{" + prefix + ":match}:", Config: mcfg})
		bus, err := events.NewRedisBus(pctx, events.RedisBusParams{Client: t.rdb, Channel: prefix + ":events", Hub: t.hub, Logger: s.log.With("component", "events")})
		if err != nil {
			_ = t.rdb.Close()
			return err
		}
		t.bus = bus
		t.closeFn = func() { bus.Close(); _ = t.rdb.Close() }
	} else {
		m = matching.NewMemory(mcfg)
		t.bus = events.Local{Hub: t.hub}
		t.closeFn = func() {}
	}
	t.service = tutoring.New(tutoring.Params{
		Store:     s.store,
		Matcher:   m,
		Bus:       t.bus,
		Rooms:     roomCloser{s},
		NodeURL:   s.PublicURL(),
		Logger:    s.log.With("component", "tutoring"),
		OfferTTL:  mcfg.OfferTTL,
		Grace:     time.Duration(tc.GraceSeconds) * time.Second,
		MaxLength: time.Duration(tc.MaxMinutes) * time.Minute,
		Capacity:  tc.Capacity,
		Tick:      s.tutoringTick,
		Clock:     clock{s.now},

		RatingWindow: time.Duration(tc.RatingEditMinutes) * time.Minute,
		Key:          token.FirstKey(s.cfg.Keys),
	})
	s.tutor = t
	return nil
}

// clock is the tutoring service's clock: the server's Now, and real timers.
type clock struct{ now func() time.Time }

func (c clock) Now() time.Time { return c.now() }

func (c clock) AfterFunc(d time.Duration, f func()) tutoring.Timer { return time.AfterFunc(d, f) }

// roomCloser closes a session's room on this node's signaling service.
type roomCloser struct{ s *Server }

func (c roomCloser) CloseRoom(name signaling.RoomName) bool { return c.s.sig.CloseRoom(name) }

// PublicURL is the base URL browsers reach this node at.
func (s *Server) PublicURL() string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	return s.URL()
}

// microlessonParams configures micro-lessons from microlessons.*: uploads
// in progress in <dir>/uploads and, until an object store is configured,
// the videos on the local disk in <dir>/videos.
func microlessonParams(cfg *config.Config, st *storage.Store, now func() time.Time, log *slog.Logger) microlessons.Params {
	mc, dir := cfg.Microlessons, cfg.MicrolessonsDir()
	return microlessons.Params{
		Store:          st,
		Media:          &blob.Local{Dir: dir},
		Dir:            filepath.Join(dir, "uploads"),
		MaxBytes:       mc.MaxBytes,
		MaxDuration:    time.Duration(mc.MaxMinutes) * time.Minute,
		UploadsPerUser: mc.UploadsPerUser,
		StagingBytes:   cmp.Or(mc.StagingMaxBytes, -1), // 0 in the config: no cap
		UploadTTL:      time.Duration(mc.UploadHours) * time.Hour,
		Now:            now,
		Logger:         log,
	}
}

// classesParams configures scheduled classes from classes.*: rooms are
// hosted on this node's public URL, on the server's clock.
func classesParams(s *Server) classes.Params {
	cc := s.cfg.Classes
	return classes.Params{
		Store:        s.store,
		Rooms:        roomCloser{s},
		Key:          token.FirstKey(s.cfg.Keys),
		NodeURL:      s.PublicURL(),
		Logger:       s.log.With("component", "classes"),
		Now:          s.now,
		JoinEarly:    time.Duration(cc.JoinEarlyMinutes) * time.Minute,
		EmptyGrace:   time.Duration(cc.EmptyGraceSeconds) * time.Second,
		Overrun:      time.Duration(cc.OverrunMinutes) * time.Minute,
		RatingPeriod: time.Duration(cc.RatingDays) * 24 * time.Hour,
		RatingWindow: time.Duration(cc.RatingEditMinutes) * time.Minute,
		Seen:         time.Duration(cc.SeenSeconds) * time.Second,
		Tick:         s.classesTick,
	}
}

// recordingParams configures recordings from recording.*: files being
// written in <dir>/work and, until an object store is configured, the
// finished files on the local disk in <dir>/media.
func recordingParams(cfg *config.Config, st *storage.Store, now func() time.Time, log *slog.Logger) recording.Params {
	rc, dir := cfg.Recording, cfg.RecordingDir()
	return recording.Params{
		Store:    st,
		Media:    &blob.Local{Dir: filepath.Join(dir, "media")},
		Dir:      filepath.Join(dir, "work"),
		Classes:  rc.Classes,
		Tutoring: rc.Tutoring,
		FFmpeg:   rc.FFmpeg,
		Now:      now,
		Logger:   log,
	}
}
