// The background jobs page: the system administrator sees the jobs (the
// hourly recording retention job, which runs when the server starts with
// recording.retention_days set, and a webhook delivery to a receiver that
// answers 503, which fails and waits for its retry) with their kind in
// words and the last error, expandable; filters them by
// state and kind; a district administrator sees only their district's (none
// here: the empty state); a school administrator has no link and no page.
// Screenshots in both languages, at desktop and phone widths.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';

import { RoomServiceClient } from 'livekit-server-sdk';

import { admin, adminClient, Harness, screenshotDir, selectOption, signInApi, signInUI, uniqueRoom, waitFor, waitForHome } from './lib/harness.mjs';

async function shoot(page, name) {
  for (const lang of ['zh-CN', 'en']) {
    if ((await page.evaluate(() => document.documentElement.lang)) !== lang) {
      await page.getByTestId('lang-toggle').dispatchEvent('click');
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    }
    for (const [size, viewport] of [
      ['desktop', { width: 1280, height: 800 }],
      ['phone', { width: 390, height: 844 }],
    ]) {
      await page.setViewportSize(viewport);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await page.screenshot({ path: join(screenshotDir, `yunke-jobs-${name}-${lang}-${size}.png`), fullPage: true });
    }
  }
  await page.getByTestId('lang-toggle').dispatchEvent('click');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.setViewportSize({ width: 1280, height: 800 });
}

