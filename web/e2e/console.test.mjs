// The teacher's class console and the student's view of a scheduled class:
// a student raises a hand, the teacher sees the hands in order and brings
// that student on stage, the student accepts the invitation and that
// student's camera and screen share reach a second student (frames decoded); the teacher
// spotlights and mutes them and takes them back; a poll runs and its results
// match the answers, live for the teacher and once shown for the class; a
// late joiner reads the chat history; the teacher deletes a message, stops
// student chat, locks the class and removes a student; a recorded class shows
// the recording indicator. Screenshots of the console and the student's view
// in both languages, on a desktop and at phone width (390 px), go to
// $YUNKE_SCREENSHOT_DIR.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, Harness, screenshotDir, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';

const password = 'e2e-Passw0rd-1';

/** setUp creates a school with an administrator, a teacher and three grade-7 students of 3班, and a class that starts now. */
async function setUp(url) {
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-KD', name: '课堂测试区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-KS', name: '课堂实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
  const subjects = await sys.must('GET', '/api/v1/subjects');
  const math = subjects.items.find((s) => s.code === 'math');
  const base = { password, district_id: district.id, school_id: school.id };
  const student = (n, name) => ({ ...base, username: `room-s${n}`, name, roles: ['student'], student_no: `E2E-KS-${n}`, grade: 7, class: '3班' });
  const specs = {
    admin: { ...base, username: 'room-a1', name: '钱主任', roles: ['school_admin'] },
    teacher: { ...base, username: 'room-t1', name: '李老师', roles: ['teacher'], staff_no: 'E2E-KT-1', subject_ids: [math.id], grades: [7], trainee: false },
    s1: student(1, '王小明'),
    s2: student(2, '陈小红'),
    s3: student(3, '林晚到'),
  };
  const users = {};
  for (const [key, spec] of Object.entries(specs)) {
    const user = await sys.must('POST', '/api/v1/users', spec, 201);
    const settled = await signInApi(url, spec.username, spec.password);
    users[key] = { ...spec, id: user.id, identity: `u${user.id}`, password: settled.password, client: settled.client };
  }
  const start = new Date();
  start.setSeconds(0, 0);
  const made = await users.admin.client.must('POST', '/api/v1/classes', {
    title: '勾股定理', subject_id: math.id, grade: 7, teacher_id: users.teacher.id, audience: 'classes', groups: ['3班'],
    starts_at: start.toISOString(), planned_minutes: 45,
  }, 201);
  return { users, classId: made.items[0].id };
}

/** enter signs user in and opens the class's page, connected. */
async function enter(h, label, user, home, classId) {
  const page = await h.newPage(label);
  await signInUI(page, h.server.url, user.username, user.password);
  await waitForHome(page, home);
  await page.goto(`${h.server.url}/#/class/class-${classId}`);
  await page.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
  return page;
}

/** framesFrom answers how many video frames this page decoded of identity's camera. */
function framesFrom(page, identity) {
  return page.evaluate(async (id) => {
    const p = window.yunke?.room?.remoteParticipants.get(id);
    const pub = p && [...p.trackPublications.values()].find((x) => x.source === 'camera');
    const receiver = pub?.track?.receiver;
    if (!receiver) return 0;
    let frames = 0;
    (await receiver.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
    });
    return frames;
  }, identity);
}

/** shoot saves the page in both languages, on a desktop and at phone width. */
async function shoot(page, name, sizes = ['desktop', 'phone']) {
  const viewports = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
  for (const lang of ['zh-CN', 'en']) {
    if ((await page.evaluate(() => document.documentElement.lang)) !== lang) {
      await page.getByTestId('lang-toggle').dispatchEvent('click');
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    }
    for (const size of sizes) {
      await page.setViewportSize(viewports[size]);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await page.screenshot({ path: join(screenshotDir, `yunke-console-${name}-${lang}-${size}.png`), fullPage: true });
    }
  }
  await page.getByTestId('lang-toggle').dispatchEvent('click');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.setViewportSize(viewports.desktop);
}

/** counts answers the per-option counts the page's results show. */
async function counts(scope) {
  return scope.getByTestId('poll-bar').evaluateAll((bars) => bars.map((b) => Number(b.dataset.count)));
}

