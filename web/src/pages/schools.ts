// Schools: list, search, filter, create, edit, deactivate.

import { api, query, schoolKinds, type District, type List, type School, type SchoolKind } from '../api';
import { clearErrors } from '../banners';
import { h } from '../dom';
import { t, type Key } from '../i18n';
import { has } from '../session';
import { busy, button, FieldErrors, inputField, loading, notify, pageHeader, pager, selectField, showApiError, table, tx, type Option } from '../ui';
import { adminNav, allDistricts } from './admin';

const limit = 20;
const filter = { q: '', kind: '', active: '', offset: 0 };

export function kindKey(k: string): Key {
  return (schoolKinds as readonly string[]).includes(k) ? (`kind.${k}` as Key) : 'kind.unknown';
}

export const kindOptions: Option[] = schoolKinds.map((k) => ({ value: k, key: kindKey(k) }));

export function renderSchools(root: HTMLElement): void {
  const q = inputField('q', 'schools.search', 'search', { testId: 'schools-q', attrs: { placeholder: t('schools.searchPlaceholder'), 'data-i18n-placeholder': 'schools.searchPlaceholder' } });
  const kind = selectField('kind', 'schools.kind', [{ value: '', key: 'filter.all' }, ...kindOptions], { testId: 'schools-kind' });
  const active = selectField('active', 'filter.status', [{ value: '', key: 'filter.all' }, { value: 'true', key: 'status.active' }, { value: 'false', key: 'status.inactive' }], { testId: 'schools-active' });
  q.input.value = filter.q;
  kind.input.value = filter.kind;
  active.input.value = filter.active;
  const filters = h('form', { class: 'filters', role: 'search' }, q.box, kind.box, active.box, tx('button', 'action.search', undefined, { type: 'submit', class: 'btn' }));
  const listBox = h('div', { class: 'list-box', 'data-testid': 'schools-list' });
  const editorBox = h('div');
  const create = button('schools.create', { class: 'btn primary', 'data-testid': 'schools-create' }, () => openEditor(null));

  const load = async () => {
    listBox.replaceChildren(loading());
    try {
      const list = await api.get<List<School>>(`/api/v1/schools${query({ q: filter.q, kind: filter.kind, active: filter.active, limit, offset: filter.offset })}`);
      draw(list);
    } catch (err) {
      listBox.replaceChildren();
      showApiError(err);
    }
  };

  const draw = (list: List<School>) => {
    const items = list.items ?? [];
    const tbl = table<School>(
      [
        { head: 'schools.code', cell: (s) => s.code },
        { head: 'schools.name', cell: (s) => s.name },
        { head: 'schools.kind', cell: (s) => tx('span', kindKey(s.kind)) },
        { head: 'filter.status', cell: (s) => tx('span', s.active ? 'status.active' : 'status.inactive', undefined, { class: s.active ? 'pill ok' : 'pill off' }) },
        {
          head: 'common.actions',
          class: 'actions',
          cell: (s) =>
            h(
              'span',
              {},
              button('action.edit', { class: 'btn small', 'data-testid': 'school-edit' }, () => openEditor(s)),
              button(s.active ? 'action.deactivate' : 'action.reactivate', { class: 'btn small', 'data-testid': 'school-toggle' }, (ev) => void toggle(s, ev.currentTarget as HTMLButtonElement)),
            ),
        },
      ],
      items,
      'schools.empty',
      { 'data-testid': 'schools-table' },
    );
    for (const [i, tr] of [...tbl.tBodies[0].rows].entries()) if (items[i]) tr.dataset.code = items[i].code;
    listBox.replaceChildren(tbl, pager(filter.offset, limit, list.total ?? items.length, (o) => { filter.offset = o; void load(); }));
  };

  const toggle = async (s: School, btn: HTMLButtonElement) => {
    clearErrors();
    await busy(btn, 'common.saving', async () => {
      try {
        await api.patch<School>(`/api/v1/schools/${s.id}`, { active: !s.active, version: s.version });
        notify({ key: s.active ? 'schools.deactivated' : 'schools.reactivated', params: { name: s.name } });
        await load();
      } catch (err) {
        showApiError(err, undefined, () => void load());
      }
    });
  };

  let districts: District[] | null = null;

  const openEditor = async (s: School | null) => {
    clearErrors();
    const code = inputField('code', 'schools.code', 'text', { testId: 'school-code', attrs: { maxlength: 64, required: true } });
    const name = inputField('name', 'schools.name', 'text', { testId: 'school-name', attrs: { maxlength: 128, required: true } });
    const kindSel = selectField('kind', 'schools.kind', kindOptions, { testId: 'school-kind' });
    const errors = new FieldErrors();
    errors.add('code', code);
    errors.add('name', name);
    errors.add('kind', kindSel);
    const form = h('form', { class: 'card editor', novalidate: true, 'data-testid': 'school-editor' }, tx('h2', s ? 'schools.editTitle' : 'schools.createTitle', s ? { name: s.name } : undefined), h('div', { class: 'form-grid' }, code.box, name.box, kindSel.box));
    let districtSel: ReturnType<typeof selectField> | null = null;
    if (!s && has('system_admin')) {
      try {
        districts ??= await allDistricts();
      } catch (err) {
        showApiError(err);
        districts = [];
      }
      districtSel = selectField('district_id', 'schools.district', districts.map((d) => ({ value: String(d.id), text: `${d.name} (${d.code})` })), { testId: 'school-district' });
      errors.add('district_id', districtSel);
      form.querySelector('.form-grid')?.append(districtSel.box);
    }
    if (s) {
      code.input.value = s.code;
      name.input.value = s.name;
      kindSel.input.value = s.kind;
    }
    const save = tx('button', 'action.save', undefined, { type: 'submit', class: 'btn primary', 'data-testid': 'school-save' });
    const cancel = button('action.cancel', {}, () => editorBox.replaceChildren());
    form.append(h('div', { class: 'form-actions' }, save, cancel));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      clearErrors();
      let ok = true;
      if (!code.input.value.trim()) (errors.local('code', 'form.required', { field: t('schools.code') }), (ok = false));
      if (!name.input.value.trim()) (errors.local('name', 'form.required', { field: t('schools.name') }), (ok = false));
      if (!ok) return;
      void busy(save, 'common.saving', async () => {
        try {
          if (s) {
            const body: Record<string, unknown> = { version: s.version };
            if (code.input.value.trim() !== s.code) body.code = code.input.value.trim();
            if (name.input.value.trim() !== s.name) body.name = name.input.value.trim();
            if (kindSel.input.value !== s.kind) body.kind = kindSel.input.value as SchoolKind;
            await api.patch<School>(`/api/v1/schools/${s.id}`, body);
            notify({ key: 'schools.saved', params: { name: name.input.value.trim() } });
          } else {
            const body: Record<string, unknown> = { code: code.input.value.trim(), name: name.input.value.trim(), kind: kindSel.input.value };
            if (districtSel?.input.value) body.district_id = Number(districtSel.input.value);
            await api.post<School>('/api/v1/schools', body);
            notify({ key: 'schools.created', params: { name: name.input.value.trim() } });
          }
          editorBox.replaceChildren();
          await load();
        } catch (err) {
          showApiError(err, errors, () => {
            editorBox.replaceChildren();
            void load();
          });
        }
      });
    });
    editorBox.replaceChildren(form);
    code.input.focus();
  };

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filter.q = q.input.value.trim();
    filter.offset = 0;
    void load();
  });
  for (const sel of [kind.input, active.input]) {
    sel.addEventListener('change', () => {
      filter.kind = kind.input.value;
      filter.active = active.input.value;
      filter.offset = 0;
      void load();
    });
  }

  root.replaceChildren(h('section', { class: 'admin-page', 'data-testid': 'schools-page' }, adminNav(), pageHeader('nav.schools', create), editorBox, filters, listBox));
  void load();
}
