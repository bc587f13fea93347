// Components: small functions from data to html`…`, shared by every page.
import { html, render, on, $ } from "./dom.js";
import { t, label, departmentName, values, knownDepartments } from "./i18n.js";
import { when, countdown, workingCountdown } from "./format.js";
import { call } from "./api.js";

export function toast(message, error = false) {
  const el = $("#toast");
  el.textContent = message;
  el.className = error ? "show error" : "show";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.className = ""), error ? 8000 : 4000);
}

export const card = (title, body, { id, extra } = {}) =>
  html`<section class="card" ${id ? html`id="${id}"` : ""}><header class="card-head"><h3>${title}</h3>${extra || ""}</header>${body}</section>`;

export const badge = (group, value, cls = "") =>
  value ? html`<span class="badge ${group}-${value} ${cls}">${label(group, value)}</span>` : "";

export const dept = (code) => (code ? html`<span class="dept" data-dept="${code}">${departmentName(code)}</span>` : "");

export const caseLink = (id) => html`<a class="case-link" href="#/case/${id}" title="${id}">${id.slice(0, 8)}</a>`;

export const time = (iso) => (iso ? html`<time datetime="${iso}">${when(iso)}</time>` : "");

/** A clock's time left, coloured as it runs out (green → amber → red): working time as
 * routing counted it when `options.working` (timeleft.js) has the due time, else calendar
 * time, which says so. */
export function clockLeft(dueIso, startIso, options = {}) {
  const answer = dueIso && options.working?.get(dueIso);
  const c = answer ? workingCountdown(answer, options.working.workdayMinutes, options) : countdown(dueIso, startIso, options);
  if (!c) return "";
  const shown = html`<span class="countdown ${c.level} ${answer ? "working" : "calendar"}" title="${when(dueIso)}">${c.text}</span>`;
  return options.showDue ? html`${shown}<br><span class="muted due-at">${t("due")} ${time(dueIso)}</span>` : shown;
}

/** A table: columns are [label, row => cell] pairs. */
export function table(columns, rows, { rowClass = () => "", rowAttrs = () => "" } = {}) {
  if (!rows.length) return html`<p class="muted empty">${t("noRows")}</p>`;
  return html`<table>
    <thead><tr>${columns.map(([head]) => html`<th>${head}</th>`)}</tr></thead>
    <tbody>${rows.map(
      (row) => html`<tr class="${rowClass(row)}" ${rowAttrs(row)}>${columns.map(([, cell]) => html`<td>${cell(row)}</td>`)}</tr>`,
    )}</tbody></table>`;
}

export const options = (group, selected, { blank } = {}) => html`
  ${blank !== undefined ? html`<option value="">${blank}</option>` : ""}
  ${values(group).map((v) => html`<option value="${v}" ${v === selected ? "selected" : ""}>${label(group, v)}</option>`)}`;

export const field = (text, control, cls = "") => html`<label class="field ${cls}"><span>${text}</span>${control}</label>`;

/** A timeline of lifecycle events (the KPI service's /timeline), newest last. `materialName`
 * names a material by its code (the business catalogue's words; the code if unknown). */
export function timeline(events, { materialName = (code) => code, staffName = () => null } = {}) {
  if (!events.length) return html`<p class="muted">${t("noRows")}</p>`;
  return html`<ol class="timeline">${events.map(
    (e) => html`<li class="event ${e.type.replace(/\./g, "-")}" data-type="${e.type}">
      <div class="event-head"><strong>${label("event", e.type)}</strong>
        <span class="muted">${time(e.occurred_at)} · <span class="actor">${actorWords(e.actor, staffName)}</span></span></div>
      ${eventDetail(e.data || {}, materialName)}</li>`,
  )}</ol>`;
}

/** Who did it, in words: 系统, 诉求人, a channel by its name, a staff member by name (their id
 * beside it) where routing's directory knows them. */
export function actorWords(actor, staffName = () => null) {
  if (!actor) return "";
  if (actor.kind === "system") return t("actorSystem");
  if (actor.kind === "requester") return t("actorRequester");
  if (actor.kind === "channel") return label("channel", actor.id);
  const name = staffName(actor.id);
  return name ? `${name}（${actor.id}）` : actor.id;
}

