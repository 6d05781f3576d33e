// How the micro-lesson pages name and colour a status.

import type { MicrolessonStatus } from '@/api/microlessons';
import { t, type Key } from '@/locales';

export const statusOrder: MicrolessonStatus[] = ['submitted', 'in_review', 'approved', 'published', 'returned'];

export function statusText(s: MicrolessonStatus): string {
  return t(`ml.status.${s}` as Key);
}

export function statusType(s: MicrolessonStatus): 'success' | 'warning' | 'danger' | 'info' {
  return s === 'published' ? 'success' : s === 'returned' ? 'danger' : s === 'in_review' || s === 'approved' ? 'warning' : 'info';
}

export function sizeText(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}
