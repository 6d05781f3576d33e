// Shared pieces of the browser end-to-end tests: start a Yunke server, start
// Chromium, join rooms through the UI, wait on conditions and print
// diagnostics when something fails.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { chromium } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const screenshotDir = process.env.YUNKE_SCREENSHOT_DIR || tmpdir();

const bannerTimeoutMs = 30_000;

/** The system administrator every test server starts with (auth.admin_username / YUNKE_ADMIN_PASSWORD). */
export const admin = { username: 'admin', password: 'e2e-admin-Passw0rd' };

/** A bounded list of recent lines. */
class Tail {
  constructor(limit = 200) {
    this.limit = limit;
    this.lines = [];
  }
  push(line) {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
  }
  text(n = this.limit) {
    return this.lines.slice(-n).join('\n');
  }
}

function lineReader(stream, onLine) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i).replace(/\r$/, ''));
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => {
    if (buf) onLine(buf);
  });
}

/**
 * startServer runs `$YUNKE_BIN serve --dev` on ephemeral ports, with a fresh
 * database in a temporary folder and a known administrator password, and
 * resolves once its banner names the URL to open.
 */
export async function startServer({ env = {}, args: extraArgs = [] } = {}) {
  const bin = process.env.YUNKE_BIN;
  if (!bin) {
    throw new Error('YUNKE_BIN is not set: point it at a built yunke binary, e.g. YUNKE_BIN=../bin/yunke npm run e2e');
  }
  const binPath = resolve(bin);
  const workDir = mkdtempSync(join(tmpdir(), 'yunke-e2e-'));
  const args = ['serve', '--dev', '--port', '0', '--udp-port', '0', '--tcp-port', '0', '--database-path', join(workDir, 'yunke.db'), ...extraArgs];
  const stdout = new Tail();
  const stderr = new Tail();
  const proc = spawn(binPath, args, {
    cwd: workDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, YUNKE_ADMIN_USERNAME: admin.username, YUNKE_ADMIN_PASSWORD: admin.password, ...env },
  });

  let exited = null;
  const exitPromise = new Promise((res) => {
    proc.on('exit', (code, signal) => {
      exited = { code, signal };
      res(exited);
    });
  });

  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => {
      rej(new Error(`server printed no "Open: http://…" banner line within ${bannerTimeoutMs / 1000}s\n--- stdout ---\n${stdout.text(40)}\n--- stderr ---\n${stderr.text(40)}`));
    }, bannerTimeoutMs);
    proc.on('error', (err) => {
      clearTimeout(timer);
      rej(new Error(`cannot start ${binPath}: ${err.message}`));
    });
    lineReader(proc.stdout, (line) => {
      stdout.push(line);
      const m = /Open:\s+(http:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        res(m[1].replace(/\/+$/, ''));
      }
    });
    lineReader(proc.stderr, (line) => stderr.push(line));
    exitPromise.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`server exited (code ${code}, signal ${signal}) before printing its banner\n--- stdout ---\n${stdout.text(40)}\n--- stderr ---\n${stderr.text(40)}`));
    });
  });

  return {
    url,
    proc,
    stdout,
    stderr,
    get exited() {
      return exited;
    },
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        const done = await Promise.race([exitPromise, delay(5000).then(() => null)]);
        if (!done) {
          proc.kill('SIGKILL');
          await exitPromise;
        }
      }
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export const chromiumArgs = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

/** Chromium's console message for anything the Content-Security-Policy blocked. */
const cspMessage = /Content Security Policy|CSP violation/i;

/**
 * Collects a page's console output, errors and failed requests for failure
 * reports, and every Content-Security-Policy violation, which fails the test.
 */
export class PageLog {
  constructor() {
    this.lines = new Tail(400);
    this.cspViolations = [];
  }
  attach(page, label) {
    const stamp = () => new Date().toISOString().slice(11, 23);
    page.on('console', (msg) => {
      const line = `${stamp()} [${label}] console.${msg.type()}: ${msg.text()}`;
      this.lines.push(line);
      if (cspMessage.test(msg.text())) this.cspViolations.push(line);
    });
    page.on('pageerror', (err) => this.lines.push(`${stamp()} [${label}] pageerror: ${err.stack || err.message}`));
    page.on('requestfailed', (req) => this.lines.push(`${stamp()} [${label}] request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText ?? ''}`));
    page.on('response', (resp) => {
      if (resp.status() >= 400) this.lines.push(`${stamp()} [${label}] HTTP ${resp.status()} ${resp.request().method()} ${resp.url()}`);
    });
    page.on('websocket', (ws) => {
      this.lines.push(`${stamp()} [${label}] websocket open ${ws.url()}`);
      ws.on('close', () => this.lines.push(`${stamp()} [${label}] websocket closed ${ws.url()}`));
      ws.on('socketerror', (e) => this.lines.push(`${stamp()} [${label}] websocket error ${ws.url()}: ${e}`));
    });
  }
}

