// 派单: requests waiting for a department — from the dispatch queue where routing offers one,
// else the escalated and returned requests — dispatched in one step with lead and co-handlers.
import { html, render, $, on, formValues } from "../dom.js";
import { t, label, bilingual, knownDepartments, departmentName } from "../i18n.js";
import { call, optional } from "../api.js";
import { toast, card, badge, dept, caseLink, time, table, field, pagedList } from "../ui.js";

function dispatchForm(id, suggested, queued = false) {
  const codes = knownDepartments();
  return html`<form class="dispatch inline-grid" data-id="${id}" data-queued="${queued ? "1" : ""}">
    <select name="lead_department" required aria-label="${t("lead")}"><option value="">${t("chooseLead")}</option>${codes.filter((c) => c !== "coordination").map((c) => html`<option value="${c}" ${c === suggested ? "selected" : ""}>${departmentName(c)}</option>`)}</select>
    <details><summary>${t("coHandlers")}</summary>${codes.map((c) => html`<label class="check"><input type="checkbox" data-group="co_departments" name="co" value="${c}"> ${departmentName(c)}</label>`)}</details>
    <input name="reason" required placeholder="${t("reason")}" aria-label="${t("reason")}">
    <button class="act">${t("dispatch")}</button></form>`;
}

/** The top three suggestions: the department, the matter it would go under, the confidence. */
const suggestionList = (items = []) => html`${items.slice(0, 3).map((s) => html`<div class="suggestion">${dept(s.department || s.lead_department)}
  ${s.matter_name ? html`<span class="matter">${bilingual(s.matter_name)}</span>` : ""} <span class="muted">${t("confidence")} ${Math.round((s.confidence ?? 0) * 100)}%</span></div>`)}`;

export async function dispatchPage(main, { me }) {
  render(main, html`<h2>${t("dispatchQueue")}</h2><div id="notice"></div>${card(t("dispatchQueue"), html`<div id="waiting"></div>`)}`);
  // The dispatch queue (待派单: the model was not sure, or an urgent best guess to review) is
  // routing's, for dispatchers, supervisors and admins; the coordinating office also sees
  // what was escalated to it. Both are dispatched in one step.
  const readsQueue = ["dispatcher", "supervisor", "admin"].includes(me.role);
  let fromQueue = false;
  const list = pagedList($("#waiting"), async (cursor) => {
    // The coordinating office's handlers page through their own cases (handling answers
    // department staff only); the dispatch queue pages through itself.
    const own = me.department === "coordination" && ["handler", "dept_head"].includes(me.role);
    const queue = readsQueue && (!own || !cursor)
      ? await optional("routing", "GET", "/v1/dispatch-queue", { query: own ? {} : { cursor } }) : null;
    fromQueue = queue !== null;
    const queued = (queue?.items || []).map((x) => ({ ...x, queued: true, content: x.text }));
    if (own) {
      // The coordinating department's own queue is what waits for a dispatch by hand.
      const own = await call("handling", "GET", "/v1/cases", { query: { state: "routed", limit: 20, cursor } });
      const requests = await Promise.all(own.items.map((c) => call("intake", "GET", "/v1/requests/{request_id}", { path: { request_id: c.request_id } }).catch(() => null)));
      return { items: [...queued, ...own.items.map((c, i) => ({ ...c, request: requests[i] }))], next_cursor: own.next_cursor };
    }
    if (fromQueue) return { items: queued, next_cursor: queue.next_cursor };
    const [escalated, returned] = await Promise.all([
      call("intake", "GET", "/v1/requests", { query: { state: "escalated", limit: 50 } }),
      call("intake", "GET", "/v1/requests", { query: { state: "returned", limit: 50 } }),
    ]);
    return { items: [...escalated.items, ...returned.items].map((r) => ({ request_id: r.id, request: r })), next_cursor: null };
  }, (items) => {
    render("#notice", fromQueue || !readsQueue ? html`` : html`<p class="muted notice">${t("dispatchMissing")}${me.department === "coordination" ? t("dispatchOwnQueue") : t("dispatchStates")}</p>`);
    return table([
      [t("id"), (x) => caseLink(x.request_id)],
      [t("state"), (x) => (x.queued ? badge("dispatchState", x.state) : badge("state", x.state || x.request?.state))],
      [t("category"), (x) => label("category", x.category || x.request?.category)],
      [t("content"), (x) => html`<span class="snippet">${(x.content || x.request?.content || "").slice(0, 60)}</span>`],
      [t("receivedAt"), (x) => time(x.received_at || x.request?.received_at)],
      [t("suggestions"), (x) => suggestionList(x.suggestions)],
      [t("dispatch"), (x) => dispatchForm(x.request_id, x.suggestions?.[0]?.department, x.queued)],
    ], items, { rowClass: (x) => ((x.urgency || x.request?.urgency) === "urgent" ? "urgent" : "") });
  });
  on(main, "submit", "form.dispatch", async (event, form) => {
    event.preventDefault();
    const v = formValues(form);
    try {
      const body = { lead_department: v.lead_department, co_departments: (v.co_departments || []).filter((c) => c !== v.lead_department), reason: v.reason };
      if (form.dataset.queued) {
        // A pick from the dispatch queue also teaches the next dispatch model.
        await call("routing", "POST", "/v1/dispatch-queue/{request_id}/dispatch", { path: { request_id: form.dataset.id }, body });
      } else {
        await call("routing", "POST", "/v1/assignments/{request_id}", { path: { request_id: form.dataset.id }, body });
      }
      toast(t("dispatched"));
      await list.refresh();
    } catch (e) {
      toast(e.message, true);
    }
  });
  await list.refresh();
  return list;
}
