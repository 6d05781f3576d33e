// The app's routes (hash history: #/signin, #/admin/users, …), one module
// per area, each page a lazily loaded chunk, and the guards: sign-in first,
// then a pending password change, then the home of the user's role.

import { createRouter, createWebHashHistory, type RouteLocationNormalized } from 'vue-router';

import type { Home } from '@/api/auth';
import type { UserRole } from '@/api/users';
import { homePaths, loadMe, session } from '@/stores/session';

import { adminRoutes } from './modules/admin';
import { authRoutes } from './modules/auth';
import { classesRoutes } from './modules/classes';
import { classroomRoutes } from './modules/classroom';
import { expertRoutes } from './modules/expert';
import { mediaRoutes } from './modules/media';
import { qaRoutes } from './modules/qa';
import { researchRoutes } from './modules/research';
import { reviewRoutes } from './modules/review';
import { selectionRoutes } from './modules/selection';
import { studentRoutes } from './modules/student';
import { teacherRoutes } from './modules/teacher';
import { tutoringRoutes } from './modules/tutoring';

declare module 'vue-router' {
  interface RouteMeta {
    /** Open without an account (the development join page, the class). */
    public?: boolean;
    /** The sign-in page: a signed-in user goes home instead. */
    signedOut?: boolean;
    /** The home of this role: other users go to their own. */
    home?: Home;
    /** Only administrators (users whose home is the admin home). */
    admin?: boolean;
    /** The user needs one of these roles. */
    roles?: UserRole[];
    /** The page takes the whole width (the class). */
    wide?: boolean;
  }
}

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', name: 'home', component: { render: () => null } },
    ...authRoutes,
    ...studentRoutes,
    ...teacherRoutes,
    ...expertRoutes,
    ...adminRoutes,
    ...classroomRoutes,
    ...classesRoutes,
    ...tutoringRoutes,
    ...mediaRoutes,
    ...qaRoutes,
    ...reviewRoutes,
    ...researchRoutes,
    ...selectionRoutes,
    { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('@/views/not-found/index.vue') },
  ],
});

/** allowed tells whether the signed-in user may see a page; App.vue shows "forbidden" instead. */
export function allowed(to: RouteLocationNormalized): boolean {
  const me = session.me;
  if (!me || to.meta.public) return true;
  if (to.meta.admin && me.home !== 'admin') return false;
  const roles = to.meta.roles;
  return !roles || roles.some((r) => me.user.roles?.includes(r));
}

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  if (session.me === undefined) await loadMe();
  const me = session.me;
  if (!me) {
    if (to.name === 'signin') return true;
    if (to.path !== '/' && to.path !== '/password') session.afterSignIn = to.fullPath;
    return { name: 'signin', replace: true };
  }
  if (me.user.must_change_password) return to.name === 'password' ? true : { name: 'password', replace: true };
  if (to.meta.signedOut || to.name === 'home') return { path: homePaths[me.home], replace: true };
  if (to.meta.home && to.meta.home !== me.home) return { path: homePaths[me.home], replace: true };
  return true;
});
