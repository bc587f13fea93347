// 督办: the overdue and at-risk board, supervision orders, rankings, rates, trends, hot spots.
import { html, render, $, on, formValues } from "../dom.js";
import { t, label, bilingual } from "../i18n.js";
import { call } from "../api.js";
import { months, pct, now, localInput, fromLocalInput } from "../format.js";
import { toast, card, dept, caseLink, time, table, field, clockLeft, pagedList } from "../ui.js";
import { pagedWithTimeLeft } from "../timeleft.js";

const RATES = ["acceptance_timeliness", "on_time_resolution", "feedback_timeliness", "handling_accuracy", "satisfaction"];
const COUNTS = ["routed", "accepted", "resolved", "feedback_given", "rated", "closed", "overdue_open"];
// 按事项: the figures of the requests dispatched under each matter (KPI's /v1/kpis/matters).
const MATTER_COUNTS = ["routed", "resolved", "overdue_open"];
const MATTER_RATES = ["on_time_resolution", "satisfaction", "handling_accuracy"];
export const MATTER_PAGE = 20;

/** One page of matters with their figures for the period (next_cursor for the next). */
export const loadMatters = (period, cursor) =>
  call("kpi", "GET", "/v1/kpis/matters", { query: { period, limit: MATTER_PAGE, cursor } });

/** The 按事项 table: the matter's name (its code beside it), counts, rates, returns, score. */
export const matterTable = (items) => table([
  [t("matterName"), (r) => html`<span class="matter" data-matter="${r.matter}">${r.name || t("matterUnnamed")}</span> <span class="muted">${r.matter}</span>`],
  ...MATTER_COUNTS.map((k) => [label("volume", k), (r) => html`<span data-count="${r.matter}.${k}">${r.counts?.[k] ?? 0}</span>`]),
  ...MATTER_RATES.map((k) => [label("rate", k), (r) => html`<span data-rate="${r.matter}.${k}">${pct(r[k]?.rate)}</span>`]),
  [t("returnRate"), (r) => pct(r.returns?.rate)],
  [t("score"), (r) => html`<span data-score="${r.matter}">${r.score ?? "–"}</span>`],
], items);

const clockRows = (rows, overdue, working) => table([
  [t("id"), (c) => caseLink(c.request_id)],
  [t("department"), (c) => dept(c.department)],
  [t("clockName"), (c) => label("clock", c.clock)],
  [t("due"), (c) => time(c.due)],
  [t("timeLeft"), (c) => clockLeft(c.due, c.started_at || c.created_at, { atRisk: !overdue, working })],
  [t("actions"), (c) => html`<button class="act supervise" data-id="${c.request_id}" data-department="${c.department}">${t("supervise")}</button>`],
], rows, { rowClass: () => (overdue ? "overdue" : "at-risk"), rowAttrs: (c) => html`data-id="${c.request_id}"` });

const BOARD_PAGE = 20;

