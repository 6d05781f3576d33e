// Yunke browser app: a hash-routed shell around sign-in, the role homes, the
// admin pages, the development join page and the live classroom.

import './style.css';

import type { Room } from 'livekit-client';

import { ApiError, me as fetchMe, onSessionProblem, serverInfo, signOut, type Me } from './api';
import { clearErrors, hideBanner, mountBanners, renderBanners, showBanner } from './banners';
import type { Classroom } from './classroom';
import { hideDevJoin, initDevJoin, renderDevJoin, showDevJoin } from './devjoin';
import { byId, h } from './dom';
import { startEvents, stopEvents } from './events';
import { applyI18n, lang, onLangChange, setLang, t } from './i18n';
import { inClass, leaveClassroom, type Failure } from './live';
import { renderChangePassword, renderSignIn, type AuthHooks } from './pages/auth';
import { renderDistricts } from './pages/districts';
import { renderHome } from './pages/home';
import { renderImport } from './pages/import';
import { renderSchools } from './pages/schools';
import { renderSubjects } from './pages/subjects';
import { renderTargets } from './pages/targets';
import { renderTutoring } from './pages/tutoring';
import { renderUsers } from './pages/users';
import { currentPath, has, navigate, primaryRole, roleKey, setMe, state } from './session';
import { forgetTutoring, initTutoring, sessionPath } from './tutoring';
import { activeRoom, leaveActiveRoom } from './tutoring-room';
import { errorMessage, notify, pageChanged, setText, tx } from './ui';

declare global {
  interface Window {
    /** Handle for diagnostics and browser tests. */
    yunke: { room: Room | null; classroom: Classroom | null };
  }
}

window.yunke = { room: null, classroom: null };

const els = {
  page: byId('page-view'),
  langToggle: byId<HTMLButtonElement>('lang-toggle'),
  version: byId('version'),
  userMeta: byId('user-meta'),
  userName: byId('user-name'),
  userRole: byId('user-role'),
  userSchool: byId('user-school'),
  signout: byId<HTMLButtonElement>('signout'),
};

const adminRoutes: Record<string, (root: HTMLElement) => void> = {
  '/admin/schools': renderSchools,
  '/admin/users': renderUsers,
  '/admin/import': renderImport,
  '/admin/targets': renderTargets,
  '/admin/subjects': renderSubjects,
  '/admin/districts': (root) => (has('system_admin') ? renderDistricts(root) : renderForbidden(root)),
};

/** Where to go after signing in, when the user first asked for another page. */
let afterSignIn = '/';

function replacePath(path: string): void {
  history.replaceState(history.state, '', `${location.pathname}${location.search}#${path}`);
}

function showPage(): void {
  hideDevJoin();
  els.page.hidden = false;
  document.body.dataset.view = 'page';
}

function renderHeader(): void {
  const me = state.me;
  els.userMeta.hidden = !me;
  if (!me) return;
  els.userName.textContent = me.user.name || me.user.username;
  setText(els.userRole, roleKey(primaryRole(me.user.roles)));
  els.userSchool.textContent = me.school?.name ?? me.district?.name ?? '';
  els.userSchool.hidden = !els.userSchool.textContent;
}

function renderForbidden(root: HTMLElement): void {
  root.replaceChildren(h('section', { class: 'card message-card', 'data-testid': 'forbidden' }, tx('h1', 'page.forbidden'), tx('p', 'page.forbiddenText'), tx('a', 'nav.home', undefined, { href: '#/' })));
}

function renderNotFound(root: HTMLElement): void {
  root.replaceChildren(h('section', { class: 'card message-card', 'data-testid': 'not-found' }, tx('h1', 'page.notFound'), tx('a', 'nav.home', undefined, { href: '#/' })));
}

function renderDevUnavailable(root: HTMLElement): void {
  root.replaceChildren(h('section', { class: 'card message-card', 'data-testid': 'dev-unavailable' }, tx('h1', 'join.heading'), tx('p', 'join.unavailable'), tx('a', 'signin.heading', undefined, { href: '#/signin' })));
}

/** afterClass shows the page the class was started from again. */
function afterClass(failure: Failure | null): void {
  if (currentPath() === '/dev-join') {
    showDevJoin(failure);
    return;
  }
  showPage();
  if (failure) showBanner('error', { kind: 'error', code: failure.code, message: failure.message, testId: 'banner-error' });
}

const authHooks: AuthHooks & { cancel: () => void } = {
  done(me: Me) {
    hideBanner('session');
    renderHeader();
    const to = me.user.must_change_password ? '/password' : afterSignIn;
    afterSignIn = '/';
    navigate(to === '/signin' ? '/' : to);
  },
  devJoin() {
    navigate('/dev-join');
  },
  cancel() {
    navigate('/');
  },
};

