// The teacher's home.

import type { RouteRecordRaw } from 'vue-router';

export const teacherRoutes: RouteRecordRaw[] = [
  { path: '/teacher', name: 'teacher-home', component: () => import('@/views/teacher/index.vue'), meta: { home: 'teacher' } },
];
