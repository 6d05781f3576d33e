// The controls of a live class (docs/api.md "Classroom controls"): hands,
// stage, mute, remove, settings, the chat history and polls.

import { request } from './http';

export type ClassroomRole = 'teacher' | 'assistant' | 'student' | 'observer' | '';

export interface ClassroomSettings {
  locked: boolean;
  student_chat: boolean;
  spotlight?: string;
}

export interface Hand {
  identity: string;
  name: string;
  raised_at: string;
  on_stage: boolean;
}

export interface ClassroomState {
  role: ClassroomRole;
  settings: ClassroomSettings;
  hands?: Hand[];
  hand_raised: boolean;
}

export interface StoredChat {
  id: number;
  room: string;
  msg_id: string;
  identity: string;
  user_id?: number;
  name: string;
  message: string;
  sent_at: string;
  deleted?: boolean;
}

export interface Poll {
  id: number;
  room: string;
  question: string;
  options: string[];
  multiple: boolean;
  correct?: number[];
  time_limit_s: number;
  status: 'draft' | 'running' | 'ended';
  shown: boolean;
  created_at: string;
  started_at?: string;
  ends_at?: string;
  ended_at?: string;
}

export interface PollResults {
  poll: Poll;
  answers: number;
  counts: number[];
  correct_answers: number;
}

export interface NewPoll {
  question: string;
  options: string[];
  multiple: boolean;
  correct?: number[];
  time_limit_s: number;
  start: boolean;
}

const base = (room: string) => `/api/v1/classroom/rooms/${encodeURIComponent(room)}`;
const who = (room: string, identity: string) => `${base(room)}/participants/${encodeURIComponent(identity)}`;

export const getState = (room: string) => request<ClassroomState>('GET', base(room));
export const setHand = (room: string, raised: boolean) => request<{ hand_raised: boolean }>('PUT', `${base(room)}/hand`, { raised });
export const lowerHand = (room: string, identity: string) => request<unknown>('PUT', `${who(room, identity)}/hand`, { raised: false });
export const setStage = (room: string, identity: string, onStage: boolean) => request<unknown>('PUT', `${who(room, identity)}/stage`, { on_stage: onStage });
export const muteTrack = (room: string, identity: string, trackSid: string) => request<unknown>('POST', `${who(room, identity)}/mute`, { track_sid: trackSid });
export const removeParticipant = (room: string, identity: string) => request<void>('POST', `${who(room, identity)}/remove`);
export const updateSettings = (room: string, change: Partial<ClassroomSettings>) => request<ClassroomSettings>('PATCH', `${base(room)}/settings`, change);

export async function chatHistory(room: string, after = 0): Promise<StoredChat[]> {
  const q = after ? `?limit=500&after=${after}` : '?limit=500';
  return (await request<{ items: StoredChat[] }>('GET', `${base(room)}/chat${q}`)).items ?? [];
}
export const deleteChat = (room: string, id: number) => request<StoredChat>('DELETE', `${base(room)}/chat/${id}`);

export async function listPolls(room: string): Promise<Poll[]> {
  return (await request<{ items: Poll[] }>('GET', `${base(room)}/polls`)).items ?? [];
}
export const createPoll = (room: string, p: NewPoll) => request<Poll>('POST', `${base(room)}/polls`, p);
export const startPoll = (id: number) => request<Poll>('POST', `/api/v1/classroom/polls/${id}/start`);
export const endPoll = (id: number) => request<Poll>('POST', `/api/v1/classroom/polls/${id}/end`);
export const showPoll = (id: number) => request<PollResults>('POST', `/api/v1/classroom/polls/${id}/show`);
export const answerPoll = (id: number, choices: number[]) => request<unknown>('POST', `/api/v1/classroom/polls/${id}/answer`, { choices });
export const pollResults = (id: number) => request<PollResults>('GET', `/api/v1/classroom/polls/${id}/results`);
