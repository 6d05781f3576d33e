// Teaching research (网络教研) from end to end. A school administrator
// creates the school's maths group with two teachers; one teacher starts an
// activity on two of their scripted lessons (one a lecture, one a
// dialogue; the lecture reviewed by an expert) and pins a comment to a
// moment of the second; the other member follows the comment's link into
// the player, where the comment sits on the timeline at that moment, and
// compares the two lessons side by side with their S-T modes and the
// reviewed one's score. In a district group, a teacher of another school
// gets the teacher-only version of a lesson until its school consents. The
// school administrator edits the group (a toast below the header that
// follows a language switch); the district administrator deletes the
// district group.

import assert from 'node:assert/strict';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, Harness, screenshotDir, selectOption, settled, signInApi, signInUI, waitForHome } from './lib/harness.mjs';
import { fileScriptedRecording, shootBothLanguages } from './lib/recordings.mjs';

const password = 'e2e-Passw0rd-1';

test('teaching research: a group, an activity on two lessons, a pinned comment, the comparison', { timeout: 400_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fx;
    await t.test('set up a school, two teachers, an expert and two scripted lessons, one reviewed', () => h.run(async () => {
      const url = h.server.url;
      const sys = await adminClient(url);
      const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-RS', name: '教研测试区' }, 201);
      const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-RSA', name: '教研实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
      const mk = (body) => sys.must('POST', '/api/v1/users', { password, district_id: district.id, ...body }, 201);
      const t1 = await mk({ school_id: school.id, username: 'rs-t1', name: '吴老师', roles: ['teacher'], staff_no: 'E2E-RS-1' });
      const t2 = await mk({ school_id: school.id, username: 'rs-t2', name: '高老师', roles: ['teacher'], staff_no: 'E2E-RS-2' });
      const expert = await mk({ username: 'rs-e1', name: '郑专家', roles: ['expert'], expert_scope: { district: true, school_ids: [] } });
      await mk({ school_id: school.id, username: 'rs-sa', name: '教务主任', roles: ['school_admin'] });
      await mk({ username: 'rs-da', name: '区教研员', roles: ['district_admin'] });
      const login = {};
      for (const u of ['rs-t1', 'rs-t2', 'rs-e1', 'rs-sa', 'rs-da']) login[u] = await signInApi(url, u, password);
      const db = join(readlinkSync(`/proc/${h.server.proc.pid}/cwd`), 'yunke.db');
      assert.ok(existsSync(db), `the server's database at ${db}`);
      const base = { teacher: t1.id, teacherName: '吴老师', school: school.id, district: district.id };
      const lecture = fileScriptedRecording(db, { ...base, script: 'TTTTTTTTTT', title: '二次函数 · 一班', room: `s${school.id}-rs1` });
      const dialogue = fileScriptedRecording(db, { ...base, script: 'TSTSTSTSTS', title: '二次函数 · 二班', room: `s${school.id}-rs2` });
      // The lecture is reviewed: a scheme of three criteria of the shipped rubric, one submitted review.
      const da = login['rs-da'].client;
      const general = (await da.must('GET', '/api/v1/review/rubrics')).items.find((r) => r.code === 'general-classroom');
      const scheme = await da.must('POST', '/api/v1/review/schemes', { name: '数学课堂评价', purpose: 'subject', rubric_id: general.id, threshold: 0.6,
        criteria: [{ code: 'G1', weight: 20 }, { code: 'C2', weight: 5 }, { code: 'P2', weight: 10 }] }, 201);
      const [as] = (await da.must('POST', '/api/v1/review/assignments', { scheme_id: scheme.id, target: `recording:${lecture}`, round: '2026春', expert_ids: [expert.id] }, 201)).items;
      const { review } = await login['rs-e1'].client.must('POST', `/api/v1/review/assignments/${as.id}/submit`, {
        scores: [{ criterion: 'G1', value: 4 }, { criterion: 'C2', value: 9 }, { criterion: 'P2', value: 4 }], notes: [], strengths: '讲解清楚', improve: '',
      });
      assert.ok(review.total > 0, 'the review has a total');
      fx = { url, login, lecture, dialogue, total: review.total, school, t1: t1.id };
    }));
    if (!fx) return;

    await t.test('the school administrator creates the maths group with both teachers', () => h.run(async () => {
      const page = await h.newPage('school-admin');
      await signInUI(page, fx.url, 'rs-sa', fx.login['rs-sa'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/research`);
      await page.getByTestId('research-no-groups').waitFor();
      await page.getByTestId('research-new-group').click();
      await page.getByTestId('research-group-name').fill('初中数学教研组');
      const math = (await fx.login['rs-sa'].client.must('GET', '/api/v1/subjects')).items.find((x) => x.code === 'math');
      await selectOption(page, 'research-group-subject', math.id);
      await page.getByTestId('research-group-members').click();
      for (const name of ['吴老师', '高老师']) await page.locator('.el-select-dropdown__item:visible', { hasText: name }).click();
      await page.keyboard.press('Escape');
      await shootBothLanguages(page, 'research', 'new-group');
      await page.getByTestId('research-group-create').click();
      await page.getByTestId('research-group').waitFor();
      const groups = (await fx.login['rs-sa'].client.must('GET', '/api/v1/research/groups')).items;
      assert.equal(groups.length, 1);
      const g = await fx.login['rs-sa'].client.must('GET', `/api/v1/research/groups/${groups[0].id}`);
      assert.deepEqual(g.members.map((m) => m.name).sort(), ['吴老师', '高老师'].sort());
      assert.equal(g.subject_id, math.id);
      fx.group = g.id;
    }));
    if (!fx.group) return;

    await t.test('a teacher starts an activity on two lessons and pins a comment to a moment', () => h.run(async () => {
      const page = await h.newPage('teacher');
      await signInUI(page, fx.url, 'rs-t1', fx.login['rs-t1'].password);
      await waitForHome(page, 'teacher');
      await page.getByTestId('home-research').click();
      await page.getByTestId('research-group-link').click();
      await page.getByTestId('research-group-page').waitFor();
      await page.getByTestId('research-topic').fill('同课异构：二次函数');
      await page.getByTestId('research-description').fill('同一位老师在两个班的两种上法');
      await page.getByTestId('research-recordings-select').click();
      for (const id of [fx.lecture, fx.dialogue]) await page.locator(`.el-select-dropdown__item[data-id="${id}"]:visible`).click();
      await page.keyboard.press('Escape');
      await shootBothLanguages(page, 'research', 'group');
      await page.getByTestId('research-activity-create').click();
      await page.getByTestId('research-activity-page').waitFor();
      const id = Number(await page.getByTestId('research-activity-page').getAttribute('data-id'));
      assert.ok(id > 0);
      await page.locator('[data-testid="research-recording"]').nth(1).waitFor();
      // The reviewed lesson shows its score.
      await page.locator(`[data-testid="research-recording"][data-id="${fx.lecture}"] [data-testid="research-result"][data-total="${fx.total.toFixed(1)}"]`).waitFor();

      await page.getByTestId('research-comment-input').fill('第 45 秒的追问让学生自己说出了对称轴');
      await page.getByTestId('research-pin-recording').click();
      await page.locator('.el-select-dropdown__item:visible', { hasText: '二次函数 · 二班' }).click();
      await page.getByTestId('research-pin-at').fill('0:45');
      await page.getByTestId('research-comment-post').click();
      const moment = page.getByTestId('research-comment-moment');
      await moment.waitFor();
      assert.equal(await moment.getAttribute('data-ms'), '45000');
      await page.getByTestId('research-comment-input').fill('两节课的师生对话比例差别很大');
      await page.getByTestId('research-comment-post').click();
      await page.locator('[data-testid="research-comment"]').nth(1).waitFor();
      await shootBothLanguages(page, 'research', 'activity');
      fx.activity = id;
    }));
    if (!fx.activity) return;

    await t.test('the other member opens the moment from the discussion: the comment is on the timeline', () => h.run(async () => {
      const page = await h.newPage('member');
      await signInUI(page, fx.url, 'rs-t2', fx.login['rs-t2'].password);
      await waitForHome(page, 'teacher');
      // Not their recording: they watch it as a member of the group.
      await page.goto(`${fx.url}/#/research/activities/${fx.activity}`);
      const moment = page.getByTestId('research-comment-moment');
      await moment.waitFor();
      assert.match(await page.getByTestId('research-comment-text').first().innerText(), /对称轴/);
      assert.equal(await page.getByTestId('research-comment-delete').count(), 0, 'another member cannot delete the comment');
      await moment.click();
      await page.waitForURL(new RegExp(`#/recordings/${fx.dialogue}\\?research=${fx.activity}&t=45s$`));
      await page.getByTestId('recording-player').waitFor();
      const marker = page.locator('[data-testid="note-marker"][data-ms="45000"]');
      await marker.waitFor();
      assert.match(await marker.getAttribute('aria-label'), /0:45.*对称轴/);
      await page.locator('[data-testid="research-note"][data-ms="45000"]').waitFor();
      await page.waitForFunction(() => Math.abs(Number(document.querySelector('[data-testid="player-time"]')?.dataset.seconds) - 45) < 1);
      await page.getByTestId('research-notes').scrollIntoViewIfNeeded();
      await shootBothLanguages(page, 'research', 'player');

      // Back in the activity: the two lessons side by side.
      await page.getByTestId('research-notes-activity').click();
      await page.getByTestId('research-compare').click();
      await page.waitForURL(/#\/recordings\/compare\?ids=/);
      const modes = { [fx.lecture]: 'lecture', [fx.dialogue]: 'dialogue' };
      for (const [id, mode] of Object.entries(modes)) {
        await page.locator(`[data-testid="compare-column"][data-id="${id}"] [data-testid="compare-st"][data-mode="${mode}"]`).waitFor();
      }
      // The teacher may not read the reviews of the lesson; the activity shows its score.
      assert.equal(await page.locator(`[data-testid="compare-column"][data-id="${fx.lecture}"] [data-testid="compare-total"]`).innerText(), fx.total.toFixed(1));
      await page.locator(`[data-testid="compare-column"][data-id="${fx.dialogue}"] [data-testid="compare-unreviewed"]`).waitFor();
      await shootBothLanguages(page, 'research', 'compare', async (lang) => {
        assert.match(await page.locator(`[data-testid="compare-column"][data-id="${fx.dialogue}"] [data-testid="compare-st"]`).innerText(), lang === 'en' ? /Dialogue/ : /对话型/);
      });
    }));

    await t.test('someone of another school gets nothing', () => h.run(async () => {
      const sys = await adminClient(fx.url);
      const other = await sys.must('POST', '/api/v1/schools', { code: 'E2E-RSB', name: '另一所中学', kind: 'junior_secondary', district_id: fx.school.district_id }, 201);
      const t3 = await sys.must('POST', '/api/v1/users', { password, district_id: fx.school.district_id, school_id: other.id, username: 'rs-t3', name: '外校老师', roles: ['teacher'], staff_no: 'E2E-RS-3' }, 201);
      const outsiderLogin = await signInApi(fx.url, 'rs-t3', password);
      const outsider = outsiderLogin.client;
      fx.outsiderPassword = outsiderLogin.password;
      await outsider.must('GET', `/api/v1/research/activities/${fx.activity}`, undefined, 404);
      await outsider.must('GET', `/api/v1/recordings/${fx.dialogue}`, undefined, 404);
      assert.equal((await outsider.must('GET', '/api/v1/research/groups')).items.length, 0);
      fx.outsider = t3.id;
    }));
    if (!fx.outsider) return;

    await t.test('in a district group, a member of another school gets the teacher-only version until the school consents', () => h.run(async () => {
      const da = fx.login['rs-da'].client;
      const g = await da.must('POST', '/api/v1/research/groups', { name: '区数学教研组', member_ids: [fx.t1, fx.outsider] }, 201);
      await fx.login['rs-t1'].client.must('POST', `/api/v1/research/groups/${g.id}/activities`, { topic: '对话教学', recording_ids: [fx.dialogue] }, 201);

      const page = await h.newPage('other-school');
      await signInUI(page, fx.url, 'rs-t3', fx.outsiderPassword);
      await waitForHome(page, 'teacher');
      await page.goto(`${fx.url}/#/recordings/${fx.dialogue}`);
      await page.getByTestId('recording-player').waitFor();
      await page.getByTestId('rec-version').waitFor();
      await page.locator('[data-testid="speaking-row"]').first().waitFor();
      assert.deepEqual(await page.locator('[data-testid="speaking-row"]').evaluateAll((els) => els.map((e) => e.dataset.identity)), [`u${fx.t1}`],
        'only the teacher speaks in the teacher-only version');
      assert.equal(await page.getByTestId('download-card').count(), 0, 'no download in the teacher-only version');
      await shootBothLanguages(page, 'research', 'teacher-only');

      await fx.login['rs-sa'].client.must('PUT', `/api/v1/schools/${fx.school.id}/consent`, { granted: true, note: '家长同意书已收齐' });
      await page.reload();
      await page.getByTestId('download-card').waitFor();
      await page.locator('[data-testid="speaking-row"][data-identity="u9001"]').waitFor();
      assert.equal(await page.getByTestId('rec-version').count(), 0, 'the full version has no badge');
    }));
    await t.test('the school administrator edits the group; a toast sits below the header and follows the language; the district administrator deletes the district group', () => h.run(async () => {
      const page = await h.newPage('school-admin-edit');
      await signInUI(page, fx.url, 'rs-sa', fx.login['rs-sa'].password);
      await waitForHome(page, 'admin');
      await page.goto(`${fx.url}/#/research/groups/${fx.group}`);
      await page.getByTestId('research-edit-group').click();
      await page.getByTestId('research-edit-name').fill('初中数学教研组（一）');
      await page.getByTestId('research-edit-description').fill('每周三下午第二节，轮流主讲');
      await shootBothLanguages(page, 'research', 'edit-group');
      await page.setViewportSize({ width: 390, height: 844 });
      await page.getByTestId('research-edit-save').click();
      await page.getByTestId('research-group-description').waitFor();
      const toast = page.locator('.el-message', { hasText: '教研组已保存' });
      await toast.waitFor();
      await settled(page);
      const [headerBottom, toastTop] = await page.evaluate(() => [
        document.querySelector('header.topbar').getBoundingClientRect().bottom,
        document.querySelector('.el-message').getBoundingClientRect().top,
      ]);
      assert.ok(toastTop >= headerBottom, `the toast (top ${toastTop}) sits below the header (bottom ${headerBottom}) on a phone`);
      await page.screenshot({ path: join(screenshotDir, 'yunke-research-toast-zh-CN-phone.png') });
      await page.getByTestId('lang-toggle').dispatchEvent('click');
      await page.locator('.el-message', { hasText: 'Research group saved' }).waitFor();
      assert.equal(await page.locator('.el-message', { hasText: '教研组已保存' }).count(), 0, 'the toast is in English now');
      await settled(page);
      await page.screenshot({ path: join(screenshotDir, 'yunke-research-toast-en-phone.png') });
      await page.getByTestId('lang-toggle').dispatchEvent('click');
      await page.setViewportSize({ width: 1280, height: 800 });
      const g = await fx.login['rs-sa'].client.must('GET', `/api/v1/research/groups/${fx.group}`);
      assert.equal(g.name, '初中数学教研组（一）');
      assert.equal(g.description, '每周三下午第二节，轮流主讲');
      // A member neither edits nor deletes it.
      const member = fx.login['rs-t1'].client;
      assert.equal((await member.call('PATCH', `/api/v1/research/groups/${fx.group}`, { name: 'x' })).status, 403);
      assert.equal((await member.call('DELETE', `/api/v1/research/groups/${fx.group}`)).status, 403);

      const da = await h.newPage('district-admin-delete');
      await signInUI(da, fx.url, 'rs-da', fx.login['rs-da'].password);
      await waitForHome(da, 'admin');
      const [dg] = (await fx.login['rs-da'].client.must('GET', '/api/v1/research/groups')).items.filter((x) => x.school_id === 0);
      await da.goto(`${fx.url}/#/research/groups/${dg.id}`);
      await da.getByTestId('research-delete-group').click();
      await da.getByTestId('research-delete-confirm').waitFor();
      await shootBothLanguages(da, 'research', 'delete-group');
      await da.getByTestId('confirm-yes').click();
      await da.waitForURL(/#\/research$/);
      await da.locator(`[data-testid="research-group"][data-id="${fx.group}"]`).waitFor();
      assert.equal(await da.locator(`[data-testid="research-group"][data-id="${dg.id}"]`).count(), 0);
      // Gone for its members too, with what it shared.
      const outsider = (await signInApi(fx.url, 'rs-t3', fx.outsiderPassword)).client;
      assert.equal((await outsider.call('GET', `/api/v1/research/groups/${dg.id}`)).status, 404);
      assert.equal((await outsider.call('GET', `/api/v1/recordings/${fx.dialogue}`)).status, 404);
    }));
  } finally {
    await h.close();
  }
});
