// The administrators' home and pages (districts for system administrators).

import type { RouteRecordRaw } from 'vue-router';

export const adminRoutes: RouteRecordRaw[] = [
  { path: '/admin', name: 'admin-home', component: () => import('@/views/admin/index.vue'), meta: { home: 'admin' } },
  { path: '/admin/schools', name: 'admin-schools', component: () => import('@/views/admin/schools/index.vue'), meta: { admin: true } },
  { path: '/admin/users', name: 'admin-users', component: () => import('@/views/admin/users/index.vue'), meta: { admin: true } },
  { path: '/admin/import', name: 'admin-import', component: () => import('@/views/admin/import/index.vue'), meta: { admin: true } },
  { path: '/admin/targets', name: 'admin-targets', component: () => import('@/views/admin/targets/index.vue'), meta: { admin: true } },
  { path: '/admin/subjects', name: 'admin-subjects', component: () => import('@/views/admin/subjects/index.vue'), meta: { admin: true } },
  {
    path: '/admin/reports',
    name: 'admin-reports',
    component: () => import('@/views/admin/reports/index.vue'),
    meta: { roles: ['system_admin', 'district_admin', 'school_admin', 'expert'] },
  },
  {
    path: '/admin/jobs',
    name: 'admin-jobs',
    component: () => import('@/views/admin/jobs/index.vue'),
    meta: { admin: true, roles: ['system_admin', 'district_admin'] },
  },
  {
    path: '/admin/districts',
    name: 'admin-districts',
    component: () => import('@/views/admin/districts/index.vue'),
    meta: { admin: true, roles: ['system_admin'] },
  },
];
