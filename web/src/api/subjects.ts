// Subjects and their knowledge points.

import { api, query } from './http';

export interface Subject {
  id: number;
  code: string;
  name: string;
  name_en: string;
  sort: number;
  active: boolean;
}

export interface KnowledgePoint {
  id: number;
  subject_id: number;
  grade: number;
  parent_id: number;
  code: string;
  name: string;
  sort: number;
}

export async function listSubjects(): Promise<Subject[]> {
  const list = await api.get<{ items: Subject[] | null }>('/api/v1/subjects');
  return list.items ?? [];
}

export function createSubject(body: { code: string; name: string; name_en: string; sort: number }): Promise<Subject> {
  return api.post<Subject>('/api/v1/subjects', body);
}

export function setSubjectActive(id: number, active: boolean): Promise<Subject> {
  return api.patch<Subject>(`/api/v1/subjects/${id}`, { active });
}

/** knowledgePoints lists a subject's knowledge points, for one grade or all (possibly none). */
export async function knowledgePoints(subjectId: number, grade?: number): Promise<KnowledgePoint[]> {
  const list = await api.get<{ items: KnowledgePoint[] | null }>(`/api/v1/knowledge-points${query({ subject_id: subjectId, grade })}`);
  return list.items ?? [];
}
