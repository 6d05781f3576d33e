// Yearly targets per school.

import { api, query } from './http';

export interface Target {
  school_id: number;
  school_name?: string;
  year: number;
  lessons_recorded: number;
  teachers_participating: number;
  trainee_coverage_pct: number;
  version: number;
}

export type TargetNumbers = Pick<Target, 'lessons_recorded' | 'teachers_participating' | 'trainee_coverage_pct'>;

export async function listTargets(year: number): Promise<Target[]> {
  const list = await api.get<{ items: Target[] | null }>(`/api/v1/targets${query({ year })}`);
  return list.items ?? [];
}

export function setTarget(schoolId: number, year: number, body: TargetNumbers & { version: number }): Promise<Target> {
  return api.put<Target>(`/api/v1/schools/${schoolId}/targets/${year}`, body);
}