/** A material in an event: a code, or {code, name} (what is missing carries its name). */
const materialWords = (m, materialName) => (typeof m === "string" ? materialName(m) : m?.name || materialName(m?.code || ""));

function eventDetail(d, materialName) {
  const bits = [];
  if (d.lead_department) bits.push(html`${t("lead")}：${dept(d.lead_department)}`);
  if (d.co_departments?.length) bits.push(html`${t("coHandlers")}：${d.co_departments.map((c) => dept(c))}`);
  if (d.department && !d.lead_department) bits.push(dept(d.department));
  if (d.category) bits.push(label("category", d.category));
  if (d.urgency === "urgent") bits.push(badge("urgency", "urgent"));
  if (d.how) bits.push(label("how", d.how));
  if (d.step) bits.push(label("step", d.step));
  if (d.outcome) bits.push(label("outcome", d.outcome));
  if (d.rating) bits.push(html`<span class="rating">${label("rating", d.rating)}</span>`);
  if (d.handler_id) bits.push(d.handler_id);
  if (d.clock) bits.push(label("clock", d.clock));
  if (d.requested_due) bits.push(html`${t("requestedDue")} ${time(d.requested_due)}`);
  if (d.approved !== undefined) bits.push(d.approved ? t("approve") : t("reject"));
  if (d.belongs_to_department) bits.push(html`${t("belongsTo")}：${dept(d.belongs_to_department)}`);
  if (d.missing?.length) bits.push(t("materialsMissing", { list: d.missing.map((m) => materialWords(m, materialName)).join("、") }));
  if (Array.isArray(d.materials) && d.materials.length) bits.push(t("materialsAdded", { list: d.materials.map((m) => materialWords(m, materialName)).join("、") }));
  if (d.due && typeof d.due === "string") bits.push(html`${t("due")} ${time(d.due)}`);
  const texts = ["content", "reason", "note", "opinion", "reply", "answer", "instructions"]
    .filter((k) => typeof d[k] === "string" && d[k])
    .map((k) => html`<blockquote class="event-text ${k}">${d[k]}</blockquote>`);
  return html`${bits.length ? html`<div class="muted">${bits.map((b, i) => html`${i ? " · " : ""}${b}`)}</div>` : ""}${texts}`;
}

/**
 * A paginated list: load(cursor) → {items, next_cursor}; draw(items) → html. refresh()
 * reloads the current page (polling), next/prev move along the cursors the API returns.
 */
export function pagedList(el, load, draw) {
  const stack = [null];
  let index = 0, next = null;
  const paint = async () => {
    const data = await load(stack[index]);
    next = data.next_cursor || null;
    render(el, html`<div class="list-body">${draw(data.items)}</div>
      <nav class="pager">
        <button type="button" class="prev" ${index === 0 ? "disabled" : ""}>${t("prev")}</button>
        <span class="page-no">${t("page", { n: index + 1 })}</span>
        <button type="button" class="next" ${next ? "" : "disabled"}>${t("next")}</button>
      </nav>`);
    return data;
  };
  on(el, "click", ".pager button", async (event, button) => {
    if (button.classList.contains("next") && next) {
      stack.splice(index + 1, stack.length, next);
      index += 1;
    } else if (button.classList.contains("prev") && index > 0) index -= 1;
    await paint();
  });
  return { refresh: paint, first: () => ((index = 0), paint()) };
}

/** A small form inside a <details>: opened with a click or Enter, submitted with Ctrl+Enter. */
export const actionForm = (name, title, body, { open = false, primary } = {}) => html`
  <details class="action" data-action="${name}" ${open ? "open" : ""}>
    <summary>${title}</summary>
    <form class="action-form" data-action="${name}">${body}
      <button class="primary" type="submit">${primary || t("save")}</button>
    </form>
  </details>`;

/** A department picker by name (routing's departments), the code as the value; `except`: codes
 * not offered (one's own department). */
