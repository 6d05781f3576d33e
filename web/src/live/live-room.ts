// A livekit-client Room with the wiring the class and the tutoring room
// share: connecting, remote audio, chat, the reconnecting and audio-blocked
// notices, camera, microphone and screen toggles, and window.yunke.room for
// tests. The Room is never made reactive (Vue proxies break the SDK); views
// read it through computeds that depend on `version`, which every room
// event bumps.

import {
  ConnectionQuality,
  ConnectionState,
  DisconnectReason,
  Room,
  RoomEvent,
  Track,
  type ChatMessage,
  type Participant,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
} from 'livekit-client';
import { reactive, ref } from 'vue';

import { hideBanner, showBanner } from '@/stores/banners';

import { ChatLog } from './chat';
import { connectFailure, mediaFailure } from './failures';
import { RemoteAudio } from './remote-audio';

export type MediaKind = 'mic' | 'camera' | 'screen';

export interface LiveRoomOptions {
  /** How chat goes out (see ChatLog). */
  chat: 'api' | 'data';
  /** The room went away after connecting, without leave() (not called for a failed connect). */
  onLost(reason: DisconnectReason | undefined): void;
}

// Banner ids of the room's notices.
const reconnectingBanner = 'reconnecting';
const audioBanner = 'audio';
const mediaBanner = 'media';

export class LiveRoom {
  readonly room = new Room();
  /** Bumped on every room event: read it in a computed to follow the room. */
  readonly version = ref(0);
  readonly chat: ChatLog;
  /** Toggles in progress, per control. */
  readonly busy = reactive<Record<MediaKind, boolean>>({ mic: false, camera: false, screen: false });
  private readonly audio = new RemoteAudio();
  private joined = false;
  private leaving = false;
  private closed = false;

  constructor(private readonly opts: LiveRoomOptions) {
    this.chat = new ChatLog(this.room, opts.chat);
    this.bind();
  }

  /** recording tells whether the room is being recorded (its active_recording flag). */
  get recording(): boolean {
    return this.room.isRecording;
  }

  /** quality is a participant's connection quality as the server last reported it ('unknown' before). */
  quality(identity: string): ConnectionQuality {
    const lp = this.room.localParticipant;
    const p = identity === lp.identity ? lp : this.room.remoteParticipants.get(identity);
    return p?.connectionQuality ?? ConnectionQuality.Unknown;
  }

  get connected(): boolean {
    return this.room.state === ConnectionState.Connected;
  }

  /** connect joins the room; it rejects with a Failure and leaves nothing behind. */
  async connect(url: string, token: string): Promise<void> {
    window.yunke.room = this.room;
    try {
      await this.room.connect(url, token);
    } catch (err) {
      console.error('room.connect failed', err);
      this.close();
      throw connectFailure(err);
    }
    this.joined = true;
    this.bump();
  }

