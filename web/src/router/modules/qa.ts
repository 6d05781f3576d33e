// The Q&A centre: asking, the lists, searching, one question. Moderators
// (school and district admins) search and open questions to hide content.

import type { RouteRecordRaw } from 'vue-router';

export const qaRoutes: RouteRecordRaw[] = [
  { path: '/qa', name: 'qa', component: () => import('@/views/qa/index.vue'), meta: { roles: ['student', 'teacher'] } },
  { path: '/qa/ask', name: 'qa-ask', component: () => import('@/views/qa/ask.vue'), meta: { roles: ['student'] } },
  { path: '/qa/search', name: 'qa-search', component: () => import('@/views/qa/search.vue'), meta: { roles: ['student', 'teacher', 'school_admin', 'district_admin'] } },
  { path: '/qa/:id(\\d+)', name: 'qa-question', component: () => import('@/views/qa/question.vue'), meta: { roles: ['student', 'teacher', 'school_admin', 'district_admin'] } },
];
