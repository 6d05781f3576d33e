// Sign-in and the password change every new account goes through first.

import { ApiError, changeOwnPassword, me as fetchMe, signIn, type Me } from '../api';
import { clearErrors } from '../banners';
import { h } from '../dom';
import { t } from '../i18n';
import { setMe, state } from '../session';
import { busy, clearNotices, FieldErrors, inputField, notify, setText, showApiError, tx } from '../ui';

export interface AuthHooks {
  /** Called after a successful sign-in or password change. */
  done(me: Me): void;
  /** Opens the development join page. */
  devJoin(): void;
}

let retryTimer: number | undefined;

export function renderSignIn(root: HTMLElement, hooks: AuthHooks): void {
  window.clearInterval(retryTimer);
  const username = inputField('username', 'signin.username', 'text', { testId: 'signin-username', attrs: { autocomplete: 'username', required: true, maxlength: 128 } });
  const password = inputField('password', 'signin.password', 'password', { testId: 'signin-password', attrs: { autocomplete: 'current-password', required: true, maxlength: 128 } });
  const errors = new FieldErrors();
  errors.add('username', username);
  errors.add('password', password);
  const message = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'signin-error', hidden: true });
  const submit = tx('button', 'signin.submit', undefined, { type: 'submit', class: 'btn primary wide', 'data-testid': 'signin-submit' });
  const form = h('form', { class: 'card auth-card', novalidate: true, 'data-testid': 'signin-form' }, tx('h1', 'signin.heading'), tx('p', 'signin.intro', undefined, { class: 'muted' }), message, username.box, password.box, submit);

  const showMessage = (key: Parameters<typeof setText>[1], params?: Record<string, string | number>, code = '') => {
    message.hidden = false;
    message.dataset.code = code;
    setText(message, key, params);
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    message.hidden = true;
    errors.clear();
    clearNotices();
    const u = username.input.value.trim();
    const p = password.input.value;
    if (!u) errors.local('username', 'form.required', { field: t('signin.username') });
    if (!p) errors.local('password', 'form.required', { field: t('signin.password') });
    if (!u || !p) {
      (u ? password.input : username.input).focus();
      return;
    }
    void busy(submit, 'signin.submitting', async () => {
      try {
        const me = await signIn(u, p);
        setMe(me);
        hooks.done(me);
      } catch (err) {
        if (!(err instanceof ApiError)) return showApiError(err);
        switch (err.code) {
          case 'invalid_credentials':
          case 'unauthenticated':
            showMessage('signin.invalid', undefined, 'invalid_credentials');
            password.input.value = '';
            password.input.focus();
            return;
          case 'rate_limited': {
            let left = err.retryAfter || 60;
            showMessage('signin.rateLimited', { seconds: left }, 'rate_limited');
            window.clearInterval(retryTimer);
            retryTimer = window.setInterval(() => {
              left -= 1;
              if (!form.isConnected || left <= 0) {
                window.clearInterval(retryTimer);
                if (form.isConnected) setText(message, 'signin.rateLimitedOver');
                return;
              }
              setText(message, 'signin.rateLimited', { seconds: left });
            }, 1000);
            return;
          }
          case 'unreachable':
            showMessage('signin.unreachable', undefined, 'unreachable');
            return;
          case 'busy':
            showMessage('signin.busy', { seconds: err.retryAfter || 2 }, 'busy');
            return;
          default:
            if (Object.keys(err.fields).length) {
              errors.show(err.fields);
              showMessage('error.fieldsInvalid', undefined, err.code);
            } else {
              showMessage('error.server', { message: err.message }, err.code);
            }
        }
      }
    });
  });

  const wrap = h('section', { class: 'auth-view', 'data-testid': 'signin-page' }, form);
  if (state.info?.development) {
    const link = tx('a', 'signin.devJoin', undefined, { href: '#/dev-join', class: 'dev-link', 'data-testid': 'dev-join-link' });
    link.addEventListener('click', (ev) => {
      ev.preventDefault();
      hooks.devJoin();
    });
    wrap.append(h('p', { class: 'dev-join' }, link));
  }
  root.replaceChildren(wrap);
  username.input.focus();
}

export function renderChangePassword(root: HTMLElement, hooks: AuthHooks & { cancel?: () => void }): void {
  const forced = !!state.me?.user.must_change_password;
  const current = inputField('current_password', 'password.current', 'password', { testId: 'pw-current', attrs: { autocomplete: 'current-password', maxlength: 128 } });
  const next = inputField('new_password', 'password.new', 'password', { testId: 'pw-new', hint: 'password.rule', attrs: { autocomplete: 'new-password', minlength: 8, maxlength: 128 } });
  const again = inputField('confirm', 'password.confirm', 'password', { testId: 'pw-confirm', attrs: { autocomplete: 'new-password', maxlength: 128 } });
  const errors = new FieldErrors();
  errors.add('current_password', current);
  errors.add('new_password', next);
  errors.add('confirm', again);
  const submit = tx('button', 'password.submit', undefined, { type: 'submit', class: 'btn primary wide', 'data-testid': 'pw-submit' });
  const form = h(
    'form',
    { class: 'card auth-card', novalidate: true, 'data-testid': 'change-password' },
    tx('h1', 'password.heading'),
    forced ? tx('p', 'password.forced', undefined, { class: 'notice', 'data-testid': 'pw-forced' }) : null,
    current.box,
    next.box,
    again.box,
    submit,
  );
  if (!forced && hooks.cancel) {
    const cancel = tx('button', 'action.cancel', undefined, { type: 'button', class: 'btn ghost wide' });
    cancel.addEventListener('click', () => hooks.cancel?.());
    form.append(cancel);
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    errors.clear();
    clearErrors();
    let ok = true;
    if (!current.input.value) {
      errors.local('current_password', 'form.required', { field: t('password.current') });
      ok = false;
    }
    const n = next.input.value;
    if (n.length < 8 || n.length > 128) {
      errors.local('new_password', 'password.rule');
      ok = false;
    } else if (n === current.input.value) {
      errors.local('new_password', 'password.same');
      ok = false;
    }
    if (again.input.value !== n) {
      errors.local('confirm', 'password.mismatch');
      ok = false;
    }
    if (!ok) return;
    void busy(submit, 'password.submitting', async () => {
      try {
        await changeOwnPassword(current.input.value, n);
        const me = await fetchMe();
        setMe(me);
        notify({ key: 'password.changed' }, 'password-changed', true);
        hooks.done(me);
      } catch (err) {
        if (err instanceof ApiError && (err.code === 'invalid_credentials' || (err.status === 401 && !err.fields.current_password) || err.code === 'wrong_password')) {
          errors.local('current_password', 'password.wrongCurrent');
          current.input.focus();
          return;
        }
        showApiError(err, errors);
      }
    });
  });
  root.replaceChildren(h('section', { class: 'auth-view', 'data-testid': 'change-password-page' }, form));
  current.input.focus();
}
