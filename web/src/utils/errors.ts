// One way of turning a failed call into a message for the user.

import { ApiError } from '@/api/http';
import type { Message } from '@/locales';

/** errorMessage turns any failure into a message. */
export function errorMessage(err: unknown): Message {
  if (!(err instanceof ApiError)) return { key: 'error.server', params: { message: err instanceof Error ? err.message : String(err) } };
  switch (err.code) {
    case 'unreachable':
      return { key: 'error.unreachable' };
    case 'bad_response':
      return { key: 'error.badResponse', params: { status: err.status } };
    case 'conflict':
      return { key: 'error.conflict' };
    case 'closed':
      return { key: 'error.closed' };
    case 'forbidden':
      return { key: 'error.forbidden', params: { message: err.message } };
    case 'not_found':
      return { key: 'error.notFound', params: { message: err.message } };
    case 'too_large':
      return { key: 'error.tooLarge' };
    case 'rate_limited':
      return { key: 'error.rateLimited', params: { seconds: err.retryAfter || 60 } };
    case 'csrf':
      return { key: 'error.csrf' };
    case 'busy':
      return { key: 'error.busy', params: { seconds: err.retryAfter || 2 } };
    default:
      return { key: 'error.server', params: { message: err.message } };
  }
}
