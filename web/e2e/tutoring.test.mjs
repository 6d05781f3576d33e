// One-to-one tutoring in the browser: a student asks a question and waits in
// line, a teacher goes available, gets the offer with its countdown and
// accepts, both see and chat with each other, the student ends and rates the
// session, and the teacher's history shows the rating and the note.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, fileInput, Harness, screenshotDir, selectedValue, selectOption, setSwitch, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';

const password = 'e2e-Passw0rd-1';

/** A 1×1 PNG: the picture attached to the question. */
const tinyPNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

/** setUp creates a junior secondary school with a math teacher (grades 7–9) and a grade-7 student. */
async function setUp(url) {
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-TD', name: '辅导测试区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-TS', name: '辅导实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
  const subjects = await sys.must('GET', '/api/v1/subjects');
  const math = subjects.items.find((s) => s.code === 'math');
  assert.ok(math, 'the installation has a math subject');
  const other = subjects.items.find((s) => s.active && s.code !== 'math');
  assert.ok(other, 'the installation has a second subject');
  const base = { password, district_id: district.id, school_id: school.id };
  const specs = {
    teacher: { ...base, username: 'tutor-t1', name: '陈老师', roles: ['teacher'], staff_no: 'E2E-TT-1', subject_ids: [math.id], grades: [7, 8, 9], trainee: false },
    student: { ...base, username: 'tutor-s1', name: '刘小华', roles: ['student'], student_no: 'E2E-TS-1', grade: 7, class: '3班' },
  };
  const users = {};
  for (const [key, spec] of Object.entries(specs)) {
    const user = await sys.must('POST', '/api/v1/users', spec, 201);
    const settled = await signInApi(url, spec.username, spec.password);
    users[key] = { ...spec, id: user.id, password: settled.password };
  }
  return { math, other, users };
}

/** videoPlaying answers the size and decoded frames of a <video>, or a falsy-ok object while it does not play. */
function videoPlaying(page, testId) {
  return page.getByTestId(testId).evaluate((v) => {
    const frames = v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0;
    const out = { width: v.videoWidth, height: v.videoHeight, frames, paused: v.paused };
    return v.videoWidth > 0 && frames > 5 && !v.paused ? out : { ok: false, ...out };
  });
}

/** inboundVideoFrames sums the frames decoded from the remote video tracks of the page's room. */
function inboundVideoFrames(page) {
  return page.evaluate(async () => {
    const room = window.yunke?.room;
    let frames = 0;
    if (!room) return 0;
    for (const p of room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) {
        const receiver = pub.track?.receiver;
        if (!receiver || pub.kind !== 'video') continue;
        (await receiver.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
        });
      }
    }
    return frames;
  });
}

