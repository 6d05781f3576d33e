// The activity log: who did what, when, where.

import { api, query } from './http';

export interface Activity {
  id: number;
  at: string;
  /** The acting user; 0 for the system. */
  actor_id: number;
  /** A dotted verb, e.g. "school.create", "tutoring.session_end". */
  action: string;
  district_id: number;
  school_id: number;
  subject_id: number;
  /** The entity acted on, e.g. "user:42", "school:3", "target:3:2026". */
  subject?: string;
  room_id?: string;
  /** "tutoring:<session id>" for tutoring sessions. */
  session_id?: string;
  value: number;
  /** A small JSON object, e.g. {"teacher_id":7}. */
  detail?: string;
  // Names the server may add; the page looks them up itself when missing.
  actor_name?: string;
  subject_name?: string;
}

export async function recentActivity(limit: number): Promise<Activity[]> {
  const list = await api.get<{ items: Activity[] | null }>(`/api/v1/activity/recent${query({ limit })}`);
  return list.items ?? [];
}