export const deptSelect = (name, selected, { blank, except = [] } = {}) => html`<select name="${name}" ${blank === undefined ? "required" : ""}>
  ${blank !== undefined ? html`<option value="">${blank}</option>` : ""}
  ${knownDepartments().filter((c) => !except.includes(c)).map((c) => html`<option value="${c}" ${c === selected ? "selected" : ""}>${departmentName(c)}</option>`)}</select>`;

/** Checkboxes read by formValues() as one list `group`: departments by name, or the values of
 * an i18n group (categories, urgencies) by their label. */
const checks = (group, codes, words, selected = []) => html`<span class="checks">${codes.map(
  (c) => html`<label class="check"><input type="checkbox" name="${group}.${c}" data-group="${group}" value="${c}" ${selected.includes(c) ? "checked" : ""}> ${words(c)}</label>`,
)}</span>`;
export const deptChecks = (group, selected) => checks(group, knownDepartments(), departmentName, selected);
export const valueChecks = (group, valueGroup, selected) => checks(group, values(valueGroup), (v) => label(valueGroup, v), selected);

/** An editor card's form: the same fields for a new record and an edit, a submit and a cancel. */
export const editorForm = (id, heading, body, { primary, extra } = {}) => html`
  <form id="${id}" class="editor"><h4>${heading}</h4>${body}
    <div class="buttons"><button class="primary" type="submit">${primary || t("save")}</button>
    <button type="button" class="act cancel">${t("cancel")}</button>${extra || ""}</div></form>`;

/** An edit of one record opened in its slot: the editor rendered, the record's key put in the
 * form's dataset (what the submit sends it back to), scrolled into view. */
export function openEditor(slot, id, heading, body, keys = {}) {
  render(slot, editorForm(id, heading, body));
  const form = $(`#${id}`);
  Object.assign(form.dataset, keys);
  form.scrollIntoView({ block: "nearest" });
  return form;
}

/** Each slot's editor closed (the slot emptied) by its 取消. */
export function closesOnCancel(main, ...slots) {
  for (const slot of slots) on(main, "click", `${slot} button.cancel`, () => render(slot, html``));
}

// The person's contact as staff see it (masked), and — for the roles intake lets read it —
// the whole of it on request, for a stated purpose; intake writes every read to its audit
// log (GET /v1/requests/{id}/requester?purpose=).
export const READS_CONTACT = ["agent", "supervisor", "admin"];

// Contacts read in full on the page shown (kept through its polls; forgotten on leaving it).
const revealed = new Map();
export const forgetContacts = () => revealed.clear();

const revealedContact = (text) => html`<span class="revealed">${text || t("noRows")}</span> <span class="muted">${t("contactRead")}</span>`;

export const contact = (request, me, purpose) => {
  if (!request) return "";
  if (request.anonymous) return t("anonymousYes");
  if (revealed.has(request.id)) return html`<span class="contact" data-request="${request.id}">${revealedContact(revealed.get(request.id))}</span>`;
  return html`<span class="contact" data-request="${request.id}"><span class="masked">${request.contact_masked || ""}</span>
    ${READS_CONTACT.includes(me.role) ? html` <button type="button" class="act reveal-contact" data-request="${request.id}" data-purpose="${purpose}">${t("revealContact")}</button>` : ""}</span>`;
};

/** Clicks on 查看完整联系方式 under `root`: the read, shown in place of the masked contact. */
export function onRevealContact(root) {
  on(root, "click", "button.reveal-contact", async (event, button) => {
    button.disabled = true;
    try {
      const read = await call("intake", "GET", "/v1/requests/{request_id}/requester", {
        path: { request_id: button.dataset.request }, query: { purpose: button.dataset.purpose },
      });
      const p = read.requester || {};
      const shown = [p.name, p.phone, p.email, p.address].filter(Boolean).join(" · ");
      revealed.set(button.dataset.request, shown);
      render(button.closest(".contact"), revealedContact(shown));
    } catch (e) {
      button.disabled = false;
      toast(e.message, true);
    }
  });
}
