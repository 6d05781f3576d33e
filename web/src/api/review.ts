// Lesson review (docs/review.md): the rubric library, evaluation schemes,
// assignments, the expert's review with timestamped notes, aggregates and
// reliability, and the teacher's feedback and reflection.

import { api, query, request, type List } from './http';

export interface RubricLevel {
  value: number;
  label: string;
  descriptor?: string;
}

export interface RubricScale {
  kind: 'levels' | 'numeric';
  levels?: RubricLevel[];
  min?: number;
  max?: number;
  step?: number;
}

export interface RubricCriterion {
  code: string;
  name: string;
  description?: string;
  weight: number;
  scale: RubricScale;
}

export interface RubricDomain {
  name: string;
  criteria: RubricCriterion[];
}

export interface Rubric {
  id: number;
  district_id: number;
  code: string;
  name: string;
  purpose: string;
  version: number;
  current_version: number;
  builtin: boolean;
  body: { domains: RubricDomain[] };
  created_at: string;
  updated_at: string;
}

export interface SchemeCriterion extends RubricCriterion {
  domain: string;
}

export type SchemePurpose = 'general' | 'subject' | 'school_kind' | 'trainee' | 'competition';

export interface Scheme {
  id: number;
  district_id: number;
  name: string;
  purpose: SchemePurpose;
  subject_id: number;
  school_kind: string;
  rubric_id: number;
  rubric_version: number;
  blind: boolean;
  threshold: number;
  criteria: SchemeCriterion[];
  created_at: string;
}

export type AssignmentStatus = 'assigned' | 'draft' | 'submitted';

export interface Assignment {
  id: number;
  scheme_id: number;
  target: string;
  round: string;
  expert_id: number;
  expert_name: string;
  teacher_id: number;
  district_id: number;
  school_id: number;
  calibration_id: number;
  due_at?: string;
  status: AssignmentStatus;
  total: number;
  submitted_at?: string;
  created_at: string;
  overdue?: boolean;
  title?: string;
  scheme_name?: string;
}

export interface ReviewScore {
  criterion: string;
  value: number;
}

export interface ReviewNote {
  start_ms: number;
  end_ms?: number;
  track_id?: number;
  criterion?: string;
  text: string;
}

export interface ReviewBody {
  scores: ReviewScore[];
  notes: ReviewNote[];
  strengths: string;
  improve: string;
}

export interface Review extends Assignment {
  body: ReviewBody;
  version: number;
  reopened_reason?: string;
  teacher_rating: number;
  updated_at: string;
}

export interface Target {
  target: string;
  kind: 'recording' | 'microlesson';
  id: number;
  title: string;
  teacher_id: number;
  teacher_name: string;
  school_name: string;
  subject_id: number;
  grade: number;
  duration_ms: number;
}

export interface Reflection {
  target: string;
  teacher_id: number;
  text: string;
  updated_at?: string;
}

export interface Draft {
  review: Review;
  scheme: Scheme;
  target: Target;
  reflection: Reflection;
  overdue: boolean;
  current_total: number | null;
}

export interface CriterionStats {
  code: string;
  name: string;
  domain: string;
  kind: string;
  n: number;
  mean: number;
  median: number;
  sd: number;
  min: number;
  max: number;
  normalized: number;
  below_threshold: boolean;
}

export interface Aggregate {
  scheme_id: number;
  scheme_name: string;
  reviews: number;
  total_mean: number;
  total_median: number;
  total_sd: number;
  criteria: CriterionStats[];
}

export interface TargetView {
  target: Target;
  reflection: Reflection;
  reviews: Review[];
  aggregates: Aggregate[];
  hidden: number;
}

export interface Coefficient {
  method: string;
  value: number;
  targets: number;
  raters: number;
}

export interface Reliability {
  scheme_id: number;
  round: string;
  reviews: number;
  total: Coefficient | null;
  criteria: { code: string; kind: string; coefficient: Coefficient | null; kappa?: Coefficient }[];
  experts: { expert_id: number; name: string; reviews: number; shared: number; mean_deviation: number; flagged: boolean }[];
}

export interface FeedbackNote extends ReviewNote {
  review_id: number;
}

export interface Suggestion {
  target: string;
  /** The lesson's id in the shared library (absent: not in it); library lessons come first. */
  library_id?: number;
  title: string;
  teacher_name: string;
  criteria: string[];
  score: number;
}

export interface FeedbackItem {
  target: Target;
  reflection: Reflection;
  reviews: Review[];
  aggregates: Aggregate[];
  notes: FeedbackNote[];
  below_threshold: CriterionStats[];
  suggestions: Suggestion[];
}

export interface Feedback {
  new: number;
  items: FeedbackItem[];
}

export interface StatusItem {
  id: number;
  target: string;
  title: string;
  scheme_id: number;
  round: string;
  status: AssignmentStatus;
  due_at?: string;
  overdue: boolean;
  submitted_at?: string;
}

const base = '/api/v1/review';

// ---- rubrics ----

