// The remote participants' audio: one <audio> element per subscribed audio
// track, kept in the page's hidden audio sink (#audio-sink in App.vue).

import type { RemoteTrack, RemoteTrackPublication } from 'livekit-client';

export class RemoteAudio {
  /** "identity:trackSid" -> the element playing that track */
  private readonly elements = new Map<string, HTMLMediaElement>();

  private key(identity: string, pub: RemoteTrackPublication): string {
    return `${identity}:${pub.trackSid}`;
  }

  /** attach plays a newly subscribed audio track. */
  attach(track: RemoteTrack, pub: RemoteTrackPublication, identity: string): void {
    const key = this.key(identity, pub);
    const el = track.attach();
    el.dataset.identity = identity;
    this.elements.get(key)?.remove();
    this.elements.set(key, el);
    document.getElementById('audio-sink')?.append(el);
  }

  /** detach stops a track that was unsubscribed. */
  detach(track: RemoteTrack, pub: RemoteTrackPublication, identity: string): void {
    const key = this.key(identity, pub);
    const el = this.elements.get(key);
    if (el) {
      track.detach(el);
      el.remove();
    }
    this.elements.delete(key);
  }

  /** drop removes every element of a participant who left. */
  drop(identity: string): void {
    for (const [key, el] of this.elements) {
      if (key.startsWith(`${identity}:`)) {
        el.remove();
        this.elements.delete(key);
      }
    }
  }

  clear(): void {
    for (const el of this.elements.values()) el.remove();
    this.elements.clear();
  }
}
