// How the jobs page names a job's kind and colours its state.

import { jobKinds, type JobState } from '@/api/jobs';
import { t, type Key } from '@/locales';

export function kindText(kind: string): string {
  return (jobKinds as readonly string[]).includes(kind) ? t(`jobs.kind.${kind}` as Key) : kind;
}

export function stateText(s: string): string {
  return t(`jobs.state.${s}` as Key);
}

export function stateType(s: JobState): 'success' | 'warning' | 'danger' | 'info' | 'primary' {
  switch (s) {
    case 'completed':
      return 'success';
    case 'running':
      return 'primary';
    case 'retryable':
      return 'warning';
    case 'discarded':
    case 'cancelled':
      return 'danger';
    default:
      return 'info';
  }
}

/** A cancelled job gave up on purpose (its subject is gone): a lighter red than a discarded one's. */
export function stateEffect(s: JobState): 'light' | 'plain' {
  return s === 'cancelled' ? 'plain' : 'light';
}
