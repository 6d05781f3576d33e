// Package signaling speaks LiveKit's client signaling protocol (protocol 17,
// `/rtc` with a publisher and a subscriber PeerConnection, binary protobuf
// frames over gorilla/websocket) so that unmodified LiveKit SDKs join Yunke
// rooms. It owns rooms and participants, and wires each published track into
// the sfu package and each subscription out of it.
package signaling
