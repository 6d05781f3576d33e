// Teaching research (docs/research.md): research groups, their activities
// studying a few recordings, and discussions whose comments pin to moments
// of a recording.

import { api, query, request } from './http';
import type { UserRole } from './users';

export type ResearchRole = 'admin' | 'member';

export interface ResearchMember {
  user_id: number;
  name: string;
  school_id: number;
  roles: UserRole[] | null;
}

export interface ResearchGroup {
  id: number;
  district_id: number;
  school_id: number;
  school_name: string;
  subject_id: number;
  name: string;
  description: string;
  created_at: string;
  role: ResearchRole;
  members: ResearchMember[] | null;
}

export interface ResearchActivity {
  id: number;
  group_id: number;
  topic: string;
  description: string;
  created_by: number;
  created_by_name: string;
  created_at: string;
  recording_ids: number[];
  comments: number;
}

export interface ResearchResult {
  scheme_id: number;
  scheme_name: string;
  reviews: number;
  total_mean: number;
}

export interface ResearchRecording {
  id: number;
  title: string;
  teacher_name: string;
  school_name: string;
  subject_name: string;
  grade: number;
  started_at: string;
  duration_ms: number;
  status: string;
  unavailable: boolean;
  results: ResearchResult[];
}

export interface ResearchGroupDetail extends ResearchGroup {
  activities: ResearchActivity[];
}

export interface ResearchActivityDetail extends ResearchActivity {
  group: ResearchGroup;
  recordings: ResearchRecording[];
}

export interface ResearchComment {
  id: number;
  activity_id: number;
  author_id: number;
  author_name: string;
  text: string;
  recording_id?: number;
  start_ms: number;
  end_ms?: number;
  created_at: string;
  deleted: boolean;
  can_delete: boolean;
}

/** An unpaged list. */
export interface Items<T> {
  items: T[];
}

/** The most recordings an activity studies (the server's limit). */
export const maxActivityRecordings = 6;

const base = '/api/v1/research';

export const listGroups = () => api.get<Items<ResearchGroup>>(`${base}/groups`);
export const getGroup = (id: number) => api.get<ResearchGroupDetail>(`${base}/groups/${id}`);
export const createGroup = (b: { name: string; description?: string; school_id: number; subject_id?: number; member_ids: number[] }) =>
  api.post<ResearchGroup>(`${base}/groups`, b);
/** editGroup changes a group's name, description and subject (its administrators). */
export const editGroup = (id: number, b: { name: string; description: string; subject_id: number }) => api.patch<ResearchGroup>(`${base}/groups/${id}`, b);
/** deleteGroup deletes a group softly (its administrators). */
export const deleteGroup = (id: number) => request<void>('DELETE', `${base}/groups/${id}`);
export const setMembers = (id: number, memberIds: number[]) => api.put<ResearchGroup>(`${base}/groups/${id}/members`, { member_ids: memberIds });
export const createActivity = (group: number, b: { topic: string; description: string; recording_ids: number[] }) =>
  api.post<ResearchActivity>(`${base}/groups/${group}/activities`, b);
export const getActivity = (id: number) => api.get<ResearchActivityDetail>(`${base}/activities/${id}`);
export const addRecording = (id: number, recordingId: number) => api.post<ResearchActivity>(`${base}/activities/${id}/recordings`, { recording_id: recordingId });
export const listComments = (id: number, recordingId?: number) =>
  api.get<Items<ResearchComment>>(`${base}/activities/${id}/comments${query({ recording_id: recordingId || undefined })}`);
export const addComment = (id: number, b: { text: string; recording_id?: number; start_ms?: number; end_ms?: number }) =>
  api.post<ResearchComment>(`${base}/activities/${id}/comments`, b);
export const deleteComment = (id: number) => request<void>('DELETE', `${base}/comments/${id}`);
