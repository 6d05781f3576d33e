// Prints what the sign-in page and the class page load: the JavaScript and
// CSS files the browser fetched, their sizes as served and gzipped (zlib's
// default level, as `gzip -6`; the server itself does not compress).
//
//   YUNKE_BIN=../bin/yunke node scripts/page-weight.mjs
//
// docs/benchmarks.md ("Front end: what a page loads") records its figures.

import { gzipSync } from 'node:zlib';

import { adminClient, Harness, signInApi, signInUI, submitJoin, waitForHome } from '../e2e/lib/harness.mjs';

/** record collects every script and stylesheet the page fetches from now on. */
function record(page) {
  const files = new Map();
  page.on('response', async (resp) => {
    const type = resp.request().resourceType();
    if (type !== 'script' && type !== 'stylesheet') return;
    const body = await resp.body().catch(() => null);
    if (body) files.set(resp.url(), { type, raw: body.length, gzip: gzipSync(body).length });
  });
  return files;
}

function report(label, files) {
  const sum = (type) => [...files.values()].filter((f) => !type || f.type === type).reduce((a, f) => ({ n: a.n + 1, raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { n: 0, raw: 0, gzip: 0 });
  const row = (what, s) => `  ${what.padEnd(6)} ${String(s.n).padStart(3)} files ${String(s.raw).padStart(9)} B  gzip ${String(s.gzip).padStart(8)} B`;
  console.log(`${label}\n${row('JS', sum('script'))}\n${row('CSS', sum('stylesheet'))}\n${row('total', sum())}`);
}

const h = await Harness.start();
try {
  const url = h.server.url;
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'PW-D', name: '区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'PW-S', name: '校', kind: 'primary', district_id: district.id }, 201);
  await sys.must('POST', '/api/v1/users', { username: 'pw-t', name: '老师', password: 'page-weight-1', roles: ['teacher'], district_id: district.id, school_id: school.id }, 201);
  const teacher = await signInApi(url, 'pw-t', 'page-weight-1');

  let page = await h.newPage('sign-in');
  let files = record(page);
  await page.goto(`${url}/#/signin`);
  await page.getByTestId('signin-form').waitFor();
  await page.waitForLoadState('networkidle');
  report('sign-in page (#/signin, a fresh tab)', files);

  page = await h.newPage('class');
  await signInUI(page, url, 'pw-t', teacher.password);
  await waitForHome(page, 'teacher');
  await page.goto(`${url}/#/class/page-weight`);
  files = record(page);
  await page.reload();
  await page.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  report('class page (#/class/<room>, a fresh tab, signed in)', files);

  page = await h.newPage('try');
  files = record(page);
  await submitJoin(page, url, { name: 'T', role: 'teacher', room: 'page-weight-2' });
  await page.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  report('"try a class" (#/dev-join, then the class)', files);
} finally {
  await h.close();
}
