// The live classroom: one livekit-client Room and everything drawn from it.

import {
  ConnectionError,
  ConnectionErrorReason,
  ConnectionState,
  DisconnectReason,
  MediaDeviceFailure,
  Room,
  RoomEvent,
  Track,
  type ChatMessage,
  type LocalParticipant,
  type Participant,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type TrackPublication,
} from 'livekit-client';

import type { JoinGrant, Role } from './api';
import { hideBanner, showBanner } from './banners';
import { byId, h } from './dom';
import { onLangChange, t, type Key, type Message } from './i18n';

/** Topic used by the data-packet fallback when the SDK has no chat API. */
export const chatTopic = 'chat';

/** Audio level (0..1) above which a participant counts as speaking. */
const speakingLevel = 0.02;
/** How long a participant stays "speaking" after the last loud sample. */
const speakingHoldMs = 700;
const levelPollMs = 250;

interface ChatEntry {
  id: string;
  timestamp: number;
  text: string;
  sender: string;
  identity: string;
  local: boolean;
}

/** What a failed connect or a lost connection means to the user. */
export interface Failure {
  code: string;
  message: Message;
}

/** How the local user takes part: a teacher publishes, a student watches and chats, an observer watches hidden. */
export type LocalRole = Role | 'observer';

export interface ClassroomHooks {
  /** Called once when the room ends for any reason other than connect() failing. */
  onEnded(failure: Failure | null): void;
}

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

function displayName(p: Participant | undefined): string {
  if (!p) return t('chat.unknownSender');
  return p.name || p.identity;
}

