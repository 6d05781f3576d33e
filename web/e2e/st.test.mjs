// The S-T analysis on the recording player. A scripted class — a
// recording whose speaking intervals follow a known pattern, filed in the
// server's database as a finished class would leave it — is opened by a
// review expert: the S-T curve and the Rt–Ch chart render, the mode reads
// "mixed" (混合型) with Rt 0.60 and Ch 0.25, and re-coding four samples by
// clicking them makes it a lecture, with the automatic result kept beside.
// ECharts is loaded by the player page only. The expert's home lists the
// micro-lessons to review and the tutoring sessions to audit: a micro-lesson
// an administrator assigned is approved there and tagged, which publishes it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { adminClient, Harness, signInApi, signInUI, waitForHome } from './lib/harness.mjs';
import { fileScriptedRecording, shootBothLanguages } from './lib/recordings.mjs';

const password = 'e2e-Passw0rd-1';
// One letter per 30 s sample: T the teacher speaks, S a student, '.' silence.
const script = 'TTTTT' + 'SS.S' + 'TTT' + 'SS' + 'TTTT' + 'S.';

test('S-T analysis of a scripted class on the player', { timeout: 240_000 }, async (t) => {
  const h = await Harness.start();
  try {
    let fx;
    await t.test('set up a teacher, an expert and a scripted class recording', () => h.run(async () => {
      const url = h.server.url;
      const sys = await adminClient(url);
      const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-ST', name: 'S-T 测试区' }, 201);
      const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-STS', name: 'S-T 实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
      const base = { password, district_id: district.id, school_id: school.id };
      const teacher = await sys.must('POST', '/api/v1/users', { ...base, username: 'st-t1', name: '吴老师', roles: ['teacher'], staff_no: 'E2E-ST-1' }, 201);
      const expertUser = await sys.must('POST', '/api/v1/users', { ...base, username: 'st-e1', name: '郑专家', roles: ['expert'], expert_scope: { district: true, school_ids: [] } }, 201);
      const expert = await signInApi(url, 'st-e1', password);
      const db = join(readlinkSync(`/proc/${h.server.proc.pid}/cwd`), 'yunke.db');
      assert.ok(existsSync(db), `the server's database at ${db}`);
      const id = fileScriptedRecording(db, { script, teacher: teacher.id, school: school.id, district: district.id, title: '七年级数学 · S-T 脚本课', room: `s${school.id}-st`, teacherTail: true });
      assert.ok(id > 0, 'the scripted recording is filed');
      // The API's own answer first: the expected codes, Rt, Ch and mode.
      const st = await expert.client.must('GET', `/api/v1/recordings/${id}/st`);
      assert.equal(st.samples.map((s) => s.code).join(''), 'TTTTTSSSSTTTSSTTTTSS');
      assert.deepEqual([st.result.rt, st.result.ch, st.result.mode], [0.6, 0.25, 'mixed']);
      // A submitted micro-lesson (its row as filing leaves it) and a
      // knowledge point of its subject; the administrator assigns it.
      const math = (await sys.must('GET', '/api/v1/subjects')).items.find((x) => x.code === 'math');
      const now = Date.now();
      const lesson = Number(
        execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, `
          INSERT INTO knowledge_points (subject_id, grade, parent_id, code, name, sort) VALUES (${math.id}, 7, NULL, 'E2E-M7-1', '有理数的加法', 1);
          INSERT INTO microlessons (teacher_id, district_id, school_id, subject_id, grade, title, search, file_key, size_bytes, container, video_codec,
            duration_ms, status, status_at, created_at, updated_at)
            VALUES (${teacher.id}, ${district.id}, ${school.id}, ${math.id}, 7, '有理数的加法', '有理数的加法', 'e2e/st-lesson.mp4', 1, 'mp4', 'h264', 60000, 'submitted', ${now}, ${now}, ${now});
          SELECT MAX(id) FROM microlessons;`], { encoding: 'utf8' }).trim().split('\n').pop(),
      );
      const assigned = await sys.must('POST', `/api/v1/microlessons/${lesson}/assign`, { reviewer_id: expertUser.id });
      assert.equal(assigned.status, 'in_review');
      fx = { url, id, expert, lesson, sys, db, teacher: teacher.id, school: school.id, district: district.id };
    }));
    if (!fx) return;

    await t.test('the expert sees the charts with the mode, and re-codes samples by clicking them', () => h.run(async () => {
      const page = await h.newPage('expert');
      await signInUI(page, fx.url, 'st-e1', fx.expert.password);
      await waitForHome(page, 'expert');
      // The expert's home: the micro-lesson assigned, approved, then tagged
      // (which publishes it); the tutoring audit is empty here.
      await page.getByTestId('audit-empty').waitFor();
      const item = page.locator(`[data-testid="queue-item"][data-id="${fx.lesson}"]`);
      await item.locator('xpath=self::*[@data-status="in_review"]').waitFor();
      await item.getByTestId('queue-approve').click();
      await page.locator(`[data-testid="queue-item"][data-id="${fx.lesson}"][data-status="approved"]`).waitFor();
      await item.getByTestId('queue-points').click();
      await page.locator('.el-select-dropdown__item[data-code="E2E-M7-1"]:visible').click();
      await page.keyboard.press('Escape');
      await shootBothLanguages(page, 'st', 'expert-home');
      await item.getByTestId('queue-tag').click();
      await page.getByTestId('queue-empty').waitFor();
      const published = await fx.sys.must('GET', `/api/v1/microlessons/${fx.lesson}`);
      assert.equal(published.status, 'published');
      assert.deepEqual(published.knowledge_points.map((k) => k.code), ['E2E-M7-1']);
      const loaded = () => page.evaluate(() => performance.getEntriesByType('resource').some((e) => /st-charts/.test(e.name)));
      assert.equal(await loaded(), false, 'ECharts is not loaded before the player');

      await page.goto(`${fx.url}/#/recordings/${fx.id}`);
      await page.getByTestId('recording-player').waitFor();
      const mode = page.getByTestId('st-mode');
      await mode.waitFor();
      assert.equal(await mode.getAttribute('data-mode'), 'mixed');
      assert.match(await mode.innerText(), /混合型/);
      assert.equal(await page.getByTestId('st-rt').innerText(), '0.60');
      assert.equal(await page.getByTestId('st-ch').innerText(), '0.25');
      await page.waitForFunction(() => document.documentElement.dataset.stCharts === 'drawn');
      assert.equal(await loaded(), true, 'the player loads ECharts');
      // The curve is drawn: an SVG path in each chart.
      for (const chart of ['st-curve', 'st-rtch']) {
        assert.ok((await page.locator(`[data-testid="${chart}"] svg path`).count()) > 2, `${chart} has drawn paths`);
      }
      // The teacher's term beside it: this one lesson so far.
      assert.equal(await page.getByTestId('st-trend').getAttribute('data-count'), '1');
      const samples = page.getByTestId('st-sample');
      assert.equal(await samples.count(), 20, 'the table of the 20 samples');
      await page.getByTestId('st-card').scrollIntoViewIfNeeded();
      await shootBothLanguages(page, 'st', 'player-mixed', async (lang) => {
        assert.match(await mode.innerText(), lang === 'en' ? /Mixed/ : /混合型/);
      });

      // Samples 6–9 (S: a student answering) re-coded as T: the teacher led it.
      for (const i of [5, 6, 7, 8]) {
        const row = page.locator(`[data-testid="st-sample"][data-index="${i}"]`);
        await row.getByTestId('st-recode').click();
        await page.locator(`[data-testid="st-sample"][data-index="${i}"][data-code="T"][data-auto="S"][data-manual="T"]`).waitFor();
      }
      await page.locator('[data-testid="st-mode"][data-mode="lecture"]').waitFor();
      assert.equal(await mode.getAttribute('data-auto-mode'), 'mixed', 'the automatic coding is kept beside');
      assert.equal(await page.getByTestId('st-rt').innerText(), '0.80');
      await page.getByTestId('st-auto-note').waitFor();
      await shootBothLanguages(page, 'st', 'player-recoded', async (lang) => {
        assert.match(await mode.innerText(), lang === 'en' ? /Lecture/ : /讲授型/);
      });

      // A click on a hand-coded sample gives it back to the automatic code.
      await page.locator('[data-testid="st-sample"][data-index="8"]').getByTestId('st-recode').click();
      await page.locator('[data-testid="st-sample"][data-index="8"][data-code="S"][data-manual=""]').waitFor();
      // The hand codes are kept: they are there after a reload.
      await page.reload();
      await page.locator('[data-testid="st-sample"][data-index="7"][data-manual="T"]').waitFor();
      assert.equal(await page.getByTestId('st-rt').innerText(), '0.75');
    }));

    await t.test('two recordings of the lesson, picked in the catalogue, side by side with their modes', () => h.run(async () => {
      const other = fileScriptedRecording(fx.db, { script, teacher: fx.teacher, school: fx.school, district: fx.district, title: '七年级数学 · S-T 脚本课', room: `s${fx.school}-st`, teacherTail: true });
      const page = await h.newPage('expert');
      await signInUI(page, fx.url, 'st-e1', fx.expert.password);
      await waitForHome(page, 'expert');
      await page.goto(`${fx.url}/#/recordings`);
      const compare = page.getByTestId('rec-compare');
      await page.locator(`[data-testid="recordings-table"] tr[data-id="${other}"]`).waitFor();
      assert.equal(await compare.isDisabled(), true, 'one recording is not enough to compare');
      for (const id of [fx.id, other]) await page.locator(`tr[data-id="${id}"] [data-testid="rec-pick"]`).click();
      await compare.click();
      await page.waitForURL(new RegExp(`#/recordings/compare\\?ids=${fx.id}(,|%2C)${other}$`));
      // A third, unknown recording fails its own column only.
      await page.goto(`${fx.url}/#/recordings/compare?ids=${fx.id},${other},999999`);
      for (const id of [fx.id, other]) {
        const want = (await fx.expert.client.must('GET', `/api/v1/recordings/${id}/st`)).result.mode;
        await page.locator(`[data-testid="compare-column"][data-id="${id}"] [data-testid="compare-st"][data-mode="${want}"]`).waitFor();
        await page.locator(`[data-testid="compare-column"][data-id="${id}"] [data-testid="compare-unreviewed"]`).waitFor();
      }
      await page.locator('[data-testid="compare-column"][data-id="999999"] [data-testid="compare-error"]').waitFor();
      await shootBothLanguages(page, 'st', 'compare', async (lang) => {
        assert.match(await page.locator(`[data-testid="compare-column"][data-id="${other}"] [data-testid="compare-st"]`).innerText(), lang === 'en' ? /Mixed/ : /混合型/);
      });
    }));
  } finally {
    await h.close();
  }
});
