// S-T trends over a term, calibration results and the teacher's review
// status, in the browser. Three scripted class recordings in one school —
// a lecture and a mixed lesson by one teacher, a practice lesson by a
// colleague — are charted: the expert's trends page shows the school's
// chart with a row per teacher (the lecturer's mode "lecture", the
// colleague's "practice"), and a row opens the teacher's own lessons. The
// teacher sees their own trend and the status of the review of their
// lesson on their feedback page. A calibration clip the expert scored is
// listed with its agreement on the expert's home and on the administrator's
// calibration tab. Two finished tutoring sessions of the school are listed
// for the expert's audit with their ratings, the teacher's note and, for the
// recorded one, its recording. ECharts is loaded only by the pages that chart.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, Harness, signInApi, signInUI, waitForHome } from './lib/harness.mjs';
import { fileScriptedRecording, shootBothLanguages } from './lib/recordings.mjs';

const password = 'e2e-Passw0rd-1';
const lecture = 'T'.repeat(20);
const mixed = 'TTTTT' + 'SS.S' + 'TTT' + 'SS' + 'TTTT' + 'S.';
const practice = 'S'.repeat(12);

test('S-T trends, calibration results and the teacher’s review status', { timeout: 300_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fx;
    await t.test('set up a school, two teachers, an expert and three scripted lessons', () => h.run(async () => {
      const url = h.server.url;
      const sys = await adminClient(url);
      const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-TR', name: '趋势测试区' }, 201);
      const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-TRS', name: '趋势实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
      const mk = (body) => sys.must('POST', '/api/v1/users', { password, district_id: district.id, ...body }, 201);
      const teacher = await mk({ school_id: school.id, username: 'tr-t1', name: '吴老师', roles: ['teacher'], staff_no: 'E2E-TR-1' });
      const colleague = await mk({ school_id: school.id, username: 'tr-t2', name: '高老师', roles: ['teacher'], staff_no: 'E2E-TR-2' });
      const expert = await mk({ school_id: school.id, username: 'tr-e1', name: '郑专家', roles: ['expert'], expert_scope: { district: true, school_ids: [] } });
      await mk({ username: 'tr-da', name: '区教研员', roles: ['district_admin'] });
      const login = {};
      for (const u of ['tr-t1', 'tr-e1', 'tr-da']) login[u] = await signInApi(url, u, password);
      const db = join(readlinkSync(`/proc/${h.server.proc.pid}/cwd`), 'yunke.db');
      assert.ok(existsSync(db), `the server's database at ${db}`);
      const file = (script, who, name, title) =>
        fileScriptedRecording(db, { script, teacher: who.id, teacherName: name, school: school.id, district: district.id, title, room: `s${school.id}-tr` });
      const recs = [file(lecture, teacher, '吴老师', '八年级物理 · 讲授'), file(mixed, teacher, '吴老师', '八年级物理 · 混合'), file(practice, colleague, '高老师', '八年级物理 · 练习')];
      // The API's answer first: per teacher, the means and their mode.
      const trend = await login['tr-e1'].client.must('GET', `/api/v1/recordings/st-trend?school_id=${school.id}`);
      assert.deepEqual(trend.teachers.map((r) => [r.teacher_id, r.recordings, r.mode]), [[teacher.id, 2, 'lecture'], [colleague.id, 1, 'practice']]);

      // A scheme of the shipped rubric: a lesson assigned, and a calibration clip the expert scores.
      const da = login['tr-da'].client;
      const general = (await da.must('GET', '/api/v1/review/rubrics')).items.find((r) => r.code === 'general-classroom');
      const scheme = await da.must('POST', '/api/v1/review/schemes', { name: '物理课堂', purpose: 'subject', rubric_id: general.id,
        criteria: [{ code: 'G1', weight: 50 }, { code: 'C2', weight: 50 }] }, 201);
      await da.must('POST', '/api/v1/review/assignments', { scheme_id: scheme.id, target: `recording:${recs[0]}`, expert_ids: [expert.id], round: '2026秋' }, 201);
      const cal = await da.must('POST', '/api/v1/review/calibrations', { scheme_id: scheme.id, target: `recording:${recs[2]}`,
        master: [{ criterion: 'G1', value: 3 }, { criterion: 'C2', value: 7 }] }, 201);
      const ca = await da.must('POST', `/api/v1/review/calibrations/${cal.id}/assignments`, { expert_ids: [expert.id] }, 201);
      const done = await login['tr-e1'].client.must('POST', `/api/v1/review/assignments/${ca.items[0].id}/submit`,
        { scores: [{ criterion: 'G1', value: 3 }, { criterion: 'C2', value: 4 }] });
      assert.equal(done.calibration.agreement, 50);
      // Two finished tutoring sessions of the school, filed as the tutoring
      // domain leaves them: one rated 2 with a note and recorded, one rated 5.
      const student = await mk({ school_id: school.id, username: 'tr-s1', name: '林同学', roles: ['student'], student_no: 'E2E-TR-S1', grade: 8, class: '1班' });
      const physics = (await sys.must('GET', '/api/v1/subjects')).items[0];
      const now = Date.now();
      const month = Number(new Date(now + 8 * 3600_000).toISOString().slice(0, 7).replace('-', ''));
      const session = (n, score, comment, note, recorded) => `
        INSERT INTO tutoring_requests (student_id, district_id, school_id, subject_id, grade, status, created_at, updated_at)
          VALUES (${student.id}, ${district.id}, ${school.id}, ${physics.id}, 8, 'matched', ${now - n * 60_000}, ${now - n * 60_000});
        INSERT INTO tutoring_sessions (request_id, student_id, teacher_id, district_id, school_id, subject_id, grade, created_at, started_at, ended_at, duration_s, end_reason)
          VALUES (last_insert_rowid(), ${student.id}, ${teacher.id}, ${district.id}, ${school.id}, ${physics.id}, 8, ${now - n * 60_000}, ${now - n * 60_000}, ${now - n * 60_000 + 600_000}, 600, 'hangup');
        INSERT INTO tutoring_ratings (session_id, district_id, school_id, subject_id, teacher_id, month, score, comment, rated_at, updated_at)
          VALUES ((SELECT MAX(id) FROM tutoring_sessions), ${district.id}, ${school.id}, ${physics.id}, ${teacher.id}, ${month}, ${score}, '${comment}', ${now}, ${now});
        ${note ? `INSERT INTO tutoring_notes (session_id, note, updated_at) VALUES ((SELECT MAX(id) FROM tutoring_sessions), '${note}', ${now});` : ''}
        ${recorded ? `INSERT INTO recordings (kind, room, title, teacher_id, district_id, school_id, tutoring_session_id, started_at, ended_at, duration_ms, status, created_at, updated_at)
          VALUES ('tutoring', 'tutoring-e2e', '一对一辅导', ${teacher.id}, ${district.id}, ${school.id}, (SELECT MAX(id) FROM tutoring_sessions), ${now - n * 60_000}, ${now - n * 60_000 + 600_000}, 600000, 'ready', ${now}, ${now});` : ''}`;
      execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, `BEGIN IMMEDIATE; ${session(90, 2, '没听懂', '受力分析需要再讲一遍', true)} ${session(30, 5, '很清楚', '', false)} COMMIT;`]);
      const audit = await login['tr-e1'].client.must('GET', '/api/v1/tutoring/audit');
      assert.deepEqual(audit.items.map((s) => s.rating?.score), [5, 2], 'newest first');
      assert.ok(audit.items[1].recording_id > 0 && !audit.items[0].recording_id, 'the recorded one has its recording');
      fx = { url, login, school, teacher, colleague, recs, cal, audit: audit.items };
    }));
    if (!fx) return;

    await t.test('the expert charts the school, then a teacher; and reads their calibration result', () => h.run(async () => {
      const page = await h.newPage('expert');
      await signInUI(page, fx.url, 'tr-e1', fx.login['tr-e1'].password);
      await waitForHome(page, 'expert');
      const item = page.locator(`[data-testid="expert-cal-item"][data-id="${fx.cal.id}"]`);
      await item.waitFor();
      assert.equal(await item.getByTestId('expert-cal-agreement').getAttribute('data-agreement'), '50');
      assert.match(await item.innerText(), /50%[\s\S]*未通过/);
      await item.scrollIntoViewIfNeeded();
      await shootBothLanguages(page, 'review2', 'expert-home');
      // The tutoring audit: both sessions with their ratings; the low one
      // with the teacher's note and its recording; the filter keeps it alone.
      const audit = page.getByTestId('expert-audit');
      await audit.locator('[data-testid="audit-item"]').nth(1).waitFor();
      const low = audit.locator(`[data-testid="audit-item"][data-id="${fx.audit[1].id}"]`);
      assert.equal(await low.getAttribute('data-score'), '2');
      assert.match(await low.innerText(), /林同学 → 吴老师[\s\S]*没听懂[\s\S]*受力分析需要再讲一遍/);
      assert.equal(await low.getByTestId('audit-recording').getAttribute('href'), `#/recordings/${fx.audit[1].recording_id}`);
      assert.equal(await audit.locator(`[data-testid="audit-item"][data-id="${fx.audit[0].id}"] [data-testid="audit-recording"]`).count(), 0);
      await audit.getByTestId('audit-low').click();
      await audit.locator('[data-testid="audit-item"]').nth(1).waitFor({ state: 'detached' });
      assert.equal(await audit.locator('[data-testid="audit-item"]').count(), 1);
      assert.equal(await audit.locator('[data-testid="audit-item"]').getAttribute('data-id'), String(fx.audit[1].id));
      const charted = () => page.evaluate(() => performance.getEntriesByType('resource').some((e) => /trend-chart/.test(e.name)));
      assert.equal(await charted(), false, 'the home does not load ECharts');

      await page.getByTestId('home-st-trends').click();
      await page.getByTestId('trends-page').waitFor();
      const card = page.locator('[data-testid="st-trend-card"][data-kind="school"]');
      await card.locator('[data-testid="st-trend-chart"][data-drawn="3"]').waitFor();
      assert.ok((await card.locator('[data-testid="st-trend-chart"] svg path').count()) > 2, 'the chart has drawn lines');
      assert.equal(await charted(), true, 'the trends page loads ECharts');
      const rows = card.getByTestId('st-trend-teacher');
      assert.equal(await rows.count(), 2);
      assert.equal(await rows.nth(0).getAttribute('data-id'), String(fx.teacher.id));
      assert.equal(await rows.nth(0).getAttribute('data-mode'), 'lecture');
      assert.equal(await rows.nth(1).getAttribute('data-mode'), 'practice');
      assert.match(await rows.nth(1).innerText(), /高老师[\s\S]*练习型/);
      await shootBothLanguages(page, 'review2', 'trends-school', async (lang) => {
        assert.match(await rows.nth(0).innerText(), lang === 'en' ? /Lecture/ : /讲授型/);
      });

      await rows.nth(0).getByTestId('st-trend-teacher-open').click();
      const mine = page.locator('[data-testid="st-trend-card"][data-kind="teacher"]');
      await mine.locator('[data-testid="st-trend-chart"][data-drawn="2"]').waitFor();
      const lessons = mine.getByTestId('st-trend-lesson');
      assert.equal(await lessons.count(), 2);
      // Newest first: the mixed lesson, then the lecture.
      assert.deepEqual([await lessons.nth(0).getAttribute('data-mode'), await lessons.nth(1).getAttribute('data-mode')], ['mixed', 'lecture']);
      await mine.scrollIntoViewIfNeeded();
      await shootBothLanguages(page, 'review2', 'trends-teacher');
      // The previous term holds none of these lessons.
      await mine.getByTestId('st-trend-term').click();
      await page.locator('.el-select-dropdown__item:visible').nth(1).click();
      await mine.getByTestId('st-trend-empty').waitFor();
    }));

    await t.test('the teacher sees their own trend and the status of their lesson’s review', () => h.run(async () => {
      const page = await h.newPage('teacher');
      await signInUI(page, fx.url, 'tr-t1', fx.login['tr-t1'].password);
      await waitForHome(page, 'teacher');
      await page.goto(`${fx.url}/#/review/feedback`);
      const status = page.locator(`[data-testid="review-status-row"][data-target="recording:${fx.recs[0]}"]`);
      await status.waitFor();
      assert.equal(await status.getAttribute('data-status'), 'assigned');
      assert.doesNotMatch(await page.getByTestId('review-status').innerText(), /郑专家/, 'never who reviews');
      const card = page.locator('[data-testid="st-trend-card"][data-kind="teacher"]');
      await card.locator('[data-testid="st-trend-chart"][data-drawn="2"]').waitFor();
      assert.equal(await card.getByTestId('st-trend-lesson').count(), 2, 'their own two lessons, not the colleague’s');
      await shootBothLanguages(page, 'review2', 'teacher-feedback', async (lang) => {
        assert.match(await status.innerText(), lang === 'en' ? /To review/ : /待评/);
      });
    }));

    await t.test('the administrator reads the calibration result and the trends tab', () => h.run(async () => {
      const page = await h.newPage('admin');
      await signInUI(page, fx.url, 'tr-da', fx.login['tr-da'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/admin/review`);
      await page.locator('#tab-calibration').click();
      const item = page.locator(`[data-testid="cal-item"][data-id="${fx.cal.id}"]`);
      await item.locator('[data-testid="cal-result"][data-passed="false"]').waitFor();
      assert.match(await item.innerText(), /八年级物理 · 练习[\s\S]*郑专家[\s\S]*50%/);
      await shootBothLanguages(page, 'review2', 'admin-calibration');
      await page.locator('#tab-trends').click();
      await page.locator('[data-testid="st-trend-card"][data-kind="school"] [data-testid="st-trend-chart"][data-drawn="3"]').waitFor();
      await shootBothLanguages(page, 'review2', 'admin-trends');
    }));
  } finally {
    await h.close();
  }
});
