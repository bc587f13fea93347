// Administration: departments, the dispatch rules, SLA policies, the calendar, the business
// catalogue, channel keys; and the knowledge base's approvals.
import { html, render, $, on, formValues } from "../dom.js";
import { t, label, bilingual } from "../i18n.js";
import { call } from "../api.js";
import { months, now } from "../format.js";
import { toast, card, dept, time, table, field, options } from "../ui.js";

const yesNo = (v) => (v ? t("yes") : t("no"));

function days(n) {
  const out = [];
  for (let i = 0; i < n; i += 1) out.push(new Date(now() + i * 86400000 + 8 * 3600000).toISOString().slice(0, 10));
  return out;
}

const thisYear = () => Number(months(1)[0].slice(0, 4)); // in the organisation's zone

/** The banner while a year's calendar is still provisional (routing's calendar years). */
function provisionalBanner(years) {
  if (!years.length) return html``;
  return html`<div class="banner warn">${years.map((y) => html`<p class="provisional-year" data-year="${y.year}">
    <strong>${t("calendarProvisional", { year: y.year })}</strong> ${t("calendarProvisionalWhy")}</p>`)}
    <p class="muted">${t("calendarProvisionalTodo")}</p></div>`;
}

export async function adminPage(main) {
  render(main, html`<h2>${t("nav.admin")}</h2>
    <div id="calendar-banner" role="status"></div>
    <div class="case-grid">
      ${card(t("departments"), html`<div id="departments"></div>`)}
      ${card(t("slaPolicies"), html`<div id="policies"></div>`)}
    </div>
    ${card(t("rules"), html`<div id="rules"></div>`)}
    <div class="case-grid">
      ${card(t("calendar"), html`<div id="calendar"></div>`)}
      ${card(t("channelKeys"), html`<form id="new-key" class="filters">
          ${field(t("channel"), html`<select name="channel">${options("channel", "web")}</select>`)}
          ${field(t("label"), html`<input name="label">`)}<button class="act">${t("createKey")}</button></form>
        <div id="new-key-shown"></div><div id="keys"></div>`)}
    </div>
    ${card(t("catalog"), html`<div id="catalog"></div>`)}`);
  const show = async () => {
    const [departments, rules, policies, keys, catalog, calendar, years] = await Promise.all([
      call("routing", "GET", "/v1/departments"),
      call("routing", "GET", "/v1/rules"),
      call("routing", "GET", "/v1/sla-policies"),
      call("intake", "GET", "/v1/channel-keys"),
      call("intake", "GET", "/v1/catalog"),
      Promise.all(days(21).map((day) => call("routing", "GET", "/v1/calendar/days/{day}", { path: { day } }))),
      call("routing", "GET", "/v1/calendar/years"),
    ]);
    const provisional = new Set(years.items.filter((y) => y.provisional).map((y) => y.year));
    render("#calendar-banner", provisionalBanner(years.items.filter((y) => y.provisional && y.year >= thisYear())));
    render("#departments", table([
      [t("code"), (d) => d.code], [t("department"), (d) => dept(d.code)], [t("head"), (d) => d.head || ""],
      [t("coordinating"), (d) => yesNo(d.coordinating)],
    ], departments.items));
    render("#rules", table([
      [t("id"), (r) => r.id], [t("priority"), (r) => r.priority], [t("match"), (r) => JSON.stringify(r.match)],
      [t("lead"), (r) => dept(r.lead_department)], [t("coHandlers"), (r) => (r.co_departments || []).map((c) => dept(c))],
    ], rules.items));
    render("#policies", table([
      [t("code"), (p) => p.scope], [t("urgency"), (p) => label("urgency", p.urgency)], [t("clockName"), (p) => label("clock", p.clock)],
      [t("due"), (p) => `${p.amount} ${p.unit}`], [t("warnAt"), (p) => (p.warning_fraction ? `${Math.round(p.warning_fraction * 100)}%` : "")],
    ], policies.items));
    render("#calendar", html`<ul class="calendar">${calendar.map((d) => html`<li class="${d.workday ? "workday" : "holiday"}">
      <span>${d.day}</span> ${d.workday ? t("workday") : t("holiday")}${provisional.has(Number(d.day.slice(0, 4))) ? t("provisional") : ""}${d.edited ? " ✎" : ""}
      <button type="button" class="act toggle-day" data-day="${d.day}" data-workday="${d.workday ? "1" : "0"}">⇄</button></li>`)}</ul>`);
    render("#keys", table([
      [t("channel"), (k) => label("channel", k.channel)], [t("label"), (k) => k.label || ""], [t("active"), (k) => yesNo(k.active)],
      [t("receivedAt"), (k) => time(k.created_at)],
      [t("actions"), (k) => (k.active ? html`<button type="button" class="act revoke" data-id="${k.key_id}">${t("revoke")}</button>` : "")],
    ], keys.items));
    render("#catalog", table([
      [t("code"), (c) => c.code], [t("businessType"), (c) => bilingual(c.name)], [t("version"), (c) => c.version],
      [t("deadlineClass"), (c) => c.deadline_class || ""], [t("materials"), (c) => c.materials.map((m) => m.name).join("、")],
    ], catalog.items));
  };
  const guard = (fn) => async (...args) => {
    try {
      await fn(...args);
      await show();
    } catch (e) {
      toast(e.message, true);
    }
  };
  on(main, "click", "button.toggle-day", guard(async (event, button) => {
    await call("routing", "PUT", "/v1/calendar/days/{day}", { path: { day: button.dataset.day }, body: { workday: button.dataset.workday !== "1" } });
  }));
  on(main, "click", "button.revoke", guard(async (event, button) => {
    await call("intake", "DELETE", "/v1/channel-keys/{key_id}", { path: { key_id: button.dataset.id } });
  }));
  on(main, "submit", "#new-key", async (event, form) => {
    event.preventDefault();
    await guard(async () => {
      const made = await call("intake", "POST", "/v1/channel-keys", { body: formValues(form) });
      render("#new-key-shown", html`<p class="warn">${t("keyCreated", { key: made.api_key || made.key || "" })}</p>`);
    })();
  });
  await show();
  return null;
}

export async function kbPage(main, { me }) {
  render(main, html`<h2>${t("kb")}</h2>${card(t("kb"), html`<div id="articles"></div>`)}`);
  const show = async () => {
    const submitted = await call("intake", "GET", "/v1/kb/articles", { query: { status: "pending", limit: 100 } });
    render("#articles", table([
      [t("id"), (a) => a.id], [t("kind"), (a) => a.kind], [t("question"), (a) => a.question],
      [t("answer"), (a) => html`<span class="snippet">${a.answer}</span>`], [t("department"), (a) => dept(a.department)],
      [t("status"), (a) => label("state", a.status)], [t("receivedAt"), (a) => time(a.updated_at)],
      [t("actions"), (a) => html`<button class="act kb-approve" data-id="${a.id}">${t("approve")}</button><button class="act kb-reject" data-id="${a.id}">${t("reject")}</button>`],
    ], submitted.items));
  };
  on(main, "click", "button.kb-approve, button.kb-reject", async (event, button) => {
    const action = button.classList.contains("kb-approve") ? "approve" : "reject";
    try {
      await call("intake", "POST", "/v1/kb/articles/{article_id}/{action}", { path: { article_id: button.dataset.id, action }, body: {} });
      toast(t("done", { what: t(action) }));
      await show();
    } catch (e) {
      toast(e.message, true);
    }
  });
  await show();
  return { refresh: show };
}
