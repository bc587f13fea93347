// Administration: departments, the dispatch rules and SLA policies (view, edit, add), the
// calendar (next year's provisional state, the State Council notice), the business
// catalogue, channel keys (the secret shown once, revoke); the dispatch catalogue (事项:
// list, edit with its version, add, retire); and the knowledge base's approvals. Every
// change goes through the services' own APIs (routing, intake).
import { html, render, $, on, formValues } from "../dom.js";
import { t, label, bilingual, values, learnDepartments } from "../i18n.js";
import { call, everyPage } from "../api.js";
import { months, now, humanDay } from "../format.js";
import { splitList, joinList, parseDays, compactDays } from "../lists.js";
import {
  toast, card, dept, time, table, field, options, pagedList, actionForm,
  deptSelect, deptChecks, valueChecks, editorForm, openEditor, closesOnCancel,
} from "../ui.js";

const yesNo = (v) => (v ? t("yes") : t("no"));

function days(n) {
  const out = [];
  for (let i = 0; i < n; i += 1) out.push(new Date(now() + i * 86400000 + 8 * 3600000).toISOString().slice(0, 10));
  return out;
}

const thisYear = () => Number(months(1)[0].slice(0, 4)); // in the organisation's zone

/** Run an action, tell what happened or what went wrong; then `after` (a re-draw). */
const guard = (fn, after) => async (...args) => {
  try {
    await fn(...args);
    if (after) await after();
  } catch (e) {
    toast(e.message, true);
  }
};

/** The banner while a year's calendar is still provisional (routing's calendar years). */
function provisionalBanner(years) {
  if (!years.length) return html``;
  return html`<div class="banner warn">${years.map((y) => html`<p class="provisional-year" data-year="${y.year}">
    <strong>${t("calendarProvisional", { year: y.year })}</strong> ${t("calendarProvisionalWhy")}</p>`)}
    <p class="muted">${t("calendarProvisionalTodo")}</p></div>`;
}

// --- routing rules --------------------------------------------------------------------------
const MATCH_LISTS = [["keywords", "matchKeywords"], ["topic", "matchTopic"], ["area", "matchArea"], ["business_type", "matchBusiness"]];

/** A rule's match in words: 类别：投诉、报修；关键词：噪音、施工. */
function matchWords(m = {}) {
  const bits = [
    m.category?.length && `${t("matchCategory")}：${m.category.map((c) => label("category", c)).join("、")}`,
    m.urgency?.length && `${t("matchUrgency")}：${m.urgency.map((u) => label("urgency", u)).join("、")}`,
    ...MATCH_LISTS.map(([k, word]) => m[k]?.length && `${t(word)}：${m[k].join("、")}`),
  ].filter(Boolean);
  return bits.length ? bits.join("；") : t("anything");
}

function ruleFields(r = {}) {
  const m = r.match || {};
  return html`<div class="row">
      ${field(t("ruleId"), html`<input name="id" value="${r.id || ""}" required pattern="[A-Za-z0-9_.\\-]+" ${r.id ? "readonly" : ""}>`)}
      ${field(t("priority"), html`<input name="priority" type="number" min="0" max="100000" value="${r.priority ?? 100}" required>`)}
      ${field(t("lead"), deptSelect("lead_department", r.lead_department))}
    </div>
    ${field(t("matchCategory"), valueChecks("category", "category", m.category || []))}
    ${field(t("matchUrgency"), valueChecks("urgency", "urgency", m.urgency || []))}
    <div class="row">${MATCH_LISTS.map(([k, word]) => field(`${t(word)}（${t("listHint")}）`, html`<textarea name="${k}" rows="2">${joinList(m[k])}</textarea>`))}</div>
    ${field(t("coHandlers"), deptChecks("co_departments", r.co_departments || []))}
    <label class="check"><input type="checkbox" name="active" ${r.active === false ? "" : "checked"}> ${t("inUse")}</label>`;
}

function ruleBody(form) {
  const v = formValues(form);
  const match = { category: v.category || [], urgency: v.urgency || [] };
  for (const [k] of MATCH_LISTS) match[k] = splitList(v[k]);
  return {
    id: v.id, priority: Number(v.priority), match, lead_department: v.lead_department,
    co_departments: (v.co_departments || []).filter((c) => c !== v.lead_department), active: v.active,
  };
}

// --- SLA policies ---------------------------------------------------------------------------
const SCOPES = ["*", ...values("category")];

const scopeWords = (scope, catalog) => {
  if (scope === "*") return t("scopeAll");
  if (scope.startsWith("business:")) {
    const code = scope.slice("business:".length);
    const entry = catalog.find((c) => c.code === code);
    return t("scopeBusiness", { name: entry ? bilingual(entry.name) : code });
  }
  return label("category", scope);
};

const policyWords = (p) => `${p.amount} ${label("unit", p.unit)}`;

function policyFields(p, catalog) {
  const scopes = [...SCOPES, ...catalog.map((c) => `business:${c.code}`)];
  return html`<div class="row">
      ${field(t("scope"), html`<select name="scope">${scopes.map((s) => html`<option value="${s}" ${s === p?.scope ? "selected" : ""}>${scopeWords(s, catalog)}</option>`)}</select>`)}
      ${field(t("urgency"), html`<select name="urgency">${options("urgency", p?.urgency || "normal")}</select>`)}
      ${field(t("clockName"), html`<select name="clock">${["accept", "first_contact", "resolve", "feedback", "revisit"].map(
        (c) => html`<option value="${c}" ${c === p?.clock ? "selected" : ""}>${label("clock", c)}</option>`)}</select>`)}
    </div><div class="row">
      ${field(t("amount"), html`<input name="amount" type="number" min="0.5" max="1000" step="0.5" value="${p?.amount ?? 1}" required>`)}
      ${field(t("unit"), html`<select name="unit">${options("unit", p?.unit || "working_days")}</select>`)}
      ${field(t("warnPct"), html`<input name="warning" type="number" min="1" max="99" value="${Math.round((p?.warning_fraction ?? 0.8) * 100)}" required>`)}
    </div>`;
}

