// The admin pages, as the admin home's tiles and the admin pages' menu list them.

import type { Key } from '@/locales';
import { has } from '@/stores/session';

export interface AdminLink {
  path: string;
  key: Key;
  hint: Key;
  show: () => boolean;
}

export const adminLinks: AdminLink[] = [
  { path: '/admin/schools', key: 'nav.schools', hint: 'nav.schoolsHint', show: () => true },
  { path: '/admin/users', key: 'nav.users', hint: 'nav.usersHint', show: () => true },
  { path: '/admin/import', key: 'nav.import', hint: 'nav.importHint', show: () => true },
  { path: '/admin/classes', key: 'classes.nav', hint: 'classes.navHint', show: () => true },
  { path: '/admin/reports', key: 'nav.reports', hint: 'nav.reportsHint', show: () => has('school_admin') || has('district_admin') || has('system_admin') },
  { path: '/admin/targets', key: 'nav.targets', hint: 'nav.targetsHint', show: () => true },
  { path: '/admin/subjects', key: 'nav.subjects', hint: 'nav.subjectsHint', show: () => true },
  { path: '/admin/microlessons', key: 'nav.microlessons', hint: 'nav.microlessonsHint', show: () => true },
  { path: '/qa/search', key: 'qa.moderateNav', hint: 'qa.moderateNavHint', show: () => has('school_admin') || has('district_admin') },
  { path: '/admin/review', key: 'nav.review', hint: 'nav.reviewHint', show: () => true },
  { path: '/research', key: 'rs.title', hint: 'rs.navHint', show: () => true },
  { path: '/admin/selection', key: 'nav.selection', hint: 'nav.selectionHint', show: () => has('school_admin') || has('district_admin') || has('system_admin') },
  { path: '/library', key: 'lib.title', hint: 'lib.navHint', show: () => true },
  { path: '/recordings', key: 'nav.recordings', hint: 'nav.recordingsHint', show: () => true },
  { path: '/admin/jobs', key: 'nav.jobs', hint: 'nav.jobsHint', show: () => has('system_admin') || has('district_admin') },
  { path: '/admin/districts', key: 'nav.districts', hint: 'nav.districtsHint', show: () => has('system_admin') },
];