test('one-to-one tutoring: ask, wait, match, meet, end, rate', { timeout: 240_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fixture;
    await t.test('set up a school, a math teacher and a grade-7 student', () => h.run(async () => {
      fixture = await setUp(h.server.url);
    }));
    if (!fixture) return;
    const { math, other, users } = fixture;
    const question = `这道一元一次方程怎么解？2x + 3 = 11（${Date.now() % 10000}）`;
    const comment = `讲得很清楚，谢谢老师 ${Date.now() % 10000}`;
    const note = '讲解了移项和合并同类项。';

    await t.test('the whole session, from question to rating', () => h.run(async () => {
      // The student asks first: nobody is available, so the question waits in line.
      const student = await h.newPage('student');
      await signInUI(student, h.server.url, users.student.username, users.student.password);
      await waitForHome(student, 'student');
      await student.getByTestId('ask-teacher').click();
      await student.getByTestId('ask-form').waitFor({ timeout: 10_000 });
      assert.equal(await selectedValue(student, 'ask-grade'), '7', 'the grade defaults to the student’s');
      await selectOption(student, 'ask-subject', String(math.id));
      await student.getByTestId('ask-text').fill(question);

      // A picture over 4 MiB is refused before anything is sent.
      await fileInput(student, 'ask-image').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: Buffer.alloc((4 << 20) + 1) });
      await student.getByTestId('field-error-image').waitFor({ state: 'visible', timeout: 5_000 });
      assert.match(await student.getByTestId('field-error-image').innerText(), /4 MiB/);
      await fileInput(student, 'ask-image').setInputFiles({ name: 'problem.png', mimeType: 'image/png', buffer: tinyPNG });
      await student.getByTestId('field-error-image').waitFor({ state: 'hidden', timeout: 5_000 });
      await student.getByTestId('ask-submit').click();

      // The waiting screen shows the place in line.
      await student.getByTestId('tutor-waiting').waitFor({ timeout: 15_000 });
      const position = student.locator('[data-testid="queue-position"][data-position="1"]');
      await position.waitFor({ timeout: 15_000 });
      assert.equal((await position.innerText()).trim(), '第 1 位');
      assert.match(await student.getByTestId('queue-length').innerText(), /1/);
      assert.notEqual((await student.getByTestId('wait-estimate').innerText()).trim(), '', 'an estimated wait is shown');
      await student.screenshot({ path: join(screenshotDir, 'yunke-tutoring-waiting.png') });

      // The teacher goes available for math, grade 7 only.
      const teacher = await h.newPage('teacher');
      await signInUI(teacher, h.server.url, users.teacher.username, users.teacher.password);
      await waitForHome(teacher, 'teacher');
      await teacher.locator('[data-testid="presence-status"][data-available="false"]').waitFor({ timeout: 15_000 });
      await teacher.getByTestId('avail-subject-math').waitFor({ timeout: 10_000 });
      assert.equal(await teacher.getByTestId('avail-subject-math').isChecked(), true);
      await teacher.getByTestId('avail-grade-8').uncheck();
      await teacher.getByTestId('avail-grade-9').uncheck();
      await setSwitch(teacher, 'tutor-available', true);

      // The offer arrives with the question, the picture and a running countdown.
      const offer = teacher.getByTestId('offer-dialog');
      await offer.waitFor({ timeout: 20_000 });
      await teacher.locator('[data-testid="presence-status"][data-available="true"]').waitFor({ timeout: 5_000 });
      assert.equal((await offer.getByTestId('offer-student').innerText()).trim(), users.student.name);
      assert.equal((await offer.getByTestId('offer-text').innerText()).trim(), question);
      assert.match(await offer.getByTestId('offer-grade').innerText(), /7/);
      await waitFor('the offer picture to load', () => offer.getByTestId('offer-image').evaluate((img) => img.complete && img.naturalWidth > 0));
      const countdown = offer.getByTestId('offer-countdown');
      const first = Number(await countdown.getAttribute('data-seconds'));
      assert.ok(first > 0 && first <= 20, `countdown starts within the offer time (${first})`);
      await teacher.screenshot({ path: join(screenshotDir, 'yunke-tutoring-offer.png') });
      await waitFor('the countdown to tick', async () => Number(await countdown.getAttribute('data-seconds')) < first, { timeoutMs: 5_000, intervalMs: 200 });

      // Meanwhile the student learns a teacher is looking at the question.
      await student.locator('[data-testid="tutor-waiting"][data-status="offered"]').waitFor({ timeout: 10_000 });

      await offer.getByTestId('offer-accept').click();
      await offer.waitFor({ state: 'detached', timeout: 10_000 });

      // Both land in the session and see each other.
      for (const [who, page] of [['teacher', teacher], ['student', student]]) {
        await page.getByTestId('tutor-session').waitFor({ timeout: 20_000 });
        await page.locator('[data-testid="tutor-session"][data-status="live"]').waitFor({ timeout: 30_000 }).catch(async (err) => {
          throw new Error(`${who} never saw the session live: ${err.message}`);
        });
      }
      assert.equal(await student.getByTestId('peer-waiting').isVisible(), false, 'the student no longer waits for the teacher');
      const teacherSees = await waitFor('the teacher to see the student’s video', () => videoPlaying(teacher, 'peer-video'), { timeoutMs: 45_000, intervalMs: 500 });
      const studentSees = await waitFor('the student to see the teacher’s video', () => videoPlaying(student, 'peer-video'), { timeoutMs: 45_000, intervalMs: 500 });
      console.log(`teacher sees ${JSON.stringify(teacherSees)}; student sees ${JSON.stringify(studentSees)}`);
      await waitFor('frames decoded on both sides', async () => (await inboundVideoFrames(teacher)) > 10 && (await inboundVideoFrames(student)) > 10, { timeoutMs: 30_000, intervalMs: 500 });
      await waitFor('the student’s own preview', () => videoPlaying(student, 'self-video'), { timeoutMs: 20_000, intervalMs: 500 });
      // The server's connection quality (every 2 s, from loss and jitter) shows on both tiles of both sides.
      for (const page of [teacher, student]) {
        for (const tile of ['peer-tile', 'self-tile']) {
          const q = page.getByTestId(tile).getByTestId('connection-quality');
          await q.waitFor({ timeout: 15_000 });
          assert.match(await q.getAttribute('data-quality'), /^(excellent|good)$/, `${tile}: a local link is excellent or good`);
        }
      }

      // Chat goes both ways over data packets.
      const hello = `老师好，我把题目发过来了 ${Date.now() % 1000}`;
      const studentView = student.getByTestId('tutor-session');
      await studentView.getByTestId('chat-input').fill(hello);
      await studentView.getByTestId('chat-send').click();
      await teacher.getByTestId('tutor-session').getByTestId('chat-message').filter({ hasText: hello }).waitFor({ timeout: 15_000 });

      await teacher.screenshot({ path: join(screenshotDir, 'yunke-tutoring-teacher.png') });
      await student.screenshot({ path: join(screenshotDir, 'yunke-tutoring-student.png') });

      // The student ends the session; the student rates it, the teacher notes it.
      await student.getByTestId('tutor-end').click();
      await student.getByTestId('end-dialog').getByTestId('confirm-yes').click();
      const rating = student.getByTestId('rating-dialog');
      await rating.waitFor({ timeout: 15_000 });
      await student.locator('[data-testid="home"][data-home="student"]').waitFor({ timeout: 15_000 });
      const noteDialog = teacher.getByTestId('note-dialog');
      await noteDialog.waitFor({ timeout: 20_000 });

      // The stars are a radio group: the keyboard picks five.
      await rating.getByTestId('rating-star-1').focus();
      await student.keyboard.press('Space');
      for (let i = 0; i < 4; i++) await student.keyboard.press('ArrowRight');
      assert.equal(await rating.getByTestId('rating-star-5').isChecked(), true, 'arrow keys move to five stars');
      await rating.getByTestId('rating-comment').fill(comment);
      await rating.getByTestId('rating-solved').check();
      await student.screenshot({ path: join(screenshotDir, 'yunke-tutoring-rating.png') });
      await rating.getByTestId('rating-submit').click();
      await rating.waitFor({ state: 'detached', timeout: 10_000 });

      await noteDialog.getByTestId('note-text').fill(note);
      await noteDialog.getByTestId('note-submit').click();
      await noteDialog.waitFor({ state: 'detached', timeout: 10_000 });

      // The teacher's history, loaded afresh, shows the rating and the note.
      await teacher.goto(`${h.server.url}/#/tutoring/history`);
      await teacher.reload();
      const row = teacher.getByTestId('history-row').filter({ hasText: users.student.name });
      await row.waitFor({ timeout: 15_000 });
      const stars = row.getByTestId('history-rating');
      assert.equal(await stars.getAttribute('data-score'), '5');
      assert.match(await stars.innerText(), /★★★★★/);
      assert.equal((await row.getByTestId('history-comment').innerText()).trim(), comment);
      assert.match(await row.getByTestId('history-note').innerText(), new RegExp(note));
      assert.match(await row.innerText(), /学生结束/);
      await teacher.screenshot({ path: join(screenshotDir, 'yunke-tutoring-history.png') });

      // The student's history shows it too, rated.
      await student.goto(`${h.server.url}/#/tutoring/history`);
      const srow = student.getByTestId('history-row').filter({ hasText: users.teacher.name });
      await srow.waitFor({ timeout: 15_000 });
      assert.equal(await srow.getByTestId('history-rating').getAttribute('data-score'), '5');
    }));

    await t.test('a student withdraws a waiting question', () => h.run(async () => {
      const student = await h.newPage('student-cancel');
      await signInUI(student, h.server.url, users.student.username, users.student.password);
      await waitForHome(student, 'student');
      await student.getByTestId('ask-teacher').click();
      // A subject the (still available) math teacher does not teach: it waits.
      await selectOption(student, 'ask-subject', String(other.id));
      await student.getByTestId('ask-text').fill('三角形内角和为什么是 180 度？');
      await student.getByTestId('ask-submit').click();
      await student.locator('[data-testid="queue-position"][data-position="1"]').waitFor({ timeout: 15_000 });
      await student.getByTestId('cancel-request').click();
      await student.getByTestId('cancel-dialog').getByTestId('confirm-yes').click();
      await student.locator('[data-testid="tutor-waiting"][data-status="cancelled"]').waitFor({ timeout: 10_000 });
      const status = await student.evaluate(async () => (await fetch('/api/v1/tutoring/requests/current')).status);
      assert.equal(status, 404, 'no open request is left');
    }));
  } finally {
    await h.close();
  }
});
