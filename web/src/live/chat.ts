// Chat in a room: the SDK's chat messages and, for SDKs without a chat API
// (and the tutoring room), reliable data packets on the "chat" topic.

import { reactive } from 'vue';
import type { ChatMessage, LocalParticipant, Participant, Room } from 'livekit-client';

/** Topic of chat data packets. */
export const chatTopic = 'chat';

export interface ChatEntry {
  id: string;
  timestamp: number;
  text: string;
  /** The sender's name (or identity); '' when unknown. */
  name: string;
  identity: string;
  local: boolean;
  /** The server's id of the stored message, once known (the teacher deletes by it). */
  serverId?: number;
}

type Packet = Pick<ChatMessage, 'id' | 'timestamp' | 'message'>;

export class ChatLog {
  readonly entries = reactive<ChatEntry[]>([]);

  constructor(
    private readonly room: Room,
    /** 'api': the SDK's sendChatMessage when it has one; 'data': always data packets. */
    private readonly via: 'api' | 'data',
  ) {}

  add(msg: Packet, from: Participant | undefined): void {
    if (this.entries.some((c) => c.id === msg.id)) return;
    this.entries.push({
      id: msg.id,
      timestamp: Number(msg.timestamp) || Date.now(),
      text: msg.message,
      name: from ? from.name || from.identity : '',
      identity: from?.identity ?? '',
      local: from === this.room.localParticipant,
    });
  }

  /**
   * addStored merges a message of the room's stored history (loaded on
   * joining): a message already shown only learns its server id.
   */
  addStored(m: { id: number; msg_id: string; identity: string; name: string; message: string; sent_at: string }): void {
    const have = this.entries.find((c) => c.id === m.msg_id);
    if (have) {
      have.serverId = m.id;
      return;
    }
    const entry: ChatEntry = {
      id: m.msg_id,
      timestamp: Date.parse(m.sent_at) || Date.now(),
      text: m.message,
      name: m.name || m.identity,
      identity: m.identity,
      local: m.identity === this.room.localParticipant.identity,
      serverId: m.id,
    };
    const at = this.entries.findIndex((c) => c.timestamp > entry.timestamp);
    if (at < 0) this.entries.push(entry);
    else this.entries.splice(at, 0, entry);
  }

  /** remove hides a message the teacher deleted. */
  remove(msgId: string): void {
    const at = this.entries.findIndex((c) => c.id === msgId);
    if (at >= 0) this.entries.splice(at, 1);
  }

  /** receive takes a data packet; anything but a chat packet is ignored. */
  receive(payload: Uint8Array, from: Participant | undefined, topic: string | undefined): void {
    if (topic !== chatTopic) return;
    try {
      const msg = JSON.parse(new TextDecoder().decode(payload)) as { id?: unknown; timestamp?: unknown; message?: unknown };
      if (typeof msg.message !== 'string') return;
      this.add(
        {
          id: typeof msg.id === 'string' ? msg.id : crypto.randomUUID(),
          timestamp: typeof msg.timestamp === 'number' ? msg.timestamp : Date.now(),
          message: msg.message,
        },
        from,
      );
    } catch {
      // not a chat packet
    }
  }

  /** send sends text to everyone in the room; it rejects when sending failed. */
  async send(text: string): Promise<void> {
    const lp = this.room.localParticipant as LocalParticipant & { sendChatMessage?: LocalParticipant['sendChatMessage'] };
    if (this.via === 'api' && typeof lp.sendChatMessage === 'function') {
      // The SDK echoes our own message back as RoomEvent.ChatMessage.
      await lp.sendChatMessage(text);
      return;
    }
    const msg = { id: crypto.randomUUID(), timestamp: Date.now(), message: text };
    await lp.publishData(new TextEncoder().encode(JSON.stringify(msg)), { reliable: true, topic: chatTopic });
    this.add(msg, lp);
  }
}
