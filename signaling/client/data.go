package client

import (
	"context"
	"fmt"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// DataOptions qualify a user data packet.
type DataOptions struct {
	// Reliable sends on the ordered, retransmitted channel; otherwise lossy.
	Reliable bool
	// Topic is the user packet's topic, if not empty.
	Topic string
	// DestinationIdentities limits delivery to these participants; empty
	// means everyone else in the room.
	DestinationIdentities []string
}

// watchDataChannel decodes the DataPackets arriving on dc into the Data
// channel. open, if not nil, is closed when dc opens.
func (c *Client) watchDataChannel(dc *webrtc.DataChannel, open chan struct{}) {
	if open != nil {
		dc.OnOpen(func() { close(open) })
	}
	label := dc.Label()
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		pkt := &livekit.DataPacket{}
		if err := proto.Unmarshal(msg.Data, pkt); err != nil {
			c.log.Warn("bad data packet", "channel", label, "len", len(msg.Data), "err", err)
			return
		}
		select {
		case c.data <- pkt:
		default:
			c.dataDropped.Add(1)
		}
	})
}

// Data delivers the DataPackets received on any data channel. It is bounded
// (Options.DataBuffer); packets that find it full are dropped and counted in
// DataDropped.
func (c *Client) Data() <-chan *livekit.DataPacket { return c.data }

// DataDropped is how many received DataPackets found the Data channel full.
func (c *Client) DataDropped() uint64 { return c.dataDropped.Load() }

// SendData sends a user packet. The first call negotiates the publisher
// PeerConnection if no track has been published yet.
func (c *Client) SendData(ctx context.Context, payload []byte, o DataOptions) error {
	user := &livekit.UserPacket{Payload: payload, DestinationIdentities: o.DestinationIdentities}
	if o.Topic != "" {
		user.Topic = proto.String(o.Topic)
	}
	return c.SendDataPacket(ctx, &livekit.DataPacket{
		DestinationIdentities: o.DestinationIdentities,
		Value:                 &livekit.DataPacket_User{User: user},
	}, o.Reliable)
}

// SendDataPacket sends any DataPacket (chat, RPC, streams...). It fills in
// the kind, this participant's identity and, for reliable packets, the
// sequence number the SDKs use to drop duplicates.
func (c *Client) SendDataPacket(ctx context.Context, pkt *livekit.DataPacket, reliable bool) error {
	if err := c.ensurePublisher(ctx); err != nil {
		return err
	}
	dc, open := c.lossy, c.lossyOpen
	pkt.Kind = livekit.DataPacket_LOSSY
	if reliable {
		dc, open = c.reliable, c.reliableOpen
		pkt.Kind = livekit.DataPacket_RELIABLE
		pkt.Sequence = c.dataSeq.Add(1)
	}
	if pkt.ParticipantIdentity == "" {
		pkt.ParticipantIdentity = c.Identity()
	}
	b, err := proto.Marshal(pkt)
	if err != nil {
		return fmt.Errorf("client: encoding data packet: %w", err)
	}
	select {
	case <-open:
	case <-ctx.Done():
		return fmt.Errorf("client: waiting for data channel %s: %w", dc.Label(), ctx.Err())
	case <-c.done:
		return c.Err()
	}
	if err := dc.Send(b); err != nil {
		return fmt.Errorf("client: data channel %s: %w", dc.Label(), err)
	}
	return nil
}
