// What the pages say when the server refuses a micro-lesson or its upload:
// a sentence in the UI's language for the code, and the server's own
// description of what it found.

import { ApiError } from '@/api/http';
import type { Key, Message } from '@/locales';

const refusals: Record<string, Key> = {
  unsupported_media: 'ml.refused.unsupported_media',
  damaged_media: 'ml.refused.damaged_media',
  media_too_long: 'ml.refused.media_too_long',
  too_large: 'ml.refused.too_large',
  too_many_uploads: 'ml.refused.too_many_uploads',
  uploads_full: 'ml.refused.uploads_full',
  upload_incomplete: 'ml.refused.upload_incomplete',
  not_found: 'ml.refused.not_found',
  unreachable: 'ml.refused.unreachable',
  forbidden: 'ml.refused.forbidden',
  csrf: 'error.csrf',
};

export interface Refusal {
  code: string;
  message: Message;
  /** The server's words (English), shown as the detail. */
  detail: string;
}

export function refusal(err: unknown): Refusal {
  if (err instanceof ApiError) {
    const key = refusals[err.code];
    if (key) return { code: err.code, message: { key, params: { seconds: err.retryAfter || 60 } }, detail: err.code === 'unreachable' ? '' : err.message };
    return { code: err.code, message: { key: 'ml.refused.other', params: { status: err.status } }, detail: err.message };
  }
  return { code: 'error', message: { key: 'ml.refused.other', params: { status: 0 } }, detail: String(err) };
}