export async function boardPage(main, { me }) {
  render(main, html`<h2>${t("board")}</h2>
    <div class="case-grid">
      ${card(t("overdueClocks"), html`<div id="board"></div>`)}
      ${card(t("atRiskClocks"), html`<div id="risk"></div>`)}
    </div>
    <div id="supervise-box"></div>
    ${card(t("orders"), html`<div id="orders"></div>`)}`);
  // Each list pages on by itself (the APIs' keyset cursors), soonest due first.
  const dues = (items) => items.map((c) => c.due);
  const overdue = pagedWithTimeLeft($("#board"),
    (cursor) => call("handling", "GET", "/v1/overdue", { query: { limit: BOARD_PAGE, cursor } })
      .then((a) => ({ items: a.clocks, next_cursor: a.next_cursor })),
    dues, (items, working) => clockRows(items, true, working));
  const risky = pagedWithTimeLeft($("#risk"),
    (cursor) => call("handling", "GET", "/v1/at-risk", { query: { limit: BOARD_PAGE, cursor } })
      .then((a) => ({ items: a.clocks, next_cursor: a.next_cursor })),
    dues, (items, working) => clockRows(items, false, working));
  const orders = pagedWithTimeLeft($("#orders"),
    (cursor) => call("handling", "GET", "/v1/supervision-orders", { query: { open_only: false, limit: BOARD_PAGE, cursor } }),
    (items) => items.filter((o) => !o.answered_at).map((o) => o.due),
    (items, working) => table([
      [t("id"), (o) => caseLink(o.request_id)],
      [t("department"), (o) => dept(o.department)],
      [t("instructions"), (o) => o.instructions],
      [t("orderDue"), (o) => (o.answered_at ? time(o.due) : clockLeft(o.due, o.issued_at, { working }))],
      [t("answer"), (o) => (o.answered_at ? html`${o.answer} <span class="muted">${time(o.answered_at)}</span>` : html`<span class="muted">—</span>`)],
    ], items, { rowClass: (o) => (o.answered_at ? "" : "open"), rowAttrs: (o) => html`data-id="${o.request_id}"` }));
  const show = () => Promise.all([overdue.refresh(), risky.refresh(), orders.refresh()]);
  on(main, "click", "button.supervise", (event, button) => {
    if (me.role !== "supervisor") return toast(t("failed"), true);
    render("#supervise-box", card(t("supervise"), html`<form id="supervise" data-id="${button.dataset.id}" data-department="${button.dataset.department}">
      <p>${caseLink(button.dataset.id)} · ${dept(button.dataset.department)}</p>
      ${field(t("instructions"), html`<textarea name="instructions" required>请于两个工作日内办结并报告办理情况</textarea>`)}
      ${field(t("orderDue"), html`<input type="datetime-local" name="due" required value="${localInput(now() + 2 * 86400000)}">`)}
      <button class="primary" type="submit">${t("supervise")}</button></form>`));
    $("#supervise textarea").focus();
  });
  on(main, "submit", "#supervise", async (event, form) => {
    event.preventDefault();
    const v = formValues(form);
    try {
      await call("handling", "POST", "/v1/supervision-orders", {
        body: { request_id: form.dataset.id, department: form.dataset.department, instructions: v.instructions, due: fromLocalInput(v.due) },
      });
      toast(t("issued"));
      render("#supervise-box", html``);
      await show();
    } catch (e) {
      toast(e.message, true);
    }
  });
  await show();
  return { refresh: show };
}

function periodForm(current) {
  return html`<form id="period-form" class="filters">
    ${field(t("period"), html`<select name="period">${months(12).reverse().map((m) => html`<option value="${m}" ${m === current ? "selected" : ""}>${m}</option>`)}</select>`)}
    <button type="button" class="act" id="csv-ranking">${t("exportCsv")} · ${t("ranking")}</button>
    <button type="button" class="act" id="csv-kpis">${t("exportCsv")} · ${t("rates")}</button>
    <button type="button" class="act" id="csv-matters">${t("exportCsv")} · ${t("byMatter")}</button>
  </form>`;
}

