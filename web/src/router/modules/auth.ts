// Signing in and the password change every new account goes through first.

import type { RouteRecordRaw } from 'vue-router';

export const authRoutes: RouteRecordRaw[] = [
  { path: '/signin', name: 'signin', component: () => import('@/views/signin/index.vue'), meta: { signedOut: true } },
  { path: '/password', name: 'password', component: () => import('@/views/password/index.vue') },
];