/** connectFailure explains a rejected room.connect(). */
export function connectFailure(err: unknown): Failure {
  if (err instanceof ConnectionError) {
    const message = err.message || err.reasonName;
    switch (err.reason) {
      case ConnectionErrorReason.NotAllowed:
        return { code: 'auth', message: { key: 'error.auth', params: { message } } };
      case ConnectionErrorReason.ServerUnreachable:
        return { code: 'unreachable', message: { key: 'error.signalUnreachable', params: { message } } };
      case ConnectionErrorReason.Timeout:
        return { code: 'timeout', message: { key: 'error.timeout' } };
      default:
        return { code: 'connect', message: { key: 'error.connect', params: { message } } };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'connect', message: { key: 'error.connect', params: { message } } };
}

export function disconnectFailure(reason: DisconnectReason | undefined): Failure {
  switch (reason) {
    case DisconnectReason.DUPLICATE_IDENTITY:
      return { code: 'duplicate', message: { key: 'error.duplicateIdentity' } };
    case DisconnectReason.PARTICIPANT_REMOVED:
      return { code: 'removed', message: { key: 'error.removed' } };
    case DisconnectReason.ROOM_DELETED:
    case DisconnectReason.ROOM_CLOSED:
      return { code: 'closed', message: { key: 'error.roomClosed' } };
    case DisconnectReason.SERVER_SHUTDOWN:
      return { code: 'shutdown', message: { key: 'error.serverShutdown' } };
    default:
      return {
        code: 'disconnected',
        message: { key: 'error.disconnected', params: { reason: reason === undefined ? 'UNKNOWN' : (DisconnectReason[reason] ?? String(reason)) } },
      };
  }
}

export function mediaFailure(err: unknown): Message {
  switch (MediaDeviceFailure.getFailure(err)) {
    case MediaDeviceFailure.PermissionDenied:
      return { key: 'error.mediaPermission' };
    case MediaDeviceFailure.NotFound:
      return { key: 'error.mediaNotFound' };
    case MediaDeviceFailure.DeviceInUse:
      return { key: 'error.mediaInUse' };
    default:
      return { key: 'error.media', params: { message: err instanceof Error ? err.message : String(err) } };
  }
}

export function formatTime(ts: number): string {
  const d = new Date(ts);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

interface TileRefs {
  root: HTMLElement;
  video: HTMLVideoElement;
  placeholder: HTMLElement;
  name: HTMLElement;
  badge: HTMLElement;
  mic: HTMLElement;
}

export class Classroom {
  readonly room = new Room();
  private readonly tiles = new Map<string, TileRefs>();
  private readonly attached = new WeakMap<HTMLVideoElement, Track>();
  private readonly audioElements = new Map<string, HTMLMediaElement>();
  private readonly chat: ChatEntry[] = [];
  private leaving = false;
  private joined = false;
  private ended = false;
  private publishing = false;
  /** identity -> time of the last loud audio sample measured in this browser */
  private readonly loudAt = new Map<string, number>();
  private levelTimer: number | undefined;

  private readonly els = {
    view: byId('room-view'),
    meta: byId('room-meta'),
    roomName: byId('room-name'),
    state: byId('conn-state'),
    tiles: byId('tiles'),
    empty: byId('stage-empty'),
    participants: byId<HTMLUListElement>('participants'),
    participantsHeading: byId('participants-heading'),
    chatList: byId<HTMLOListElement>('chat-messages'),
    chatForm: byId<HTMLFormElement>('chat-form'),
    chatInput: byId<HTMLInputElement>('chat-input'),
    chatSend: byId<HTMLButtonElement>('chat-send'),
    controls: byId('media-controls'),
    mic: byId<HTMLButtonElement>('toggle-mic'),
    camera: byId<HTMLButtonElement>('toggle-camera'),
    leave: byId<HTMLButtonElement>('leave'),
    audioSink: byId('audio-sink'),
    notice: byId('student-notice'),
  };

  private readonly abort = new AbortController();

  constructor(
    private readonly grant: JoinGrant,
    private readonly role: LocalRole,
    private readonly hooks: ClassroomHooks,
  ) {
    this.bindRoomEvents();
    this.bindDom();
  }

  /** connect joins the room; it rejects with a Failure and leaves the page as it was. */
  async connect(): Promise<void> {
    try {
      await this.room.connect(this.grant.url, this.grant.token);
    } catch (err) {
      this.ended = true;
      this.teardown();
      console.error('room.connect failed', err);
      throw connectFailure(err);
    }
    this.joined = true;
    this.showView();
    this.levelTimer = window.setInterval(() => void this.pollLevels(), levelPollMs);
    if (this.role === 'teacher') void this.startMedia();
  }

  /** leave disconnects on the user's request. */
  async leave(): Promise<void> {
    this.leaving = true;
    await this.room.disconnect();
    this.finish(null);
  }

  private showView(): void {
    this.els.roomName.textContent = this.room.name || this.grant.room;
    this.els.meta.hidden = false;
    this.els.view.hidden = false;
    this.els.chatInput.value = '';
    this.renderAll();
  }

  private async startMedia(): Promise<void> {
    this.publishing = true;
    this.renderControls();
    try {
      await this.room.localParticipant.enableCameraAndMicrophone();
      hideBanner('media');
    } catch (err) {
      console.error('enableCameraAndMicrophone failed', err);
      this.showMediaError(err);
    } finally {
      this.publishing = false;
      this.renderAll();
    }
  }

  private showMediaError(err: unknown): void {
    showBanner('media', { kind: 'error', code: 'media', message: mediaFailure(err), testId: 'banner-error' });
  }

  private bindDom(): void {
    const signal = this.abort.signal;
    this.els.chatForm.addEventListener(
      'submit',
      (ev) => {
        ev.preventDefault();
        void this.sendChat();
      },
      { signal },
    );
    this.els.mic.addEventListener('click', () => void this.toggle('mic'), { signal });
    this.els.camera.addEventListener('click', () => void this.toggle('camera'), { signal });
    this.els.leave.addEventListener('click', () => void this.leave(), { signal });
    const off = onLangChange(() => {
      if (!this.ended) this.renderAll();
    });
    signal.addEventListener('abort', off);
  }

  private async toggle(kind: 'mic' | 'camera'): Promise<void> {
    const lp = this.room.localParticipant;
    const btn = kind === 'mic' ? this.els.mic : this.els.camera;
    btn.disabled = true;
    try {
      if (kind === 'mic') await lp.setMicrophoneEnabled(!lp.isMicrophoneEnabled);
      else await lp.setCameraEnabled(!lp.isCameraEnabled);
      hideBanner('media');
    } catch (err) {
      console.error(`toggle ${kind} failed`, err);
      this.showMediaError(err);
    } finally {
      btn.disabled = false;
      this.renderAll();
    }
  }

  private async sendChat(): Promise<void> {
    const text = this.els.chatInput.value.trim();
    if (!text || this.room.state !== ConnectionState.Connected) return;
    this.els.chatSend.disabled = true;
    try {
      const lp = this.room.localParticipant as LocalParticipant & { sendChatMessage?: LocalParticipant['sendChatMessage'] };
      if (typeof lp.sendChatMessage === 'function') {
        // The SDK echoes our own message back as RoomEvent.ChatMessage.
        await lp.sendChatMessage(text);
      } else {
        // Older SDKs without the chat API: a reliable data packet on the "chat" topic.
        const msg = { id: crypto.randomUUID(), timestamp: Date.now(), message: text };
        await lp.publishData(new TextEncoder().encode(JSON.stringify(msg)), { reliable: true, topic: chatTopic });
        this.addChat(msg, lp);
      }
      this.els.chatInput.value = '';
      hideBanner('chat');
    } catch (err) {
      console.error('sending chat failed', err);
      showBanner('chat', {
        kind: 'error',
        code: 'chat',
        testId: 'banner-error',
        message: { key: 'chat.sendFailed', params: { message: err instanceof Error ? err.message : String(err) } },
      });
    } finally {
      this.els.chatSend.disabled = false;
      this.els.chatInput.focus();
    }
  }

  private addChat(msg: Pick<ChatMessage, 'id' | 'timestamp' | 'message'>, from: Participant | undefined): void {
    if (this.chat.some((c) => c.id === msg.id)) return;
    this.chat.push({
      id: msg.id,
      timestamp: Number(msg.timestamp) || Date.now(),
      text: msg.message,
      sender: displayName(from),
      identity: from?.identity ?? '',
      local: from === this.room.localParticipant,
    });
    this.renderChat();
  }

  private bindRoomEvents(): void {
    const room = this.room;
    const all = () => this.renderAll();
    room
      .on(RoomEvent.ConnectionStateChanged, () => this.renderState())
      .on(RoomEvent.Reconnecting, () => this.setReconnecting(true))
      .on(RoomEvent.SignalReconnecting, () => this.setReconnecting(true))
      .on(RoomEvent.Reconnected, () => this.setReconnecting(false))
      .on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
        // A failed first connect is reported by connect() itself.
        if (!this.joined) return;
        this.setReconnecting(false);
        if (this.leaving || reason === DisconnectReason.CLIENT_INITIATED) this.finish(null);
        else this.finish(disconnectFailure(reason));
      })
      .on(RoomEvent.ParticipantConnected, all)
      .on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) => {
        this.dropAudio(p.identity);
        all();
      })
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
        if (track.kind === Track.Kind.Audio) this.attachAudio(track, pub, p);
        all();
      })
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
        if (track.kind === Track.Kind.Audio) {
          const key = `${p.identity}:${pub.trackSid}`;
          const el = this.audioElements.get(key);
          if (el) {
            track.detach(el);
            el.remove();
          }
          this.audioElements.delete(key);
        }
        all();
      })
      .on(RoomEvent.TrackPublished, all)
      .on(RoomEvent.TrackUnpublished, all)
      .on(RoomEvent.TrackMuted, all)
      .on(RoomEvent.TrackUnmuted, all)
      .on(RoomEvent.LocalTrackPublished, all)
      .on(RoomEvent.LocalTrackUnpublished, all)
      .on(RoomEvent.ParticipantNameChanged, all)
      .on(RoomEvent.ParticipantMetadataChanged, all)
      .on(RoomEvent.ParticipantAttributesChanged, all)
      .on(RoomEvent.ParticipantPermissionsChanged, all)
      .on(RoomEvent.ActiveSpeakersChanged, () => this.renderSpeaking())
      .on(RoomEvent.AudioPlaybackStatusChanged, () => this.renderAudioPrompt())
      .on(RoomEvent.MediaDevicesError, (err: Error) => this.showMediaError(err))
      .on(RoomEvent.ChatMessage, (msg: ChatMessage, p?: Participant) => this.addChat(msg, p))
      .on(RoomEvent.DataReceived, (payload: Uint8Array, p?: RemoteParticipant, _kind?: unknown, topic?: string) => {
        if (topic !== chatTopic) return;
        try {
          const msg = JSON.parse(new TextDecoder().decode(payload)) as { id?: unknown; timestamp?: unknown; message?: unknown };
          if (typeof msg.message !== 'string') return;
          this.addChat(
            {
              id: typeof msg.id === 'string' ? msg.id : crypto.randomUUID(),
              timestamp: typeof msg.timestamp === 'number' ? msg.timestamp : Date.now(),
              message: msg.message,
            },
            p,
          );
        } catch {
          // not a chat packet
        }
      });
  }

  private attachAudio(track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant): void {
    const key = `${p.identity}:${pub.trackSid}`;
    const el = track.attach();
    el.dataset.identity = p.identity;
    this.audioElements.get(key)?.remove();
    this.audioElements.set(key, el);
    this.els.audioSink.append(el);
    this.renderAudioPrompt();
  }

  private dropAudio(identity: string): void {
    for (const [key, el] of this.audioElements) {
      if (key.startsWith(`${identity}:`)) {
        el.remove();
        this.audioElements.delete(key);
      }
    }
  }

  private setReconnecting(on: boolean): void {
    if (on) {
      showBanner('reconnecting', { kind: 'warning', code: 'reconnecting', message: { key: 'room.reconnecting' }, testId: 'banner-reconnecting' });
    } else {
      hideBanner('reconnecting');
    }
    this.renderState();
  }

  private finish(failure: Failure | null): void {
    if (this.ended) return;
    this.ended = true;
    this.teardown();
    this.hooks.onEnded(failure);
  }

  private teardown(): void {
    this.abort.abort();
    window.clearInterval(this.levelTimer);
    for (const tile of this.tiles.values()) this.detachVideo(tile.video);
    this.tiles.clear();
    for (const el of this.audioElements.values()) el.remove();
    this.audioElements.clear();
    this.els.tiles.replaceChildren();
    this.els.participants.replaceChildren();
    this.els.chatList.replaceChildren();
    this.els.view.hidden = true;
    this.els.meta.hidden = true;
    hideBanner('reconnecting');
    hideBanner('audio');
    hideBanner('chat');
    this.room.removeAllListeners();
  }

  // ---- rendering ----

  private participants(): Participant[] {
    const remotes = [...this.room.remoteParticipants.values()];
    const teachers = remotes.filter((p) => roleOf(p) === 'teacher');
    const students = remotes.filter((p) => roleOf(p) !== 'teacher');
    const byName = (a: Participant, b: Participant) => displayName(a).localeCompare(displayName(b));
    return [this.room.localParticipant, ...teachers.sort(byName), ...students.sort(byName)];
  }

  private roleFor(p: Participant): Role {
    if (p === this.room.localParticipant) return this.role === 'teacher' ? 'teacher' : 'student';
    return roleOf(p);
  }

  private renderAll(): void {
    if (this.ended) return;
    this.renderState();
    this.renderTiles();
    this.renderParticipants();
    this.renderControls();
    this.renderChat();
    this.renderAudioPrompt();
    this.els.notice.hidden = this.role === 'teacher';
    this.els.notice.textContent = t(this.role === 'observer' ? 'room.observerNotice' : 'room.studentNotice');
  }

  private renderState(): void {
    const state = this.room.state;
    const keys: Record<ConnectionState, Key> = {
      [ConnectionState.Connecting]: 'state.connecting',
      [ConnectionState.Connected]: 'state.connected',
      [ConnectionState.Reconnecting]: 'state.reconnecting',
      [ConnectionState.SignalReconnecting]: 'state.signalReconnecting',
      [ConnectionState.Disconnected]: 'state.disconnected',
    };
    this.els.state.dataset.state = state;
    this.els.state.textContent = t(keys[state] ?? 'state.disconnected');
    const connected = state === ConnectionState.Connected;
    this.els.chatInput.disabled = !connected;
    this.els.chatSend.disabled = !connected;
  }

  private desiredTiles(): { key: string; p: Participant; pub?: TrackPublication }[] {
    const out: { key: string; p: Participant; pub?: TrackPublication }[] = [];
    for (const p of this.participants()) {
      const videos = p
        .getTrackPublications()
        .filter((pub) => pub.kind === Track.Kind.Video && (pub.source === Track.Source.Camera || pub.source === Track.Source.ScreenShare));
      videos.sort((a, b) => (a.source === Track.Source.ScreenShare ? -1 : 0) - (b.source === Track.Source.ScreenShare ? -1 : 0));
      for (const pub of videos) out.push({ key: `${p.identity}|${pub.source}`, p, pub });
      if (videos.length === 0 && this.roleFor(p) === 'teacher') out.push({ key: `${p.identity}|none`, p });
    }
    return out;
  }

  private renderTiles(): void {
    const wanted = this.desiredTiles();
    const keep = new Set(wanted.map((w) => w.key));
    for (const [key, tile] of this.tiles) {
      if (!keep.has(key)) {
        this.detachVideo(tile.video);
        tile.root.remove();
        this.tiles.delete(key);
      }
    }
    wanted.forEach(({ key, p, pub }, i) => {
      let tile = this.tiles.get(key);
      if (!tile) {
        tile = this.createTile();
        this.tiles.set(key, tile);
      }
      const isLocal = p === this.room.localParticipant;
      const role = this.roleFor(p);
      const track = pub && !pub.isMuted ? pub.track : undefined;
      const screen = pub?.source === Track.Source.ScreenShare;
      tile.root.dataset.identity = p.identity;
      tile.root.dataset.source = pub?.source ?? 'none';
      tile.root.classList.toggle('local', isLocal);
      tile.root.classList.toggle('mirrored', isLocal && !screen);
      tile.root.classList.toggle('has-video', !!track);
      tile.name.textContent = isLocal ? `${displayName(p)} (${t('role.you')})` : displayName(p);
      tile.badge.textContent = screen ? t('room.screen') : t(role === 'teacher' ? 'role.teacher' : 'role.student');
      tile.badge.className = `badge ${screen ? 'badge-screen' : `badge-${role}`}`;
      tile.placeholder.textContent = displayName(p).slice(0, 1).toUpperCase();
      tile.placeholder.title = t('room.cameraOff');
      const micMuted = !p.isMicrophoneEnabled;
      tile.mic.hidden = !micMuted || screen;
      tile.mic.title = t('room.muted');
      if (track && track.kind === Track.Kind.Video) this.attachVideo(tile.video, track);
      else this.detachVideo(tile.video);
      // keep DOM order equal to the wanted order
      const at = this.els.tiles.children[i];
      if (at !== tile.root) this.els.tiles.insertBefore(tile.root, at ?? null);
    });
    this.els.tiles.dataset.count = String(wanted.length);
    this.els.empty.hidden = wanted.length > 0;
    this.renderSpeaking();
  }

  private createTile(): TileRefs {
    const video = h('video', { autoplay: true, playsinline: true, muted: true, 'data-testid': 'tile-video' });
    video.muted = true;
    const placeholder = h('div', { class: 'tile-placeholder' });
    const name = h('span', { class: 'tile-name', 'data-testid': 'tile-name' });
    const badge = h('span', { class: 'badge' });
    const mic = h('span', { class: 'tile-mic-off', text: '🔇' });
    const root = h('div', { class: 'tile', 'data-testid': 'tile' }, video, placeholder, h('div', { class: 'tile-label' }, badge, name, mic));
    return { root, video, placeholder, name, badge, mic };
  }

  private attachVideo(el: HTMLVideoElement, track: Track): void {
    const current = this.attached.get(el);
    if (current === track) return;
    if (current) current.detach(el);
    track.attach(el);
    el.muted = true;
    this.attached.set(el, track);
  }

  private detachVideo(el: HTMLVideoElement): void {
    const current = this.attached.get(el);
    if (current) {
      current.detach(el);
      this.attached.delete(el);
    }
  }

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
    this.renderSpeaking();
  }

  private speakingIdentities(): Set<string> {
    const out = new Set(this.room.activeSpeakers.map((p) => p.identity));
    const now = performance.now();
    for (const [identity, at] of this.loudAt) {
      if (now - at < speakingHoldMs) out.add(identity);
      else this.loudAt.delete(identity);
    }
    return out;
  }

  private renderSpeaking(): void {
    if (this.ended) return;
    const speaking = this.speakingIdentities();
    for (const tile of this.tiles.values()) {
      tile.root.classList.toggle('speaking', speaking.has(tile.root.dataset.identity ?? ''));
    }
    this.els.participants.querySelectorAll<HTMLElement>('li[data-identity]').forEach((li) => {
      const on = speaking.has(li.dataset.identity ?? '');
      li.classList.toggle('speaking', on);
      const dot = li.querySelector<HTMLElement>('.speaking-dot');
      if (dot) dot.title = on ? t('room.speaking') : '';
    });
  }

  private renderParticipants(): void {
    const list = this.participants();
    this.els.participantsHeading.textContent = t('room.participants', { count: list.length });
    this.els.participants.replaceChildren(
      ...list.map((p) => {
        const isLocal = p === this.room.localParticipant;
        const role = this.roleFor(p);
        const publishesAudio = p.getTrackPublications().some((pub) => pub.kind === Track.Kind.Audio);
        return h(
          'li',
          { 'data-identity': p.identity, 'data-role': role, 'data-testid': 'participant', class: isLocal ? 'local' : '' },
          h('span', { class: 'speaking-dot', 'aria-hidden': 'true' }),
          h('span', { class: 'participant-name', text: isLocal ? `${displayName(p)} (${t('role.you')})` : displayName(p) }),
          h('span', { class: `badge badge-${role}`, text: t(role === 'teacher' ? 'role.teacher' : 'role.student') }),
          publishesAudio && !p.isMicrophoneEnabled ? h('span', { class: 'muted-icon', title: t('room.muted'), text: '🔇' }) : null,
        );
      }),
    );
    this.renderSpeaking();
  }

  private renderControls(): void {
    const lp = this.room.localParticipant;
    const canPublish = this.role === 'teacher' || !!lp.permissions?.canPublish;
    this.els.controls.hidden = !canPublish;
    const mic = lp.isMicrophoneEnabled;
    const cam = lp.isCameraEnabled;
    this.els.mic.textContent = t(mic ? 'room.micOn' : 'room.micOff');
    this.els.mic.classList.toggle('off', !mic);
    this.els.mic.setAttribute('aria-pressed', String(mic));
    this.els.camera.textContent = t(cam ? 'room.camOn' : 'room.camOff');
    this.els.camera.classList.toggle('off', !cam);
    this.els.camera.setAttribute('aria-pressed', String(cam));
    this.els.mic.disabled = this.publishing;
    this.els.camera.disabled = this.publishing;
    if (this.publishing) {
      showBanner('publishing', { kind: 'info', code: 'publishing', message: { key: 'room.publishingMedia' }, testId: 'banner-info' });
    } else {
      hideBanner('publishing');
    }
  }

  private renderChat(): void {
    const list = this.els.chatList;
    if (this.chat.length === 0) {
      list.replaceChildren(h('li', { class: 'chat-empty', text: t('chat.empty') }));
      return;
    }
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(
      ...this.chat.map((c) =>
        h(
          'li',
          { class: c.local ? 'chat-message mine' : 'chat-message', 'data-testid': 'chat-message', 'data-identity': c.identity },
          h(
            'div',
            { class: 'chat-meta' },
            h('span', { class: 'chat-sender', 'data-testid': 'chat-sender', text: c.sender }),
            h('time', { class: 'chat-time', datetime: new Date(c.timestamp).toISOString(), text: formatTime(c.timestamp) }),
          ),
          h('p', { class: 'chat-text', 'data-testid': 'chat-text', text: c.text }),
        ),
      ),
    );
    if (atBottom || this.chat[this.chat.length - 1]?.local) list.scrollTop = list.scrollHeight;
  }

  private renderAudioPrompt(): void {
    if (this.room.canPlaybackAudio) {
      hideBanner('audio');
      return;
    }
    showBanner('audio', {
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
}
