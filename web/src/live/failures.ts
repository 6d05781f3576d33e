// What a failed connect, a lost connection or a refused camera means to the
// user, for the class and the tutoring room alike.

import { ConnectionError, ConnectionErrorReason, DisconnectReason, MediaDeviceFailure } from 'livekit-client';

import type { Message } from '@/locales';

/** A failure to show: a machine-readable code (data-code) and a message. */
export interface Failure {
  code: string;
  message: Message;
}

/** connectFailure explains a rejected room.connect(). */
export function connectFailure(err: unknown): Failure {
  if (err instanceof ConnectionError) {
    const message = err.message || err.reasonName;
    switch (err.reason) {
      case ConnectionErrorReason.NotAllowed:
        return { code: 'auth', message: { key: 'error.auth', params: { message } } };
      case ConnectionErrorReason.ServerUnreachable:
        return { code: 'unreachable', message: { key: 'error.signalUnreachable', params: { message } } };
      case ConnectionErrorReason.Timeout:
        return { code: 'timeout', message: { key: 'error.timeout' } };
      default:
        return { code: 'connect', message: { key: 'error.connect', params: { message } } };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'connect', message: { key: 'error.connect', params: { message } } };
}

/** disconnectFailure explains a room that went away without being asked to. */
export function disconnectFailure(reason: DisconnectReason | undefined): Failure {
  switch (reason) {
    case DisconnectReason.DUPLICATE_IDENTITY:
      return { code: 'duplicate', message: { key: 'error.duplicateIdentity' } };
    case DisconnectReason.PARTICIPANT_REMOVED:
      return { code: 'removed', message: { key: 'error.removed' } };
    case DisconnectReason.ROOM_DELETED:
    case DisconnectReason.ROOM_CLOSED:
      return { code: 'closed', message: { key: 'error.roomClosed' } };
    case DisconnectReason.SERVER_SHUTDOWN:
      return { code: 'shutdown', message: { key: 'error.serverShutdown' } };
    default:
      return {
        code: 'disconnected',
        message: { key: 'error.disconnected', params: { reason: reason === undefined ? 'UNKNOWN' : (DisconnectReason[reason] ?? String(reason)) } },
      };
  }
}

/** mediaFailure explains a camera or microphone that could not be opened. */
export function mediaFailure(err: unknown): Message {
  switch (MediaDeviceFailure.getFailure(err)) {
    case MediaDeviceFailure.PermissionDenied:
      return { key: 'error.mediaPermission' };
    case MediaDeviceFailure.NotFound:
      return { key: 'error.mediaNotFound' };
    case MediaDeviceFailure.DeviceInUse:
      return { key: 'error.mediaInUse' };
    default:
      return { key: 'error.media', params: { message: err instanceof Error ? err.message : String(err) } };
  }
}
