// The live class: who is in the room, which videos to show, who speaks.
// views/classroom draws it.

import { ConnectionState, DisconnectReason, RoomEvent, Track, type Participant, type TrackPublication } from 'livekit-client';
import { ref, shallowRef } from 'vue';

import type { JoinGrant, Role } from '@/api/rooms';
import { hideBanner, showBanner } from '@/stores/banners';
import { session } from '@/stores/session';
import type { LocalRole } from '@/stores/classroom';

import { ClassControls, onStage } from './controls';
import { disconnectFailure, type Failure } from './failures';
import { LiveRoom } from './live-room';

/** Audio level (0..1) above which a participant counts as speaking. */
const speakingLevel = 0.02;
/** How long a participant stays "speaking" after the last loud sample. */
const speakingHoldMs = 700;
const levelPollMs = 250;

/** roleOf tells a teacher from a student: explicit attributes/metadata first, then publish permission. */
export function roleOf(p: Participant): Role {
  const attr = p.attributes?.role;
  if (attr === 'teacher' || attr === 'student') return attr;
  if (p.metadata) {
    try {
      const meta = JSON.parse(p.metadata) as { role?: unknown };
      if (meta.role === 'teacher' || meta.role === 'student') return meta.role;
    } catch {
      // metadata is free-form
    }
  }
  return p.permissions?.canPublish ? 'teacher' : 'student';
}

/** displayName is a participant's name, or identity when it has none. */
export function displayName(p: Participant): string {
  return p.name || p.identity;
}

export interface TileView {
  key: string;
  identity: string;
  name: string;
  local: boolean;
  role: Role;
  /** 'camera', 'screen_share', or 'none' for a teacher without video. */
  source: string;
  screen: boolean;
  track: Track | undefined;
  micMuted: boolean;
  spotlight: boolean;
}

export interface ParticipantView {
  identity: string;
  name: string;
  local: boolean;
  role: Role;
  /** Publishes audio and has it muted. */
  muted: boolean;
  /** Publishes an unmuted microphone (the teacher may mute it). */
  micOn: boolean;
  /** The role attribute: teacher, assistant, student or observer. */
  classRole: string;
  hand: boolean;
  onStage: boolean;
}

export interface ClassroomHooks {
  /** Called once when the class ends for any reason other than connect() failing. */
  onEnded(failure: Failure | null): void;
}

export class Classroom {
  readonly live: LiveRoom;
  /** Identities speaking now. */
  readonly speaking = shallowRef<ReadonlySet<string>>(new Set());
  /** Camera and microphone are being switched on. */
  readonly publishing = ref(false);
  private ended = false;
  /** identity -> time of the last loud audio sample measured in this browser */
  private readonly loudAt = new Map<string, number>();
  private levelTimer: number | undefined;
  readonly controls: ClassControls;

  constructor(
    private readonly grant: JoinGrant,
    readonly role: LocalRole,
    private readonly hooks: ClassroomHooks,
  ) {
    this.live = new LiveRoom({
      chat: 'api',
      onLost: (reason) => this.finish(reason === DisconnectReason.CLIENT_INITIATED ? null : disconnectFailure(reason)),
    });
    this.room.on(RoomEvent.ActiveSpeakersChanged, () => this.updateSpeaking());
    this.controls = new ClassControls(this.room, this.live.chat, role === 'teacher', () => this.live.bump());
  }

  get room() {
    return this.live.room;
  }

  get roomName(): string {
    return this.room.name || this.grant.room;
  }

  /** connect joins the room; it rejects with a Failure. */
  async connect(): Promise<void> {
    await this.live.connect(this.grant.url, this.grant.token);
    this.levelTimer = window.setInterval(() => void this.pollLevels(), levelPollMs);
    void this.controls.load(!!session.me);
    if (this.role === 'teacher') void this.startMedia();
  }

  /** leave disconnects on the user's request. */
  async leave(): Promise<void> {
    await this.live.leave();
    this.finish(null);
  }

  /** startMedia publishes camera and microphone (the teacher on joining, a student on stage). */
  async startMedia(): Promise<void> {
    this.publishing.value = true;
    showBanner('publishing', { kind: 'info', code: 'publishing', message: { key: 'room.publishingMedia' }, testId: 'banner-info' });
    try {
      await this.live.startMedia();
    } finally {
      this.publishing.value = false;
      hideBanner('publishing');
    }
  }

  private finish(failure: Failure | null): void {
    if (this.ended) return;
    this.ended = true;
    window.clearInterval(this.levelTimer);
    hideBanner('publishing');
    this.live.close();
    this.hooks.onEnded(failure);
  }

  // ---- what the view shows (call inside a computed that reads live.version) ----

