// The working time left on the clocks of one list, asked of routing once per list shown
// (POST /v1/calendar/time-left with the due times on screen): routing owns the working
// calendar, the console never counts working time itself. If routing cannot be reached the
// lookup is empty and each countdown falls back to calendar time, which says so (自然时间).
import { call } from "./api.js";
import { pagedList } from "./ui.js";

const MAX_DUES = 500; // routing answers at most this many due times a call

/** A lookup with nothing in it: every countdown reads calendar time. */
export const CALENDAR_TIME = Object.freeze({ get: () => undefined, workdayMinutes: 0 });

/** The answers for these due times (ISO instants; repeats and blanks ignored): get(due) →
 * {working_minutes_left, overdue}, and the working day's length. */
export async function workingTimeLeft(dues) {
  const asked = [...new Set(dues.filter(Boolean))].slice(0, MAX_DUES);
  if (!asked.length) return CALENDAR_TIME;
  try {
    const answer = await call("routing", "POST", "/v1/calendar/time-left", { body: { dues: asked } });
    const byDue = new Map(asked.map((due, i) => [due, answer.items[i]]));
    return { get: (due) => byDue.get(due), workdayMinutes: answer.workday_minutes };
  } catch (e) {
    return CALENDAR_TIME;
  }
}

/** A paged list (ui.js pagedList) whose rows count down: load(cursor) → {items, next_cursor};
 * dues(items) → the due times on the page, asked of routing in one call per page shown;
 * draw(items, working) → html. */
export function pagedWithTimeLeft(el, load, dues, draw) {
  let working = CALENDAR_TIME;
  return pagedList(el, async (cursor) => {
    const page = await load(cursor);
    working = await workingTimeLeft(dues(page.items));
    return page;
  }, (items) => draw(items, working));
}
