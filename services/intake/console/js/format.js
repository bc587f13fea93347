// Times in the organisation's zone, in the words people use: 2026年12月11日 18:00.
import { i18n, t } from "./i18n.js";

export const clock = { zone: "Asia/Shanghai", offsetMs: 0 };

/** The platform's "now" (its clock may be pinned; config.json tells it at start). */
export const now = () => Date.now() + clock.offsetMs;

export function syncClock(serverNowIso, zone) {
  if (zone) clock.zone = zone;
  if (serverNowIso) clock.offsetMs = Date.parse(serverNowIso) - Date.now();
}

function parts(iso) {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: clock.zone, year: "numeric", month: "numeric", day: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  return Object.fromEntries(format.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** 2026年12月11日 18:00 (zh) or 11 Dec 2026, 18:00 (en); "" for no time. */
export function when(iso) {
  if (!iso) return "";
  const p = parts(iso);
  return i18n.lang === "zh"
    ? `${p.year}年${Number(p.month)}月${Number(p.day)}日 ${p.hour}:${p.minute}`
    : `${Number(p.day)} ${MONTHS[Number(p.month) - 1]} ${p.year}, ${p.hour}:${p.minute}`;
}

/** The local date (YYYY-MM-DD) and time (HH:MM) of an instant, for date/time inputs. */
export function localInput(ms) {
  const p = parts(new Date(ms).toISOString());
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}T${p.hour}:${p.minute}`;
}

/** A datetime-local value read in the organisation's zone (+08:00) as an ISO instant. */
export function fromLocalInput(value) {
  return `${value}:00+08:00`;
}

/** 2天3小时 / 3小时20分 / 12分 — or 2d 3h / 3h 20m / 12m. */
export function duration(ms) {
  const minutes = Math.max(0, Math.round(Math.abs(ms) / 60000));
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  const zh = i18n.lang === "zh";
  const unit = (n, zhUnit, enUnit) => (zh ? `${n}${zhUnit}` : `${n}${enUnit}`);
  const bits = d ? [unit(d, "天", "d"), h && unit(h, "小时", "h")] : h ? [unit(h, "小时", "h"), m && unit(m, "分", "m")] : [unit(m, "分", "m")];
  return bits.filter(Boolean).join(zh ? "" : " ");
}

/**
 * Time left on a clock, in the words on a work-order screen: 1 天 3 小时 / 3 小时 20 分钟 /
 * 12 分钟 (1 d 3 h / 3 h 20 min / 12 min). Calendar time: what a countdown falls back to when
 * routing cannot say the working time left, and it says so (自然时间) rather than pass for 工作日.
 */
export function span(ms) {
  const minutes = Math.max(0, Math.round(Math.abs(ms) / 60000));
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  const zh = i18n.lang === "zh";
  const unit = (n, zhUnit, enUnit) => (zh ? `${n} ${zhUnit}` : `${n} ${enUnit}`);
  const bits = d ? [unit(d, "天", "d"), h && unit(h, "小时", "h")] : h ? [unit(h, "小时", "h"), m && unit(m, "分钟", "min")] : [unit(m, "分钟", "min")];
  return bits.filter(Boolean).join(" ");
}

/** How far a clock has run, counted from the platform's now: level ok / half / low /
 * overdue, and the words for it (剩余 1 天 3 小时（自然时间） / 已超时 2 小时（自然时间）). */
export function countdown(dueIso, startIso, { atRisk = false, stopped = false, paused = false } = {}) {
  if (!dueIso) return null;
  const due = Date.parse(dueIso), current = now();
  const left = due - current;
  if (paused) return { level: "stopped", text: t("clockPaused"), left };
  if (stopped) return { level: "stopped", text: t("stopped"), left };
  if (left <= 0) return { level: "overdue", text: t("overdueBy", { d: span(left) }), left };
  const total = startIso ? due - Date.parse(startIso) : 0;
  const share = total > 0 ? left / total : 1;
  const level = atRisk || share < 0.25 ? "low" : share < 0.5 ? "half" : "ok";
  return { level, text: t("left", { d: span(left) }), left };
}

/**
 * Working time, as routing's calendar counts it, in the words on a work-order screen:
 * 1 个工作日 3 小时 / 2 小时 20 分钟 / 12 分钟 (1 working day 3 h / 2 h 20 min / 12 min).
 * A working day is `workdayMinutes` long (routing says how long: 7.5 hours by default).
 */
export function workingSpan(minutes, workdayMinutes) {
  const total = Math.round(Math.abs(minutes));
  const day = Math.round(workdayMinutes);
  const d = day > 0 ? Math.floor(total / day) : 0;
  const rest = total - d * day;
  const h = Math.floor(rest / 60), m = rest % 60;
  const days = d ? t(d === 1 ? "workday1" : "workdays", { n: d }) : "";
  const bits = d ? [days, h && t("hours", { n: h })] : h ? [t("hours", { n: h }), m && t("minutes", { n: m })] : [t("minutes", { n: m })];
  return bits.filter(Boolean).join(" ");
}

/** A clock's working time left, from routing's `POST /v1/calendar/time-left` answer for its
 * due time ({working_minutes_left, overdue}) and the working day's length: level ok / soon
 * (under one working day, or handling's warning has fallen) / overdue, and the words for it
 * (剩余 1 个工作日 3 小时 / 剩余 2 小时 / 已超时 1 个工作日 2 小时). */
export function workingCountdown(answer, workdayMinutes, { atRisk = false, stopped = false, paused = false } = {}) {
  if (!answer) return null;
  const minutes = Math.round(answer.working_minutes_left);
  const words = workingSpan(minutes, workdayMinutes);
  // A paused clock (the department waits on the person) stands still: no countdown.
  if (paused) return { level: "stopped", text: t("clockPaused"), minutes };
  if (stopped) return { level: "stopped", text: t("stopped"), minutes };
  if (answer.overdue) return { level: "overdue", text: t("workOverdueBy", { d: words }), minutes };
  const level = atRisk || minutes < Math.round(workdayMinutes) ? "soon" : "ok";
  return { level, text: t("workLeft", { d: words }), minutes };
}

export const pct = (rate) => (rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)}%`);

/** The current month as YYYY-MM in the organisation's zone, and the n months before it. */
export function months(n = 6) {
  const p = parts(new Date(now()).toISOString());
  const out = [];
  for (let i = n - 1; i >= 0; i -= 1) {
    const date = new Date(Date.UTC(Number(p.year), Number(p.month) - 1 - i, 1));
    out.push(`${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  return out;
}

const WEEKDAYS_ZH = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];
const WEEKDAYS_EN = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** A calendar day (YYYY-MM-DD) as people write it: 2027年2月15日（星期一） / Mon 15 Feb 2027. */
export function humanDay(day) {
  const [y, m, d] = String(day).split("-").map(Number);
  if (!y || !m || !d) return String(day ?? "");
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return i18n.lang === "zh" ? `${y}年${m}月${d}日（${WEEKDAYS_ZH[weekday]}）` : `${WEEKDAYS_EN[weekday]} ${d} ${MONTHS[m - 1]} ${y}`;
}
