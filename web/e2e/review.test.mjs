// Lesson review from end to end. A district administrator builds a scheme
// from three criteria of the shipped general classroom rubric and assigns
// a scripted class recording to an expert. The expert opens it from their
// queue, scores it beside the player with two timestamped notes (draft
// saved and kept across a reload, a deep link seeks), and submits. The
// teacher finds the review on their home, sees the criterion below the
// threshold, a quality lesson of another teacher that scored high on it,
// writes a reflection, and watches the notes on the player's timeline.
// The administrator reads the results with their reliability.

import assert from 'node:assert/strict';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, Harness, signInApi, signInUI, waitForHome } from './lib/harness.mjs';
import { fileScriptedRecording, shootBothLanguages } from './lib/recordings.mjs';

const password = 'e2e-Passw0rd-1';
// One letter per 30 s sample: T the teacher speaks, S a student, '.' silence.
const script = 'TTTTT' + 'SS.S' + 'TTT' + 'SS' + 'TTTT' + 'S.';

/** selectOption opens the select testId, picks the option whose data-id is id, and waits until the select holds it. */
async function selectOption(page, testId, id) {
  if ((await page.getByTestId(testId).getAttribute('data-value')) === String(id)) return;
  await page.getByTestId(testId).click();
  await page.locator(`.el-select-dropdown__item[data-id="${id}"]:visible`).click();
  await page.locator(`[data-testid="${testId}"][data-value="${id}"]`).waitFor();
  // The drop-down is gone before the next one opens (their options may share ids).
  await page.locator('.el-select__popper:visible').first().waitFor({ state: 'hidden' });
}

/** playerAt waits until the player shows the given second. */
async function playerAt(page, seconds) {
  await page.locator(`[data-testid="player-time"][data-seconds="${seconds.toFixed(2)}"]`).waitFor();
}

