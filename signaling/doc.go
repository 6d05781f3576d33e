// Package signaling speaks LiveKit's client signaling protocol (protocol 17,
// binary protobuf frames over gorilla/websocket) so that unmodified LiveKit
// SDKs join Yunke rooms: `/rtc/v1` with one PeerConnection, which current
// SDKs try first, and `/rtc` with a publisher and a subscriber
// PeerConnection for older ones. A session whose signaling socket drops is
// kept for a while and resumed (reconnect with the participant's sid). It
// owns rooms and participants, and wires each published track into the sfu
// package and each subscription out of it.
package signaling