  private roleFor(p: Participant): Role {
    if (p === this.room.localParticipant) return this.role === 'teacher' ? 'teacher' : 'student';
    return roleOf(p);
  }

  private ordered(): Participant[] {
    const remotes = [...this.room.remoteParticipants.values()];
    const byName = (a: Participant, b: Participant) => displayName(a).localeCompare(displayName(b));
    const teachers = remotes.filter((p) => roleOf(p) === 'teacher').sort(byName);
    const students = remotes.filter((p) => roleOf(p) !== 'teacher').sort(byName);
    return [this.room.localParticipant, ...teachers, ...students];
  }

  participants(): ParticipantView[] {
    this.live.version.value;
    return this.ordered().map((p) => ({
      identity: p.identity,
      name: displayName(p),
      local: p === this.room.localParticipant,
      role: this.roleFor(p),
      muted: p.getTrackPublications().some((pub) => pub.kind === Track.Kind.Audio) && !p.isMicrophoneEnabled,
      micOn: p.isMicrophoneEnabled,
      classRole: p === this.room.localParticipant ? (p.attributes?.role ?? this.role) : (p.attributes?.role ?? roleOf(p)),
      hand: !!p.attributes?.hand,
      onStage: onStage(p),
    }));
  }

  /** tiles lists the videos: screen shares first, then cameras; a teacher without video gets a placeholder. */
  tiles(): TileView[] {
    this.live.version.value;
    const out: TileView[] = [];
    for (const p of this.ordered()) {
      const videos = p
        .getTrackPublications()
        .filter((pub) => pub.kind === Track.Kind.Video && (pub.source === Track.Source.Camera || pub.source === Track.Source.ScreenShare));
      videos.sort((a, b) => (a.source === Track.Source.ScreenShare ? -1 : 0) - (b.source === Track.Source.ScreenShare ? -1 : 0));
      const tile = (pub?: TrackPublication): TileView => {
        const screen = pub?.source === Track.Source.ScreenShare;
        const track = pub && !pub.isMuted ? pub.track : undefined;
        return {
          key: `${p.identity}|${pub?.source ?? 'none'}`,
          identity: p.identity,
          name: displayName(p),
          local: p === this.room.localParticipant,
          role: this.roleFor(p),
          source: pub?.source ?? 'none',
          screen,
          track: track && track.kind === Track.Kind.Video ? track : undefined,
          micMuted: !p.isMicrophoneEnabled && !screen,
          spotlight: false,
        };
      };
      for (const pub of videos) out.push(tile(pub));
      if (videos.length === 0 && this.roleFor(p) === 'teacher') out.push(tile());
    }
    // The spotlit participant's videos are shown first and large (by CSS
    // order: moving a playing <video> in the page makes it stop painting).
    const lit = this.controls.settings.spotlight;
    if (lit) for (const t of out) t.spotlight = t.identity === lit;
    return out;
  }

  /** canPublish tells whether to show the camera and microphone controls. */
  canPublish(): boolean {
    this.live.version.value;
    return this.role === 'teacher' || !!this.room.localParticipant.permissions?.canPublish;
  }

  // ---- speaking ----

  /**
   * pollLevels measures audio levels from the WebRTC stats of every audio
   * track here (sent and received), so the speaking indicator works even when
   * the server sends no active-speaker updates; both sources are combined.
   */
  private async pollLevels(): Promise<void> {
    if (this.ended || this.room.state !== ConnectionState.Connected) return;
    const now = performance.now();
    const checks: Promise<void>[] = [];
    for (const p of [this.room.localParticipant, ...this.room.remoteParticipants.values()]) {
      for (const pub of p.audioTrackPublications.values()) {
        const track = pub.track;
        if (!track || pub.isMuted) continue;
        const rtp = 'receiver' in track && track.receiver ? track.receiver : 'sender' in track ? track.sender : undefined;
        if (!rtp) continue;
        checks.push(
          rtp
            .getStats()
            .then((report) => {
              report.forEach((s: { type?: string; kind?: string; audioLevel?: number }) => {
                const relevant = s.type === 'inbound-rtp' || s.type === 'media-source';
                if (relevant && s.kind === 'audio' && (s.audioLevel ?? 0) > speakingLevel) this.loudAt.set(p.identity, now);
              });
            })
            .catch(() => {}),
        );
      }
    }
    await Promise.all(checks);
    this.updateSpeaking();
  }

  private updateSpeaking(): void {
    const out = new Set(this.room.activeSpeakers.map((p) => p.identity));
    const now = performance.now();
    for (const [identity, at] of this.loudAt) {
      if (now - at < speakingHoldMs) out.add(identity);
      else this.loudAt.delete(identity);
    }
    const old = this.speaking.value;
    if (out.size !== old.size || [...out].some((id) => !old.has(id))) this.speaking.value = out;
  }
}
