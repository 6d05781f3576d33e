// The room of a one-to-one tutoring session: both sides publish camera and
// microphone, may share the screen, chat over data packets and see each
// other. One session room is open at a time.

import {
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
  type TrackPublication,
} from 'livekit-client';

import { api, type SessionJoin, type TutoringSession } from './api';
import { hideBanner, showBanner } from './banners';
import { chatTopic, connectFailure, disconnectFailure, formatTime, mediaFailure, type Failure } from './classroom';
import { confirmDialog, toast } from './dialog';
import { h } from './dom';
import { onLangChange, t, type Key } from './i18n';
import { button, errorMessage, setText, tx } from './ui';

export type SessionStatus = 'ready' | 'live' | 'ended';

export interface TutoringRoomHooks {
  /** The session ended (session set) or the room was lost (failure set); the view is gone. */
  onEnded(session: TutoringSession | null, failure: Failure | null): void;
}

interface ChatEntry {
  id: string;
  timestamp: number;
  text: string;
  sender: string;
  local: boolean;
}

let active: TutoringRoom | null = null;

/** activeRoom is the session room open in this tab, if any. */
export function activeRoom(): TutoringRoom | null {
  return active;
}

/** leaveActiveRoom leaves (without ending) the open session room. */
export async function leaveActiveRoom(): Promise<void> {
  const r = active;
  if (r) await r.leave();
}

export class TutoringRoom {
  readonly room = new Room();
  readonly root: HTMLElement;
  private session: TutoringSession;
  private readonly peerIdentity: string;
  private readonly peerName: string;
  private readonly isStudent: boolean;
  private finished = false;
  private leaving = false;
  private joined = false;
  private readonly chat: ChatEntry[] = [];
  private readonly attached = new WeakMap<HTMLVideoElement, Track>();
  private readonly audio = new Map<string, HTMLMediaElement>();
  private readonly abort = new AbortController();
  private clock: number | undefined;

