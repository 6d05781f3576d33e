// How a review assignment's status reads and is coloured.

import type { AssignmentStatus } from '@/api/review';
import { t } from '@/locales';

export function statusText(s: AssignmentStatus): string {
  return s === 'submitted' ? t('rv.status.submitted') : s === 'draft' ? t('rv.status.draft') : t('rv.status.assigned');
}

export function statusType(s: AssignmentStatus): 'success' | 'warning' | 'info' {
  return s === 'submitted' ? 'success' : s === 'draft' ? 'warning' : 'info';
}

/** reviewLink is where an expert reviews an assignment: the player in review mode. */
export function reviewLink(target: string, assignment: number): string {
  const m = /^(recording|microlesson):(\d+)$/.exec(target);
  if (!m) return '/';
  return m[1] === 'recording' ? `/recordings/${m[2]}?assignment=${assignment}` : `/microlessons/${m[2]}`;
}
