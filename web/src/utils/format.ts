// Dates, times and durations as the pages show them.

import { t } from '@/locales';

export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** formatDate is the YYYY-MM-DD of an ISO time. */
export function formatDate(iso: string): string {
  return formatDateTime(iso).slice(0, 10);
}

/** formatTime is hh:mm of a millisecond timestamp. */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** waitText says how long a wait of s seconds is, roughly. */
export function waitText(s: number): string {
  if (!(s > 0)) return t('tutor.waitUnknown');
  if (s < 60) return t('tutor.waitUnderMinute');
  return t('tutor.waitMinutes', { n: Math.round(s / 60) });
}

export function durationText(s: number): string {
  if (!(s > 0)) return '—';
  const m = Math.floor(s / 60);
  const sec = s % 60;
  if (m === 0) return t('tutor.durationSeconds', { s: sec });
  return t('tutor.durationMinutes', { m, s: sec });
}

export function gradeText(n: number): string {
  return t('grade.n', { n });
}

export function starsText(score: number): string {
  return '★'.repeat(score) + '☆'.repeat(Math.max(0, 5 - score));
}

/** dash shows a missing value as a dash. */
export function dash(v: string | number | null | undefined): string {
  return v === undefined || v === null || v === '' || v === 0 ? '—' : String(v);
}

/** list joins names the way the pages list them. */
export function list(items: string[]): string {
  return items.length ? items.join('、') : '—';
}
