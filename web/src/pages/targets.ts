// Yearly targets per school. District administrators edit them; everyone
// else who may see them reads them.

import { api, query, type School, type Target } from '../api';
import { clearErrors } from '../banners';
import { h } from '../dom';
import { t } from '../i18n';
import { has } from '../session';
import { busy, loading, notify, pageHeader, selectField, showApiError, table, tx } from '../ui';
import { adminNav, allSchools } from './admin';

const thisYear = new Date().getFullYear();
let year = thisYear;

interface Row {
  school_id: number;
  school_name: string;
  target: Target;
}

const fields = ['lessons_recorded', 'teachers_participating', 'trainee_coverage_pct'] as const;
type NumField = (typeof fields)[number];

export function renderTargets(root: HTMLElement): void {
  const editable = has('district_admin');
  const years = Array.from({ length: 5 }, (_, i) => thisYear - 3 + i);
  const yearSel = selectField('year', 'targets.year', years.map((y) => ({ value: String(y), text: String(y) })), { testId: 'targets-year' });
  yearSel.input.value = String(year);
  const listBox = h('div', { class: 'list-box', 'data-testid': 'targets-list' });

  const load = async () => {
    listBox.replaceChildren(loading());
    try {
      const [targets, schools] = await Promise.all([
        api.get<{ items: Target[] }>(`/api/v1/targets${query({ year })}`),
        allSchools().catch(() => [] as School[]),
      ]);
      const rows = new Map<number, Row>();
      for (const s of schools) {
        if (!s.active) continue;
        rows.set(s.id, { school_id: s.id, school_name: s.name, target: { school_id: s.id, year, lessons_recorded: 0, teachers_participating: 0, trainee_coverage_pct: 0, version: 0 } });
      }
      for (const tg of targets.items ?? []) {
        rows.set(tg.school_id, { school_id: tg.school_id, school_name: tg.school_name ?? rows.get(tg.school_id)?.school_name ?? `#${tg.school_id}`, target: tg });
      }
      draw([...rows.values()].sort((a, b) => a.school_name.localeCompare(b.school_name, 'zh-CN')));
    } catch (err) {
      listBox.replaceChildren();
      showApiError(err);
    }
  };

  const numberInput = (row: Row, f: NumField) => {
    const label = t(`targets.${f}`);
    const input = h('input', { type: 'number', min: 0, max: f === 'trainee_coverage_pct' ? 100 : undefined, step: 1, value: row.target[f], 'aria-label': `${row.school_name} ${label}`, 'data-field': f, class: 'num-input' });
    return input;
  };

  const draw = (rows: Row[]) => {
    const inputs = new Map<number, Record<NumField, HTMLInputElement>>();
    const columns = [
      { head: 'targets.school' as const, cell: (r: Row) => r.school_name },
      ...fields.map((f) => ({
        head: `targets.${f}` as const,
        class: 'num',
        cell: (r: Row): Node | string => {
          if (!editable) return f === 'trainee_coverage_pct' ? `${r.target[f]}%` : String(r.target[f]);
          const input = numberInput(r, f);
          const rec = inputs.get(r.school_id) ?? ({} as Record<NumField, HTMLInputElement>);
          rec[f] = input;
          inputs.set(r.school_id, rec);
          return input;
        },
      })),
    ];
    if (editable) {
      columns.push({
        head: 'common.actions' as never,
        class: 'actions',
        cell: (r: Row) => {
          const btn = tx('button', 'action.save', undefined, { type: 'button', class: 'btn small primary', 'data-testid': 'target-save' });
          btn.addEventListener('click', () => void save(r, inputs.get(r.school_id)!, btn));
          return btn;
        },
      });
    }
    const tbl = table<Row>(columns, rows, 'targets.empty', { 'data-testid': 'targets-table' });
    for (const [i, tr] of [...tbl.tBodies[0].rows].entries()) if (rows[i]) tr.dataset.school = String(rows[i].school_id);
    listBox.replaceChildren(tbl);
  };

  const save = async (r: Row, rec: Record<NumField, HTMLInputElement>, btn: HTMLButtonElement) => {
    clearErrors();
    const body: Record<string, number> = { version: r.target.version };
    for (const f of fields) {
      const v = Number(rec[f].value);
      const max = f === 'trainee_coverage_pct' ? 100 : Number.MAX_SAFE_INTEGER;
      if (!Number.isInteger(v) || v < 0 || v > max) {
        rec[f].setAttribute('aria-invalid', 'true');
        rec[f].focus();
        notify({ key: 'targets.badNumber', params: { field: t(`targets.${f}`) } }, 'banner-error');
        return;
      }
      rec[f].removeAttribute('aria-invalid');
      body[f] = v;
    }
    await busy(btn, 'common.saving', async () => {
      try {
        const saved = await api.put<Target>(`/api/v1/schools/${r.school_id}/targets/${year}`, body);
        r.target = { ...r.target, ...saved };
        notify({ key: 'targets.saved', params: { name: r.school_name, year } });
      } catch (err) {
        showApiError(err, undefined, () => void load());
      }
    });
  };

  yearSel.input.addEventListener('change', () => {
    year = Number(yearSel.input.value);
    void load();
  });

  root.replaceChildren(
    h(
      'section',
      { class: 'admin-page', 'data-testid': 'targets-page' },
      adminNav(),
      pageHeader('nav.targets'),
      editable ? null : tx('p', 'targets.readOnly', undefined, { class: 'notice', 'data-testid': 'targets-readonly' }),
      h('div', { class: 'filters' }, yearSel.box),
      listBox,
    ),
  );
  void load();
}
