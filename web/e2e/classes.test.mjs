// Scheduled classes in the browser: a school administrator schedules a class
// that starts now; its teacher starts it from the timetable on the home page
// and publishes the fake camera; a student of its audience joins with one
// click from their home page and sees the teacher; a class later in the day
// is not open yet; the student leaves and comes back; the teacher ends the
// class; the student rates it; the administrator's record shows the
// student's attendance (two joins) and the rating, and the satisfaction
// figures count it. The administrator also imports classes from a sheet and
// cancels a weekly series. Screenshots of the timetables in both
// languages, on a desktop and at phone width, go to $YUNKE_SCREENSHOT_DIR.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, Harness, screenshotDir, selectOption, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';

const password = 'e2e-Passw0rd-1';

/** setUp creates a junior secondary school with a school administrator, a math teacher and two grade-7 students (3班 and 4班). */
async function setUp(url) {
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-CD', name: '课表测试区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-CS', name: '课表实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
  const subjects = await sys.must('GET', '/api/v1/subjects');
  const math = subjects.items.find((s) => s.code === 'math');
  assert.ok(math, 'the installation has a math subject');
  const base = { password, district_id: district.id, school_id: school.id };
  const specs = {
    admin: { ...base, username: 'class-a1', name: '赵主任', roles: ['school_admin'] },
    teacher: { ...base, username: 'class-t1', name: '孙老师', roles: ['teacher'], staff_no: 'E2E-CT-1', subject_ids: [math.id], grades: [7, 8, 9], trainee: false },
    student: { ...base, username: 'class-s1', name: '周小雨', roles: ['student'], student_no: 'E2E-CS-1', grade: 7, class: '3班' },
    other: { ...base, username: 'class-s2', name: '吴小川', roles: ['student'], student_no: 'E2E-CS-2', grade: 8, class: '1班' },
  };
  const users = {};
  for (const [key, spec] of Object.entries(specs)) {
    const user = await sys.must('POST', '/api/v1/users', spec, 201);
    const settled = await signInApi(url, spec.username, spec.password);
    users[key] = { ...spec, id: user.id, password: settled.password, client: settled.client };
  }
  return { school, math, users };
}

/** signedIn opens a page signed in as user, on their home. */
async function signedIn(h, label, user, home) {
  const page = await h.newPage(label);
  await signInUI(page, h.server.url, user.username, user.password);
  await waitForHome(page, home);
  return page;
}

/** shoot saves the page in both languages, on a desktop and at phone width. */
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
      await page.screenshot({ path: join(screenshotDir, `yunke-classes-${name}-${lang}-${size}.png`), fullPage: true });
    }
  }
  await page.getByTestId('lang-toggle').dispatchEvent('click');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.setViewportSize({ width: 1280, height: 800 });
}

