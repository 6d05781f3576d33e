// The classroom's controls as a client sees them (docs/api.md "What clients
// see"): the settings in the room metadata, hands and stage in participant
// attributes, permissions granted and revoked live, the server's classroom
// events (polls, deleted chat), the recording state, and the stored chat
// history loaded on joining. Actions go to the classroom routes.

import { RoomEvent, Track, type LocalParticipant, type Participant, type RemoteParticipant, type Room } from 'livekit-client';
import { reactive, ref } from 'vue';

import * as api from '@/api/classroom';
import type { ClassroomSettings, Poll, PollResults } from '@/api/classroom';

import type { ChatLog } from './chat';

/** Topic of the server's classroom events. */
export const classroomTopic = 'yunke.classroom';

interface ClassroomEvent {
  type?: string;
  poll?: Poll;
  results?: PollResults;
  msg_id?: string;
}

/** A raised hand as the queue shows it. */
export interface QueuedHand {
  identity: string;
  name: string;
  raisedAt: number;
  onStage: boolean;
}

/** settingsOf reads the classroom's object from the room metadata. */
export function settingsOf(metadata: string | undefined): ClassroomSettings {
  const out: ClassroomSettings = { locked: false, student_chat: true };
  if (!metadata) return out;
  try {
    const c = (JSON.parse(metadata) as { classroom?: Partial<ClassroomSettings> }).classroom;
    if (c && typeof c === 'object') {
      out.locked = c.locked === true;
      out.student_chat = c.student_chat !== false;
      if (typeof c.spotlight === 'string' && c.spotlight) out.spotlight = c.spotlight;
    }
  } catch {
    // metadata of another kind
  }
  return out;
}

export class ClassControls {
  readonly settings = reactive<ClassroomSettings>({ locked: false, student_chat: true });
  readonly recording = ref(false);
  /** The local student was brought on stage and has not answered the invitation. */
  readonly stageInvite = ref(false);
  /** The room's polls, oldest first (students: started ones). */
  readonly polls = reactive<Poll[]>([]);
  /** Results per poll id: live for the teacher, once shown for students. */
  readonly results = reactive<Record<number, PollResults>>({});
  /** Polls the local student answered here. */
  readonly answered = reactive<Record<number, number[]>>({});

  constructor(
    private readonly room: Room,
    private readonly chat: ChatLog,
    /** The local user runs the controls. */
    readonly moderates: boolean,
    private readonly bump: () => void,
  ) {
    room
      .on(RoomEvent.RoomMetadataChanged, (m: string) => this.readSettings(m))
      .on(RoomEvent.RecordingStatusChanged, (on: boolean) => {
        this.recording.value = on;
      })
      .on(RoomEvent.ParticipantPermissionsChanged, (prev, p: RemoteParticipant | LocalParticipant) => {
        if (p !== this.room.localParticipant || this.moderates) return;
        const now = !!p.permissions?.canPublish;
        if (now && !prev?.canPublish) this.stageInvite.value = true;
        if (!now) this.stageInvite.value = false;
        this.bump();
      })
      .on(RoomEvent.DataReceived, (payload: Uint8Array, from?: RemoteParticipant, _kind?: unknown, topic?: string) => {
        if (topic === classroomTopic && !from) this.onEvent(payload);
      });
  }

  get roomName(): string {
    return this.room.name;
  }

  /**
   * load reads the settings and the recording state from the room and, for
   * a signed-in user (the classroom routes need a session), what joining
   * does not bring: the chat history and the polls.
   */
  async load(signedIn: boolean): Promise<void> {
    this.readSettings(this.room.metadata);
    this.recording.value = this.room.isRecording;
    if (!signedIn) return;
    const [history, polls] = await Promise.all([
      api.chatHistory(this.roomName).catch((err: unknown) => (console.error('chat history', err), [])),
      api.listPolls(this.roomName).catch((err: unknown) => (console.error('polls', err), [])),
    ]);
    for (const m of history) if (!m.deleted) this.chat.addStored(m);
    for (const p of polls) this.putPoll(p);
    await Promise.all(
      polls
        .filter((p) => p.status !== 'draft' && (this.moderates || p.shown))
        .map((p) =>
          api
            .pollResults(p.id)
            .then((r) => {
              this.results[p.id] = r;
            })
            .catch(() => {}),
        ),
    );
  }

