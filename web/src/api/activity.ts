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
  // Names the server may add; the admin home looks them up itself when they
  // are missing (and shows "#id" for what the caller may not read).
  /** The acting user's name; empty for the system. */
  actor_name?: string;
  /** The name of the entity in `subject` (a user, school, district or subject; a target's school; a request's student). */
  subject_name?: string;
  school_name?: string;
  /** The two sides of a tutoring entry (a request, an offer, a session, a rating or a note). */
  student_name?: string;
  teacher_name?: string;
}

export async function recentActivity(limit: number): Promise<Activity[]> {
  const list = await api.get<{ items: Activity[] | null }>(`/api/v1/activity/recent${query({ limit })}`);
  return list.items ?? [];
}
