// Package webhooks tells the rest of a school's systems what happened in
// Yunke's rooms the way LiveKit's server does: a POST of a
// livekit.WebhookEvent, encoded with protojson exactly as livekit-server
// encodes it, with Content-Type application/webhook+json and an
// Authorization header holding a JWT signed with an API secret whose
// "sha256" claim is the base64 SHA-256 of the body. LiveKit's receivers
// (webhook.ReceiveWebhookEvent in Go, WebhookReceiver in
// livekit-server-sdk) verify it unchanged.
//
// The events are room_started, room_finished, participant_joined,
// participant_left, track_published and track_unpublished (the Service is
// a signaling observer), and recordings as LiveKit's egress events:
// egress_started, egress_updated and egress_ended (Egress).
//
// Nothing here blocks the SFU or signaling: an observer call only appends
// the event to a buffer in memory; a goroutine moves it into the job queue
// (server/jobs), one durable job per event and URL, and the job posts it,
// retried with backoff until the receiver answers 2xx, across restarts.
// Each event has a unique id (EV_…) and its created_at, the same in every
// retry, so that a receiver can drop a repeated delivery. Deliveries of
// different events may arrive out of order; created_at orders them.
package webhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/protojson"
	"google.golang.org/protobuf/proto"

	"yunke/server/jobs"
	"yunke/signaling"
)

// Event names, as LiveKit's (webhook.Event…).
const (
	RoomStarted       = "room_started"
	RoomFinished      = "room_finished"
	ParticipantJoined = "participant_joined"
	ParticipantLeft   = "participant_left"
	TrackPublished    = "track_published"
	TrackUnpublished  = "track_unpublished"
	EgressStarted     = "egress_started"
	EgressUpdated     = "egress_updated"
	EgressEnded       = "egress_ended"
)

// ContentType is the media type of a delivery: LiveKit's own, so that a
// receiver checks the signature before parsing.
const ContentType = "application/webhook+json"

// UserAgent is sent with every delivery.
const UserAgent = "Yunke (LiveKit webhooks)"

// Defaults.
const (
	// DefaultTimeout bounds one delivery attempt.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxAttempts: a delivery is given up after this many failed
	// attempts (with jobs.DefaultBackoff, about 11 hours).
	DefaultMaxAttempts = jobs.DefaultMaxAttempts
	// DefaultBuffer bounds the events waiting in memory to be queued.
	DefaultBuffer = 10000
	// tokenValidity is how long a delivery's signature is valid, as LiveKit's.
	tokenValidity = 5 * time.Minute
)

// Params configure a Service.
type Params struct {
	// Queue keeps the deliveries. Required: New registers the delivery
	// job with it (before the queue starts).
	Queue *jobs.Queue
	// URLs receive every event. None: events are not recorded at all,
	// and deliveries left from an earlier configuration are dropped.
	URLs []string
	// APIKey and APISecret sign the deliveries.
	APIKey, APISecret string
	// Client posts the deliveries (default: one with Timeout).
	Client *http.Client
	// Timeout bounds one attempt (default DefaultTimeout).
	Timeout time.Duration
	// MaxAttempts bounds a delivery's attempts (default DefaultMaxAttempts).
	MaxAttempts int
	// Buffer bounds the events waiting in memory to be queued (default
	// DefaultBuffer); more are dropped with a warning, and the next event
	// delivered says how many in num_dropped.
	Buffer int
	Now    func() time.Time
	Logger *slog.Logger
}

// DeliverArgs are a delivery job's arguments: the encoded event and the URL
// it goes to. The body is kept as a string so that it is posted byte for
// byte as encoded. No secret is kept: the signature is made at each
// attempt, and the URL (whose query may hold a credential) is named by its
// SHA-256, shown without its query, and found among the configured URLs.
type DeliverArgs struct {
	// URLHash is the hex SHA-256 of the URL; URL is it without user
	// information, query and fragment.
	URLHash string `json:"url_sha256"`
	URL     string `json:"url"`
	Event   string `json:"event"`
	ID      string `json:"id"`
	Body    string `json:"body"`
}

// Kind implements jobs.Args.
func (DeliverArgs) Kind() string { return "webhook.deliver" }

// Service records events and delivers them.
type Service struct {
	p      Params
	log    *slog.Logger
	client *http.Client

	mu      sync.Mutex
	pending []*livekit.WebhookEvent
	dropped int32
	closed  bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	started bool
}

var _ signaling.RoomObserver = (*Service)(nil)
var _ signaling.RoomInfoObserver = (*Service)(nil)

