// Yunke's webhooks are LiveKit's: livekit-server-sdk's WebhookReceiver
// verifies each delivery (the JWT signed with the API secret, the body's
// sha256) and parses it, for a room that LiveKit's native SDK joins,
// publishes in, and leaves.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { AudioFrame, AudioSource, LocalAudioTrack, Room, TrackPublishOptions, TrackSource, dispose } from '@livekit/rtc-node';
import { AccessToken, WebhookReceiver } from 'livekit-server-sdk';

import { startServer, uniqueRoom, waitFor } from './lib/harness.mjs';

test('webhooks verify with livekit-server-sdk WebhookReceiver', { timeout: 90_000 }, async () => {
  const receiver = new WebhookReceiver('devkey', 'secret');
  const events = [];
  const problems = [];
  const hooks = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        if (req.headers['content-type'] !== 'application/webhook+json') problems.push(`content type ${req.headers['content-type']}`);
        const ev = await receiver.receive(Buffer.concat(chunks).toString('utf8'), req.headers.authorization);
        if (!events.some((e) => e.id === ev.id)) events.push(ev);
        res.writeHead(200).end();
      } catch (err) {
        problems.push(String(err));
        res.writeHead(401).end();
      }
    });
  });
  await new Promise((res) => hooks.listen(0, '127.0.0.1', res));
  const hookURL = `http://127.0.0.1:${hooks.address().port}/hooks`;

  // A delivery signed with another secret is refused by the receiver.
  await assert.rejects(new WebhookReceiver('devkey', 'another-secret').receive('{}', await new AccessToken('devkey', 'secret').toJwt()));

  const server = await startServer({ env: { YUNKE_WEBHOOK_URLS: hookURL } });
  const room = uniqueRoom('hooks');
  const lk = new Room();
  try {
    const at = new AccessToken('devkey', 'secret', { identity: 'hook-teacher', name: 'Hook Teacher', ttl: '10m' });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    await lk.connect(server.url.replace(/^http/, 'ws'), await at.toJwt(), { autoSubscribe: false });
    const source = new AudioSource(48000, 1);
    const options = new TrackPublishOptions();
    options.source = TrackSource.SOURCE_MICROPHONE;
    await lk.localParticipant.publishTrack(LocalAudioTrack.createAudioTrack('mic', source), options);
    await source.captureFrame(new AudioFrame(new Int16Array(480), 48000, 1, 480));
    await waitFor('track_published', () => events.some((e) => e.event === 'track_published'));
    await lk.disconnect();
    await waitFor('participant_left', () => events.some((e) => e.event === 'participant_left'));

    assert.deepEqual(problems, []);
    const kinds = events.map((e) => e.event);
    for (const k of ['room_started', 'participant_joined', 'track_published', 'participant_left']) {
      assert.ok(kinds.includes(k), `no ${k} among ${kinds.join(', ')}`);
    }
    const started = events.find((e) => e.event === 'room_started');
    assert.equal(started.room.name, room);
    assert.match(started.room.sid, /^RM_/);
    const joined = events.find((e) => e.event === 'participant_joined');
    assert.equal(joined.participant.identity, 'hook-teacher');
    assert.equal(joined.room.sid, started.room.sid);
    const published = events.find((e) => e.event === 'track_published');
    assert.equal(published.track.source, 2 /* MICROPHONE */);
    assert.match(published.track.sid, /^TR_/);
    assert.equal(new Set(events.map((e) => e.id)).size, events.length);
    for (const e of events) {
      assert.match(e.id, /^EV_/);
      assert.ok(Number(e.createdAt) > Date.now() / 1000 - 120, `created_at ${e.createdAt}`);
    }
  } finally {
    await lk.disconnect().catch(() => {});
    await server.stop();
    await new Promise((res) => hooks.close(res));
    await dispose();
  }
});
