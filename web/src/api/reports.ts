// Statistics for administrators and experts (docs/reports.md): the
// dashboard of every indicator over a period and the one before, a
// breakdown of one indicator by school or teacher, the yearly targets with
// the imbalance between schools, and the dashboard's exports.

import { api, query } from './http';

export type PeriodKind = 'week' | 'month' | 'term' | 'year';
export type Unit = 'count' | 'percent' | 'score' | 'minutes' | 'seconds' | 'ratio';

export interface Period {
  kind: PeriodKind;
  start: string;
  end: string;
  label: string;
}

export interface Scope {
  level: 'all' | 'district' | 'school' | 'schools' | 'teacher';
  district_id?: number;
  district_name?: string;
  school_id?: number;
  school_name?: string;
  teacher_id?: number;
  teacher_name?: string;
}

export interface Indicator {
  key: string;
  group: string;
  label_zh: string;
  label_en: string;
  unit: Unit;
}

export interface DashboardRow extends Indicator {
  current: number | null;
  previous: number | null;
  target: number | null;
}

export interface Dashboard {
  period: Period;
  previous: Period;
  scope: Scope;
  indicators: DashboardRow[];
}

export interface BreakdownRow {
  key: string;
  name: string;
  name_en: string;
  current: number | null;
  previous: number | null;
}

export interface Breakdown {
  indicator: Indicator;
  by: Dimension;
  period: Period;
  previous: Period;
  scope: Scope;
  total: DashboardRow;
  rows: BreakdownRow[];
}

export interface TargetItem {
  key: string;
  target: number;
  done: number;
  attainment_pct: number;
  expected: number;
  needed_per_week: number;
  behind: boolean;
}

export interface TargetRow {
  school_id: number;
  school_name: string;
  year: number;
  items: TargetItem[];
  behind: boolean;
}

export interface Targets {
  year: number;
  scope: Scope;
  elapsed: number;
  schools: TargetRow[];
  behind: TargetRow[];
  imbalance: { schools: number; gini_lessons_per_teacher: number; top_tenth_share_pct: number };
}

/** Where: a district, a school, a teacher, or nothing for all the caller's scope. */
export interface Where {
  district_id?: number;
  school_id?: number;
  teacher_id?: number;
}

export interface When {
  period: PeriodKind;
  date: string; // YYYY-MM-DD, any day of the period
}

export function dashboard(when: When, where: Where): Promise<Dashboard> {
  return api.get<Dashboard>(`/api/v1/reports/dashboard${query({ ...when, ...where })}`);
}

/** The dimensions a breakdown may group by (GET /reports/indicators tells which apply to an indicator). */
export type Dimension = 'district' | 'school' | 'kind' | 'teacher' | 'subject' | 'grade' | 'knowledge_point';

export function breakdown(indicator: string, by: Dimension, when: When, where: Where): Promise<Breakdown> {
  return api.get<Breakdown>(`/api/v1/reports/breakdown${query({ indicator, by, ...when, ...where })}`);
}

export function targets(year: number, where: Where): Promise<Targets> {
  return api.get<Targets>(`/api/v1/reports/targets${query({ year, school_id: where.school_id })}`);
}

/** exportUrl is the dashboard's download as CSV or XLSX, for the same period and scope. */
export function exportUrl(format: 'csv' | 'xlsx', when: When, where: Where): string {
  return `/api/v1/reports/export${query({ format, ...when, ...where })}`;
}

export interface Catalog {
  indicators: (Indicator & { dimensions: Dimension[] })[];
  periods: PeriodKind[];
  /** MM-DD of each term's first day. */
  term_starts: string[];
}

export function catalog(): Promise<Catalog> {
  return api.get<Catalog>('/api/v1/reports/indicators');
}