  private readonly els = {
    status: h('span', { class: 'pill', 'data-testid': 'tutor-status', role: 'status' }),
    elapsed: h('span', { class: 'muted tutor-elapsed', 'data-testid': 'tutor-elapsed' }),
    main: h('div', { class: 'tutor-main' }),
    peerCam: h('video', { autoplay: true, playsinline: true, muted: true, 'data-testid': 'peer-video' }),
    peerScreen: h('video', { autoplay: true, playsinline: true, muted: true, 'data-testid': 'peer-screen' }),
    selfCam: h('video', { autoplay: true, playsinline: true, muted: true, 'data-testid': 'self-video' }),
    selfScreen: h('video', { autoplay: true, playsinline: true, muted: true, 'data-testid': 'self-screen' }),
    peerTile: h('div', { class: 'tutor-tile peer', 'data-testid': 'peer-tile' }),
    peerScreenTile: h('div', { class: 'tutor-tile screen', 'data-testid': 'peer-screen-tile', hidden: true }),
    selfTile: h('div', { class: 'tutor-tile self', 'data-testid': 'self-tile' }),
    selfScreenTile: h('div', { class: 'tutor-tile self screen', hidden: true }),
    waiting: h('div', { class: 'tutor-waiting', 'data-testid': 'peer-waiting', role: 'status' }),
    peerLabel: h('span', { class: 'tile-name' }),
    peerMic: h('span', { class: 'tile-mic-off', text: '🔇', hidden: true }),
    mic: button('room.micOn', { 'data-testid': 'tutor-mic' }),
    camera: button('room.camOn', { 'data-testid': 'tutor-camera' }),
    screen: button('tutor.shareScreen', { 'data-testid': 'tutor-screen' }),
    end: button('tutor.end', { class: 'btn danger', 'data-testid': 'tutor-end' }),
    chatList: h('ol', { class: 'chat-messages', 'data-testid': 'chat-messages', 'aria-live': 'polite' }),
    chatInput: h('input', { type: 'text', maxlength: 2000, autocomplete: 'off', 'data-testid': 'chat-input' }),
    chatSend: h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'chat-send' }),
    audioSink: h('div', { hidden: true }),
  };

  constructor(
    private readonly grant: SessionJoin,
    selfId: number,
    subjectName: string,
    private readonly hooks: TutoringRoomHooks,
  ) {
    this.session = grant.session;
    this.isStudent = selfId === this.session.student_id;
    this.peerIdentity = `u${this.isStudent ? this.session.teacher_id : this.session.student_id}`;
    this.peerName = this.isStudent ? this.session.teacher_name : this.session.student_name;
    this.root = this.build(subjectName);
    this.bindRoom();
  }

  get id(): number {
    return this.session.id;
  }

  private build(subjectName: string): HTMLElement {
    const e = this.els;
    e.peerLabel.textContent = this.peerName;
    e.peerTile.append(e.peerCam, h('div', { class: 'tile-placeholder', text: this.peerName.slice(0, 1) }), e.waiting, h('div', { class: 'tile-label' }, e.peerLabel, e.peerMic));
    e.peerScreenTile.append(e.peerScreen, h('div', { class: 'tile-label' }, h('span', { class: 'badge badge-screen', text: '' }), h('span', { class: 'tile-name', text: this.peerName })));
    e.selfTile.append(e.selfCam, h('div', { class: 'tile-placeholder', text: t('role.you') }), h('div', { class: 'tile-label' }, tx('span', 'tutor.you', undefined, { class: 'tile-name' })));
    e.selfScreenTile.append(e.selfScreen, h('div', { class: 'tile-label' }, tx('span', 'tutor.yourScreen', undefined, { class: 'tile-name' })));
    e.main.append(e.peerScreenTile, e.peerTile);
    const side = h('div', { class: 'tutor-side' }, e.selfTile, e.selfScreenTile);
    e.mic.setAttribute('aria-pressed', 'true');
    e.camera.setAttribute('aria-pressed', 'true');
    e.screen.setAttribute('aria-pressed', 'false');
    const controls = h('div', { class: 'controls' }, h('div', { class: 'media-controls' }, e.mic, e.camera, e.screen), e.end);
    setText(e.chatSend, 'chat.send');
    e.chatInput.placeholder = t('chat.placeholder');
    e.chatInput.dataset.i18nPlaceholder = 'chat.placeholder';
    e.chatInput.setAttribute('aria-label', t('chat.heading'));
    const chatForm = h('form', { class: 'chat-form' }, e.chatInput, e.chatSend);
    const chat = h('section', { class: 'panel chat-panel tutor-chat' }, tx('h2', 'chat.heading'), e.chatList, chatForm);
    const head = h(
      'div',
      { class: 'page-head' },
      h('h1', {}, tx('span', 'tutor.sessionTitle', { subject: subjectName, grade: t('grade.n', { n: this.session.grade }) })),
      h('div', { class: 'tutor-head-meta' }, tx('span', 'tutor.with', { name: this.peerName }, { class: 'muted' }), e.elapsed, e.status),
    );
    const root = h(
      'section',
      { class: 'tutor-view', 'data-testid': 'tutor-session', 'data-session-id': this.session.id, 'aria-label': t('tutor.sessionAria') },
      head,
      h('div', { class: 'tutor-grid' }, h('div', { class: 'tutor-stage' }, h('div', { class: 'tutor-videos' }, e.main, side), controls), chat),
      e.audioSink,
    );
    const signal = this.abort.signal;
    chatForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.sendChat();
    }, { signal });
    e.mic.addEventListener('click', () => void this.toggle('mic'), { signal });
    e.camera.addEventListener('click', () => void this.toggle('camera'), { signal });
    e.screen.addEventListener('click', () => void this.toggle('screen'), { signal });
    e.end.addEventListener('click', () => void this.askEnd(), { signal });
    const off = onLangChange(() => this.render());
    signal.addEventListener('abort', off);
    return root;
  }

  /** connect joins the room at the URL the server gave (it may be another node). */
  async connect(): Promise<void> {
    active = this;
    window.yunke.room = this.room;
    try {
      await this.room.connect(this.grant.url, this.grant.token);
    } catch (err) {
      console.error('session room connect failed', err);
      this.teardown();
      throw connectFailure(err);
    }
    this.joined = true;
    this.clock = window.setInterval(() => this.renderElapsed(), 1000);
    this.render();
    void this.startMedia();
  }

  private async startMedia(): Promise<void> {
    try {
      await this.room.localParticipant.enableCameraAndMicrophone();
      hideBanner('media');
    } catch (err) {
      console.error('enableCameraAndMicrophone failed', err);
      showBanner('media', { kind: 'error', code: 'media', message: mediaFailure(err), testId: 'banner-error' });
    } finally {
      this.render();
    }
  }

  /** update takes a `session` event for this session. */
  update(session: TutoringSession, status: SessionStatus): void {
    if (this.finished) return;
    this.session = session;
    if (status === 'ended') {
      void this.finish(session);
      return;
    }
    this.render();
  }

  /** leave disconnects without ending the session (the other side may wait for a return). */
  async leave(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.leaving = true;
    await this.room.disconnect().catch(() => {});
    this.teardown();
  }

  private async askEnd(): Promise<void> {
    if (this.finished) return;
    const ok = await confirmDialog('tutor.endTitle', 'tutor.endConfirm', 'tutor.end', { danger: true, testId: 'end-dialog' });
    if (!ok || this.finished) return;
    this.els.end.disabled = true;
    try {
      const ended = await api.post<TutoringSession>(`/api/v1/tutoring/sessions/${this.session.id}/end`);
      await this.finish(ended);
    } catch (err) {
      console.error('ending the session failed', err);
      toast(errorMessage(err), 'error');
      this.els.end.disabled = false;
    }
  }

  private async finish(session: TutoringSession): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.leaving = true;
    await this.room.disconnect().catch(() => {});
    this.teardown();
    this.hooks.onEnded(session, null);
  }

  /** lost: the room went away without us asking; the server says whether the session ended. */
  private async lost(reason: DisconnectReason | undefined): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.teardown();
    try {
      const s = await api.get<TutoringSession>(`/api/v1/tutoring/sessions/${this.session.id}`);
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
    if (active === this) active = null;
    if (window.yunke.room === this.room) window.yunke.room = null;
    this.abort.abort();
    window.clearInterval(this.clock);
    for (const v of [this.els.peerCam, this.els.peerScreen, this.els.selfCam, this.els.selfScreen]) this.detach(v);
    for (const el of this.audio.values()) el.remove();
    this.audio.clear();
    this.room.removeAllListeners();
    hideBanner('reconnecting');
    hideBanner('media');
    hideBanner('audio');
    this.root.remove();
  }

  private bindRoom(): void {
    const render = () => this.render();
    this.room
      .on(RoomEvent.ConnectionStateChanged, render)
      .on(RoomEvent.Reconnecting, () => this.setReconnecting(true))
      .on(RoomEvent.SignalReconnecting, () => this.setReconnecting(true))
      .on(RoomEvent.Reconnected, () => this.setReconnecting(false))
      .on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
        if (!this.joined || this.leaving) return;
        void this.lost(reason);
      })
      .on(RoomEvent.ParticipantConnected, render)
      .on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) => {
        this.dropAudio(p.identity);
        render();
      })
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
        if (track.kind === Track.Kind.Audio) {
          const key = `${p.identity}:${pub.trackSid}`;
          const el = track.attach();
          this.audio.get(key)?.remove();
          this.audio.set(key, el);
          this.els.audioSink.append(el);
        }
        render();
      })
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
        if (track.kind === Track.Kind.Audio) {
          const key = `${p.identity}:${pub.trackSid}`;
          const el = this.audio.get(key);
          if (el) {
            track.detach(el);
            el.remove();
          }
          this.audio.delete(key);
        }
        render();
      })
      .on(RoomEvent.TrackPublished, render)
      .on(RoomEvent.TrackUnpublished, render)
      .on(RoomEvent.TrackMuted, render)
      .on(RoomEvent.TrackUnmuted, render)
      .on(RoomEvent.LocalTrackPublished, render)
      // Also when the browser's own "stop sharing" button ends a screen share.
      .on(RoomEvent.LocalTrackUnpublished, render)
      .on(RoomEvent.AudioPlaybackStatusChanged, () => this.renderAudioPrompt())
      .on(RoomEvent.MediaDevicesError, (err: Error) => showBanner('media', { kind: 'error', code: 'media', message: mediaFailure(err), testId: 'banner-error' }))
      .on(RoomEvent.ChatMessage, (msg: ChatMessage, p?: Participant) => this.addChat(msg, p))
      .on(RoomEvent.DataReceived, (payload: Uint8Array, p?: RemoteParticipant, _kind?: unknown, topic?: string) => {
        if (topic !== chatTopic) return;
        try {
          const msg = JSON.parse(new TextDecoder().decode(payload)) as { id?: unknown; timestamp?: unknown; message?: unknown };
          if (typeof msg.message !== 'string') return;
          this.addChat({ id: typeof msg.id === 'string' ? msg.id : crypto.randomUUID(), timestamp: typeof msg.timestamp === 'number' ? msg.timestamp : Date.now(), message: msg.message }, p);
        } catch {
          // not a chat packet
        }
      });
  }

  private setReconnecting(on: boolean): void {
    if (on) showBanner('reconnecting', { kind: 'warning', code: 'reconnecting', message: { key: 'room.reconnecting' }, testId: 'banner-reconnecting' });
    else hideBanner('reconnecting');
    this.render();
  }

  private async toggle(kind: 'mic' | 'camera' | 'screen'): Promise<void> {
    const lp = this.room.localParticipant;
    const btn = kind === 'mic' ? this.els.mic : kind === 'camera' ? this.els.camera : this.els.screen;
    btn.disabled = true;
    try {
      if (kind === 'mic') await lp.setMicrophoneEnabled(!lp.isMicrophoneEnabled);
      else if (kind === 'camera') await lp.setCameraEnabled(!lp.isCameraEnabled);
      else await lp.setScreenShareEnabled(!lp.isScreenShareEnabled, { audio: false });
      hideBanner('media');
    } catch (err) {
      console.error(`toggle ${kind} failed`, err);
      // Dismissing the browser's screen picker is not an error worth a banner.
      if (!(kind === 'screen' && err instanceof Error && err.name === 'NotAllowedError')) {
        showBanner('media', { kind: 'error', code: 'media', message: mediaFailure(err), testId: 'banner-error' });
      }
    } finally {
      btn.disabled = false;
      this.render();
    }
  }

  private async sendChat(): Promise<void> {
    const text = this.els.chatInput.value.trim();
    if (!text || this.room.state !== ConnectionState.Connected) return;
    this.els.chatSend.disabled = true;
    try {
      const msg = { id: crypto.randomUUID(), timestamp: Date.now(), message: text };
      await this.room.localParticipant.publishData(new TextEncoder().encode(JSON.stringify(msg)), { reliable: true, topic: chatTopic });
      this.addChat(msg, this.room.localParticipant);
      this.els.chatInput.value = '';
    } catch (err) {
      console.error('sending chat failed', err);
      toast({ key: 'chat.sendFailed', params: { message: err instanceof Error ? err.message : String(err) } }, 'error');
    } finally {
      this.els.chatSend.disabled = false;
      this.els.chatInput.focus();
    }
  }

  private addChat(msg: Pick<ChatMessage, 'id' | 'timestamp' | 'message'>, from: Participant | undefined): void {
    if (this.chat.some((c) => c.id === msg.id)) return;
    const local = from === this.room.localParticipant;
    this.chat.push({ id: msg.id, timestamp: Number(msg.timestamp) || Date.now(), text: msg.message, sender: local ? t('role.you') : from?.name || this.peerName, local });
    this.renderChat();
  }

  private dropAudio(identity: string): void {
    for (const [key, el] of this.audio) {
      if (key.startsWith(`${identity}:`)) {
        el.remove();
        this.audio.delete(key);
      }
    }
  }

  private peer(): RemoteParticipant | undefined {
    return this.room.remoteParticipants.get(this.peerIdentity) ?? [...this.room.remoteParticipants.values()][0];
  }

  private attach(el: HTMLVideoElement, pub: TrackPublication | undefined): boolean {
    const track = pub && !pub.isMuted ? pub.track : undefined;
    if (!track || track.kind !== Track.Kind.Video) {
      this.detach(el);
      return false;
    }
    if (this.attached.get(el) !== track) {
      this.detach(el);
      track.attach(el);
      el.muted = true;
      this.attached.set(el, track);
    }
    return true;
  }

  private detach(el: HTMLVideoElement): void {
    const cur = this.attached.get(el);
    if (cur) {
      cur.detach(el);
      this.attached.delete(el);
    }
  }

  private render(): void {
    if (this.finished) return;
    const e = this.els;
    const peer = this.peer();
    const lp = this.room.localParticipant;
    const peerCam = this.attach(e.peerCam, peer?.getTrackPublication(Track.Source.Camera));
    const peerScreen = this.attach(e.peerScreen, peer?.getTrackPublication(Track.Source.ScreenShare));
    const selfCam = this.attach(e.selfCam, lp.getTrackPublication(Track.Source.Camera));
    const selfScreen = this.attach(e.selfScreen, lp.getTrackPublication(Track.Source.ScreenShare));
    e.peerTile.classList.toggle('has-video', peerCam);
    e.peerTile.classList.toggle('small', peerScreen);
    e.peerScreenTile.hidden = !peerScreen;
    e.peerScreenTile.classList.toggle('has-video', peerScreen);
    e.selfTile.classList.toggle('has-video', selfCam);
    e.selfScreenTile.hidden = !selfScreen;
    e.selfScreenTile.classList.toggle('has-video', selfScreen);
    e.peerTile.dataset.present = String(!!peer);
    e.waiting.hidden = !!peer;
    setText(e.waiting, 'tutor.waitingPeer', { name: this.peerName });
    e.peerMic.hidden = !peer || peer.isMicrophoneEnabled;
    e.peerMic.title = t('room.muted');
    const screenBadge = e.peerScreenTile.querySelector('.badge');
    if (screenBadge) screenBadge.textContent = t('room.screen');

    const conn = this.room.state;
    let status: Key;
    let state: string;
    if (conn === ConnectionState.Reconnecting || conn === ConnectionState.SignalReconnecting) {
      status = 'state.reconnecting';
      state = 'reconnecting';
    } else if (conn !== ConnectionState.Connected) {
      status = 'state.connecting';
      state = 'connecting';
    } else if (!peer) {
      status = 'tutor.statusWaiting';
      state = 'waiting';
    } else {
      status = 'tutor.statusLive';
      state = 'live';
    }
    setText(e.status, status);
    e.status.dataset.state = state;
    e.status.classList.toggle('ok', state === 'live');
    this.root.dataset.status = state;

    const mic = lp.isMicrophoneEnabled;
    const cam = lp.isCameraEnabled;
    const scr = lp.isScreenShareEnabled;
    setText(e.mic, mic ? 'room.micOn' : 'room.micOff');
    e.mic.classList.toggle('off', !mic);
    e.mic.setAttribute('aria-pressed', String(mic));
    setText(e.camera, cam ? 'room.camOn' : 'room.camOff');
    e.camera.classList.toggle('off', !cam);
    e.camera.setAttribute('aria-pressed', String(cam));
    setText(e.screen, scr ? 'tutor.stopShare' : 'tutor.shareScreen');
    e.screen.setAttribute('aria-pressed', String(scr));
    e.screen.hidden = !navigator.mediaDevices || typeof navigator.mediaDevices.getDisplayMedia !== 'function';
    const connected = conn === ConnectionState.Connected;
    e.chatInput.disabled = !connected;
    e.chatSend.disabled = !connected;
    this.renderElapsed();
    this.renderChat();
    this.renderAudioPrompt();
  }

  private renderElapsed(): void {
    const start = this.session.started_at ? Date.parse(this.session.started_at) : NaN;
    if (!Number.isFinite(start)) {
      this.els.elapsed.textContent = '';
      return;
    }
    const s = Math.max(0, Math.floor((Date.now() - start) / 1000));
    this.els.elapsed.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }

  private renderChat(): void {
    const list = this.els.chatList;
    if (this.chat.length === 0) {
      list.replaceChildren(h('li', { class: 'chat-empty', text: t('chat.empty') }));
      return;
    }
    list.replaceChildren(
      ...this.chat.map((c) =>
        h(
          'li',
          { class: c.local ? 'chat-message mine' : 'chat-message', 'data-testid': 'chat-message' },
          h('div', { class: 'chat-meta' }, h('span', { class: 'chat-sender', 'data-testid': 'chat-sender', text: c.sender }), h('time', { class: 'chat-time', datetime: new Date(c.timestamp).toISOString(), text: formatTime(c.timestamp) })),
          h('p', { class: 'chat-text', 'data-testid': 'chat-text', text: c.text }),
        ),
      ),
    );
    list.scrollTop = list.scrollHeight;
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
