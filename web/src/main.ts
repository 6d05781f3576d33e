// Yunke browser app: Vue with vue-router (one lazily loaded chunk per page),
// vue-i18n and Element Plus. This file wires the tab-wide parts: the session
// hook of the API client, the event socket and the tutoring state it feeds.

import './styles/index.css';

import { createApp, watch } from 'vue';

import { serverInfo } from '@/api/auth';
import { startEvents, stopEvents } from '@/api/events';
import { ApiError, onSessionProblem } from '@/api/http';
import { i18n, lang, t } from '@/locales';
import { router } from '@/router';
import { pageChanged, showBanner, showError } from '@/stores/banners';
import { session, setMe } from '@/stores/session';
import { forgetTutoring, initTutoring } from '@/stores/tutoring';
import { errorMessage } from '@/utils/errors';

import App from './App.vue';

window.yunke = { room: null };
document.documentElement.lang = lang();

initTutoring({
  navigate: (path) => void router.push(path),
  currentPath: () => router.currentRoute.value.path,
});

/** A signed-in call found the session gone or a password change pending. */
onSessionProblem((problem) => {
  stopEvents();
  const here = router.currentRoute.value;
  // A class goes on; the page changes once it ends.
  const inClass = here.name === 'class';
  if (problem === 'unauthenticated') {
    if (!session.me) return;
    forgetTutoring();
    setMe(null);
    showBanner('session', { kind: 'warning', code: 'session_expired', message: { key: 'signin.expired' }, testId: 'banner-session' });
    if (!inClass) {
      if (here.name !== 'signin' && here.name !== 'dev-join') session.afterSignIn = here.fullPath;
      void router.push('/signin');
    }
  } else if (session.me) {
    session.me.user.must_change_password = true;
    if (!inClass) void router.push('/password');
  }
});

// The event socket runs while a user is signed in and done with the password change.
watch(
  () => !!session.me && !session.me.user.must_change_password,
  (on) => (on ? startEvents() : stopEvents()),
);

router.afterEach((to) => {
  pageChanged();
  // Why /me failed, if it did (the page change above clears errors).
  if (session.meError) {
    const err = session.meError;
    session.meError = null;
    showError(err instanceof ApiError ? err.code : 'error', errorMessage(err), 'me');
  }
  document.body.dataset.route = to.path;
});

watch(
  () => t('app.title'),
  (title) => (document.title = title),
  { immediate: true },
);

const app = createApp(App);
app.use(i18n);
app.use(router);

void Promise.all([
  serverInfo().then((info) => (session.info = info)),
  router.isReady(),
]).finally(() => {
  app.mount('#app');
  document.body.dataset.ready = 'true';
});
