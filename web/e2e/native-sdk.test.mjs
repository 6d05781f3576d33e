// LiveKit's native SDK (@livekit/rtc-node, the Rust engine behind the
// mobile and desktop SDKs) and its server SDK (livekit-server-sdk) work
// against Yunke unmodified: tokens, join, publish, subscribe, data, and the
// RoomService API.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AudioFrame, AudioSource, AudioStream, LocalAudioTrack, Room, RoomEvent, TrackPublishOptions, TrackSource, dispose } from '@livekit/rtc-node';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';

import { startServer, uniqueRoom, waitFor } from './lib/harness.mjs';

async function token(room, identity, canPublish) {
  const at = new AccessToken('devkey', 'secret', { identity, name: identity, ttl: '10m' });
  at.addGrant({ roomJoin: true, room, canPublish, canSubscribe: true, canPublishData: true });
  return at.toJwt();
}

test('the native LiveKit SDK and server SDK work against Yunke', { timeout: 90_000 }, async () => {
  const server = await startServer();
  const wsURL = server.url.replace(/^http/, 'ws');
  const room = uniqueRoom('native');
  const teacher = new Room();
  const student = new Room();
  try {
    let frames = 0;
    let loud = false;
    let chat = null;
    student.on(RoomEvent.TrackSubscribed, async (track) => {
      for await (const f of new AudioStream(track)) {
        frames++;
        if (f.data.some((s) => Math.abs(s) > 1000)) loud = true;
        if (frames > 50) break;
      }
    });
    student.on(RoomEvent.DataReceived, (payload, participant) => {
      chat = { text: new TextDecoder().decode(payload), from: participant?.identity };
    });

    await teacher.connect(wsURL, await token(room, 'native-teacher', true), { autoSubscribe: true });
    await student.connect(wsURL, await token(room, 'native-student', false), { autoSubscribe: true });
    assert.ok(student.remoteParticipants.has('native-teacher'), 'the student does not see the teacher');

    const source = new AudioSource(48000, 1);
    const options = new TrackPublishOptions();
    options.source = TrackSource.SOURCE_MICROPHONE;
    await teacher.localParticipant.publishTrack(LocalAudioTrack.createAudioTrack('mic', source), options);

    // A 440 Hz tone in 10 ms frames until the student has heard enough.
    const samples = new Int16Array(480);
    let phase = 0;
    const started = Date.now();
    while (frames <= 50 && Date.now() - started < 20_000) {
      for (let i = 0; i < samples.length; i++, phase++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * phase) / 48000));
      await source.captureFrame(new AudioFrame(samples, 48000, 1, samples.length));
    }
    assert.ok(frames > 50, `the student received ${frames} audio frames`);
    assert.ok(loud, 'the student received only silence');

    await teacher.localParticipant.publishData(new TextEncoder().encode('你好'), { reliable: true });
    await waitFor('the data packet', () => chat !== null);
    assert.deepEqual(chat, { text: '你好', from: 'native-teacher' });

    const api = new RoomServiceClient(server.url, 'devkey', 'secret');
    const rooms = await api.listRooms([room]);
    assert.equal(rooms.length, 1);
    assert.equal(rooms[0].numParticipants, 2);
    const people = (await api.listParticipants(room)).map((p) => p.identity).sort();
    assert.deepEqual(people, ['native-student', 'native-teacher']);
  } finally {
    await teacher.disconnect().catch(() => {});
    await student.disconnect().catch(() => {});
    await dispose();
    await server.stop();
  }
});
