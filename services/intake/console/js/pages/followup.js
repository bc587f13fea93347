// 回访: the return visits to make (complaints always, unsatisfied ratings, a sample of the
// rest), soonest due first, each with the request it follows up, and its outcome recorded in
// one step; and the visits made.
import { html, render, $, on, formValues } from "../dom.js";
import { t, label } from "../i18n.js";
import { call } from "../api.js";
import { toast, card, badge, dept, caseLink, time, table, pagedList, clockLeft, contact, onRevealContact } from "../ui.js";
import { pagedWithTimeLeft } from "../timeleft.js";

const OUTCOMES = ["solved", "recurred", "unreachable"];

const snippet = (r) => html`<span class="snippet">${(r?.content || "").slice(0, 40)}</span>`;

export async function revisitsPage(main, { me }) {
  render(main, html`<h2>${t("nav.revisits")}</h2>
    ${card(t("revisitsDue"), html`<div id="revisit-said" aria-live="polite"></div><div id="revisits"></div>`)}
    ${card(t("revisitsDone"), html`<div id="revisits-done"></div>`)}`);
  // The requests the visits follow up (masked: content and contact as staff lists show them).
  const withRequests = async (page) => {
    const requests = await Promise.all(page.items.map((v) =>
      call("intake", "GET", "/v1/requests/{request_id}", { path: { request_id: v.request_id } }).catch(() => null)));
    return { ...page, items: page.items.map((v, i) => ({ ...v, request: requests[i] })) };
  };
  const due = pagedWithTimeLeft($("#revisits"),
    async (cursor) => withRequests(await call("followup", "GET", "/v1/revisits", { query: { state: "scheduled", limit: 20, cursor } })),
    (items) => items.map((v) => v.due),
    (items, working) => table([
    [t("id"), (v) => caseLink(v.request_id)],
    [t("revisitReason"), (v) => label("revisitReason", v.reason)],
    [t("category"), (v) => label("category", v.request?.category)],
    [t("lead"), (v) => dept(v.request?.lead_department)],
    [t("content"), (v) => snippet(v.request)],
    [t("contactMasked"), (v) => contact(v.request, me, t("purposeRevisit"))],
    [t("revisitDue"), (v) => clockLeft(v.due, v.scheduled_at, { working, showDue: true })],
    [t("actions"), (v) => html`<form class="revisit inline" data-id="${v.id}" data-request="${v.request_id}">
      <select name="outcome" aria-label="${t("revisitOutcome")}">${OUTCOMES.map((o) => html`<option value="${o}">${label("revisitOutcome", o)}</option>`)}</select>
      <input name="notes" maxlength="2000" placeholder="${t("revisitNotes")}" aria-label="${t("revisitNotes")}">
      <button class="act">${t("save")}</button></form>`],
  ], items, { rowAttrs: (v) => html`data-id="${v.request_id}"` }));
  const done = pagedList($("#revisits-done"),
    async (cursor) => withRequests(await call("followup", "GET", "/v1/revisits", { query: { state: "done", limit: 20, cursor } })),
    (items) => table([
      [t("id"), (v) => caseLink(v.request_id)],
      [t("revisitReason"), (v) => label("revisitReason", v.reason)],
      [t("revisitOutcome"), (v) => html`<span class="outcome-${v.outcome}">${label("revisitOutcome", v.outcome)}</span>`],
      [t("revisitNotes"), (v) => v.notes || ""],
      [t("state"), (v) => badge("state", v.request?.state)],
      [t("revisitedBy"), (v) => html`${v.visited_by || ""} · ${time(v.visited_at)}`],
    ], items, { rowAttrs: (v) => html`data-id="${v.request_id}"` }));
  onRevealContact($("#revisits"));
  on($("#revisits"), "submit", "form.revisit", async (event, form) => {
    event.preventDefault();
    const v = formValues(form);
    try {
      const recorded = await call("followup", "POST", "/v1/revisits/{revisit_id}/outcome", {
        path: { revisit_id: form.dataset.id }, body: { outcome: v.outcome, ...(v.notes ? { notes: v.notes } : {}) },
      });
      const words = t("revisitRecorded", { id: recorded.request_id.slice(0, 8), outcome: label("revisitOutcome", recorded.outcome), state: label("state", recorded.state) });
      render("#revisit-said", html`<p class="ok" id="revisit-recorded">${words}</p>`);
      toast(words);
      await Promise.all([due.refresh(), done.first()]);
    } catch (e) {
      toast(e.message, true);
    }
  });
  const refresh = () => Promise.all([due.refresh(), done.refresh()]);
  await refresh();
  // Polled, but not while an outcome is being written.
  return { refresh: () => ($("#revisits").contains(document.activeElement) ? null : refresh()) };
}
