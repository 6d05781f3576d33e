// Spreadsheet import: schools, teachers, students, knowledge points. One
// transaction on the server: any bad row and nothing is imported.

import { ApiError, upload, type ImportCounts, type ImportResponse, type RowError } from '../api';
import { clearErrors } from '../banners';
import { h } from '../dom';
import { t, type Key } from '../i18n';
import { busy, FieldErrors, fillSelect, inputField, pageHeader, selectField, setText, showApiError, table, tx } from '../ui';
import { has } from '../session';
import { adminNav, allDistricts } from './admin';

const kinds = ['schools', 'teachers', 'students', 'knowledge_points'] as const;
type Kind = (typeof kinds)[number];
const maxBytes = 10 * 1024 * 1024;

const kindKeys: Record<Kind, Key> = {
  schools: 'import.kind.schools',
  teachers: 'import.kind.teachers',
  students: 'import.kind.students',
  knowledge_points: 'import.kind.knowledge_points',
};

let lastKind: Kind = 'schools';

function templateLinks(): HTMLElement {
  const rows = kinds.map((k) =>
    h(
      'li',
      {},
      tx('span', kindKeys[k]),
      ...(['csv', 'xlsx'] as const).map((f) =>
        h('a', { href: `/api/v1/import/template?kind=${k}&format=${f}`, download: `${k}.${f}`, class: 'btn small', 'data-testid': `template-${k}-${f}`, text: f.toUpperCase() }),
      ),
    ),
  );
  return h('section', { class: 'card panel-card' }, tx('h2', 'import.templates'), tx('p', 'import.templatesHint', undefined, { class: 'muted' }), h('ul', { class: 'template-list' }, ...rows));
}

interface Row {
  kind: Kind | 'schools' | 'teachers' | 'students';
  counts: ImportCounts;
}

function countsTable(rows: Row[]): HTMLTableElement {
  const tbl = table<Row>(
    [
      { head: 'import.col.kind', cell: (r) => tx('span', kindKeys[r.kind]) },
      { head: 'import.col.created', cell: (r) => String(r.counts.created ?? 0), class: 'num' },
      { head: 'import.col.updated', cell: (r) => String(r.counts.updated ?? 0), class: 'num' },
      { head: 'import.col.unchanged', cell: (r) => String(r.counts.unchanged ?? 0), class: 'num' },
    ],
    rows,
    'import.nothingCounted',
    { 'data-testid': 'import-result' },
  );
  for (const [i, tr] of [...tbl.tBodies[0].rows].entries()) {
    if (!rows[i]) continue;
    tr.dataset.kind = rows[i].kind;
    const cells = tr.cells;
    cells[1].dataset.count = 'created';
    cells[2].dataset.count = 'updated';
    cells[3].dataset.count = 'unchanged';
  }
  return tbl;
}

function rowErrorsTable(rows: RowError[]): HTMLTableElement {
  const sorted = [...rows].sort((a, b) => a.row - b.row);
  const tbl = table<RowError>(
    [
      { head: 'import.col.row', cell: (r) => (r.row ? String(r.row) : '—'), class: 'num' },
      { head: 'import.col.column', cell: (r) => r.column || '—' },
      { head: 'import.col.message', cell: (r) => r.message },
    ],
    sorted,
    'import.noRowErrors',
    { 'data-testid': 'row-errors' },
  );
  for (const [i, tr] of [...tbl.tBodies[0].rows].entries()) {
    if (!sorted[i]) continue;
    tr.dataset.row = String(sorted[i].row);
    tr.dataset.column = sorted[i].column;
  }
  return tbl;
}

