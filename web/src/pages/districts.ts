// Districts, for system administrators: list and create.

import { api, type District } from '../api';
import { clearErrors } from '../banners';
import { h } from '../dom';
import { t } from '../i18n';
import { busy, FieldErrors, formatDateTime, inputField, loading, notify, pageHeader, showApiError, table, tx } from '../ui';
import { adminNav, allDistricts } from './admin';

export function renderDistricts(root: HTMLElement): void {
  const listBox = h('div', { class: 'list-box', 'data-testid': 'districts-list' });
  const load = async () => {
    listBox.replaceChildren(loading());
    try {
      const items = await allDistricts();
      listBox.replaceChildren(
        table<District>(
          [
            { head: 'districts.code', cell: (d) => d.code },
            { head: 'districts.name', cell: (d) => d.name },
            { head: 'districts.createdAt', cell: (d) => (d.created_at ? formatDateTime(d.created_at) : '—') },
          ],
          items,
          'districts.empty',
          { 'data-testid': 'districts-table' },
        ),
      );
    } catch (err) {
      listBox.replaceChildren();
      showApiError(err);
    }
  };

  const errors = new FieldErrors();
  const code = inputField('code', 'districts.code', 'text', { attrs: { maxlength: 64 } });
  const name = inputField('name', 'districts.name', 'text', { attrs: { maxlength: 128 } });
  errors.add('code', code);
  errors.add('name', name);
  const save = tx('button', 'districts.create', undefined, { type: 'submit', class: 'btn primary' });
  const form = h('form', { class: 'card editor', novalidate: true }, tx('h2', 'districts.createTitle'), h('div', { class: 'form-grid' }, code.box, name.box), h('div', { class: 'form-actions' }, save));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    clearErrors();
    if (!code.input.value.trim()) return errors.local('code', 'form.required', { field: t('districts.code') });
    if (!name.input.value.trim()) return errors.local('name', 'form.required', { field: t('districts.name') });
    void busy(save, 'common.saving', async () => {
      try {
        await api.post<District>('/api/v1/districts', { code: code.input.value.trim(), name: name.input.value.trim() });
        notify({ key: 'districts.created', params: { name: name.input.value.trim() } });
        code.input.value = '';
        name.input.value = '';
        await load();
      } catch (err) {
        showApiError(err, errors);
      }
    });
  });
  root.replaceChildren(h('section', { class: 'admin-page', 'data-testid': 'districts-page' }, adminNav(), pageHeader('nav.districts'), form, listBox));
  void load();
}
