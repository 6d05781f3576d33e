// The live class and the development join page ("try a class"): the only
// pages, with the tutoring room, whose chunks carry livekit-client.

import type { RouteRecordRaw } from 'vue-router';

export const classroomRoutes: RouteRecordRaw[] = [
  { path: '/dev-join', name: 'dev-join', component: () => import('@/views/dev-join/index.vue'), meta: { public: true } },
  { path: '/class/:room', name: 'class', component: () => import('@/views/classroom/index.vue'), meta: { public: true, wide: true } },
];
