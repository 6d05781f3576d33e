// Accounts in the browser: every role signs in and lands on its own home, a
// wrong password is explained, and an account whose password was reset must
// change it before anything else.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { adminClient, Harness, signInApi, signInUI, waitForHome } from './lib/harness.mjs';

const password = 'e2e-Passw0rd-1';

/** setUp creates a district, a school and one user of every role, as the system administrator. */
async function setUp(url) {
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-D1', name: '测试区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-S1', name: '第一实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
  const base = { password, district_id: district.id };
  const specs = {
    student: { ...base, username: 'stu01', name: '李小明', roles: ['student'], school_id: school.id, student_no: 'E2E-ST-001', grade: 7, class: '2班' },
    teacher: { ...base, username: 'tea01', name: '王老师', roles: ['teacher'], school_id: school.id, staff_no: 'E2E-T-001', grades: [7, 8], subject_ids: [], trainee: false },
    expert: { ...base, username: 'exp01', name: '赵专家', roles: ['expert'], subject_ids: [], expert_scope: { district: true, school_ids: [] } },
    school_admin: { ...base, username: 'sadm01', name: '钱校管', roles: ['school_admin'], school_id: school.id },
    district_admin: { ...base, username: 'dadm01', name: '孙区管', roles: ['district_admin'] },
    reset_me: { ...base, username: 'stu02', name: '周小红', roles: ['student'], school_id: school.id, student_no: 'E2E-ST-002', grade: 8, class: '1班' },
  };
  const users = {};
  for (const [key, spec] of Object.entries(specs)) {
    const user = await sys.must('POST', '/api/v1/users', spec, 201);
    // Settle the first-sign-in password change through the API, so the UI
    // sign-in below lands on the home page.
    const settled = await signInApi(url, spec.username, spec.password);
    users[key] = { ...spec, id: user.id, password: settled.password };
  }
  return { sys, district, school, users };
}

