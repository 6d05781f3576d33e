// A teacher and a student join one class through the UI: the student sees
// and hears the teacher and reads the teacher's chat message.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { Harness, joinViaUI, screenshotDir, uniqueRoom, waitFor } from './lib/harness.mjs';

/** inboundStats sums the inbound-rtp stats of every subscribed remote track on the page. */
async function inboundStats(page) {
  return page.evaluate(async () => {
    const room = window.yunke?.room;
    const out = {
      video: { framesDecoded: 0, packetsReceived: 0, frameWidth: 0 },
      audio: { packetsReceived: 0, totalAudioEnergy: 0, audioLevel: 0 },
    };
    if (!room) return out;
    for (const p of room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) {
        const receiver = pub.track?.receiver;
        if (!receiver) continue;
        const report = await receiver.getStats();
        report.forEach((s) => {
          if (s.type !== 'inbound-rtp') return;
          if (s.kind === 'video') {
            out.video.framesDecoded += s.framesDecoded ?? 0;
            out.video.packetsReceived += s.packetsReceived ?? 0;
            out.video.frameWidth = Math.max(out.video.frameWidth, s.frameWidth ?? 0);
          } else if (s.kind === 'audio') {
            out.audio.packetsReceived += s.packetsReceived ?? 0;
            out.audio.totalAudioEnergy += s.totalAudioEnergy ?? 0;
            out.audio.audioLevel = Math.max(out.audio.audioLevel, s.audioLevel ?? 0);
          }
        });
      }
    }
    return out;
  });
}

test('a student sees, hears and reads the teacher', { timeout: 150_000 }, async () => {
  const h = await Harness.start();
  try {
    await h.run(async () => {
      const room = uniqueRoom('class');
      const teacherName = '王老师';
      const studentName = '小明';

      const teacher = await h.newPage('teacher');
      await joinViaUI(teacher, h.server.url, { name: teacherName, role: 'teacher', room });

      // The teacher publishes camera and microphone and sees the own preview.
      await waitFor(
        'the teacher to publish camera and microphone',
        () => teacher.evaluate(() => {
          const lp = window.yunke.room.localParticipant;
          return lp.isCameraEnabled && lp.isMicrophoneEnabled;
        }),
        { timeoutMs: 30_000 },
      );
      await waitFor('the teacher preview to render', () =>
        teacher.locator('[data-testid="tile"].local[data-source="camera"] video').evaluate((v) => v.videoWidth > 0),
      );

      // The speaking indicator lights up for the teacher's own (beeping fake) microphone.
      await teacher.locator('[data-testid="tile"].local.speaking').waitFor({ timeout: 15_000 });

      const student = await h.newPage('student');
      await joinViaUI(student, h.server.url, { name: studentName, role: 'student', room });

      // Student: the teacher's tile appears, labelled with the teacher's name.
      const tile = student.locator('[data-testid="tile"][data-source="camera"]').filter({ hasText: teacherName });
      await tile.waitFor({ timeout: 30_000 });
      await assert.doesNotReject(
        student.getByTestId('participant-list').getByText(teacherName).waitFor({ timeout: 10_000 }),
        'student participant list names the teacher',
      );
      await assert.doesNotReject(
        teacher.getByTestId('participant-list').getByText(studentName).waitFor({ timeout: 15_000 }),
        'teacher participant list names the student',
      );

      // Video: at least 30 decoded frames of the teacher's camera.
      const video = await waitFor(
        'the student to decode 30 frames of the teacher camera',
        async () => {
          const s = await inboundStats(student);
          return s.video.framesDecoded >= 30 ? s : { ok: false, ...s };
        },
        { timeoutMs: 45_000, intervalMs: 500 },
      );
      console.log(`student video: ${JSON.stringify(video.video)}`);
      await waitFor('the teacher tile on the student page to show video', () => tile.locator('video').evaluate((v) => v.videoWidth > 0 && !v.paused));

      // Audio: packets arrive, attached to an <audio> element, and carry sound.
      const audio = await waitFor(
        'the student to receive non-silent audio from the teacher',
        async () => {
          const s = await inboundStats(student);
          return s.audio.packetsReceived > 0 && s.audio.totalAudioEnergy > 0 ? s : { ok: false, ...s };
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      console.log(`student audio: ${JSON.stringify(audio.audio)}`);
      const audioElements = await student.locator('#audio-sink audio').count();
      assert.ok(audioElements >= 1, `expected the teacher's audio attached to an <audio> element, found ${audioElements}`);
      const canPlay = await student.evaluate(() => window.yunke.room.canPlaybackAudio);
      assert.equal(canPlay, true, 'audio playback allowed (no "enable audio" prompt needed with the autoplay flag)');

      // Chat: the teacher types a message in the UI; the student's panel shows it.
      const text = `同学们好！今天学习分数 ${Date.now() % 100000}`;
      await teacher.getByTestId('chat-input').fill(text);
      await teacher.getByTestId('chat-send').click();
      await teacher.getByTestId('chat-message').filter({ hasText: text }).waitFor({ timeout: 10_000 });
      const received = student.getByTestId('chat-message').filter({ hasText: text });
      await received.waitFor({ timeout: 15_000 });
      assert.equal((await received.getByTestId('chat-sender').innerText()).trim(), teacherName);
      assert.equal(await teacher.getByTestId('chat-input').inputValue(), '', 'chat input cleared after sending');

      // Students cannot publish: no media controls on the student page.
      assert.equal(await student.getByTestId('toggle-camera').isVisible(), false, 'student has no camera control');
      assert.equal(await teacher.getByTestId('toggle-camera').isVisible(), true, 'teacher has a camera control');

      await teacher.screenshot({ path: join(screenshotDir, 'yunke-teacher.png') });
      await student.screenshot({ path: join(screenshotDir, 'yunke-student.png') });
      await student.setViewportSize({ width: 390, height: 844 });
      await student.screenshot({ path: join(screenshotDir, 'yunke-student-narrow.png'), fullPage: true });
      await student.setViewportSize({ width: 1280, height: 800 });

      // The teacher mutes the microphone: the student's UI shows it.
      await teacher.getByTestId('toggle-mic').click();
      await waitFor('the teacher mic to be muted', () => teacher.evaluate(() => !window.yunke.room.localParticipant.isMicrophoneEnabled));
      await tile.locator('.tile-mic-off').waitFor({ state: 'visible', timeout: 15_000 });

      // Leaving returns to the join page and the teacher sees the student go.
      await student.getByTestId('leave').click();
      await student.getByTestId('join-submit').waitFor({ timeout: 10_000 });
      await waitFor('the student to leave the teacher list', async () => (await teacher.getByTestId('participant').filter({ hasText: studentName }).count()) === 0, {
        timeoutMs: 20_000,
      });
    });
  } finally {
    await h.close();
  }
});
