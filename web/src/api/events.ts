// The event socket (GET /api/v1/ws, docs/api.md): one per tab while signed
// in. It sends a heartbeat every 5 s, reconnects with backoff when it closes
// and hands every server event to the handlers registered for its type. The
// server re-sends the current state after every (re)connect, so handlers
// treat events as the latest state, not as a log.

import { ref } from 'vue';

import { api } from './http';

/** One server → client event: {"type": ..., ...fields}. */
export interface ServerEvent {
  type: string;
  [field: string]: unknown;
}

type Handler = (ev: ServerEvent) => void;

const heartbeatMs = 5_000;
const backoffMinMs = 1_000;
const backoffMaxMs = 15_000;

const handlers = new Map<string, Set<Handler>>();
let socket: WebSocket | null = null;
let wanted = false;
let heartbeatTimer: number | undefined;
let retryTimer: number | undefined;
let failures = 0;
/** Whether a socket has been open since start: the indicator shows only for a lost connection, not the first connect. */
let everOpen = false;

/** reconnecting is true while a connection that was up is being re-established. */
export const reconnecting = ref(false);

function socketURL(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/api/v1/ws`;
}

function dispatch(ev: ServerEvent): void {
  for (const type of [ev.type, '*']) {
    const set = handlers.get(type);
    if (!set) continue;
    for (const fn of [...set]) {
      try {
        fn(ev);
      } catch (err) {
        console.error(`event handler for ${ev.type} failed`, err);
      }
    }
  }
}

function updateIndicator(): void {
  reconnecting.value = wanted && everOpen && (!socket || socket.readyState !== WebSocket.OPEN);
}

function connect(): void {
  window.clearTimeout(retryTimer);
  retryTimer = undefined;
  if (!wanted || socket) return;
  let ws: WebSocket;
  try {
    ws = new WebSocket(socketURL());
  } catch (err) {
    console.error('event socket', err);
    scheduleReconnect(false);
    return;
  }
  socket = ws;
  let opened = false;
  ws.addEventListener('open', () => {
    if (socket !== ws) return;
    opened = true;
    everOpen = true;
    failures = 0;
    window.clearInterval(heartbeatTimer);
    heartbeatTimer = window.setInterval(() => send({ type: 'heartbeat' }), heartbeatMs);
    updateIndicator();
    dispatch({ type: 'socket_open' });
  });
  ws.addEventListener('message', (msg) => {
    if (socket !== ws || typeof msg.data !== 'string') return;
    let ev: unknown;
    try {
      ev = JSON.parse(msg.data);
    } catch {
      console.warn('event socket: not JSON', msg.data);
      return;
    }
    if (ev && typeof ev === 'object' && typeof (ev as ServerEvent).type === 'string') dispatch(ev as ServerEvent);
  });
  ws.addEventListener('close', () => {
    if (socket !== ws) return;
    socket = null;
    window.clearInterval(heartbeatTimer);
    heartbeatTimer = undefined;
    if (opened) dispatch({ type: 'socket_closed' });
    scheduleReconnect(opened);
  });
}

function scheduleReconnect(wasOpen: boolean): void {
  updateIndicator();
  if (!wanted) return;
  failures++;
  const base = Math.min(backoffMaxMs, backoffMinMs * 2 ** Math.min(failures - 1, 4));
  const delay = base / 2 + Math.random() * (base / 2);
  // A socket refused before it opened may mean the session is gone: asking
  // /me (not quietly) lets the app's session hook take over on a 401.
  if (!wasOpen && failures >= 2) void api.get('/api/v1/me').catch(() => {});
  retryTimer = window.setTimeout(connect, delay);
}

/** startEvents opens the tab's event socket (once; later calls do nothing). */
export function startEvents(): void {
  if (wanted) return;
  wanted = true;
  failures = 0;
  everOpen = false;
  connect();
}

/** stopEvents closes the socket and stops reconnecting (sign-out). */
export function stopEvents(): void {
  if (!wanted && !socket) return;
  wanted = false;
  window.clearTimeout(retryTimer);
  retryTimer = undefined;
  window.clearInterval(heartbeatTimer);
  heartbeatTimer = undefined;
  const ws = socket;
  socket = null;
  if (ws) {
    ws.close(1000, 'signed out');
    dispatch({ type: 'socket_closed' });
  }
  updateIndicator();
  dispatch({ type: 'stopped' });
}

/** send writes one message; it answers false when the socket is not open. */
export function send(msg: { type: string; [field: string]: unknown }): boolean {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(msg));
  return true;
}

/**
 * onEvent registers fn for events of type ('*' for all; 'socket_open',
 * 'socket_closed' and 'stopped' report the socket itself). It answers a
 * function that removes fn.
 */
export function onEvent(type: string, fn: Handler): () => void {
  let set = handlers.get(type);
  if (!set) {
    set = new Set();
    handlers.set(type, set);
  }
  set.add(fn);
  return () => set.delete(fn);
}
