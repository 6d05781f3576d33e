// Failures reach the user as clear messages: a field error from the server,
// a rejected token, an unreachable server. Also checks the language switch.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';

import { Harness, submitJoin, uniqueRoom } from './lib/harness.mjs';

const joinApi = '**/api/v1/dev/join';

/** closedPort returns a loopback port that nothing listens on (just released by the OS). */
async function closedPort() {
  const srv = createServer();
  await new Promise((res) => srv.listen(0, '127.0.0.1', res));
  const { port } = srv.address();
  await new Promise((res) => srv.close(res));
  return port;
}

async function errorBanner(page) {
  const banner = page.getByTestId('banner-error').first();
  await banner.waitFor({ timeout: 30_000 });
  return { code: await banner.getAttribute('data-code'), text: (await banner.innerText()).trim() };
}

test('join errors are shown in the UI', { timeout: 120_000 }, async (t) => {
  const h = await Harness.start();
  try {
    await t.test('an empty name shows the server field error', () => h.run(async () => {
      const page = await h.newPage('empty-name');
      const answers = [];
      page.on('response', (r) => {
        if (r.url().endsWith('/api/v1/dev/join')) answers.push(r);
      });
      await submitJoin(page, h.server.url, { name: '', role: 'student', room: uniqueRoom('errors') });
      const fieldError = page.getByTestId('field-error-name');
      await fieldError.waitFor({ state: 'visible', timeout: 15_000 });
      const text = (await fieldError.innerText()).trim();
      assert.ok(text.length > 0, 'the name field error has text');
      assert.equal(answers.length, 1, 'the join request reached the server');
      const status = answers[0].status();
      assert.ok(status >= 400 && status < 500, `server answered ${status}, want 4xx`);
      const body = await answers[0].json();
      assert.equal(typeof body?.error?.fields?.name, 'string', `server error names the field: ${JSON.stringify(body)}`);
      const serverText = body.error.fields.name;
      assert.ok(text === serverText || (/^(required|missing|empty)$/i.test(serverText) && text === '请填写姓名'), `the UI shows the server message "${serverText}" (or its translation) next to the field, got "${text}"`);
      await errorBanner(page);
      assert.equal(await page.getByTestId('room-view').isVisible(), false, 'stays on the join page');
      assert.equal(await page.getByTestId('join-name').getAttribute('aria-invalid'), 'true');
      console.log(`empty name: HTTP ${status}, field error "${text}"`);
    }));

    await t.test('a tampered token is rejected with a clear message', () => h.run(async () => {
      const page = await h.newPage('bad-token');
      await page.route(joinApi, async (route) => {
        const resp = await route.fetch();
        const grant = await resp.json();
        // Break the signature: the server must refuse this token.
        const token = typeof grant.token === 'string' ? `${grant.token.slice(0, -4)}AAAA` : 'invalid';
        await route.fulfill({ response: resp, json: { ...grant, token } });
      });
      await submitJoin(page, h.server.url, { name: 'Mallory', role: 'teacher', room: uniqueRoom('errors') });
      const { code, text } = await errorBanner(page);
      console.log(`bad token: [${code}] ${text}`);
      assert.equal(code, 'auth', `expected the token-rejected message, got [${code}] ${text}`);
      assert.equal(await page.getByTestId('room-view').isVisible(), false, 'stays on the join page');
      assert.equal(await page.evaluate(() => window.yunke.room), null, 'no room left behind');
    }));

    await t.test('an unreachable signaling server is reported', () => h.run(async () => {
      const page = await h.newPage('no-signal');
      const port = await closedPort();
      await page.route(joinApi, async (route) => {
        const resp = await route.fetch();
        const grant = await resp.json();
        await route.fulfill({ response: resp, json: { ...grant, url: `ws://127.0.0.1:${port}` } });
      });
      await submitJoin(page, h.server.url, { name: 'Nobody', role: 'student', room: uniqueRoom('errors') });
      const { code, text } = await errorBanner(page);
      console.log(`no signaling server: [${code}] ${text}`);
      assert.equal(code, 'unreachable', `expected the unreachable message, got [${code}] ${text}`);
    }));

    await t.test('an unreachable API is reported', () => h.run(async () => {
      const page = await h.newPage('no-api');
      await page.route(joinApi, (route) => route.abort('connectionrefused'));
      await submitJoin(page, h.server.url, { name: 'Nobody', role: 'student', room: 'demo' });
      const { code, text } = await errorBanner(page);
      assert.equal(code, 'unreachable', `got [${code}] ${text}`);
      assert.match(text, /无法连接到服务器/);
    }));

    await t.test('the language switch translates the page and is remembered', () => h.run(async () => {
      const page = await h.newPage('language');
      await page.goto(`${h.server.url}/#/dev-join`);
      await page.locator('body[data-ready="true"]').waitFor();
      assert.equal((await page.getByTestId('join-submit').innerText()).trim(), '进入课堂');
      await page.getByTestId('lang-toggle').click();
      assert.equal((await page.getByTestId('join-submit').innerText()).trim(), 'Join class');
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
      await page.reload();
      await page.locator('body[data-ready="true"]').waitFor();
      assert.equal((await page.getByTestId('join-submit').innerText()).trim(), 'Join class');
    }));
  } finally {
    await h.close();
  }
});
