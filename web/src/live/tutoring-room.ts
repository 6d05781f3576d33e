// The room of a one-to-one tutoring session: both sides publish camera and
// microphone, may share the screen, chat over data packets and see each
// other. views/tutoring/session draws it; one session room is open at a time.

import { ConnectionState, DisconnectReason, Track, type RemoteParticipant } from 'livekit-client';
import { shallowRef } from 'vue';

import { endSession, getSession, type SessionJoin, type TutoringSession } from '@/api/tutoring';
import { setActiveSessionRoom, type SessionRoomHandle, type SessionStatus } from '@/stores/tutoring';

import { disconnectFailure, type Failure } from './failures';
import { LiveRoom } from './live-room';

export interface TutoringRoomHooks {
  /** The session ended (session set) or the room was lost (failure set); the room is closed. */
  onEnded(session: TutoringSession | null, failure: Failure | null): void;
}

/** What the stage shows, read inside a computed. */
export interface TutoringView {
  /** 'connecting' | 'reconnecting' | 'waiting' (for the other side) | 'live' */
  status: string;
  peerPresent: boolean;
  peerCamera: Track | undefined;
  peerScreen: Track | undefined;
  peerMuted: boolean;
  /** Connection qualities as the server reports them ('unknown' before). */
  peerQuality: string;
  selfQuality: string;
  selfCamera: Track | undefined;
  selfScreen: Track | undefined;
  mic: boolean;
  camera: boolean;
  screen: boolean;
  connected: boolean;
}

function videoOf(pub: { isMuted: boolean; track?: Track } | undefined): Track | undefined {
  const track = pub && !pub.isMuted ? pub.track : undefined;
  return track && track.kind === Track.Kind.Video ? track : undefined;
}

export class TutoringRoom implements SessionRoomHandle {
  readonly live: LiveRoom;
  readonly session = shallowRef<TutoringSession>();
  readonly peerName: string;
  readonly isStudent: boolean;
  private readonly peerIdentity: string;
  private finished = false;

  constructor(
    private readonly grant: SessionJoin,
    selfId: number,
    private readonly hooks: TutoringRoomHooks,
  ) {
    const s = grant.session;
    this.session.value = s;
    this.isStudent = selfId === s.student_id;
    this.peerIdentity = `u${this.isStudent ? s.teacher_id : s.student_id}`;
    this.peerName = this.isStudent ? s.teacher_name : s.student_name;
    this.live = new LiveRoom({ chat: 'data', onLost: (reason) => void this.lost(reason) });
  }

  get id(): number {
    return this.grant.session.id;
  }

  /** connect joins the room at the URL the server gave (it may be another node); it rejects with a Failure. */
  async connect(): Promise<void> {
    setActiveSessionRoom(this);
    try {
      await this.live.connect(this.grant.url, this.grant.token);
    } catch (failure) {
      setActiveSessionRoom(null);
      throw failure;
    }
    void this.live.startMedia();
  }

  /** update takes a `session` event for this session. */
  update(s: TutoringSession, status: SessionStatus): void {
    if (this.finished) return;
    this.session.value = s;
    if (status === 'ended') void this.finish(s);
    else this.live.bump();
  }

  /** leave disconnects without ending the session (the other side may wait for a return). */
  async leave(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.live.leave();
    this.teardown();
  }

  /** end ends the session for both sides; it rejects when the server refused. */
  async end(): Promise<void> {
    if (this.finished) return;
    const ended = await endSession(this.id);
    await this.finish(ended);
  }

  private async finish(s: TutoringSession): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.live.leave();
    this.teardown();
    this.hooks.onEnded(s, null);
  }

  /** lost: the room went away without us asking; the server says whether the session ended. */
  private async lost(reason: DisconnectReason | undefined): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.live.close();
    this.teardown();
    try {
      const s = await getSession(this.id);
      if (s.ended_at) {
        this.hooks.onEnded(s, null);
        return;
      }
    } catch (err) {
      console.warn('session after disconnect', err);
    }
    this.hooks.onEnded(null, disconnectFailure(reason));
  }

  private teardown(): void {
    setActiveSessionRoom(null);
  }

  private peer(): RemoteParticipant | undefined {
    const remotes = this.live.room.remoteParticipants;
    return remotes.get(this.peerIdentity) ?? [...remotes.values()][0];
  }

  view(): TutoringView {
    this.live.version.value;
    const room = this.live.room;
    const lp = room.localParticipant;
    const peer = this.peer();
    const conn = room.state;
    let status: string;
    if (conn === ConnectionState.Reconnecting || conn === ConnectionState.SignalReconnecting) status = 'reconnecting';
    else if (conn !== ConnectionState.Connected) status = 'connecting';
    else if (!peer) status = 'waiting';
    else status = 'live';
    return {
      status,
      peerPresent: !!peer,
      peerCamera: videoOf(peer?.getTrackPublication(Track.Source.Camera)),
      peerScreen: videoOf(peer?.getTrackPublication(Track.Source.ScreenShare)),
      peerMuted: !!peer && !peer.isMicrophoneEnabled,
      peerQuality: peer ? this.live.quality(peer.identity) : 'unknown',
      selfQuality: this.live.quality(lp.identity),
      selfCamera: videoOf(lp.getTrackPublication(Track.Source.Camera)),
      selfScreen: videoOf(lp.getTrackPublication(Track.Source.ScreenShare)),
      mic: lp.isMicrophoneEnabled,
      camera: lp.isCameraEnabled,
      screen: lp.isScreenShareEnabled,
      connected: conn === ConnectionState.Connected,
    };
  }
}
