// Importing schools as a district administrator: a file with one bad row
// imports nothing and names the row and column; a good file imports; the same
// file again changes nothing.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { adminClient, fileInput, Harness, selectOption, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';

const codes = ['E2E-IMP-01', 'E2E-IMP-02', 'E2E-IMP-03'];

// Line 1 is the header, so the bad kind is on row 3 of the sheet.
const badCsv = ['code,name,kind', `${codes[0]},导入测试小学,primary`, `${codes[1]},导入测试中学,secondary_school`, `${codes[2]},导入测试九年制学校,nine_year`, ''].join('\r\n');
// Chinese headers and kind names are accepted too.
const goodCsv = ['学校代码,学校名称,学段', `${codes[0]},导入测试小学,小学`, `${codes[1]},导入测试中学,初中`, `${codes[2]},导入测试九年制学校,nine_year`, ''].join('\r\n');

function csvFile(name, text) {
  return { name, mimeType: 'text/csv', buffer: Buffer.from(text, 'utf8') };
}

async function importedSchools(client) {
  const list = await client.must('GET', '/api/v1/schools?q=E2E-IMP&limit=50');
  return list.items.filter((s) => codes.includes(s.code));
}

async function counts(page, kind) {
  const row = page.locator(`[data-testid="import-result"] tr[data-kind="${kind}"]`);
  await row.waitFor({ timeout: 15_000 });
  const read = async (c) => Number((await row.locator(`td[data-count="${c}"]`).innerText()).trim());
  return { created: await read('created'), updated: await read('updated'), unchanged: await read('unchanged') };
}

test('import: schools from CSV', { timeout: 240_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let da;
    await t.test('set up a district administrator', () => h.run(async () => {
      const sys = await adminClient(h.server.url);
      const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-D2', name: '导入测试区' }, 201);
      await sys.must('POST', '/api/v1/users', { username: 'dadm02', name: '导入管理员', password: 'e2e-Passw0rd-2', roles: ['district_admin'], district_id: district.id }, 201);
      const settled = await signInApi(h.server.url, 'dadm02', 'e2e-Passw0rd-2');
      da = { username: 'dadm02', password: settled.password, client: settled.client };
    }));
    if (!da) return;

    const page = await h.newPage('district-admin');
    await t.test('sign in and open the import page', () => h.run(async () => {
      await signInUI(page, h.server.url, da.username, da.password);
      await waitForHome(page, 'admin');
      await page.getByTestId('nav-import').click();
      await page.getByTestId('import-form').waitFor();
      // Templates are offered for every kind in both formats.
      for (const kind of ['schools', 'teachers', 'students']) {
        for (const format of ['csv', 'xlsx']) {
          const href = await page.getByTestId(`template-${kind}-${format}`).getAttribute('href');
          assert.equal(href, `/api/v1/import/template?kind=${kind}&format=${format}`);
        }
      }
      const tpl = await page.evaluate(async () => {
        const r = await fetch('/api/v1/import/template?kind=schools&format=csv');
        return { status: r.status, text: await r.text() };
      });
      assert.equal(tpl.status, 200, 'the schools CSV template downloads');
      assert.match(tpl.text, /code|学校代码/);
    }));

    await t.test('a file with a bad row imports nothing and names the row', () => h.run(async () => {
      await selectOption(page, 'import-kind', 'schools');
      await fileInput(page, 'import-file').setInputFiles(csvFile('schools-bad.csv', badCsv));
      await page.getByTestId('import-submit').click();
      await page.getByTestId('import-nothing').waitFor({ timeout: 30_000 });
      assert.match(await page.getByTestId('import-nothing').innerText(), /没有导入任何数据/);
      const rows = page.locator('[data-testid="row-errors"] tbody tr');
      assert.equal(await rows.count(), 1, 'exactly one row is wrong');
      const bad = page.locator('[data-testid="row-errors"] tr[data-row="3"]');
      await bad.waitFor();
      const column = await bad.getAttribute('data-column');
      assert.match(column, /^(kind|学段)$/, `the error names the kind column, got "${column}"`);
      assert.ok((await bad.locator('td').nth(2).innerText()).trim().length > 0, 'the error says what is wrong');
      // Nothing was imported: the API and the schools page agree.
      assert.deepEqual(await importedSchools(da.client), [], 'no school was created');
      await page.goto(`${h.server.url}/#/admin/schools`);
      await page.getByTestId('schools-q').fill('E2E-IMP');
      await page.getByTestId('schools-q').press('Enter');
      await page.locator('[data-testid="schools-table"] .empty-row').waitFor({ timeout: 15_000 });
    }));

    await t.test('a dry run checks a good file without importing it', () => h.run(async () => {
      await page.goto(`${h.server.url}/#/admin/import`);
      await page.getByTestId('import-form').waitFor();
      await selectOption(page, 'import-kind', 'schools');
      await fileInput(page, 'import-file').setInputFiles(csvFile('schools.csv', goodCsv));
      await page.getByTestId('import-dry-run').click();
      await page.getByTestId('import-dry-ok').waitFor({ timeout: 30_000 });
      assert.match(await page.getByTestId('import-dry-ok').innerText(), /共 3 行/, 'the check counts the rows');
      assert.deepEqual(await importedSchools(da.client), [], 'a dry run creates nothing');
    }));

    await t.test('a good file imports, and again changes nothing', () => h.run(async () => {
      await page.getByTestId('import-submit').click();
      await page.getByTestId('import-done').waitFor({ timeout: 30_000 });
      assert.deepEqual(await counts(page, 'schools'), { created: 3, updated: 0, unchanged: 0 });
      const schools = await importedSchools(da.client);
      assert.deepEqual(schools.map((s) => s.code).sort(), codes);
      assert.equal(schools.find((s) => s.code === codes[1]).kind, 'junior_secondary', '初中 is junior_secondary');

      // The same file again: nothing changes.
      await fileInput(page, 'import-file').setInputFiles(csvFile('schools.csv', goodCsv));
      await page.getByTestId('import-submit').click();
      await page.locator('[data-testid="import-outcome"][data-state="imported"] [data-testid="import-done"]').waitFor({ timeout: 30_000 });
      await waitForCounts(page, { created: 0, updated: 0, unchanged: 3 });
      const after = await importedSchools(da.client);
      assert.deepEqual(after.map((s) => [s.code, s.version]).sort(), schools.map((s) => [s.code, s.version]).sort(), 'no school changed');

      // The schools page lists them.
      await page.goto(`${h.server.url}/#/admin/schools`);
      await page.getByTestId('schools-q').fill('E2E-IMP');
      await page.getByTestId('schools-q').press('Enter');
      for (const code of codes) await page.locator(`[data-testid="schools-table"] tr[data-code="${code}"]`).waitFor({ timeout: 15_000 });
      assert.match(await page.getByTestId('page-range').innerText(), /共 3 条/);
    }));
  } finally {
    await h.close();
  }
});

/** waitForCounts waits for the result table to show the expected counts (it is redrawn per import). */
async function waitForCounts(page, want) {
  await waitFor(`import counts ${JSON.stringify(want)}`, async () => {
    const got = await counts(page, 'schools');
    return got.created === want.created && got.updated === want.updated && got.unchanged === want.unchanged ? got : { ok: false, got };
  }, { timeoutMs: 15_000 });
}
