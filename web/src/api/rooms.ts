// Tokens for class rooms: signed-in grants and the development join page.

import { ApiError, request } from './http';

/** How the classroom behaves for the local user. */
export type Role = 'teacher' | 'student';

export interface JoinRequest {
  room: string;
  name: string;
  role: Role;
}

export interface JoinGrant {
  /** WebSocket base URL of the signaling server, e.g. ws://127.0.0.1:7880 */
  url: string;
  token: string;
  identity: string;
  room: string;
  /** The grant's role as the server decided it (signed-in joins only). */
  role?: string;
}

function checkGrant<T extends JoinGrant>(grant: T): T {
  if (!grant || typeof grant.url !== 'string' || typeof grant.token !== 'string') {
    throw new ApiError('bad_response', 'missing url or token', 200);
  }
  return grant;
}

/** roomToken asks for a signed-in grant to a room; the grant follows the caller's role. */
export async function roomToken(room: string, schoolId?: number): Promise<JoinGrant> {
  return checkGrant(await request<JoinGrant>('POST', '/api/v1/rooms/token', schoolId ? { room, school_id: schoolId } : { room }));
}

/** devJoin asks the development join endpoint (servers started with --dev) for a grant. */
export async function devJoin(req: JoinRequest): Promise<JoinGrant> {
  return checkGrant(await request<JoinGrant>('POST', '/api/v1/dev/join', req, { quiet: true }));
}