// --- departments ----------------------------------------------------------------------------
function departmentFields(d = {}) {
  return html`<div class="row">
      ${field(t("code"), html`<input name="code" required pattern="[A-Za-z0-9_.\\-]+" value="${d.code || ""}" ${d.code ? "readonly" : ""}>`)}
      ${field(t("departmentName"), html`<input name="name" required maxlength="200" value="${d.name || ""}" placeholder="城市管理局 (urban management)">`)}
      ${field(t("head"), html`<input name="head" maxlength="100" value="${d.head || ""}">`)}
    </div>
    ${field(t("parentDept"), deptSelect("parent", d.parent, { blank: t("none") }))}
    <label class="check"><input type="checkbox" name="active" ${d.active === false ? "" : "checked"}> ${t("inUse")}</label>
    <label class="check"><input type="checkbox" name="coordinating" ${d.coordinating ? "checked" : ""}> ${t("coordinating")}</label>`;
}

// --- the business catalogue: a business type's name and materials ----------------------------
/** One material's row: code, name, 必交, file types, size limit; a blank row adds one. */
const materialRow = (m, i) => html`<tr class="material-row" data-row="${i}">
    <td><input name="mat_code_${i}" value="${m.code || ""}" pattern="[A-Za-z0-9_.\\-]+" aria-label="${t("materialCode")}" ${m.code ? "readonly" : ""}></td>
    <td><input name="mat_name_${i}" value="${m.name || ""}" maxlength="200" aria-label="${t("materialName")}"></td>
    <td><input type="checkbox" name="mat_mandatory_${i}" aria-label="${t("mandatory")}" ${m.mandatory === false ? "" : "checked"}></td>
    <td><input name="mat_types_${i}" value="${joinList(m.media_types)}" aria-label="${t("mediaTypes")}"></td>
    <td><input name="mat_size_${i}" type="number" min="1" value="${m.max_size ?? ""}" aria-label="${t("maxSize")}"></td>
    <td>${m.code ? html`<input type="checkbox" name="mat_remove_${i}" aria-label="${t("removeMaterial")}">` : ""}</td></tr>`;

function catalogFields(c) {
  const rows = [...(c.materials || []), {}];
  return html`<div class="row">
      ${field(t("catalogName"), html`<input name="name" required maxlength="200" value="${c.name || ""}">`)}
      ${field(t("deadlineClass"), html`<input name="deadline_class" maxlength="100" value="${c.deadline_class || ""}">`)}
    </div>
    ${field(t("description"), html`<textarea name="description" rows="2" maxlength="2000">${c.description || ""}</textarea>`)}
    <h5>${t("materials")}</h5><p class="muted">${t("materialsHint")}</p>
    <table class="materials-editor"><thead><tr><th>${t("materialCode")}</th><th>${t("materialName")}</th><th>${t("mandatory")}</th>
      <th>${t("mediaTypes")}</th><th>${t("maxSize")}</th><th>${t("removeMaterial")}</th></tr></thead>
      <tbody>${rows.map((m, i) => materialRow(m, i))}</tbody></table>
    <label class="check"><input type="checkbox" name="active" ${c.active === false ? "" : "checked"}> ${t("inUse")}</label>`;
}

function catalogBody(form) {
  const v = formValues(form);
  const materials = [];
  for (const row of form.querySelectorAll("tr.material-row")) {
    const i = row.dataset.row;
    const code = v[`mat_code_${i}`], name = v[`mat_name_${i}`];
    if (!code || !name || v[`mat_remove_${i}`]) continue;
    const size = v[`mat_size_${i}`];
    materials.push({ code, name, mandatory: Boolean(v[`mat_mandatory_${i}`]), media_types: splitList(v[`mat_types_${i}`]), ...(size ? { max_size: Number(size) } : {}) });
  }
  return { name: v.name, description: v.description || null, deadline_class: v.deadline_class || null, active: Boolean(v.active), materials };
}

// --- the staff directory (routing) ------------------------------------------------------------
const STAFF_ROLES = ["agent", "handler", "dept_head", "dispatcher", "supervisor", "admin", "ops"];

function staffFields(m) {
  return html`<div class="row">
      ${field(t("staffName"), html`<input name="name" required maxlength="200" value="${m.name || ""}">`)}
      ${field(t("roleName"), html`<select name="role">${STAFF_ROLES.map((r) => html`<option value="${r}" ${r === m.role ? "selected" : ""}>${t(`role.${r}`)}</option>`)}</select>`)}
      ${field(t("department"), deptSelect("department", m.department || "", { blank: t("none") }))}
    </div>
    <label class="check"><input type="checkbox" name="active" ${m.active === false ? "" : "checked"}> ${t("inUse")}</label>`;
}

