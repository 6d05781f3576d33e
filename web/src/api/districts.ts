// Districts (system administrators create them).

import { api } from './http';

export interface District {
  id: number;
  code: string;
  name: string;
  created_at?: string;
}

export async function listDistricts(): Promise<District[]> {
  const list = await api.get<{ items: District[] | null }>('/api/v1/districts');
  return list.items ?? [];
}

export function createDistrict(body: { code: string; name: string }): Promise<District> {
  return api.post<District>('/api/v1/districts', body);
}