/**
 * Environment for one test: a server, a browser, logs. `run(t, fn)` runs
 * the body and, if it throws, prints the browser logs and the server's
 * output before re-throwing.
 */
export class Harness {
  static async start(opts = {}) {
    const h = new Harness();
    h.server = await startServer(opts);
    try {
      h.browser = await launchBrowser();
    } catch (err) {
      await h.server.stop();
      throw err;
    }
    return h;
  }

  constructor() {
    this.log = new PageLog();
    this.contexts = [];
  }

  async newPage(label) {
    const context = await this.browser.newContext({
      permissions: ['camera', 'microphone'],
      viewport: { width: 1280, height: 800 },
      locale: 'zh-CN',
    });
    this.contexts.push(context);
    // Report what the page's Content-Security-Policy blocks on the console,
    // where PageLog picks it up (Chromium logs most of it there itself).
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline code'} (${e.sourceFile || '?'}:${e.lineNumber})`);
      });
    });
    const page = await context.newPage();
    this.log.attach(page, label);
    return page;
  }

  diagnostics() {
    const s = this.server;
    return [
      '===== browser log =====',
      this.log.lines.text(),
      '===== server stdout (tail) =====',
      s ? s.stdout.text(60) : '(no server)',
      '===== server stderr (tail) =====',
      s ? s.stderr.text(120) : '(no server)',
      s?.exited ? `server exited: ${JSON.stringify(s.exited)}` : '',
    ].join('\n');
  }

  async run(fn) {
    try {
      await fn();
      const blocked = this.log.cspViolations.splice(0);
      if (blocked.length > 0) {
        throw new Error(`the Content-Security-Policy blocked something:\n${blocked.join('\n')}`);
      }
    } catch (err) {
      console.error(`\n${this.diagnostics()}\n`);
      throw err;
    }
  }

  async close() {
    for (const c of this.contexts) await c.close().catch(() => {});
    await this.browser?.close().catch(() => {});
    await this.server?.stop();
  }
}

/** waitFor polls fn until it returns a truthy value, or fails after timeoutMs with what it last saw. */
export async function waitFor(what, fn, { timeoutMs = 20_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      if (last && (typeof last !== 'object' || last.ok !== false)) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const seen = lastErr ? `last error: ${lastErr.message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what} (${seen})`);
    }
    await delay(intervalMs);
  }
}

/** submitJoin opens the development join page, fills it and presses the join button. */
export async function submitJoin(page, baseUrl, { name, role, room }) {
  await page.goto(`${baseUrl}/#/dev-join`);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: 15_000 });
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId(role === 'teacher' ? 'join-role-teacher' : 'join-role-student').check();
  await page.getByTestId('join-room').fill(room);
  await page.getByTestId('join-submit').click();
}

/** joinViaUI joins and waits until the page shows a connected classroom. */
export async function joinViaUI(page, baseUrl, opts) {
  await submitJoin(page, baseUrl, opts);
  const outcome = await Promise.race([
    page.locator('[data-testid="conn-state"][data-state="connected"]').waitFor({ timeout: 30_000 }).then(() => 'connected'),
    page.getByTestId('banner-error').first().waitFor({ timeout: 30_000 }).then(() => 'error'),
  ]);
  if (outcome !== 'connected') {
    const text = await page.getByTestId('banner-error').first().innerText().catch(() => '?');
    const code = await page.getByTestId('banner-error').first().getAttribute('data-code').catch(() => '?');
    throw new Error(`${opts.name} could not join: UI shows error [${code}] ${text}`);
  }
}

