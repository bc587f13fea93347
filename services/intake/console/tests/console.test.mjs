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
  // Calendar time, said so: the fallback when routing cannot say the working time left.
  assert.equal(countdown("2026-12-02T05:30:00Z", start).text, "剩余 3 小时 30 分钟（自然时间）");
  assert.equal(countdown("2026-12-03T05:00:00Z", start).text, "剩余 1 天 3 小时（自然时间）");
  assert.equal(countdown("2026-12-02T00:00:00Z", start).text, "已超时 2 小时（自然时间）");
  assert.equal(span((12) * 60000), "12 分钟");
  setLang("en");
  assert.equal(countdown("2026-12-03T05:00:00Z", start).text, "1 d 3 h left (calendar time)");
  assert.equal(countdown("2026-12-02T00:00:00Z", start).text, "2 h overdue (calendar time)");
  setLang("zh");
  assert.equal(countdown("2026-12-05T02:00:00Z", start, { stopped: true }).text, "已停止");
  // A paused clock stands still, even past its due time: no countdown, no overdue colour.
  const paused = countdown("2026-12-01T02:00:00Z", start, { paused: true });
  assert.deepEqual([paused.level, paused.text], ["stopped", "暂停计时（等待群众）"]);
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

test("working time left, as routing counts it: working days, hours, minutes, coloured as it runs out", async () => {
  const { workingSpan, workingCountdown } = await import("../js/format.js");
  setLang("zh");
  const day = 450; // routing's workday_minutes: 09:00-12:00 and 13:30-18:00
  const left = (minutes, overdue = minutes < 0) => workingCountdown({ working_minutes_left: minutes, overdue }, day);
  assert.equal(left(450 + 180).text, "剩余 1 个工作日 3 小时");
  assert.equal(left(120).text, "剩余 2 小时");
  assert.equal(left(140).text, "剩余 2 小时 20 分钟");
  assert.equal(left(12.4).text, "剩余 12 分钟");
  assert.equal(left(3 * 450 + 20).text, "剩余 3 个工作日"); // minutes are not shown beside days
  assert.equal(left(-(450 + 120)).text, "已超时 1 个工作日 2 小时");
  assert.equal(left(-120).text, "已超时 2 小时");
  assert.equal(left(0, true).text, "已超时 0 分钟"); // due at Friday's close, seen on Saturday
  assert.equal(left(0, false).text, "剩余 0 分钟"); // due at Monday's opening, seen on Sunday
  assert.deepEqual(
    [left(2 * 450).level, left(450).level, left(449).level, left(30).level, left(0, false).level, left(-1).level, left(0, true).level],
    ["ok", "ok", "soon", "soon", "soon", "overdue", "overdue"],
  );
  assert.equal(workingCountdown({ working_minutes_left: 2 * 450, overdue: false }, day, { atRisk: true }).level, "soon");
  const paused = workingCountdown({ working_minutes_left: -30, overdue: true }, day, { paused: true });
  assert.equal(paused.text, "暂停计时（等待群众）");
  assert.equal(paused.level, "stopped");
  assert.deepEqual(workingCountdown({ working_minutes_left: 900, overdue: false }, day, { stopped: true }).level, "stopped");
  assert.equal(workingCountdown(undefined, day), null);
  assert.ok(!left(450 + 180).text.includes("自然时间")); // working time is not calendar time
  // A calendar of another length: an 8-hour working day.
  assert.equal(workingSpan(480 + 60, 480), "1 个工作日 1 小时");
  setLang("en");
  assert.equal(left(450 + 180).text, "1 working day 3 h left");
  assert.equal(left(2 * 450 + 60).text, "2 working days 1 h left");
  assert.equal(left(140).text, "2 h 20 min left");
  assert.equal(left(-(450 + 120)).text, "1 working day 2 h overdue");
  setLang("zh");
});

