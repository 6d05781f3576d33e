// Background jobs as administrators see them: what the server does after a
// request (finalizing, uploading, rendering recordings; removing videos;
// delivering webhooks), newest first.

import { api, query } from './http';

export type JobState = 'available' | 'scheduled' | 'pending' | 'running' | 'retryable' | 'completed' | 'cancelled' | 'discarded';

export const jobStates: JobState[] = ['available', 'scheduled', 'pending', 'running', 'retryable', 'completed', 'cancelled', 'discarded'];

/** The job kinds the pages name in words; any other kind shows as it is. */
export const jobKinds = [
  'recording.finalize',
  'recording.upload',
  'recording.repair',
  'recording.composite',
  'recording.delete',
  'recording.retention',
  'microlessons.remove_video',
  'webhook.deliver',
] as const;

export interface JobError {
  at: string;
  attempt: number;
  error: string;
}

export interface Job {
  id: number;
  kind: string;
  state: JobState;
  attempt: number;
  max_attempts: number;
  args: unknown;
  district_id?: number;
  /** "default", or "node-<host>-<port>" for a job only that node may work. */
  queue: string;
  errors: JobError[] | null;
  created_at: string;
  scheduled_at: string;
  attempted_at: string | null;
  finished_at: string | null;
}

export interface JobFilter {
  state?: JobState | '';
  kind?: string;
  /** A job id: the jobs older than it (the next page). */
  before?: number;
  limit?: number;
}

export async function listJobs(f: JobFilter): Promise<Job[]> {
  const r = await api.get<{ items: Job[] | null }>(`/api/v1/jobs${query({ state: f.state || undefined, kind: f.kind || undefined, before: f.before, limit: f.limit })}`);
  return r.items ?? [];
}
