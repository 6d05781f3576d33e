// One-to-one tutoring: asking, waiting, the session, the history.

import type { RouteRecordRaw } from 'vue-router';

export const tutoringRoutes: RouteRecordRaw[] = [
  { path: '/tutoring/ask', name: 'tutoring-ask', component: () => import('@/views/tutoring/ask/index.vue'), meta: { roles: ['student'] } },
  { path: '/tutoring/wait', name: 'tutoring-wait', component: () => import('@/views/tutoring/wait/index.vue'), meta: { roles: ['student'] } },
  {
    path: '/tutoring/session/:id(\\d+)',
    name: 'tutoring-session',
    component: () => import('@/views/tutoring/session/index.vue'),
  },
  {
    path: '/tutoring/history',
    name: 'tutoring-history',
    component: () => import('@/views/tutoring/history/index.vue'),
    meta: { roles: ['student', 'teacher'] },
  },
];
