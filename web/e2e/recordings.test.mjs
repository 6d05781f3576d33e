// The recording player in the browser. A review expert opens a recording
// from the catalogue; every track plays on one clock (the teacher's camera
// and a student's camera stay within 100 ms of each other), a link with
// ?t= lands at that second, and the speed change applies.
//
// Two tests: the first serves the recordings API to the page from the test
// itself, exactly as docs/api.md's contract writes it (the player and its
// clock are the front end's own work, and are checked now); the second
// records a real class on the real server, and is skipped while the server
// has no recordings routes (GET /api/v1/recordings answers 404).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { adminClient, Harness, screenshotDir, selectOption, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';

const password = 'e2e-Passw0rd-1';

function ffmpeg(args) {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
}

/** makeTracks writes a teacher's camera and microphone (20 s) and a student's camera (15 s). */
function makeTracks(dir) {
  const vp8 = ['-c:v', 'libvpx', '-b:v', '400k', '-g', '25', '-deadline', 'realtime', '-cpu-used', '8'];
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-t', '20', ...vp8, join(dir, 'teacher.webm')]);
  ffmpeg(['-f', 'lavfi', '-i', 'smptebars=s=320x240:r=25', '-t', '15', ...vp8, join(dir, 'student.webm')]);
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=330', '-t', '20', '-c:a', 'libopus', join(dir, 'teacher-mic.webm')]);
  return {
    teacherCam: readFileSync(join(dir, 'teacher.webm')),
    studentCam: readFileSync(join(dir, 'student.webm')),
    teacherMic: readFileSync(join(dir, 'teacher-mic.webm')),
  };
}

async function setUp(url) {
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'E2E-RD', name: '录播测试区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'E2E-RS', name: '录播实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
  const subjects = await sys.must('GET', '/api/v1/subjects');
  const math = subjects.items.find((s) => s.code === 'math');
  const base = { password, district_id: district.id, school_id: school.id };
  const specs = {
    teacher: { ...base, username: 'rec-t1', name: '吴老师', roles: ['teacher'], staff_no: 'E2E-RT-1', subject_ids: [math.id], grades: [7], trainee: true },
    expert: { ...base, username: 'rec-e1', name: '郑专家', roles: ['expert'], subject_ids: [math.id], expert_scope: { district: true, school_ids: [] } },
  };
  const users = {};
  for (const [key, spec] of Object.entries(specs)) {
    const user = await sys.must('POST', '/api/v1/users', spec, 201);
    const settled = await signInApi(url, spec.username, spec.password);
    users[key] = { ...spec, id: user.id, password: settled.password, client: settled.client };
  }
  return { sys, school, math, users };
}

/** serve answers a media request like the server does: Range requests get 206. */
function serve(route, body) {
  const range = /^bytes=(\d+)-(\d*)$/.exec(route.request().headers().range ?? '');
  const headers = { 'Content-Type': 'video/webm', 'Accept-Ranges': 'bytes' };
  if (!range) return route.fulfill({ status: 200, headers, body });
  const start = Number(range[1]);
  const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
  return route.fulfill({ status: 206, headers: { ...headers, 'Content-Range': `bytes ${start}-${end}/${body.length}` }, body: body.subarray(start, end + 1) });
}

/** shoot saves the page in both languages, on a desktop and on a phone (390 px). */
async function shoot(page, name) {
  for (const lang of ['zh-CN', 'en']) {
    if ((await page.evaluate(() => document.documentElement.lang)) !== lang) {
      await page.getByTestId('lang-toggle').dispatchEvent('click');
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    }
    for (const [size, vp] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
      await page.setViewportSize(vp);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(screenshotDir, `yunke-rec-${name}-${lang}-${size}.png`), fullPage: true });
    }
  }
  await page.getByTestId('lang-toggle').dispatchEvent('click');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** times reads the player's clock and the times on it of the teacher's and the student's video, in one go. */
