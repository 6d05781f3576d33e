// The Q&A centre in the browser: a student asks with a picture; a math
// teacher who is online sees it arrive without reloading, claims it and
// answers, a teacher of another subject is not shown it but up-votes the
// answer; the student adopts the answer and rates it, and turns a second
// question into a live tutoring request. The question page is
// photographed in both languages, on a desktop and at 390 px.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, Harness, screenshotDir, selectOption, settled, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';

const password = 'e2e-Passw0rd-1';

/** A 1×1 PNG: the picture of the exercise. */
const tinyPNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

/** setUp creates a junior secondary school with a math teacher (grades 7–9) and a grade-7 student. */
async function setUp(url) {
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-QD', name: '答疑测试区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-QS', name: '答疑实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
  const subjects = await sys.must('GET', '/api/v1/subjects');
  const math = subjects.items.find((s) => s.code === 'math');
  assert.ok(math, 'the installation has a math subject');
  const other = subjects.items.find((s) => s.active && s.code !== 'math');
  assert.ok(other, 'the installation has a second subject');
  const base = { password, district_id: district.id, school_id: school.id };
  const specs = {
    teacher: { ...base, username: 'qa-t1', name: '王老师', roles: ['teacher'], staff_no: 'E2E-QT-1', subject_ids: [math.id], grades: [7, 8, 9], trainee: false },
    other: { ...base, username: 'qa-t2', name: '赵老师', roles: ['teacher'], staff_no: 'E2E-QT-2', subject_ids: [other.id], grades: [7, 8, 9], trainee: false },
    student: { ...base, username: 'qa-s1', name: '李小明', roles: ['student'], student_no: 'E2E-QS-1', grade: 7, class: '2班' },
  };
  const users = {};
  for (const [key, spec] of Object.entries(specs)) {
    const user = await sys.must('POST', '/api/v1/users', spec, 201);
    const settled = await signInApi(url, spec.username, spec.password);
    users[key] = { ...spec, id: user.id, password: settled.password };
  }
  return { math, other, users };
}

