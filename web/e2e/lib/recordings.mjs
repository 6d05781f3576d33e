// Scripted class recordings and page screenshots shared by the S-T and lesson-review browser tests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { screenshotDir, settled } from './harness.mjs';

/**
 * fileScriptedRecording writes a finished ten-minute-scale class recording of teacher into the
 * server's SQLite database with the sqlite3 shell: one letter of script per 30 s sample, T the
 * teacher speaks, S a student ('u9001'), '.' silence. With teacherTail the teacher also speaks
 * the last 4 s of each student sample (the student still dominates it). Returns the recording's id.
 */
export function fileScriptedRecording(db, { script, teacher, teacherName = '吴老师', school, district, title, room, teacherTail = false }) {
  const start = Date.now() - 3600_000;
  const duration = script.length * 30_000;
  const rows = [];
  [...script].forEach((c, i) => {
    const s = i * 30_000;
    if (c === 'T') rows.push(`(ID, 'u${teacher}', 'teacher', ${s + 1000}, ${s + 29000}, 0.6)`);
    if (c === 'S') {
      rows.push(`(ID, 'u9001', 'student', ${s}, ${s + 25000}, 0.4)`);
      if (teacherTail) rows.push(`(ID, 'u${teacher}', 'teacher', ${s + 25000}, ${s + 29000}, 0.3)`);
    }
  });
  const sql = `
    BEGIN IMMEDIATE;
    INSERT INTO recordings (kind, room, title, teacher_id, district_id, school_id, started_at, ended_at, duration_ms, status, created_at, updated_at)
      VALUES ('class', '${room}', '${title}', ${teacher}, ${district}, ${school}, ${start}, ${start + duration}, ${duration}, 'ready', ${start}, ${start + duration});
    INSERT INTO recording_participants (recording_id, identity, user_id, name, role) VALUES (last_insert_rowid(), 'u${teacher}', ${teacher}, '${teacherName}', 'teacher'),
      ((SELECT MAX(id) FROM recordings), 'u9001', 0, '林同学', 'student');
    INSERT INTO recording_speaking (recording_id, identity, role, start_ms, end_ms, level) VALUES ${rows.join(', ').replaceAll('ID', `(SELECT MAX(id) FROM recordings)`)};
    COMMIT;
    SELECT MAX(id) FROM recordings;`;
  const out = execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, sql], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}

/**
 * shootBothLanguages saves the page as yunke-<prefix>-<name>-<lang>-<size>.png in both languages,
 * on a desktop and on a phone (390 px), checking nothing overflows the phone; check runs before
 * each shot. It leaves the page in Chinese at desktop size.
 */
export async function shootBothLanguages(page, prefix, name, check) {
  for (const lang of ['zh-CN', 'en']) {
    if ((await page.evaluate(() => document.documentElement.lang)) !== lang) {
      await page.getByTestId('lang-toggle').dispatchEvent('click');
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    }
    for (const [size, vp] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
      await page.setViewportSize(vp);
      await page.waitForTimeout(400);
      await settled(page);
      if (check) await check(lang, size);
      if (size === 'phone') {
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        const culprits = wide <= 392 ? [] : await page.evaluate(() =>
          [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > 392 && e.getBoundingClientRect().width > 0)
            .slice(0, 8)
            .map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}[${e.getAttribute('data-testid') ?? ''}] ${Math.round(e.getBoundingClientRect().right)}`),
        );
        assert.ok(wide <= 392, `${name} (${lang}) is ${wide} px wide on a 390 px phone: ${culprits.join(', ')}`);
      }
      await page.screenshot({ path: join(screenshotDir, `yunke-${prefix}-${name}-${lang}-${size}.png`), fullPage: true });
    }
  }
  await page.getByTestId('lang-toggle').dispatchEvent('click');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.setViewportSize({ width: 1280, height: 800 });
}
