package server

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/redis/go-redis/v9"

	"yunke/server/classes"
	"yunke/server/config"
	"yunke/server/microlessons"
	"yunke/server/recording"
	"yunke/server/token"
	"yunke/server/tutoring"
	"yunke/server/webhooks"
	"yunke/signaling"
	"yunke/signaling/events"
	"yunke/signaling/matching"
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
	matcher matching.Matcher // presence, shared with the Q&A router
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
	t.matcher = m
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

// setupMedia builds the object store once when media.store is s3, checking
// that its bucket exists; with local media it does nothing, and each
// domain keeps its files in its own directory (mediaFor).
func (s *Server) setupMedia(ctx context.Context) error {
	if s.cfg.Media.Store != config.MediaS3 {
		return nil
	}
	c := s.cfg.Media.S3
	st, err := blob.NewS3(ctx, blob.S3Params{Endpoint: c.Endpoint, Bucket: c.Bucket, AccessKey: c.AccessKey,
		SecretKey: c.SecretKey, Region: c.Region, UseSSL: c.UseSSL, Prefix: c.Prefix})
	if err != nil {
		return fmt.Errorf("media store: %w", err)
	}
	s.media = st
	s.log.Info("media on an object store", "s3", c)
	return nil
}

// mediaFor is where a domain keeps its finished media, and the prefix of
// its keys there: in the shared object store under "<domain>/", or on the
// local disk in localDir with no prefix.
func (s *Server) mediaFor(domain, localDir string) (blob.Store, string) {
	if s.media != nil {
		return s.media, domain + "/"
	}
	return &blob.Local{Dir: localDir}, ""
}

// microlessonParams configures micro-lessons from microlessons.*: uploads
// in progress in <dir>/uploads and, with local media, the videos in
// <dir>/videos.
func (s *Server) microlessonParams() microlessons.Params {
	cfg, st, now, log := s.cfg, s.store, s.now, s.log.With("component", "microlessons")
	mc, dir := cfg.Microlessons, cfg.MicrolessonsDir()
	media, prefix := s.mediaFor("microlessons", dir)
	return microlessons.Params{
		Store:          st,
		Media:          media,
		KeyPrefix:      prefix,
		Jobs:           s.jobs,
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
func (s *Server) recordingParams() recording.Params {
	cfg, st, now, log := s.cfg, s.store, s.now, s.log.With("component", "recording")
	rc, dir := cfg.Recording, cfg.RecordingDir()
	// Recording keys start with "recordings/" already: the shared store
	// takes them as they are.
	var media blob.Store = &blob.Local{Dir: filepath.Join(dir, "media")}
	if s.media != nil {
		media = s.media
	}
	var egress func(context.Context, string, *livekit.EgressInfo)
	if s.webhooks.Enabled() {
		egress = s.webhooks.Egress
	}
	return recording.Params{
		Store:         st,
		Media:         media,
		Dir:           filepath.Join(dir, "work"),
		Classes:       rc.Classes,
		Tutoring:      rc.Tutoring,
		FFmpeg:        rc.FFmpeg,
		Composites:    rc.Composites,
		SpeakingFlush: time.Duration(rc.SpeakingFlushSeconds) * time.Second,
		STInterval:    time.Duration(rc.STIntervalSeconds) * time.Second,
		Retention:     time.Duration(rc.RetentionDays) * 24 * time.Hour,
		Jobs:          s.jobs,
		Grants:        s.research,
		Now:           now,
		Logger:        log,
		Egress:        egress,
	}
}

// webhookParams configures webhooks from webhook.*: signed with the key
// webhook.api_key names (validated with the config), queued as jobs.
func webhookParams(s *Server) webhooks.Params {
	key := s.cfg.SigningKey()
	return webhooks.Params{
		Queue:     s.jobs,
		URLs:      s.cfg.Webhook.URLs,
		APIKey:    key,
		APISecret: s.cfg.Keys[key],
		Now:       s.now,
		Logger:    s.log.With("component", "webhooks"),
	}
}