function times(page, teacher, student) {
  return page.evaluate(
    ([tId, tOff, sId, sOff]) => {
      const tv = document.querySelector(`video[data-track="${tId}"]`);
      const sv = document.querySelector(`video[data-track="${sId}"]`);
      return {
        clock: window.yunke.player?.now() ?? -1,
        teacher: tv.currentTime + tOff / 1000,
        student: sv.currentTime + sOff / 1000,
        teacherReady: tv.readyState,
        studentReady: sv.readyState,
        teacherRate: tv.playbackRate,
        paused: tv.paused,
      };
    },
    [teacher.id, teacher.offset_ms, student.id, student.offset_ms],
  );
}

/**
 * checkPlayer plays the open recording and checks the clock: the teacher's
 * video plays, a student's stays within 100 ms of it, a deep link lands at
 * its second and the speed applies.
 */
async function checkPlayer(page, base, id, teacher, student) {
  const tv = page.locator(`video[data-track="${teacher.id}"]`);
  await tv.waitFor();
  // Start where both cameras have pictures.
  const both = Math.ceil(Math.max(teacher.offset_ms, student.offset_ms) / 1000) + 1;
  await page.goto(`${base}/#/recordings/${id}?t=${both}`);
  await page.getByTestId('player-play').click();
  const first = await waitFor('the teacher video to play', async () => {
    const s = await times(page, teacher, student);
    return s.teacherReady >= 2 && !s.paused ? s : { ok: false, ...s };
  });
  await delay(1500);
  const later = await times(page, teacher, student);
  assert.ok(later.teacher - first.teacher > 1, `the teacher's video advances (${first.teacher} → ${later.teacher})`);
  assert.ok(later.teacherReady >= 2, 'the teacher video has data');

  // The two cameras stay together on the recording's clock.
  let worst = 0;
  for (let i = 0; i < 12; i++) {
    const s = await times(page, teacher, student);
    if (s.studentReady >= 2) worst = Math.max(worst, Math.abs(s.teacher - s.student));
    await delay(250);
  }
  console.log(`# worst drift between the teacher's and the student's video: ${Math.round(worst * 1000)} ms`);
  assert.ok(worst < 0.1, `the teacher's and the student's video stay within 100 ms (worst ${Math.round(worst * 1000)} ms)`);

  // A video pushed 300 ms off is brought back onto the clock.
  await page.evaluate((sId) => {
    const v = document.querySelector(`video[data-track="${sId}"]`);
    v.currentTime += 0.3;
  }, student.id);
  // Each video is kept on the clock, not on the other video: the pushed one
  // is what is checked, as the teacher's may lag the clock within the
  // player's dead band on a loaded machine.
  await waitFor('the pushed video to be back on the clock', async () => {
    const s = await times(page, teacher, student);
    return s.studentReady >= 2 && Math.abs(s.student - s.clock) < 0.05 ? s : { ok: false, ...s };
  }, { timeoutMs: 8000, intervalMs: 100 });

  // 1.5×: the clock and the videos run half as fast again as the wall clock.
  await selectOption(page, 'player-speed', 1.5);
  const a = await times(page, teacher, student);
  const wall = Date.now();
  await delay(2000);
  const b = await times(page, teacher, student);
  const ratio = (b.clock - a.clock) / ((Date.now() - wall) / 1000);
  assert.ok(ratio > 1.3 && ratio < 1.7, `the clock runs at 1.5× (${ratio.toFixed(2)})`);
  assert.ok(b.teacherRate > 1.3 && b.teacherRate < 1.7, `the teacher video plays at 1.5× (${b.teacherRate})`);
  // A loaded machine may stall a video for a moment: the player brings it
  // back onto the clock, which is what is checked.
  await waitFor('the teacher video to follow the clock at 1.5×', async () => {
    const s = await times(page, teacher, student);
    return Math.abs(s.teacher - s.clock) < 0.2 ? s : { ok: false, ...s };
  }, { timeoutMs: 5000, intervalMs: 100 });
  await page.getByTestId('player-play').click();
  await page.locator('[data-testid="player-play"][data-playing="false"]').waitFor();
}

