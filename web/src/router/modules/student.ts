// The student's home.

import type { RouteRecordRaw } from 'vue-router';

export const studentRoutes: RouteRecordRaw[] = [
  { path: '/student', name: 'student-home', component: () => import('@/views/student/index.vue'), meta: { home: 'student' } },
];
