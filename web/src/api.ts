// Calls to Yunke's HTTP API (docs/api.md).

/** How the classroom behaves for the local user. */
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
  /** The grant's role as the server decided it (signed-in joins only). */
  role?: string;
}

export interface ServerInfo {
  version: string;
  development?: boolean;
}

// ---- domain types ----

export type UserRole = 'student' | 'teacher' | 'expert' | 'school_admin' | 'district_admin' | 'system_admin';
export const userRoles: readonly UserRole[] = ['student', 'teacher', 'expert', 'school_admin', 'district_admin', 'system_admin'];

export type SchoolKind = 'primary' | 'junior_secondary' | 'senior_secondary' | 'complete_secondary' | 'nine_year' | 'kindergarten';
export const schoolKinds: readonly SchoolKind[] = ['primary', 'junior_secondary', 'senior_secondary', 'complete_secondary', 'nine_year', 'kindergarten'];

export type Home = 'student' | 'teacher' | 'expert' | 'admin';

export interface District {
  id: number;
  code: string;
  name: string;
  created_at?: string;
}

export interface School {
  id: number;
  district_id: number;
  code: string;
  name: string;
  kind: SchoolKind;
  active: boolean;
  version: number;
  created_at?: string;
  updated_at?: string;
}

export interface ExpertScope {
  district: boolean;
  school_ids: number[] | null;
}

export interface User {
  id: number;
  username: string;
  name: string;
  district_id: number;
  school_id: number;
  roles: UserRole[];
  active: boolean;
  must_change_password: boolean;
  student_no?: string;
  staff_no?: string;
  grade?: number;
  class?: string;
  subject_ids: number[] | null;
  grades: number[] | null;
  trainee: boolean;
  expert_scope: ExpertScope | null;
  version: number;
}

export interface Me {
  user: User;
  csrf_token: string;
  home: Home;
  school: School | null;
  district: District | null;
}

export interface Subject {
  id: number;
  code: string;
  name: string;
  name_en: string;
  sort: number;
  active: boolean;
}

export interface Target {
  school_id: number;
  school_name?: string;
  year: number;
  lessons_recorded: number;
  teachers_participating: number;
  trainee_coverage_pct: number;
  version: number;
}

export interface Activity {
  id: number;
  at: string;
  actor_id: number;
  action: string;
  district_id: number;
  school_id: number;
  subject_id: number;
  subject?: string;
  room_id?: string;
  value: number;
  detail?: string;
}

export interface KnowledgePoint {
  id: number;
  subject_id: number;
  grade: number;
  parent_id: number;
  code: string;
  name: string;
  sort: number;
}

// ---- one-to-one tutoring ----

export type RequestStatus = 'waiting' | 'offered' | 'matched' | 'cancelled';

export interface TutoringRequest {
  id: number;
  student_id: number;
  student_name: string;
  school_id: number;
  subject_id: number;
  subject_code: string;
  grade: number;
  knowledge_point_id?: number;
  text: string;
  has_image: boolean;
  status: RequestStatus;
  session_id?: number;
  created_at: string;
  updated_at: string;
}

/** A student's view of their request: its place in the queue and an estimated wait. */
export interface RequestView {
  request: TutoringRequest;
  /** 1-based place in the queue; 0 while offered to a teacher. */
  position: number;
  queue_length: number;
  estimated_wait_s: number;
}

export interface TutoringRating {
  score: number;
  comment?: string;
  solved: boolean;
  rated_at: string;
  updated_at: string;
}

export interface TeacherNote {
  note?: string;
  knowledge_point_ids: number[] | null;
  updated_at: string;
}

export type EndReason = 'left' | 'max_length' | 'no_show' | 'ended_by_student' | 'ended_by_teacher' | 'shutdown';

export interface TutoringSession {
  id: number;
  request_id: number;
  student_id: number;
  student_name: string;
  teacher_id: number;
  teacher_name: string;
  school_id: number;
  subject_id: number;
  grade: number;
  room: string;
  node_url: string;
  created_at: string;
  started_at?: string;
  ended_at?: string;
  duration_s: number;
  end_reason?: EndReason | string;
  rating?: TutoringRating;
  teacher_note?: TeacherNote;
}

/** What a participant needs to enter a session's room; url may name another node. */
export interface SessionJoin extends JoinGrant {
  session: TutoringSession;
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface ImportResult {
  schools?: ImportCounts;
  teachers?: ImportCounts;
  students?: ImportCounts;
}

export interface ImportResponse {
  kind: string;
  rows: number;
  dry_run: boolean;
  result: ImportResult;
}

export interface RowError {
  row: number;
  column: string;
  message: string;
}

export interface List<T> {
  items: T[];
  total: number;
}

// ---- errors ----

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

/** setCsrf keeps the session's CSRF token (from sign-in or /me). */
export function setCsrf(token: string): void {
  csrfToken = token;
}

/** Called when a signed-in call finds the session gone (401) or a password change pending. */
type SessionHook = (code: 'unauthenticated' | 'password_change_required') => void;
let sessionHook: SessionHook | null = null;

export function onSessionProblem(fn: SessionHook): void {
  sessionHook = fn;
}

interface RequestOptions {
  timeoutMs?: number;
  /** Do not report 401 / password_change_required to the session hook. */
  quiet?: boolean;
}

function isWrite(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

function notifySession(err: ApiError, quiet: boolean | undefined): void {
  if (quiet || !sessionHook) return;
  if (err.status === 401 || err.code === 'unauthenticated') sessionHook('unauthenticated');
  else if (err.code === 'password_change_required') sessionHook('password_change_required');
}

async function request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (isWrite(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
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

// ---- accounts ----

export function me(): Promise<Me> {
  return request<Me>('GET', '/api/v1/me', undefined, { quiet: true });
}

export function signIn(username: string, password: string): Promise<Me> {
  return request<Me>('POST', '/api/v1/auth/signin', { username, password }, { quiet: true });
}

export async function signOut(): Promise<void> {
  await request<unknown>('POST', '/api/v1/auth/signout', undefined, { quiet: true });
}

export async function changeOwnPassword(current: string, next: string): Promise<void> {
  await request<unknown>('POST', '/api/v1/me/password', { current_password: current, new_password: next }, { quiet: true });
}

/** roomToken asks for a signed-in grant to a room; the grant follows the caller's role. */
export async function roomToken(room: string, schoolId?: number): Promise<JoinGrant> {
  const grant = await request<JoinGrant>('POST', '/api/v1/rooms/token', schoolId ? { room, school_id: schoolId } : { room });
  if (!grant || typeof grant.url !== 'string' || typeof grant.token !== 'string') {
    throw new ApiError('bad_response', 'missing url or token', 200);
  }
  return grant;
}

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

// ---- development join ----

/** join asks the development join endpoint for a signaling URL and access token. */
export async function join(req: JoinRequest): Promise<JoinGrant> {
  const grant = await request<JoinGrant>('POST', '/api/v1/dev/join', req, { quiet: true });
  if (!grant || typeof grant.url !== 'string' || typeof grant.token !== 'string') {
    throw new ApiError('bad_response', 'missing url or token', 200);
  }
  return grant;
}

/** serverInfo returns the server's version, or null when it is not available. */
export async function serverInfo(): Promise<ServerInfo | null> {
  try {
    const info = await request<ServerInfo>('GET', '/api/v1/server', undefined, { timeoutMs: 5000, quiet: true });
    return info && typeof info.version === 'string' ? info : null;
  } catch {
    return null;
  }
}