/** checkDeepLink opens the player at ?t=spec and checks the clock and the teacher's video are at seconds. */
async function checkDeepLink(page, base, id, teacher, spec, seconds) {
  await page.goto(`${base}/#/recordings/${id}?t=${spec}`);
  await page.getByTestId('recording-player').waitFor();
  await waitFor(`the player to land at ${seconds} s for t=${spec}`, async () => {
    const s = await page.evaluate((tId) => {
      const v = document.querySelector(`video[data-track="${tId}"]`);
      return { clock: window.yunke.player?.now() ?? -1, video: v ? v.currentTime : -1, ready: v ? v.readyState : 0 };
    }, teacher.id);
    const want = seconds - teacher.offset_ms / 1000;
    return Math.abs(s.clock - seconds) < 0.05 && s.ready >= 1 && Math.abs(s.video - want) < 0.25 ? s : { ok: false, ...s };
  });
  const shown = await page.getByTestId('player-time').getAttribute('data-seconds');
  assert.equal(Math.round(Number(shown)), seconds, `the time shown for t=${spec}`);
}

test('recording player against the recordings API contract', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'yunke-rec-'));
  const h = await Harness.start();
  try {
    let fixture;
    let media;
    await t.test('set up an expert and three tracks', () => h.run(async () => {
      fixture = await setUp(h.server.url);
      media = makeTracks(dir);
    }));
    if (!fixture) return;
    const { school, math, users } = fixture;
    const url = h.server.url;
    const track = (id, over) => ({ id, codec: 'video/VP8', kind: 'video', status: 'ready', url: `/api/v1/recordings/17/tracks/${id}/media`, ...over });
    const teacher = track(41, { participant: 'u5', name: users.teacher.name, role: 'teacher', source: 'camera', size_bytes: media.teacherCam.length, duration_ms: 20000, offset_ms: 0 });
    const student = track(43, { participant: 'u9', name: '林同学', role: 'student', source: 'camera', size_bytes: media.studentCam.length, duration_ms: 15000, offset_ms: 3000 });
    const mic = track(42, { participant: 'u5', name: users.teacher.name, role: 'teacher', source: 'microphone', kind: 'audio', codec: 'audio/opus', size_bytes: media.teacherMic.length, duration_ms: 20000, offset_ms: 0 });
    let download = { kind: 'camera', status: 'none', progress: 0, url: '/api/v1/recordings/17/download' };
    const recording = () => ({
      id: 17, kind: 'class', room: 'class-math-7', title: '七年级数学 · 一元一次方程',
      teacher: { id: users.teacher.id, name: users.teacher.name, trainee: true },
      school: { id: school.id, name: school.name }, district_id: school.district_id,
      subject: { id: math.id, name: math.name }, grade: 7, knowledge_point_ids: [],
      started_at: '2026-12-01T08:00:00Z', ended_at: '2026-12-01T08:00:20Z', duration_ms: 20000,
      status: 'ready', status_reason: '',
      participants: [{ identity: 'u5', name: users.teacher.name, role: 'teacher' }, { identity: 'u9', name: '林同学', role: 'student' }],
      tracks: [teacher, mic, student], download,
    });
    const bodies = { 41: media.teacherCam, 42: media.teacherMic, 43: media.studentCam };

    await t.test('the expert opens a recording from the catalogue and the tracks play in sync', () => h.run(async () => {
      const page = await h.newPage('expert');
      await page.route(/\/api\/v1\/recordings(\/|\?|$)/, async (route) => {
        const req = route.request();
        const path = new URL(req.url()).pathname;
        let m;
        if (path === '/api/v1/recordings') {
          const { tracks, participants, download: _, ...item } = recording();
          return route.fulfill({ json: { items: [item], total: 1 } });
        }
        if (path === '/api/v1/recordings/17') return route.fulfill({ json: recording() });
        if (path === '/api/v1/recordings/17/speaking') {
          return route.fulfill({
            json: {
              interval_ms: 500,
              participants: [
                { identity: 'u5', name: users.teacher.name, role: 'teacher', intervals: [{ start_ms: 0, end_ms: 6000, level: 0.8 }, { start_ms: 11000, end_ms: 18000, level: 0.6 }] },
                { identity: 'u9', name: '林同学', role: 'student', intervals: [{ start_ms: 6500, end_ms: 10500, level: 0.5 }] },
              ],
            },
          });
        }
        if (path === '/api/v1/recordings/17/download' && req.method() === 'POST') {
          download = { ...download, kind: 'composite', status: 'running', progress: 0.4 };
          return route.fulfill({ json: download });
        }
        if ((m = /^\/api\/v1\/recordings\/17\/tracks\/(\d+)\/media$/.exec(path))) return serve(route, bodies[m[1]]);
        return route.fulfill({ status: 404, json: { error: { code: 'not_found', message: path } } });
      });
      await signInUI(page, url, users.expert.username, users.expert.password);
      await waitForHome(page, 'expert');
      await page.getByTestId('home-recordings').click();
      await page.getByTestId('recordings-page').waitFor();
      const row = page.locator('[data-testid="recordings-table"] tr[data-id="17"]');
      await row.waitFor();
      assert.equal(await row.getByTestId('trainee-tag').count(), 1, 'the trainee teacher is marked');
      await shoot(page, 'catalogue');
      await row.getByTestId('recording-open').click();
      await page.getByTestId('recording-player').waitFor();
      assert.equal(await page.getByTestId('player-audio').count(), 1, "the teacher's microphone is played");
      await page.getByTestId('speaking-row').nth(1).waitFor();
      assert.equal(await page.getByTestId('speaking-row').count(), 2, 'who spoke when, per participant');
      assert.equal(await page.getByTestId('download-note').getAttribute('data-kind'), 'camera');
      await checkPlayer(page, url, 17, teacher, student);

      await checkDeepLink(page, url, 17, teacher, '0m12s', 12);
      await checkDeepLink(page, url, 17, teacher, '9', 9);
      // The page loaded afresh from the link.
      await page.goto(`${url}/#/recordings/17?t=14s`);
      await page.reload();
      await checkDeepLink(page, url, 17, teacher, '14s', 14);

      // The composite: started, its progress shown, then what the download is.
      await page.getByTestId('composite-start').click();
      await page.getByTestId('composite-progress').waitFor();
      assert.match(await page.getByTestId('composite-progress').innerText(), /40%/);
      download = { ...download, status: 'ready', progress: 1 };
      await page.locator('[data-testid="download-note"][data-kind="composite"]').waitFor({ timeout: 10_000 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await shoot(page, 'player');
    }));
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** publishStudentCamera joins the room as a student with a synthetic camera (moving bars, 15 fps). */
async function publishStudentCamera(url, room) {
  const { LocalVideoTrack, Room, TrackPublishOptions, TrackSource, VideoBufferType, VideoFrame, VideoSource } = await import('@livekit/rtc-node');
  const { AccessToken } = await import('livekit-server-sdk');
  const at = new AccessToken('devkey', 'secret', { identity: 'rec-student', name: '林同学', ttl: '10m', metadata: JSON.stringify({ role: 'student' }) });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
  const lk = new Room();
  await lk.connect(url.replace(/^http/, 'ws'), await at.toJwt(), { autoSubscribe: false, dynacast: false });
  const w = 320;
  const hgt = 240;
  const source = new VideoSource(w, hgt);
  const track = LocalVideoTrack.createVideoTrack('camera', source);
  const opts = new TrackPublishOptions();
  opts.source = TrackSource.SOURCE_CAMERA;
  await lk.localParticipant.publishTrack(track, opts);
  let n = 0;
  const timer = setInterval(() => {
    const data = new Uint8Array(w * hgt * 4);
    for (let y = 0; y < hgt; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        const on = ((x + n * 4) >> 5) % 2 === 0;
        data[i] = on ? 240 : 20;
        data[i + 1] = 120;
        data[i + 2] = on ? 20 : 240;
        data[i + 3] = 255;
      }
    }
    n++;
    source.captureFrame(new VideoFrame(data, w, hgt, VideoBufferType.RGBA));
  }, 1000 / 15);
  return {
    async close() {
      clearInterval(timer);
      await lk.disconnect().catch(() => {});
      await source.close().catch(() => {});
    },
  };
}

test('recording player on a class recorded by the server', { timeout: 300_000 }, async (t) => {
  const h = await Harness.start();
  let student = null;
  try {
    const sys = await adminClient(h.server.url);
    const probe = await sys.call('GET', '/api/v1/recordings');
    if (probe.status === 404) {
      t.skip('the server has no recordings routes yet (GET /api/v1/recordings answers 404): server/recording is not on this branch');
      return;
    }
    let fixture;
    await t.test('set up a trainee teacher and an expert', () => h.run(async () => {
      fixture = await setUp(h.server.url);
    }));
    if (!fixture) return;
    const { users } = fixture;
    const url = h.server.url;
    const room = `math-rec-${Date.now().toString(36)}`;
    let recordingId = 0;

    await t.test('a class with a camera is recorded, and the class page says so', () => h.run(async () => {
      const teacher = await h.newPage('teacher');
      await signInUI(teacher, url, users.teacher.username, users.teacher.password);
      await waitForHome(teacher, 'teacher');
      await teacher.goto(`${url}/#/class/${room}`);
      await teacher.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      // The server's name of the room (an account's class is kept apart per school).
      const live = await teacher.evaluate(() => window.yunke.room?.name);
      student = await publishStudentCamera(url, live);
      await teacher.locator('[data-testid="tile"][data-identity="rec-student"]').waitFor({ timeout: 20_000 });
      // Classes are recorded by default; asking again is harmless.
      const started = await users.teacher.client.call('POST', `/api/v1/rooms/${encodeURIComponent(live)}/recording`, { action: 'start' });
      assert.ok(started.status < 300 || started.status === 409, `start recording: HTTP ${started.status} ${started.text}`);
      await teacher.getByTestId('recording-indicator').waitFor({ timeout: 20_000 });
      assert.equal(await teacher.evaluate(() => window.yunke.room?.isRecording), true, 'livekit-client reports the recording');
      await teacher.screenshot({ path: join(screenshotDir, 'yunke-rec-class-indicator.png') });
      await delay(25_000);
      await users.teacher.client.call('POST', `/api/v1/rooms/${encodeURIComponent(live)}/recording`, { action: 'stop' });
      await student.close();
      student = null;
      await teacher.getByTestId('leave').click();
      const rec = await waitFor('the recording to be ready', async () => {
        const list = await users.expert.client.must('GET', `/api/v1/recordings?teacher_id=${users.teacher.id}`);
        const r = list.items.find((x) => x.status === 'ready');
        return r ?? { ok: false, statuses: list.items.map((x) => x.status) };
      }, { timeoutMs: 90_000, intervalMs: 1000 });
      recordingId = rec.id;
    }));
    if (!recordingId) return;

    await t.test('the expert plays it: in sync, deep link, speed', () => h.run(async () => {
      const rec = await users.expert.client.must('GET', `/api/v1/recordings/${recordingId}`);
      const teacherCam = rec.tracks.find((tr) => tr.role === 'teacher' && tr.source === 'camera');
      const studentCam = rec.tracks.find((tr) => tr.role === 'student' && tr.source === 'camera');
      assert.ok(teacherCam, "the teacher's camera was recorded");
      assert.ok(studentCam, "the student's camera was recorded");
      const page = await h.newPage('expert');
      await signInUI(page, url, users.expert.username, users.expert.password);
      await waitForHome(page, 'expert');
      await page.getByTestId('home-recordings').click();
      const row = page.locator(`[data-testid="recordings-table"] tr[data-id="${recordingId}"]`);
      await row.waitFor();
      assert.equal(await row.getByTestId('trainee-tag').count(), 1, 'the trainee teacher is marked');
      await row.getByTestId('recording-open').click();
      await page.getByTestId('recording-player').waitFor();
      await checkPlayer(page, url, recordingId, teacherCam, studentCam);
      const at = Math.min(8, Math.floor(rec.duration_ms / 1000) - 2);
      await checkDeepLink(page, url, recordingId, teacherCam, `0m${at}s`, at);
      await shoot(page, 'player-real');
    }));
  } finally {
    await student?.close();
    await h.close();
    // The native SDK's runtime would otherwise keep the process alive.
    const { dispose } = await import('@livekit/rtc-node');
    await dispose();
  }
});