export const listRubrics = () => api.get<List<Rubric>>(`${base}/rubrics`);
export const getRubric = (id: number, version = 0) => api.get<Rubric>(`${base}/rubrics/${id}${query({ version: version || undefined })}`);
export const importRubric = (body: { format: 'json' | 'xlsx'; file?: string; code?: string; name?: string; purpose?: string; body?: unknown }) =>
  api.post<Rubric>(`${base}/rubrics/import`, body);
export const exportUrl = (id: number, format: 'json' | 'xlsx', version = 0) =>
  `${base}/rubrics/${id}/export${query({ format, version: version || undefined })}`;

// ---- schemes ----

export const listSchemes = () => api.get<List<Scheme>>(`${base}/schemes`);
export const getScheme = (id: number) => api.get<Scheme>(`${base}/schemes/${id}`);
export interface SchemeInput {
  name: string;
  purpose: SchemePurpose;
  rubric_id: number;
  threshold?: number;
  blind?: boolean;
  criteria: { code: string; weight: number }[];
}
export const createScheme = (b: SchemeInput) => api.post<Scheme>(`${base}/schemes`, b);
export const reliability = (id: number, round: string) => api.get<Reliability>(`${base}/schemes/${id}/reliability${query({ round })}`);

// ---- assignments ----

export const listAssignments = (f: { target?: string; scheme_id?: number; status?: string } = {}) =>
  api.get<List<Assignment>>(`${base}/assignments${query(f)}`);
export interface AssignInput {
  scheme_id: number;
  target: string;
  round: string;
  due_at?: string;
  expert_ids?: number[];
  count?: number;
  match_subject?: boolean;
  exclude_colleagues?: boolean;
}
export const assign = (b: AssignInput) => api.post<List<Assignment>>(`${base}/assignments`, b);
export const autoAssign = (b: AssignInput) => api.post<List<Assignment>>(`${base}/assignments/auto`, b);
export const unassign = (id: number) => request<unknown>('DELETE', `${base}/assignments/${id}`);

// ---- the expert's review ----

export const queue = () => api.get<List<Assignment>>(`${base}/queue`);
export const getDraft = (id: number) => api.get<Draft>(`${base}/assignments/${id}/review`);
export const saveDraft = (id: number, b: ReviewBody) => api.put<Draft>(`${base}/assignments/${id}/review`, b);
export const submitReview = (id: number, b: ReviewBody) => api.post<Draft>(`${base}/assignments/${id}/submit`, b);

// ---- reading, feedback ----

export const getTarget = (target: string) => api.get<TargetView>(`${base}/targets/${encodeURIComponent(target)}`);
export const saveReflection = (target: string, text: string) =>
  api.put<Reflection>(`${base}/targets/${encodeURIComponent(target)}/reflection`, { text });
export const mine = () => api.get<List<StatusItem>>(`${base}/mine`);
export const feedback = () => api.get<Feedback>(`${base}/feedback`);
export const feedbackSeen = () => api.post<unknown>(`${base}/feedback/seen`);

/** targetRecording answers the recording id of "recording:<id>", or 0. */
export function targetRecording(target: string): number {
  const m = /^recording:(\d+)$/.exec(target);
  return m ? Number(m[1]) : 0;
}

// ---- editing the library, reopening, calibration ----

export const updateRubric = (id: number, b: { name: string; purpose?: string; body: { domains: RubricDomain[] } }) =>
  api.put<Rubric>(`${base}/rubrics/${id}`, b);
export const copyRubric = (id: number, b: { code?: string; name?: string } = {}) => api.post<Rubric>(`${base}/rubrics/${id}/copy`, b);
export const reopenReview = (id: number, reason: string) => api.post<Review>(`${base}/reviews/${id}/reopen`, { reason });

export interface Calibration {
  id: number;
  scheme_id: number;
  district_id: number;
  target: string;
  round: string;
  master: ReviewScore[];
  created_at: string;
}

export interface CalibrationResult {
  calibration_id: number;
  expert_id: number;
  expert_name: string;
  agreement: number;
  passed: boolean;
  at: string;
}

export interface CalibrationView {
  calibration: Calibration;
  results: CalibrationResult[] | null;
  pass_agreement: number;
}

export const createCalibration = (b: { scheme_id: number; target: string; round?: string; master: ReviewScore[] }) =>
  api.post<Calibration>(`${base}/calibrations`, b);
/** A calibration clip with its target and the agreements kept for it. */
export interface CalibrationItem {
  calibration: Calibration;
  target: { target: string; title: string; teacher_name: string; school_name: string };
  results: CalibrationResult[];
}

/** listCalibrations: admins the clips in scope with every result; an expert theirs with their own result. */
export const listCalibrations = () => api.get<{ items: CalibrationItem[]; pass_agreement: number }>(`${base}/calibrations`);
export const getCalibration = (id: number) => api.get<CalibrationView>(`${base}/calibrations/${id}`);
export const assignCalibration = (id: number, b: { expert_ids: number[]; due_at?: string }) =>
  api.post<List<Assignment>>(`${base}/calibrations/${id}/assignments`, b);