async function download(path, period, name) {
  const text = await call("kpi", "GET", path, { query: { period }, accept: "text/csv" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob(["\ufeff" + text], { type: "text/csv;charset=utf-8" }));
  link.download = `${name}-${period}.csv`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

export async function kpiPage(main) {
  const period = months(1)[0];
  render(main, html`<h2>${t("kpi")}</h2>${card(t("period"), periodForm(period))}
    ${card(t("ranking"), html`<div id="ranking"></div>`)}
    ${card(t("volumes"), html`<div id="volumes"></div>`)}
    ${card(t("byMatter"), html`<div id="by-matter"></div>`)}
    ${card(t("accountability"), html`<div id="accountability"></div>`)}`);
  const chosen = () => $("#period-form").elements.period.value;
  const matters = pagedList($("#by-matter"), (cursor) => loadMatters(chosen(), cursor), matterTable);
  const show = async (firstPage = false) => {
    const p = chosen();
    const [ranking, figures, flags] = await Promise.all([
      call("kpi", "GET", "/v1/rankings", { query: { period: p } }),
      call("kpi", "GET", "/v1/kpis", { query: { period: p } }),
      call("kpi", "GET", "/v1/accountability"),
    ]);
    render("#ranking", table([
      [t("rank"), (r) => r.rank ?? "–"],
      [t("department"), (r) => dept(r.department)],
      [t("score"), (r) => html`<span data-score="${r.department}">${r.score ?? "–"}</span>`],
      [t("passed"), (r) => (r.passed === null || r.passed === undefined ? "–" : r.passed ? t("yes") : t("no"))],
      ...RATES.map((k) => [label("rate", k), (r) => pct(r[k])]),
    ], ranking.items, { rowClass: (r) => (r.passed === false ? "overdue" : "") }));
    render("#volumes", table([
      [t("department"), (r) => dept(r.department)],
      ...COUNTS.map((k) => [label("volume", k), (r) => html`<span data-count="${r.department}.${k}">${r.counts?.[k] ?? 0}</span>`]),
    ], figures.items));
    await (firstPage === true ? matters.first() : matters.refresh());
    // 问责清单: a department under the pass line in consecutive months (KPI's flags).
    render("#accountability", table([
      [t("department"), (f) => dept(f.department)],
      [t("flags"), (f) => t("flagWords", { n: f.periods?.length || 1, line: f.pass_line, periods: (f.periods?.length ? f.periods : [f.period]).join("、") })],
      [t("period"), (f) => f.period || ""],
      [t("flaggedAt"), (f) => time(f.flagged_at)],
    ], flags.items, { rowAttrs: (f) => html`data-department="${f.department}"` }));
  };
  // Another month: the matters from their first page again.
  $("#period-form").addEventListener("change", () => show(true).catch((e) => toast(e.message, true)));
  on(main, "click", "#csv-ranking", () => download("/v1/rankings", chosen(), "rankings").catch((e) => toast(e.message, true)));
  on(main, "click", "#csv-kpis", () => download("/v1/kpis", chosen(), "kpis").catch((e) => toast(e.message, true)));
  on(main, "click", "#csv-matters", () => download("/v1/kpis/matters", chosen(), "kpis-by-matter").catch((e) => toast(e.message, true)));
  await show();
  return { refresh: show };
}

// The dispatch catalogue's names of the matters on the hot-spot lists, asked of routing once
// per matter (and kept: a poll asks only for a matter not seen before).
const matterNames = new Map();

async function nameMatters(codes) {
  const unknown = [...new Set(codes)].filter((c) => c && !matterNames.has(c));
  const found = await Promise.all(unknown.map((code) => call("routing", "GET", "/v1/matters/{code}", { path: { code } }).catch(() => null)));
  unknown.forEach((code, i) => matterNames.set(code, found[i]?.name || null));
}

const matterWords = (code) => (matterNames.get(code) ? bilingual(matterNames.get(code)) : t("matterUnnamed"));

export async function trendsPage(main) {
  const { scoreTrend, hotspotBars } = await import("../charts.js");
  const period = months(1)[0];
  render(main, html`<h2>${t("nav.trends")}</h2>
    ${card(t("chartTrend"), html`<div id="trend-chart" class="chart"></div>`)}
    <div class="case-grid">
      ${card(t("chartMatters"), html`<div id="matters-chart" class="chart"></div><div id="hot-matters"></div>`)}
      ${card(t("chartMatterAreas"), html`<div id="matter-areas"></div>`)}
      ${card(t("chartTopics"), html`<div id="topics-chart" class="chart"></div><div id="topics"></div>`)}
      ${card(t("chartAreas"), html`<div id="areas-chart" class="chart"></div><div id="areas"></div>`)}
    </div>`);
  const show = async () => {
    const span = months(6);
    const [history, spots] = await Promise.all([
      Promise.all(span.map((m) => call("kpi", "GET", "/v1/rankings", { query: { period: m } }))),
      call("kpi", "GET", "/v1/hotspots", { query: { period } }),
    ]);
    scoreTrend($("#trend-chart"), span, history);
    const most = (x) => x?.most || x || [];
    const hotMatters = most(spots.matters), hotPlaces = most(spots.matters_in_areas);
    await nameMatters([...hotMatters.map((r) => r.key), ...hotPlaces.map((r) => r.matter)]);
    const labels = { current: spots.period, previous: spots.previous };
    hotspotBars($("#matters-chart"), hotMatters, { ...labels, name: matterWords });
    hotspotBars($("#topics-chart"), most(spots.topics), { ...labels, name: (k) => k });
    hotspotBars($("#areas-chart"), most(spots.areas), { ...labels, name: (k) => k });
    const rows = (head, items, named, attrs = () => "") => table([
      [head, named], [t("count"), (r) => r.count], [t("growth"), (r) => pct(r.growth)],
    ], items.slice(0, 10), { rowAttrs: attrs }); // as many as the chart draws
    render("#hot-matters", rows(t("matterName"), hotMatters,
      (r) => html`<span class="matter">${matterWords(r.key)}</span> <span class="muted">${r.key}</span>`, (r) => html`data-matter="${r.key}"`));
    render("#matter-areas", rows(t("matterAtPlace"), hotPlaces,
      (r) => html`<span class="matter">${matterWords(r.matter)}</span> · ${r.area}`, (r) => html`data-matter="${r.matter}"`));
    render("#topics", rows(t("topics"), most(spots.topics), (r) => r.key));
    render("#areas", rows(t("areas"), most(spots.areas), (r) => r.key));
  };
  await show();
  return { refresh: show };
}