export function uniqueRoom(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * ApiClient talks to the HTTP API like a browser does: it keeps the session
 * cookie and sends the CSRF token on every write.
 */
export class ApiClient {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    this.cookie = '';
    this.csrf = '';
    this.me = null;
  }

  /** call answers { status, body (parsed JSON or null), text, headers }. */
  async call(method, path, body) {
    const headers = { Accept: 'application/json' };
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    if (this.cookie) headers.Cookie = this.cookie;
    if (method !== 'GET' && method !== 'HEAD' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    const resp = await fetch(`${this.baseUrl}${path}`, { method, headers, body: payload, redirect: 'manual' });
    for (const c of resp.headers.getSetCookie()) {
      const pair = c.split(';')[0];
      const eq = pair.indexOf('=');
      if (pair.slice(0, eq).trim() === 'yunke_session') this.cookie = pair.slice(eq + 1) ? pair : '';
    }
    const text = await resp.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: resp.status, body: json, text, headers: resp.headers };
  }

  /** must is call that throws unless the answer is 2xx (or the given status). */
  async must(method, path, body, status) {
    const r = await this.call(method, path, body);
    if (status ? r.status !== status : r.status < 200 || r.status > 299) {
      throw new Error(`${method} ${path} ${body instanceof FormData ? '(form)' : JSON.stringify(body ?? '')}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
    }
    return r.body;
  }

  async signIn(username, password) {
    const me = await this.must('POST', '/api/v1/auth/signin', { username, password });
    this.csrf = me.csrf_token;
    this.me = me;
    return me;
  }

  async refreshMe() {
    this.me = await this.must('GET', '/api/v1/me');
    this.csrf = this.me.csrf_token || this.csrf;
    return this.me;
  }

  async changePassword(current, next) {
    await this.must('POST', '/api/v1/me/password', { current_password: current, new_password: next });
    return this.refreshMe();
  }
}

/**
 * signInApi signs in through the API; when the account must change its
 * password first, it changes it to `${password}-2`. It answers the client and
 * the password that now works.
 */
export async function signInApi(baseUrl, username, password) {
  const client = new ApiClient(baseUrl);
  const me = await client.signIn(username, password);
  if (!me.user.must_change_password) return { client, password };
  const next = `${password}-2`;
  await client.changePassword(password, next);
  return { client, password: next };
}

/** adminClient signs in as the built-in system administrator. */
export async function adminClient(baseUrl) {
  return (await signInApi(baseUrl, admin.username, admin.password)).client;
}

/** signInUI opens the app, which shows the sign-in page when signed out, and signs in. */
export async function signInUI(page, baseUrl, username, password) {
  await page.goto(`${baseUrl}/#/signin`);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: 15_000 });
  await page.getByTestId('signin-username').fill(username);
  await page.getByTestId('signin-password').fill(password);
  await page.getByTestId('signin-submit').click();
}

/** waitForHome waits until the role home shows, or fails with what the page shows instead. */
export async function waitForHome(page, home) {
  const waits = [
    page.locator(`[data-testid="home"][data-home="${home}"]`).waitFor({ timeout: 20_000 }).then(() => 'home'),
    page.locator('[data-testid="signin-error"]:visible').waitFor({ timeout: 20_000 }).then(() => 'signin-error'),
    page.getByTestId('banner-error').first().waitFor({ timeout: 20_000 }).then(() => 'banner'),
    page.locator(`[data-testid="home"]:not([data-home="${home}"])`).waitFor({ timeout: 20_000 }).then(() => 'other-home'),
  ];
  // The waits that lose the race fail later; that is expected.
  for (const w of waits) w.catch(() => {});
  const outcome = await Promise.race(waits);
  if (outcome === 'home') return;
  const what =
    outcome === 'signin-error'
      ? await page.getByTestId('signin-error').innerText()
      : outcome === 'banner'
        ? await page.getByTestId('banner-error').first().innerText()
        : `home "${await page.getByTestId('home').getAttribute('data-home')}"`;
  throw new Error(`expected the ${home} home, the page shows ${outcome}: ${what}`);
}

// ---- Element Plus controls ----
// The app's drop-downs are Element Plus selects (el-select), not <select>;
// each carries data-testid and data-value (the value it holds), and each of
// its options data-value. Its switches are el-switch, whose state is the
// aria-checked of the input inside. Its file pickers are el-upload, a <div>
// around an <input type="file">.

/** selectOption opens the select testId, waits for the option with value (it may still be loading), picks it, and waits until the select holds it. */
export async function selectOption(page, testId, value) {
  await page.getByTestId(testId).click();
  await page.locator(`.el-select-dropdown__item[data-value="${value}"]:visible`).click();
  await page.locator(`[data-testid="${testId}"][data-value="${value}"]`).waitFor();
}

/** selectedValue answers the value the select testId holds. */
export function selectedValue(page, testId) {
  return page.getByTestId(testId).getAttribute('data-value');
}

/** setSwitch turns the switch testId (el-switch) on or off and waits until it shows that state. */
export async function setSwitch(page, testId, on) {
  const state = page.getByTestId(testId).locator('input[role="switch"]');
  if ((await state.getAttribute('aria-checked')) !== String(on)) await page.getByTestId(testId).click();
  await page.locator(`[data-testid="${testId}"] input[role="switch"][aria-checked="${on}"]`).waitFor({ state: 'attached' });
}

/** fileInput is the <input type="file"> of the upload testId. */
export function fileInput(page, testId) {
  return page.getByTestId(testId).locator('input[type="file"]');
}

/**
 * settled waits until no Vue transition is running on the page (a closing dropdown or dialog
 * still takes space while it fades out), so that a layout measurement sees the page at rest.
 */
export async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('[class*="-leave-active"], [class*="-enter-active"]'), null, { timeout: 5_000 });
}
