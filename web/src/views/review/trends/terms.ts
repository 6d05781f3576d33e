// School terms as docs/st-analysis.md counts them (China time): autumn from
// August 1 to January 31, spring from February 1 to July 31.

export interface Term {
  key: string; // 2026-autumn
  year: number;
  autumn: boolean;
  from: string; // YYYY-MM-DD
  to: string;
}

function term(year: number, autumn: boolean): Term {
  return autumn
    ? { key: `${year}-autumn`, year, autumn, from: `${year}-08-01`, to: `${year + 1}-01-31` }
    : { key: `${year}-spring`, year, autumn, from: `${year}-02-01`, to: `${year}-07-31` };
}

/** recentTerms is the current term and the n−1 before it, newest first. */
export function recentTerms(now = new Date(), n = 3): Term[] {
  const china = new Date(now.getTime() + 8 * 3600_000);
  const y = china.getUTCFullYear();
  const m = china.getUTCMonth() + 1;
  let cur = m >= 8 ? term(y, true) : m === 1 ? term(y - 1, true) : term(y, false);
  const out: Term[] = [];
  for (let i = 0; i < n; i++) {
    out.push(cur);
    cur = cur.autumn ? term(cur.year, false) : term(cur.year - 1, true);
  }
  return out;
}
