// The Q&A centre (docs/api.md, "Q&A centre"): questions, answers, claims,
// adoption, ratings and escalation to tutoring. Text is Markdown source; the
// server renders and sanitizes it into `html`, the only field shown as HTML.

import { api, query, request } from './http';

export type QuestionStatus = 'open' | 'answered' | 'adopted' | 'escalated' | 'deleted';

/** At most this many pictures per question or answer (the server's limit too). */
export const maxQAImages = 4;

export interface QAQuestion {
  id: number;
  author_id: number;
  author_name: string;
  subject_id: number;
  subject_code: string;
  grade: number;
  knowledge_points: number[] | null;
  text: string;
  html: string;
  image_count: number;
  status: QuestionStatus;
  answer_count: number;
  adopted_answer_id?: number;
  claimed_by?: number;
  claim_expires_at?: string;
  tutoring_request_id?: number;
  /** The teacher of the tutoring session an escalated question became. */
  tutor_id?: number;
  hidden_reason?: string;
  created_at: string;
  updated_at?: string;
  /** Until when the asker may edit the question (absent once it is no longer open). */
  edit_until?: string;
  /** Until when the asker may change the adoption (absent unless adopted). */
  adopt_change_until?: string;
  /** The caller may answer this question now. */
  can_answer: boolean;
  /** The question is of another district that shares its questions: read-only. */
  other_district?: boolean;
  /** The asker's rating of the adopted answer, sent to the asker only. */
  rating?: QARating | null;
}

export interface QARating {
  question_id: number;
  answer_id: number;
  teacher_id: number;
  score: number;
  rated_at: string;
}

/** A follow-up on a question (answer_id absent) or on one of its answers. Plain text. */
export interface QAComment {
  id: number;
  question_id: number;
  answer_id?: number;
  author_id: number;
  author_name: string;
  text: string;
  created_at: string;
}

export interface QAAnswer {
  id: number;
  question_id: number;
  author_id: number;
  author_name: string;
  text: string;
  html: string;
  image_count: number;
  votes: number;
  adopted: boolean;
  hidden_reason?: string;
  created_at: string;
}

export interface QAQuestionDetail extends QAQuestion {
  answers: QAAnswer[] | null;
  comments: QAComment[] | null;
}

export interface QAClaim {
  question_id: number;
  claimed_by: number;
  expires_at: string;
}

/** fileBase64 answers a file's content as base64 (how pictures travel in JSON). */
export function fileBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error ?? new Error('read failed'));
    r.readAsDataURL(file);
  });
}

export async function askQuestion(q: { subjectId: number; grade: number; knowledgePoints: number[]; text: string; images: File[] }): Promise<QAQuestion> {
  const images = await Promise.all(q.images.map(fileBase64));
  return api.post<QAQuestion>('/api/v1/qa/questions', { subject_id: q.subjectId, grade: q.grade, knowledge_points: q.knowledgePoints, text: q.text, images });
}

/** How the list and the search filter questions; q searches the text of questions and answers. */
export type QuestionQuery = {
  mine?: boolean;
  /** Only the questions the caller answered. */
  answered_by?: 'me';
  unanswered?: boolean;
  subject_id?: number;
  grade?: number;
  knowledge_point_id?: number;
  status?: Exclude<QuestionStatus, 'deleted'>;
  q?: string;
  before?: number;
  limit?: number;
  with_hidden?: boolean;
};

/** The longest search text the server takes. */
export const maxSearch = 100;

export async function listQuestions(params: QuestionQuery): Promise<QAQuestion[]> {
  const res = await api.get<{ questions: QAQuestion[] | null }>(`/api/v1/qa/questions${query(params)}`);
  return res.questions ?? [];
}

export const getQuestion = (id: number) => api.get<QAQuestionDetail>(`/api/v1/qa/questions/${id}`);
export const claimQuestion = (id: number) => api.post<QAClaim>(`/api/v1/qa/questions/${id}/claim`);

export async function answerQuestion(id: number, text: string, files: File[]): Promise<QAAnswer> {
  const images = await Promise.all(files.map(fileBase64));
  return api.post<QAAnswer>(`/api/v1/qa/questions/${id}/answers`, { text, images });
}

export const adoptAnswer = (id: number, answerId: number) => api.put<QAQuestion>(`/api/v1/qa/questions/${id}/adoption`, { answer_id: answerId });
export const rateAnswer = (id: number, score: number) => api.put<QARating>(`/api/v1/qa/questions/${id}/rating`, { score });
export const escalateQuestion = (id: number) => api.post<QAQuestion>(`/api/v1/qa/questions/${id}/escalate`);
export const editQuestion = (id: number, text: string) => api.patch<QAQuestion>(`/api/v1/qa/questions/${id}`, { text });
export const deleteQuestion = (id: number) => request<void>('DELETE', `/api/v1/qa/questions/${id}`);
export const addComment = (id: number, text: string, answerId?: number) =>
  api.post<QAComment>(`/api/v1/qa/questions/${id}/comments`, { text, answer_id: answerId || undefined });
/** hideContent hides the question, or one of its answers, with a reason (an empty reason shows it again). */
export const hideContent = (id: number, reason: string, answerId?: number) =>
  api.put<void>(`/api/v1/qa/questions/${id}/hidden`, { reason, answer_id: answerId || undefined });
export const voteAnswer = (answerId: number) => api.post<QAAnswer>(`/api/v1/qa/answers/${answerId}/vote`);

/** qaImageUrl is picture n of a question, or of one of its answers. */
export function qaImageUrl(questionId: number, n: number, answerId?: number): string {
  return `/api/v1/qa/questions/${questionId}/images/${n}${answerId ? `?answer_id=${answerId}` : ''}`;
}

/** A teacher's own answering record (GET /qa/me/stats). */
export interface QAStats {
  answers: number;
  adopted: number;
  adoption_rate: number;
  median_answer_s: number;
}

export const myStats = () => api.get<QAStats>('/api/v1/qa/me/stats');

/** A district's Q&A settings (GET/PUT /districts/{id}/qa-settings, district admins). */
export interface QASettings {
  district_id: number;
  /** Students of the district may answer its questions. */
  students_answer: boolean;
  /** Students and teachers of other districts read the district's questions. */
  shares_questions: boolean;
  /** False while the district keeps the installation's default. */
  chosen: boolean;
  updated_at?: string;
}

export const qaSettings = (districtId: number) => api.get<QASettings>(`/api/v1/districts/${districtId}/qa-settings`);
/** setQASettings changes the settings given; one left out keeps its value. */
export const setQASettings = (districtId: number, change: Partial<Pick<QASettings, 'students_answer' | 'shares_questions'>>) =>
  api.put<QASettings>(`/api/v1/districts/${districtId}/qa-settings`, change);