// --- the page -------------------------------------------------------------------------------
export async function adminPage(main) {
  render(main, html`<h2>${t("nav.admin")}</h2>
    <div id="calendar-banner" role="status"></div>
    <div class="case-grid">
      ${card(t("departments"), html`<div id="department-editor"></div><div id="departments"></div>`, {
        extra: html`<button type="button" class="act new-department">${t("newDepartment")}</button>` })}
      ${card(t("slaPolicies"), html`<div id="policy-editor"></div><div id="policies"></div>`, {
        extra: html`<button type="button" class="act new-policy">${t("editPolicy")}</button>` })}
    </div>
    ${card(t("rules"), html`<div id="rule-editor"></div><div id="rules"></div>`, {
      extra: html`<button type="button" class="act new-rule">${t("newRule")}</button>` })}
    ${card(t("calendar"), html`<div class="case-grid">
        <div><h4>${t("calendarYears")}</h4><div id="calendar-years"></div>
          ${actionForm("notice", t("enterNotice"), html`<div id="notice-fields"></div>`, { primary: t("enterNotice") })}
          <div id="notice-result" aria-live="polite"></div><div id="calendar-year"></div></div>
        <div><h4>${t("nextDays")}</h4><div id="calendar"></div></div></div>`)}
    ${card(t("channelKeys"), html`<form id="new-key" class="filters">
        ${field(t("channel"), html`<select name="channel">${options("channel", "web")}</select>`)}
        ${field(t("label"), html`<input name="label">`)}<button class="act">${t("createKey")}</button></form>
      <div id="new-key-shown" aria-live="polite"></div><div id="keys"></div>`)}
    ${card(t("staffList"), html`<div id="staff-said" aria-live="polite"></div><div id="staff-editor"></div><div id="staff"></div>`)}
    ${card(t("dispatchModels"), html`<div id="models-said" aria-live="polite"></div><div id="models"></div>`, {
      extra: html`<button type="button" class="act train-model">${t("trainNow")}</button>` })}
    ${card(t("personalReads"), html`<form id="reads-filters" class="filters">
        ${field(t("requestIdFilter"), html`<input name="request_id" maxlength="36">`)}
        ${field(t("reader"), html`<input name="reader_id" maxlength="200">`)}
        <button class="act" type="submit">${t("show")}</button></form><div id="reads"></div>`)}
    ${card(t("catalog"), html`<div id="catalog-said" aria-live="polite"></div><div id="catalog-editor"></div><div id="catalog"></div>`)}`);
  let data = {};
  let shownYear = null;

  // 工作人员: routing's directory a page at a time, edited in place (PUT keeps the id).
  let staffShown = [];
  const staffList = pagedList($("#staff"),
    async (cursor) => {
      const page = await call("routing", "GET", "/v1/staff", { query: { limit: 20, cursor } });
      staffShown = page.items;
      return page;
    },
    (items) => table([
      [t("staffId"), (m) => m.id], [t("staffName"), (m) => m.name], [t("roleName"), (m) => t(`role.${m.role}`)],
      [t("department"), (m) => dept(m.department)], [t("inUse"), (m) => yesNo(m.active)],
      [t("actions"), (m) => html`<button type="button" class="act edit-staff" data-id="${m.id}">${t("edit")}</button>`],
    ], items, { rowAttrs: (m) => html`data-staff="${m.id}"` }));
  // The personal-data audit log (who read which request's contact or full text, and why).
  let readFilters = {};
  const reads = pagedList($("#reads"),
    (cursor) => call("intake", "GET", "/v1/personal-data-reads", { query: { ...readFilters, limit: 20, cursor } }),
    (items) => table([
      [t("readAt"), (r) => time(r.at)], [t("id"), (r) => html`<a href="#/case/${r.request_id}">${r.request_id.slice(0, 8)}</a>`],
      [t("reader"), (r) => r.reader_id], [t("readerRole"), (r) => t(`role.${r.reader_role}`)],
      [t("readWhat"), (r) => label("readWhat", r.what)], [t("purpose"), (r) => r.purpose],
    ], items, { rowAttrs: (r) => html`data-request="${r.request_id}" data-what="${r.what}"` }));

  const drawYear = () => {
    const year = data.years.items.find((y) => y.year === shownYear);
    if (!year) return render("#calendar-year", html``);
    render("#calendar-year", html`<h4>${t("calendarYear", { year: year.year })}
        ${year.provisional ? html`<span class="warn">${t("provisional")}</span>` : ""}</h4>
      <p class="muted">${label("calendarSource", year.source)}${year.notice ? html` · ${year.notice}` : ""}</p>
      <h5>${t("daysOff")}（${year.days_off.length}）</h5>
      <ul class="day-list days-off">${year.days_off.map((d) => html`<li data-day="${d}">${humanDay(d)}</li>`)}</ul>
      <h5>${t("makeUpDays")}（${year.make_up_days.length}）</h5>
      <ul class="day-list make-up-days">${year.make_up_days.map((d) => html`<li data-day="${d}">${humanDay(d)}</li>`)}</ul>`);
  };

  const noticeFields = (year) => {
    const y = data.years.items.find((i) => i.year === year) || { days_off: [], make_up_days: [] };
    const choices = [...new Set([thisYear(), thisYear() + 1, ...data.years.items.map((i) => i.year).filter((n) => n >= thisYear())])].sort();
    render("#notice-fields", html`<div class="row">
        ${field(t("noticeYear"), html`<select name="year">${choices.map((n) => html`<option value="${n}" ${n === year ? "selected" : ""}>${n}</option>`)}</select>`)}
        ${field(t("noticeTitle"), html`<input name="notice" required maxlength="500" value="${y.notice || ""}" placeholder="国务院办公厅关于${year}年部分节假日安排的通知（国办发明电〔${year - 1}〕×号）">`, "wide")}
      </div>
      ${field(t("noticeHolidays"), html`<textarea name="holidays" rows="4" required>${compactDays(y.days_off).join("\n")}</textarea>`)}
      ${field(t("noticeWorkdays"), html`<textarea name="workdays" rows="2">${compactDays(y.make_up_days).join("\n")}</textarea>`)}`);
  };

  const show = async () => {
    const [departments, rules, policies, keys, catalog, calendar, years, models] = await Promise.all([
      everyPage("routing", "/v1/departments"),
      call("routing", "GET", "/v1/rules"),
      call("routing", "GET", "/v1/sla-policies"),
      call("intake", "GET", "/v1/channel-keys"),
      call("intake", "GET", "/v1/catalog"),
      Promise.all(days(21).map((day) => call("routing", "GET", "/v1/calendar/days/{day}", { path: { day } }))),
      call("routing", "GET", "/v1/calendar/years"),
      call("routing", "GET", "/v1/dispatch-models"),
    ]);
    learnDepartments(departments.items); // a name just changed reads everywhere at once
    data = { departments: departments.items, rules: rules.items, policies: policies.items, catalog: catalog.items, years };
    const provisional = new Set(years.items.filter((y) => y.provisional).map((y) => y.year));
    const upcoming = years.items.filter((y) => y.provisional && y.year >= thisYear());
    render("#calendar-banner", provisionalBanner(upcoming));
    render("#departments", table([
      [t("department"), (d) => dept(d.code)], [t("code"), (d) => d.code], [t("head"), (d) => d.head || ""],
      [t("coordinating"), (d) => yesNo(d.coordinating)], [t("inUse"), (d) => yesNo(d.active)],
      [t("actions"), (d) => html`<button type="button" class="act edit-department" data-code="${d.code}">${t("edit")}</button>`],
    ], departments.items, { rowAttrs: (d) => html`data-code="${d.code}"` }));
    render("#rules", table([
      [t("ruleId"), (r) => r.id], [t("priority"), (r) => r.priority], [t("match"), (r) => matchWords(r.match)],
      [t("lead"), (r) => dept(r.lead_department)], [t("coHandlers"), (r) => (r.co_departments || []).map((c) => dept(c))],
      [t("inUse"), (r) => yesNo(r.active)],
      [t("actions"), (r) => html`<button type="button" class="act edit-rule" data-id="${r.id}">${t("edit")}</button>`],
    ], rules.items, { rowAttrs: (r) => html`data-id="${r.id}"` }));
    render("#policies", table([
      [t("scope"), (p) => scopeWords(p.scope, catalog.items)], [t("urgency"), (p) => label("urgency", p.urgency)],
      [t("clockName"), (p) => label("clock", p.clock)], [t("due"), policyWords],
      [t("warnAt"), (p) => (p.warning_fraction ? `${Math.round(p.warning_fraction * 100)}%` : "")],
      [t("actions"), (p, i) => html`<button type="button" class="act edit-policy" data-key="${[p.scope, p.urgency, p.clock].join("|")}">${t("edit")}</button>`],
    ], policies.items));
    render("#calendar-years", table([
      [t("noticeYear"), (y) => y.year], [t("source"), (y) => label("calendarSource", y.source)],
      [t("status"), (y) => (y.provisional ? html`<span class="warn">${t("provisional")}</span>` : t("yearFinal"))],
      [t("daysOff"), (y) => y.days_off.length], [t("makeUpDays"), (y) => y.make_up_days.length],
      [t("actions"), (y) => html`<button type="button" class="act show-year" data-year="${y.year}">${t("show")}</button>`],
    ], years.items.filter((y) => y.year >= thisYear() - 1)));
    shownYear ??= upcoming[0]?.year ?? thisYear() + 1;
    drawYear();
    if (!$('details[data-action="notice"]').open) noticeFields(upcoming[0]?.year ?? thisYear() + 1);
    render("#calendar", html`<ul class="calendar">${calendar.map((d) => html`<li class="${d.workday ? "workday" : "holiday"}">
      <span>${humanDay(d.day)}</span> ${d.workday ? t("workday") : t("holiday")}${provisional.has(Number(d.day.slice(0, 4))) ? t("provisional") : ""}${d.edited ? " ✎" : ""}
      <button type="button" class="act toggle-day" data-day="${d.day}" data-workday="${d.workday ? "1" : "0"}">⇄</button></li>`)}</ul>`);
    render("#keys", table([
      [t("channel"), (k) => label("channel", k.channel)], [t("label"), (k) => k.label || ""], [t("keyId"), (k) => k.key_id],
      [t("status"), (k) => (k.active ? t("active") : html`<span class="muted">${t("revoked")}</span>`)],
      [t("createdAt"), (k) => time(k.created_at)],
      [t("actions"), (k) => (k.active ? html`<button type="button" class="act revoke" data-id="${k.key_id}">${t("revoke")}</button>` : "")],
    ], keys.items, { rowAttrs: (k) => html`data-id="${k.key_id}"` }));
    render("#models", table([
      [t("modelVersion"), (m, i) => html`${t("versionN", { n: m.version })}${m === models.items[0] ? html` <strong>${t("modelInUse")}</strong>` : ""}`],
      [t("trainedAt"), (m) => time(m.trained_at)], [t("trainedBy"), (m) => m.trained_by],
      [t("catalogueMatters"), (m) => m.catalogue_matters], [t("historyLabels"), (m) => m.history_labels],
      [t("threshold"), (m) => (m.threshold === null || m.threshold === undefined ? "–" : m.threshold.toFixed(2))],
    ], models.items, { rowAttrs: (m) => html`data-version="${m.version}"` }));
    await Promise.all([
      $("#staff-form") ? null : staffList.refresh(),
      reads.refresh(),
    ]);
    render("#catalog", table([
      [t("businessType"), (c) => bilingual(c.name)], [t("code"), (c) => c.code], [t("version"), (c) => t("versionN", { n: c.version })],
      [t("deadlineClass"), (c) => c.deadline_class || ""],
      [t("materials"), (c) => c.materials.map((m) => `${m.name}${m.mandatory === false ? "" : `（${t("mandatory")}）`}`).join("、")],
      [t("actions"), (c) => html`<button type="button" class="act edit-catalog" data-code="${c.code}">${t("edit")}</button>`],
    ], catalog.items, { rowAttrs: (c) => html`data-code="${c.code}"` }));
  };

  // The business catalogue: the type as intake has it now (GET), saved as a new version (PUT).
  on(main, "click", "button.edit-catalog", guard(async (event, button) => {
    render("#catalog-said", html``);
    const c = await call("intake", "GET", "/v1/catalog/{code}", { path: { code: button.dataset.code } });
    openEditor("#catalog-editor", "catalog-form", t("editCatalog", { code: c.code, n: c.version }), catalogFields(c), { code: c.code });
  }));
  on(main, "submit", "#catalog-form", (event, form) => {
    event.preventDefault();
    guard(async () => {
      const saved = await call("intake", "PUT", "/v1/catalog/{code}", { path: { code: form.dataset.code }, body: catalogBody(form) });
      const words = t("catalogSaved", { name: bilingual(saved.name), n: saved.version });
      render("#catalog-editor", html``);
      render("#catalog-said", html`<p class="ok" id="catalog-saved">${words}</p>`);
      toast(words);
    }, show)();
  });

  // Staff: the member as listed, saved with PUT (name, role, department, in use).
  on(main, "click", "button.edit-staff", (event, button) => {
    const m = staffShown.find((s) => s.id === button.dataset.id);
    if (!m) return;
    render("#staff-said", html``);
    openEditor("#staff-editor", "staff-form", t("editStaff", { name: m.name }), staffFields(m), { id: m.id });
  });
  on(main, "submit", "#staff-form", (event, form) => {
    event.preventDefault();
    guard(async () => {
      const v = formValues(form);
      const saved = await call("routing", "PUT", "/v1/staff/{staff_id}", {
        path: { staff_id: form.dataset.id }, body: { name: v.name, role: v.role, department: v.department || null, active: Boolean(v.active) },
      });
      const words = t("staffSaved", { name: saved.name, role: t(`role.${saved.role}`) });
      render("#staff-editor", html``);
      render("#staff-said", html`<p class="ok" id="staff-saved">${words}</p>`);
      toast(words);
    }, staffList.refresh)();
  });
  // 立即训练: routing trains in the background; the new version shows on a later poll.
  on(main, "click", "button.train-model", guard(async () => {
    const started = await call("routing", "POST", "/v1/dispatch-models");
    const words = t(started.training === "started" ? "trainingStarted" : "trainingRunning", { n: started.current_version ?? "–" });
    render("#models-said", html`<p class="ok" id="training">${words}</p>`);
    toast(words);
  }, show));
  on(main, "submit", "#reads-filters", (event, form) => {
    event.preventDefault();
    const v = formValues(form);
    readFilters = { request_id: v.request_id, reader_id: v.reader_id };
    guard(() => reads.first())();
  });

  closesOnCancel(main, "#catalog-editor", "#staff-editor", "#department-editor", "#rule-editor", "#policy-editor");

  // Departments: POST a new one, PUT an edit (the code kept).
  const openDepartment = (d) => render("#department-editor", editorForm("department-form",
    d ? t("editDepartment", { name: bilingual(d.name) }) : t("newDepartment"), departmentFields(d || {})));
  on(main, "click", "button.new-department", () => openDepartment(null));
  on(main, "click", "button.edit-department", (event, button) => openDepartment(data.departments.find((d) => d.code === button.dataset.code)));
  on(main, "submit", "#department-form", (event, form) => {
    event.preventDefault();
    guard(async () => {
      const v = formValues(form);
      const body = { code: v.code, name: v.name, parent: v.parent || null, head: v.head || null, active: v.active, coordinating: v.coordinating };
      const saved = await (form.elements.code.readOnly
        ? call("routing", "PUT", "/v1/departments/{code}", { path: { code: body.code }, body })
        : call("routing", "POST", "/v1/departments", { body }));
      const words = t("departmentSaved", { name: bilingual(saved.name) });
      render("#department-editor", html`<p class="ok" id="department-saved">${words}</p>`);
      toast(words);
    }, show)();
  });

  // Rules: one editor for a new rule and an edit (PUT keeps the id).
  const openRule = (rule) => render("#rule-editor", editorForm("rule-form",
    rule ? t("editRule", { id: rule.id }) : t("newRule"), ruleFields(rule || {})));
  on(main, "click", "button.new-rule", () => openRule(null));
  on(main, "click", "button.edit-rule", (event, button) => openRule(data.rules.find((r) => r.id === button.dataset.id)));
  on(main, "submit", "#rule-form", (event, form) => {
    event.preventDefault();
    guard(async () => {
      const body = ruleBody(form);
      const editing = form.elements.id.readOnly;
      await (editing
        ? call("routing", "PUT", "/v1/rules/{rule_id}", { path: { rule_id: body.id }, body })
        : call("routing", "POST", "/v1/rules", { body }));
      render("#rule-editor", html`<p class="ok" id="rule-saved">${t("ruleSaved", { id: body.id })}</p>`);
      toast(t("ruleSaved", { id: body.id }));
    }, show)();
  });

  // SLA policies: PUT upserts by (scope, urgency, clock).
  const openPolicy = (policy) => render("#policy-editor", editorForm("policy-form", t("editPolicy"), policyFields(policy, data.catalog)));
  on(main, "click", "button.new-policy", () => openPolicy(null));
  on(main, "click", "button.edit-policy", (event, button) =>
    openPolicy(data.policies.find((p) => [p.scope, p.urgency, p.clock].join("|") === button.dataset.key)));
  on(main, "submit", "#policy-form", (event, form) => {
    event.preventDefault();
    guard(async () => {
      const v = formValues(form);
      const body = { scope: v.scope, urgency: v.urgency, clock: v.clock, amount: Number(v.amount), unit: v.unit, warning_fraction: Number(v.warning) / 100 };
      const saved = await call("routing", "PUT", "/v1/sla-policies", { body });
      const what = `${scopeWords(saved.scope, data.catalog)} · ${label("urgency", saved.urgency)} · ${label("clock", saved.clock)} ${policyWords(saved)}`;
      render("#policy-editor", html`<p class="ok" id="policy-saved">${t("policySaved", { what })}</p>`);
      toast(t("policySaved", { what }));
    }, show)();
  });

  // The calendar: one day switched, or a whole year's notice entered.
  on(main, "click", "button.toggle-day", guard(async (event, button) => {
    await call("routing", "PUT", "/v1/calendar/days/{day}", { path: { day: button.dataset.day }, body: { workday: button.dataset.workday !== "1" } });
  }, show));
  on(main, "click", "button.show-year", (event, button) => {
    shownYear = Number(button.dataset.year);
    drawYear();
  });
  on(main, "change", '#notice-fields select[name="year"]', (event, select) => noticeFields(Number(select.value)));
  on(main, "submit", 'form[data-action="notice"]', (event, form) => {
    event.preventDefault();
    guard(async () => {
      const v = formValues(form);
      const holidays = parseDays(v.holidays), workdays = parseDays(v.workdays);
      const wrong = [...holidays.wrong, ...workdays.wrong];
      if (wrong.length) {
        render("#notice-result", html`<p class="warn">${t("daysWrong", { list: wrong.join("、") })}</p>`);
        return;
      }
      const year = Number(v.year);
      const entered = await call("routing", "PUT", "/v1/calendar/years/{year}", {
        path: { year }, body: { notice: v.notice, holidays: holidays.days, workdays: workdays.days },
      });
      const words = t("noticeEntered", { year, off: entered.days_off?.length ?? holidays.days.length, work: entered.make_up_days?.length ?? workdays.days.length });
      render("#notice-result", html`<p class="ok" id="notice-entered">${words}</p>`);
      toast(words);
      form.closest("details").open = false;
      shownYear = year;
    }, show)();
  });

  // Channel keys: the secret is in the answer to the POST only, shown here once.
  on(main, "click", "button.revoke", guard(async (event, button) => {
    await call("intake", "DELETE", "/v1/channel-keys/{key_id}", { path: { key_id: button.dataset.id } });
    render("#new-key-shown", html`<p class="ok" id="key-revoked">${t("keyRevoked", { id: button.dataset.id })}</p>`);
    toast(t("keyRevoked", { id: button.dataset.id }));
  }, show));
  on(main, "submit", "#new-key", (event, form) => {
    event.preventDefault();
    guard(async () => {
      const made = await call("intake", "POST", "/v1/channel-keys", { body: formValues(form) });
      render("#new-key-shown", html`<div class="banner warn" id="key-secret">
        <p>${t("keyCreated", { key: "" })}<code class="secret">${made.api_key}</code></p>
        <p>${label("channel", made.channel)} · ${t("keyId")} ${made.key_id}</p><p><strong>${t("keyOnce")}</strong></p></div>`);
      form.reset();
    }, show)();
  });
  await show();
  // Polled: the lists only (an editor, the notice form and a key just shown are left alone).
  return { refresh: show };
}

