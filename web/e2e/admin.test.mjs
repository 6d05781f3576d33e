// The admin pages as a district administrator: schools (create, duplicate,
// conflict, deactivate), the recent activity in words, users (create a
// teacher, reset a password), targets (saved by a district admin and by the
// system admin; read only for a school admin).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { admin, adminClient, Harness, selectOption, signInApi, signInUI, waitForHome } from './lib/harness.mjs';

test('admin pages', { timeout: 240_000 }, async (t) => {
  const h = await Harness.start();
  try {
    const url = h.server.url;
    let fx;
    await t.test('set up a district, a school and a district administrator', () => h.run(async () => {
      const sys = await adminClient(url);
      const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-D3', name: '管理测试区' }, 201);
      const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-A1', name: '管理测试小学', kind: 'primary', district_id: district.id }, 201);
      await sys.must('POST', '/api/v1/users', { username: 'dadm03', name: '管理测试员', password: 'e2e-Passw0rd-3', roles: ['district_admin'], district_id: district.id }, 201);
      const da = await signInApi(url, 'dadm03', 'e2e-Passw0rd-3');
      fx = { sys, district, school, da };
    }));
    if (!fx) return;
    const page = await h.newPage('district-admin');

    await t.test('schools: create, duplicate code, conflict, deactivate', () => h.run(async () => {
      await signInUI(page, url, 'dadm03', fx.da.password);
      await waitForHome(page, 'admin');
      await page.getByTestId('nav-schools').click();
      await page.locator(`[data-testid="schools-table"] tr[data-code="${fx.school.code}"]`).waitFor();

      await page.getByTestId('schools-create').click();
      await page.getByTestId('school-code').fill('E2E-A2');
      await page.getByTestId('school-name').fill('管理测试九年制学校');
      await selectOption(page, 'school-kind', 'nine_year');
      await page.getByTestId('school-save').click();
      await page.locator('[data-testid="schools-table"] tr[data-code="E2E-A2"]').waitFor();

      // The same code again: the error sits next to the code field.
      await page.getByTestId('schools-create').click();
      await page.getByTestId('school-code').fill('E2E-A2');
      await page.getByTestId('school-name').fill('重复的学校');
      await page.getByTestId('school-save').click();
      await page.getByTestId('field-error-code').waitFor({ state: 'visible' });
      assert.equal(await page.getByTestId('school-code').getAttribute('aria-invalid'), 'true');

      // Someone else changes the school while the editor is open.
      await page.locator(`tr[data-code="${fx.school.code}"] [data-testid="school-edit"]`).click();
      await fx.sys.must('PATCH', `/api/v1/schools/${fx.school.id}`, { name: '管理测试小学（新名）', version: fx.school.version });
      await page.getByTestId('school-name').fill('我的修改');
      await page.getByTestId('school-save').click();
      await page.locator('[data-testid="banner-error"][data-code="conflict"]').waitFor();
      assert.match(await page.getByTestId('banner-error').first().innerText(), /已被其他人修改/);
      await page.getByTestId('conflict-reload').click();
      await page.locator(`tr[data-code="${fx.school.code}"]`).filter({ hasText: '管理测试小学（新名）' }).waitFor();

      await page.locator('tr[data-code="E2E-A2"] [data-testid="school-toggle"]').click();
      await page.locator('tr[data-code="E2E-A2"] .pill.off').waitFor();
      const s = await fx.da.client.must('GET', '/api/v1/schools?q=E2E-A2');
      assert.equal(s.items[0].active, false, 'deactivated on the server');
    }));

    await t.test('the admin home says who did what to whom, in words', () => h.run(async () => {
      await page.goto(`${url}/#/`);
      const items = page.getByTestId('activity-item');
      await items.filter({ hasText: '管理测试员 新建了学校“管理测试九年制学校”' }).waitFor();
      await items.filter({ hasText: '管理测试员 修改了学校“管理测试九年制学校”' }).waitFor();
      for (const text of await items.allInnerTexts()) {
        assert.doesNotMatch(text, /\b[a-z_]+\.[a-z_]+\b|\b[a-z_]+:\d+/, `an entry shows a raw action or id: ${text}`);
      }
      await page.getByTestId('lang-toggle').click();
      await items.filter({ hasText: '管理测试员 created the school “管理测试九年制学校”' }).waitFor();
      await page.getByTestId('lang-toggle').click();
    }));

    await t.test('users: create a teacher, reset a password', () => h.run(async () => {
      await page.goto(`${url}/#/admin/users`);
      await page.getByTestId('users-create').click();
      await page.getByTestId('user-form-username').fill('tea03');
      await page.getByTestId('user-form-name').fill('管理测试老师');
      await page.getByTestId('user-form-password').fill('e2e-Passw0rd-t3');
      await page.getByTestId('user-form-role-teacher').check();
      await selectOption(page, 'user-form-school', String(fx.school.id));
      await page.getByTestId('user-form-staff_no').fill('E2E-T-300');
      await page.getByTestId('user-form-grades-3').check();
      await page.getByTestId('user-save').click();
      await page.locator('[data-testid="users-table"] tr[data-username="tea03"]').waitFor();
      const list = await fx.da.client.must('GET', '/api/v1/users?q=tea03');
      assert.equal(list.items[0].staff_no, 'E2E-T-300');
      assert.deepEqual(list.items[0].grades, [3]);

      await page.locator('tr[data-username="tea03"] [data-testid="user-reset"]').click();
      await page.getByTestId('reset-password').fill('e2e-Reset-t3');
      await page.getByTestId('reset-submit').click();
      await page.getByTestId('reset-outcome').waitFor({ state: 'visible' });
      const me = await signInApi(url, 'tea03', 'e2e-Reset-t3').catch((err) => err);
      assert.ok(!(me instanceof Error), `the reset password works: ${me?.message ?? ''}`);
    }));

    await t.test('targets: district and system admins save rows; a school admin only reads', () => h.run(async () => {
      await page.goto(`${url}/#/admin/targets`);
      const row = page.locator(`[data-testid="targets-table"] tr[data-school="${fx.school.id}"]`);
      await row.waitFor();
      await row.locator('input[data-field="lessons_recorded"]').fill('40');
      await row.locator('input[data-field="teachers_participating"]').fill('12');
      await row.locator('input[data-field="trainee_coverage_pct"]').fill('80');
      await row.getByTestId('target-save').click();
      await page.getByTestId('banner-info').waitFor();
      const year = new Date().getFullYear();
      const targets = await fx.da.client.must('GET', `/api/v1/targets?year=${year}`);
      const got = targets.items.find((x) => x.school_id === fx.school.id);
      assert.deepEqual([got.lessons_recorded, got.teachers_participating, got.trainee_coverage_pct], [40, 12, 80]);
      // Saving again sends the version the first save answered.
      const [again] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes(`/schools/${fx.school.id}/targets/`)),
        row.getByTestId('target-save').click(),
      ]);
      assert.equal(again.status(), 200, `the second save is accepted, got HTTP ${again.status()}`);

      // The system administrator of a new installation sets targets too.
      const sysPage = await h.newPage('system-admin');
      await signInUI(sysPage, url, admin.username, admin.password);
      await waitForHome(sysPage, 'admin');
      await sysPage.getByTestId('nav-districts').waitFor();
      await sysPage.goto(`${url}/#/admin/targets`);
      const sysRow = sysPage.locator(`[data-testid="targets-table"] tr[data-school="${fx.school.id}"]`);
      await sysRow.waitFor();
      assert.equal(await sysPage.getByTestId('targets-readonly').count(), 0, 'the system administrator may edit targets');
      await sysRow.locator('input[data-field="lessons_recorded"]').fill('55');
      await sysRow.getByTestId('target-save').click();
      await sysPage.getByTestId('banner-info').waitFor();
      const after = (await fx.da.client.must('GET', `/api/v1/targets?year=${year}`)).items.find((x) => x.school_id === fx.school.id);
      assert.equal(after.lessons_recorded, 55, 'the system administrator saved the target');

      // A school administrator only reads them.
      await fx.sys.must('POST', '/api/v1/users', { username: 'sadm03', name: '校管测试员', password: 'e2e-Passw0rd-4', roles: ['school_admin'], school_id: fx.school.id }, 201);
      const sa = await signInApi(url, 'sadm03', 'e2e-Passw0rd-4');
      const schoolPage = await h.newPage('school-admin');
      await signInUI(schoolPage, url, 'sadm03', sa.password);
      await waitForHome(schoolPage, 'admin');
      await schoolPage.goto(`${url}/#/admin/targets`);
      await schoolPage.getByTestId('targets-readonly').waitFor();
      assert.equal(await schoolPage.locator('[data-testid="targets-table"] input').count(), 0, 'no inputs for a read-only view');
    }));
  } finally {
    await h.close();
  }
});
