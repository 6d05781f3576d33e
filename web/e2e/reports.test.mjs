// The statistics dashboard in the browser, on a small demonstration district
// (`yunke demo-data`): a district administrator sees a chart and the table
// behind it, drills down to a school and back, and downloads the XLSX and
// CSV, whose numbers are the page's; the view (period, place, indicator,
// breakdown) is the URL, through a reload, back and forward, and a wrong
// URL shows the default view; a breakdown by subject (and by school kind,
// grade, knowledge point) lists the API's numbers under names; a target of
// 0 shows as no target; a school administrator sees their school only —
// another school's numbers answer 403 and are not on the page.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';

import { Harness, screenshotDir, selectOption, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';
import { shootBothLanguages } from './lib/recordings.mjs';

const demoPassword = 'Yunke-Demo-2026';

/** unzip answers the files of a ZIP archive (an XLSX) by name, read from its central directory. */
function unzip(buf) {
  let end = buf.length - 22;
  while (end >= 0 && buf.readUInt32LE(end) !== 0x06054b50) end--;
  assert.ok(end >= 0, 'the file is a ZIP archive');
  const count = buf.readUInt16LE(end + 10);
  let p = buf.readUInt32LE(end + 16);
  const out = {};
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    out[name] = (method === 8 ? inflateRawSync(data) : data).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

const unescapeXML = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** xlsxRows reads the first sheet of an XLSX as rows of cell texts. */
function xlsxRows(buf) {
  const files = unzip(buf);
  const shared = [...(files['xl/sharedStrings.xml'] ?? '').matchAll(/<si>([\s\S]*?)<\/si>/g)].map((m) =>
    unescapeXML([...m[1].matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((x) => x[1]).join('')),
  );
  const sheet = files['xl/worksheets/sheet1.xml'];
  assert.ok(sheet, 'the XLSX has a first sheet');
  const rows = [];
  for (const row of sheet.matchAll(/<row[^>]*r="(\d+)"[^>]*>([\s\S]*?)<\/row>/g)) {
    const cells = [];
    for (const c of row[2].matchAll(/<c r="([A-Z]+)\d+"([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const col = c[1].charCodeAt(0) - 65;
      const type = /t="(\w+)"/.exec(c[2])?.[1];
      const v = /<v>([\s\S]*?)<\/v>/.exec(c[3] ?? '')?.[1];
      const is = /<t[^>]*>([\s\S]*?)<\/t>/.exec(c[3] ?? '')?.[1];
      cells[col] = type === 's' ? shared[Number(v)] : type === 'inlineStr' ? unescapeXML(is ?? '') : v === undefined ? '' : unescapeXML(v);
    }
    rows[Number(row[1]) - 1] = Array.from(cells, (x) => x ?? '');
  }
  return rows;
}

/** csvRows reads a CSV (with its byte order mark) as rows of cell texts. */
function csvRows(text) {
  assert.equal(text.charCodeAt(0), 0xfeff, 'the CSV starts with a byte order mark');
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 1; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

/** pageNumbers answers the dashboard's indicators as the page holds them: key → [current, previous, target]. */
async function pageNumbers(page) {
  return page.locator('[data-testid="rp-indicator-row"]').evaluateAll((rows) =>
    rows.map((r) => [r.dataset.key, r.dataset.current ?? '', r.dataset.previous ?? '', r.dataset.target ?? '']),
  );
}

/** sameNumbers checks an export's indicator lines against the page's, in the page's order of groups. */
function sameNumbers(fileRows, pageRows, what) {
  const lines = fileRows.slice(4).filter((r) => r.length > 1 && r[0]);
  const byKey = new Map(lines.map((r) => [r[0], r]));
  assert.ok(pageRows.length > 10, `the page shows the indicators (${pageRows.length})`);
  for (const [key, cur, prev, target] of pageRows) {
    const line = byKey.get(key);
    assert.ok(line, `${what} has a line for ${key}`);
    const same = (a, b) => (a === '' && b === '') || (a !== '' && b !== '' && Math.abs(Number(a) - Number(b)) < 1e-9);
    assert.ok(same(line[4] ?? '', cur), `${what} ${key} current ${line[4]} = page ${cur}`);
    assert.ok(same(line[5] ?? '', prev), `${what} ${key} previous ${line[5]} = page ${prev}`);
    assert.ok(same(line[6] ?? '', target), `${what} ${key} target ${line[6]} = page ${target}`);
  }
  assert.equal(lines.length, pageRows.length, `${what} has as many indicators as the page`);
}

/** breakdownRows answers the breakdown table as the page holds it: [key, current, previous, text]. */
function breakdownRows(page) {
  return page.locator('[data-testid="rp-breakdown-table"] [data-testid="rp-row"]').evaluateAll((rows) =>
    rows.map((r) => [r.dataset.key, r.dataset.current ?? '', r.dataset.previous ?? '', r.querySelector('td')?.textContent?.trim() ?? '']),
  );
}

/** sameBreakdown waits until the page's breakdown is the API's b, row for row, each named. */
async function sameBreakdown(page, b, what) {
  await page.locator(`[data-testid="rp-breakdown"][data-by="${b.by}"][data-indicator="${b.indicator.key}"]`).waitFor();
  const num = (v) => (v === null ? '' : String(v));
  await waitFor(`${what}: the rows of the API`, async () => {
    const rows = await breakdownRows(page);
    return rows.length === b.rows.length && b.rows.every((r, i) => rows[i][0] === r.key && rows[i][1] === num(r.current) && rows[i][2] === num(r.previous));
  });
  const rows = await breakdownRows(page);
  for (const [i, r] of b.rows.entries()) {
    assert.equal(rows[i][3], r.name, `${what}: row ${r.key} is named ${r.name}`);
  }
}

/** viewQuery is the query of the page's URL (after the hash). */
function viewQuery(page) {
  const hash = new URL(page.url()).hash;
  return Object.fromEntries(new URLSearchParams(hash.slice(hash.indexOf('?') + 1)));
}

async function download(page, testId) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync(await dl.path());
}

async function openReports(page, url) {
  await page.goto(`${url}/#/admin/reports`);
  await page.getByTestId('reports-page').waitFor();
  try {
    await page.locator('[data-testid="rp-chart"][data-drawn]').waitFor({ timeout: 30_000 });
  } catch (err) {
    await page.screenshot({ path: join(screenshotDir, 'yunke-reports-failed.png'), fullPage: true });
    throw err;
  }
}

test('statistics dashboard: chart and table, drill-down, exports, school scope', { timeout: 300_000 }, async (t) => {
  const bin = process.env.YUNKE_BIN;
  assert.ok(bin, 'YUNKE_BIN is set');
  const dir = mkdtempSync(join(tmpdir(), 'yunke-e2e-reports-'));
  const db = join(dir, 'yunke.db');
  const year = Number(new Intl.DateTimeFormat('en', { timeZone: 'Asia/Shanghai', year: 'numeric' }).format(new Date()));
  const { stdout } = await promisify(execFile)(resolve(bin), ['demo-data', '--database-path', db, '--scale', '0.002', '--seed', '1', '--year', String(year)], {
    maxBuffer: 1 << 20,
  });
  assert.match(stdout, /demo-admin/, 'demo-data prints the demo accounts');
  const h = await Harness.start({ args: ['--database-path', db] });
  try {
    const url = h.server.url;
    const district = (await signInApi(url, 'demo-admin', demoPassword)).client;
    const api = await district.must('GET', '/api/v1/reports/dashboard');
    assert.equal(api.scope.level, 'district');
    const bySchool = await district.must('GET', '/api/v1/reports/breakdown?indicator=recording.lessons&by=school');
    const busiest = bySchool.rows.find((r) => Number(r.key) > 0 && r.current > 0);
    assert.ok(busiest, 'some school recorded lessons this month');

    const page = await h.newPage('district admin');
    await t.test('a district administrator sees a chart and the table behind it', () => h.run(async () => {
      await signInUI(page, url, 'demo-admin', demoPassword);
      await waitForHome(page, 'admin');
      await page.locator('a[href="#/admin/reports"]').first().waitFor();
      const charts = () => page.evaluate(() => performance.getEntriesByType('resource').filter((e) => /report-chart|installSVGRenderer/.test(e.name)).length);
      assert.equal(await charts(), 0, 'ECharts is not loaded before the statistics page');
      await openReports(page, url);
      assert.ok((await charts()) >= 2, 'the statistics page loads ECharts');
      await page.locator('nav.subnav a[href="#/admin/reports"]').waitFor();
      assert.equal(await page.getByTestId('reports-page').getAttribute('data-level'), 'district');
      assert.equal(await page.getByTestId('rp-here').innerText(), api.scope.district_name);
      const rows = page.locator('[data-testid="rp-breakdown-table"] [data-testid="rp-row"]');
      assert.equal(await rows.count(), bySchool.rows.length, 'the table lists every school of the district');
      assert.equal(await page.locator('[data-testid="rp-chart"]').getAttribute('data-drawn'), String(Math.min(40, bySchool.rows.length)));
      assert.ok((await page.locator('[data-testid="rp-chart"] svg rect, [data-testid="rp-chart"] svg path').count()) > 0, 'the chart draws bars');
      const row = page.locator(`[data-testid="rp-row"][data-key="${busiest.key}"]`);
      assert.equal(await row.getAttribute('data-current'), String(busiest.current));
      assert.ok((await row.innerText()).includes(busiest.name), 'rows are named, not numbered');
      const lessons = api.indicators.find((r) => r.key === 'recording.lessons');
      assert.equal(await page.locator('[data-testid="rp-indicator-row"][data-key="recording.lessons"]').getAttribute('data-current'), String(lessons.current));
      assert.ok((await page.locator('[data-testid="rp-group"]').count()) >= 5, 'indicator groups are shown');
      await page.getByTestId('rp-targets').waitFor();
      const tg = await district.must('GET', `/api/v1/reports/targets?year=${year}`);
      assert.equal(await page.locator('[data-testid="rp-target-row"]').count(), tg.schools.length, 'the targets card lists every school with a target');
      assert.equal(await page.locator('[data-testid="rp-target-row"][data-behind="true"]').count(), tg.behind.length, 'and marks those behind');
      assert.equal(await page.getByTestId('rp-gini').innerText(), tg.imbalance.gini_lessons_per_teacher.toFixed(3));
      assert.equal(await page.getByTestId('rp-top-tenth').innerText(), `${tg.imbalance.top_tenth_share_pct.toFixed(1)}%`);
      // The demonstration sets no target for lessons reviewed (0): "no target", not "n / 0", never behind on it.
      const zeros = tg.schools.flatMap((s) => s.items.filter((it) => it.target === 0).map((it) => [s.school_id, it]));
      assert.ok(zeros.length > 0, 'some school has a target of 0');
      for (const [school, it] of zeros) {
        assert.equal(it.behind, false, `a target of 0 is never behind (${school} ${it.key})`);
        const cell = page.locator(`[data-testid="rp-target-row"][data-school="${school}"] [data-testid="rp-target-item"][data-key="${it.key}"]`);
        assert.equal(await cell.getByTestId('rp-no-target').innerText(), '未设目标');
        assert.ok(!(await cell.innerText()).includes('/ 0'), 'no "n / 0"');
      }
      assert.equal(await page.locator('[data-testid="rp-no-target"]').count(), zeros.length);
      assert.equal(await page.locator('[data-testid="rp-indicator-row"][data-key="recording.lessons_reviewed"]').getAttribute('data-target'), '', 'the district has no lessons-reviewed target');
      assert.equal(api.indicators.find((r) => r.key === 'recording.lessons_reviewed').target, null);
      await shootBothLanguages(page, 'reports', 'district');
    }));

    await t.test('the XLSX and CSV hold the page’s numbers', () => h.run(async () => {
      const numbers = await pageNumbers(page);
      const xlsx = xlsxRows(await download(page, 'rp-xlsx'));
      assert.equal(xlsx[0][1], 'month');
      assert.equal(xlsx[2][2], api.scope.district_name, 'the XLSX names the scope');
      sameNumbers(xlsx, numbers, 'XLSX');
      const csv = csvRows((await download(page, 'rp-csv')).toString('utf8'));
      sameNumbers(csv, numbers, 'CSV');
    }));

    await t.test('drill down to a school and a teacher, and back up', () => h.run(async () => {
      await page.locator(`[data-testid="rp-row"][data-key="${busiest.key}"] [data-testid="rp-drill"]`).click();
      await page.locator('[data-testid="reports-page"][data-level="school"]').waitFor();
      assert.equal(await page.getByTestId('rp-here').innerText(), busiest.name);
      assert.equal(viewQuery(page).school, busiest.key, 'the school is in the URL');
      await page.locator('[data-testid="rp-breakdown"][data-by="teacher"] [data-testid="rp-chart"][data-drawn]').waitFor();
      await waitFor('the school’s lessons on the page', async () =>
        (await page.locator('[data-testid="rp-indicator-row"][data-key="recording.lessons"]').getAttribute('data-current')) === String(busiest.current));
      const numbers = await pageNumbers(page);
      const xlsx = xlsxRows(await download(page, 'rp-xlsx'));
      assert.equal(xlsx[2][1], 'school');
      assert.equal(xlsx[2][2], busiest.name, 'the XLSX names the school');
      sameNumbers(xlsx, numbers, 'school XLSX');

      const teacher = page.locator('[data-testid="rp-row"] [data-testid="rp-drill"]').first();
      const teacherName = await teacher.innerText();
      await teacher.click();
      await page.locator('[data-testid="reports-page"][data-level="teacher"]').waitFor();
      assert.equal(await page.getByTestId('rp-here').innerText(), teacherName);
      // A teacher's numbers break down by subject, grade or knowledge point, no further down.
      await page.locator('[data-testid="rp-breakdown"][data-by="subject"]').waitFor();
      assert.equal(await page.locator('[data-testid="rp-drill"]').count(), 0);
      const q = viewQuery(page);
      assert.equal(q.school, busiest.key);
      assert.ok(Number(q.teacher) > 0, 'the teacher is in the URL');

      // Back goes up to the school, forward down to the teacher again, a reload stays there.
      await page.goBack();
      await page.locator('[data-testid="reports-page"][data-level="school"]').waitFor();
      assert.equal(await page.getByTestId('rp-here').innerText(), busiest.name);
      await page.goForward();
      await page.locator('[data-testid="reports-page"][data-level="teacher"]').waitFor();
      await page.reload();
      await page.locator('[data-testid="reports-page"][data-level="teacher"]').waitFor();
      assert.equal(await page.getByTestId('rp-here').innerText(), teacherName);
      assert.equal(await page.getByTestId('rp-crumb').count(), 2, 'the district and the school above, named');
      assert.equal(await page.getByTestId('rp-crumb').nth(1).innerText(), busiest.name);
      assert.equal(await page.getByTestId('rp-crumb').first().innerText(), api.scope.district_name);

      await page.getByTestId('rp-crumb').first().click();
      await page.locator('[data-testid="reports-page"][data-level="district"]').waitFor();
      assert.equal(await page.getByTestId('rp-crumb').count(), 0);
      assert.equal(viewQuery(page).school, undefined);
    }));

    await t.test('breakdowns by subject, school kind, grade and knowledge point; the view survives a reload, back and forward', () => h.run(async () => {
      await selectOption(page, 'rp-kind', 'year');
      await page.locator('[data-testid="rp-breakdown"][data-by="school"] [data-testid="rp-chart"][data-drawn]').waitFor();
      const date = await page.getByTestId('rp-date').getAttribute('data-value');
      const ask = (by) => district.must('GET', `/api/v1/reports/breakdown?indicator=recording.lessons&by=${by}&period=year&date=${date}`);
      const bySubject = await ask('subject');
      assert.ok(bySubject.rows.filter((r) => r.current > 0).length >= 2, 'lessons in two subjects or more this year');
      await selectOption(page, 'rp-by', 'subject');
      await sameBreakdown(page, bySubject, 'by subject');
      assert.deepEqual(viewQuery(page), { period: 'year', date, indicator: 'recording.lessons', by: 'subject' });

      await page.reload();
      await page.getByTestId('reports-page').waitFor();
      await sameBreakdown(page, bySubject, 'by subject after a reload');
      assert.equal(await page.getByTestId('rp-kind').getAttribute('data-value'), 'year');
      assert.equal(await page.getByTestId('rp-date').getAttribute('data-value'), date);
      await page.goBack();
      await page.locator('[data-testid="rp-breakdown"][data-by="school"]').waitFor();
      await page.goForward();
      await sameBreakdown(page, bySubject, 'by subject, back and forward');

      // Named, not numbered: school kinds, grades and knowledge points as the API names them.
      const cat = await district.must('GET', '/api/v1/reports/indicators');
      for (const by of ['kind', 'grade', 'knowledge_point']) {
        // The first indicator with rows by it this year (knowledge points are those of questions, classes, …).
        let b = null;
        for (const i of cat.indicators.filter((x) => x.dimensions.includes(by) && x.group !== 'users')) {
          b = await district.must('GET', `/api/v1/reports/breakdown?indicator=${i.key}&by=${by}&period=year&date=${date}`);
          if (b.rows.length) break;
        }
        assert.ok(b?.rows.length, `something by ${by}`);
        await selectOption(page, 'rp-indicator', b.indicator.key);
        await selectOption(page, 'rp-by', by);
        await sameBreakdown(page, b, `${b.indicator.key} by ${by}`);
        for (const [, , , name] of await breakdownRows(page)) assert.ok(!/^\d+$/.test(name), `${by}: "${name}" is a name`);
      }
      await selectOption(page, 'rp-indicator', 'recording.lessons');
      const kinds = await ask('kind');
      await selectOption(page, 'rp-by', 'kind');
      await shootBothLanguages(page, 'reports', 'by-kind', async (lang) => {
        const names = (await breakdownRows(page)).map((r) => r[3]);
        assert.deepEqual(names, kinds.rows.map((r) => (lang === 'en' ? r.name_en : r.name)), `school kinds named in ${lang}`);
      });

      // Only the dimensions an indicator has: the share of teachers has no subject.
      await selectOption(page, 'rp-indicator', 'recording.teacher_share');
      await page.locator('[data-testid="rp-breakdown"][data-indicator="recording.teacher_share"]').waitFor();
      await page.getByTestId('rp-by').click();
      await page.locator('.reports-by-popper .el-select-dropdown__item').first().waitFor();
      const offered = await page.locator('.reports-by-popper .el-select-dropdown__item').evaluateAll((xs) => xs.map((x) => x.dataset.value));
      await page.keyboard.press('Escape');
      const dims = cat.indicators.find((i) => i.key === 'recording.teacher_share').dimensions;
      assert.ok(offered.length > 0 && offered.every((d) => dims.includes(d)), `offered ${offered} ⊆ ${dims}`);
      assert.ok(!offered.includes('subject'));
    }));

    await t.test('a wrong URL shows the default view, without an error', () => h.run(async () => {
      await page.goto(`${url}/#/admin/reports?period=decade&date=2026-13-45&school=abc&by=nonsense&indicator=no.such`);
      await page.locator('[data-testid="reports-page"][data-level="district"]').waitFor();
      await page.locator('[data-testid="rp-breakdown"][data-by="school"][data-indicator="recording.lessons"]').waitFor();
      assert.equal(await page.getByTestId('rp-kind').getAttribute('data-value'), 'month');
      await waitFor('the URL corrected', async () => viewQuery(page).period === 'month' && viewQuery(page).by === 'school');
      assert.equal(viewQuery(page).school, undefined);
      // A school that does not exist: the caller's own view.
      await page.goto(`${url}/#/admin/reports?period=year&school=999999&indicator=recording.lessons&by=teacher`);
      await waitFor('back to the district', async () => viewQuery(page).school === undefined && viewQuery(page).period === 'year');
      await page.locator('[data-testid="reports-page"][data-level="district"]').waitFor();
      await page.locator('[data-testid="rp-breakdown"][data-by="school"]').waitFor();
      assert.equal(await page.getByTestId('rp-crumb').count(), 0);
      assert.equal(await page.getByTestId('banner-error').count(), 0, 'no error shown');
    }));

    await t.test('a school administrator sees their school only', () => h.run(async () => {
      const school = (await signInApi(url, 'demo-school-admin', demoPassword)).client;
      const own = await school.must('GET', '/api/v1/reports/dashboard');
      assert.equal(own.scope.level, 'school');
      const other = bySchool.rows.find((r) => Number(r.key) > 0 && Number(r.key) !== own.scope.school_id);
      assert.ok(other, 'the district has another school');
      for (const path of [
        `/api/v1/reports/dashboard?school_id=${other.key}`,
        `/api/v1/reports/breakdown?indicator=recording.lessons&by=teacher&school_id=${other.key}`,
        `/api/v1/reports/export?format=xlsx&school_id=${other.key}`,
        `/api/v1/reports/dashboard?district_id=${api.scope.district_id}`,
      ]) {
        assert.equal((await school.call('GET', path)).status, 403, `${path} is refused`);
      }
      const sp = await h.newPage('school admin');
      await signInUI(sp, url, 'demo-school-admin', demoPassword);
      await waitForHome(sp, 'admin');
      await sp.goto(`${url}/#/admin/reports`);
      await sp.getByTestId('reports-page').waitFor();
      // The whole year, so that the school's teachers have lessons to chart.
      await selectOption(sp, 'rp-kind', 'year');
      await sp.locator('[data-testid="rp-breakdown"] [data-testid="rp-chart"][data-drawn]').waitFor({ timeout: 30_000 });
      assert.equal(await sp.getByTestId('reports-page').getAttribute('data-level'), 'school');
      assert.equal(await sp.getByTestId('rp-here').innerText(), own.scope.school_name);
      assert.equal(await sp.locator('[data-testid="rp-breakdown"]').getAttribute('data-by'), 'teacher', 'the widest view is the school’s teachers');
      assert.equal(await sp.getByTestId('rp-crumb').count(), 0, 'no way up to the district');
      const text = await sp.getByTestId('reports-page').innerText();
      assert.ok(!text.includes(other.name), `${other.name} is not on the school administrator's page`);
      assert.ok(!text.includes(api.scope.district_name), 'the district is not offered');
      // Another school in the URL is not theirs: their own school instead, no error.
      await sp.goto(`${url}/#/admin/reports?period=year&school=${other.key}`);
      await waitFor('the other school dropped from the URL', async () => viewQuery(sp).school === undefined);
      await sp.locator('[data-testid="rp-breakdown"][data-by="teacher"]').waitFor();
      assert.equal(await sp.getByTestId('rp-here').innerText(), own.scope.school_name);
      assert.ok(!(await sp.getByTestId('reports-page').innerText()).includes(other.name));
      assert.equal(await sp.getByTestId('banner-error').count(), 0, 'no error shown');
      await shootBothLanguages(sp, 'reports', 'school');
    }));

    await t.test('an expert opens the statistics from their home', () => h.run(async () => {
      const ep = await h.newPage('expert');
      await signInUI(ep, url, 'demo-expert', demoPassword);
      await waitForHome(ep, 'expert');
      await ep.getByTestId('home-reports').click();
      await ep.locator('[data-testid="reports-page"][data-level]:not([data-level=""])').waitFor();
      await ep.getByTestId('rp-group').first().waitFor();
      assert.equal(await ep.locator('nav.subnav').count(), 0, 'no admin menu for an expert');
    }));
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