test('background jobs page', { timeout: 180_000 }, async (t) => {
  // A webhook receiver that is down for maintenance: every delivery fails.
  const hooks = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(503).end('down for maintenance'));
  });
  await new Promise((res) => hooks.listen(0, '127.0.0.1', res));
  const hookURL = `http://127.0.0.1:${hooks.address().port}/hooks`;
  const h = await Harness.start({ env: { YUNKE_CONFIG_BODY: 'recording:\n  retention_days: 30\n', YUNKE_WEBHOOK_URLS: hookURL } }).catch(async (err) => {
    await new Promise((res) => hooks.close(res));
    throw err;
  });
  try {
    const url = h.server.url;
    let fx;
    await t.test('set up: a district with its admin, a school with its admin; a job has run', () => h.run(async () => {
      const sys = await adminClient(url);
      const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-J1', name: '任务测试区' }, 201);
      const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-J1S', name: '任务测试小学', kind: 'primary', district_id: district.id }, 201);
      await sys.must('POST', '/api/v1/users', { username: 'jobsda', name: '任务区管理员', password: 'e2e-Passw0rd-j1', roles: ['district_admin'], district_id: district.id }, 201);
      await sys.must('POST', '/api/v1/users', { username: 'jobssa', name: '任务校管理员', password: 'e2e-Passw0rd-j2', roles: ['school_admin'], school_id: school.id }, 201);
      const da = await signInApi(url, 'jobsda', 'e2e-Passw0rd-j1');
      const sa = await signInApi(url, 'jobssa', 'e2e-Passw0rd-j2');
      // The retention job is enqueued at start; wait until the API lists it.
      const job = await waitFor('the recording.retention job', async () => {
        const r = await sys.must('GET', '/api/v1/jobs?kind=recording.retention');
        return r.items?.[0];
      });
      // A room is created: its room_started delivery fails and is retried.
      await new RoomServiceClient(url, 'devkey', 'secret').createRoom({ name: uniqueRoom('jobs') });
      const hook = await waitFor('a failed webhook delivery', async () => {
        const r = await sys.must('GET', '/api/v1/jobs?kind=webhook.deliver');
        return r.items?.find((j) => j.errors?.length > 0);
      });
      fx = { sys, da, sa, job, hook, district };
    }));
    if (!fx) return;
    const page = await h.newPage('system-admin');

    await t.test('the system admin opens the jobs page from the home and sees the job in words', () => h.run(async () => {
      await signInUI(page, url, admin.username, admin.password);
      await waitForHome(page, 'admin');
      // The home links to the recordings catalogue, the micro-lesson review and the jobs.
      for (const id of ['nav-recordings', 'nav-microlessons', 'nav-jobs']) await page.getByTestId(id).waitFor();
      await page.getByTestId('nav-jobs').click();
      const row = page.locator(`[data-testid="jobs-table"] tr[data-id="${fx.job.id}"][data-kind="recording.retention"]`);
      await row.waitFor();
      await row.getByTestId('job-kind').filter({ hasText: '清理过期录制' }).waitFor();
      await waitFor('the job completed', async () => (await row.getAttribute('data-state')) === 'completed' || (await page.getByTestId('jobs-refresh').click(), false));
      assert.equal(await row.getByTestId('job-state').innerText(), '已完成');
      assert.match(await row.getByTestId('job-attempts').innerText(), /^1\/\d+$/);
      // The failed delivery shows its error, cut short, and all of it on demand.
      const hookRow = page.locator(`[data-testid="jobs-table"] tr[data-id="${fx.hook.id}"]`);
      await hookRow.getByTestId('job-kind').filter({ hasText: '推送回调' }).waitFor();
      await hookRow.getByTestId('job-error').filter({ hasText: '503' }).waitFor();
      await hookRow.getByTestId('job-error-toggle').click();
      await hookRow.getByTestId('job-error-full').filter({ hasText: '503' }).waitFor();
      await shoot(page, 'system');
      await page.getByTestId('lang-toggle').dispatchEvent('click');
      await row.getByTestId('job-kind').filter({ hasText: 'Remove expired recordings' }).waitFor();
      await row.getByTestId('job-state').filter({ hasText: 'Completed' }).waitFor();
      await page.getByTestId('lang-toggle').dispatchEvent('click');
    }));

    await t.test('filters: by state and by kind', () => h.run(async () => {
      await selectOption(page, 'jobs-state', 'discarded');
      await page.locator('[data-testid="jobs-table"] .el-table__empty-text').filter({ hasText: '没有符合条件的任务' }).waitFor();
      assert.equal(await page.locator('[data-testid="jobs-table"] tr[data-id]').count(), 0);
      await selectOption(page, 'jobs-state', 'completed');
      await page.locator(`[data-testid="jobs-table"] tr[data-id="${fx.job.id}"]`).waitFor();
      await selectOption(page, 'jobs-kind', 'webhook.deliver');
      await page.locator('[data-testid="jobs-table"] .el-table__empty-text').waitFor();
      await selectOption(page, 'jobs-kind', 'recording.retention');
      await page.locator(`[data-testid="jobs-table"] tr[data-id="${fx.job.id}"]`).waitFor();
      for (const state of await page.locator('[data-testid="jobs-table"] tr[data-id]').evaluateAll((trs) => trs.map((tr) => tr.dataset.state))) {
        assert.equal(state, 'completed');
      }
    }));

    await t.test("a district admin sees only their district's jobs, none of the system's", () => h.run(async () => {
      const dpage = await h.newPage('district-admin');
      await signInUI(dpage, url, 'jobsda', fx.da.password);
      await waitForHome(dpage, 'admin');
      const listed = dpage.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/jobs' && r.request().method() === 'GET' && r.ok());
      await dpage.getByTestId('nav-jobs').click();
      // The district's own jobs are its kept reports, generated when the
      // schedule runs after the district exists (or none yet).
      const items = (await (await listed).json()).items ?? [];
      for (const j of items) {
        assert.equal(j.district_id, fx.district.id, `job ${j.id} (${j.kind}) of another district`);
        assert.match(j.kind, /^reports\./);
      }
      if (items.length === 0) {
        await dpage.locator('[data-testid="jobs-table"] .el-table__empty-text').filter({ hasText: '暂无后台任务' }).waitFor();
      } else {
        await dpage.locator(`[data-testid="jobs-table"] tr[data-id="${items[0].id}"]`).waitFor();
        assert.equal(await dpage.locator('[data-testid="jobs-table"] tr[data-id]').count(), items.length);
      }
      for (const id of [fx.job.id, fx.hook.id]) {
        assert.equal(await dpage.locator(`[data-testid="jobs-table"] tr[data-id="${id}"]`).count(), 0);
      }
      await shoot(dpage, 'district-only');
    }));

    await t.test('a school admin has no link to the jobs and no page', () => h.run(async () => {
      const spage = await h.newPage('school-admin');
      await signInUI(spage, url, 'jobssa', fx.sa.password);
      await waitForHome(spage, 'admin');
      await spage.getByTestId('nav-recordings').waitFor();
      await spage.getByTestId('nav-microlessons').waitFor();
      assert.equal(await spage.getByTestId('nav-jobs').count(), 0);
      await spage.goto(`${url}/#/admin/jobs`);
      await spage.getByTestId('forbidden').waitFor();
      assert.equal(await spage.getByTestId('jobs-page').count(), 0);
    }));
  } finally {
    await h.close();
    hooks.closeAllConnections();
    await new Promise((res) => hooks.close(res));
  }
});
