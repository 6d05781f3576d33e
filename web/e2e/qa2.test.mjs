// The Q&A centre in the browser, second part: while a student types a
// question, similar ones show up with the answered ones first; a picture is
// pasted from the clipboard and a knowledge point picked from the tree; a
// teacher of another subject, online on the open questions, never hears of
// the math question while the math teacher sees it arrive; a follow-up
// comment and the asker's rating are still there after a reload; the asker
// adopts another answer instead, edits and deletes a question nobody
// answered; a moderator hides an answer with a reason; search filters by
// text and status; a question escalated to tutoring puts the student and the
// tutor in the same tutoring room. The ask, question and search pages are
// photographed in both languages, on a desktop and at 390 px.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, Harness, screenshotDir, selectOption, settled, setSwitch, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';

const password = 'e2e-Passw0rd-1';

/** A 1×1 PNG: a pasted screenshot of the exercise. */
const tinyPNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

/** setUp creates a school with math knowledge points, a math teacher, a teacher of another subject, a grade-7 student and a school admin. */
async function setUp(url) {
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-QD2', name: '答疑二测试区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-QS2', name: '答疑二实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
  const subjects = await sys.must('GET', '/api/v1/subjects');
  const math = subjects.items.find((s) => s.code === 'math');
  assert.ok(math, 'the installation has a math subject');
  const other = subjects.items.find((s) => s.active && s.code !== 'math');
  assert.ok(other, 'the installation has a second subject');
  const csv = 'subject,grade,code,parent_code,name,sort\nmath,7,Q7-1,,函数,1\nmath,7,Q7-1-1,Q7-1,二次函数,1\n';
  const form = new FormData();
  form.set('file', new Blob([csv], { type: 'text/csv' }), 'kp.csv');
  await sys.must('POST', '/api/v1/knowledge-points/import', form);
  const base = { password, district_id: district.id, school_id: school.id };
  const specs = {
    teacher: { ...base, username: 'qa2-t1', name: '孙老师', roles: ['teacher'], staff_no: 'E2E-Q2T-1', subject_ids: [math.id], grades: [7, 8, 9], trainee: false },
    other: { ...base, username: 'qa2-t2', name: '钱老师', roles: ['teacher'], staff_no: 'E2E-Q2T-2', subject_ids: [other.id], grades: [7, 8, 9], trainee: false },
    student: { ...base, username: 'qa2-s1', name: '周小红', roles: ['student'], student_no: 'E2E-Q2S-1', grade: 7, class: '3班' },
    admin: { ...base, username: 'qa2-a1', name: '吴主任', roles: ['school_admin'] },
    peer: { ...base, username: 'qa2-s2', name: '吴小明', roles: ['student'], student_no: 'E2E-Q2S-2', grade: 7, class: '3班' },
    district: { password, district_id: district.id, username: 'qa2-d1', name: '郑科长', roles: ['district_admin'] },
  };
  const users = {};
  for (const [key, spec] of Object.entries(specs)) {
    const user = await sys.must('POST', '/api/v1/users', spec, 201);
    const settled = await signInApi(url, spec.username, spec.password);
    users[key] = { ...spec, id: user.id, password: settled.password, client: settled.client };
  }
  return { math, other, users };
}