// --- the dispatch catalogue (事项) -------------------------------------------------------------
function matterFields(m = {}) {
  return html`<div class="row">
      ${m.code ? "" : field(t("matterCode"), html`<input name="code" required pattern="[a-z0-9_]+(\\.[a-z0-9_]+)*" placeholder="urban.noise_night">`)}
      ${field(t("matterName"), html`<input name="name" required maxlength="200" value="${m.name || ""}">`)}
      ${field(t("category"), html`<select name="category">${options("category", m.category || "complaint")}</select>`)}
      ${field(t("lead"), deptSelect("lead_department", m.lead_department))}
    </div>
    ${field(t("description"), html`<textarea name="description" rows="2" maxlength="2000">${m.description || ""}</textarea>`)}
    ${field(t("coHandlers"), deptChecks("co_departments", m.co_departments || []))}
    ${field(`${t("keywords")}（${t("listHint")}）`, html`<textarea name="keywords" rows="2">${joinList(m.keywords)}</textarea>`)}
    ${field(t("examples"), html`<textarea name="examples" rows="3">${joinList(m.examples, { lines: true })}</textarea>`)}
    <label class="check"><input type="checkbox" name="urgent" ${m.urgent ? "checked" : ""}> ${t("urgentMatter")}</label>`;
}

