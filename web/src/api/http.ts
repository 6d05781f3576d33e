// The HTTP client every API module uses (docs/api.md): JSON in and out, the
// session's CSRF token on writes, and one error type for every failure.

export interface RowError {
  row: number;
  column: string;
  message: string;
}

export interface List<T> {
  items: T[];
  total: number;
}

/** What went wrong with an API call, in a form the UI can show. */
export class ApiError extends Error {
  constructor(
    /** 'unreachable' (no HTTP answer), 'bad_response' (not the API's JSON), or the server's error code. */
    readonly code: string,
    message: string,
    readonly status = 0,
    readonly fields: Record<string, string> = {},
    readonly rows: RowError[] = [],
    /** Seconds from a Retry-After header, or 0. */
    readonly retryAfter = 0,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; fields?: unknown; rows?: unknown };
}

function parseRetryAfter(v: string | null): number {
  if (!v) return 0;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : 0;
}

/** parseError reads the API's {"error":{code,message,fields,rows}} body. */
function parseError(status: number, body: unknown, retryAfter = 0): ApiError {
  const err = (body as ErrorBody | null)?.error;
  if (!err || typeof err !== 'object') {
    // Still report the statuses the UI explains by themselves.
    if (status === 413) return new ApiError('too_large', `HTTP ${status}`, status);
    if (status === 429) return new ApiError('rate_limited', `HTTP ${status}`, status, {}, [], retryAfter);
    return new ApiError('bad_response', `HTTP ${status}`, status);
  }
  const fields: Record<string, string> = {};
  if (err.fields && typeof err.fields === 'object') {
    for (const [k, v] of Object.entries(err.fields as Record<string, unknown>)) {
      if (typeof v === 'string') fields[k] = v;
    }
  }
  const rows: RowError[] = [];
  if (Array.isArray(err.rows)) {
    for (const r of err.rows as unknown[]) {
      if (!r || typeof r !== 'object') continue;
      const o = r as Record<string, unknown>;
      rows.push({
        row: typeof o.row === 'number' ? o.row : Number(o.row) || 0,
        column: typeof o.column === 'string' ? o.column : '',
        message: typeof o.message === 'string' ? o.message : '',
      });
    }
  }
  return new ApiError(
    typeof err.code === 'string' ? err.code : 'error',
    typeof err.message === 'string' ? err.message : `HTTP ${status}`,
    status,
    fields,
    rows,
    retryAfter,
  );
}

// ---- session state shared by every call ----

let csrfToken = '';

// The UI's language, sent as Accept-Language so that the server's messages
// (import row errors, …) come in it rather than in the browser's.
let uiLanguage = 'zh-CN';

/** setLanguage tells the API client the UI's language. */
export function setLanguage(lang: string): void {
  uiLanguage = lang;
}

/** setCsrf keeps the session's CSRF token (from sign-in or /me). */
export function setCsrf(token: string): void {
  csrfToken = token;
}

/** requestHeaders are the headers of a write made outside this client (the tus uploads). */
export function requestHeaders(): Record<string, string> {
  const h: Record<string, string> = { 'Accept-Language': uiLanguage };
  if (csrfToken) h['X-CSRF-Token'] = csrfToken;
  return h;
}

/** parseErrorBody turns an error answer's status and text into an ApiError. */
export function parseErrorBody(status: number, text: string, retryAfter: string | null = null): ApiError {
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  return parseError(status, data, parseRetryAfter(retryAfter));
}

/** Called when a signed-in call finds the session gone (401) or a password change pending. */
export type SessionProblem = 'unauthenticated' | 'password_change_required';
let sessionHook: ((problem: SessionProblem) => void) | null = null;

export function onSessionProblem(fn: (problem: SessionProblem) => void): void {
  sessionHook = fn;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Do not report 401 / password_change_required to the session hook. */
  quiet?: boolean;
}

function notifySession(err: ApiError, quiet: boolean | undefined): void {
  if (quiet || !sessionHook) return;
  if (err.status === 401 || err.code === 'unauthenticated') sessionHook('unauthenticated');
  else if (err.code === 'password_change_required') sessionHook('password_change_required');
}

export async function request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'Accept-Language': uiLanguage };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15000),
    });
  } catch (e) {
    throw new ApiError('unreachable', e instanceof Error ? e.message : String(e));
  }
  let data: unknown = null;
  const text = await resp.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (!resp.ok) throw parseError(resp.status, null, parseRetryAfter(resp.headers.get('Retry-After')));
      throw new ApiError('bad_response', `HTTP ${resp.status}`, resp.status);
    }
  }
  if (!resp.ok) {
    const err = parseError(resp.status, data, parseRetryAfter(resp.headers.get('Retry-After')));
    notifySession(err, opts.quiet);
    throw err;
  }
  return data as T;
}

/** query builds "?a=b&…" from the set values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, undefined, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, body ?? {}, opts),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
};

/**
 * upload sends a multipart form with upload progress (fetch has none).
 * onProgress gets 0..1 while the file goes up, then 1 while the server works.
 */
export function upload<T>(path: string, form: FormData, onProgress: (fraction: number) => void, timeoutMs = 300_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.timeout = timeoutMs;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Accept-Language', uiLanguage);
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable && ev.total > 0) onProgress(ev.loaded / ev.total);
    };
    xhr.upload.onload = () => onProgress(1);
    xhr.onerror = () => reject(new ApiError('unreachable', 'network error'));
    xhr.ontimeout = () => reject(new ApiError('unreachable', 'timeout'));
    xhr.onload = () => {
      let data: unknown = null;
      if (xhr.responseText) {
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = null;
        }
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data as T);
        return;
      }
      const err = parseError(xhr.status, data, parseRetryAfter(xhr.getResponseHeader('Retry-After')));
      notifySession(err, false);
      reject(err);
    };
    xhr.send(form);
  });
}
