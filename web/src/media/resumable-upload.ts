// A resumable upload of one file over tus (tus-js-client): progress, pause
// and resume, automatic resumption when the connection comes back, and
// resumption after a reload from the URL that tus-js-client keeps in
// localStorage under the file's fingerprint (name, type, size, date).

import { reactive } from 'vue';
import { Upload, type DetailedError } from 'tus-js-client';

import { ApiError, parseErrorBody, requestHeaders } from '@/api/http';
import { uploadEndpoint } from '@/api/microlessons';

/** Bytes per PATCH: a dropped connection loses at most one chunk. */
export const chunkSize = 4 * 1024 * 1024;

export type UploadPhase = 'idle' | 'uploading' | 'paused' | 'interrupted' | 'failed' | 'done';

export interface UploadState {
  phase: UploadPhase;
  sent: number;
  total: number;
  /** Bytes the server already had when this upload was resumed (0 for a new one). */
  resumedFrom: number;
  /** What stopped the upload ('failed'), or the network error ('interrupted'). */
  error: ApiError | null;
  /** The upload's id once the server created it. */
  id: string;
}

function isDetailed(err: Error): err is DetailedError {
  return 'originalRequest' in err;
}

export class ResumableUpload {
  readonly state = reactive<UploadState>({ phase: 'idle', sent: 0, total: 0, resumedFrom: 0, error: null, id: '' });
  private upload: Upload;
  private readonly onlineListener = () => {
    if (this.state.phase === 'interrupted') this.resume();
  };

  constructor(
    readonly file: File,
    private readonly onDone: (id: string) => void,
  ) {
    this.state.total = file.size;
    this.upload = new Upload(file, {
      endpoint: uploadEndpoint,
      chunkSize,
      retryDelays: [0, 1000, 3000, 5000],
      metadata: { filename: file.name, filetype: file.type },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // The session's CSRF token and the UI's language, read at each request.
      onBeforeRequest: (req) => {
        for (const [k, v] of Object.entries(requestHeaders())) req.setHeader(k, v);
      },
      onAfterResponse: (req, res) => {
        if (req.getMethod() === 'HEAD' && res.getStatus() === 200) {
          const offset = Number(res.getHeader('Upload-Offset'));
          if (Number.isFinite(offset)) {
            this.state.resumedFrom = offset;
            this.state.sent = offset;
          }
        }
      },
      onUploadUrlAvailable: () => {
        this.state.id = this.upload.url?.split('/').pop() ?? '';
      },
      // Retry what may pass later (no answer, 409, 423, 5xx) while online;
      // offline, stop and wait for the "online" event instead.
      onShouldRetry: (err) => {
        if (!navigator.onLine) return false;
        const status = err.originalResponse?.getStatus() ?? 0;
        return status === 0 || status === 409 || status === 423 || status >= 500;
      },
      onProgress: (sent, total) => {
        this.state.sent = sent;
        this.state.total = total;
      },
      onError: (err) => this.failed(err),
      onSuccess: () => {
        this.state.phase = 'done';
        this.state.sent = this.state.total;
        this.state.id = this.upload.url?.split('/').pop() ?? this.state.id;
        window.removeEventListener('online', this.onlineListener);
        this.onDone(this.state.id);
      },
    });
    window.addEventListener('online', this.onlineListener);
  }

  /** start resumes an earlier upload of the same file if one is known, else creates one. */
  async start(): Promise<void> {
    this.state.phase = 'uploading';
    this.state.error = null;
    try {
      const previous = await this.upload.findPreviousUploads();
      if (previous.length) this.upload.resumeFromPreviousUpload(previous[0]!);
    } catch (err) {
      console.warn('no earlier uploads found', err);
    }
    this.upload.start();
  }

  pause(): void {
    if (this.state.phase !== 'uploading') return;
    this.state.phase = 'paused';
    void this.upload.abort(false);
  }

  resume(): void {
    if (this.state.phase === 'uploading' || this.state.phase === 'done') return;
    this.state.phase = 'uploading';
    this.state.error = null;
    this.upload.start();
  }

  /** cancel stops and deletes the upload on the server. */
  async cancel(): Promise<void> {
    window.removeEventListener('online', this.onlineListener);
    const wasStarted = this.state.phase !== 'idle' && this.state.phase !== 'done';
    this.state.phase = 'idle';
    if (wasStarted) await this.upload.abort(true).catch((err: unknown) => console.warn('cancel upload', err));
  }

  /** dispose stops sending without deleting (leaving the page): it can be resumed later. */
  dispose(): void {
    window.removeEventListener('online', this.onlineListener);
    if (this.state.phase === 'uploading') void this.upload.abort(false);
  }

  private failed(err: Error): void {
    const res = isDetailed(err) ? err.originalResponse : null;
    if (!res || res.getStatus() === 0) {
      // No answer: the network dropped. Resume when it is back.
      console.warn('upload interrupted', err);
      this.state.phase = 'interrupted';
      this.state.error = new ApiError('unreachable', err.message);
      if (navigator.onLine) window.setTimeout(() => this.onlineListener(), 5000);
      return;
    }
    this.state.phase = 'failed';
    this.state.error = parseErrorBody(res.getStatus(), res.getBody(), res.getHeader('Retry-After') ?? null);
  }
}
