// The Q&A centre: asking, the lists, one question.

import type { RouteRecordRaw } from 'vue-router';

export const qaRoutes: RouteRecordRaw[] = [
  { path: '/qa', name: 'qa', component: () => import('@/views/qa/index.vue'), meta: { roles: ['student', 'teacher'] } },
  { path: '/qa/ask', name: 'qa-ask', component: () => import('@/views/qa/ask.vue'), meta: { roles: ['student'] } },
  { path: '/qa/:id(\\d+)', name: 'qa-question', component: () => import('@/views/qa/question.vue'), meta: { roles: ['student', 'teacher'] } },
];
