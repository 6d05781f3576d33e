// Shared parts of the admin pages.

import { api, type District, type School } from '../api';
import { h } from '../dom';
import { t } from '../i18n';
import { currentPath } from '../session';
import { tx } from '../ui';
import { adminLinks } from './home';

/** adminNav links the admin pages to each other; the current one is marked. */
export function adminNav(): HTMLElement {
  const here = currentPath();
  const nav = h('nav', { class: 'subnav', 'aria-label': t('nav.admin') }, tx('a', 'nav.home', undefined, { href: '#/' }));
  for (const l of adminLinks) {
    if (!l.show()) continue;
    nav.append(tx('a', l.key, undefined, { href: `#${l.path}`, 'aria-current': here === l.path ? 'page' : undefined }));
  }
  return nav;
}

/** allSchools lists the schools the caller may see (up to the API's page limit). */
export async function allSchools(): Promise<School[]> {
  const list = await api.get<{ items: School[]; total: number }>('/api/v1/schools?limit=500');
  return list.items ?? [];
}

export async function allDistricts(): Promise<District[]> {
  const list = await api.get<{ items: District[] }>('/api/v1/districts');
  return list.items ?? [];
}

/** editorCard wraps a create/edit form in a titled card. */
export function editorCard(form: HTMLFormElement): HTMLElement {
  return h('section', { class: 'card editor' }, form);
}
