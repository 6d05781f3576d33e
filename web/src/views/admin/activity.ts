// The recent activity in words: "who did what to whom". The activity log
// holds ids ("user:42", actor 7, {"teacher_id": 9}); the names are looked up
// here through the API the admin may read (users, schools, districts,
// subjects, tutoring sessions). Ids that cannot be resolved stay "#id".

import type { Activity } from '@/api/activity';
import { listDistricts, type District } from '@/api/districts';
import { allSchools, type School } from '@/api/schools';
import type { Subject } from '@/api/subjects';
import { getSession, type TutoringSession } from '@/api/tutoring';
import { getUser } from '@/api/users';
import zhCN from '@/locales/zh-CN';
import { t, type Key, type Params } from '@/locales';
import { findSubject, subjectLabel } from '@/stores/session';
import { durationText } from '@/utils/format';

/** A name: text from the server, or one of ours translated when shown. */
type Name = { text: string } | { key: Key; params?: Params };

/** What one line says, with every name resolved. */
export interface ActivityLine {
  id: number;
  at: string;
  key: Key;
  names: Record<string, Name>;
  subject?: Subject;
  numbers: Params;
  school: string;
}

const system: Name = { key: 'activity.system' };
const someone = (id: number): Name => ({ key: 'activity.someone', params: { id } });

/** Caches the lookups of one rendering of the list. */
class Names {
  private readonly users = new Map<number, Promise<Name>>();
  private readonly sessions = new Map<number, Promise<TutoringSession | null>>();
  private schools: Promise<School[]> | null = null;
  private districts: Promise<District[]> | null = null;

  user(id: number): Promise<Name> {
    if (!id) return Promise.resolve(system);
    let p = this.users.get(id);
    if (!p) {
      p = getUser(id).then(
        (u): Name => ({ text: u.name || u.username }),
        () => someone(id),
      );
      this.users.set(id, p);
    }
    return p;
  }

  async school(id: number): Promise<string> {
    this.schools ??= allSchools().catch(() => []);
    return (await this.schools).find((s) => s.id === id)?.name ?? `#${id}`;
  }

  async district(id: number): Promise<string> {
    this.districts ??= listDistricts().catch(() => []);
    return (await this.districts).find((d) => d.id === id)?.name ?? `#${id}`;
  }

  session(id: number): Promise<TutoringSession | null> {
    let p = this.sessions.get(id);
    if (!p) {
      p = getSession(id).catch(() => null);
      this.sessions.set(id, p);
    }
    return p;
  }
}

function detailOf(a: Activity): Record<string, unknown> {
  if (!a.detail) return {};
  try {
    const d = JSON.parse(a.detail) as unknown;
    return d && typeof d === 'object' ? (d as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** parseRef splits "school:3" or "target:3:2026" into its kind and numbers. */
function parseRef(s: string | undefined): { kind: string; ids: number[] } {
  const [kind = '', ...rest] = (s ?? '').split(':');
  return { kind, ids: rest.map(Number).filter((n) => Number.isFinite(n)) };
}

async function target(names: Names, a: Activity): Promise<Name> {
  if (a.subject_name) return { text: a.subject_name };
  const { kind, ids } = parseRef(a.subject);
  const id = ids[0] ?? 0;
  switch (kind) {
    case 'user':
      return names.user(id);
    case 'school':
    case 'target':
      return { text: await names.school(id) };
    case 'district':
      return { text: await names.district(id) };
    case 'subject': {
      const s = await findSubject(id);
      return { text: s ? subjectLabel(s) : `#${id}` };
    }
    default:
      return { text: a.subject ?? '' };
  }
}

async function describe(names: Names, a: Activity): Promise<ActivityLine> {
  const detail = detailOf(a);
  const sessionId = parseRef(a.session_id).ids[0] ?? 0;
  const known = (text: string | undefined): Name | null => (text ? { text } : null);
  const needSession = sessionId && !(a.student_name && a.teacher_name);
  const [actor, what, subject, session, teacherById, school] = await Promise.all([
    a.actor_name !== undefined ? (known(a.actor_name) ?? system) : names.user(a.actor_id),
    target(names, a),
    a.subject_id ? findSubject(a.subject_id) : Promise.resolve(undefined),
    needSession ? names.session(sessionId) : Promise.resolve(null),
    !a.teacher_name && typeof detail.teacher_id === 'number' ? names.user(detail.teacher_id) : Promise.resolve(null),
    a.school_name ?? (a.school_id ? names.school(a.school_id) : ''),
  ]);
  const teacher = known(a.teacher_name) ?? known(session?.teacher_name) ?? teacherById ?? { key: 'activity.aTeacher' };
  const student = known(a.student_name) ?? known(session?.student_name) ?? { key: 'activity.aStudent' };
  let key = `activity.${a.action}` as Key;
  if (!(key in zhCN)) key = 'activity.other';
  if (a.action === 'user.password' && a.subject === `user:${a.actor_id}`) key = 'activity.user.passwordOwn';
  const year = parseRef(a.subject).ids[1];
  return {
    id: a.id,
    at: a.at,
    key,
    names: { actor, target: what, teacher, student, action: { text: a.action } },
    subject,
    numbers: { n: a.value, year: year ?? '', durationS: a.value },
    school,
  };
}

/** describeAll resolves the names of a list of entries. */
export function describeAll(items: Activity[]): Promise<ActivityLine[]> {
  const names = new Names();
  return Promise.all(items.map((a) => describe(names, a)));
}

function nameText(n: Name): string {
  return 'text' in n ? n.text : t(n.key, n.params);
}

/** sentence says a line in the current language. */
export function sentence(line: ActivityLine): string {
  const params: Params = { n: line.numbers.n ?? 0, year: line.numbers.year ?? '', duration: durationText(Number(line.numbers.durationS) || 0) };
  for (const [k, v] of Object.entries(line.names)) params[k] = nameText(v);
  params.subject = line.subject ? subjectLabel(line.subject) : '—';
  return t(line.key, params);
}
