// Who is signed in and what the server is. A reactive module the header,
// the router guards and the pages read.

import { reactive } from 'vue';

import { me as fetchMe, type Home, type Me, type ServerInfo } from '@/api/auth';
import { ApiError, setCsrf } from '@/api/http';
import { listSubjects, type Subject } from '@/api/subjects';
import type { UserRole } from '@/api/users';
import { lang, type Key } from '@/locales';

export const session = reactive<{
  /** undefined: not asked yet; null: signed out. */
  me: Me | null | undefined;
  info: ServerInfo | null;
  /** Where to go after signing in, when the user first asked for another page. */
  afterSignIn: string;
  /** Why asking who is signed in failed, other than for being signed out: shown once the page is up. */
  meError: unknown;
}>({ me: undefined, info: null, afterSignIn: '/', meError: null });

let subjectCache: Promise<Subject[]> | null = null;

export function setMe(me: Me | null): void {
  session.me = me;
  setCsrf(me?.csrf_token ?? '');
  subjectCache = null;
}

/** loadMe asks the server who is signed in; a failure other than a 401 is kept in meError. */
export async function loadMe(): Promise<void> {
  try {
    setMe(await fetchMe());
  } catch (err) {
    setMe(null);
    if (!(err instanceof ApiError && (err.status === 401 || err.code === 'unauthenticated'))) {
      console.error('GET /api/v1/me failed', err);
      session.meError = err;
    }
  }
}

/** The page each home lives at. */
export const homePaths: Record<Home, string> = {
  student: '/student',
  teacher: '/teacher',
  expert: '/expert',
  admin: '/admin',
};

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
  return !!session.me?.user.roles?.includes(r);
}

export function isDistrictLevel(): boolean {
  return has('district_admin') || has('system_admin');
}

/** subjects loads the subject list once per session. */
export function subjects(): Promise<Subject[]> {
  subjectCache ??= listSubjects().catch((err: unknown) => {
    subjectCache = null;
    throw err;
  });
  return subjectCache;
}

/** forgetSubjects drops the cached list (after the subjects page changed it). */
export function forgetSubjects(): void {
  subjectCache = null;
}

/** subjectLabel names a subject in the current language. */
export function subjectLabel(s: Subject): string {
  return lang() === 'en' && s.name_en ? s.name_en : s.name;
}

/** findSubject looks a subject up by id (or code); undefined when it cannot be found. */
export async function findSubject(id: number, code?: string): Promise<Subject | undefined> {
  try {
    const all = await subjects();
    return all.find((x) => x.id === id) ?? all.find((x) => x.code === code);
  } catch {
    return undefined;
  }
}
