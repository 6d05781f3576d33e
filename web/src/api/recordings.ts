// Recorded lessons: the catalogue, one recording's tracks, who spoke when,
// and the one-file download (docs/api.md, "Recordings").

import { api, query, type List } from './http';

export type RecordingKind = 'class' | 'tutoring';
export type RecordingStatus = 'recording' | 'ready' | 'interrupted' | 'failed';
export type TrackSource = 'camera' | 'microphone' | 'screen_share' | 'screen_share_audio';
export type ParticipantRole = 'teacher' | 'student' | 'assistant' | 'observer';

export interface RecordingTrack {
  id: number;
  participant: string;
  name: string;
  role: ParticipantRole;
  source: TrackSource;
  kind: 'video' | 'audio';
  codec: string;
  size_bytes: number;
  duration_ms: number;
  offset_ms: number;
  status: 'ready' | 'damaged' | 'failed';
  url: string;
}

export interface RecordingDownload {
  kind: 'composite' | 'camera';
  status: 'none' | 'queued' | 'running' | 'ready' | 'failed';
  progress: number;
  url: string;
}

export interface Recording {
  id: number;
  kind: RecordingKind;
  room: string;
  title: string;
  teacher: { id: number; name: string; trainee: boolean };
  school: { id: number; name: string };
  district_id: number;
  subject: { id: number; name: string } | null;
  grade: number | null;
  knowledge_point_ids: number[] | null;
  started_at: string;
  ended_at: string | null;
  duration_ms: number;
  status: RecordingStatus;
  status_reason: string;
  /**
   * Detail only: the version the caller gets. teacher_only (a research group's
   * member of another school, without the school's consent): only the
   * teacher's tracks, participant and speech, and no download.
   */
  version?: 'full' | 'teacher_only';
  full_available?: boolean;
  participants?: { identity: string; name: string; role: ParticipantRole }[] | null;
  tracks?: RecordingTrack[] | null;
  download?: RecordingDownload;
}

export interface RecordingQuery {
  school_id?: number | '';
  teacher_id?: number | '';
  subject_id?: number | '';
  grade?: number | '';
  kind?: RecordingKind | '';
  status?: RecordingStatus | '';
  from?: string;
  to?: string;
  trainee?: boolean;
  page: number;
  page_size: number;
}

export interface SpeakingInterval {
  start_ms: number;
  end_ms: number;
  level: number;
}

export interface Speaking {
  interval_ms: number;
  participants: { identity: string; name: string; role: ParticipantRole; intervals: SpeakingInterval[] | null }[] | null;
}

export async function listRecordings(q: RecordingQuery): Promise<List<Recording>> {
  const r = await api.get<{ items: Recording[] | null; total: number }>(`/api/v1/recordings${query({ ...q, trainee: q.trainee || undefined })}`);
  return { items: r.items ?? [], total: r.total };
}

export function getRecording(id: number): Promise<Recording> {
  return api.get<Recording>(`/api/v1/recordings/${id}`);
}

export function speaking(id: number): Promise<Speaking> {
  return api.get<Speaking>(`/api/v1/recordings/${id}/speaking`);
}

/** startComposite asks the server to render the composite download (409 ffmpeg_missing without ffmpeg). */
export function startComposite(id: number): Promise<RecordingDownload> {
  return api.post<RecordingDownload>(`/api/v1/recordings/${id}/download`);
}

export function downloadUrl(id: number): string {
  return `/api/v1/recordings/${id}/download`;
}

export type STCode = 'S' | 'T';
export type STMode = '' | 'practice' | 'lecture' | 'dialogue' | 'mixed';

export interface STResult {
  n: number;
  n_t: number;
  runs: number;
  rt: number;
  ch: number;
  mode: STMode;
}

export interface STSample {
  index: number;
  start_ms: number;
  end_ms: number;
  teacher_ms: number;
  student_ms: number;
  /** The code that counts: the hand code if any, else the automatic one. */
  code: STCode;
  auto: STCode;
  manual: { code: STCode; auto_code: STCode; coded_by: number; coder_name: string; coded_at: string } | null;
}

/** The S-T analysis of a recording (docs/st-analysis.md). */
export interface STAnalysis {
  recording_id: number;
  interval_s: number;
  duration_ms: number;
  samples: STSample[];
  auto: STResult;
  result: STResult;
  curve: { s: number; t: number }[];
  can_code: boolean;
}

export function stAnalysis(id: number, intervalS?: number): Promise<STAnalysis> {
  return api.get<STAnalysis>(`/api/v1/recordings/${id}/st${query({ interval_s: intervalS })}`);
}

/** setSTCode re-codes one sample by hand (code '' goes back to the automatic code). */
export function setSTCode(id: number, sample: number, code: STCode | '', intervalS: number): Promise<STAnalysis> {
  return api.put<STAnalysis>(`/api/v1/recordings/${id}/st/samples/${sample}`, { code, interval_s: intervalS });
}

/** The S-T results of a teacher's or a school's class recordings over a term. */
export interface STTrend {
  from: string;
  to: string;
  points: (STResult & { recording_id: number; title: string; teacher_id: number; teacher_name: string; started_at: string })[];
  months: { month: string; recordings: number; rt: number; ch: number }[];
  modes: Partial<Record<STMode, number>>;
  /** Per teacher, most recordings first: the means and the mode they describe. */
  teachers: { teacher_id: number; teacher_name: string; recordings: number; rt: number; ch: number; mode: STMode }[];
  rt: number;
  ch: number;
  truncated: boolean;
}

export function stTrend(q: { teacher_id?: number; school_id?: number; from?: string; to?: string }): Promise<STTrend> {
  return api.get<STTrend>(`/api/v1/recordings/st-trend${query(q)}`);
}