test('Q&A: ask with a picture, a live teacher claims and answers, adopt and rate', { timeout: 240_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fixture;
    await t.test('set up a school, a math teacher and a grade-7 student', () => h.run(async () => {
      fixture = await setUp(h.server.url);
    }));
    if (!fixture) return;
    const { math, users } = fixture;
    const stamp = Date.now() % 10000;
    const question = `二次函数 y = x² − 4x + 3 的**顶点**在哪里？<script>alert(1)</script>（${stamp}）`;
    const answer = `配方：y = (x − 2)² − 1，所以顶点是 **(2, −1)**。（${stamp}）`;

    await t.test('ask, see it live, claim, answer, adopt, rate', () => h.run(async () => {
      // The teacher is online on the open questions page first.
      const teacher = await h.newPage('teacher');
      await signInUI(teacher, h.server.url, users.teacher.username, users.teacher.password);
      await waitForHome(teacher, 'teacher');
      await teacher.getByTestId('home-qa-open').click();
      await teacher.getByTestId('qa-empty').waitFor({ timeout: 10_000 });
      // So is a teacher of another subject.
      const otherTeacher = await h.newPage('other');
      await signInUI(otherTeacher, h.server.url, users.other.username, users.other.password);
      await waitForHome(otherTeacher, 'teacher');
      await otherTeacher.getByTestId('home-qa-open').click();
      await otherTeacher.getByTestId('qa-empty').waitFor({ timeout: 10_000 });

      // The student asks from the home's Q&A card with a picture.
      const student = await h.newPage('student');
      await signInUI(student, h.server.url, users.student.username, users.student.password);
      await waitForHome(student, 'student');
      await student.getByTestId('home-qa-ask').click();
      await student.getByTestId('qa-ask-page').waitFor({ timeout: 10_000 });
      assert.equal(await student.getByTestId('qa-grade').getAttribute('data-value'), '7', 'the grade defaults to the student’s');
      await selectOption(student, 'qa-subject', String(math.id));
      await student.getByTestId('qa-text').fill(question);
      await student.getByTestId('qa-images').setInputFiles({ name: 'exercise.png', mimeType: 'image/png', buffer: tinyPNG });
      await student.getByTestId('qa-preview').waitFor({ timeout: 5_000 });
      await student.setViewportSize({ width: 390, height: 844 });
      await student.screenshot({ path: join(screenshotDir, 'yunke-qa-ask-zh-CN-phone.png'), fullPage: true });
      await student.setViewportSize({ width: 1280, height: 800 });
      await student.getByTestId('qa-submit').click();
      await student.getByTestId('qa-question').waitFor({ timeout: 15_000 });
      const qid = Number(/#\/qa\/(\d+)/.exec(student.url())?.[1]);
      assert.ok(qid > 0, `the student lands on the question page (${student.url()})`);

      // The Markdown is rendered, the script tag is not.
      const qhtml = student.getByTestId('qa-question-html');
      assert.equal(await qhtml.locator('strong').innerText(), '顶点');
      assert.equal(await qhtml.locator('script').count(), 0, 'no script element comes out of the text');
      await waitFor('the question picture to load', () => student.getByTestId('qa-question-picture').evaluate((img) => img.complete && img.naturalWidth > 0));

      // The teacher sees it arrive without reloading.
      const item = teacher.locator(`[data-testid="qa-item"][data-id="${qid}"]`);
      await item.waitFor({ timeout: 20_000 });
      await item.getByTestId('qa-new').waitFor({ timeout: 5_000 });
      await teacher.screenshot({ path: join(screenshotDir, 'yunke-qa-teacher-open.png') });
      assert.equal(await otherTeacher.getByTestId('qa-item').count(), 0, 'a teacher of another subject is not shown the question');
      await item.locator('a').click();
      await teacher.getByTestId('qa-claim').click();
      await teacher.getByTestId('qa-claimed-me').waitFor({ timeout: 10_000 });
      await teacher.getByTestId('qa-answer-text').fill(answer);
      await teacher.getByTestId('qa-answer-submit').click();
      await teacher.getByTestId('qa-answer').waitFor({ timeout: 10_000 });
      assert.equal(await teacher.getByTestId('qa-vote').count(), 0, 'no up-vote for one’s own answer');

      // Another teacher up-votes the answer.
      await otherTeacher.goto(`${h.server.url}/#/qa/${qid}`);
      await otherTeacher.getByTestId('qa-vote').click();
      await waitFor('the up-vote to count', async () => /1/.test(await otherTeacher.getByTestId('qa-votes').innerText()));

      // The student adopts and rates it.
      await student.reload();
      const ans = student.getByTestId('qa-answer');
      await ans.waitFor({ timeout: 10_000 });
      assert.match(await ans.getByTestId('qa-answer-html').innerText(), /\(2, −1\)/);
      await ans.getByTestId('qa-adopt').click();
      await student.locator('[data-testid="qa-question"][data-status="adopted"]').waitFor({ timeout: 10_000 });
      await ans.getByTestId('qa-adopted').waitFor();
      await ans.locator('label[for$="-5"]').click();
      await ans.getByTestId('qa-rate-submit').click();
      await waitFor('the rating to be stored', async () => {
        const r = await student.evaluate(async (id) => (await fetch(`/api/v1/qa/questions/${id}`)).json(), qid);
        return r.status === 'adopted' && r.adopted_answer_id > 0;
      });

      // The teacher's record counts the adopted answer.
      await teacher.goto(`${h.server.url}/#/qa`);
      await waitFor('the teacher’s record', async () => /1.*1.*100%/.test(await teacher.getByTestId('qa-stats').innerText().catch(() => '')));
      // Beside it, the questions this teacher answered, adopted ones included, without claim buttons.
      await teacher.getByTestId('qa-view-answered').click();
      await teacher.locator(`[data-testid="qa-item"][data-id="${qid}"]`).waitFor({ timeout: 10_000 });
      assert.equal(await teacher.getByTestId('qa-item').count(), 1, 'only the question this teacher answered');
      assert.equal(await teacher.locator('[data-testid="qa-item"] [data-testid="qa-status"]').innerText(), '已采纳');
      assert.equal(await teacher.getByTestId('qa-item-claim').count(), 0);
      await teacher.locator('[data-testid="qa-view-answered"].is-active').waitFor();
      await teacher.evaluate(() => document.querySelectorAll('.el-message').forEach((m) => m.remove()));
      await teacher.setViewportSize({ width: 390, height: 844 });
      await teacher.screenshot({ path: join(screenshotDir, 'yunke-qa-teacher-answered-phone.png'), fullPage: true, animations: 'disabled' });
      await teacher.setViewportSize({ width: 1280, height: 800 });

      // The question page in both languages, on a desktop and at 390 px.
      await student.evaluate(() => document.querySelectorAll('.el-message').forEach((m) => m.remove()));
      for (const lang of ['zh-CN', 'en']) {
        if ((await student.evaluate(() => document.documentElement.lang)) !== lang) {
          await student.getByTestId('lang-toggle').dispatchEvent('click');
          await student.waitForFunction((l) => document.documentElement.lang === l, lang);
        }
        for (const [size, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
          await student.setViewportSize(viewport);
          await settled(student);
          const overflow = await student.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          assert.ok(overflow <= 1, `no sideways scrolling at ${size} in ${lang} (${overflow}px)`);
          await student.screenshot({ path: join(screenshotDir, `yunke-qa-question-${lang}-${size}.png`), fullPage: true });
        }
      }

      // A second question nobody settles in writing becomes a live tutoring request.
      await student.setViewportSize({ width: 1280, height: 800 });
      await student.goto(`${h.server.url}/#/qa/ask`);
      await student.getByTestId('qa-ask-page').waitFor({ timeout: 10_000 });
      await selectOption(student, 'qa-subject', String(math.id));
      await student.getByTestId('qa-text').fill(`这道应用题我还是不懂，能讲一下吗？（${stamp}）`);
      await student.getByTestId('qa-submit').click();
      await student.getByTestId('qa-question').waitFor({ timeout: 15_000 });
      await student.getByTestId('qa-escalate').click();
      await student.getByTestId('tutor-waiting').waitFor({ timeout: 15_000 });
      assert.match(student.url(), /#\/tutoring\/wait/);

      // My questions: both, with their status.
      await student.goto(`${h.server.url}/#/qa`);
      await student.locator(`[data-testid="qa-item"][data-id="${qid}"]`).waitFor({ timeout: 10_000 });
      assert.equal(await student.getByTestId('qa-item').count(), 2);
      const statuses = await student.getByTestId('qa-status').allInnerTexts();
      assert.deepEqual(statuses.map((x) => x.trim()).sort(), ['Adopted', 'Sent to live tutoring'].sort());
      await student.setViewportSize({ width: 390, height: 844 });
      await student.screenshot({ path: join(screenshotDir, 'yunke-qa-mine-en-phone.png'), fullPage: true });
    }));
  } finally {
    await h.close();
  }
});