// New returns a Service and registers its delivery job with p.Queue.
func New(p Params) (*Service, error) {
	if p.Queue == nil {
		return nil, errors.New("webhooks: no job queue")
	}
	if len(p.URLs) > 0 && (p.APIKey == "" || p.APISecret == "") {
		return nil, errors.New("webhooks: no API key to sign with")
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.Buffer <= 0 {
		p.Buffer = DefaultBuffer
	}
	p.URLs = slices.Clone(p.URLs)
	s := &Service{p: p, log: p.Logger, client: p.Client, wake: make(chan struct{}, 1), stop: make(chan struct{}),
		done: make(chan struct{})}
	if s.client == nil {
		// A redirect is not followed (it would turn the POST into a GET):
		// it fails the attempt like any answer but 2xx.
		s.client = &http.Client{Timeout: p.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	jobs.Register(p.Queue, s.deliver, jobs.WorkerOptions{Timeout: 2 * p.Timeout})
	return s, nil
}

// Enabled reports whether any URL is configured.
func (s *Service) Enabled() bool { return len(s.p.URLs) > 0 }

// Start moves recorded events into the job queue until Close.
func (s *Service) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	go s.run()
}

// Close queues the events still in memory, then stops; later events are
// dropped. Call it after signaling and recordings have closed, before the
// job queue stops.
func (s *Service) Close(ctx context.Context) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()
	if started {
		close(s.stop)
		<-s.done
	}
	s.flush(ctx)
}

func (s *Service) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
			s.flush(context.Background())
		}
	}
}

// flush queues every pending event, in order.
func (s *Service) flush(ctx context.Context) {
	for {
		s.mu.Lock()
		batch := s.pending
		s.pending = nil
		s.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, ev := range batch {
			if err := s.enqueue(ctx, ev); err != nil {
				s.log.Error("webhook not queued", "event", ev.Event, "id", ev.Id, "err", err)
			}
		}
	}
}

// enqueue encodes ev and adds one delivery job per URL.
func (s *Service) enqueue(ctx context.Context, ev *livekit.WebhookEvent) error {
	body, err := Encode(ev)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range s.p.URLs {
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := s.p.Queue.Enqueue(qctx, DeliverArgs{URLHash: urlHash(u), URL: redact(u), Event: ev.Event, ID: ev.Id, Body: string(body)},
			jobs.Options{MaxAttempts: s.p.MaxAttempts})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("webhooks: queue %s to %s: %w", ev.Id, redact(u), err))
		}
	}
	return errors.Join(errs...)
}

// Encode is the body LiveKit's server posts for ev: protojson with its
// default options (field names in lowerCamelCase, enums by name, 64-bit
// integers as strings).
func Encode(ev *livekit.WebhookEvent) ([]byte, error) {
	b, err := protojson.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("webhooks: encode %s: %w", ev.GetEvent(), err)
	}
	return b, nil
}

// Sign returns the Authorization header LiveKit sends with body: a JWT
// issued by apiKey, signed with apiSecret, valid for five minutes, whose
// sha256 claim is the body's base64 SHA-256.
func Sign(apiKey, apiSecret string, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	tok, err := auth.NewAccessToken(apiKey, apiSecret).
		SetValidFor(tokenValidity).
		SetSha256(base64.StdEncoding.EncodeToString(sum[:])).
		ToJWT()
	if err != nil {
		return "", fmt.Errorf("webhooks: sign: %w", err)
	}
	return tok, nil
}

