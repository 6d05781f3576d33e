// Teaching research (网络教研): research groups, their activities and
// discussions. Members (teachers, experts) and administrators; the server
// decides which groups each sees.

import type { RouteRecordRaw } from 'vue-router';

const roles = ['teacher', 'expert', 'school_admin', 'district_admin', 'system_admin'] as const;

export const researchRoutes: RouteRecordRaw[] = [
  { path: '/research', name: 'research', component: () => import('@/views/research/index.vue'), meta: { roles: [...roles] } },
  { path: '/research/groups/:id(\\d+)', name: 'research-group', component: () => import('@/views/research/GroupPage.vue'), meta: { roles: [...roles] } },
  { path: '/research/activities/:id(\\d+)', name: 'research-activity', component: () => import('@/views/research/ActivityPage.vue'), meta: { roles: [...roles] } },
];
