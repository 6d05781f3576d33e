// Who may join a research group, as the member pickers offer them: the
// active teachers of the group's school (of the district, for a district
// group) and, for a district administrator, the district's experts. The
// server checks each member again.

import { listUsers, type User } from '@/api/users';
import { has } from '@/stores/session';

export interface Candidate {
  id: number;
  name: string;
}

export async function candidates(schoolId: number): Promise<Candidate[]> {
  const roles = has('district_admin') || has('system_admin') ? ['teacher', 'expert'] : ['teacher'];
  const out: User[] = [];
  for (const role of roles) {
    const r = await listUsers({ role, school_id: role === 'teacher' && schoolId ? schoolId : undefined, active: 'true', limit: 500 });
    out.push(...r.items);
  }
  return out.map((u) => ({ id: u.id, name: `${u.name}（${u.username}）` }));
}