function matterBody(form) {
  const v = formValues(form);
  return {
    name: v.name, description: v.description || "", lead_department: v.lead_department,
    co_departments: (v.co_departments || []).filter((c) => c !== v.lead_department), category: v.category,
    urgent: v.urgent, keywords: splitList(v.keywords), examples: splitList(v.examples, { lines: true }),
  };
}

export async function mattersPage(main) {
  render(main, html`<h2>${t("nav.matters")}</h2>
    ${card(t("matters"), html`<form id="matter-filters" class="filters">
        ${field(t("lead"), deptSelect("department", "", { blank: t("all") }))}
        <label class="check"><input type="checkbox" name="include_retired"> ${t("includeRetired")}</label>
        <button class="act" type="submit">${t("show")}</button></form>
      <div id="matter-said" aria-live="polite"></div><div id="matter-editor"></div><div id="matters"></div>`, {
      extra: html`<button type="button" class="act new-matter">${t("newMatter")}</button>` })}`);
  let filters = {};
  let shown = [];
  const list = pagedList($("#matters"),
    async (cursor) => {
      const page = await call("routing", "GET", "/v1/matters", { query: { ...filters, cursor } });
      shown = page.items;
      return page;
    },
    (items) => table([
      [t("matterName"), (m) => bilingual(m.name)], [t("matterCode"), (m) => m.code],
      [t("category"), (m) => label("category", m.category)], [t("lead"), (m) => dept(m.lead_department)],
      [t("coHandlers"), (m) => (m.co_departments || []).map((c) => dept(c))],
      [t("keywords"), (m) => html`<span class="snippet">${(m.keywords || []).join("、")}</span>`],
      [t("version"), (m) => html`<span class="version">${t("versionN", { n: m.version })}</span>`],
      [t("status"), (m) => (m.active ? t("activeState") : label("state", "retired"))],
      [t("updatedAt"), (m) => html`${time(m.updated_at)}<br><span class="muted">${m.updated_by || ""}</span>`],
      [t("actions"), (m) => html`<button type="button" class="act edit-matter" data-code="${m.code}">${t("edit")}</button>`],
    ], items, { rowClass: (m) => (m.active ? "" : "muted"), rowAttrs: (m) => html`data-code="${m.code}"` }));

  // The editor: the matter as routing has it now (its version), its history, save and retire.
  const openMatter = async (code) => {
    render("#matter-said", html``);
    const [m, history] = await Promise.all([
      call("routing", "GET", "/v1/matters/{code}", { path: { code } }),
      call("routing", "GET", "/v1/matters/{code}/versions", { path: { code } }),
    ]);
    render("#matter-editor", html`${editorForm("matter-form", t("editing", { code: m.code, n: m.version }), matterFields(m), {
        extra: m.active ? html`<button type="button" class="act retire-matter" data-code="${m.code}">${t("retire")}</button>` : "" })}
      <details class="history"><summary>${t("history")}（${history.items.length}）</summary>${table([
        [t("version"), (v) => t("versionN", { n: v.version })], [t("actions"), (v) => label("matterAction", v.action)],
        [t("updatedBy"), (v) => v.actor], [t("updatedAt"), (v) => time(v.at)],
      ], history.items.slice().reverse())}</details>`);
    const form = $("#matter-form");
    form.scrollIntoView({ block: "nearest" });
    form.dataset.code = m.code;
    form.dataset.version = m.version;
  };
  on(main, "click", "button.edit-matter", guard((event, button) => openMatter(button.dataset.code)));
  on(main, "click", "button.new-matter", () => render("#matter-editor", editorForm("matter-form", t("newMatter"), matterFields({}))));
  closesOnCancel(main, "#matter-editor");
  on(main, "submit", "#matter-form", (event, form) => {
    event.preventDefault();
    guard(async () => {
      const body = matterBody(form);
      const code = form.dataset.code;
      const saved = code
        ? await call("routing", "PUT", "/v1/matters/{code}", { path: { code }, body: { ...body, version: Number(form.dataset.version) } })
        : await call("routing", "POST", "/v1/matters", { body: { ...body, code: formValues(form).code } });
      const words = t(code ? "saved" : "createdOk", { what: bilingual(saved.name), n: saved.version });
      await openMatter(saved.code);
      render("#matter-said", html`<p class="ok" id="matter-saved">${words}</p>`);
      toast(words);
    }, list.refresh)();
  });
  // 下线 asks once more (the button turns into 确认下线) before routing retires it.
  on(main, "click", "button.retire-matter", guard(async (event, button) => {
    if (!button.classList.contains("confirm")) {
      button.classList.add("confirm");
      button.textContent = t("retireConfirm");
      return;
    }
    const retired = await call("routing", "POST", "/v1/matters/{code}/retire", { path: { code: button.dataset.code } });
    const words = t("retiredOk", { what: bilingual(retired.name), n: retired.version });
    render("#matter-said", html`<p class="ok" id="matter-saved">${words}</p>`);
    render("#matter-editor", html``);
    toast(words);
  }, list.refresh));
  on(main, "submit", "#matter-filters", (event, form) => {
    event.preventDefault();
    const v = formValues(form);
    filters = { department: v.department, include_retired: v.include_retired ? "true" : undefined };
    guard(() => list.first())();
  });
  await list.refresh();
  return list; // polled: the list only, not the editor
}