test('accounts: sign-in, role homes, password changes', { timeout: 240_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fixture;
    await t.test('set up users through the API', () => h.run(async () => {
      fixture = await setUp(h.server.url);
    }));
    if (!fixture) return;
    const { users, school, sys } = fixture;

    const homes = [
      ['student', 'student', '学生'],
      ['teacher', 'teacher', '老师'],
      ['expert', 'expert', '专家'],
      ['school_admin', 'admin', '学校管理员'],
      ['district_admin', 'admin', '区县管理员'],
    ];
    for (const [key, home, roleLabel] of homes) {
      await t.test(`${key} signs in and sees the ${home} home`, () => h.run(async () => {
        const u = users[key];
        const page = await h.newPage(key);
        await signInUI(page, h.server.url, u.username, u.password);
        await waitForHome(page, home);
        assert.equal((await page.getByTestId('user-name').innerText()).trim(), u.name, 'the header names the user');
        assert.equal((await page.getByTestId('user-role').innerText()).trim(), roleLabel, 'the header shows the role');
        assert.match(await page.getByTestId('home-greeting').innerText(), new RegExp(u.name));
        if (u.school_id) assert.equal((await page.getByTestId('user-school').innerText()).trim(), school.name, 'the header shows the school');
        if (key === 'student') {
          assert.equal((await page.getByTestId('info-school').innerText()).trim(), school.name);
          assert.match(await page.getByTestId('info-grade').innerText(), /7/);
          assert.equal((await page.getByTestId('info-class').innerText()).trim(), '2班');
          await page.getByTestId('home-qa-ask').waitFor();
        }
        if (home === 'admin') {
          await page.getByTestId('admin-nav').waitFor();
          await page.getByTestId('recent-activity').waitFor();
          assert.equal(await page.getByTestId('nav-districts').count(), 0, 'only system admins manage districts');
        }
        if (key === 'district_admin') {
          // The admin pages open from the home page.
          await page.getByTestId('nav-schools').click();
          await page.locator(`[data-testid="schools-table"] tr[data-code="${school.code}"]`).waitFor({ timeout: 15_000 });
        }
        // A reload keeps the session.
        await page.reload();
        await page.locator('body[data-ready="true"]').waitFor();
        await page.locator('[data-testid="home"], [data-testid="schools-page"]').first().waitFor({ timeout: 15_000 });
        // Signing out returns to the sign-in page, and the session is gone.
        await page.getByTestId('signout').click();
        await page.getByTestId('signin-form').waitFor({ timeout: 10_000 });
        const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
        assert.equal(me, 401, 'signed out on the server too');
      }));
    }

    await t.test('a teacher opens a class room by its address and a student joins it', () => h.run(async () => {
      const room = `math-${Date.now().toString(36)}`;
      const teacher = await h.newPage('class-teacher');
      await signInUI(teacher, h.server.url, users.teacher.username, users.teacher.password);
      await waitForHome(teacher, 'teacher');
      // A room without a scheduled class: opened by its address.
      await teacher.goto(`${h.server.url}/#/class/${room}`);
      await teacher.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      const student = await h.newPage('class-student');
      await signInUI(student, h.server.url, users.student.username, users.student.password);
      await waitForHome(student, 'student');
      await student.goto(`${h.server.url}/#/class/${room}`);
      await student.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      // The student sees the teacher's video tile; the teacher's page lists the student.
      await student.locator('[data-testid="tile"]').first().waitFor({ timeout: 30_000 });
      await teacher.getByTestId('participant').filter({ hasText: users.student.name }).waitFor({ timeout: 20_000 });
      assert.equal(await student.getByTestId('toggle-camera').isVisible(), false, 'a student has no camera control');
      // Leaving returns to the home page.
      await student.getByTestId('leave').click();
      await student.locator('[data-testid="home"][data-home="student"]').waitFor({ state: 'visible', timeout: 15_000 });
    }));

    await t.test('a wrong password shows an error', () => h.run(async () => {
      const page = await h.newPage('wrong-password');
      await signInUI(page, h.server.url, users.teacher.username, 'not-the-password');
      const err = page.getByTestId('signin-error');
      await err.waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await err.getAttribute('data-code'), 'invalid_credentials');
      assert.equal((await err.innerText()).trim(), '用户名或密码不正确。');
      assert.equal(await page.getByTestId('home').count(), 0, 'stays on the sign-in page');
      assert.equal(await page.getByTestId('signin-password').inputValue(), '', 'the password field is cleared');
    }));

    await t.test('after a password reset, the first sign-in forces a change', () => h.run(async () => {
      const u = users.reset_me;
      const temporary = 'reset-Passw0rd-9';
      await sys.must('POST', `/api/v1/users/${u.id}/password`, { new_password: temporary }, 204);
      const page = await h.newPage('must-change');
      await signInUI(page, h.server.url, u.username, temporary);
      await page.getByTestId('change-password').waitFor({ timeout: 15_000 });
      await page.getByTestId('pw-forced').waitFor();
      assert.equal(await page.getByTestId('home').count(), 0, 'no home before the change');
      assert.match(await page.evaluate(() => location.hash), /#\/password/);
      // Going elsewhere leads back to the change.
      await page.goto(`${h.server.url}/#/`);
      await page.getByTestId('change-password').waitFor({ timeout: 15_000 });
      // A mismatch is caught before anything is sent.
      const next = 'brand-new-Passw0rd';
      await page.getByTestId('pw-current').fill(temporary);
      await page.getByTestId('pw-new').fill(next);
      await page.getByTestId('pw-confirm').fill(`${next}x`);
      await page.getByTestId('pw-submit').click();
      await page.getByTestId('field-error-confirm').waitFor({ state: 'visible' });
      await page.getByTestId('pw-confirm').fill(next);
      await page.getByTestId('pw-submit').click();
      await waitForHome(page, 'student');
      // The new password works; the temporary one does not.
      const again = await h.newPage('must-change-again');
      await signInUI(again, h.server.url, u.username, temporary);
      await again.getByTestId('signin-error').waitFor({ state: 'visible', timeout: 15_000 });
      await signInUI(again, h.server.url, u.username, next);
      await waitForHome(again, 'student');
    }));
  } finally {
    await h.close();
  }
});
