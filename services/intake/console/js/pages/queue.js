// 承办单位: the department's queue with every clock's time left, filters, orders, extensions.
import { html, render, $, on, formValues } from "../dom.js";
import { t, label } from "../i18n.js";
import { months, pct } from "../format.js";
import { call } from "../api.js";
import { toast, card, badge, dept, caseLink, time, table, options, field, pagedList, clockLeft } from "../ui.js";
import { workingTimeLeft, pagedWithTimeLeft } from "../timeleft.js";

const STATES = ["routed", "accepted", "in_progress", "resolved"];

function filters() {
  return html`<form id="filters" class="filters">
    ${field(t("state"), html`<select name="state"><option value="">${t("all")}</option>
      ${STATES.map((s) => html`<option value="${s}">${label("state", s)}</option>`)}</select>`)}
    ${field(t("urgency"), html`<select name="urgency">${options("urgency", "", { blank: t("all") })}</select>`)}
    <label class="check"><input type="checkbox" name="overdue"> ${t("onlyOverdue")}</label>
    <label class="check"><input type="checkbox" name="at_risk"> ${t("onlyAtRisk")}</label>
    <label class="check"><input type="checkbox" name="mine"> ${t("mineOnly")}</label>
  </form>`;
}

function queueTable(items, atRisk, working) {
  return table(
    [
      [t("id"), (c) => caseLink(c.request_id)],
      [t("urgency"), (c) => (c.urgency === "urgent" ? badge("urgency", "urgent") : label("urgency", c.urgency))],
      [t("state"), (c) => html`${badge("state", c.state)} <span class="muted">${label("role", c.role)}</span>`],
      [t("category"), (c) => label("category", c.category)],
      [`${t("timeLeft")}·${label("clock", "accept")}`, (c) => (c.state === "routed" ? clockLeft(c.due?.accept, c.routed_at, { atRisk: atRisk.has(c.request_id), showDue: true, working }) : html`<span class="muted">—</span>`)],
      [`${t("timeLeft")}·${label("clock", "resolve")}`, (c) => clockLeft(c.due?.resolve, c.routed_at, { atRisk: atRisk.has(c.request_id), paused: c.state === "paused", showDue: true, working })],
      [t("routedAt"), (c) => time(c.routed_at)],
      [t("handler"), (c) => c.handler_id || ""],
      [t("actions"), (c) => (c.state === "routed" ? html`<button class="act accept" data-id="${c.request_id}">${t("accept")}</button>` : html`<a class="act-link" href="#/case/${c.request_id}">${t("caseActions")}</a>`)],
    ],
    items,
    {
      rowClass: (c) => [c.urgency === "urgent" ? "urgent" : "", atRisk.has(c.request_id) ? "at-risk" : ""].join(" "),
      rowAttrs: (c) => html`data-id="${c.request_id}"`,
    },
  );
}

export async function queuePage(main, { me }) {
  render(main, html`<h2>${t("queue")} · ${dept(me.department)}</h2>
    ${card(t("filters"), filters())}
    ${card(t("queue"), html`<div id="cases"></div>`)}
    ${card(t("orders"), html`<div id="orders"></div>`)}`);
  let atRisk = new Set();
  let working;
  const query = () => {
    const v = formValues($("#filters"));
    return { state: v.state, urgency: v.urgency, overdue: v.overdue || undefined, at_risk: v.at_risk || undefined, handler: v.mine ? me.sub : undefined };
  };
  const list = pagedList($("#cases"), async (cursor) => {
    const [page, risky] = await Promise.all([
      call("handling", "GET", "/v1/cases", { query: { limit: 20, cursor, ...query() } }),
      call("handling", "GET", "/v1/cases", { query: { limit: 200, at_risk: true } }),
    ]);
    atRisk = new Set(risky.items.map((c) => c.request_id));
    // One call to routing for every clock on the page: the working time left on each.
    working = await workingTimeLeft(page.items.flatMap((c) => [c.state === "routed" ? c.due?.accept : null, c.due?.resolve]));
    return page;
  }, (items) => queueTable(items, atRisk, working));
  // The department's open supervision orders, soonest due first, paged.
  const orders = pagedWithTimeLeft($("#orders"),
    (cursor) => call("handling", "GET", "/v1/supervision-orders", { query: { open_only: true, limit: 20, cursor } }),
    (items) => items.map((o) => o.due),
    (items, working) => table([
      [t("id"), (o) => caseLink(o.request_id)],
      [t("instructions"), (o) => o.instructions],
      [t("orderDue"), (o) => clockLeft(o.due, o.issued_at || o.created_at, { working })],
      [t("answer"), (o) => html`<form class="answer-order inline" data-id="${o.id}"><input name="answer" required aria-label="${t("answer")}"><button class="act">${t("answer")}</button></form>`],
    ], items));
  const showOrders = () => ($("#orders").contains(document.activeElement) ? null : orders.refresh());
  $("#filters").addEventListener("change", () => list.first());
  on($("#cases"), "click", "button.accept", async (event, button) => {
    try {
      await call("handling", "POST", "/v1/cases/{request_id}/accept", { path: { request_id: button.dataset.id }, body: {} });
      toast(t("done", { what: t("accept") }));
      await list.refresh();
    } catch (e) {
      toast(e.message, true);
    }
  });
  on($("#orders"), "submit", "form.answer-order", async (event, form) => {
    event.preventDefault();
    try {
      await call("handling", "POST", "/v1/supervision-orders/{order_id}/answer", { path: { order_id: form.dataset.id }, body: formValues(form) });
      toast(t("done", { what: t("answer") }));
      await orders.refresh();
    } catch (e) {
      toast(e.message, true);
    }
  });
  await Promise.all([list.refresh(), showOrders()]);
  return { refresh: () => Promise.all([list.refresh(), showOrders()]) };
}