  private readSettings(metadata: string | undefined): void {
    Object.assign(this.settings, { spotlight: undefined }, settingsOf(metadata));
    this.bump();
  }

  private putPoll(p: Poll): void {
    const at = this.polls.findIndex((x) => x.id === p.id);
    if (at >= 0) this.polls.splice(at, 1, { ...this.polls[at], ...p, correct: p.correct ?? this.polls[at].correct });
    else this.polls.push(p);
  }

  private onEvent(payload: Uint8Array): void {
    let ev: ClassroomEvent;
    try {
      ev = JSON.parse(new TextDecoder().decode(payload)) as ClassroomEvent;
    } catch {
      return;
    }
    switch (ev.type) {
      case 'poll_started':
      case 'poll_ended':
        if (ev.poll) this.putPoll(ev.poll);
        break;
      case 'poll_results':
        if (ev.results) {
          this.putPoll(ev.results.poll);
          this.results[ev.results.poll.id] = ev.results;
        }
        break;
      case 'chat_deleted':
        if (ev.msg_id) this.chat.remove(ev.msg_id);
        break;
    }
    this.bump();
  }

  // ---- what the view shows ----

  /** hands is the queue of raised hands, first raised first. */
  hands(): QueuedHand[] {
    const out: QueuedHand[] = [];
    for (const p of this.room.remoteParticipants.values()) {
      const at = Number(p.attributes?.hand);
      if (!at) continue;
      out.push({ identity: p.identity, name: p.name || p.identity, raisedAt: at, onStage: onStage(p) });
    }
    return out.sort((a, b) => a.raisedAt - b.raisedAt || a.identity.localeCompare(b.identity));
  }

  /** handRaised: the local participant's own hand. */
  handRaised(): boolean {
    return !!this.room.localParticipant.attributes?.hand;
  }

  /** The poll a student should answer or see now: the newest started one. */
  currentPoll(): Poll | undefined {
    for (let i = this.polls.length - 1; i >= 0; i--) {
      const p = this.polls[i];
      if (p.status === 'running' || (p.status === 'ended' && p.shown)) return p;
      if (p.status === 'ended') return undefined;
    }
    return undefined;
  }

  // ---- actions ----

  async raiseHand(raised: boolean): Promise<void> {
    await api.setHand(this.roomName, raised);
  }

  async stage(identity: string, on: boolean): Promise<void> {
    await api.setStage(this.roomName, identity, on);
  }

  async lowerHand(identity: string): Promise<void> {
    await api.lowerHand(this.roomName, identity);
  }

  /** mute mutes a participant's microphone. */
  async mute(identity: string): Promise<void> {
    const p = this.room.remoteParticipants.get(identity);
    const pub = p?.getTrackPublication(Track.Source.Microphone);
    if (pub?.trackSid) await api.muteTrack(this.roomName, identity, pub.trackSid);
  }

  async remove(identity: string): Promise<void> {
    await api.removeParticipant(this.roomName, identity);
  }

  async update(change: Partial<ClassroomSettings>): Promise<void> {
    const s = await api.updateSettings(this.roomName, change);
    Object.assign(this.settings, { spotlight: undefined }, s);
  }

  /** deleteChat deletes a message, learning its server id from the history when needed. */
  async deleteChat(msgId: string, serverId: number | undefined): Promise<void> {
    let id = serverId;
    if (!id) {
      const history = await api.chatHistory(this.roomName);
      id = history.find((m) => m.msg_id === msgId)?.id;
    }
    if (!id) throw new Error('message not stored');
    await api.deleteChat(this.roomName, id);
    this.chat.remove(msgId);
  }

  async createPoll(p: api.NewPoll): Promise<void> {
    this.putPoll(await api.createPoll(this.roomName, p));
  }

  async startPoll(id: number): Promise<void> {
    this.putPoll(await api.startPoll(id));
  }

  async endPoll(id: number): Promise<void> {
    this.putPoll(await api.endPoll(id));
    this.results[id] = await api.pollResults(id);
  }

  async showPoll(id: number): Promise<void> {
    const r = await api.showPoll(id);
    this.putPoll(r.poll);
    this.results[id] = r;
  }

  async answer(id: number, choices: number[]): Promise<void> {
    await api.answerPoll(id, choices);
    this.answered[id] = choices;
  }
}

/** onStage: a student the teacher brought on stage. */
export function onStage(p: Participant): boolean {
  return !!p.attributes?.stage;
}
