// Spreadsheet imports: schools, teachers, students (one transaction, with a
// dry run) and knowledge points.

import { upload } from './http';

export const importKinds = ['schools', 'teachers', 'students', 'knowledge_points'] as const;
export type ImportKind = (typeof importKinds)[number];

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
  /** Users moved here from another school of the caller's (teachers and students). */
  moved?: number;
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

export function templateUrl(kind: ImportKind, format: 'csv' | 'xlsx'): string {
  return `/api/v1/import/template?kind=${kind}&format=${format}`;
}

export interface ImportRequest {
  kind: Exclude<ImportKind, 'knowledge_points'>;
  file: File;
  initialPassword?: string;
  districtId?: number;
  dryRun: boolean;
}

/** runImport uploads a file of schools, teachers or students; onProgress as for upload(). */
export function runImport(req: ImportRequest, onProgress: (fraction: number) => void): Promise<ImportResponse> {
  const body = new FormData();
  body.append('kind', req.kind);
  if (req.initialPassword !== undefined) body.append('initial_password', req.initialPassword);
  if (req.districtId) body.append('district_id', String(req.districtId));
  body.append('dry_run', req.dryRun ? 'true' : 'false');
  body.append('file', req.file, req.file.name);
  return upload<ImportResponse>('/api/v1/import', body, onProgress);
}

/** importKnowledgePoints uploads a file of knowledge points (no dry run). */
export function importKnowledgePoints(file: File, onProgress: (fraction: number) => void): Promise<ImportCounts> {
  const body = new FormData();
  body.append('file', file, file.name);
  return upload<ImportCounts>('/api/v1/knowledge-points/import', body, onProgress);
}