async function ensureMe(): Promise<void> {
  if (state.me !== undefined) return;
  try {
    setMe(await fetchMe());
  } catch (err) {
    setMe(null);
    if (!(err instanceof ApiError && (err.status === 401 || err.code === 'unauthenticated'))) {
      console.error('GET /api/v1/me failed', err);
      showBanner('me', { kind: 'error', code: err instanceof ApiError ? err.code : 'error', message: errorMessage(err), testId: 'banner-error' });
    }
  }
}

let routeSeq = 0;

async function route(): Promise<void> {
  const seq = ++routeSeq;
  const path = currentPath();
  if (inClass() && document.body.dataset.view === 'room') await leaveClassroom();
  // Leaving a tutoring session's page leaves its room (the session goes on).
  const tutoringRoom = activeRoom();
  if (tutoringRoom && path !== sessionPath(tutoringRoom.id)) await leaveActiveRoom();
  clearErrors();
  pageChanged();
  if (path === '/dev-join') {
    if (state.info?.development === false) {
      showPage();
      renderDevUnavailable(els.page);
    } else {
      els.page.hidden = true;
      showDevJoin(null);
    }
    renderHeader();
    return;
  }
  await ensureMe();
  if (seq !== routeSeq) return;
  renderHeader();
  showPage();
  const me = state.me;
  if (!me) stopEvents();
  else if (!me.user.must_change_password) startEvents();
  else stopEvents();
  if (!me) {
    if (path !== '/signin') {
      if (path !== '/' && path !== '/password') afterSignIn = path;
      replacePath('/signin');
    }
    renderSignIn(els.page, authHooks);
    return;
  }
  if (me.user.must_change_password) {
    if (path !== '/password') replacePath('/password');
    renderChangePassword(els.page, authHooks);
    return;
  }
  if (path === '/signin') {
    replacePath('/');
    renderHome(els.page, { classEnded: afterClass });
    return;
  }
  if (path === '/password') {
    renderChangePassword(els.page, authHooks);
    return;
  }
  if (path === '/') {
    renderHome(els.page, { classEnded: afterClass });
    return;
  }
  if (path.startsWith('/tutoring/') && renderTutoring(els.page, path, renderForbidden)) return;
  if (path.startsWith('/admin/')) {
    const page = adminRoutes[path];
    if (!page) renderNotFound(els.page);
    else if (me.home !== 'admin') renderForbidden(els.page);
    else page(els.page);
    return;
  }
  renderNotFound(els.page);
}

function runRoute(): void {
  void route().finally(() => {
    document.body.dataset.route = currentPath();
    document.body.dataset.ready = 'true';
  });
}

async function doSignOut(): Promise<void> {
  els.signout.disabled = true;
  try {
    if (inClass()) await leaveClassroom();
    await leaveActiveRoom();
    stopEvents();
    forgetTutoring();
    await signOut().catch((err) => console.warn('sign-out request failed', err));
  } finally {
    els.signout.disabled = false;
  }
  setMe(null);
  renderHeader();
  afterSignIn = '/';
  notify({ key: 'signin.signedOut' }, 'signed-out', true);
  navigate('/signin');
}

function renderStatic(): void {
  document.documentElement.lang = lang();
  document.title = t('app.title');
  applyI18n(document);
  renderDevJoin();
  renderBanners();
  renderVersion();
}

function renderVersion(): void {
  const info = state.info;
  if (!info) {
    els.version.textContent = t('app.title');
    return;
  }
  const parts = [t('footer.version', { version: info.version })];
  if (info.development) parts.push(t('footer.dev'));
  els.version.textContent = parts.join(' · ');
}

async function init(): Promise<void> {
  mountBanners(byId('banners'));
  initDevJoin(afterClass);
  els.langToggle.addEventListener('click', () => setLang(lang() === 'zh-CN' ? 'en' : 'zh-CN'));
  els.signout.addEventListener('click', () => void doSignOut());
  onLangChange(renderStatic);
  initTutoring();
  onSessionProblem((code) => {
    if (code === 'unauthenticated') {
      stopEvents();
      if (!state.me) return;
      void leaveActiveRoom();
      forgetTutoring();
      setMe(null);
      renderHeader();
      showBanner('session', { kind: 'warning', code: 'session_expired', message: { key: 'signin.expired' }, testId: 'banner-session' });
      if (!inClass()) {
        const p = currentPath();
        if (p !== '/signin' && p !== '/dev-join') afterSignIn = p;
        navigate('/signin');
      }
    } else if (state.me) {
      stopEvents();
      state.me.user.must_change_password = true;
      if (!inClass()) navigate('/password');
    }
  });
  renderStatic();
  state.info = await serverInfo();
  renderVersion();
  window.addEventListener('hashchange', runRoute);
  runRoute();
}

void init();
