// The browser publishes simulcast (three layers) by default. A student who
// asks for low quality is switched to the low layer and back, and the
// stream keeps decoding across both switches: layers change on keyframes.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Harness, joinViaUI, uniqueRoom, waitFor } from './lib/harness.mjs';

/** videoIn reads the student's inbound video: frames decoded and frame width. */
function videoIn(page) {
  return page.evaluate(async () => {
    const out = { framesDecoded: 0, frameWidth: 0 };
    for (const p of window.yunke.room.remoteParticipants.values()) {
      for (const pub of p.videoTrackPublications.values()) {
        const report = await pub.track?.receiver?.getStats();
        report?.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') {
            out.framesDecoded += s.framesDecoded ?? 0;
            out.frameWidth = s.frameWidth ?? 0;
          }
        });
      }
    }
    return out;
  });
}

/** setQuality asks for a simulcast layer of every remote camera (0 low … 2 high). */
function setQuality(page, q) {
  return page.evaluate((quality) => {
    for (const p of window.yunke.room.remoteParticipants.values()) {
      for (const pub of p.videoTrackPublications.values()) pub.setVideoQuality(quality);
    }
  }, q);
}

test('simulcast layers switch without breaking the stream', { timeout: 150_000 }, async () => {
  const h = await Harness.start();
  try {
    await h.run(async () => {
      const room = uniqueRoom('simulcast');
      const teacher = await h.newPage('teacher');
      await joinViaUI(teacher, h.server.url, { name: 'Teacher', role: 'teacher', room });
      const student = await h.newPage('student');
      await joinViaUI(student, h.server.url, { name: 'Student', role: 'student', room });

      // The publisher ramps up to its top layer; the student ends up on it.
      const high = await waitFor('the student to decode the top layer', async () => {
        const v = await videoIn(student);
        return v.framesDecoded >= 30 && v.frameWidth >= 1280 ? v : { ok: false, ...v };
      }, { timeoutMs: 60_000, intervalMs: 500 });

      await setQuality(student, 0);
      const low = await waitFor('the switch to the low layer', async () => {
        const v = await videoIn(student);
        return v.frameWidth > 0 && v.frameWidth <= 320 ? v : { ok: false, ...v };
      }, { timeoutMs: 30_000, intervalMs: 250 });
      assert.ok(low.framesDecoded > high.framesDecoded);
      await waitFor('decoding to go on at the low layer', async () => {
        const v = await videoIn(student);
        return v.framesDecoded >= low.framesDecoded + 30 && v.frameWidth <= 320 ? v : { ok: false, ...v };
      }, { timeoutMs: 30_000, intervalMs: 250 });

      await setQuality(student, 2);
      const back = await waitFor('the switch back to the top layer', async () => {
        const v = await videoIn(student);
        return v.frameWidth >= 1280 ? v : { ok: false, ...v };
      }, { timeoutMs: 30_000, intervalMs: 250 });
      await waitFor('decoding to go on at the top layer', async () => {
        const v = await videoIn(student);
        return v.framesDecoded >= back.framesDecoded + 30 ? v : { ok: false, ...v };
      }, { timeoutMs: 30_000, intervalMs: 250 });
    });
  } finally {
    await h.close();
  }
});