  /** leave disconnects on the user's request. */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.leaving = true;
    await this.room.disconnect().catch((err: unknown) => console.warn('disconnect', err));
    this.close();
  }

  /** close drops everything the room put on the page; the room is unusable afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.leaving = true;
    if (window.yunke.room === this.room) window.yunke.room = null;
    this.audio.clear();
    this.room.removeAllListeners();
    hideBanner(reconnectingBanner);
    hideBanner(audioBanner);
    hideBanner(mediaBanner);
    hideBanner('chat');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** startMedia publishes camera and microphone. */
  async startMedia(): Promise<void> {
    this.busy.mic = this.busy.camera = true;
    try {
      await this.room.localParticipant.enableCameraAndMicrophone();
      hideBanner(mediaBanner);
    } catch (err) {
      console.error('enableCameraAndMicrophone failed', err);
      this.showMediaError(err);
    } finally {
      this.busy.mic = this.busy.camera = false;
      this.bump();
    }
  }

  /** toggle switches the microphone, the camera or the screen share. */
  async toggle(kind: MediaKind): Promise<void> {
    const lp = this.room.localParticipant;
    this.busy[kind] = true;
    try {
      if (kind === 'mic') await lp.setMicrophoneEnabled(!lp.isMicrophoneEnabled);
      else if (kind === 'camera') await lp.setCameraEnabled(!lp.isCameraEnabled);
      else await lp.setScreenShareEnabled(!lp.isScreenShareEnabled, { audio: false });
      hideBanner(mediaBanner);
    } catch (err) {
      console.error(`toggle ${kind} failed`, err);
      // Dismissing the browser's screen picker is not an error worth a banner.
      if (!(kind === 'screen' && err instanceof Error && err.name === 'NotAllowedError')) this.showMediaError(err);
    } finally {
      this.busy[kind] = false;
      this.bump();
    }
  }

  /** sendChat sends a message; it rejects when it could not be sent. */
  async sendChat(text: string): Promise<void> {
    if (!this.connected) return;
    await this.chat.send(text);
  }

  bump(): void {
    this.version.value++;
  }

  private showMediaError(err: unknown): void {
    showBanner(mediaBanner, { kind: 'error', code: 'media', message: mediaFailure(err), testId: 'banner-error' });
  }

  private setReconnecting(on: boolean): void {
    if (on) showBanner(reconnectingBanner, { kind: 'warning', code: 'reconnecting', message: { key: 'room.reconnecting' }, testId: 'banner-reconnecting' });
    else hideBanner(reconnectingBanner);
    this.bump();
  }

  /** renderAudioPrompt offers a button when the browser blocks autoplaying sound. */
  private renderAudioPrompt(): void {
    if (this.closed || this.room.canPlaybackAudio) {
      hideBanner(audioBanner);
      return;
    }
    showBanner(audioBanner, {
      kind: 'warning',
      code: 'audio-blocked',
      message: { key: 'room.enableAudio' },
      testId: 'banner-audio',
      action: {
        label: { key: 'room.enableAudioButton' },
        testId: 'enable-audio',
        run: () => {
          this.room
            .startAudio()
            .then(() => this.renderAudioPrompt())
            .catch((err: unknown) => console.error('startAudio failed', err));
        },
      },
    });
  }

  private bind(): void {
    const bump = () => this.bump();
    this.room
      .on(RoomEvent.ConnectionStateChanged, bump)
      .on(RoomEvent.Reconnecting, () => this.setReconnecting(true))
      .on(RoomEvent.SignalReconnecting, () => this.setReconnecting(true))
      .on(RoomEvent.Reconnected, () => this.setReconnecting(false))
      .on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
        // A failed first connect is reported by connect() itself.
        if (!this.joined || this.leaving) return;
        this.setReconnecting(false);
        this.opts.onLost(reason);
      })
      .on(RoomEvent.ParticipantConnected, bump)
      .on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) => {
        this.audio.drop(p.identity);
        bump();
      })
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
        if (track.kind === Track.Kind.Audio) {
          this.audio.attach(track, pub, p.identity);
          this.renderAudioPrompt();
        }
        bump();
      })
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
        if (track.kind === Track.Kind.Audio) this.audio.detach(track, pub, p.identity);
        bump();
      })
      .on(RoomEvent.TrackPublished, bump)
      .on(RoomEvent.TrackUnpublished, bump)
      .on(RoomEvent.TrackMuted, bump)
      .on(RoomEvent.TrackUnmuted, bump)
      .on(RoomEvent.LocalTrackPublished, bump)
      // Also when the browser's own "stop sharing" button ends a screen share.
      .on(RoomEvent.LocalTrackUnpublished, bump)
      .on(RoomEvent.ParticipantNameChanged, bump)
      .on(RoomEvent.ParticipantMetadataChanged, bump)
      .on(RoomEvent.ParticipantAttributesChanged, bump)
      .on(RoomEvent.ParticipantPermissionsChanged, bump)
      .on(RoomEvent.ActiveSpeakersChanged, bump)
      .on(RoomEvent.ConnectionQualityChanged, bump)
      // The room's active_recording flag: the page shows a recording indicator.
      .on(RoomEvent.RecordingStatusChanged, bump)
      .on(RoomEvent.AudioPlaybackStatusChanged, () => this.renderAudioPrompt())
      .on(RoomEvent.MediaDevicesError, (err: Error) => this.showMediaError(err))
      .on(RoomEvent.ChatMessage, (msg: ChatMessage, p?: Participant) => this.chat.add(msg, p))
      .on(RoomEvent.DataReceived, (payload: Uint8Array, p?: RemoteParticipant, _kind?: unknown, topic?: string) => this.chat.receive(payload, p, topic));
  }
}
