// Who is signed in, what the server is, and moving between pages.

import { setCsrf, type Me, type ServerInfo, type Subject, type UserRole, api } from './api';
import type { Key } from './i18n';

export const state: {
  /** undefined: not asked yet; null: signed out. */
  me: Me | null | undefined;
  info: ServerInfo | null;
  subjects: Subject[] | null;
} = { me: undefined, info: null, subjects: null };

export function setMe(me: Me | null): void {
  state.me = me;
  setCsrf(me?.csrf_token ?? '');
  state.subjects = null;
}

/** navigate goes to a hash route such as '/admin/schools'. */
export function navigate(path: string): void {
  const target = `#${path}`;
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = target;
}

/** currentPath is the route in the address bar, '/' when there is none. */
export function currentPath(): string {
  const raw = location.hash.replace(/^#/, '');
  return raw.startsWith('/') ? raw : '/';
}

const rank: UserRole[] = ['system_admin', 'district_admin', 'school_admin', 'expert', 'teacher', 'student'];

/** primaryRole is the role the header shows: the highest the user has. */
export function primaryRole(roles: UserRole[] | null | undefined): UserRole {
  for (const r of rank) if (roles?.includes(r)) return r;
  return 'student';
}

export function roleKey(r: UserRole): Key {
  return `role.${r}` as Key;
}

export function has(r: UserRole): boolean {
  return !!state.me?.user.roles?.includes(r);
}

export function isDistrictLevel(): boolean {
  return has('district_admin') || has('system_admin');
}

/** subjects loads the subject list once per session. */
export async function subjects(): Promise<Subject[]> {
  if (!state.subjects) {
    const list = await api.get<{ items: Subject[] }>('/api/v1/subjects');
    state.subjects = list.items ?? [];
  }
  return state.subjects;
}