test('the class console: hands, stage, a poll, chat history and moderation', { timeout: 300_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fx;
    await t.test('set up a school, a teacher, three students and a class that starts now', () => h.run(async () => {
      fx = await setUp(h.server.url);
    }));
    if (!fx) return;
    const { users, classId } = fx;
    let teacher;
    let s1;
    let s2;

    await t.test('the teacher opens the class; two students join and chat', () => h.run(async () => {
      teacher = await enter(h, 'teacher', users.teacher, 'teacher', classId);
      await teacher.getByTestId('class-console').waitFor();
      await waitFor('the teacher to publish the camera', () => teacher.evaluate(() => window.yunke.room.localParticipant.isCameraEnabled), { timeoutMs: 30_000 });
      s1 = await enter(h, 's1', users.s1, 'student', classId);
      s2 = await enter(h, 's2', users.s2, 'student', classId);
      assert.equal(await s1.getByTestId('class-console').count(), 0, 'a student has no console');
      assert.equal(await s1.getByTestId('toggle-camera').count(), 0, 'a student off stage does not publish');
      // Chat before the late joiner arrives.
      await teacher.getByTestId('chat-input').fill('请大家打开课本第 12 页');
      await teacher.getByTestId('chat-send').click();
      await s1.getByTestId('chat-message').filter({ hasText: '第 12 页' }).waitFor({ timeout: 15_000 });
      await s1.getByTestId('chat-input').fill('老师，我准备好了');
      await s1.getByTestId('chat-send').click();
      await teacher.getByTestId('chat-message').filter({ hasText: '我准备好了' }).waitFor({ timeout: 15_000 });
    }));

    await t.test('hands go up in order; the teacher brings the first on stage; that camera reaches another student', () => h.run(async () => {
      await s1.getByTestId('raise-hand').click();
      await s1.getByTestId('hand-notice').waitFor({ timeout: 10_000 });
      await teacher.locator(`[data-testid="hand"][data-identity="${users.s1.identity}"]`).waitFor({ timeout: 15_000 });
      await s2.getByTestId('raise-hand').click();
      await waitFor('two hands in the queue', async () => (await teacher.getByTestId('hand').count()) === 2, { timeoutMs: 15_000 });
      const order = await teacher.getByTestId('hand').evaluateAll((els) => els.map((e) => e.dataset.identity));
      assert.deepEqual(order, [users.s1.identity, users.s2.identity], 'first raised first');
      // The teacher lowers s2's hand.
      await teacher.locator(`[data-testid="hand"][data-identity="${users.s2.identity}"]`).getByTestId('hand-lower').click();
      await waitFor('one hand in the queue', async () => (await teacher.getByTestId('hand').count()) === 1, { timeoutMs: 15_000 });
      await shoot(teacher, 'teacher-hands', ['desktop']);
      await shoot(s1, 'student-hand');

      await teacher.locator(`[data-testid="hand"][data-identity="${users.s1.identity}"]`).getByTestId('hand-stage').click();
      const invite = s1.getByTestId('stage-invite');
      await s1.getByTestId('stage-accept').waitFor({ timeout: 15_000 });
      await shoot(s1, 'student-invite', ['phone']);
      await s1.getByTestId('stage-accept').click();
      await invite.waitFor({ state: 'hidden', timeout: 10_000 });
      await waitFor('the student on stage to publish the camera', () => s1.evaluate(() => window.yunke.room.localParticipant.isCameraEnabled), { timeoutMs: 30_000 });
      await teacher.locator(`[data-testid="participant"][data-identity="${users.s1.identity}"][data-stage="1"]`).waitFor({ timeout: 15_000 });
      assert.equal(await teacher.getByTestId('hand').count(), 0, 'the hand went down on stage');
      await waitFor(
        'the on-stage student’s camera on the second student’s page',
        () => s2.locator(`[data-testid="tile"][data-identity="${users.s1.identity}"][data-source="camera"] video`).evaluate((v) => v.videoWidth > 0 && !v.paused),
        { timeoutMs: 30_000 },
      );
      await waitFor('frames of that camera decoded', async () => (await framesFrom(s2, users.s1.identity)) > 10, { timeoutMs: 30_000 });
      // The student on stage shares the screen; the other student sees it.
      await s1.getByTestId('toggle-screen').click();
      await waitFor(
        'the on-stage student’s screen on the second student’s page',
        () => s2.locator(`[data-testid="tile"][data-identity="${users.s1.identity}"][data-source="screen_share"] video`).evaluate((v) => v.videoWidth > 0),
        { timeoutMs: 30_000 },
      );
      await s1.getByTestId('toggle-screen').click();
      await s2.locator(`[data-testid="tile"][data-identity="${users.s1.identity}"][data-source="screen_share"]`).waitFor({ state: 'detached', timeout: 15_000 });
      // The teacher spotlights the student: their video comes first, large, for everyone.
      const s1Row = teacher.locator(`[data-testid="participant"][data-identity="${users.s1.identity}"]`);
      await s1Row.getByTestId('spotlight').click();
      await s2.locator(`[data-testid="tile"].spotlight[data-identity="${users.s1.identity}"]`).waitFor({ timeout: 15_000 });
      const top = async (identity) => (await s2.locator(`[data-testid="tile"][data-identity="${identity}"]`).first().boundingBox()).y;
      assert.ok((await top(users.s1.identity)) < (await top(users.teacher.identity)), 'the spotlit video comes first');
      await shoot(s2, 'student-stage');
      // The teacher mutes the student's microphone.
      await waitFor('the student’s microphone on', () => s1.evaluate(() => window.yunke.room.localParticipant.isMicrophoneEnabled), { timeoutMs: 20_000 });
      await s1Row.getByTestId('mute').click();
      await waitFor('the student’s microphone muted', () => s1.evaluate(() => !window.yunke.room.localParticipant.isMicrophoneEnabled), { timeoutMs: 15_000 });
      await s1Row.getByTestId('spotlight').click();
      await s2.locator('[data-testid="tile"].spotlight').waitFor({ state: 'detached', timeout: 15_000 });

      // Back to the seat: the student's camera ends everywhere.
      await teacher.locator(`[data-testid="participant"][data-identity="${users.s1.identity}"]`).getByTestId('stage-toggle').click();
      await s2.locator(`[data-testid="tile"][data-identity="${users.s1.identity}"]`).waitFor({ state: 'detached', timeout: 20_000 });
      await s1.getByTestId('raise-hand').waitFor({ timeout: 15_000 });
      assert.equal(await s1.getByTestId('toggle-camera').count(), 0, 'no camera control back in the seat');
    }));

    await t.test('a poll runs; the results match the answers', () => h.run(async () => {
      await teacher.getByTestId('tab-polls').click();
      await teacher.getByTestId('poll-new').click();
      const form = teacher.getByTestId('poll-form');
      // Empty questions are refused in the form.
      await form.getByTestId('poll-create').click();
      await form.getByTestId('poll-error').waitFor();
      await form.getByTestId('poll-question').fill('直角三角形两直角边为 3 和 4，斜边是多少？');
      await form.getByTestId('poll-add-option').click();
      const options = form.getByTestId('poll-option');
      await options.nth(0).fill('3');
      await options.nth(1).fill('5');
      await options.nth(2).fill('7');
      await form.getByTestId('poll-correct').nth(1).click();
      await form.locator('.poll-time input').fill('120');
      await shoot(teacher, 'teacher-poll-form', ['desktop']);
      await form.getByTestId('poll-create').click();
      await form.waitFor({ state: 'detached', timeout: 10_000 });
      const item = teacher.locator('[data-testid="poll-item"][data-status="running"]');
      await item.waitFor({ timeout: 10_000 });

      // s1 answers B (correct), s2 answers C.
      for (const [page, choice] of [[s1, 1], [s2, 2]]) {
        const card = page.locator('[data-testid="poll-card"][data-status="running"]');
        await card.waitFor({ timeout: 15_000 });
        if (page === s1) await shoot(s1, 'student-poll-answer', ['phone']);
        await card.getByTestId('poll-choice').nth(choice).click();
        await card.getByTestId('poll-submit').click();
        await card.getByTestId('poll-answered').waitFor({ timeout: 10_000 });
      }
      await waitFor('live results for the teacher', async () => JSON.stringify(await counts(item)) === '[0,1,1]', { timeoutMs: 15_000 });
      assert.equal(await item.getByTestId('poll-results').getAttribute('data-answers'), '2');
      // A second answer is refused by the server.
      const pollId = Number(await item.getAttribute('data-poll'));
      const again = await users.s1.client.call('POST', `/api/v1/classroom/polls/${pollId}/answer`, { choices: [0] });
      assert.equal(again.status, 409);
      const stored = await users.teacher.client.must('GET', `/api/v1/classroom/polls/${pollId}/results`);
      assert.deepEqual([stored.answers, stored.counts, stored.correct_answers], [2, [0, 1, 1], 1]);
      await shoot(teacher, 'teacher-poll', ['desktop']);

      await item.getByTestId('poll-end').click();
      await teacher.locator(`[data-testid="poll-item"][data-poll="${pollId}"][data-status="ended"]`).getByTestId('poll-show').click();
      for (const page of [s1, s2]) {
        const shown = page.locator(`[data-testid="poll-card"][data-poll="${pollId}"] [data-testid="poll-results"]`);
        await shown.waitFor({ timeout: 15_000 });
        assert.deepEqual(await counts(shown), [0, 1, 1]);
      }
      await shoot(s1, 'student-poll');
    }));

    await t.test('a late joiner reads the chat history; the teacher deletes a message and stops student chat', () => h.run(async () => {
      const s3 = await enter(h, 's3', users.s3, 'student', classId);
      await s3.getByTestId('chat-message').filter({ hasText: '第 12 页' }).waitFor({ timeout: 15_000 });
      await s3.getByTestId('chat-message').filter({ hasText: '我准备好了' }).waitFor({ timeout: 15_000 });
      const texts = await s3.getByTestId('chat-text').allInnerTexts();
      assert.deepEqual(texts.slice(0, 2), ['请大家打开课本第 12 页', '老师，我准备好了'], 'the history in order');

      await teacher.getByTestId('chat-message').filter({ hasText: '我准备好了' }).getByTestId('chat-delete').click();
      for (const page of [s3, s1, teacher]) {
        await page.getByTestId('chat-message').filter({ hasText: '我准备好了' }).waitFor({ state: 'detached', timeout: 15_000 });
      }

      await teacher.getByTestId('tab-settings').click();
      await teacher.getByTestId('setting-chat').click();
      await s3.getByTestId('chat-notice').waitFor({ timeout: 15_000 });
      assert.equal(await s3.getByTestId('chat-input').isDisabled(), true, 'student chat is stopped');
      await teacher.getByTestId('setting-lock').click();
      await s3.getByTestId('locked-indicator').waitFor({ timeout: 15_000 });
      await shoot(teacher, 'teacher-settings', ['desktop']);
      await shoot(s3, 'student-late');
      await teacher.getByTestId('tab-people').click();
      await shoot(teacher, 'teacher-people');
      // The teacher removes the late joiner, who is sent home.
      await teacher.locator(`[data-testid="participant"][data-identity="${users.s3.identity}"]`).getByTestId('remove').click();
      await teacher.getByTestId('remove-confirm').getByTestId('confirm-yes').click();
      await s3.locator('[data-testid="home"][data-home="student"]').waitFor({ timeout: 20_000 });
      await teacher.locator(`[data-testid="participant"][data-identity="${users.s3.identity}"]`).waitFor({ state: 'detached', timeout: 15_000 });
    }));

    await t.test('a recorded class shows the recording indicator to the teacher and the students', () => h.run(async () => {
      // Rooms the school opens by name are recorded when their teacher joins.
      await teacher.goto(`${h.server.url}/#/class/e2e-recorded`);
      await teacher.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      const room = await teacher.getByTestId('room-name').getAttribute('data-room');
      await teacher.getByTestId('recording-indicator').waitFor({ timeout: 30_000 });
      await s2.goto(`${h.server.url}/#/class/e2e-recorded`);
      await s2.locator(`[data-testid="room-name"][data-room="${room}"]`).waitFor({ timeout: 30_000 });
      await s2.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      await s2.getByTestId('recording-indicator').waitFor({ timeout: 30_000 });
      await shoot(s2, 'student-recorded', ['phone']);
    }));
  } finally {
    await h.close();
  }
});
