// The statistics page's view as its URL query (docs/reports.md): the
// period (kind and a day of it), the place drilled down to (district,
// school, teacher ids), the indicator of the chart and the dimension it is
// broken down by. Whatever the query holds, reading it gives a view the
// page can show: what is not valid is dropped and marked corrected.

import type { Dimension, PeriodKind, Scope } from '@/api/reports';

import type { PeriodChoice } from './periods';

export interface Step {
  level: 'root' | 'district' | 'school' | 'teacher';
  id: number;
  name: string;
}

export interface View {
  kind: PeriodKind;
  date: string; // '' for the newest period
  path: Pick<Step, 'level' | 'id'>[]; // below the caller's widest view
  indicator: string;
  by: Dimension | '';
}

const kinds: PeriodKind[] = ['week', 'month', 'term', 'year'];
const dims: Dimension[] = ['district', 'school', 'kind', 'teacher', 'subject', 'grade', 'knowledge_point'];
const levels = ['district', 'school', 'teacher'] as const;

type Query = Record<string, unknown>;

function one(v: unknown): string | undefined {
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' ? v : undefined;
}

function validDay(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return y >= 2000 && y <= 2100 && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** readView reads the page's query; corrected says something in it was dropped. */
export function readView(q: Query): View & { corrected: boolean } {
  let corrected = false;
  const period = one(q.period);
  const kind = kinds.find((k) => k === period) ?? 'month';
  if (period !== undefined && period !== kind) corrected = true;
  let date = one(q.date) ?? '';
  if (date && !validDay(date)) {
    date = '';
    corrected = true;
  }
  const path: View['path'] = [];
  for (const level of levels) {
    const v = one(q[level]);
    if (v === undefined) continue;
    const id = Number(v);
    if (/^\d{1,15}$/.test(v) && id > 0) path.push({ level, id });
    else corrected = true;
  }
  let indicator = one(q.indicator) ?? '';
  if (indicator && !/^[a-z_]+\.[a-z0-9_]+$/.test(indicator)) {
    indicator = '';
    corrected = true;
  }
  const b = one(q.by);
  const by = dims.find((d) => d === b) ?? '';
  if (b !== undefined && b !== by) corrected = true;
  return { kind, date, path, indicator, by, corrected };
}

/** viewQuery is the query of a view, in a stable order. */
export function viewQuery(v: View): Record<string, string> {
  const q: Record<string, string> = { period: v.kind };
  if (v.date) q.date = v.date;
  for (const s of v.path) q[s.level] = String(s.id);
  if (v.indicator) q.indicator = v.indicator;
  if (v.by) q.by = v.by;
  return q;
}

/**
 * snapDate is the period of choices that holds day (choices newest first,
 * each named by its first day); the newest for none, or for a day older
 * than every choice.
 */
export function snapDate(day: string, choices: PeriodChoice[]): string {
  if (!day) return choices[0]!.date;
  const i = choices.findIndex((c) => c.date <= day);
  if (i < 0) return choices[0]!.date;
  return choices[i]!.date;
}

/**
 * dimensionsAt lists what a place's breakdown may group by, the drill-down
 * first: below everything districts, below a district schools, below a
 * school teachers; then school kinds (over several schools), subjects,
 * grades and knowledge points.
 */
export function dimensionsAt(level: Scope['level'] | undefined): Dimension[] {
  switch (level) {
    case 'all':
      return ['district', 'school', 'kind', 'subject', 'grade', 'knowledge_point'];
    case 'district':
    case 'schools':
      return ['school', 'kind', 'subject', 'grade', 'knowledge_point'];
    case 'school':
      return ['teacher', 'subject', 'grade', 'knowledge_point'];
    case 'teacher':
      return ['subject', 'grade', 'knowledge_point'];
  }
  return [];
}

/** drillLevel is where a row of a breakdown by d leads, if anywhere. */
export function drillLevel(d: Dimension | ''): Step['level'] | null {
  return d === 'district' || d === 'school' || d === 'teacher' ? d : null;
}
