// Scheduled classes (docs/api.md, "Scheduled classes"): the timetable,
// scheduling, joining, ending, the record and the ratings.

import { api, query, upload, type List } from './http';
import type { JoinGrant } from './rooms';

export type ClassStatus = 'scheduled' | 'live' | 'ended' | 'cancelled';
export type ClassAudience = 'classes' | 'grade' | 'school' | 'district';
export type ClassRole = 'teacher' | 'assistant' | 'student' | 'observer';
export type TimetableAs = 'student' | 'teacher' | 'admin';

export interface ClassRating {
  class_id: number;
  student_id: number;
  score: number;
  comment?: string;
  rated_at: string;
  updated_at: string;
}

export interface Class {
  id: number;
  district_id: number;
  school_id: number;
  title: string;
  subject_id: number;
  grade: number;
  knowledge_point_ids: number[] | null;
  teacher_id: number;
  teacher_name: string;
  assistant_ids: number[] | null;
  audience: ClassAudience;
  groups: string[] | null;
  starts_at: string;
  planned_minutes: number;
  premium: boolean;
  recording: boolean;
  status: ClassStatus;
  started_at?: string;
  ended_at?: string;
  end_reason?: string;
  series_id?: number;
  version: number;
  created_at: string;
  updated_at: string;
}

/** A class as the timetable shows it to the caller. */
export interface ClassView extends Class {
  room: string;
  join_opens_at: string;
  can_join: boolean;
  my_role?: ClassRole;
  my_rating?: ClassRating;
}

/** What creating (with weeks) or editing (with version) a class sends. */
export interface ClassInput {
  school_id?: number;
  district_id?: number;
  title: string;
  subject_id: number;
  grade: number;
  knowledge_point_ids?: number[];
  teacher_id: number;
  assistant_ids?: number[];
  audience: ClassAudience;
  groups?: string[];
  starts_at: string;
  planned_minutes: number;
  premium: boolean;
  recording: boolean;
  weeks?: number;
  version?: number;
}

export interface ClassGrant extends JoinGrant {
  role: ClassRole;
  class: Class;
}

export interface Stay {
  joined_at: string;
  left_at?: string;
  seen_at: string;
}

export interface Attendee {
  user_id: number;
  name: string;
  role: ClassRole;
  joins: number;
  present_s: number;
  first_join: string;
  last_leave?: string;
  late_s: number;
  late: boolean;
  left_early_s: number;
  left_early: boolean;
  talk_s: number;
  hands: number;
  messages: number;
  poll_answers: number;
  quiz_answers: number;
  correct: number;
  stays: Stay[] | null;
}

export interface Satisfaction {
  key: string;
  ratings: number;
  satisfied: number;
  share: number;
  mean: number;
  distribution: number[];
}

export interface ClassRecord {
  class: Class;
  attendees: Attendee[];
  ratings: ClassRating[];
  satisfaction: Satisfaction;
}

export interface TimetableQuery {
  from?: string;
  to?: string;
  as?: TimetableAs;
  status?: string;
  school_id?: number;
  limit?: number;
  offset?: number;
}

/** classRoomPrefix names a scheduled class's room: class-<id>. */
export const classRoomPrefix = 'class-';

/** classIdOfRoom answers the class of a room named class-<id>, or 0. */
export function classIdOfRoom(room: string): number {
  const m = /^class-(\d+)$/.exec(room);
  return m ? Number(m[1]) : 0;
}

export async function timetable(q: TimetableQuery): Promise<List<ClassView>> {
  const l = await api.get<List<ClassView>>(`/api/v1/classes${query({ ...q })}`);
  return { ...l, items: l.items ?? [] };
}

export function getClass(id: number): Promise<ClassView> {
  return api.get<ClassView>(`/api/v1/classes/${id}`);
}

export async function createClasses(body: ClassInput): Promise<Class[]> {
  return (await api.post<{ items: Class[] | null }>('/api/v1/classes', body)).items ?? [];
}

export function updateClass(id: number, body: ClassInput): Promise<Class> {
  return api.put<Class>(`/api/v1/classes/${id}`, body);
}

export async function cancelClass(id: number, series: boolean): Promise<number[]> {
  return (await api.post<{ cancelled: number[] | null }>(`/api/v1/classes/${id}/cancel`, { series })).cancelled ?? [];
}

export function joinClass(id: number): Promise<ClassGrant> {
  return api.post<ClassGrant>(`/api/v1/classes/${id}/join`);
}

export function endClass(id: number): Promise<Class> {
  return api.post<Class>(`/api/v1/classes/${id}/end`);
}

export async function classRecord(id: number): Promise<ClassRecord> {
  const r = await api.get<ClassRecord>(`/api/v1/classes/${id}/record`);
  return { ...r, attendees: r.attendees ?? [], ratings: r.ratings ?? [] };
}

export function rateClass(id: number, body: { score: number; comment: string }): Promise<ClassRating> {
  return api.put<ClassRating>(`/api/v1/classes/${id}/rating`, body);
}

export async function classSatisfaction(q: { from?: string; to?: string; group?: string; school_id?: number }): Promise<Satisfaction[]> {
  return (await api.get<{ items: Satisfaction[] | null }>(`/api/v1/classes/satisfaction${query({ ...q })}`)).items ?? [];
}

export interface ClassImportResult {
  created: number;
  dry_run: boolean;
  items: Class[] | null;
}

export function importClasses(file: File, dryRun: boolean, onProgress: (f: number) => void): Promise<ClassImportResult> {
  const form = new FormData();
  form.append('file', file);
  if (dryRun) form.append('dry_run', 'true');
  return upload<ClassImportResult>('/api/v1/classes/import', form, onProgress);
}
