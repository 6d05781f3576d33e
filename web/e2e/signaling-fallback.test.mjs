// The unmodified livekit-client first tries the /rtc/v1 signaling path (one
// PeerConnection, the join request in the join_request parameter): the
// server serves it, so the join succeeds there at once — no failed round
// trip, no /rtc/v1/validate probe, no fallback to /rtc, no warning that the
// server is outdated.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Harness, joinViaUI, uniqueRoom } from './lib/harness.mjs';

test('the SDK joins on /rtc/v1 at the first try', { timeout: 90_000 }, async () => {
  const h = await Harness.start();
  try {
    await h.run(async () => {
      const page = await h.newPage('teacher');
      /** Everything signaling-related, in the order the browser did it. */
      const events = [];
      const warnings = [];
      page.on('websocket', (ws) => events.push({ kind: 'websocket', path: new URL(ws.url()).pathname, url: ws.url() }));
      page.on('response', (resp) => {
        const url = new URL(resp.url());
        if (url.pathname.startsWith('/rtc')) events.push({ kind: 'http', method: resp.request().method(), path: url.pathname, status: resp.status() });
      });
      page.on('requestfailed', (req) => {
        const url = new URL(req.url());
        if (url.pathname.startsWith('/rtc')) events.push({ kind: 'http-failed', method: req.method(), path: url.pathname, error: req.failure()?.errorText });
      });
      page.on('console', (msg) => {
        if (/upgrading your LiveKit server|v1 RTC path not found|Initial connection failed/i.test(msg.text())) warnings.push(msg.text());
      });

      await joinViaUI(page, h.server.url, { name: 'V1 Teacher', role: 'teacher', room: uniqueRoom('v1') });
      const trace = JSON.stringify(events.map(({ url, ...e }) => e), null, 1);

      const sockets = events.filter((e) => e.kind === 'websocket');
      assert.equal(sockets.length, 1, `want one signaling websocket; saw ${trace}`);
      assert.equal(sockets[0].path, '/rtc/v1');
      const u = new URL(sockets[0].url);
      assert.ok(u.searchParams.get('access_token'), 'the /rtc/v1 websocket carries the access token');
      assert.ok(u.searchParams.get('join_request'), 'the /rtc/v1 websocket carries the join request');
      assert.ok(!events.some((e) => e.path.endsWith('/validate')), `the SDK probed /validate, so its join failed once; saw ${trace}`);
      assert.deepEqual(warnings, [], 'the SDK warned that the server is outdated');

      // One PeerConnection carries both directions, and the session is live.
      const state = await page.evaluate(() => ({
        state: window.yunke.room.state,
        mode: window.yunke.room.engine.pcManager?.mode,
        published: window.yunke.room.localParticipant.trackPublications.size,
      }));
      assert.equal(state.state, 'connected');
      assert.equal(state.mode, 'publisher-only', 'the SDK did not use a single PeerConnection');
      console.log(`signaling sequence: ${events.map((e) => `${e.kind === 'websocket' ? 'WS' : e.method} ${e.path}${e.status ? ` ${e.status}` : ''}`).join(' -> ')}`);
    });
  } finally {
    await h.close();
  }
});
