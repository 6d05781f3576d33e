// What the Q&A pages share: pictures picked or pasted with previews, the
// knowledge points as a tree, similar questions for a text being typed and
// the plain-text excerpt of a question.

import { onBeforeUnmount, ref } from 'vue';

import { listQuestions, maxQAImages, maxSearch, type QAQuestion } from '@/api/qa';
import type { KnowledgePoint } from '@/api/subjects';
import { imageTypes, maxImageBytes } from '@/api/tutoring';
import { t } from '@/locales';

export interface Picture {
  file: File;
  url: string;
}

/**
 * usePictures keeps up to maxQAImages pictures with object-URL previews:
 * add checks type and size and says what it refused in problem; paste
 * takes the pictures of a clipboard event.
 */
export function usePictures() {
  const pictures = ref<Picture[]>([]);
  const problem = ref('');

  function add(files: Iterable<File>): number {
    let added = 0;
    for (const file of files) {
      if (pictures.value.length >= maxQAImages) problem.value = t('qa.tooManyPictures', { n: maxQAImages });
      else if (!imageTypes.includes(file.type)) problem.value = t('tutor.pictureType');
      else if (file.size > maxImageBytes) problem.value = t('tutor.pictureTooLarge', { size: (file.size / (1 << 20)).toFixed(1) });
      else {
        pictures.value.push({ file, url: URL.createObjectURL(file) });
        added++;
      }
    }
    return added;
  }

  function picked(ev: Event): void {
    const input = ev.target as HTMLInputElement;
    problem.value = '';
    add(Array.from(input.files ?? []));
    input.value = '';
  }

  /** paste adds the pictures on the clipboard; text still pastes as text. */
  function paste(ev: ClipboardEvent): void {
    const data = ev.clipboardData;
    if (!data) return;
    const files = Array.from(data.items)
      .filter((it) => it.kind === 'file' && it.type.startsWith('image/'))
      .map((it) => it.getAsFile())
      .filter((f): f is File => !!f);
    if (files.length === 0) return;
    problem.value = '';
    // A picture copied from a page may come with its text; only a bare picture stops the paste.
    if (!data.types.includes('text/plain')) ev.preventDefault();
    add(files.map((f, i) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted-${Date.now()}-${i}.${f.type.split('/')[1] || 'png'}`, { type: f.type }))));
  }

  function remove(i: number): void {
    URL.revokeObjectURL(pictures.value[i].url);
    pictures.value.splice(i, 1);
  }

  function clear(): void {
    pictures.value.forEach((p) => URL.revokeObjectURL(p.url));
    pictures.value = [];
  }
  onBeforeUnmount(clear);

  return { pictures, problem, add, picked, paste, remove, clear };
}

export interface PointNode {
  value: number;
  label: string;
  children: PointNode[];
}

/** pointTree arranges knowledge points as a tree (parent_id 0, or a parent not listed, at the top). */
export function pointTree(points: KnowledgePoint[]): PointNode[] {
  const nodes = new Map<number, PointNode>(points.map((k) => [k.id, { value: k.id, label: k.code ? `${k.code} ${k.name}` : k.name, children: [] }]));
  const roots: PointNode[] = [];
  for (const k of points) {
    const node = nodes.get(k.id)!;
    const parent = k.parent_id ? nodes.get(k.parent_id) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

/** statusRank puts adopted, then answered questions first. */
export function statusRank(q: QAQuestion): number {
  return q.status === 'adopted' ? 0 : q.status === 'answered' ? 1 : 2;
}

/** searchTerms picks the words of a typed question to search for: the longest few (two characters or more). */
export function searchTerms(text: string): string[] {
  const plain = text.replace(/[*_`#>[\]()!~|-]+/g, ' ').replace(/\s+/g, ' ').trim();
  let words: string[];
  if (typeof Intl !== 'undefined' && 'Segmenter' in Intl) {
    const seg = new Intl.Segmenter('zh', { granularity: 'word' });
    words = Array.from(seg.segment(plain))
      .filter((s) => s.isWordLike)
      .map((s) => s.segment);
  } else {
    words = plain.split(/[\s\p{P}\p{S}]+/u);
  }
  const distinct = [...new Set(words.map((w) => w.trim().toLowerCase()).filter((w) => [...w].length >= 2 && !/^\d+$/.test(w)))];
  return distinct.sort((a, b) => [...b].length - [...a].length).slice(0, 3);
}

/**
 * similarQuestions finds questions like a text being typed: the whole text
 * and its longest words are searched (the server matches substrings), the
 * questions matching the most of them kept, answered and adopted ones first.
 */
export async function similarQuestions(text: string, subjectId?: number, limit = 5): Promise<QAQuestion[]> {
  const whole = text.trim();
  if ([...whole].length < 2) return [];
  const terms = searchTerms(whole);
  const queries = [...new Set([[...whole].length <= maxSearch ? whole : '', ...terms].filter(Boolean))];
  const lists = await Promise.all(queries.map((q) => listQuestions({ q, subject_id: subjectId || undefined, limit: 20 })));
  const hits = new Map<number, { q: QAQuestion; score: number }>();
  lists.forEach((list, i) => {
    const weight = queries[i] === whole ? terms.length + 1 : 1;
    for (const q of list) {
      const h = hits.get(q.id) ?? { q, score: 0 };
      h.score += weight;
      hits.set(q.id, h);
    }
  });
  let found = [...hits.values()];
  // With several words, a question sharing only one of them is not alike.
  const enough = Math.min(2, queries.length);
  if (found.some((h) => h.score >= enough)) found = found.filter((h) => h.score >= enough);
  found.sort((a, b) => statusRank(a.q) - statusRank(b.q) || b.score - a.score || b.q.id - a.q.id);
  return found.slice(0, limit).map((h) => h.q);
}

/** excerpt is the start of a question as plain text, taken from the server's sanitized HTML (parsing runs no script). */
export function excerpt(q: QAQuestion, max = 80): string {
  const plain = q.html ? (new DOMParser().parseFromString(q.html, 'text/html').body.textContent ?? '') : q.text;
  const s = plain.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max)}…` : s || t('qa.pictureOnly');
}

/** statusType is the tag colour of a question's status. */
export function statusType(status: string): 'success' | 'warning' | 'info' | 'primary' {
  return status === 'adopted' ? 'success' : status === 'answered' ? 'primary' : status === 'open' ? 'warning' : 'info';
}
