// Subjects: everyone reads the list; district and system administrators add
// subjects and switch them on and off.

import { api, type Subject } from '../api';
import { clearErrors } from '../banners';
import { h } from '../dom';
import { t } from '../i18n';
import { isDistrictLevel, state } from '../session';
import { busy, button, FieldErrors, inputField, loading, notify, pageHeader, showApiError, table, tx } from '../ui';
import { adminNav } from './admin';

export function renderSubjects(root: HTMLElement): void {
  const editable = isDistrictLevel();
  const listBox = h('div', { class: 'list-box', 'data-testid': 'subjects-list' });
  const editorBox = h('div');

  const load = async () => {
    listBox.replaceChildren(loading());
    try {
      const list = await api.get<{ items: Subject[] }>('/api/v1/subjects');
      state.subjects = list.items ?? [];
      draw(state.subjects);
    } catch (err) {
      listBox.replaceChildren();
      showApiError(err);
    }
  };

  const draw = (items: Subject[]) => {
    const columns = [
      { head: 'subjects.code' as const, cell: (s: Subject) => s.code },
      { head: 'subjects.name' as const, cell: (s: Subject) => s.name },
      { head: 'subjects.nameEn' as const, cell: (s: Subject) => s.name_en || '—' },
      { head: 'subjects.sort' as const, cell: (s: Subject) => String(s.sort), class: 'num' },
      { head: 'filter.status' as const, cell: (s: Subject): Node | string => tx('span', s.active ? 'status.active' : 'status.inactive', undefined, { class: s.active ? 'pill ok' : 'pill off' }) },
    ];
    if (editable) {
      columns.push({
        head: 'common.actions' as never,
        cell: (s: Subject) => button(s.active ? 'action.deactivate' : 'action.reactivate', { class: 'btn small' }, (ev) => void toggle(s, ev.currentTarget as HTMLButtonElement)),
      });
    }
    listBox.replaceChildren(table<Subject>(columns, [...items].sort((a, b) => a.sort - b.sort), 'subjects.empty', { 'data-testid': 'subjects-table' }));
  };

  const toggle = async (s: Subject, btn: HTMLButtonElement) => {
    clearErrors();
    await busy(btn, 'common.saving', async () => {
      try {
        await api.patch<Subject>(`/api/v1/subjects/${s.id}`, { active: !s.active });
        await load();
      } catch (err) {
        showApiError(err, undefined, () => void load());
      }
    });
  };

  const openEditor = () => {
    clearErrors();
    const errors = new FieldErrors();
    const code = inputField('code', 'subjects.code', 'text', { attrs: { maxlength: 32 } });
    const name = inputField('name', 'subjects.name', 'text', { attrs: { maxlength: 64 } });
    const nameEn = inputField('name_en', 'subjects.nameEn', 'text', { attrs: { maxlength: 64 } });
    const sort = inputField('sort', 'subjects.sort', 'number', { attrs: { step: 1, value: 0 } });
    for (const [n, f] of [['code', code], ['name', name], ['name_en', nameEn], ['sort', sort]] as const) errors.add(n, f);
    const save = tx('button', 'action.save', undefined, { type: 'submit', class: 'btn primary' });
    const form = h('form', { class: 'card editor', novalidate: true }, tx('h2', 'subjects.createTitle'), h('div', { class: 'form-grid' }, code.box, name.box, nameEn.box, sort.box), h('div', { class: 'form-actions' }, save, button('action.cancel', {}, () => editorBox.replaceChildren())));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      clearErrors();
      if (!code.input.value.trim()) return errors.local('code', 'form.required', { field: t('subjects.code') });
      if (!name.input.value.trim()) return errors.local('name', 'form.required', { field: t('subjects.name') });
      void busy(save, 'common.saving', async () => {
        try {
          await api.post<Subject>('/api/v1/subjects', { code: code.input.value.trim(), name: name.input.value.trim(), name_en: nameEn.input.value.trim(), sort: Number(sort.input.value) || 0 });
          notify({ key: 'subjects.created', params: { name: name.input.value.trim() } });
          editorBox.replaceChildren();
          await load();
        } catch (err) {
          showApiError(err, errors);
        }
      });
    });
    editorBox.replaceChildren(form);
    code.input.focus();
  };

  const create = editable ? button('subjects.create', { class: 'btn primary' }, openEditor) : null;
  root.replaceChildren(h('section', { class: 'admin-page', 'data-testid': 'subjects-page' }, adminNav(), create ? pageHeader('nav.subjects', create) : pageHeader('nav.subjects'), editorBox, listBox));
  void load();
}
