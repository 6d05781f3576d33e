// Scheduled classes: the administrators' timetable and a class's record
// (its teacher's and the reviewers'; the server decides who sees which).
// The homes show the timetables; the class itself is the classroom route.

import type { RouteRecordRaw } from 'vue-router';

export const classesRoutes: RouteRecordRaw[] = [
  { path: '/admin/classes', name: 'admin-classes', component: () => import('@/views/classes/admin.vue'), meta: { admin: true } },
  {
    path: '/classes/:id(\\d+)/record',
    name: 'class-record',
    component: () => import('@/views/classes/record.vue'),
    meta: { roles: ['teacher', 'expert', 'school_admin', 'district_admin', 'system_admin'] },
  },
];