// deliver is the delivery job: one POST. A 2xx answer completes it; any
// other answer or a network error is retried after the queue's backoff.
func (s *Service) deliver(ctx context.Context, j *jobs.Job[DeliverArgs]) error {
	a := j.Args
	i := slices.IndexFunc(s.p.URLs, func(u string) bool { return urlHash(u) == a.URLHash })
	if i < 0 {
		// The URL was removed from the configuration since.
		return jobs.Permanent(fmt.Errorf("webhooks: %s is no longer configured", a.URL))
	}
	target := s.p.URLs[i]
	body := []byte(a.Body)
	tok, err := Sign(s.p.APIKey, s.p.APISecret, body)
	if err != nil {
		return jobs.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("webhooks: %w", err))
	}
	req.Header.Set("Authorization", tok)
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", UserAgent)
	res, err := s.client.Do(req)
	if err != nil {
		err = redactErr(err, target)
		s.log.Info("webhook not delivered", "event", a.Event, "id", a.ID, "url", a.URL, "attempt", j.Attempt, "err", err)
		return fmt.Errorf("webhooks: post %s to %s: %w", a.ID, a.URL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	if res.StatusCode/100 != 2 {
		s.log.Info("webhook refused", "event", a.Event, "id", a.ID, "url", a.URL, "attempt", j.Attempt,
			"status", res.StatusCode)
		return fmt.Errorf("webhooks: post %s to %s: HTTP %d", a.ID, a.URL, res.StatusCode)
	}
	s.log.Debug("webhook delivered", "event", a.Event, "id", a.ID, "url", a.URL, "attempt", j.Attempt)
	return nil
}

// record stamps ev with a new id and the time, and keeps it for the queue.
func (s *Service) record(ev *livekit.WebhookEvent) {
	if !s.Enabled() {
		return
	}
	ev.Id = newID("EV_")
	ev.CreatedAt = s.p.Now().Unix()
	s.mu.Lock()
	if s.closed || len(s.pending) >= s.p.Buffer {
		s.dropped++
		n := s.dropped
		s.mu.Unlock()
		s.log.Warn("webhook dropped", "event", ev.Event, "dropped", n)
		return
	}
	ev.NumDropped, s.dropped = s.dropped, 0
	s.pending = append(s.pending, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ---- signaling observer

// RoomStarted implements signaling.RoomInfoObserver.
func (s *Service) RoomStarted(_ context.Context, room *livekit.Room) {
	s.record(&livekit.WebhookEvent{Event: RoomStarted, Room: room})
}

// RoomFinished implements signaling.RoomInfoObserver.
func (s *Service) RoomFinished(_ context.Context, room *livekit.Room) {
	s.record(&livekit.WebhookEvent{Event: RoomFinished, Room: room})
}

// RoomOpened implements signaling.RoomObserver (RoomStarted reports it).
func (s *Service) RoomOpened(context.Context, signaling.RoomName) {}

// RoomClosed implements signaling.RoomObserver (RoomFinished reports it).
func (s *Service) RoomClosed(context.Context, signaling.RoomName) {}

// ParticipantJoined implements signaling.Observer.
func (s *Service) ParticipantJoined(_ context.Context, p signaling.ParticipantEvent) {
	s.record(&livekit.WebhookEvent{Event: ParticipantJoined, Room: roomOf(p), Participant: participant(p, livekit.ParticipantInfo_ACTIVE)})
}

// ParticipantLeft implements signaling.Observer.
func (s *Service) ParticipantLeft(_ context.Context, p signaling.ParticipantEvent) {
	s.record(&livekit.WebhookEvent{Event: ParticipantLeft, Room: roomOf(p), Participant: participant(p, livekit.ParticipantInfo_DISCONNECTED)})
}

// TrackPublished implements signaling.Observer.
func (s *Service) TrackPublished(_ context.Context, t signaling.TrackEvent) {
	s.record(&livekit.WebhookEvent{Event: TrackPublished, Room: roomOf(t.Participant),
		Participant: participant(t.Participant, livekit.ParticipantInfo_ACTIVE), Track: track(t)})
}

// TrackUnpublished implements signaling.Observer.
func (s *Service) TrackUnpublished(_ context.Context, t signaling.TrackEvent) {
	s.record(&livekit.WebhookEvent{Event: TrackUnpublished, Room: roomOf(t.Participant),
		Participant: participant(t.Participant, livekit.ParticipantInfo_ACTIVE), Track: track(t)})
}

// Egress reports a recording as LiveKit's egress event (EgressStarted,
// EgressUpdated or EgressEnded).
func (s *Service) Egress(_ context.Context, event string, info *livekit.EgressInfo) {
	if info == nil {
		return
	}
	s.record(&livekit.WebhookEvent{Event: event, EgressInfo: proto.Clone(info).(*livekit.EgressInfo)})
}

// roomOf is the room of a participant's event, as LiveKit names it there.
func roomOf(p signaling.ParticipantEvent) *livekit.Room {
	return &livekit.Room{Sid: p.RoomSID, Name: string(p.Room)}
}

// participant describes p, in state when its description does not say
// (LiveKit reports a participant joined once it is active).
func participant(p signaling.ParticipantEvent, state livekit.ParticipantInfo_State) *livekit.ParticipantInfo {
	var info *livekit.ParticipantInfo
	if p.Info != nil {
		info = proto.Clone(p.Info).(*livekit.ParticipantInfo)
	} else {
		info = &livekit.ParticipantInfo{Identity: string(p.Identity), Name: p.Name, Attributes: p.Attributes}
	}
	if state == livekit.ParticipantInfo_DISCONNECTED || info.State < state {
		info.State = state
	}
	return info
}

func track(t signaling.TrackEvent) *livekit.TrackInfo {
	if t.Info != nil {
		return proto.Clone(t.Info).(*livekit.TrackInfo)
	}
	return &livekit.TrackInfo{Sid: string(t.ID), Source: t.Source}
}

// newID is prefix and 12 random base62 characters, as LiveKit's ids.
func newID(prefix string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// redact is u without its user information, query and fragment, which may
// hold a credential: for logs and errors.
func redact(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "(a malformed URL)"
	}
	pu.User, pu.RawQuery, pu.Fragment, pu.RawFragment = nil, "", "", ""
	return pu.String()
}

// urlHash names a URL in a job without showing it.
func urlHash(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:])
}

// redactErr is err with the URL u replaced by its redacted form.
func redactErr(err error, u string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	if msg := err.Error(); strings.Contains(msg, u) {
		return errors.New(strings.ReplaceAll(msg, u, redact(u)))
	}
	return err
}
