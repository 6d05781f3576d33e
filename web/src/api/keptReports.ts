// Kept reports (docs/reports.md, "Scheduled reports"): the statistics of
// each finished week, month and term, kept for every district and school
// as XLSX and CSV, listed in the caller's scope and generated again on
// request.

import { api, query } from './http';

export interface KeptReport {
  id: number;
  kind: 'week' | 'month' | 'term';
  label: string;
  start: string;
  end: string;
  level: 'district' | 'school';
  district_id: number;
  district_name: string;
  school_id?: number;
  school_name?: string;
  status: 'pending' | 'ready' | 'failed';
  /** 0: the schedule; else the user who asked for it again. */
  requested_by: number;
  requested_by_name?: string;
  error?: string;
  generated_at: string | null;
  created_at: string;
  xlsx_size: number;
  csv_size: number;
}

export interface KeptList {
  reports: KeptReport[];
  total: number;
}

export function listKept(kind: '' | KeptReport['kind'], limit: number, offset = 0): Promise<KeptList> {
  return api.get<KeptList>(`/api/v1/reports/kept${query({ kind: kind || undefined, limit, offset })}`);
}

export function keptFileUrl(id: number, format: 'xlsx' | 'csv'): string {
  return `/api/v1/reports/kept/${id}/file${query({ format })}`;
}

export function regenerateKept(id: number): Promise<{ report: KeptReport; job: { id: number; kind: string } }> {
  return api.post(`/api/v1/reports/kept/${id}/regenerate`);
}
