// One-to-one tutoring (docs/api.md, "One-to-one tutoring"): questions, the
// queue, sessions, ratings and notes.

import { api, ApiError, query, upload, type List } from './http';
import type { JoinGrant } from './rooms';

export type RequestStatus = 'waiting' | 'offered' | 'matched' | 'cancelled';

export interface TutoringRequest {
  id: number;
  student_id: number;
  student_name: string;
  school_id: number;
  subject_id: number;
  subject_code: string;
  grade: number;
  knowledge_point_id?: number;
  text: string;
  has_image: boolean;
  status: RequestStatus;
  session_id?: number;
  /** The Q&A question escalated into this request. */
  question_id?: number;
  created_at: string;
  updated_at: string;
}

/** A student's view of their request: its place in the queue and an estimated wait. */
export interface RequestView {
  request: TutoringRequest;
  /** 1-based place in the queue; 0 while offered to a teacher. */
  position: number;
  queue_length: number;
  estimated_wait_s: number;
}

export interface TutoringRating {
  score: number;
  comment?: string;
  solved: boolean;
  rated_at: string;
  updated_at: string;
}

export interface TeacherNote {
  note?: string;
  knowledge_point_ids: number[] | null;
  updated_at: string;
}

export type EndReason = 'left' | 'max_length' | 'no_show' | 'ended_by_student' | 'ended_by_teacher' | 'shutdown';

export interface TutoringSession {
  id: number;
  request_id: number;
  student_id: number;
  student_name: string;
  teacher_id: number;
  teacher_name: string;
  school_id: number;
  subject_id: number;
  grade: number;
  room: string;
  /** The Q&A question this session's request was escalated from. */
  question_id?: number;
  node_url: string;
  created_at: string;
  started_at?: string;
  ended_at?: string;
  duration_s: number;
  end_reason?: EndReason | string;
  rating?: TutoringRating;
  teacher_note?: TeacherNote;
}

/** What a participant needs to enter a session's room; url may name another node. */
export interface SessionJoin extends JoinGrant {
  session: TutoringSession;
}

/** Largest picture a question may carry (the server's limit too). */
export const maxImageBytes = 4 << 20;
export const imageTypes = ['image/png', 'image/jpeg', 'image/webp'];

export function imageUrl(requestId: number): string {
  return `/api/v1/tutoring/requests/${requestId}/image`;
}

export interface Question {
  subjectId: number;
  grade: number;
  knowledgePointId?: number;
  text: string;
  image?: File;
}

/** ask sends a question (with its picture, if any); onProgress as for upload(). */
export function ask(q: Question, onProgress: (fraction: number) => void): Promise<RequestView> {
  const body = new FormData();
  body.set('subject_id', String(q.subjectId));
  body.set('grade', String(q.grade));
  if (q.knowledgePointId) body.set('knowledge_point_id', String(q.knowledgePointId));
  body.set('text', q.text);
  if (q.image) body.set('image', q.image, q.image.name);
  return upload<RequestView>('/api/v1/tutoring/requests', body, onProgress, 60_000);
}

/** currentRequest answers the student's open (or just closed) request, or null. */
export async function currentRequest(): Promise<RequestView | null> {
  try {
    return await api.get<RequestView>('/api/v1/tutoring/requests/current');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export function cancelRequest(id: number): Promise<RequestView> {
  return api.post<RequestView>(`/api/v1/tutoring/requests/${id}/cancel`);
}

export function listSessions(as: 'student' | 'teacher', limit: number, offset = 0): Promise<List<TutoringSession>> {
  return api.get<List<TutoringSession>>(`/api/v1/tutoring/sessions${query({ as, limit, offset })}`);
}

export function getSession(id: number): Promise<TutoringSession> {
  return api.get<TutoringSession>(`/api/v1/tutoring/sessions/${id}`);
}

export function sessionToken(id: number): Promise<SessionJoin> {
  return api.post<SessionJoin>(`/api/v1/tutoring/sessions/${id}/token`);
}

export function endSession(id: number): Promise<TutoringSession> {
  return api.post<TutoringSession>(`/api/v1/tutoring/sessions/${id}/end`);
}

export function rateSession(id: number, body: { score: number; comment: string; solved: boolean }): Promise<TutoringSession> {
  return api.put<TutoringSession>(`/api/v1/tutoring/sessions/${id}/rating`, body);
}

export function noteSession(id: number, body: { note: string; knowledge_point_ids: number[] }): Promise<TutoringSession> {
  return api.put<TutoringSession>(`/api/v1/tutoring/sessions/${id}/note`, body);
}

/** A session as an expert audits it. */
export interface TutoringAudit extends TutoringSession {
  school_name: string;
  subject_name: string;
  recording_id?: number;
}

export function auditSessions(q: { limit: number; offset: number; rated?: boolean; max_score?: number }): Promise<List<TutoringAudit>> {
  return api.get<List<TutoringAudit>>(`/api/v1/tutoring/audit${query(q)}`);
}
