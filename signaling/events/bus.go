package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Bus publishes an event to a user, wherever their sockets are.
type Bus interface {
	Publish(ctx context.Context, to UserID, ev Event) error
}

var (
	_ Bus = (*Local)(nil)
	_ Bus = (*RedisBus)(nil)
)

// Local is the single-node Bus: it hands events straight to the Hub.
type Local struct{ Hub *Hub }

// Publish implements Bus.
func (l Local) Publish(_ context.Context, to UserID, ev Event) error {
	l.Hub.Deliver(to, ev)
	return nil
}

// RedisBus publishes on one Redis channel that every node subscribes to;
// each node delivers to the sockets it holds. A recipient with a socket on
// the publishing node gets the event at once, without the round trip —
// and without depending on Redis, which may be restarting.
type RedisBus struct {
	rdb     redis.UniversalClient
	channel string
	hub     *Hub
	log     *slog.Logger
	node    string // this bus's id, to skip its own messages

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// RedisBusParams configure NewRedisBus.
type RedisBusParams struct {
	Client redis.UniversalClient
	// Channel defaults to "yunke:events".
	Channel string
	Hub     *Hub
	Logger  *slog.Logger
}

type envelope struct {
	From  string          `json:"from"`
	To    UserID          `json:"to"`
	Event json.RawMessage `json:"event"`
}

// NewRedisBus subscribes to the channel (the subscription is live when it
// returns) and delivers what arrives to the hub until Close.
func NewRedisBus(ctx context.Context, p RedisBusParams) (*RedisBus, error) {
	if p.Channel == "" {
		p.Channel = "yunke:events"
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	b := &RedisBus{rdb: p.Client, channel: p.Channel, hub: p.Hub, log: p.Logger, node: hex.EncodeToString(id[:]), done: make(chan struct{})}
	sub := p.Client.Subscribe(ctx, p.Channel)
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		_ = sub.Close()
		return nil, fmt.Errorf("events: subscribe %s: %w", p.Channel, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go func() {
		defer close(b.done)
		defer sub.Close()
		// go-redis re-subscribes by itself after a reconnect.
		ch := sub.Channel(redis.WithChannelSize(1024))
		for {
			select {
			case <-runCtx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				var env envelope
				if err := json.Unmarshal([]byte(m.Payload), &env); err != nil {
					b.log.Warn("bad event on bus", "err", err)
					continue
				}
				if env.From != b.node { // delivered locally when published
					b.hub.DeliverRaw(env.To, env.Event)
				}
			}
		}
	}()
	return b, nil
}

// Publish implements Bus.
func (b *RedisBus) Publish(ctx context.Context, to UserID, ev Event) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	b.hub.DeliverRaw(to, raw)
	msg, _ := json.Marshal(envelope{From: b.node, To: to, Event: raw})
	if err := b.rdb.Publish(ctx, b.channel, msg).Err(); err != nil {
		return fmt.Errorf("events: publish: %w", err)
	}
	return nil
}

// Close stops delivering.
func (b *RedisBus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cancel != nil {
		b.cancel()
		b.cancel = nil
		<-b.done
	}
}
