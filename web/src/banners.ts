// Page-wide notices: errors, the reconnecting notice and the audio prompt.

import { h } from './dom';
import { t, type Message } from './i18n';

export type BannerKind = 'error' | 'warning' | 'info';

export interface Banner {
  kind: BannerKind;
  message: Message;
  /** A machine-readable cause, exposed as data-code (e.g. 'auth', 'unreachable'). */
  code?: string;
  /** An action button shown in the banner. */
  action?: { label: Message; run: () => void; testId?: string };
  dismissible?: boolean;
  testId?: string;
}

const banners = new Map<string, Banner>();
let container: HTMLElement | null = null;

export function mountBanners(el: HTMLElement): void {
  container = el;
  renderBanners();
}

export function showBanner(id: string, banner: Banner): void {
  banners.set(id, banner);
  renderBanners();
}

export function hideBanner(id: string): void {
  if (banners.delete(id)) renderBanners();
}

/** clearErrors removes every error banner. */
export function clearErrors(): void {
  for (const [id, b] of banners) if (b.kind === 'error') banners.delete(id);
  renderBanners();
}

export function renderBanners(): void {
  if (!container) return;
  container.replaceChildren(
    ...[...banners].map(([id, b]) => {
      const el = h(
        'div',
        {
          class: `banner banner-${b.kind}`,
          role: b.kind === 'error' ? 'alert' : 'status',
          'data-testid': b.testId ?? `banner-${b.kind}`,
          'data-code': b.code,
        },
        h('span', { class: 'banner-text', text: t(b.message.key, b.message.params) }),
      );
      if (b.action) {
        const action = b.action;
        const btn = h('button', { type: 'button', class: 'btn small', 'data-testid': action.testId, text: t(action.label.key, action.label.params) });
        btn.addEventListener('click', () => action.run());
        el.append(btn);
      }
      if (b.dismissible !== false && b.kind === 'error') {
        const close = h('button', { type: 'button', class: 'banner-close', title: t('error.close'), 'aria-label': t('error.close'), text: '×' });
        close.addEventListener('click', () => hideBanner(id));
        el.append(close);
      }
      return el;
    }),
  );
}
