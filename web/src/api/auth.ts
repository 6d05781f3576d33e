// Signing in and out, the signed-in user, and the server itself.

import type { District } from './districts';
import { ApiError, request } from './http';
import type { School } from './schools';
import type { User } from './users';

export type Home = 'student' | 'teacher' | 'expert' | 'admin';

export interface Me {
  user: User;
  csrf_token: string;
  home: Home;
  school: School | null;
  district: District | null;
}

export interface ServerInfo {
  version: string;
  development?: boolean;
}

export function me(): Promise<Me> {
  return request<Me>('GET', '/api/v1/me', undefined, { quiet: true });
}

export function signIn(username: string, password: string): Promise<Me> {
  return request<Me>('POST', '/api/v1/auth/signin', { username, password }, { quiet: true });
}

export async function signOut(): Promise<void> {
  await request<unknown>('POST', '/api/v1/auth/signout', undefined, { quiet: true });
}

export async function changeOwnPassword(current: string, next: string): Promise<void> {
  await request<unknown>('POST', '/api/v1/me/password', { current_password: current, new_password: next }, { quiet: true });
}

/** serverInfo returns the server's version, or null when it is not available. */
export async function serverInfo(): Promise<ServerInfo | null> {
  try {
    const info = await request<ServerInfo>('GET', '/api/v1/server', undefined, { timeoutMs: 5000, quiet: true });
    return info && typeof info.version === 'string' ? info : null;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return null;
  }
}
