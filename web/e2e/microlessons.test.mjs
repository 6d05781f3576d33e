// Micro-lessons in the browser: a teacher's upload is refused with a reason
// in the UI's language; a real video upload is cut by a dropped connection,
// resumes by itself when the network is back, is cut again and resumes
// after a page reload from the bytes the server already has; an
// administrator returns it with a reason, the teacher files it again, the
// administrator publishes it, and a student finds it by subject and grade
// and watches it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { admin, adminClient, fileInput, Harness, screenshotDir, selectedValue, selectOption, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';

const password = 'e2e-Passw0rd-1';
const here = dirname(fileURLToPath(import.meta.url));
const mp3 = resolve(here, '../../server/microlessons/probe/testdata/tone.mp3');
const mp4 = resolve(here, '../../server/microlessons/probe/testdata/h264_aac.mp4');
/** The upload's chunk size (src/media/resumable-upload.ts). */
const chunk = 4 * 1024 * 1024;

/** makeLesson writes a WebM (VP8 + Opus) of about 10 MB: three chunks. */
function makeLesson(dir) {
  const out = join(dir, 'lesson.webm');
  execFileSync('ffmpeg', [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-t', '4', '-vf', 'noise=alls=60:allf=t',
    '-c:v', 'libvpx', '-b:v', '20M', '-minrate', '20M', '-maxrate', '20M', '-deadline', 'realtime', '-cpu-used', '8',
    '-c:a', 'libopus', '-shortest', out,
  ]);
  return out;
}

async function setUp(url) {
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-MD', name: '微课测试区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-MS', name: '微课实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
  const subjects = await sys.must('GET', '/api/v1/subjects');
  const math = subjects.items.find((s) => s.code === 'math');
  assert.ok(math, 'the installation has a math subject');
  const csv = 'subject,grade,code,parent_code,name,sort\nmath,7,M7-1,,有理数,1\nmath,7,M7-1-1,M7-1,正数和负数,1\n';
  const form = new FormData();
  form.set('file', new Blob([csv], { type: 'text/csv' }), 'kp.csv');
  await sys.must('POST', '/api/v1/knowledge-points/import', form);
  const base = { password, district_id: district.id, school_id: school.id };
  const specs = {
    teacher: { ...base, username: 'ml-t1', name: '周老师', roles: ['teacher'], staff_no: 'E2E-MT-1', subject_ids: [math.id], grades: [7, 8], trainee: true },
    student: { ...base, username: 'ml-s1', name: '林小雨', roles: ['student'], student_no: 'E2E-MS-1', grade: 7, class: '1班' },
  };
  const users = {};
  for (const [key, spec] of Object.entries(specs)) {
    const user = await sys.must('POST', '/api/v1/users', spec, 201);
    const settled = await signInApi(url, spec.username, spec.password);
    users[key] = { ...spec, id: user.id, password: settled.password, client: settled.client };
  }
  return { math, users };
}

/** pick chooses a value of a select whose list may still move (the page reloads under it). */
async function pick(page, testId, value) {
  await page.getByTestId(testId).click();
  // Let the list finish opening (it slides in, and scrolls to the chosen value).
  await page.waitForTimeout(400);
  await page.locator(`.el-select-dropdown__item[data-value="${value}"]:visible`).click();
  await page.locator(`[data-testid="${testId}"][data-value="${value}"]`).waitFor();
}

/** shoot saves the page in both languages, on a desktop and on a phone (390 px). */
async function shoot(page, name) {
  for (const lang of ['zh-CN', 'en']) {
    if ((await page.evaluate(() => document.documentElement.lang)) !== lang) {
      await page.getByTestId('lang-toggle').dispatchEvent('click');
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    }
    for (const [size, vp] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
      await page.setViewportSize(vp);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(screenshotDir, `yunke-ml-${name}-${lang}-${size}.png`), fullPage: true });
    }
  }
  await page.getByTestId('lang-toggle').dispatchEvent('click');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** fillForm fills the upload form: title, math, grade 7, a knowledge point from the tree, the file. */
async function fillForm(page, math, title, file) {
  await page.getByTestId('ml-upload-page').waitFor();
  await page.getByTestId('ml-title').fill(title);
  // The teacher's first subject and grade are chosen already.
  if ((await selectedValue(page, 'ml-subject')) !== String(math.id)) await selectOption(page, 'ml-subject', math.id);
  if ((await selectedValue(page, 'ml-grade')) !== '7') await selectOption(page, 'ml-grade', 7);
  await page.locator('.el-select[data-testid="ml-kps"]').click();
  await page.locator('.el-tree-node__content:visible', { hasText: '有理数' }).locator('.el-checkbox').first().click();
  await page.keyboard.press('Escape');
  await fileInput(page, 'ml-file').setInputFiles(file);
  await page.getByTestId('ml-file-name').waitFor();
}