/** paste dispatches a paste of a PNG picture (no text) on the element testId, as Ctrl+V of a screenshot does. */
async function pastePicture(page, testId) {
  await page.getByTestId(testId).evaluate((el, b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, tinyPNG.toString('base64'));
}

/** setLang switches the page to lang with the header's toggle. */
async function setLang(page, lang) {
  if ((await page.evaluate(() => document.documentElement.lang)) === lang) return;
  await page.getByTestId('lang-toggle').dispatchEvent('click');
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

/** shoot photographs the page in both languages, on a desktop and at 390 px, with no sideways scrolling. */
async function shoot(page, name) {
  await page.evaluate(() => document.querySelectorAll('.el-message').forEach((m) => m.remove()));
  for (const lang of ['zh-CN', 'en']) {
    await setLang(page, lang);
    for (const [size, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
      await page.setViewportSize(viewport);
      await settled(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${name}: no sideways scrolling at ${size} in ${lang} (${overflow}px)`);
      await page.screenshot({ path: join(screenshotDir, `yunke-qa-${name}-${lang}-${size}.png`), fullPage: true });
    }
  }
  await setLang(page, 'zh-CN');
  await page.setViewportSize({ width: 1280, height: 800 });
}

test('Q&A: similar questions, paste, comments, rating, edit, delete, hide, search, escalation to a tutoring room', { timeout: 300_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fixture;
    await t.test('set up a school, two teachers, a student and a school admin', () => h.run(async () => {
      fixture = await setUp(h.server.url);
    }));
    if (!fixture) return;
    const { math, users } = fixture;
    const url = h.server.url;
    const stamp = Date.now() % 10000;
    const api = (who) => users[who].client;

    // Two math questions asked before: one answered and adopted, one still waiting.
    const adopted = await api('student').must('POST', '/api/v1/qa/questions', { subject_id: math.id, grade: 7, text: `二次函数 y = x² − 2x 的顶点坐标是什么？（${stamp}-a）` }, 201);
    const answerA = await api('teacher').must('POST', `/api/v1/qa/questions/${adopted.id}/answers`, { text: '配方得 y = (x − 1)² − 1，顶点 (1, −1)。' }, 201);
    await api('student').must('PUT', `/api/v1/qa/questions/${adopted.id}/adoption`, { answer_id: answerA.id });
    const waiting = await api('student').must('POST', '/api/v1/qa/questions', { subject_id: math.id, grade: 7, text: `二次函数的顶点和对称轴有什么关系？（${stamp}-w）` }, 201);

    let student;
    let teacher;
    let otherTeacher;
    let qid;
    const question = `二次函数 y = x² − 6x + 5 的顶点怎么求？（${stamp}）`;

    await t.test('similar questions while typing, a pasted picture, a knowledge point; only the math teacher hears of it', () => h.run(async () => {
      teacher = await h.newPage('teacher');
      await signInUI(teacher, url, users.teacher.username, users.teacher.password);
      await waitForHome(teacher, 'teacher');
      await teacher.getByTestId('home-qa-open').click();
      await teacher.getByTestId('qa-list-page').waitFor({ timeout: 10_000 });

      // The teacher of another subject is online on the open questions and keeps a record of every toast and item shown.
      otherTeacher = await h.newPage('other');
      await signInUI(otherTeacher, url, users.other.username, users.other.password);
      await waitForHome(otherTeacher, 'teacher');
      await otherTeacher.getByTestId('home-qa-open').click();
      await otherTeacher.getByTestId('qa-empty').waitFor({ timeout: 10_000 });
      await otherTeacher.evaluate(() => {
        window.qaSeen = [];
        new MutationObserver((changes) => {
          for (const c of changes)
            for (const n of c.addedNodes) if (n instanceof HTMLElement && (n.matches('.el-message, [data-testid="qa-item"]') || n.querySelector('.el-message, [data-testid="qa-item"]'))) window.qaSeen.push(n.innerText);
        }).observe(document.body, { childList: true, subtree: true });
      });

      student = await h.newPage('student');
      await signInUI(student, url, users.student.username, users.student.password);
      await waitForHome(student, 'student');
      await student.getByTestId('home-qa-ask').click();
      await student.getByTestId('qa-ask-page').waitFor({ timeout: 10_000 });
      await selectOption(student, 'qa-subject', String(math.id));

      // A single character looks nothing up; a few words do, answered ones first.
      await student.getByTestId('qa-text').pressSequentially('二', { delay: 30 });
      await student.waitForTimeout(700);
      assert.equal(await student.getByTestId('qa-similar').count(), 0, 'one character finds nothing');
      await student.getByTestId('qa-text').pressSequentially('次函数的顶点', { delay: 60 });
      const items = student.getByTestId('qa-similar-item');
      await waitFor('both similar questions', async () => (await items.count()) >= 2, { timeoutMs: 10_000 });
      assert.equal(await items.first().getAttribute('data-id'), String(adopted.id), 'the adopted question comes first');
      assert.equal(await items.first().getAttribute('data-status'), 'adopted');
      assert.match(await items.first().innerText(), /已有解答/);
      assert.ok(await student.locator(`[data-testid="qa-similar-item"][data-id="${waiting.id}"]`).count(), 'the waiting question is listed too');
      assert.match(await student.locator(`[data-testid="qa-similar-item"][data-id="${waiting.id}"]`).innerText(), /待解答/);
      assert.equal(await items.first().locator('a').getAttribute('href'), `#/qa/${adopted.id}`);

      // A picture pasted into the text becomes a preview; the knowledge point comes from the tree.
      await pastePicture(student, 'qa-text');
      await student.getByTestId('qa-preview').waitFor({ timeout: 5_000 });
      assert.equal(await student.getByTestId('qa-preview').count(), 1);
      // The tree is filtered by typing; the point sits under its parent.
      await student.locator('.el-select[data-testid="qa-points"]').click();
      await student.keyboard.type('二次');
      await student.locator('.el-tree-node__content:visible', { hasText: '二次函数' }).locator('.el-checkbox').first().click();
      await student.keyboard.press('Escape');
      await student.getByTestId('qa-text').fill(question);
      await waitFor('the similar questions of the full text', async () => (await items.count()) >= 1, { timeoutMs: 10_000 });
      await shoot(student, 'ask-similar');

      await student.getByTestId('qa-submit').click();
      await student.getByTestId('qa-question').waitFor({ timeout: 15_000 });
      qid = Number(/#\/qa\/(\d+)/.exec(student.url())?.[1]);
      assert.ok(qid > 0, `the student lands on the question page (${student.url()})`);
      await waitFor('the pasted picture to load', () => student.getByTestId('qa-question-picture').evaluate((img) => img.complete && img.naturalWidth > 0));
      const stored = await api('student').must('GET', `/api/v1/qa/questions/${qid}`);
      assert.equal(stored.image_count, 1, 'the pasted picture was sent');
      assert.equal(stored.knowledge_points?.length, 1, 'the knowledge point was filed');

      // The math teacher sees it arrive; the other teacher, online all along, does not.
      const item = teacher.locator(`[data-testid="qa-item"][data-id="${qid}"]`);
      await item.waitFor({ timeout: 20_000 });
      await item.getByTestId('qa-new').waitFor({ timeout: 5_000 });
      // Claimed right from the feed, which opens the question to answer.
      await item.getByTestId('qa-item-claim').click();
      await teacher.getByTestId('qa-claimed-me').waitFor({ timeout: 10_000 });
      await teacher.getByTestId('qa-answer-text').fill(`配方：y = (x − 3)² − 4，顶点 (3, −4)。（${stamp}）`);
      await teacher.getByTestId('qa-answer-submit').click();
      await teacher.getByTestId('qa-answer').waitFor({ timeout: 10_000 });
      assert.deepEqual(await otherTeacher.evaluate(() => window.qaSeen), [], 'the teacher of another subject was never told of the question');
      assert.equal(await otherTeacher.getByTestId('qa-item').count(), 0);
    }));

    await t.test('comments on the question and the answer, adopt and rate, all still there after a reload', () => h.run(async () => {
      await student.reload();
      const ans = student.getByTestId('qa-answer');
      await ans.waitFor({ timeout: 10_000 });
      // The question has an answer: it can no longer be deleted.
      assert.equal(await student.getByTestId('qa-delete').count(), 0, 'no delete once answered');

      // A follow-up on the answer, and the teacher replies on the question.
      await ans.getByTestId('qa-comment-open').click();
      await ans.getByTestId('qa-comment-text').fill(`为什么要配方？（${stamp}）`);
      await ans.getByTestId('qa-comment-submit').click();
      await ans.getByTestId('qa-comment').filter({ hasText: '为什么要配方' }).waitFor({ timeout: 10_000 });
      await teacher.reload();
      const top = teacher.getByTestId('qa-comments');
      await top.getByTestId('qa-comment-open').click();
      await top.getByTestId('qa-comment-text').fill('配方能直接读出顶点。');
      await top.getByTestId('qa-comment-submit').click();
      await top.getByTestId('qa-comment').first().waitFor({ timeout: 10_000 });

      await ans.getByTestId('qa-adopt').click();
      await student.locator('[data-testid="qa-question"][data-status="adopted"]').waitFor({ timeout: 10_000 });
      await ans.locator('label[for$="-4"]').click();
      await ans.getByTestId('qa-rate-submit').click();
      await ans.locator('[data-testid="qa-rated"][data-score="4"]').waitFor({ timeout: 10_000 });

      await student.reload();
      await student.getByTestId('qa-answer').waitFor({ timeout: 10_000 });
      assert.equal(await student.getByTestId('qa-edit').count(), 0, 'an answered question cannot be edited');
      const answerComments = student.getByTestId('qa-answer').getByTestId('qa-comment');
      assert.equal(await answerComments.count(), 1);
      assert.match(await answerComments.innerText(), /为什么要配方.*周小红/s);
      assert.match(await student.getByTestId('qa-comments').getByTestId('qa-comment').innerText(), /配方能直接读出顶点.*孙老师/s);
      await shoot(student, 'question-comments');
    }));

    await t.test('the asker’s rating shows after a reload', () => h.run(async () => {
      const stored = await api('student').must('GET', `/api/v1/qa/questions/${qid}`);
      assert.equal(stored.rating?.score, 4, 'the question carries the asker’s rating');
      await student.reload();
      await student.locator('[data-testid="qa-rated"][data-score="4"]').waitFor({ timeout: 10_000 });
      assert.equal(await student.getByTestId('qa-answer').locator('[data-testid="qa-rate"] .stars').getAttribute('data-value'), '4', 'the stars show the stored rating');
    }));

    await t.test('the asker adopts another answer instead, within the window', () => h.run(async () => {
      const second = await api('other').must('POST', `/api/v1/qa/questions/${qid}/answers`, { text: `也可以用顶点公式 x = −b/2a = 3。（${stamp}）` }, 201);
      await student.reload();
      const other = student.locator(`[data-testid="qa-answer"][data-id="${second.id}"]`);
      await other.waitFor({ timeout: 10_000 });
      assert.match(await other.getByTestId('qa-adopt').innerText(), /改为采纳/);
      await other.getByTestId('qa-adopt').click();
      await other.getByTestId('qa-adopted').waitFor({ timeout: 10_000 });
      // The previous choice's tag leaves with a short transition.
      await waitFor('one adopted answer at a time', async () => (await student.getByTestId('qa-adopted').count()) === 1, { timeoutMs: 5_000 });
      const stored = await api('student').must('GET', `/api/v1/qa/questions/${qid}`);
      assert.equal(stored.adopted_answer_id, second.id);
      // The new choice is rated afresh.
      await other.locator('label[for$="-5"]').click();
      await other.getByTestId('qa-rate-submit').click();
      await other.locator('[data-testid="qa-rated"][data-score="5"]').waitFor({ timeout: 10_000 });
    }));

    await t.test('the adoption-change deadline is the server’s: past it, no “adopt this one instead”', () => h.run(async () => {
      const stored = await api('student').must('GET', `/api/v1/qa/questions/${qid}`);
      const until = Date.parse(stored.adopt_change_until);
      assert.ok(until > Date.now() + 23 * 3600_000 && until < Date.now() + 25 * 3600_000, `adopt_change_until ${stored.adopt_change_until}`);
      assert.equal(stored.edit_until, undefined, 'no edit window once answered');
      await student.reload();
      await student.getByTestId('qa-adopt').first().waitFor({ timeout: 10_000 });
      // The same question as the server would send it once the window has closed.
      const pattern = `**/api/v1/qa/questions/${qid}`;
      await student.route(pattern, async (route) => {
        const res = await route.fetch();
        const body = await res.json();
        await route.fulfill({ response: res, json: { ...body, adopt_change_until: new Date(Date.now() - 60_000).toISOString() } });
      });
      try {
        await student.reload();
        await student.getByTestId('qa-adopted').waitFor({ timeout: 10_000 });
        assert.equal(await student.getByTestId('qa-adopt').count(), 0, 'no adopt button after the deadline');
      } finally {
        await student.unroute(pattern);
      }
    }));

    await t.test('the asker edits and deletes a question nobody answered; the server’s refusal is shown', () => h.run(async () => {
      await student.goto(`${url}/#/qa/ask`);
      await student.getByTestId('qa-ask-page').waitFor({ timeout: 10_000 });
      await selectOption(student, 'qa-subject', String(math.id));
      await student.getByTestId('qa-text').fill(`一个写错了的问题（${stamp}）`);
      await student.getByTestId('qa-submit').click();
      await student.getByTestId('qa-question').waitFor({ timeout: 15_000 });
      const draft = Number(/#\/qa\/(\d+)/.exec(student.url())?.[1]);
      await student.getByTestId('qa-edit').click();
      await student.getByTestId('qa-edit-text').fill(`改好了的问题：**因式分解** x² − 9（${stamp}）`);
      await student.getByTestId('qa-edit-save').click();
      await student.getByTestId('qa-question-html').locator('strong', { hasText: '因式分解' }).waitFor({ timeout: 10_000 });

      // A teacher answers meanwhile: the edit the page still offers is refused, and said so.
      await api('teacher').must('POST', `/api/v1/qa/questions/${draft}/answers`, { text: '(x + 3)(x − 3)' }, 201);
      await student.getByTestId('qa-edit').click();
      await student.getByTestId('qa-edit-text').fill('再改一次');
      await student.getByTestId('qa-edit-save').click();
      const banner = student.getByTestId('banner-error');
      await banner.waitFor({ timeout: 10_000 });
      assert.match(await banner.innerText(), /无法再修改/);
      await student.getByTestId('qa-answer').waitFor({ timeout: 10_000 });
      assert.equal(await student.getByTestId('qa-delete').count(), 0, 'after the refusal the page shows the answered question');
      assert.equal(await student.getByTestId('qa-edit-form').count(), 0, 'the edit form closes');

      // A question still unanswered is deleted after a confirmation.
      await student.goto(`${url}/#/qa/${waiting.id}`);
      await student.getByTestId('qa-delete').click();
      await student.getByTestId('qa-delete-confirm').getByTestId('confirm-yes').click();
      await student.getByTestId('qa-list-page').waitFor({ timeout: 10_000 });
      assert.equal(await student.locator(`[data-testid="qa-item"][data-id="${waiting.id}"]`).count(), 0, 'the deleted question is gone from my questions');
      assert.equal((await api('teacher').call('GET', `/api/v1/qa/questions/${waiting.id}`)).status, 404);
    }));

    await t.test('a school admin hides an answer with a reason', () => h.run(async () => {
      const admin = await h.newPage('admin');
      await signInUI(admin, url, users.admin.username, users.admin.password);
      await waitForHome(admin, 'admin');
      await admin.goto(`${url}/#/qa/search`);
      await admin.getByTestId('qa-search-text').fill(String(stamp));
      await admin.getByTestId('qa-search-submit').click();
      await admin.locator(`[data-testid="qa-search-item"][data-id="${qid}"]`).locator('a').click();
      const ans = admin.getByTestId('qa-answer').first();
      await ans.waitFor({ timeout: 10_000 });
      assert.equal(await admin.getByTestId('qa-comment-open').count(), 0, 'a moderator does not take part');
      await ans.getByTestId('qa-answer-hide').click();
      const dialog = admin.getByTestId('qa-hide-dialog');
      await dialog.getByTestId('qa-hide-reason').fill('含有与题目无关的链接');
      await dialog.getByTestId('qa-hide-submit').click();
      await ans.getByTestId('qa-answer-hidden-reason').waitFor({ timeout: 10_000 });
      assert.match(await ans.getByTestId('qa-answer-hidden-reason').innerText(), /含有与题目无关的链接/);
      await admin.screenshot({ path: join(screenshotDir, 'yunke-qa-moderator.png'), fullPage: true });

      // The asker, who did not write the answer, sees why it is gone and not its text.
      await student.goto(`${url}/#/qa/${qid}`);
      const seen = student.getByTestId('qa-answer').first();
      await seen.getByTestId('qa-answer-hidden-reason').waitFor({ timeout: 10_000 });
      assert.equal((await seen.getByTestId('qa-answer-html').innerText()).trim(), '', 'the hidden answer’s text is not shown');
    }));

    await t.test('search by text and status, for the student and the teacher', () => h.run(async () => {
      await student.goto(`${url}/#/qa`);
      await student.getByTestId('qa-search-link').click();
      await student.getByTestId('qa-search-page').waitFor({ timeout: 10_000 });
      await student.getByTestId('qa-search-text').fill('二次函数');
      await selectOption(student, 'qa-search-status', 'adopted');
      await student.getByTestId('qa-search-submit').click();
      await waitFor('the adopted questions', async () => (await student.getByTestId('qa-search-item').count()) === 2, { timeoutMs: 10_000 });
      const statuses = await student.getByTestId('qa-search-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
      assert.deepEqual(statuses, ['adopted', 'adopted']);
      const ids = await student.getByTestId('qa-search-item').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-id'))));
      assert.deepEqual(ids, [qid, adopted.id], 'newest first');
      assert.match(student.url(), /status=adopted/, 'the filters are in the address');
      await student.reload();
      await waitFor('the same results after a reload', async () => (await student.getByTestId('qa-search-item').count()) === 2, { timeoutMs: 10_000 });
      await shoot(student, 'search');

      await teacher.goto(`${url}/#/qa/search?q=${encodeURIComponent('因式分解')}`);
      await waitFor('the teacher finds the edited question', async () => (await teacher.getByTestId('qa-search-item').count()) === 1, { timeoutMs: 10_000 });
      assert.equal(await teacher.getByTestId('qa-search-item').getAttribute('data-status'), 'answered');
    }));

    await t.test('a district admin lets students answer; a classmate then answers on the question page', () => h.run(async () => {
      const asked = await api('student').must('POST', '/api/v1/qa/questions', { subject_id: math.id, grade: 7, text: `顶点和对称轴有什么关系？（${stamp}-p）` }, 201);
      const peer = await h.newPage('peer');
      await signInUI(peer, url, users.peer.username, users.peer.password);
      await waitForHome(peer, 'student');
      await peer.goto(`${url}/#/qa/${asked.id}`);
      await peer.getByTestId('qa-question').waitFor({ timeout: 10_000 });
      assert.equal(await peer.getByTestId('qa-answer-form').count(), 0, 'no answer form while only teachers answer');

      const admin = await h.newPage('district');
      await signInUI(admin, url, users.district.username, users.district.password);
      await waitForHome(admin, 'admin');
      await admin.goto(`${url}/#/qa/search`);
      await admin.getByTestId('qa-settings').waitFor({ timeout: 10_000 });
      await setSwitch(admin, 'qa-students-answer', true);
      await waitFor('the setting to be stored', async () => (await api('district').must('GET', `/api/v1/districts/${users.district.district_id}/qa-settings`)).students_answer === true);
      // The second switch shares the district's questions with other districts (read-only), keeping the first.
      await setSwitch(admin, 'qa-shares-questions', true);
      await waitFor('sharing to be stored', async () => {
        const set = await api('district').must('GET', `/api/v1/districts/${users.district.district_id}/qa-settings`);
        return set.shares_questions === true && set.students_answer === true;
      });
      await shoot(admin, 'settings');

      // A student of another district now finds the question, tagged, and reads it with no way to answer or comment.
      const sys = await adminClient(url);
      const d3 = await sys.must('POST', '/api/v1/districts', { code: 'E2E-QD3', name: '答疑三测试区' }, 201);
      const s3 = await sys.must('POST', '/api/v1/schools', { code: 'E2E-QS3', name: '答疑三中学', kind: 'junior_secondary', district_id: d3.id }, 201);
      const farSpec = { password, district_id: d3.id, school_id: s3.id, username: 'qa2-s3', name: '林小远', roles: ['student'], student_no: 'E2E-Q3S-1', grade: 7, class: '1班' };
      await sys.must('POST', '/api/v1/users', farSpec, 201);
      const settled = await signInApi(url, farSpec.username, farSpec.password);
      const far = await h.newPage('far');
      await signInUI(far, url, farSpec.username, settled.password);
      await waitForHome(far, 'student');
      await far.goto(`${url}/#/qa/search?q=${encodeURIComponent(`（${stamp}-p）`)}`);
      await far.locator(`[data-testid="qa-search-item"][data-id="${asked.id}"] [data-testid="qa-other-district"]`).waitFor({ timeout: 10_000 });
      await shoot(far, 'shared-search');
      await far.goto(`${url}/#/qa/${asked.id}`);
      await far.getByTestId('qa-other-district').waitFor({ timeout: 10_000 });
      assert.equal(await far.getByTestId('qa-answer-form').count(), 0, 'no answer form on another district\'s question');
      assert.equal(await far.getByTestId('qa-comment-open').count(), 0, 'no comments on another district\'s question');
      await far.close();

      await peer.reload();
      await peer.getByTestId('qa-answer-form').waitFor({ timeout: 10_000 });
      await peer.getByTestId('qa-answer-text').fill(`对称轴经过顶点。（${stamp}-pa）`);
      await peer.getByTestId('qa-answer-submit').click();
      await peer.locator('[data-testid="qa-answer-html"]', { hasText: `（${stamp}-pa）` }).waitFor({ timeout: 10_000 });
      // The asker still has no answer form on their own question.
      await student.goto(`${url}/#/qa/${asked.id}`);
      await student.getByTestId('qa-question').waitFor({ timeout: 10_000 });
      assert.equal(await student.getByTestId('qa-answer-form').count(), 0, 'the asker does not answer their own question');
      await api('district').must('PUT', `/api/v1/districts/${users.district.district_id}/qa-settings`, { students_answer: false, shares_questions: false });
      await peer.close();
    }));

    await t.test('an escalated question puts the student and the tutor in one tutoring room', () => h.run(async () => {
      const text = `这道应用题我还是不懂，能讲一下吗？（${stamp}-e）`;
      await student.goto(`${url}/#/qa/ask`);
      await student.getByTestId('qa-ask-page').waitFor({ timeout: 10_000 });
      await selectOption(student, 'qa-subject', String(math.id));
      await student.getByTestId('qa-text').fill(text);
      await student.getByTestId('qa-submit').click();
      await student.getByTestId('qa-question').waitFor({ timeout: 15_000 });
      await student.getByTestId('qa-escalate').click();
      await student.getByTestId('tutor-waiting').waitFor({ timeout: 15_000 });

      // The math teacher goes available for tutoring and is offered the question.
      await teacher.goto(`${url}/#/`);
      await waitForHome(teacher, 'teacher');
      await setSwitch(teacher, 'tutor-available', true);
      const offer = teacher.getByTestId('offer-dialog');
      await offer.waitFor({ timeout: 20_000 });
      assert.equal((await offer.getByTestId('offer-text').innerText()).trim(), text);
      await offer.getByTestId('offer-accept').click();
      await offer.waitFor({ state: 'detached', timeout: 10_000 });

      const rooms = [];
      for (const [who, page] of [['teacher', teacher], ['student', student]]) {
        const view = page.getByTestId('tutor-session');
        await view.waitFor({ timeout: 20_000 });
        await page.locator('[data-testid="tutor-session"][data-status="live"]').waitFor({ timeout: 30_000 }).catch((err) => {
          throw new Error(`${who} never saw the session live: ${err.message}`);
        });
        rooms.push(/#\/tutoring\/session\/([^/?]+)/.exec(page.url())?.[1] ?? page.url());
      }
      assert.equal(rooms[0], rooms[1], 'both are in the same session');
      await student.screenshot({ path: join(screenshotDir, 'yunke-qa-escalated-room.png') });

      // The session links back to the question; the tutor posts the outcome there as an answer.
      const escalatedId = Number(await student.getByTestId('tutor-question-link').getAttribute('href').then((h) => /#\/qa\/(\d+)/.exec(h ?? '')?.[1]));
      assert.ok(escalatedId > 0, 'the student’s session links to the question');
      assert.equal(await student.getByTestId('tutor-outcome-open').count(), 0, 'only the tutor posts the outcome');
      await teacher.getByTestId('tutor-outcome-open').click();
      const outcome = `课上讲过：设未知数 x，列方程求解。（${stamp}-o）`;
      await teacher.getByTestId('tutor-outcome-text').fill(outcome);
      await teacher.getByTestId('tutor-outcome-submit').click();
      await teacher.getByTestId('tutor-outcome-dialog').waitFor({ state: 'hidden', timeout: 10_000 });
      await waitFor('the outcome among the question’s answers', async () => {
        const d = await api('student').must('GET', `/api/v1/qa/questions/${escalatedId}`);
        return d.status === 'escalated' && (d.answers ?? []).some((a) => a.text === outcome && a.author_id === users.teacher.id);
      });
      await teacher.screenshot({ path: join(screenshotDir, 'yunke-qa-escalated-tutor.png') });
    }));
  } finally {
    await h.close();
  }
});