// --- knowledge-base approvals -----------------------------------------------------------------
export async function kbPage(main) {
  render(main, html`<h2>${t("kb")}</h2>${card(t("pendingKb"), html`<div id="kb-result" aria-live="polite"></div><div id="articles"></div>`)}`);
  let items = [];
  // The API answers up to `limit` articles, no cursor: one page.
  const list = pagedList($("#articles"),
    async () => {
      const page = await call("intake", "GET", "/v1/kb/articles", { query: { status: "pending", limit: 100 } });
      items = page.items;
      return page;
    },
    (rows) => table([
      [t("kind"), (a) => label("kind", a.kind)], [t("question"), (a) => a.question],
      [t("answer"), (a) => html`<span class="snippet">${a.answer}</span>`], [t("department"), (a) => dept(a.department)],
      [t("status"), (a) => label("state", a.status)], [t("updatedAt"), (a) => time(a.updated_at)],
      [t("actions"), (a) => html`<button type="button" class="act kb-approve" data-id="${a.id}">${t("approve")}</button>
        ${actionForm("kb-reject", t("reject"), html`<input type="hidden" name="id" value="${a.id}">
          ${field(t("rejectNote"), html`<input name="note" required maxlength="1000">`)}`, { primary: t("reject") })}`],
    ], rows, { rowAttrs: (a) => html`data-id="${a.id}"` }));
  const decide = async (id, action, note) => {
    const article = items.find((a) => a.id === id);
    await call("intake", "POST", "/v1/kb/articles/{article_id}/{action}", { path: { article_id: id, action }, body: note ? { note } : {} });
    const words = t(action === "approve" ? "kbApproved" : "kbRejected", { q: article?.question || id });
    render("#kb-result", html`<p class="ok" id="kb-decided">${words}</p>`);
    toast(words);
  };
  on(main, "click", "button.kb-approve", guard((event, button) => decide(button.dataset.id, "approve"), list.refresh));
  on(main, "submit", 'form[data-action="kb-reject"]', (event, form) => {
    event.preventDefault();
    const v = formValues(form);
    guard(() => decide(v.id, "reject", v.note), list.refresh)();
  });
  await list.refresh();
  // Polled: not while a rejection is being written.
  return { refresh: () => ($('#articles details[open]') ? null : list.refresh()) };
}

