// A student on a network that lets no UDP out (only TCP) still joins: the
// join response hands out the embedded TURN server with a short-lived
// credential, and the student's media is relayed over TURN on TCP.
//
// The block: the student's page may only use relayed candidates
// (iceTransportPolicy "relay") and only TURN over TCP, so no UDP of its
// own reaches the media port.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { Harness, joinViaUI, screenshotDir, uniqueRoom, waitFor } from './lib/harness.mjs';

/** onlyTurnOverTCP makes every PeerConnection of the page relay-only, through TURN over TCP. */
function onlyTurnOverTCP() {
  const Native = window.RTCPeerConnection;
  const fix = (cfg = {}) => ({
    ...cfg,
    iceTransportPolicy: 'relay',
    iceServers: (cfg.iceServers ?? [])
      .map((s) => ({ ...s, urls: [].concat(s.urls).filter((u) => /^turns?:.*transport=tcp/.test(u)) }))
      .filter((s) => s.urls.length > 0),
  });
  function PC(cfg, ...rest) {
    return new Native(fix(cfg), ...rest);
  }
  PC.prototype = Native.prototype;
  Object.setPrototypeOf(PC, Native);
  const setConfiguration = Native.prototype.setConfiguration;
  Native.prototype.setConfiguration = function (cfg) {
    return setConfiguration.call(this, fix(cfg));
  };
  window.RTCPeerConnection = PC;
}

/** mediaPath is the student's inbound video bytes and the local candidate of its selected pair. */
function mediaPath(page) {
  return page.evaluate(async () => {
    const out = { bytes: 0, local: null };
    for (const p of window.yunke.room.remoteParticipants.values()) {
      for (const pub of p.videoTrackPublications.values()) {
        const report = await pub.track?.receiver?.getStats();
        if (!report) continue;
        let pair;
        report.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') out.bytes += s.bytesReceived ?? 0;
          if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
        });
        if (pair) {
          const l = report.get(pair.localCandidateId);
          out.local = { type: l?.candidateType, relayProtocol: l?.relayProtocol, url: l?.url };
        }
      }
    }
    return out;
  });
}

test('a student whose network blocks UDP connects through TURN over TCP', { timeout: 120_000 }, async () => {
  const h = await Harness.start({
    env: { YUNKE_CONFIG_BODY: 'rtc:\n  turn:\n    enabled: true\n    udp_port: 0\n    tcp_port: 0\n' },
  });
  try {
    await h.run(async () => {
      const room = uniqueRoom('turn');
      const teacher = await h.newPage('teacher');
      await joinViaUI(teacher, h.server.url, { name: 'TURN Teacher', role: 'teacher', room });

      const student = await h.newPage('student');
      await student.addInitScript(onlyTurnOverTCP);
      await joinViaUI(student, h.server.url, { name: 'TURN Student', role: 'student', room });
      const path = await waitFor('the student to receive video', async () => {
        const m = await mediaPath(student);
        return m.bytes > 20_000 && m.local ? m : { ok: false, ...m };
      }, { timeoutMs: 45_000 });
      assert.equal(path.local.type, 'relay', `the student's media did not go through TURN: ${JSON.stringify(path.local)}`);
      assert.equal(path.local.relayProtocol, 'tcp', `the student reached TURN over ${path.local.relayProtocol}, not TCP`);
      assert.match(path.local.url ?? '', /^turn:.*transport=tcp/);
      console.log(`student media through ${path.local.url} (${path.local.relayProtocol})`);
      assert.match(h.server.stdout.text(), /TURN:\s+tcp /, 'the banner names no TURN over TCP');
      await student.screenshot({ path: join(screenshotDir, 'yunke-turn-student.png') });
    });
  } finally {
    await h.close();
  }
});