test('a scheduled class: schedule, start, join with one click, end, rate, record', { timeout: 300_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fx;
    await t.test('set up a school, its administrator, a teacher and students', () => h.run(async () => {
      fx = await setUp(h.server.url);
    }));
    if (!fx) return;
    const { math, users } = fx;
    const title = `一元一次方程 ${Date.now() % 10000}`;
    const comment = '老师讲得很清楚，例题很有帮助。';
    let classId = 0;
    let admin;

    await t.test('the administrator schedules a class that starts now', () => h.run(async () => {
      admin = await signedIn(h, 'admin', users.admin, 'admin');
      await admin.getByTestId('nav-classes').click();
      await admin.getByTestId('classes-admin').waitFor();
      await admin.getByTestId('classes-create').click();
      const editor = admin.getByTestId('class-editor');
      await editor.waitFor();
      // A required field left empty is named.
      await editor.getByTestId('class-editor-save').click();
      await editor.getByTestId('field-error-title').waitFor({ timeout: 5_000 });
      await editor.getByTestId('class-title').fill(title);
      // (One drop-down at a time: a closing one still shows its options for a moment.)
      const closed = () => waitFor('the drop-down to close', async () => (await admin.locator('.el-select-dropdown:visible').count()) === 0);
      await selectOption(admin, 'class-subject', String(math.id));
      await closed();
      await selectOption(admin, 'class-grade', '7');
      await closed();
      await selectOption(admin, 'class-teacher', String(users.teacher.id));
      await closed();
      // Starts now: the current minute, typed as the picker shows it.
      const now = await admin.evaluate(() => {
        const d = new Date();
        const p = (n) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
      });
      const picker = editor.locator('[data-field="starts_at"] input');
      await picker.fill(now);
      await picker.press('Enter');
      await editor.getByTestId('class-title').click(); // close the picker's panel
      assert.equal(await picker.inputValue(), now);
      await shoot(admin, 'editor');
      await editor.getByTestId('class-editor-save').click();
      await editor.waitFor({ state: 'detached', timeout: 10_000 });
      const row = admin.locator('[data-testid="classes-table"] tr[data-class-id]').filter({ hasText: title });
      await row.waitFor({ timeout: 10_000 });
      classId = Number(await row.getAttribute('data-class-id'));
      assert.ok(classId > 0);
      assert.equal(await row.getAttribute('data-status'), 'scheduled');

      // A weekly class later today (not open yet), scheduled through the API.
      const later = new Date(Date.now() + 3 * 3600_000);
      later.setSeconds(0, 0);
      await users.admin.client.must('POST', '/api/v1/classes', {
        title: '几何初步', subject_id: math.id, grade: 7, teacher_id: users.teacher.id, audience: 'classes', groups: ['3班'],
        starts_at: later.toISOString(), planned_minutes: 45, weeks: 3, premium: true,
      }, 201);
      await admin.reload();
      await admin.locator('[data-testid="classes-table"] tr[data-class-id]').nth(1).waitFor({ timeout: 10_000 });
      await shoot(admin, 'admin');

      // A sheet with a bad row imports nothing and names the row; a good one imports.
      const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
      const header = '学校代码,课程名称,学科,年级,教师工号,上课对象,开始时间,时长,周数';
      const good = `E2E-CS,函数图像,math,7,E2E-CT-1,3班,${day}T08:00:00+08:00,40,1`;
      await admin.getByTestId('classes-import').click();
      const upload = admin.getByTestId('classes-import-file').locator('input[type="file"]');
      await upload.setInputFiles({ name: 'classes.csv', mimeType: 'text/csv', buffer: Buffer.from(`${header}\n${good}\nE2E-CS,坏行,math,7,NO-SUCH,全年级,${day}T09:00:00+08:00,40,1\n`) });
      await admin.getByTestId('classes-import-submit').click();
      await admin.locator('[data-testid="row-errors"] tr[data-row="3"]').waitFor({ timeout: 15_000 });
      await upload.setInputFiles({ name: 'classes.csv', mimeType: 'text/csv', buffer: Buffer.from(`${header}\n${good}\n`) });
      await admin.getByTestId('classes-import-check').click();
      await admin.locator('[data-testid="classes-import-result"][data-state="checked"]').waitFor({ timeout: 15_000 });
      await admin.getByTestId('classes-import-submit').click();
      await admin.locator('[data-testid="classes-import-result"][data-state="imported"]').waitFor({ timeout: 15_000 });
      const imported = await users.admin.client.must('GET', `/api/v1/classes?as=admin&from=${day}&to=${day}T23:59:59%2B08:00`);
      assert.deepEqual(imported.items.map((c) => [c.title, c.groups]), [['函数图像', ['3班']]]);
    }));
    if (!classId) return;

    let teacher;
    let student;
    await t.test('the teacher starts the class from the timetable and publishes the camera', () => h.run(async () => {
      teacher = await signedIn(h, 'teacher', users.teacher, 'teacher');
      const row = teacher.locator(`[data-testid="timetable-row"][data-class-id="${classId}"]`);
      await row.waitFor({ timeout: 15_000 });
      await shoot(teacher, 'teacher');
      await row.getByTestId('class-join').click();
      await teacher.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      assert.equal((await teacher.getByTestId('room-name').getAttribute('data-room')), `class-${classId}`);
      assert.equal((await teacher.getByTestId('room-name').innerText()).trim(), title);
      await waitFor('the teacher to publish the camera', () => teacher.evaluate(() => window.yunke.room.localParticipant.isCameraEnabled), { timeoutMs: 30_000 });
    }));

    await t.test('a student joins with one click and sees the teacher; a later class is not open yet', () => h.run(async () => {
      student = await signedIn(h, 'student', users.student, 'student');
      const rows = student.getByTestId('timetable-row');
      await rows.first().waitFor({ timeout: 15_000 });
      // The later class: its button says when it opens.
      const later = rows.filter({ hasText: '几何初步' }).first();
      await later.waitFor();
      assert.equal(await later.getByTestId('class-join').isDisabled(), true, 'a class hours away is not open');
      assert.match(await later.getByTestId('class-join').innerText(), /\d\d:\d\d 开放进入/);
      const row = student.locator(`[data-testid="timetable-row"][data-class-id="${classId}"]`);
      await row.locator('[data-testid="timetable-status"]').filter({ hasText: '上课中' }).waitFor({ timeout: 40_000 });
      await shoot(student, 'student');
      // A student of another grade does not see the class.
      const other = await users.other.client.must('GET', '/api/v1/classes');
      assert.equal(other.items.filter((c) => c.id === classId).length, 0, 'a grade-8 student has no grade-7 class');

      await row.getByTestId('class-join').click();
      await student.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      await waitFor(
        'the teacher’s camera on the student’s page',
        () => student.locator('[data-testid="tile"][data-source="camera"]').filter({ hasText: users.teacher.name }).locator('video').evaluate((v) => v.videoWidth > 0 && !v.paused),
        { timeoutMs: 30_000 },
      );
      assert.equal(await student.getByTestId('end-class').count(), 0, 'a student cannot end the class');
      await teacher.getByTestId('participant').filter({ hasText: users.student.name }).waitFor({ timeout: 20_000 });
      await student.screenshot({ path: join(screenshotDir, 'yunke-classes-student-room.png') });

      // Leaving a running class: no rating yet, a word on when; joining again is one click.
      await student.getByTestId('leave').click();
      await student.locator('[data-testid="home"][data-home="student"]').waitFor({ timeout: 15_000 });
      await student.getByTestId('banner-info').filter({ hasText: '课程结束后' }).waitFor({ timeout: 10_000 });
      assert.equal(await student.getByTestId('rating-dialog').count(), 0, 'no rating while the class runs');
      await student.locator(`[data-testid="timetable-row"][data-class-id="${classId}"]`).getByTestId('class-join').click();
      await student.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      await student.locator('[data-testid="tile"][data-source="camera"]').filter({ hasText: users.teacher.name }).waitFor({ timeout: 30_000 });
    }));

    await t.test('the teacher ends the class and the student rates it', () => h.run(async () => {
      await teacher.getByTestId('end-class').click();
      await teacher.getByTestId('end-class-confirm').getByTestId('confirm-yes').click();
      await teacher.locator('[data-testid="home"][data-home="teacher"]').waitFor({ timeout: 20_000 });
      const rating = student.getByTestId('rating-dialog');
      await rating.waitFor({ timeout: 20_000 });
      await student.locator('[data-testid="home"][data-home="student"]').waitFor({ timeout: 15_000 });
      assert.equal(await student.getByTestId('banner-error').count(), 0, 'an ended class is no error');
      assert.equal((await rating.getByTestId('rating-class').innerText()).trim(), title);
      assert.equal(await rating.getByTestId('rating-solved').count(), 0, 'a class has no “solved” question');
      // Sending without stars names the stars.
      await rating.getByTestId('rating-submit').click();
      await rating.getByTestId('field-error-score').waitFor({ timeout: 5_000 });
      await rating.locator('label[for$="-4"]').click();
      assert.equal(await rating.getByTestId('rating-star-4').isChecked(), true);
      await rating.getByTestId('rating-comment').fill(comment);
      await student.screenshot({ path: join(screenshotDir, 'yunke-classes-rating.png') });
      await student.setViewportSize({ width: 390, height: 844 });
      await student.screenshot({ path: join(screenshotDir, 'yunke-classes-rating-phone.png') });
      await student.setViewportSize({ width: 1280, height: 800 });
      await rating.getByTestId('rating-submit').click();
      await rating.waitFor({ state: 'detached', timeout: 10_000 });
      const r = await users.student.client.must('GET', `/api/v1/classes/${classId}`);
      assert.equal(r.my_rating?.score, 4);
      assert.equal(r.status, 'ended');
      // The ended class offers to change the rating from the timetable.
      await student.locator(`[data-testid="timetable-row"][data-class-id="${classId}"][data-status="ended"]`).getByTestId('class-rate').waitFor({ timeout: 40_000 });
    }));

    await t.test('the administrator sees the attendance, the rating and the satisfaction', () => h.run(async () => {
      await admin.goto(`${h.server.url}/#/admin/classes`);
      await admin.reload();
      const row = admin.locator(`[data-testid="classes-table"] tr[data-class-id="${classId}"]`);
      await row.waitFor({ timeout: 15_000 });
      assert.equal(await row.getAttribute('data-status'), 'ended');
      // Satisfaction by teacher: one rating of 4, all satisfied.
      const sat = admin.locator(`[data-testid="satisfaction-table"] tr[data-key="${users.teacher.id}"]`);
      await sat.waitFor({ timeout: 15_000 });
      assert.equal(await sat.getAttribute('data-ratings'), '1');
      assert.equal(await sat.getAttribute('data-share'), '1.000');
      assert.equal(await sat.getAttribute('data-mean'), '4.00');
      assert.match(await sat.innerText(), new RegExp(users.teacher.name));
      await shoot(admin, 'admin-ended');

      await row.getByTestId('class-record').click();
      await admin.getByTestId('class-record-page').waitFor();
      const att = admin.locator(`[data-testid="attendance-table"] tr[data-user="${users.student.id}"]`);
      await att.waitFor({ timeout: 15_000 });
      assert.equal(await att.getAttribute('data-role'), 'student');
      assert.equal(await att.getAttribute('data-joins'), '2', 'the student joined twice');
      // The time present is the two stays', summed (each may be under a second here).
      const record = await users.admin.client.must('GET', `/api/v1/classes/${classId}/record`);
      const stays = record.attendees.find((a) => a.user_id === users.student.id).stays;
      assert.equal(stays.length, 2);
      const ms = stays.reduce((sum, st) => sum + (Date.parse(st.left_at) - Date.parse(st.joined_at)), 0);
      assert.equal(Number(await att.getAttribute('data-present')), Math.floor(ms / 1000), `present for ${ms} ms`);
      assert.equal(await att.getAttribute('data-left-early'), 'false', 'the student stayed to the end');
      await admin.locator(`[data-testid="attendance-table"] tr[data-user="${users.teacher.id}"][data-role="teacher"]`).waitFor();
      const rated = admin.locator(`[data-testid="record-rating"][data-student="${users.student.id}"]`);
      assert.equal(await rated.getAttribute('data-score'), '4');
      assert.equal((await rated.getByTestId('record-rating-comment').innerText()).trim(), comment);
      assert.equal(await admin.getByTestId('record-satisfaction').getAttribute('data-ratings'), '1');
      await shoot(admin, 'record');

      // Editing one class of the weekly series; then cancelling it cancels the series.
      await admin.goto(`${h.server.url}/#/admin/classes`);
      const weekly = admin.locator('[data-testid="classes-table"] tr[data-class-id]').filter({ hasText: '几何初步' });
      await weekly.getByTestId('class-edit').click();
      const editor = admin.getByTestId('class-editor');
      assert.equal(await editor.getByTestId('class-title').inputValue(), '几何初步');
      assert.equal(await editor.getByTestId('class-weeks').count(), 0, 'one class is edited alone');
      await editor.getByTestId('class-title').fill('几何初步（一）');
      await editor.getByTestId('class-editor-save').click();
      await editor.waitFor({ state: 'detached', timeout: 10_000 });
      await weekly.filter({ hasText: '几何初步（一）' }).waitFor({ timeout: 10_000 });
      await weekly.getByTestId('class-cancel').click();
      await admin.getByTestId('cancel-class-confirm').getByTestId('confirm-yes').click();
      await admin.locator('[data-testid="classes-table"] tr[data-status="cancelled"]').filter({ hasText: '几何初步' }).waitFor({ timeout: 10_000 });
      const left = await users.admin.client.must('GET', '/api/v1/classes?as=admin&status=scheduled&to=' + new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
      assert.equal(left.items.filter((c) => c.title.startsWith('几何初步')).length, 0, 'every week of the series is cancelled');
    }));
  } finally {
    await h.close();
  }
});
