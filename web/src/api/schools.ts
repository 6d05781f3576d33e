// Schools.

import { api, query, type List } from './http';

export type SchoolKind = 'primary' | 'junior_secondary' | 'senior_secondary' | 'complete_secondary' | 'nine_year' | 'kindergarten';
export const schoolKinds: readonly SchoolKind[] = ['primary', 'junior_secondary', 'senior_secondary', 'complete_secondary', 'nine_year', 'kindergarten'];

export interface School {
  id: number;
  district_id: number;
  code: string;
  name: string;
  kind: SchoolKind;
  active: boolean;
  version: number;
  created_at?: string;
  updated_at?: string;
}

export interface SchoolFilter {
  q?: string;
  kind?: string;
  active?: string | boolean;
  limit?: number;
  offset?: number;
}

export function listSchools(f: SchoolFilter): Promise<List<School>> {
  return api.get<List<School>>(`/api/v1/schools${query({ ...f })}`);
}

/** allSchools lists the schools the caller may see (up to the API's page limit). */
export async function allSchools(f: { active?: boolean } = {}): Promise<School[]> {
  const list = await listSchools({ ...f, limit: 500 });
  return list.items ?? [];
}

export function createSchool(body: { code: string; name: string; kind: string; district_id?: number }): Promise<School> {
  return api.post<School>('/api/v1/schools', body);
}

/** updateSchool sends the changed fields with the version the change is based on. */
export function updateSchool(id: number, body: Partial<Pick<School, 'code' | 'name' | 'kind' | 'active'>> & { version: number }): Promise<School> {
  return api.patch<School>(`/api/v1/schools/${id}`, body);
}