test('lesson review: scheme, assignment, scoring with notes, feedback to the teacher', { timeout: 400_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fx;
    await t.test('set up a district, two teachers, two experts and two recordings', () => h.run(async () => {
      const url = h.server.url;
      const sys = await adminClient(url);
      const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-RV', name: '评课测试区' }, 201);
      const schoolA = await sys.must('POST', '/api/v1/schools', { code: 'E2E-RVA', name: '评课实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
      const schoolB = await sys.must('POST', '/api/v1/schools', { code: 'E2E-RVB', name: '评课第二中学', kind: 'junior_secondary', district_id: district.id }, 201);
      const mk = (body) => sys.must('POST', '/api/v1/users', { password, district_id: district.id, ...body }, 201);
      const teacher = await mk({ school_id: schoolA.id, username: 'rv-t1', name: '吴老师', roles: ['teacher'], staff_no: 'E2E-RV-1' });
      const other = await mk({ school_id: schoolB.id, username: 'rv-t2', name: '高老师', roles: ['teacher'], staff_no: 'E2E-RV-2' });
      const expert = await mk({ school_id: schoolB.id, username: 'rv-e1', name: '郑专家', roles: ['expert'], expert_scope: { district: true, school_ids: [] } });
      const expert2 = await mk({ school_id: schoolB.id, username: 'rv-e2', name: '钱专家', roles: ['expert'], expert_scope: { district: true, school_ids: [] } });
      await mk({ username: 'rv-da', name: '区教研员', roles: ['district_admin'] });
      const login = {};
      for (const u of ['rv-t1', 'rv-t2', 'rv-e1', 'rv-e2', 'rv-da']) login[u] = await signInApi(url, u, password);
      const db = join(readlinkSync(`/proc/${h.server.proc.pid}/cwd`), 'yunke.db');
      assert.ok(existsSync(db), `the server's database at ${db}`);
      const rec = fileScriptedRecording(db, { script, teacher: teacher.id, teacherName: '吴老师', school: schoolA.id, district: district.id, title: '七年级数学 · 有理数的加法', room: `s${schoolA.id}-rv1` });
      const quality = fileScriptedRecording(db, { script, teacher: other.id, teacherName: '高老师', school: schoolB.id, district: district.id, title: '七年级数学 · 优质课示范', room: `s${schoolB.id}-rv2` });
      assert.ok(rec > 0 && quality > rec, 'both recordings are filed');
      fx = { url, sys, login, rec, quality, expert, expert2, teacher };
    }));
    if (!fx) return;

    await t.test('the district administrator builds a scheme and assigns the lesson', () => h.run(async () => {
      const page = await h.newPage('admin');
      await signInUI(page, fx.url, 'rv-da', fx.login['rv-da'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/admin/review`);
      const row = page.locator('[data-testid="rubric-row"][data-code="general-classroom"]');
      await row.waitFor();
      await row.getByTestId('rubric-view').click();
      await page.locator('[data-testid="rubric-criterion"][data-code="P2"]').waitFor();
      await shootBothLanguages(page, 'review', 'admin-rubric');
      await page.keyboard.press('Escape');
      await page.getByTestId('rubric-dialog').waitFor({ state: 'hidden' });

      await page.locator('#tab-schemes').click();
      await page.getByTestId('scheme-new').click();
      await page.getByTestId('scheme-name').fill('七年级数学课堂评价');
      const rubrics = (await fx.login['rv-da'].client.must('GET', '/api/v1/review/rubrics')).items;
      const general = rubrics.find((r) => r.code === 'general-classroom');
      await selectOption(page, 'scheme-rubric', general.id);
      // Keep G1, P2 (levels) and C2 (0–10); G1 weighs 20 here.
      for (const code of ['C1', 'P1', 'P3', 'S1', 'S2', 'E1', 'T1']) {
        await page.locator(`[data-testid="scheme-criterion"][data-code="${code}"] [data-testid="scheme-criterion-pick"]`).click();
      }
      const g1 = page.locator('[data-testid="scheme-criterion"][data-code="G1"]').locator('[data-testid="scheme-weight"] input, input[data-testid="scheme-weight"]').first();
      await g1.fill('20');
      await g1.press('Tab');
      await shootBothLanguages(page, 'review', 'admin-scheme-new');
      await page.getByTestId('scheme-create').click();
      await page.getByTestId('scheme-row').first().waitFor();
      const schemes = (await fx.login['rv-da'].client.must('GET', '/api/v1/review/schemes')).items;
      const scheme = schemes.find((s) => s.name === '七年级数学课堂评价');
      assert.deepEqual(scheme.criteria.map((c) => [c.code, c.weight]), [['G1', 20], ['C2', 5], ['P2', 10]].sort((a, b) => ['G1', 'C1', 'C2', 'P1', 'P2'].indexOf(a[0]) - ['G1', 'C1', 'C2', 'P1', 'P2'].indexOf(b[0])));

      await page.locator('#tab-assignments').click();
      await page.getByTestId('assign-new').click();
      await selectOption(page, 'assign-recording', fx.rec);
      await selectOption(page, 'assign-scheme', scheme.id);
      await page.getByTestId('assign-round').fill('2026春');
      const due = new Date(Date.now() + 7 * 86400_000);
      const p = (n) => String(n).padStart(2, '0');
      await page.getByTestId('assign-due').fill(`${due.getFullYear()}-${p(due.getMonth() + 1)}-${p(due.getDate())}T18:00`);
      await page.getByTestId('assign-experts').click();
      await page.locator(`.el-select-dropdown__item[data-id="${fx.expert.id}"]:visible`).click();
      await page.keyboard.press('Escape');
      await shootBothLanguages(page, 'review', 'admin-assign');
      await page.getByTestId('assign-send').click();
      await page.locator('[data-testid="assignment-row"][data-status="assigned"]').waitFor();
      const as = (await fx.login['rv-da'].client.must('GET', `/api/v1/review/assignments?target=recording:${fx.rec}`)).items;
      assert.equal(as.length, 1);
      assert.equal(as[0].expert_id, fx.expert.id);
      assert.equal(as[0].round, '2026春');
      assert.ok(as[0].due_at, 'the due date is kept');
      await shootBothLanguages(page, 'review', 'admin-assignments');

      // The quality lesson: another expert scores the other teacher's lesson
      // high, through the API; and an overdue assignment for the queue.
      const da = fx.login['rv-da'].client;
      const [q] = (await da.must('POST', '/api/v1/review/assignments', { scheme_id: scheme.id, target: `recording:${fx.quality}`, round: '2026春', expert_ids: [fx.expert2.id] }, 201)).items;
      await fx.login['rv-e2'].client.must('POST', `/api/v1/review/assignments/${q.id}/submit`, {
        scores: [{ criterion: 'G1', value: 4 }, { criterion: 'C2', value: 9 }, { criterion: 'P2', value: 4 }], notes: [], strengths: '提问层层递进', improve: '',
      });
      await da.must('POST', '/api/v1/review/assignments', { scheme_id: scheme.id, target: `recording:${fx.quality}`, round: '2025秋', expert_ids: [fx.expert.id],
        due_at: new Date(Date.now() - 86400_000).toISOString() }, 201);
      fx.scheme = scheme;
      fx.assignment = as[0].id;
    }));
    if (!fx.assignment) return;

    await t.test('the expert scores the lesson beside the player with two timestamped notes and submits', () => h.run(async () => {
      const page = await h.newPage('expert');
      await signInUI(page, fx.url, 'rv-e1', fx.login['rv-e1'].password);
      await waitForHome(page, 'expert');
      const item = page.locator(`[data-testid="review-queue-item"][data-id="${fx.assignment}"]`);
      await item.waitFor();
      assert.equal(await item.getAttribute('data-status'), 'assigned');
      await page.locator('[data-testid="review-queue-item"][data-overdue="true"]').waitFor();
      await page.getByTestId('review-queue').scrollIntoViewIfNeeded();
      await shootBothLanguages(page, 'review', 'expert-queue');
      await item.getByTestId('review-queue-open').click();
      await page.locator(`[data-testid="recording-player"][data-id="${fx.rec}"]`).waitFor();
      const panel = page.getByTestId('review-panel');
      await panel.locator('[data-testid="review-criterion"][data-code="G1"]').waitFor();

      await panel.locator('[data-testid="review-criterion"][data-code="G1"] [data-testid="review-level"][data-value="3"]').click();
      await panel.locator('[data-testid="review-criterion"][data-code="P2"] [data-testid="review-level"][data-value="1"]').click();
      const num = panel.locator('[data-testid="review-criterion"][data-code="C2"]').locator('[data-testid="review-number"] input, input[data-testid="review-number"]').first();
      await num.fill('8');
      await num.press('Tab');

      // A note at 1:00, then one at 3:30 until 4:00 on 提问与反馈 (P2).
      await page.evaluate(() => window.yunke.player.seek(60));
      await playerAt(page, 60);
      await panel.getByTestId('note-at-now').click();
      await panel.locator('[data-testid="note-start"][data-ms="60000"]').waitFor();
      await panel.getByTestId('note-text').fill('导入环节用生活中的温度变化引出负数，自然。');
      await panel.getByTestId('note-add').click();
      await page.evaluate(() => window.yunke.player.seek(210));
      await playerAt(page, 210);
      await panel.getByTestId('note-at-now').click();
      await panel.locator('[data-testid="note-start"][data-ms="210000"]').waitFor();
      await panel.getByTestId('note-end').fill('4m');
      await panel.getByTestId('note-criterion').click();
      await page.locator('.el-select-dropdown__item[data-code="P2"]:visible').click();
      await panel.getByTestId('note-text').fill('提问集中在少数学生，追问不足。');
      await panel.getByTestId('note-add').click();
      assert.equal(await panel.getByTestId('review-note').count(), 2);
      assert.equal(await page.getByTestId('note-marker').count(), 2, 'the notes are markers on the timeline');
      await panel.getByTestId('review-strengths').fill('情境导入贴近生活，板书清楚。');
      await panel.getByTestId('review-improve').fill('扩大提问面，多给学生思考时间。');
      await page.locator('[data-testid="review-saved"][data-state="saved"]').waitFor();
      // Weighted total of the draft: (2/3·20 + 0.8·5 + 0·10) / 35 × 100 = 49.5
      await page.locator('[data-testid="review-total"][data-total^="49.5"]').waitFor();

      // A click on the first note seeks there.
      await panel.locator('[data-testid="review-note"][data-ms="60000"] [data-testid="review-note-seek"]').click();
      await playerAt(page, 60);
      await page.getByTestId('review-panel').scrollIntoViewIfNeeded();
      await shootBothLanguages(page, 'review', 'expert-scoring');

      // The draft is kept: a deep link to the second note opens it there.
      await page.goto(`${fx.url}/#/recordings/${fx.rec}?assignment=${fx.assignment}&t=210.0`);
      await page.reload();
      await playerAt(page, 210);
      await page.locator('[data-testid="review-note"][data-ms="210000"]').waitFor();
      assert.equal(await page.getByTestId('review-note').count(), 2);
      assert.equal(await page.locator('[data-testid="review-criterion"][data-code="P2"] [data-testid="review-level"][data-value="1"].is-checked').count(), 1);

      await page.getByTestId('review-submit').click();
      await page.getByTestId('review-submit-confirm').getByTestId('confirm-yes').click();
      await page.locator('[data-testid="review-panel"][data-status="submitted"]').waitFor();
      assert.equal(await page.getByTestId('review-submit').count(), 0, 'a submitted review is locked');
      assert.equal(await page.getByTestId('note-form').count(), 0);
      const rv = await fx.login['rv-da'].client.must('GET', `/api/v1/review/reviews/${fx.assignment}`);
      assert.equal(rv.status, 'submitted');
      assert.equal(rv.total.toFixed(1), '49.5');
      assert.deepEqual(rv.body.notes.map((n) => [n.start_ms, n.end_ms ?? 0, n.criterion ?? '']), [[60000, 0, ''], [210000, 240000, 'P2']]);
      await shootBothLanguages(page, 'review', 'expert-submitted');
    }));

    await t.test('the teacher sees the feedback, a quality lesson to watch and the notes on the timeline', () => h.run(async () => {
      const page = await h.newPage('teacher');
      await signInUI(page, fx.url, 'rv-t1', fx.login['rv-t1'].password);
      await waitForHome(page, 'teacher');
      await page.locator('[data-testid="feedback-card"][data-new="1"]').waitFor();
      await shootBothLanguages(page, 'review', 'teacher-home');
      await page.getByTestId('feedback-open').click();
      const item = page.locator(`[data-testid="feedback-item"][data-target="recording:${fx.rec}"]`);
      await item.waitFor();
      await item.locator('[data-testid="feedback-criterion"][data-code="P2"][data-below="true"]').waitFor();
      assert.equal(await item.locator('[data-testid="feedback-criterion"][data-code="G1"]').getAttribute('data-below'), 'false');
      assert.equal(await item.getByTestId('feedback-total').getAttribute('data-total'), '49.5');
      const sugg = item.locator(`[data-testid="feedback-suggestion"][data-target="recording:${fx.quality}"]`);
      await sugg.waitFor();
      assert.match(await sugg.innerText(), /高老师/);
      await item.getByTestId('feedback-reflection').fill('提问面确实偏窄，下节课用小组汇报的方式让更多学生发言。');
      await item.getByTestId('feedback-reflection-save').click();
      await page.waitForFunction(async (target) => {
        const r = await fetch(`/api/v1/review/targets/${target}`).then((x) => x.json());
        return r.reflection?.text?.startsWith('提问面');
      }, `recording:${fx.rec}`);
      await shootBothLanguages(page, 'review', 'teacher-feedback');
      const seen = await fx.login['rv-t1'].client.must('GET', '/api/v1/review/feedback');
      assert.equal(seen.new, 0, 'opening the feedback marks it seen');

      await item.getByTestId('feedback-watch').click();
      await page.locator(`[data-testid="recording-player"][data-id="${fx.rec}"]`).waitFor();
      await page.locator('[data-testid="feedback-note"]').nth(1).waitFor();
      assert.equal(await page.getByTestId('note-marker').count(), 2, 'the notes are on the timeline of the teacher\'s own recording');
      await page.locator('[data-testid="note-marker"][data-ms="210000"]').click();
      await playerAt(page, 210);
      await page.getByTestId('feedback-notes').scrollIntoViewIfNeeded();
      await shootBothLanguages(page, 'review', 'teacher-notes');

      await sugg.count();
      await page.goBack();
      await page.locator(`[data-testid="feedback-suggestion"][data-target="recording:${fx.quality}"] [data-testid="feedback-suggestion-link"]`).click();
      await page.locator(`[data-testid="recording-player"][data-id="${fx.quality}"]`).waitFor();
    }));

    await t.test('the administrator reads the results with their reliability', () => h.run(async () => {
      const page = await h.newPage('admin-results');
      await signInUI(page, fx.url, 'rv-da', fx.login['rv-da'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/admin/review`);
      await page.locator('#tab-results').click();
      await selectOption(page, 'results-recording', fx.rec);
      await page.getByTestId('results-aggregate').waitFor();
      await selectOption(page, 'results-scheme', fx.scheme.id);
      await page.getByTestId('results-round').fill('2026春');
      await page.getByTestId('results-reliability').click();
      await page.getByTestId('results-icc').waitFor();
      assert.equal(await page.getByTestId('results-expert').count(), 2);
      await shootBothLanguages(page, 'review', 'admin-results');

      // Both lessons compared side by side: the scheme's criteria line up in rows.
      await page.goto(`${fx.url}/#/recordings/compare?ids=${fx.rec},${fx.quality}`);
      const col = (id) => page.locator(`[data-testid="compare-column"][data-id="${id}"]`);
      for (const id of [fx.rec, fx.quality]) await col(id).locator(`[data-testid="compare-scheme"][data-scheme="${fx.scheme.id}"] [data-testid="compare-total"]`).waitFor();
      const top = async (id) => (await col(id).locator('.cmp-crit[data-code="P2"]').boundingBox())?.y;
      assert.equal(await top(fx.rec), await top(fx.quality), 'a criterion sits on the same row in both columns');
      await shootBothLanguages(page, 'review', 'compare');
    }));

    await t.test('the administrator reopens a submitted review with a reason', () => h.run(async () => {
      const page = await h.newPage('admin-reopen');
      await signInUI(page, fx.url, 'rv-da', fx.login['rv-da'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/admin/review`);
      await page.locator('#tab-results').click();
      await selectOption(page, 'results-recording', fx.rec);
      const row = page.locator('[data-testid="results-review"][data-status="submitted"]').first();
      const id = await row.getAttribute('data-id');
      await row.getByTestId('results-reopen').click();
      await page.getByTestId('reopen-dialog').waitFor();
      await page.getByTestId('reopen-send').click();
      await page.getByTestId('reopen-dialog').getByRole('alert').waitFor();
      assert.equal((await fx.login['rv-da'].client.must('GET', `/api/v1/review/reviews/${id}`)).status, 'submitted', 'no reason, nothing reopened');
      await page.getByTestId('reopen-reason').fill('评分与录像时间不符');
      await shootBothLanguages(page, 'review', 'admin-reopen');
      await page.getByTestId('reopen-send').click();
      await page.locator(`[data-testid="results-review"][data-id="${id}"]:not([data-status="submitted"]) [data-testid="results-reopened"]`).waitFor();
      const rv = await fx.login['rv-da'].client.must('GET', `/api/v1/review/reviews/${id}`);
      assert.notEqual(rv.status, 'submitted');
      assert.equal(rv.reopened_reason, '评分与录像时间不符');

      await page.locator('#tab-calibration').click();
      await page.getByTestId('calibration-tab').waitFor();
      await page.getByTestId('cal-new').click();
      await selectOption(page, 'cal-scheme', fx.scheme.id);
      await page.getByTestId('cal-master').first().waitFor();
      await shootBothLanguages(page, 'review', 'admin-calibration');
    }));
  } finally {
    await h.close();
  }
});