// --- knowledge-base writing (the owning department's head, admins) ----------------------------
/** The article's fields: empty for a new one, filled from intake's article for an edit. */
function articleFields(me, a = {}) {
  const validTo = a.valid_to ? new Date(Date.parse(a.valid_to) + 8 * 3600000).toISOString().slice(0, 10) : "";
  return html`${field(t("question"), html`<input name="question" required minlength="2" maxlength="500" value="${a.question || ""}">`)}
    ${field(t("answer"), html`<textarea name="answer" required rows="4" maxlength="5000">${a.answer || ""}</textarea>`)}
    <div class="row">
      ${field(t("category"), html`<select name="category">${options("category", a.category || "", { blank: t("none") })}</select>`)}
      ${me.department ? "" : field(t("department"), deptSelect("department", a.department || ""))}
      ${field(t("validTo"), html`<input type="date" name="valid_to" value="${validTo}">`)}
    </div>
    ${field(`${t("keywords")}（${t("listHint")}）`, html`<textarea name="keywords" rows="2">${joinList(a.keywords)}</textarea>`)}`;
}

export async function kbWritePage(main, { me }) {
  render(main, html`<h2>${t("nav.kbwrite")}${me.department ? html` · ${dept(me.department)}` : ""}</h2>
    ${card(t("newArticle"), html`<div id="article-said" aria-live="polite"></div>
      ${editorForm("article-form", t("newArticleHint"), articleFields(me), { primary: t("saveDraft") })}`)}
    ${card(t("ownArticles"), html`<div id="article-editor"></div><div id="own-articles"></div>`)}`);
  const list = pagedList($("#own-articles"),
    (cursor) => call("intake", "GET", "/v1/kb/articles", { query: { department: me.department, limit: 20, cursor } }),
    (rows) => table([
      [t("kind"), (a) => label("kind", a.kind)], [t("question"), (a) => a.question],
      [t("answer"), (a) => html`<span class="snippet">${a.answer}</span>`],
      [t("status"), (a) => html`${label("state", a.status)}${a.note ? html`<br><span class="muted">${a.note}</span>` : ""}`],
      [t("updatedAt"), (a) => time(a.updated_at)],
      [t("actions"), (a) => html`${a.status === "draft" ? html`<button type="button" class="act kb-submit" data-id="${a.id}">${t("submitForApproval")}</button>` : ""}
        ${["draft", "pending", "published"].includes(a.status) ? html`<button type="button" class="act kb-edit" data-id="${a.id}">${t("edit")}</button>
          <button type="button" class="act kb-retire" data-id="${a.id}">${t("retire")}</button>` : ""}`],
    ], rows, { rowAttrs: (a) => html`data-id="${a.id}"` }));
  const said = (words) => {
    render("#article-said", html`<p class="ok" id="article-saved">${words}</p>`);
    toast(words);
  };
  on(main, "click", "#article-form button.cancel", () => $("#article-form").reset());
  on(main, "submit", "#article-form", (event, form) => {
    event.preventDefault();
    guard(async () => {
      const v = formValues(form);
      const made = await call("intake", "POST", "/v1/kb/articles", {
        body: {
          question: v.question, answer: v.answer, department: v.department || me.department,
          keywords: splitList(v.keywords), ...(v.category ? { category: v.category } : {}),
          ...(v.valid_to ? { valid_to: `${v.valid_to}T23:59:59+08:00` } : {}),
        },
      });
      form.reset();
      said(t("articleDrafted", { q: made.question }));
    }, list.first)();
  });
  const act = (action, words) => guard(async (event, button) => {
    const done = await call("intake", "POST", "/v1/kb/articles/{article_id}/{action}", { path: { article_id: button.dataset.id, action }, body: {} });
    said(t(words, { q: done.question }));
  }, list.refresh);
  // 编辑: the article as intake has it now; saved as a new version, back to draft (PUT).
  on(main, "click", "button.kb-edit", guard(async (event, button) => {
    const a = await call("intake", "GET", "/v1/kb/articles/{article_id}", { path: { article_id: button.dataset.id } });
    openEditor("#article-editor", "article-edit", t("editArticle", { q: a.question, n: a.version }), articleFields(me, a), { id: a.id });
  }));
  closesOnCancel(main, "#article-editor");
  on(main, "submit", "#article-edit", (event, form) => {
    event.preventDefault();
    guard(async () => {
      const v = formValues(form);
      const edited = await call("intake", "PUT", "/v1/kb/articles/{article_id}", {
        path: { article_id: form.dataset.id },
        body: {
          question: v.question, answer: v.answer, keywords: splitList(v.keywords), category: v.category || null,
          ...(v.department ? { department: v.department } : {}),
          ...(v.valid_to ? { valid_to: `${v.valid_to}T23:59:59+08:00` } : {}),
        },
      });
      render("#article-editor", html``);
      said(t("articleEdited", { q: edited.question, n: edited.version }));
    }, list.refresh)();
  });
  on(main, "click", "button.kb-submit", act("submit", "articleSubmitted"));
  on(main, "click", "button.kb-retire", act("retire", "articleRetired"));
  await list.refresh();
  // Polled: the list only (the editor is left alone).
  return list;
}
