// The unmodified livekit-client first tries the /rtc/v1 signaling path; the
// server does not offer it, answers /rtc/v1/validate with 404, and the SDK
// falls back to /rtc, where the join succeeds.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Harness, joinViaUI, uniqueRoom } from './lib/harness.mjs';

test('the SDK falls back from /rtc/v1 to /rtc', { timeout: 90_000 }, async () => {
  const h = await Harness.start();
  try {
    await h.run(async () => {
      const page = await h.newPage('teacher');
      /** Everything signaling-related, in the order the browser did it. */
      const events = [];
      page.on('websocket', (ws) => events.push({ kind: 'websocket', path: new URL(ws.url()).pathname, url: ws.url() }));
      page.on('response', (resp) => {
        const url = new URL(resp.url());
        if (url.pathname.startsWith('/rtc')) events.push({ kind: 'http', method: resp.request().method(), path: url.pathname, status: resp.status() });
      });
      page.on('requestfailed', (req) => {
        const url = new URL(req.url());
        if (url.pathname.startsWith('/rtc')) events.push({ kind: 'http-failed', method: req.method(), path: url.pathname, error: req.failure()?.errorText });
      });

      await joinViaUI(page, h.server.url, { name: 'Fallback Teacher', role: 'teacher', room: uniqueRoom('fallback') });
      const trace = JSON.stringify(events, null, 1);

      const v1 = events.findIndex((e) => e.kind === 'websocket' && e.path === '/rtc/v1');
      assert.ok(v1 >= 0, `the SDK never tried the /rtc/v1 websocket; saw ${trace}`);

      const validate = events.findIndex((e) => e.path === '/rtc/v1/validate');
      assert.ok(validate > v1, `no /rtc/v1/validate request after the /rtc/v1 attempt; saw ${trace}`);
      const v = events[validate];
      assert.equal(v.kind, 'http', `/rtc/v1/validate failed without an HTTP answer (${v.error}); the SDK then reports the server unreachable`);
      assert.equal(v.method, 'GET');
      assert.equal(v.status, 404, `/rtc/v1/validate answered ${v.status}, want 404`);

      const v0 = events.findIndex((e, i) => i > validate && e.kind === 'websocket' && e.path === '/rtc');
      assert.ok(v0 > validate, `the SDK did not fall back to the /rtc websocket after the 404; saw ${trace}`);
      assert.match(events[v0].url, /[?&]access_token=/, 'the /rtc websocket carries the access token');

      // The fallback connection is the live one.
      const state = await page.evaluate(() => window.yunke.room.state);
      assert.equal(state, 'connected');
      console.log(`signaling sequence: ${events.map((e) => `${e.kind === 'websocket' ? 'WS' : e.method} ${e.path}${e.status ? ` ${e.status}` : ''}`).join(' -> ')}`);
    });
  } finally {
    await h.close();
  }
});
