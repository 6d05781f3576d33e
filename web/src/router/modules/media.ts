// Recorded lessons and micro-lessons: the catalogue and the player of
// recordings, a teacher's uploads and list, the administrators' review,
// and the published micro-lessons everyone signed in may watch.

import type { RouteRecordRaw } from 'vue-router';

export const mediaRoutes: RouteRecordRaw[] = [
  {
    path: '/recordings',
    name: 'recordings',
    component: () => import('@/views/recordings/index.vue'),
    meta: { roles: ['teacher', 'expert', 'school_admin', 'district_admin', 'system_admin'] },
  },
  {
    path: '/recordings/compare',
    name: 'recordings-compare',
    component: () => import('@/views/recordings/compare/index.vue'),
    meta: { roles: ['teacher', 'expert', 'school_admin', 'district_admin', 'system_admin'] },
  },
  {
    path: '/recordings/:id(\\d+)',
    name: 'recording-player',
    component: () => import('@/views/recordings/player/index.vue'),
    meta: { roles: ['teacher', 'expert', 'school_admin', 'district_admin', 'system_admin'] },
  },
  { path: '/microlessons', name: 'microlessons', component: () => import('@/views/microlessons/browse/index.vue') },
  { path: '/microlessons/new', name: 'microlesson-upload', component: () => import('@/views/microlessons/upload/index.vue'), meta: { roles: ['teacher'] } },
  { path: '/microlessons/mine', name: 'microlessons-mine', component: () => import('@/views/microlessons/mine/index.vue'), meta: { roles: ['teacher'] } },
  { path: '/microlessons/:id(\\d+)', name: 'microlesson', component: () => import('@/views/microlessons/watch/index.vue') },
  { path: '/admin/microlessons', name: 'admin-microlessons', component: () => import('@/views/microlessons/review/index.vue'), meta: { admin: true } },
];
