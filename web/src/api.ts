// Calls to Yunke's HTTP API.

export type Role = 'teacher' | 'student';

export interface JoinRequest {
  room: string;
  name: string;
  role: Role;
}

export interface JoinGrant {
  /** WebSocket base URL of the signaling server, e.g. ws://127.0.0.1:7880 */
  url: string;
  token: string;
  identity: string;
  room: string;
}

export interface ServerInfo {
  version: string;
  development?: boolean;
}

/** What went wrong with an API call, in a form the UI can show. */
export class ApiError extends Error {
  constructor(
    /** 'unreachable' (no HTTP answer), 'bad_response' (not the API's JSON), or the server's error code. */
    readonly code: string,
    message: string,
    readonly status = 0,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; fields?: unknown };
}

function parseError(status: number, body: unknown): ApiError {
  const err = (body as ErrorBody | null)?.error;
  if (!err || typeof err !== 'object') {
    return new ApiError('bad_response', `HTTP ${status}`, status);
  }
  const fields: Record<string, string> = {};
  if (err.fields && typeof err.fields === 'object') {
    for (const [k, v] of Object.entries(err.fields as Record<string, unknown>)) {
      if (typeof v === 'string') fields[k] = v;
    }
  }
  return new ApiError(
    typeof err.code === 'string' ? err.code : 'error',
    typeof err.message === 'string' ? err.message : `HTTP ${status}`,
    status,
    fields,
  );
}

async function request<T>(method: string, path: string, body?: unknown, timeoutMs = 15000): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers: body === undefined ? { Accept: 'application/json' } : { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
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
      throw new ApiError('bad_response', `HTTP ${resp.status}`, resp.status);
    }
  }
  if (!resp.ok) throw parseError(resp.status, data);
  return data as T;
}

/** join asks the development join endpoint for a signaling URL and access token. */
export async function join(req: JoinRequest): Promise<JoinGrant> {
  const grant = await request<JoinGrant>('POST', '/api/v1/dev/join', req);
  if (!grant || typeof grant.url !== 'string' || typeof grant.token !== 'string') {
    throw new ApiError('bad_response', 'missing url or token', 200);
  }
  return grant;
}

/** serverInfo returns the server's version, or null when it is not available. */
export async function serverInfo(): Promise<ServerInfo | null> {
  try {
    const info = await request<ServerInfo>('GET', '/api/v1/server', undefined, 5000);
    return info && typeof info.version === 'string' ? info : null;
  } catch {
    return null;
  }
}
