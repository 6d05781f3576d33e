// Quality-lesson selection rounds, the shared library and school consent
// (docs/library.md; routes in docs/api.md).

import { api, query, request } from './http';
import type { RecordingTrack } from './recordings';

export type RoundPhase = 'nominating' | 'reviewing' | 'selecting' | 'published';

export interface SelectionEntry {
  id: number;
  round_id: number;
  recording_id: number;
  title: string;
  school_id: number;
  school_name: string;
  teacher_id: number;
  teacher_name: string;
  subject_id: number;
  grade: number;
  selected: boolean;
  rank: number;
  assigned: number;
  reviews: number;
  mean: number;
  median: number;
  overdue: number;
  submitted: boolean;
}

export interface SelectionRound {
  id: number;
  district_id: number;
  name: string;
  subject_id: number;
  grade: number;
  scheme_id: number;
  scheme_name: string;
  expert_ids: number[];
  experts: { id: number; name: string }[];
  per_school: number;
  nominate_by: string;
  review_by: string;
  status: 'open' | 'published';
  phase: RoundPhase;
  school_entries?: number;
  entries?: SelectionEntry[];
}

export interface RoundInput {
  name: string;
  scheme_id: number;
  subject_id?: number;
  grade?: number;
  expert_ids: number[];
  per_school: number;
  nominate_by: string;
  review_by: string;
  district_id?: number;
}

export type LessonVersion = 'teacher_only' | 'full';

export interface LibraryLesson {
  id: number;
  recording_id: number;
  school_id: number;
  school_name: string;
  teacher_id: number;
  teacher_name: string;
  subject_id: number;
  subject_name: string;
  grade: number;
  title: string;
  score: number;
  reviews: number;
  plays: number;
  duration_ms: number;
  knowledge_point_ids: number[];
  published_at: string;
  version: LessonVersion;
  full_available: boolean;
  /** Withdrawn lessons (listed to district admins with withdrawn: true). */
  withdrawn: boolean;
  withdrawn_at?: string;
  withdraw_reason?: string;
}

export interface LibraryLessonDetail extends LibraryLesson {
  started_at: string;
  participants: { identity: string; name: string; role: string }[];
  tracks: RecordingTrack[];
}

export interface SchoolConsent {
  school_id: number;
  granted: boolean;
  note: string;
  recorded_by: number;
  recorded_at?: string;
}

const base = '/api/v1/selection/rounds';

export async function listRounds(): Promise<SelectionRound[]> {
  const r = await api.get<{ items: SelectionRound[] | null }>(base);
  return r.items ?? [];
}
export const getRound = (id: number) => api.get<SelectionRound>(`${base}/${id}`);
export const createRound = (b: RoundInput) => api.post<SelectionRound>(base, b);
export const nominate = (id: number, recordingId: number) => api.post<SelectionEntry>(`${base}/${id}/entries`, { recording_id: recordingId });
export const withdrawEntry = (id: number, entryId: number) => request<unknown>('DELETE', `${base}/${id}/entries/${entryId}`);
export const setSelection = (id: number, entryIds: number[]) => api.put<SelectionRound>(`${base}/${id}/selection`, { entry_ids: entryIds });
export const publishRound = (id: number) => api.post<{ lesson_ids: number[] }>(`${base}/${id}/publish`);

export async function listLibrary(q: {
  subject_id?: number | '';
  grade?: number | '';
  knowledge_point_id?: number | '';
  q?: string;
  limit?: number;
  offset?: number;
  withdrawn?: boolean;
}): Promise<{ items: LibraryLesson[]; total: number }> {
  const r = await api.get<{ items: LibraryLesson[] | null; total: number }>(`/api/v1/library${query(q)}`);
  return { items: r.items ?? [], total: r.total };
}
export const getLesson = (id: number) => api.get<LibraryLessonDetail>(`/api/v1/library/${id}`);
/** withdrawLesson takes a lesson out of the library (district admins), with a reason. */
export const withdrawLesson = (id: number, reason: string) => api.post<LibraryLesson>(`/api/v1/library/${id}/withdraw`, { reason });
/** republishLesson returns a withdrawn lesson to the library. */
export const republishLesson = (id: number) => api.post<LibraryLesson>(`/api/v1/library/${id}/republish`);
export const countPlay = (id: number) => api.post<{ counted: boolean; plays: number }>(`/api/v1/library/${id}/plays`);

export const getConsent = (school: number) => api.get<SchoolConsent>(`/api/v1/schools/${school}/consent`);
export const setConsent = (school: number, granted: boolean, note: string) => api.put<SchoolConsent>(`/api/v1/schools/${school}/consent`, { granted, note });
