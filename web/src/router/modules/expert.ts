// The expert's home.

import type { RouteRecordRaw } from 'vue-router';

export const expertRoutes: RouteRecordRaw[] = [
  { path: '/expert', name: 'expert-home', component: () => import('@/views/expert/index.vue'), meta: { home: 'expert' } },
];