const RECTIFY = ["rectified", "explained", "disputed"];

export async function extensionsPage(main, { me }) {
  render(main, html`<h2>${t("nav.extensions")} · ${dept(me.department)}</h2>
    ${card(t("extensions"), html`<div id="extensions"></div>`)}
    ${card(t("rectifications"), html`<div id="rectifications"></div>`)}
    ${card(t("teamKpis"), html`<div id="team"></div>`)}`);
  const list = pagedList($("#extensions"),
    (cursor) => call("handling", "GET", "/v1/extensions", { query: { state: "pending", limit: 20, cursor } }),
    (items) => table([
      [t("id"), (x) => caseLink(x.request_id)],
      [t("clockName"), (x) => label("clock", x.clock)],
      [t("requestedDue"), (x) => time(x.requested_due)],
      [t("reason"), (x) => x.reason],
      [t("requestedBy"), (x) => html`${x.requested_by} · ${time(x.requested_at)}`],
      [t("actions"), (x) => html`<form class="decide inline" data-id="${x.id}"><input name="note" placeholder="${t("note")}" aria-label="${t("note")}">
        <button class="act approve" name="approve" value="1">${t("approve")}</button><button class="act reject" name="approve" value="0">${t("reject")}</button></form>`],
    ], items, { rowAttrs: (x) => html`data-id="${x.request_id}"` }));
  // The department's staff (routing's directory): names for the rectifications and the team.
  const staff = (await call("routing", "GET", "/v1/staff", { query: { department: me.department, limit: 500 } })).items;
  const staffName = (id) => {
    const s = staff.find((x) => x.id === id);
    return s ? html`${s.name} <span class="muted">${s.id}</span>` : id;
  };
  // 差评整改: each bad staff rating of the department's staff to rectify by its due (paged).
  const rectifications = pagedWithTimeLeft($("#rectifications"),
    (cursor) => call("followup", "GET", "/v1/rectifications", { query: { open_only: true, limit: 20, cursor } }),
    (items) => items.map((r) => r.due),
    (items, working) => table([
    [t("handler"), (r) => staffName(r.staff_id)],
    [t("ratedAt"), (r) => time(r.created_at)],
    [t("orderDue"), (r) => clockLeft(r.due, r.created_at, { working, showDue: true })],
    [t("actions"), (r) => html`<form class="rectify inline" data-id="${r.id}">
      <select name="outcome" aria-label="${t("outcome")}">${RECTIFY.map((o) => html`<option value="${o}">${label("rectification", o)}</option>`)}</select>
      <input name="note" required placeholder="${t("rectifyNote")}" aria-label="${t("rectifyNote")}"><button class="act">${t("save")}</button></form>`],
  ], items, { rowAttrs: (r) => html`data-id="${r.id}" data-staff="${r.staff_id}"` }));
  const showRectifications = () => rectifications.refresh();
  const showTeam = async () => {
    const period = months(1)[0];
    const figures = await Promise.all(staff.map((s) => call("kpi", "GET", "/v1/staff/{staff_id}/kpis", { path: { staff_id: s.id }, query: { period } }).catch(() => null)));
    render("#team", table([
      [t("handler"), (row) => html`${row.s.name} <span class="muted">${row.s.id}</span>`],
      [t("casesHandled"), (row) => row.f?.cases_handled ?? "–"],
      [label("rate", "on_time_resolution"), (row) => pct(row.f?.on_time?.rate)],
      [label("rate", "satisfaction"), (row) => pct(row.f?.request_satisfaction?.rate)],
      [t("serviceRatings"), (row) => html`<span data-ratings="${row.s.id}">${row.f?.service_ratings?.total ?? "–"}</span>`],
    ], staff.map((s, i) => ({ s, f: figures[i] })), { rowAttrs: (row) => html`data-staff="${row.s.id}"` }));
  };
  on($("#extensions"), "submit", "form.decide", async (event, form) => {
    event.preventDefault();
    const approve = event.submitter?.value === "1";
    try {
      await call("handling", "POST", "/v1/extensions/{extension_id}/decision", {
        path: { extension_id: form.dataset.id }, body: { approve, ...(form.elements.note.value ? { note: form.elements.note.value } : {}) },
      });
      toast(t("decided") + "：" + (approve ? t("approve") : t("reject")));
      await list.refresh();
    } catch (e) {
      toast(e.message, true);
    }
  });
  on($("#rectifications"), "submit", "form.rectify", async (event, form) => {
    event.preventDefault();
    try {
      await call("followup", "POST", "/v1/rectifications/{rectification_id}/outcome", { path: { rectification_id: form.dataset.id }, body: formValues(form) });
      toast(t("rectified", { who: staff.find((x) => x.id === form.closest("tr")?.dataset.staff)?.name || "", outcome: label("rectification", form.elements.outcome.value) }));
      await showRectifications();
    } catch (e) {
      toast(e.message, true);
    }
  });
  const refresh = () => Promise.all([list.refresh(), showRectifications(), showTeam()]);
  await refresh();
  // Polled, but a list the head is typing a note in is left alone.
  const typing = (sel) => $(sel).contains(document.activeElement);
  return { refresh: () => Promise.all([typing("#extensions") ? null : list.refresh(), typing("#rectifications") ? null : showRectifications()]) };
}
