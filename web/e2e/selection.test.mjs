// Quality-lesson selection from end to end. A district administrator opens
// a round; a school administrator nominates a class recording of their
// school; the round's expert scores it; the administrator selects it from
// the shortlist and publishes it to the library. A teacher of another
// school opens the library lesson from their home: the player holds only
// the teacher's tracks (the students' camera and voice are left out), the
// teacher-only badge shows, and the play count goes up. Once the school
// records its consent, the same teacher gets the full version. The district
// administrator withdraws the lesson with a reason and publishes it again.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, Harness, signInApi, signInUI, waitForHome } from './lib/harness.mjs';
import { fileScriptedRecording, shootBothLanguages } from './lib/recordings.mjs';

const password = 'e2e-Passw0rd-1';

/** pick opens the select testId and picks the option whose data-id is id (a multiple select is closed with Escape). */
async function pick(page, testId, id, { multiple = false } = {}) {
  await page.getByTestId(testId).click();
  await page.locator(`.el-select-dropdown__item[data-id="${id}"]:visible`).click();
  if (multiple) await page.keyboard.press('Escape');
  await page.locator('.el-select__popper:visible').first().waitFor({ state: 'hidden' });
}

test('quality-lesson selection: a round from creation to the library, played teacher-only in another school', { timeout: 400_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fx;
    await t.test('set up a district, two schools, their people, a scheme and a recording with students in it', () => h.run(async () => {
      const url = h.server.url;
      const sys = await adminClient(url);
      const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-SEL', name: '评选测试区' }, 201);
      const schoolA = await sys.must('POST', '/api/v1/schools', { code: 'E2E-SELA', name: '实验小学', kind: 'primary', district_id: district.id }, 201);
      const schoolB = await sys.must('POST', '/api/v1/schools', { code: 'E2E-SELB', name: '第二小学', kind: 'primary', district_id: district.id }, 201);
      const mk = (body) => sys.must('POST', '/api/v1/users', { password, district_id: district.id, ...body }, 201);
      const teacher = await mk({ school_id: schoolA.id, username: 'sel-t1', name: '周老师', roles: ['teacher'], staff_no: 'E2E-SEL-1' });
      await mk({ school_id: schoolB.id, username: 'sel-t2', name: '钱老师', roles: ['teacher'], staff_no: 'E2E-SEL-2' });
      await mk({ school_id: schoolB.id, username: 'sel-s2', name: '孙同学', roles: ['student'], student_no: 'E2E-SEL-S2', grade: 4 });
      const expert = await mk({ username: 'sel-e1', name: '李专家', roles: ['expert'], expert_scope: { district: true, school_ids: [] } });
      await mk({ school_id: schoolA.id, username: 'sel-sa', name: '实验小学管理员', roles: ['school_admin'] });
      await mk({ username: 'sel-da', name: '区教研员', roles: ['district_admin'] });
      const login = {};
      for (const u of ['sel-t1', 'sel-t2', 'sel-s2', 'sel-e1', 'sel-sa', 'sel-da']) login[u] = await signInApi(url, u, password);
      const math = (await sys.must('GET', '/api/v1/subjects')).items.find((x) => x.code === 'math');
      const rubric = (await login['sel-da'].client.must('GET', '/api/v1/review/rubrics')).items.find((r) => r.code === 'general-classroom');
      const scheme = await login['sel-da'].client.must('POST', '/api/v1/review/schemes', { name: '小学数学课堂评价', purpose: 'subject', rubric_id: rubric.id,
        threshold: 0.6, criteria: [{ code: 'G1', weight: 40 }, { code: 'C2', weight: 30 }, { code: 'P2', weight: 30 }] }, 201);

      const db = join(readlinkSync(`/proc/${h.server.proc.pid}/cwd`), 'yunke.db');
      assert.ok(existsSync(db), `the server's database at ${db}`);
      const rec = fileScriptedRecording(db, { script: 'TTTTSSTTSTTT', teacher: teacher.id, teacherName: '周老师', school: schoolA.id, district: district.id,
        title: '四年级数学 · 分数的初步认识', room: `s${schoolA.id}-sel1` });
      // Its tracks: the teacher's camera, microphone and screen; a student's camera and microphone.
      const tracks = [['u' + teacher.id, '周老师', 'teacher', 'camera', 'video'], ['u' + teacher.id, '周老师', 'teacher', 'microphone', 'audio'],
        ['u' + teacher.id, '周老师', 'teacher', 'screen_share', 'video'], ['u9001', '林同学', 'student', 'camera', 'video'], ['u9001', '林同学', 'student', 'microphone', 'audio']];
      const rows = tracks.map(([p, n, role, src, kind], i) =>
        `(${rec}, 'TR_${i}', '${p}', '${n}', '${role}', '${src}', '${kind}', '${kind === 'audio' ? 'audio/opus' : 'video/VP8'}', '${role}-${src}.webm', 'ready', 360000)`);
      execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, `BEGIN IMMEDIATE;
        UPDATE recordings SET subject_id = ${math.id}, grade = 4 WHERE id = ${rec};
        INSERT INTO recording_tracks (recording_id, track_sid, participant, name, role, source, kind, codec, file, status, duration_ms) VALUES ${rows.join(', ')};
        COMMIT;`]);
      const got = await login['sel-t1'].client.must('GET', `/api/v1/recordings/${rec}`);
      assert.equal(got.tracks.length, 5, 'the recording has its five tracks');
      fx = { url, login, rec, math, scheme, expert, schoolA };
    }));
    if (!fx) return;

    await t.test('the district administrator opens a round', () => h.run(async () => {
      const page = await h.newPage('district-admin');
      await signInUI(page, fx.url, 'sel-da', fx.login['sel-da'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/admin/selection`);
      await page.getByTestId('selection-page').waitFor();
      await page.getByTestId('round-new').click();
      await page.getByTestId('round-name').fill('2026 小学数学优质课评选');
      await pick(page, 'round-scheme', fx.scheme.id);
      await pick(page, 'round-subject', fx.math.id);
      await pick(page, 'round-experts', fx.expert.id, { multiple: true });
      await shootBothLanguages(page, 'selection', 'round-new');
      await page.getByTestId('round-create').click();
      const row = page.locator('[data-testid="round-row"][data-phase="nominating"]');
      await row.waitFor();
      fx.round = Number(await row.getAttribute('data-id'));
      await shootBothLanguages(page, 'selection', 'rounds');
    }));
    if (!fx.round) return;

    await t.test('the school administrator nominates a lesson of their school', () => h.run(async () => {
      const page = await h.newPage('school-admin');
      await signInUI(page, fx.url, 'sel-sa', fx.login['sel-sa'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/admin/selection`);
      await page.getByTestId('consent-card').waitFor();
      assert.equal(await page.getByTestId('consent-card').getAttribute('data-granted'), 'false');
      await shootBothLanguages(page, 'selection', 'school-rounds');
      await page.locator(`[data-testid="round-row"][data-id="${fx.round}"] [data-testid="round-open"]`).click();
      await page.getByTestId('nominate-card').waitFor();
      await pick(page, 'nominate-recording', fx.rec);
      await page.getByTestId('nominate-send').click();
      await page.locator('[data-testid="entry-row"]').waitFor();
      // Taken back before anyone reviewed it, then nominated again.
      await page.getByTestId('entry-withdraw').click();
      await page.getByTestId('entries-empty').waitFor();
      await pick(page, 'nominate-recording', fx.rec);
      await page.getByTestId('nominate-send').click();
      await page.locator('[data-testid="entry-row"]').waitFor();
      await shootBothLanguages(page, 'selection', 'nominate');
      const rd = await fx.login['sel-sa'].client.must('GET', `/api/v1/selection/rounds/${fx.round}`);
      assert.equal(rd.school_entries, 1);
    }));

    await t.test('the round\'s expert scores the entry from their queue', () => h.run(async () => {
      const ex = fx.login['sel-e1'].client;
      const q = (await ex.must('GET', '/api/v1/review/queue')).items.find((a) => a.round === `selection-${fx.round}`);
      assert.ok(q, 'the nomination put the lesson in the expert\'s queue');
      assert.equal(q.target, `recording:${fx.rec}`);
      await ex.must('POST', `/api/v1/review/assignments/${q.id}/submit`, {
        scores: [{ criterion: 'G1', value: 4 }, { criterion: 'C2', value: 9 }, { criterion: 'P2', value: 3 }], notes: [], strengths: '情境真实', improve: '',
      });
    }));

    await t.test('the district administrator selects from the shortlist and publishes', () => h.run(async () => {
      const page = await h.newPage('district-admin-2');
      await signInUI(page, fx.url, 'sel-da', fx.login['sel-da'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/admin/selection/${fx.round}`);
      const row = page.locator('[data-testid="entry-row"][data-rank="1"][data-reviews="1"]');
      await row.waitFor();
      await row.getByTestId('entry-select').click();
      await page.getByTestId('selection-save').click();
      await page.locator('[data-testid="entry-row"][data-selected="true"]').waitFor();
      await shootBothLanguages(page, 'selection', 'shortlist');
      await page.getByTestId('round-publish').click();
      await page.getByTestId('publish-confirm').click();
      await page.getByTestId('round-published').waitFor();
      await page.locator('[data-testid="round-page"][data-phase="published"]').waitFor();
      await shootBothLanguages(page, 'selection', 'published');
      const lib = await fx.login['sel-da'].client.must('GET', '/api/v1/library');
      assert.equal(lib.total, 1);
      fx.lesson = lib.items[0].id;
    }));
    if (!fx.lesson) return;

    await t.test('a teacher of another school watches the teacher-only version, and the play count goes up', () => h.run(async () => {
      const page = await h.newPage('teacher-b');
      await signInUI(page, fx.url, 'sel-t2', fx.login['sel-t2'].password);
      await waitForHome(page, 'teacher');
      await page.getByTestId('home-library').click();
      const card = page.locator(`[data-testid="lib-card"][data-id="${fx.lesson}"]`);
      await card.waitFor();
      assert.equal(await card.getAttribute('data-version'), 'teacher_only');
      await card.getByTestId('lib-teacher-only').waitFor();
      assert.equal(await card.getByTestId('lib-card-plays').getAttribute('data-plays'), '0');
      await shootBothLanguages(page, 'selection', 'library');

      await card.getByTestId('lib-card-open').click();
      await page.locator(`[data-testid="library-player"][data-id="${fx.lesson}"]`).waitFor();
      await page.locator('[data-testid="lib-version"][data-version="teacher_only"]').waitFor();
      await page.getByTestId('player-tile').first().waitFor();
      const roles = await page.locator('[data-testid="player-tile"]').evaluateAll((els) => els.map((e) => `${e.dataset.role}:${e.dataset.source}`));
      assert.deepEqual(roles.sort(), ['teacher:camera', 'teacher:screen_share'], 'only the teacher\'s camera and screen are shown');
      const audio = await page.locator('[data-testid="player-audio"]').evaluateAll((els) => els.map((e) => e.dataset.role));
      assert.deepEqual(audio, ['teacher'], 'only the teacher\'s voice is played');
      const srcs = await page.locator('video, audio').evaluateAll((els) => els.map((e) => e.getAttribute('src')));
      assert.ok(srcs.every((s) => s.startsWith(`/api/v1/library/${fx.lesson}/tracks/`)), `media come from the library: ${srcs}`);
      assert.equal(await page.locator('[data-testid="lib-plays"]').getAttribute('data-plays'), '0');
      await page.getByTestId('player-play').click();
      await page.locator('[data-testid="lib-plays"][data-plays="1"]').waitFor();
      await shootBothLanguages(page, 'selection', 'player');

      // The student's track cannot be had through the library, nor the recording at all.
      const tb = fx.login['sel-t2'].client;
      const detail = await tb.must('GET', `/api/v1/library/${fx.lesson}`);
      assert.deepEqual([...new Set(detail.tracks.map((tr) => tr.role))], ['teacher']);
      const all = await fx.login['sel-da'].client.must('GET', `/api/v1/recordings/${fx.rec}`);
      const student = all.tracks.find((tr) => tr.role === 'student');
      assert.equal((await tb.call('GET', `/api/v1/library/${fx.lesson}/tracks/${student.id}/media`)).status, 404);
      assert.equal((await tb.call('GET', `/api/v1/recordings/${fx.rec}/download`)).status, 404);
      const sb = fx.login['sel-s2'].client;
      assert.equal((await sb.call('GET', `/api/v1/library/${fx.lesson}?version=full`)).status, 403);

      await page.getByRole('link', { name: /返回精品课|Back to the library/ }).first().click();
      await page.locator(`[data-testid="lib-card"][data-id="${fx.lesson}"] [data-testid="lib-card-plays"][data-plays="1"]`).waitFor();
    }));

    await t.test('once the school records its consent, the library plays the full version', () => h.run(async () => {
      const admin = await h.newPage('school-admin-consent');
      await signInUI(admin, fx.url, 'sel-sa', fx.login['sel-sa'].password);
      await waitForHome(admin, 'admin');
      await admin.goto(`${fx.url}/#/admin/selection`);
      await admin.getByTestId('consent-card').waitFor();
      await admin.getByTestId('consent-granted').click();
      await admin.getByTestId('consent-note').fill('家长知情同意书已于 2026-09 收齐');
      await admin.getByTestId('consent-save').click();
      await admin.locator('[data-testid="consent-card"][data-granted="true"]').waitFor();
      await admin.getByTestId('consent-recorded').waitFor();

      const page = await h.newPage('teacher-b-full');
      await signInUI(page, fx.url, 'sel-t2', fx.login['sel-t2'].password);
      await waitForHome(page, 'teacher');
      await page.goto(`${fx.url}/#/library/${fx.lesson}`);
      await page.locator('[data-testid="lib-version"][data-version="full"]').waitFor();
      await page.locator('[data-testid="player-tile"][data-role="student"]').waitFor();
      assert.equal(await page.getByTestId('player-audio').count(), 2, 'the teacher\'s and the student\'s voices');
    }));

    await t.test('students and experts reach the library from their homes', () => h.run(async () => {
      for (const [user, home] of [['sel-s2', 'student'], ['sel-e1', 'expert']]) {
        const page = await h.newPage(user);
        await signInUI(page, fx.url, user, fx.login[user].password);
        await waitForHome(page, home);
        await page.getByTestId('home-library').click();
        await page.locator(`[data-testid="lib-card"][data-id="${fx.lesson}"]`).waitFor();
      }
    }));
    await t.test('the district administrator withdraws the lesson with a reason, then publishes it again', () => h.run(async () => {
      const page = await h.newPage('district-admin-withdraw');
      await signInUI(page, fx.url, 'sel-da', fx.login['sel-da'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/library`);
      const card = page.locator(`[data-testid="lib-card"][data-id="${fx.lesson}"]`);
      await card.getByTestId('lib-withdraw').click();
      await page.getByTestId('lib-withdraw-dialog').waitFor();
      assert.ok(await page.getByTestId('lib-withdraw-confirm').isDisabled(), 'no withdrawal without a reason');
      await page.getByTestId('lib-withdraw-reason').fill('课件中的图片版权待确认');
      await shootBothLanguages(page, 'selection', 'withdraw');
      await page.getByTestId('lib-withdraw-confirm').click();
      await page.getByTestId('lib-empty').waitFor();
      // Gone at once for everyone: the listing and the player.
      const tb = fx.login['sel-t2'].client;
      assert.equal((await tb.must('GET', '/api/v1/library')).total, 0);
      assert.equal((await tb.call('GET', `/api/v1/library/${fx.lesson}`)).status, 404);
      assert.equal((await tb.call('POST', `/api/v1/library/${fx.lesson}/plays`)).status, 404);
      assert.equal((await tb.call('POST', `/api/v1/library/${fx.lesson}/withdraw`, { reason: 'x' })).status, 403);

      await page.getByTestId('lib-view-withdrawn').click();
      await card.getByTestId('lib-withdrawn-reason').waitFor();
      assert.match(await card.getByTestId('lib-withdrawn-reason').innerText(), /图片版权待确认/);
      await shootBothLanguages(page, 'selection', 'withdrawn');
      await card.getByTestId('lib-republish').click();
      await page.getByTestId('lib-republish-confirm').waitFor();
      await page.getByTestId('confirm-yes').click();
      await page.getByTestId('lib-empty').waitFor();
      const back = await tb.must('GET', '/api/v1/library');
      assert.equal(back.total, 1);
      assert.equal(back.items[0].plays, 1, 'the lesson comes back with its plays');
    }));
  } finally {
    await h.close();
  }
});