test("the working time left is asked of routing once per list, and falls back to calendar time", async () => {
  const { session } = await import("../js/api.js");
  const { workingTimeLeft, CALENDAR_TIME } = await import("../js/timeleft.js");
  const { clockLeft } = await import("../js/ui.js");
  setLang("zh");
  syncClock("2026-12-02T02:00:00Z", "Asia/Shanghai");
  session.urls.routing = "http://routing.test";
  const asked = [];
  globalThis.fetch = async (url, init) => {
    asked.push([url, init.method, JSON.parse(init.body)]);
    const { dues } = JSON.parse(init.body);
    const items = dues.map((due, i) => ({ due, working_minutes_left: [630, -120][i] ?? 60, overdue: i === 1 }));
    return new Response(JSON.stringify({ at: "2026-12-02T10:00:00+08:00", workday_minutes: 450, items }), {
      status: 200, headers: { "content-type": "application/json" },
    });
  };
  const a = "2026-12-03T10:00:00+08:00", b = "2026-12-02T09:00:00+08:00";
  const working = await workingTimeLeft([a, b, a, null, undefined]);
  assert.deepEqual(asked, [["http://routing.test/v1/calendar/time-left", "POST", { dues: [a, b] }]]);
  assert.equal(working.workdayMinutes, 450);
  const shown = clockLeft(a, null, { working }).text;
  assert.match(shown, /class="countdown ok working"/);
  assert.match(shown, /剩余 1 个工作日 3 小时/);
  assert.match(clockLeft(b, null, { working }).text, /class="countdown overdue working"[^>]*>已超时 2 小时</);
  // A due time routing was not asked about, or routing unreachable: calendar time, said so.
  assert.match(clockLeft("2026-12-02T05:30:00Z", null, { working }).text, /calendar"[^>]*>剩余 3 小时 30 分钟（自然时间）</);
  globalThis.fetch = async () => { throw new TypeError("Failed to fetch"); };
  const none = await workingTimeLeft([a]);
  assert.equal(none, CALENDAR_TIME);
  assert.match(clockLeft(a, null, { working: none }).text, /（自然时间）/);
  globalThis.fetch = async () => new Response("{}", { status: 503, headers: { "content-type": "application/json" } });
  assert.equal(await workingTimeLeft([a]), CALENDAR_TIME);
  assert.equal(await workingTimeLeft([]), CALENDAR_TIME);
});

const { splitList, joinList, parseDays, compactDays } = await import("../js/lists.js");
const { humanDay } = await import("../js/format.js");

test("an admin's lists: keywords split on 、，, and new lines; examples one a line", () => {
  assert.deepEqual(splitList("噪音、噪声，扰民\n 施工 ,噪音;；"), ["噪音", "噪声", "扰民", "施工"]);
  assert.deepEqual(splitList("夜里施工，吵得睡不着\n广场舞音响太响", { lines: true }), ["夜里施工，吵得睡不着", "广场舞音响太响"]);
  assert.deepEqual(splitList(""), []);
  assert.equal(joinList(["噪音", "噪声"]), "噪音、噪声");
  assert.equal(joinList(["a", "b"], { lines: true }), "a\nb");
});

test("a notice's days: dates and ranges, repeats dropped, what is not a date told", () => {
  const read = parseDays("2027-02-15~2027-02-17\n2027-04-05、2027/5/1 至 2027-05-02, 2027-02-16");
  assert.deepEqual(read.days, ["2027-02-15", "2027-02-16", "2027-02-17", "2027-04-05", "2027-05-01", "2027-05-02"]);
  assert.deepEqual(read.wrong, []);
  assert.deepEqual(parseDays("2027-02-30, 明天, 2027-03-05~2027-03-01").wrong, ["2027-02-30", "明天", "2027-03-05~2027-03-01"]);
  assert.deepEqual(parseDays("2026-12-31~2027-01-02").days, ["2026-12-31", "2027-01-01", "2027-01-02"]);
  assert.deepEqual(compactDays(["2027-04-05", "2027-02-16", "2027-02-15", "2027-02-17"]), ["2027-02-15~2027-02-17", "2027-04-05"]);
  assert.deepEqual(parseDays(compactDays(read.days).join("\n")).days, read.days);
});

test("calendar days read as people write them, with the weekday", () => {
  setLang("zh");
  assert.equal(humanDay("2027-02-15"), "2027年2月15日（星期一）");
  setLang("en");
  assert.equal(humanDay("2027-02-15"), "Mon 15 Feb 2027");
  setLang("zh");
});

test("a conflict (409) is told in Chinese by its error code", async () => {
  const { call, session } = await import("../js/api.js");
  session.urls.routing = "http://routing.test";
  const answer = (error) => async () => ({
    ok: false, status: 409, headers: { get: () => "application/json" }, json: async () => ({ error }),
  });
  setLang("zh");
  globalThis.fetch = answer({ code: "version_conflict", message: "matter x is at version 3, not 2" });
  await assert.rejects(call("routing", "PUT", "/v1/matters/{code}", { path: { code: "x" }, body: {} }), (e) => {
    assert.equal(e.status, 409);
    assert.equal(e.code, "version_conflict");
    assert.equal(e.message, "操作冲突（409）：该事项已被他人修改并保存为新版本，请重新打开后再编辑");
    return true;
  });
  globalThis.fetch = answer({ code: "illegal_transition", message: "closed", current_state: "closed" });
  await assert.rejects(call("routing", "GET", "/v1/rules"), /当前状态不允许此操作（当前状态：已归档）/);
  globalThis.fetch = answer({ code: "conflict", message: "rule r1 already exists" });
  await assert.rejects(call("routing", "GET", "/v1/rules"), /操作冲突（409）：已有相同编号的记录.* — rule r1 already exists/);
});

test("按事项: a page of matters asked of KPI, each shown by its catalogue name with its counts and rates", async () => {
  const { session } = await import("../js/api.js");
  const { loadMatters, matterTable, MATTER_PAGE } = await import("../js/pages/supervisor.js");
  session.urls.kpi = "http://kpi.test";
  const asked = [];
  globalThis.fetch = async (url, init) => {
    asked.push([url, init.method]);
    return new Response(JSON.stringify({ period: "2026-11", department: null, items: [], next_cursor: null }), {
      status: 200, headers: { "content-type": "application/json" },
    });
  };
  await loadMatters("2026-11", null);
  await loadMatters("2026-11", "eyJtIjoxfQ");
  assert.deepEqual(asked, [
    [`http://kpi.test/v1/kpis/matters?period=2026-11&limit=${MATTER_PAGE}`, "GET"],
    [`http://kpi.test/v1/kpis/matters?period=2026-11&limit=${MATTER_PAGE}&cursor=eyJtIjoxfQ`, "GET"],
  ]);
  const ratio = (rate) => ({ numerator: 0, denominator: 0, rate });
  const rows = [
    {
      matter: "water.outage", name: "停水", department: null, counts: { routed: 3, resolved: 2, overdue_open: 1 },
      on_time_resolution: ratio(0.5), satisfaction: ratio(null), handling_accuracy: ratio(1), returns: { count: 1, ...ratio(0.25) }, score: 86.5,
    },
    { matter: "old.retired", name: null, counts: {}, returns: {}, score: null },
  ];
  setLang("zh");
  const zh = matterTable(rows).text;
  for (const head of ["事项名称", "派单", "办结", "超期未结", "按时办结率", "满意率", "办理准确率", "退单率", "得分"]) {
    assert.match(zh, new RegExp(`<th>${head}</th>`));
  }
  assert.match(zh, /data-matter="water.outage">停水<\/span> <span class="muted">water.outage/);
  assert.match(zh, /data-count="water.outage.routed">3</);
  assert.match(zh, /data-count="water.outage.overdue_open">1</);
  assert.match(zh, /data-rate="water.outage.on_time_resolution">50.0%</);
  assert.match(zh, /data-rate="water.outage.satisfaction">–</);
  assert.match(zh, /<td>25.0%<\/td>/);
  assert.match(zh, /data-score="water.outage">86.5</);
  // A matter the catalogue does not name (routing unreachable): its code, said so.
  assert.match(zh, /data-matter="old.retired">（派单目录未收录）/);
  assert.match(zh, /data-count="old.retired.routed">0</);
  setLang("en");
  const en = matterTable(rows).text;
  assert.match(en, /<th>Matter<\/th>/);
  assert.match(en, /<th>Return rate<\/th>/);
  assert.equal(t("byMatter"), "By matter");
  setLang("zh");
  assert.equal(t("byMatter"), "按事项");
  assert.match(matterTable([]).text, /暂无记录/);
});

test("the materials checklist tells what intake would still refuse: missing, a scan of the wrong type, too large", async () => {
  const { problems, problemWords } = await import("../js/materials.js");
  const { timeline } = await import("../js/ui.js");
  setLang("zh");
  const required = [
    { code: "id_card", name: "身份证", mandatory: true, media_types: ["image/jpeg", "application/pdf"], max_size: 100 },
    { code: "lease", name: "租赁合同或房产证明", mandatory: true },
    { code: "photo", name: "近期免冠照片", mandatory: true, media_types: ["image/jpeg"] },
    { code: "extra", name: "其他证明", mandatory: false },
  ];
  const state = (entries) => new Map(entries);
  assert.deepEqual(problems(required, state([])).map((p) => p.code), ["id_card", "lease", "photo"]);
  // Ticked without a scan where a file is wanted: intake's wrong_media_type.
  const ticked = problems(required, state([["id_card", { received: true, file: null }], ["lease", { received: true, file: null }]]));
  assert.deepEqual(ticked.map((p) => [p.code, p.reason]), [["id_card", "wrong_media_type"], ["photo", "missing"]]);
  assert.equal(problemWords(ticked, required), "缺少材料：近期免冠照片；需上传扫描件（JPG/PDF）：身份证");
  const big = problems(required, state([["id_card", { received: true, file: { type: "application/pdf", size: 101 } }]]));
  assert.equal(big[0].reason, "too_large");
  const done = problems(required, state([
    ["id_card", { received: true, file: { type: "image/jpeg", size: 50 } }], ["lease", { received: true, file: null }],
    ["photo", { received: true, file: { type: "image/jpeg", size: 5000 } }],
  ]));
  assert.deepEqual(done, []);
  assert.equal(problemWords(done, required), "材料齐全");
  // The timeline names what is missing and what was added, never [object Object] or a code.
  learnDepartments([{ code: "urban", name: "城市管理局 (urban management)" }]);
  const names = { photo: "近期免冠照片" };
  const text = timeline([
    { type: "request.incomplete", occurred_at: "2026-12-02T02:00:00Z", actor: { id: "system" }, data: { missing: [{ code: "photo", name: "近期免冠照片", reason: "missing" }] } },
    { type: "request.supplemented", occurred_at: "2026-12-02T03:00:00Z", actor: { id: "agent-007" }, data: { materials: ["photo"] } },
    { type: "request.returned", occurred_at: "2026-12-02T04:00:00Z", actor: { id: "h-1" }, data: { department: "environment", reason: "不归我们", belongs_to_department: "urban" } },
  ], { materialName: (c) => names[c] || c }).text;
  assert.match(text, /缺少材料：近期免冠照片/);
  assert.match(text, /补充材料：近期免冠照片/);
  assert.match(text, /应由：<span class="dept" data-dept="urban">城市管理局<\/span>/);
  assert.doesNotMatch(text, /object Object/);
});

test("the timeline says who did it in words: 系统, a channel by name, staff by name with their id", async () => {
  const { actorWords } = await import("../js/ui.js");
  setLang("zh");
  assert.equal(actorWords({ kind: "system", id: "system" }), "系统");
  assert.equal(actorWords({ kind: "channel", id: "hotline" }), "12345 热线");
  assert.equal(actorWords({ kind: "staff", id: "agent-007" }, (i) => (i === "agent-007" ? "李娜" : null)), "李娜（agent-007）");
  assert.equal(actorWords({ kind: "staff", id: "h-9" }), "h-9"); // not in the directory: the id
  setLang("en");
  assert.equal(actorWords({ kind: "system", id: "system" }), "system");
  setLang("zh");
});
