// Quality-lesson selection rounds (administrators) and the shared library
// (everyone signed in: students, teachers, experts and administrators).

import type { RouteRecordRaw } from 'vue-router';

export const selectionRoutes: RouteRecordRaw[] = [
  {
    path: '/admin/selection',
    name: 'admin-selection',
    component: () => import('@/views/selection/index.vue'),
    meta: { admin: true, roles: ['system_admin', 'district_admin', 'school_admin'] },
  },
  {
    path: '/admin/selection/:id(\\d+)',
    name: 'admin-selection-round',
    component: () => import('@/views/selection/round.vue'),
    meta: { admin: true, roles: ['system_admin', 'district_admin', 'school_admin'] },
  },
  { path: '/library', name: 'library', component: () => import('@/views/library/index.vue') },
  { path: '/library/:id(\\d+)', name: 'library-lesson', component: () => import('@/views/library/watch.vue') },
];
