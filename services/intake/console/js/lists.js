// What an admin types into a list field, read as the APIs want it: phrases one per line or
// separated by 、，,; (keywords, synonyms, areas), and days as dates or ranges
// (2027-02-15~2027-02-21, 2027-02-15 至 2027-02-21) for a State Council notice.

/** "噪音、噪声\n扰民" → ["噪音", "噪声", "扰民"]: trimmed, blanks and repeats dropped. */
export function splitList(text, { lines = false } = {}) {
  const parts = String(text ?? "").split(lines ? /\n+/ : /[\n、，,;；]+/);
  return [...new Set(parts.map((p) => p.trim()).filter(Boolean))];
}

/** The list as it is put back into a textarea. */
export const joinList = (items, { lines = false } = {}) => (items || []).join(lines ? "\n" : "、");

const ISO = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;

function day(text) {
  const m = ISO.exec(text.trim().replace(/[./]/g, "-"));
  if (!m) return null;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (date.getUTCMonth() !== Number(m[2]) - 1) return null; // 2027-02-30
  return date;
}

const iso = (date) => date.toISOString().slice(0, 10);

/** Days and ranges → {days: sorted unique YYYY-MM-DD, wrong: what could not be read}. */
export function parseDays(text) {
  const days = new Set(), wrong = [];
  for (const piece of splitList(text).flatMap((p) => p.split(/\s+(?![~至到-]|\d{4}-)/))) {
    if (!piece.trim()) continue;
    const [from, to, ...rest] = piece.split(/\s*(?:~|～|至|到|—)\s*/);
    const start = day(from || ""), end = to === undefined ? start : day(to);
    if (!start || !end || rest.length || end < start || (end - start) / 86400000 > 60) {
      wrong.push(piece.trim());
      continue;
    }
    for (let d = start; d <= end; d = new Date(d.getTime() + 86400000)) days.add(iso(d));
  }
  return { days: [...days].sort(), wrong };
}

/** Sorted days → the fewest ranges: ["2027-02-15~2027-02-21", "2027-04-05"]. */
export function compactDays(days) {
  const out = [];
  let first = null, last = null;
  for (const d of [...days].sort()) {
    const date = day(d);
    if (last && date - last === 86400000) {
      last = date;
      continue;
    }
    if (first) out.push(first === last ? iso(first) : `${iso(first)}~${iso(last)}`);
    first = last = date;
  }
  if (first) out.push(first === last ? iso(first) : `${iso(first)}~${iso(last)}`);
  return out;
}
