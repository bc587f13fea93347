// Unit tests of the console's pure modules, run by node's test runner (`node --test`).
import test from "node:test";
import assert from "node:assert/strict";

globalThis.localStorage = { store: {}, getItem(k) { return this.store[k] ?? null; }, setItem(k, v) { this.store[k] = String(v); } };
globalThis.document = { documentElement: {} };

const { html, escape } = await import("../js/dom.js");
const { t, label, setLang, learnDepartments, departmentName, bilingual } = await import("../js/i18n.js");
const { when, duration, span, countdown, syncClock, months, fromLocalInput, localInput } = await import("../js/format.js");

test("every interpolated value is escaped, nested templates are not escaped twice", () => {
  const evil = `<img src=x onerror="alert(1)">&'`;
  const out = html`<p title="${evil}">${evil}${html`<b>${"<i>"}</b>`}${[1, "<2>"]}</p>`.text;
  assert.equal(out, `<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;<b>&lt;i&gt;</b>1&lt;2&gt;</p>`);
  assert.equal(html`${null}${undefined}${false}`.text, "");
  assert.equal(escape("`"), "&#96;");
});

test("times read in Asia/Shanghai as people write them", () => {
  setLang("zh");
  assert.equal(when("2026-12-11T10:00:00Z"), "2026年12月11日 18:00");
  assert.equal(when("2026-12-31T16:30:00Z"), "2027年1月1日 00:30"); // New Year in Beijing, not in UTC
  setLang("en");
  assert.equal(when("2026-12-11T10:00:00Z"), "11 Dec 2026, 18:00");
  setLang("zh");
  assert.equal(fromLocalInput("2026-12-11T18:00"), "2026-12-11T18:00:00+08:00");
  assert.equal(localInput(Date.parse("2026-12-11T10:00:00Z")), "2026-12-11T18:00");
});

test("durations and countdowns: coloured as the clock runs out, counted from the platform's now", () => {
  setLang("zh");
  assert.equal(duration(((2 * 24 + 3) * 60 + 5) * 60000), "2天3小时");
  assert.equal(duration((3 * 60 + 20) * 60000), "3小时20分");
  assert.equal(duration(12 * 60000), "12分");
  syncClock("2026-12-02T02:00:00Z", "Asia/Shanghai"); // the platform's (pinned) now
  const start = "2026-12-01T02:00:00Z";
  assert.deepEqual(
    [countdown("2026-12-05T02:00:00Z", start).level, countdown("2026-12-02T20:00:00Z", start).level,
      countdown("2026-12-02T06:00:00Z", start).level, countdown("2026-12-02T01:00:00Z", start).level],
    ["ok", "half", "low", "overdue"],
  );
  // Calendar time, said so: the APIs give due instants, not the working time left.
  assert.equal(countdown("2026-12-02T05:30:00Z", start).text, "剩余 3 小时 30 分钟（自然时间）");
  assert.equal(countdown("2026-12-03T05:00:00Z", start).text, "剩余 1 天 3 小时（自然时间）");
  assert.equal(countdown("2026-12-02T00:00:00Z", start).text, "已超时 2 小时（自然时间）");
  assert.equal(span((12) * 60000), "12 分钟");
  setLang("en");
  assert.equal(countdown("2026-12-03T05:00:00Z", start).text, "1 d 3 h left (calendar time)");
  assert.equal(countdown("2026-12-02T00:00:00Z", start).text, "2 h overdue (calendar time)");
  setLang("zh");
  assert.equal(countdown("2026-12-05T02:00:00Z", start, { stopped: true }).text, "已停止");
  assert.deepEqual(months(3), ["2026-10", "2026-11", "2026-12"]);
});

test("labels, states and department names in Chinese, English as the second language", () => {
  learnDepartments([{ code: "urban", name: "城市管理局 (urban management)" }, { code: "x", name: "只有中文" }]);
  setLang("zh");
  assert.equal(label("state", "in_progress"), "办理中");
  assert.equal(label("event", "request.co_opinion_added"), "协办意见");
  assert.equal(departmentName("urban"), "城市管理局");
  assert.equal(t("left", { d: "3 小时" }), "剩余 3 小时（自然时间）");
  assert.equal(bilingual("居住证办理 (residence permit)"), "居住证办理");
  setLang("en");
  assert.equal(label("state", "in_progress"), "In progress");
  assert.equal(departmentName("urban"), "urban management");
  assert.equal(departmentName("x"), "只有中文");
  assert.equal(label("state", "something_new"), "something_new");
  setLang("zh");
});
