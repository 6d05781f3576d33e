// The periods the reports page offers, newest first, on the Asia/Shanghai
// calendar as the server counts them (docs/reports.md): weeks from Monday,
// calendar months, terms from each configured start (MM-DD) to the next,
// and years. Each is named by a day inside it, which is what the API asks.

import { t } from '@/locales';

import type { PeriodKind } from '@/api/reports';

export interface PeriodChoice {
  date: string; // YYYY-MM-DD, the period's first day
  label: () => string; // translated when shown
}

const pad = (n: number) => String(n).padStart(2, '0');
const iso = (y: number, m: number, d: number) => `${y}-${pad(m)}-${pad(d)}`;

/** today is the Asia/Shanghai calendar day of now, as a UTC-midnight Date. */
function today(now: Date): Date {
  const china = new Date(now.getTime() + 8 * 3600_000);
  return new Date(Date.UTC(china.getUTCFullYear(), china.getUTCMonth(), china.getUTCDate()));
}

function isoWeek(d: Date): string {
  const thu = new Date(d.getTime());
  thu.setUTCDate(thu.getUTCDate() + 3 - ((thu.getUTCDay() + 6) % 7));
  const jan4 = new Date(Date.UTC(thu.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round((thu.getTime() - jan4.getTime()) / 86400_000 / 7 - 3 / 7 + ((jan4.getUTCDay() + 6) % 7) / 7);
  return `${thu.getUTCFullYear()}-W${pad(week)}`;
}

export function periodChoices(kind: PeriodKind, termStarts: string[], now = new Date()): PeriodChoice[] {
  const day = today(now);
  const y = day.getUTCFullYear();
  const out: PeriodChoice[] = [];
  switch (kind) {
    case 'week': {
      const monday = new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * 86400_000);
      for (let i = 0; i < 16; i++) {
        const d = new Date(monday.getTime() - i * 7 * 86400_000);
        const date = iso(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
        const w = isoWeek(d);
        out.push({ date, label: () => t('rp.weekOf', { week: w, date }) });
      }
      break;
    }
    case 'month': {
      let m = day.getUTCMonth() + 1;
      let yy = y;
      for (let i = 0; i < 24; i++) {
        const date = iso(yy, m, 1);
        const label = `${yy}-${pad(m)}`;
        out.push({ date, label: () => label });
        m--;
        if (m === 0) {
          m = 12;
          yy--;
        }
      }
      break;
    }
    case 'term': {
      const starts = [...termStarts].sort();
      const all: string[] = [];
      for (let yy = y + 1; yy >= y - 3; yy--) for (const s of [...starts].reverse()) all.push(`${yy}-${s}`);
      const now = iso(y, day.getUTCMonth() + 1, day.getUTCDate());
      for (const date of all.filter((d) => d <= now).slice(0, 6)) {
        out.push({ date, label: () => t('rp.termFrom', { date }) });
      }
      break;
    }
    case 'year':
      for (let i = 0; i < 6; i++) {
        const label = String(y - i);
        out.push({ date: iso(y - i, 1, 1), label: () => label });
      }
      break;
  }
  return out;
}
