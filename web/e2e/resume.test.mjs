// A student's network path is cut for 5 s and restored: the student's page
// resumes the same session (reconnect=1&sid=…, an ICE restart) and the
// teacher never sees the student leave. Once on /rtc/v1 (one
// PeerConnection, what the SDK uses first) and once on /rtc (two, for
// older clients: the student's relay answers /rtc/v1 with 404 as an older
// server would, and the SDK falls back).
//
// The student reaches the server only through userspace relays: a TCP relay
// for the page and its signaling, and a UDP relay for media (the server
// advertises the relay's address, 127.0.0.2, as its media address; the
// pages keep their own ICE candidates to themselves and ignore any server
// address but that one, so the relay is the only path). Cutting the relays is the network going away.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { Harness, joinViaUI, screenshotDir, uniqueRoom, waitFor } from './lib/harness.mjs';
import { TcpRelay, UdpRelay, freeUdpPort, hideLocalCandidates, onlyRemoteAddress } from './lib/relay.mjs';

/** videoBytes is what the page has received of remote video so far. */
function videoBytes(page) {
  return page.evaluate(async () => {
    let bytes = 0;
    for (const p of window.yunke.room.remoteParticipants.values()) {
      for (const pub of p.videoTrackPublications.values()) {
        const report = await pub.track?.receiver?.getStats();
        report?.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') bytes += s.bytesReceived ?? 0;
        });
      }
    }
    return bytes;
  });
}

for (const path of ['/rtc/v1', '/rtc']) {
test(`a student whose network drops for 5 s resumes as the same participant (${path})`, { timeout: 150_000 }, async () => {
  const mediaPort = await freeUdpPort('127.0.0.2');
  const h = await Harness.start({ args: ['--udp-port', String(mediaPort), '--node-ip', '127.0.0.2'] });
  const udp = await UdpRelay.start('127.0.0.2', mediaPort, '127.0.0.1', mediaPort);
  const tcp = await TcpRelay.start(Number(new URL(h.server.url).port), { noV1: path === '/rtc' });
  try {
    await h.run(async () => {
      const room = uniqueRoom('resume');
      const teacher = await h.newPage('teacher');
      await teacher.addInitScript(hideLocalCandidates);
      await teacher.addInitScript(onlyRemoteAddress, '127.0.0.2');
      await joinViaUI(teacher, h.server.url, { name: 'Resume Teacher', role: 'teacher', room });
      await waitFor('the teacher to publish', () => teacher.evaluate(() => window.yunke.room.localParticipant.trackPublications.size >= 1));
      await waitFor('the teacher media through the relay', () => udp.clients().length >= 1);
      const teacherFlows = new Set(udp.clients());
      await teacher.evaluate(() => {
        window.gone = [];
        window.yunke.room.on('participantDisconnected', (p) => window.gone.push(p.identity));
      });

      const student = await h.newPage('student');
      if (path === '/rtc') {
        await student.route(/\/rtc\/v1\/validate/, (route) =>
          route.fulfill({ status: 404, body: 'not found', headers: { 'access-control-allow-origin': '*' } }));
      }
      await student.addInitScript(hideLocalCandidates);
      await student.addInitScript(onlyRemoteAddress, '127.0.0.2');
      const sockets = [];
      student.on('websocket', (ws) => sockets.push(ws.url()));
      await joinViaUI(student, tcp.url, { name: 'Resume Student', role: 'student', room });
      const before = await student.evaluate(() => {
        const r = window.yunke.room;
        window.events = [];
        for (const e of ['reconnecting', 'reconnected', 'signalReconnecting', 'disconnected']) r.on(e, () => window.events.push(e));
        return { sid: r.localParticipant.sid, identity: r.localParticipant.identity };
      });
      await waitFor('the student to receive the teacher video', async () => (await videoBytes(student)) > 20_000);
      const teacherSees = await waitFor('the teacher to see the student', () =>
        teacher.evaluate((id) => window.yunke.room.getParticipantByIdentity(id)?.sid, before.identity));
      assert.equal(teacherSees, before.sid);

      // The cut: the student's signaling connections die, its media vanishes.
      tcp.cut();
      udp.cut((client) => !teacherFlows.has(client));
      await delay(5000);
      const lostDuringCut = udp.dropped;
      console.log(`the relay dropped ${lostDuringCut} of the student's datagrams during the cut`);
      tcp.restore();
      udp.restore();

      await waitFor('the student to resume', () => student.evaluate(() => window.events.includes('reconnected') && window.yunke.room.state === 'connected'),
        { timeoutMs: 45_000, intervalMs: 250 });
      const after = await student.evaluate(() => ({ sid: window.yunke.room.localParticipant.sid, events: window.events }));
      assert.equal(after.sid, before.sid, 'the student came back as another participant (a full rejoin, not a resume)');
      assert.ok(after.events.includes('signalReconnecting') || after.events.includes('reconnecting'), `the student page never noticed the cut: ${after.events}`);
      assert.ok(!after.events.includes('disconnected'), `the student page was disconnected: ${after.events}`);
      assert.ok(lostDuringCut > 0, 'the relay dropped nothing during the cut: media did not go through it');
      const resumes = sockets.filter((u) => new URL(u).pathname === path).slice(1);
      assert.ok(resumes.length > 0, `no resume on ${path} among the student's sockets: ${sockets.map((u) => u.replace(/\?.*/, '')).join(', ')}`);
      if (path === '/rtc') assert.ok(resumes.some((u) => /[?&]reconnect=1/.test(u) && u.includes(`sid=${before.sid}`)), 'the /rtc resume names no sid');

      // Media flows again on the restarted ICE path.
      const bytes = await videoBytes(student);
      await waitFor('video to flow again after the resume', async () => (await videoBytes(student)) > bytes + 20_000, { timeoutMs: 30_000 });
      const gone = await teacher.evaluate(() => window.gone);
      assert.deepEqual(gone, [], 'the teacher saw the student leave');
      assert.equal(await teacher.evaluate((id) => window.yunke.room.getParticipantByIdentity(id)?.sid, before.identity), before.sid);
      await student.screenshot({ path: join(screenshotDir, `yunke-resume-student${path.replaceAll('/', '-')}.png`) });
    });
  } finally {
    await tcp.close();
    udp.close();
    await h.close();
  }
});
}
