// Micro-lessons (微课): resumable uploads over tus, filing, review and
// watching (docs/api.md, "Micro-lessons").

import { ApiError, api, parseErrorBody, query, requestHeaders, type List } from './http';

export type MicrolessonStatus = 'submitted' | 'in_review' | 'approved' | 'published' | 'returned';

export interface Microlesson {
  id: number;
  teacher_id: number;
  teacher_name: string;
  district_id: number;
  school_id: number;
  school_name: string;
  subject_id: number;
  subject_code: string;
  subject_name: string;
  grade: number;
  title: string;
  description: string;
  knowledge_points: { id: number; code: string; name: string }[] | null;
  size_bytes: number;
  container: 'mp4' | 'webm';
  video_codec: string;
  audio_codec: string;
  width: number;
  height: number;
  duration_ms: number;
  status: MicrolessonStatus;
  return_reason?: string;
  reviewer_id: number;
  reviewer_name: string;
  status_by: number;
  status_at: string;
  published_at?: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface MicrolessonUpload {
  id: string;
  user_id: number;
  size_bytes: number;
  filename: string;
  created_at: string;
  expires_at: string;
  offset: number;
  complete: boolean;
}

export interface UploadLimits {
  max_bytes: number;
  max_minutes: number;
  uploads_per_user: number;
  upload_hours: number;
  formats: string[] | null;
}

/** The tus endpoint (no trailing slash). */
export const uploadEndpoint = '/api/v1/microlessons/uploads';

export async function myUploads(): Promise<{ items: MicrolessonUpload[]; limits: UploadLimits }> {
  const r = await api.get<{ items: MicrolessonUpload[] | null; limits: UploadLimits }>(uploadEndpoint);
  return { items: r.items ?? [], limits: r.limits };
}

/** discardUpload deletes an upload in progress and its bytes (tus termination). */
export async function discardUpload(id: string): Promise<void> {
  let resp: Response;
  try {
    resp = await fetch(`${uploadEndpoint}/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      headers: { ...requestHeaders(), 'Tus-Resumable': '1.0.0' },
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError('unreachable', e instanceof Error ? e.message : String(e));
  }
  if (!resp.ok && resp.status !== 404) throw parseErrorBody(resp.status, await resp.text().catch(() => ''), resp.headers.get('Retry-After'));
}

export interface MicrolessonFiling {
  upload_id: string;
  title: string;
  description?: string;
  subject_id: number;
  grade: number;
  knowledge_point_ids?: number[];
}

/** fileMicrolesson files a finished upload; the server reads the video now, which can take a while. */
export function fileMicrolesson(body: MicrolessonFiling): Promise<Microlesson> {
  return api.post<Microlesson>('/api/v1/microlessons', body, { timeoutMs: 120_000 });
}

export interface MicrolessonQuery {
  mine?: boolean;
  /** The caller's review queue: assigned to them, in review or approved. */
  assigned?: boolean;
  status?: MicrolessonStatus | '';
  subject_id?: number | '';
  grade?: number | '';
  q?: string;
  limit: number;
  offset: number;
}

export async function listMicrolessons(q: MicrolessonQuery): Promise<List<Microlesson>> {
  const r = await api.get<{ items: Microlesson[] | null; total: number }>(`/api/v1/microlessons${query({ ...q, mine: q.mine || undefined, assigned: q.assigned || undefined })}`);
  return { items: r.items ?? [], total: r.total };
}

export function getMicrolesson(id: number): Promise<Microlesson> {
  return api.get<Microlesson>(`/api/v1/microlessons/${id}`);
}

export function publishMicrolesson(id: number): Promise<Microlesson> {
  return api.post<Microlesson>(`/api/v1/microlessons/${id}/publish`);
}

export function returnMicrolesson(id: number, reason: string): Promise<Microlesson> {
  return api.post<Microlesson>(`/api/v1/microlessons/${id}/return`, { reason });
}

export function resubmitMicrolesson(id: number): Promise<Microlesson> {
  return api.post<Microlesson>(`/api/v1/microlessons/${id}/resubmit`);
}

export function videoUrl(id: number, download = false): string {
  return `/api/v1/microlessons/videos/${id}${download ? '?download=1' : ''}`;
}

/** approveMicrolesson: the assigned expert approves one in review; it then waits for its knowledge points. */
export function approveMicrolesson(id: number): Promise<Microlesson> {
  return api.post<Microlesson>(`/api/v1/microlessons/${id}/approve`);
}

/** tagMicrolesson: the assigned expert tags an approved one with knowledge points, which publishes it. */
export function tagMicrolesson(id: number, knowledgePointIds: number[]): Promise<Microlesson> {
  return api.post<Microlesson>(`/api/v1/microlessons/${id}/tag`, { knowledge_point_ids: knowledgePointIds });
}

export function assignMicrolesson(id: number, reviewerId: number): Promise<Microlesson> {
  return api.post<Microlesson>(`/api/v1/microlessons/${id}/assign`, { reviewer_id: reviewerId });
}

export interface Reviewer {
  id: number;
  name: string;
  /** How many micro-lessons the expert has in review or approved now. */
  assigned: number;
}

export async function reviewersFor(id: number): Promise<Reviewer[]> {
  const r = await api.get<{ items: Reviewer[] | null }>(`/api/v1/microlessons/reviewers/${id}`);
  return r.items ?? [];
}