async function serverUpload(client) {
  const r = await client.must('GET', '/api/v1/microlessons/uploads');
  return r.items[0] ?? null;
}

test('micro-lessons: refused file, interrupted and resumed upload, return, publish, watch', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'yunke-ml-'));
  const h = await Harness.start();
  try {
    let fixture;
    let lesson;
    await t.test('set up a school, a trainee math teacher, a grade-7 student and a video', () => h.run(async () => {
      fixture = await setUp(h.server.url);
      lesson = makeLesson(dir);
    }));
    if (!fixture) return;
    const { math, users } = fixture;
    const url = h.server.url;
    const size = statSync(lesson).size;
    assert.ok(size > 2 * chunk, `the lesson spans three chunks (${size} bytes)`);
    const title = `一元一次方程的解法 ${Date.now() % 10000}`;
    let teacher;

    await t.test('an audio file is refused with the reason in the UI language', () => h.run(async () => {
      teacher = await h.newPage('teacher');
      await signInUI(teacher, url, users.teacher.username, users.teacher.password);
      await waitForHome(teacher, 'teacher');
      await teacher.getByTestId('home-ml-upload').click();
      await fillForm(teacher, math, '不是视频', mp3);
      await teacher.getByTestId('ml-submit').click();
      const alert = teacher.locator('[data-testid="ml-refusal"][data-code="unsupported_media"]');
      await alert.waitFor({ timeout: 30_000 });
      const text = await alert.innerText();
      assert.match(text, /不支持这种文件/, 'the refusal is in Chinese');
      assert.match(text, /MP3/i, 'the server says what it found');
      await shoot(teacher, 'refused');
      assert.equal(await serverUpload(users.teacher.client), null, 'the refused upload is gone');
    }));

    await t.test('an upload cut by a dropped connection resumes when the network is back, and after a reload', () => h.run(async () => {
      await teacher.reload();
      await fillForm(teacher, math, title, lesson);
      const context = teacher.context();
      const patches = [];
      teacher.on('request', (req) => {
        if (req.method() === 'PATCH' && req.url().includes('/api/v1/microlessons/uploads/')) patches.push(Number(req.headers()['upload-offset']));
      });
      let seen = 0;
      let held = null;
      await teacher.route('**/api/v1/microlessons/uploads/*', async (route) => {
        if (route.request().method() !== 'PATCH') return route.continue();
        seen++;
        if (seen === 2) {
          // The second chunk: the network goes away under it.
          await context.setOffline(true);
          return route.abort('internetdisconnected');
        }
        if (seen === 4) {
          // The last chunk: it hangs until the page is reloaded.
          held = route;
          return;
        }
        return route.continue();
      });
      await teacher.getByTestId('ml-submit').click();
      await teacher.locator('[data-testid="ml-progress"][data-phase="interrupted"]').waitFor({ timeout: 30_000 });
      const cut = await serverUpload(users.teacher.client);
      assert.equal(cut.offset, chunk, 'the server kept the first chunk');
      assert.equal(cut.complete, false);
      await teacher.screenshot({ path: join(screenshotDir, 'yunke-ml-interrupted.png'), fullPage: true });

      // Back online: the upload goes on by itself from the server's offset.
      await context.setOffline(false);
      await waitFor('the upload to resume after the network is back', async () => (await serverUpload(users.teacher.client))?.offset === 2 * chunk, { timeoutMs: 30_000 });
      await waitFor('the last chunk to be on its way', () => held !== null);
      assert.deepEqual(patches.slice(0, 3), [0, chunk, chunk], 'the resumed upload sent from the offset the server had');

      // A reload while the last chunk hangs: choose the same file again.
      // (Reload before removing the route: unroute would let the held request go on.)
      await teacher.reload();
      await teacher.unroute('**/api/v1/microlessons/uploads/*');
      await held?.abort().catch(() => {});
      patches.length = 0;
      await teacher.getByTestId('ml-pending').waitFor();
      // The cut request may have delivered part of the last chunk.
      const before = (await serverUpload(users.teacher.client)).offset;
      assert.ok(before >= 2 * chunk && before < size, `the server holds part of the file (${before} of ${size})`);
      await fillForm(teacher, math, title, lesson);
      await teacher.getByTestId('ml-submit').click();
      await teacher.getByTestId('ml-mine-page').waitFor({ timeout: 60_000 });
      assert.deepEqual(patches, [before], 'after the reload only the missing bytes were sent');
      const row = teacher.locator('[data-testid="ml-mine-table"] tr[data-status="submitted"]');
      await row.waitFor();
      assert.match(await row.innerText(), new RegExp(title.split(' ')[0]));
      const mine = await users.teacher.client.must('GET', '/api/v1/microlessons?mine=true');
      assert.equal(mine.items[0].size_bytes, size, 'every byte arrived');
      assert.equal(mine.items[0].knowledge_points.length, 1, 'the knowledge point was filed');
      await shoot(teacher, 'mine');
    }));

    let adminPage;
    await t.test('an administrator returns it with a reason; the teacher files it again', () => h.run(async () => {
      adminPage = await h.newPage('admin');
      await signInUI(adminPage, url, admin.username, admin.password);
      await waitForHome(adminPage, 'admin');
      await adminPage.getByRole('link', { name: '微课审核' }).first().click();
      await adminPage.getByTestId('ml-review-page').waitFor();
      await adminPage.getByTestId('ml-return').first().click();
      await adminPage.getByTestId('ml-return-reason-input').fill('请补充课堂小结。');
      await adminPage.getByTestId('ml-return-send').click();
      await adminPage.getByTestId('ml-return').waitFor({ state: 'detached' });

      await teacher.reload();
      const returned = teacher.locator('[data-testid="ml-mine-table"] tr[data-status="returned"]');
      await returned.waitFor();
      assert.match(await returned.getByTestId('ml-return-reason').innerText(), /请补充课堂小结/);
      await shoot(teacher, 'returned');
      await returned.getByTestId('ml-resubmit').click();
      await teacher.locator('[data-testid="ml-mine-table"] tr[data-status="submitted"]').waitFor();
    }));

    await t.test('the administrator publishes it', () => h.run(async () => {
      await adminPage.reload();
      await adminPage.getByTestId('ml-publish').first().waitFor();
      await shoot(adminPage, 'review');
      await adminPage.getByTestId('ml-publish').first().click();
      await adminPage.getByTestId('ml-publish').waitFor({ state: 'detached' });
      await teacher.reload();
      await teacher.locator('[data-testid="ml-mine-table"] tr[data-status="published"]').waitFor();
    }));

    await t.test('a student finds it by subject and grade and watches it', () => h.run(async () => {
      const student = await h.newPage('student');
      await signInUI(student, url, users.student.username, users.student.password);
      await waitForHome(student, 'student');
      await student.getByTestId('home-ml-browse').click();
      await student.getByTestId('ml-browse-page').waitFor();
      await pick(student, 'ml-filter-subject', math.id);
      await student.getByTestId('ml-card').first().waitFor();
      await pick(student, 'ml-filter-grade', 8);
      await student.getByTestId('ml-browse-empty').waitFor();
      await pick(student, 'ml-filter-grade', 7);
      await student.getByTestId('ml-card').first().waitFor();
      await shoot(student, 'browse');
      await student.getByTestId('ml-card-open').first().click();
      const video = student.getByTestId('ml-video');
      await video.waitFor();
      await video.evaluate((v) => v.play());
      const seen = await waitFor('the micro-lesson to play', () =>
        video.evaluate((v) => (v.readyState >= 2 && v.currentTime > 0.5 ? { readyState: v.readyState, t: v.currentTime, w: v.videoWidth } : { ok: false, readyState: v.readyState, t: v.currentTime })),
      );
      assert.equal(seen.w, 640);
      await video.evaluate((v) => v.pause());
      await shoot(student, 'watch');
    }));

    await t.test('an upload finished earlier but never filed is filed from the list, without sending it again', () => h.run(async () => {
      // Sent with tus by hand, as a tab closed before filing would leave it.
      const client = users.teacher.client;
      const bytes = readFileSync(mp4);
      const tus = (method, path, headers, body) =>
        fetch(`${url}${path}`, { method, body, headers: { Cookie: client.cookie, 'X-CSRF-Token': client.csrf, 'Tus-Resumable': '1.0.0', ...headers } });
      const created = await tus('POST', '/api/v1/microlessons/uploads', { 'Upload-Length': String(bytes.length), 'Upload-Metadata': `filename ${Buffer.from('fractions.mp4').toString('base64')}` });
      assert.equal(created.status, 201);
      const location = new URL(created.headers.get('Location'), `${url}/api/v1/microlessons/uploads/`).pathname;
      const sent = await tus('PATCH', location, { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' }, bytes);
      assert.equal(sent.status, 204);

      await teacher.goto(`${url}/#/microlessons/new`);
      const item = teacher.locator('[data-testid="ml-pending-item"][data-complete="true"]');
      await item.waitFor();
      await teacher.getByTestId('ml-title').fill('分数的意义');
      await item.getByTestId('ml-use-upload').click();
      await teacher.getByTestId('ml-file-name').waitFor();
      await teacher.getByTestId('ml-submit').click();
      await teacher.getByTestId('ml-mine-page').waitFor({ timeout: 30_000 });
      await teacher.locator('[data-testid="ml-mine-table"] tr[data-status="submitted"]').waitFor();
      assert.equal(await serverUpload(client), null, 'the upload became the micro-lesson');
    }));
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
