// Screenshots of the main pages for a reviewer: sign-in, every role home,
// the users, import (with a row error) and targets pages, a class, a
// tutoring room and its rating, each in Chinese and English, on a desktop
// and a phone. They go to web/test-results/screenshots/ (git-ignored). The
// browser talks to the server through a small proxy that serves the app's
// HTML with the Content-Security-Policy the app is meant to run under, and
// the test fails on any violation of it.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { adminClient, fileInput, Harness, selectOption, setSwitch, signInApi, signInUI, waitFor, waitForHome } from './lib/harness.mjs';

const outDir = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));

const csp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

const viewports = [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
];

const password = 'e2e-Passw0rd-1';

/**
 * cspProxy forwards HTTP and WebSocket traffic to the server named by
 * setTarget and adds the policy to every HTML answer. It listens before the
 * server starts, so that the server can be told its public URL is the proxy's.
 */
async function cspProxy() {
  let to = null;
  const tunnels = new Set();
  const server = createServer((req, res) => {
    const up = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      const headers = { ...answer.headers };
      if (String(headers['content-type'] ?? '').startsWith('text/html')) headers['content-security-policy'] = csp;
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  // WebSockets (the event socket, signaling): pass the upgrade through as it is.
  server.on('upgrade', (req, socket, head) => {
    const up = connect(Number(to.port), to.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
    tunnels.add(socket).add(up);
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    setTarget: (target) => (to = new URL(target)),
    close: () => new Promise((res) => {
      for (const s of tunnels) s.destroy();
      server.closeAllConnections();
      server.close(() => res());
    }),
  };
}

async function setUp(url) {
  const sys = await adminClient(url);
  const district = await sys.must('POST', '/api/v1/districts', { code: 'SHOT-D', name: '示范区' }, 201);
  const school = await sys.must('POST', '/api/v1/schools', { code: 'SHOT-S1', name: '第一实验中学', kind: 'junior_secondary', district_id: district.id }, 201);
  await sys.must('POST', '/api/v1/schools', { code: 'SHOT-S2', name: '第二实验小学', kind: 'primary', district_id: district.id }, 201);
  const subjects = await sys.must('GET', '/api/v1/subjects');
  const math = subjects.items.find((s) => s.code === 'math');
  const base = { password, district_id: district.id };
  const specs = {
    student: { ...base, username: 'shot-s', name: '李小明', roles: ['student'], school_id: school.id, student_no: 'S-001', grade: 7, class: '2班' },
    teacher: { ...base, username: 'shot-t', name: '王老师', roles: ['teacher'], school_id: school.id, staff_no: 'T-001', grades: [7, 8], subject_ids: [math.id] },
    expert: { ...base, username: 'shot-e', name: '赵专家', roles: ['expert'], subject_ids: [math.id], expert_scope: { district: true, school_ids: [] } },
    admin: { ...base, username: 'shot-a', name: '孙区管', roles: ['district_admin'] },
  };
  const users = {};
  for (const [key, spec] of Object.entries(specs)) {
    await sys.must('POST', '/api/v1/users', spec, 201);
    users[key] = { ...spec, password: (await signInApi(url, spec.username, spec.password)).password };
  }
  return { users, math };
}

test('screenshots of the main pages, in both languages, on a desktop and a phone', { timeout: 300_000 }, async (t) => {
  mkdirSync(outDir, { recursive: true });
  const proxy = await cspProxy();
  const pages = [];
  let h;
  try {
    // Tutoring sessions send both browsers to the server's public URL: the proxy.
    h = await Harness.start({ env: { YUNKE_PUBLIC_URL: proxy.url } });
    proxy.setTarget(h.server.url);
    const url = proxy.url;
    let fx;
    await t.test('set up a school and a user of every role', () => h.run(async () => {
      fx = await setUp(url);
    }));
    if (!fx) return;

    /** checkPolicy fails when a page broke the policy or added a <style> element. */
    const checkPolicy = async (label, page) => {
      const violations = await page.evaluate(() => window.cspViolations ?? []);
      assert.deepEqual(violations, [], `${label}: the page broke the policy`);
      assert.equal(await page.evaluate(() => document.querySelectorAll('style').length), 0, `${label}: no <style> element is added at run time`);
    };

    /** closeAll checks the open pages, then closes them: each signed-in tab would open a tutoring session too. */
    const closeAll = async () => {
      for (const [label, page] of pages.splice(0)) {
        await checkPolicy(label, page);
        await page.context().close();
      }
    };

    /** open makes a page that records its violations of the policy. */
    const open = async (label) => {
      const page = await h.newPage(label);
      await page.addInitScript(() => {
        window.cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective}: ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`));
      });
      pages.push([label, page]);
      return page;
    };

    /** shoot saves the page as it is now in both languages and both sizes. */
    const shoot = async (page, name) => {
      for (const lang of ['zh-CN', 'en']) {
        if ((await page.evaluate(() => document.documentElement.lang)) !== lang) {
          // (Dispatched, not clicked: an open modal dialog covers the header.)
          await page.getByTestId('lang-toggle').dispatchEvent('click');
          await page.waitForFunction((l) => document.documentElement.lang === l, lang);
        }
        for (const [size, viewport] of viewports) {
          await page.setViewportSize(viewport);
          // Let the layout (tables, videos) settle at the new size.
          await page.waitForTimeout(400);
          await page.screenshot({ path: join(outDir, `${name}-${lang}-${size}.png`), fullPage: true });
        }
      }
      await page.getByTestId('lang-toggle').dispatchEvent('click');
      await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
      await page.setViewportSize(viewports[0][1]);
    };

    const signedIn = async (label, user, home) => {
      const page = await open(label);
      await signInUI(page, url, user.username, user.password);
      await waitForHome(page, home);
      return page;
    };

    await t.test('sign-in and the role homes', () => h.run(async () => {
      const signin = await open('signin');
      const scripts = [];
      signin.on('response', (r) => {
        if (r.request().resourceType() === 'script') scripts.push(r);
      });
      await signin.goto(`${url}/#/signin`);
      await signin.getByTestId('signin-form').waitFor();
      await signin.waitForLoadState('networkidle');
      // livekit-client is only in the chunks of the pages that enter a room.
      assert.ok(scripts.length > 0);
      for (const r of scripts) assert.ok(!(await r.text()).includes('livekit.SignalRequest'), `the sign-in page loads livekit-client: ${r.url()}`);
      await shoot(signin, 'signin');

      const student = await signedIn('student', fx.users.student, 'student');
      await student.getByTestId('tutoring-history-card').locator('.activity li').first().waitFor();
      await shoot(student, 'home-student');

      const teacher = await signedIn('teacher', fx.users.teacher, 'teacher');
      await teacher.locator('[data-testid="presence-status"][data-available="false"]').waitFor({ timeout: 15_000 });
      await shoot(teacher, 'home-teacher');

      const expert = await signedIn('expert', fx.users.expert, 'expert');
      await shoot(expert, 'home-expert');

      const admin = await signedIn('admin', fx.users.admin, 'admin');
      await admin.getByTestId('activity-item').first().waitFor({ timeout: 15_000 });
      await shoot(admin, 'home-admin');
    }));

    await t.test('the admin pages', () => h.run(async () => {
      const page = await signedIn('admin-pages', fx.users.admin, 'admin');
      await page.goto(`${url}/#/admin/users`);
      await page.locator('[data-testid="users-table"] tr[data-username="shot-t"]').waitFor();
      await shoot(page, 'admin-users');

      await page.goto(`${url}/#/admin/import`);
      await selectOption(page, 'import-kind', 'schools');
      const csv = ['code,name,kind', 'SHOT-S3,第三中学,junior_secondary', 'SHOT-S4,第四中学,secondary_school', ''].join('\r\n');
      await fileInput(page, 'import-file').setInputFiles({ name: 'schools.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await page.getByTestId('import-submit').click();
      await page.locator('[data-testid="row-errors"] tr[data-row="3"]').waitFor({ timeout: 30_000 });
      await shoot(page, 'admin-import-row-error');

      await page.goto(`${url}/#/admin/targets`);
      await page.locator('[data-testid="targets-table"] tr[data-school]').first().waitFor();
      await shoot(page, 'admin-targets');
    }));

    await t.test('a class', () => h.run(async () => {
      const room = `math-${Date.now().toString(36)}`;
      const teacher = await signedIn('class-teacher', fx.users.teacher, 'teacher');
      await teacher.goto(`${url}/#/class/${room}`);
      await teacher.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      const student = await signedIn('class-student', fx.users.student, 'student');
      await student.goto(`${url}/#/class/${room}`);
      await student.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
      await waitFor('the teacher’s video on the student’s page', () => student.locator('[data-testid="tile"][data-source="camera"] video').first().evaluate((v) => v.videoWidth > 0), { timeoutMs: 30_000 });
      await teacher.getByTestId('chat-input').fill('同学们好！今天我们学习一元一次方程。');
      await teacher.getByTestId('chat-send').click();
      await student.getByTestId('chat-message').first().waitFor({ timeout: 15_000 });
      await shoot(student, 'class-student');
      await shoot(teacher, 'class-teacher');
      await student.getByTestId('leave').click();
      await teacher.getByTestId('leave').click();
      await teacher.getByTestId('home').waitFor();
    }));

    await t.test('a tutoring room', () => h.run(async () => {
      await closeAll();
      const student = await signedIn('tutor-student', fx.users.student, 'student');
      await student.getByTestId('ask-teacher').click();
      await selectOption(student, 'ask-subject', String(fx.math.id));
      await student.getByTestId('ask-text').fill('2x + 3 = 11，x 等于多少？');
      await student.getByTestId('ask-submit').click();
      await student.locator('[data-testid="queue-position"][data-position="1"]').waitFor({ timeout: 15_000 });
      await shoot(student, 'tutoring-waiting');

      const teacher = await signedIn('tutor-teacher', fx.users.teacher, 'teacher');
      await teacher.locator('[data-testid="presence-status"][data-available="false"]').waitFor({ timeout: 15_000 });
      await setSwitch(teacher, 'tutor-available', true);
      await teacher.getByTestId('offer-dialog').waitFor({ timeout: 20_000 });
      await teacher.getByTestId('offer-accept').click();
      for (const page of [teacher, student]) await page.locator('[data-testid="tutor-session"][data-status="live"]').waitFor({ timeout: 30_000 });
      await waitFor('the student’s video on the teacher’s page', () => teacher.getByTestId('peer-video').evaluate((v) => v.videoWidth > 0), { timeoutMs: 30_000 });
      await student.getByTestId('tutor-session').getByTestId('chat-input').fill('老师好，我卡在移项这一步。');
      await student.getByTestId('tutor-session').getByTestId('chat-send').click();
      await teacher.getByTestId('chat-message').first().waitFor({ timeout: 15_000 });
      await shoot(teacher, 'tutoring-room');

      // The student ends the session and rates it (a dialog, then a message).
      await student.getByTestId('tutor-end').click();
      await student.getByTestId('end-dialog').getByTestId('confirm-yes').click();
      const rating = student.getByTestId('rating-dialog');
      await rating.waitFor({ timeout: 15_000 });
      await rating.locator('label.star').nth(3).click();
      await rating.getByTestId('rating-comment').fill('讲得很清楚，谢谢老师！');
      await shoot(student, 'tutoring-rating');
      await rating.getByTestId('rating-submit').click();
      await rating.waitFor({ state: 'detached', timeout: 10_000 });
      await student.locator('.el-message').first().waitFor({ timeout: 5_000 });
      await teacher.getByTestId('note-dialog').waitFor({ timeout: 20_000 });
    }));

    await t.test('no page broke the Content-Security-Policy', () => h.run(closeAll));
  } finally {
    await h?.close();
    await proxy.close();
  }
});