export function renderImport(root: HTMLElement): void {
  const kind = selectField('kind', 'import.kind', kinds.map((k) => ({ value: k, key: kindKeys[k] })), { testId: 'import-kind' });
  kind.input.value = lastKind;
  const file = inputField('file', 'import.file', 'file', { testId: 'import-file', hint: 'import.fileHint', attrs: { accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' } });
  const password = inputField('initial_password', 'import.initialPassword', 'password', { testId: 'import-password', hint: 'import.initialPasswordHint', attrs: { autocomplete: 'new-password', maxlength: 128 } });
  const errors = new FieldErrors();
  let districtSel: ReturnType<typeof selectField> | null = null;
  if (has('system_admin')) {
    districtSel = selectField('district_id', 'import.district', [], { testId: 'import-district', hint: 'import.districtHint' });
    errors.add('district_id', districtSel);
    const sel = districtSel;
    void allDistricts()
      .then((ds) => fillSelect(sel.input, ds.map((d) => ({ value: String(d.id), text: `${d.name} (${d.code})` }))))
      .catch((err) => showApiError(err));
  }
  errors.add('kind', kind);
  errors.add('file', file);
  errors.add('initial_password', password);
  const dry = tx('button', 'import.dryRun', undefined, { type: 'button', class: 'btn', 'data-testid': 'import-dry-run' });
  const run = tx('button', 'import.submit', undefined, { type: 'submit', class: 'btn primary', 'data-testid': 'import-submit' });
  const bar = h('progress', { max: 100, value: 0 });
  const barText = h('span');
  const progress = h('div', { class: 'progress', role: 'status', 'data-testid': 'import-progress', hidden: true }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), barText, bar);
  const outcome = h('div', { class: 'import-outcome', 'data-testid': 'import-outcome', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'card editor', novalidate: true, 'data-testid': 'import-form' },
    tx('h2', 'import.heading'),
    h('div', { class: 'form-grid' }, kind.box, districtSel?.box ?? null, file.box, password.box),
    h('div', { class: 'form-actions' }, dry, run),
    progress,
  );

  const sync = () => {
    const k = kind.input.value as Kind;
    lastKind = k;
    password.box.hidden = !(k === 'teachers' || k === 'students');
    if (districtSel) districtSel.box.hidden = k === 'knowledge_points';
    dry.disabled = k === 'knowledge_points';
    dry.title = k === 'knowledge_points' ? t('import.noDryRunKp') : '';
  };
  kind.input.addEventListener('change', () => {
    sync();
    outcome.replaceChildren();
  });
  sync();

  const send = async (dryRun: boolean) => {
    errors.clear();
    clearErrors();
    outcome.replaceChildren();
    const k = kind.input.value as Kind;
    const f = file.input.files?.[0];
    if (!f) {
      errors.local('file', 'import.chooseFile');
      file.input.focus();
      return;
    }
    if (f.size > maxBytes) {
      outcome.replaceChildren(tx('p', 'error.tooLarge', undefined, { class: 'form-error', role: 'alert', 'data-testid': 'import-too-large' }));
      return;
    }
    const pw = password.input.value;
    if ((k === 'teachers' || k === 'students') && (pw.length < 8 || pw.length > 128)) {
      errors.local('initial_password', pw ? 'password.rule' : 'import.initialPasswordRequired');
      password.input.focus();
      return;
    }
    const body = new FormData();
    let path = '/api/v1/import';
    if (k === 'knowledge_points') {
      path = '/api/v1/knowledge-points/import';
      body.append('file', f, f.name);
    } else {
      body.append('kind', k);
      if (k === 'teachers' || k === 'students') body.append('initial_password', pw);
      if (districtSel?.input.value) body.append('district_id', districtSel.input.value);
      body.append('dry_run', dryRun ? 'true' : 'false');
      body.append('file', f, f.name);
    }
    progress.hidden = false;
    form.setAttribute('aria-busy', 'true');
    bar.value = 0;
    setText(barText, 'import.uploading', { pct: 0 });
    const other = dryRun ? run : dry;
    other.disabled = true;
    await busy(dryRun ? dry : run, dryRun ? 'import.checking' : 'import.importing', async () => {
      try {
        const answer = await upload<ImportResponse | ImportCounts>(path, body, (fr) => {
          const pct = Math.round(fr * 100);
          bar.value = pct;
          if (pct >= 100) setText(barText, 'import.processing');
          else setText(barText, 'import.uploading', { pct });
        });
        showResult(k, answer, dryRun, f.name);
      } catch (err) {
        showFailure(err, f.name);
      } finally {
        progress.hidden = true;
        form.removeAttribute('aria-busy');
        other.disabled = false;
        sync();
      }
    });
  };

  const showResult = (k: Kind, answer: ImportResponse | ImportCounts, dryRun: boolean, fileName: string) => {
    let rows: Row[];
    let rowCount = 0;
    let wasDry = dryRun;
    if (k === 'knowledge_points') {
      rows = [{ kind: 'knowledge_points', counts: answer as ImportCounts }];
      wasDry = false;
    } else {
      const a = answer as ImportResponse;
      rowCount = a.rows ?? 0;
      wasDry = a.dry_run ?? dryRun;
      rows = (['schools', 'teachers', 'students'] as const).filter((x) => a.result?.[x]).map((x) => ({ kind: x, counts: a.result[x] as ImportCounts }));
      // Show the imported kind first; leave out kinds the file did not touch.
      rows = rows.filter((r) => r.kind === k || r.counts.created + r.counts.updated + r.counts.unchanged > 0);
    }
    const head = wasDry
      ? tx('p', 'import.dryRunOk', { rows: rowCount, file: fileName }, { class: 'notice ok', 'data-testid': 'import-dry-ok' })
      : tx('p', 'import.done', { file: fileName }, { class: 'notice ok', 'data-testid': 'import-done' });
    // A dry run's counts are what the import would do; it was rolled back.
    outcome.replaceChildren(head, ...(wasDry ? [tx('p', 'import.dryRunNote', undefined, { class: 'muted' })] : []), countsTable(rows));
    outcome.dataset.state = wasDry ? 'checked' : 'imported';
  };

  const showFailure = (err: unknown, fileName: string) => {
    if (err instanceof ApiError && (err.code === 'invalid_rows' || err.status === 422)) {
      outcome.dataset.state = 'invalid';
      outcome.replaceChildren(
        tx('p', 'import.nothingImported', { count: err.rows.length, file: fileName }, { class: 'form-error', role: 'alert', 'data-testid': 'import-nothing' }),
        err.rows.length ? rowErrorsTable(err.rows) : tx('p', 'error.server', { message: err.message }),
      );
      return;
    }
    if (err instanceof ApiError && (err.code === 'too_large' || err.status === 413)) {
      outcome.dataset.state = 'too_large';
      outcome.replaceChildren(tx('p', 'error.tooLarge', undefined, { class: 'form-error', role: 'alert', 'data-testid': 'import-too-large' }));
      return;
    }
    outcome.dataset.state = 'error';
    showApiError(err, errors);
  };

  dry.addEventListener('click', () => void send(true));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void send(false);
  });
  file.input.addEventListener('change', () => outcome.replaceChildren());

  root.replaceChildren(h('section', { class: 'admin-page', 'data-testid': 'import-page' }, adminNav(), pageHeader('nav.import'), tx('p', 'import.explain', undefined, { class: 'muted' }), form, outcome, templateLinks()));
}
