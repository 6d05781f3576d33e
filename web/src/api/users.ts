// User accounts.

import { api, query, type List } from './http';

export type UserRole = 'student' | 'teacher' | 'expert' | 'school_admin' | 'district_admin' | 'system_admin';
export const userRoles: readonly UserRole[] = ['student', 'teacher', 'expert', 'school_admin', 'district_admin', 'system_admin'];

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

export interface UserFilter {
  q?: string;
  role?: string;
  school_id?: string | number;
  active?: string;
  limit?: number;
  offset?: number;
}

export function listUsers(f: UserFilter): Promise<List<User>> {
  return api.get<List<User>>(`/api/v1/users${query({ ...f })}`);
}

export function getUser(id: number): Promise<User> {
  return api.get<User>(`/api/v1/users/${id}`);
}

/** A new or changed account: the fields the API takes (docs/api.md, users). */
export type UserBody = Record<string, unknown>;

export function createUser(body: UserBody): Promise<User> {
  return api.post<User>('/api/v1/users', body);
}

export function updateUser(id: number, body: UserBody & { version: number }): Promise<User> {
  return api.patch<User>(`/api/v1/users/${id}`, body);
}

export async function resetPassword(id: number, newPassword: string): Promise<void> {
  await api.post<unknown>(`/api/v1/users/${id}/password`, { new_password: newPassword });
}
