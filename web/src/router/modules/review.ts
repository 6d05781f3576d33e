// Lesson review: the teacher's feedback page, the expert's S-T trends and
// the administrators' rubric library, schemes, assignments and results. The expert reviews on
// the recording player (#/recordings/:id?assignment=N).

import type { RouteRecordRaw } from 'vue-router';

export const reviewRoutes: RouteRecordRaw[] = [
  { path: '/review/trends', name: 'review-trends', component: () => import('@/views/review/trends/index.vue'), meta: { roles: ['expert'] } },
  { path: '/review/feedback', name: 'review-feedback', component: () => import('@/views/review/FeedbackPage.vue'), meta: { roles: ['teacher'] } },
  {
    path: '/admin/review',
    name: 'admin-review',
    component: () => import('@/views/review/admin/index.vue'),
    meta: { admin: true, roles: ['system_admin', 'district_admin', 'school_admin'] },
  },
];
