// 诉求详情: the (masked) request, its clocks, the whole timeline, and every action at hand.
import { html, render, $, on, formValues } from "../dom.js";
import { t, label, bilingual } from "../i18n.js";
import { call } from "../api.js";
import { now, localInput, fromLocalInput } from "../format.js";
import {
  toast, card, badge, dept, time, options, field, timeline, clockLeft, actionForm, deptSelect, contact, onRevealContact, READS_CONTACT,
} from "../ui.js";
import { workingTimeLeft } from "../timeleft.js";
import { materialRows, readMaterials, problems, problemWords, collect } from "../materials.js";

const LEAD_WORKING = ["accepted", "in_progress", "reopened"];
// The states a request may be withdrawn from (shared/lifecycle.py OPEN_BEFORE_RESOLUTION).
const RESOLVED = ["resolved", "feedback_given", "rated", "revisited", "closed"];
// 归档: a request fed back, rated or visited again is closed by an agent, supervisor or admin
// (followup's POST /v1/requests/{id}/close; shared/lifecycle.py's RequestClosed).
const CLOSABLE = ["feedback_given", "rated", "revisited"];
const CLOSES = ["agent", "supervisor", "admin"];
/** The staff member who took the request in (its first responder), if staff did. */
const clerkOf = (request) => (request?.first_responder?.kind === "staff" ? request.first_responder.id : null);
const WITHDRAWABLE = ["received", "incomplete", "supplemented", "routed", "returned", "escalated", "accepted", "in_progress", "reopened"];

/** The business catalogue's words for a request's business type and its materials. */
function catalogueWords(catalog, request) {
  const entry = catalog.find((c) => c.code === request?.business_type);
  const names = new Map(catalog.flatMap((c) => c.materials.map((m) => [m.code, m.name])));
  for (const m of entry?.materials || []) names.set(m.code, m.name);
  // What is still to come: the catalogue's materials (their file types) the request lacks.
  const missing = new Set((request?.missing_materials || []).map((m) => m.code));
  return {
    lacking: (entry?.materials || []).filter((m) => missing.has(m.code)),
    businessType: entry ? html`<span title="${entry.code}">${bilingual(entry.name)}</span>` : request?.business_type || "",
    materialName: (code) => names.get(code) || code,
  };
}

/** The request's text as the person wrote it (intake's audited full-text read), once read. */
const fullTextShown = (full) => html`<div id="case-full-text" class="revealed"><p class="muted">${t("fullTextShown")}</p>
  ${full.title ? html`<p><strong>${t("title")}：</strong>${full.title}</p>` : ""}
  <blockquote id="case-content">${full.content}</blockquote>
  ${full.topic ? html`<p>${t("topic")}：${full.topic}</p>` : ""}${full.area ? html`<p>${t("area")}：${full.area}</p>` : ""}
  ${full.address ? html`<p>${t("address")}：${full.address}</p>` : ""}</div>`;

function facts(request, kase, paused, words, me, full) {
  const rows = [
    [t("state"), html`<span id="case-state">${badge("state", request?.state || kase?.state)}</span>${paused ? html` ${badge("state", "paused")}` : ""}`],
    [t("channel"), label("channel", request?.channel)],
    [t("category"), label("category", request?.category || kase?.category)],
    [t("urgency"), badge("urgency", request?.urgency || kase?.urgency)],
    [t("lead"), html`<span id="case-lead">${dept(request?.lead_department || kase?.department)}</span>`],
    [t("area"), request?.area || ""],
    [t("businessType"), html`<span id="case-business">${words.businessType}</span>`],
    [t("contactMasked"), contact(request, me, t("purposeCase"))],
    [t("receivedAt"), time(request?.received_at)],
  ];
  const materials = request?.materials || [];
  const missing = request?.missing_materials || [];
  return html`<dl class="facts">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
    ${request ? html`<h4>${t("content")}</h4>${full ? fullTextShown(full) : html`<blockquote id="case-content">${request.content}</blockquote>`}` : ""}
    ${materials.length || missing.length ? html`<h4>${t("materials")}</h4><ul class="materials-list" id="case-materials">
      ${materials.map((m) => html`<li class="ok">✓ ${m.name || words.materialName(m.code)}</li>`)}
      ${missing.map((m) => html`<li class="warn">✗ ${m.name || words.materialName(m.code)}</li>`)}</ul>` : ""}
    ${request?.answer ? html`<h4>${t("answer")}</h4><blockquote>${request.answer}</blockquote>` : ""}`;
}

// The event that stops each clock: once it has happened the clock shows when it was met.
const STOPPED_BY = {
  accept: ["request.accepted"], first_contact: ["request.contacted"], resolve: ["request.resolved"],
  feedback: ["request.feedback_given"], revisit: ["request.revisited", "request.closed"],
};

const met = (name, events) => events.find((e) => (STOPPED_BY[name] || []).includes(e.type));

/** The due times of the clocks still running: what routing is asked the working time left of. */
const running = (kase, events) => Object.entries(kase?.due || {}).filter(([name, d]) => d && !met(name, events)).map(([, d]) => d);

function clocks(kase, paused, events, working) {
  const due = kase?.due || {};
  const names = Object.keys(due).filter((k) => due[k]);
  if (!names.length) return html`<p class="muted">${t("noRows")}</p>`;
  return html`<ul class="clocks">${names.map((name) => {
    const stop = met(name, events);
    const late = stop && Date.parse(stop.occurred_at) > Date.parse(due[name]);
    return html`<li data-clock="${name}"><span>${label("clock", name)}</span>
      ${stop
        ? html`<span class="countdown ${late ? "overdue" : "done"}">${late ? t("metLate") : t("met")}</span> <span class="muted">${time(stop.occurred_at)}</span>`
        : html`${clockLeft(due[name], kase.routed_at, { paused, working })} <span class="muted">${t("due")} ${time(due[name])}</span>`}</li>`;
  })}</ul>`;
}

function departmentActions(kase, me, paused, pending, request) {
  const forms = [];
  const lead = kase.role === "lead";
  if (kase.state === "routed") {
    forms.push(html`<button class="primary act-accept" type="button">${t("accept")}</button>`);
  }
  if (lead && ["routed", "accepted"].includes(kase.state)) {
    forms.push(actionForm("return", t("returnCase"), html`${field(t("belongsToPick"), deptSelect("belongs_to_department", "", { blank: t("belongsUnknown"), except: [kase.department] }))}
      ${field(t("reason"), html`<textarea name="reason" required placeholder="${t("returnHint")}"></textarea>`)}`));
  }
  if (lead && LEAD_WORKING.includes(kase.state)) {
    forms.push(actionForm("contact", t("contact"), html`${field(t("how"), html`<select name="how">${options("how", "phone")}</select>`)}
      ${field(t("summary"), html`<textarea name="summary" required></textarea>`)}`));
    forms.push(actionForm("progress", t("progress"), html`${field(t("step"), html`<select name="step">${options("step", "investigate")}</select>`)}
      ${field(t("note"), html`<textarea name="note" required></textarea>`)}
      <label class="check"><input type="checkbox" name="notify_requester"> ${t("notify")}</label>`));
    forms.push(paused
      ? html`<button class="primary act-resume" type="button">${t("resume")}</button>`
      : actionForm("pause", t("pause"), field(t("reason"), html`<textarea name="reason" required></textarea>`)));
    const proposed = localInput(Date.parse(kase.due?.resolve || new Date(now()).toISOString()) + 5 * 86400000);
    forms.push(actionForm("extension", t("extension"), html`${field(t("clockName"), html`<select name="clock">
        ${["resolve", "first_contact"].map((c) => html`<option value="${c}">${label("clock", c)}</option>`)}</select>`)}
      ${field(t("requestedDue"), html`<input type="datetime-local" name="requested_due" required value="${proposed}">`)}
      ${field(t("reason"), html`<textarea name="reason" required></textarea>`)}`));
    forms.push(actionForm("resolve", t("resolve"), html`${field(t("outcome"), html`<select name="outcome">${options("outcome", "resolved")}</select>`)}
      ${field(t("reply"), html`<textarea name="reply" required></textarea>`)}
      ${field(t("reason"), html`<input name="reason">`)}
      ${field(t("overrideReason"), html`<input name="override_reason">`)}`));
  }
  if (lead && kase.state === "resolved" && (!request || request.state === "resolved")) {
    forms.push(actionForm("feedback", t("feedback"), field(t("message"), html`<textarea name="message"></textarea>`), { open: true }));
  }
  if (!lead && LEAD_WORKING.concat(["routed"]).includes(kase.state)) {
    forms.push(actionForm("opinion", t("opinion"), field(t("opinion"), html`<textarea name="opinion" required></textarea>`), { open: true }));
  }
  if (me.role === "dept_head" && pending.length) {
    forms.push(html`<div class="pending-extensions"><h4>${t("extensions")}</h4>${pending.map((x) => html`
      <form class="decide" data-id="${x.id}"><p>${label("clock", x.clock)} → ${time(x.requested_due)} · ${x.reason}</p>
        <input name="note" placeholder="${t("note")}" aria-label="${t("note")}">
        <button class="act approve" value="1">${t("approve")}</button><button class="act reject" value="0">${t("reject")}</button></form>`)}</div>`);
  }
  return forms.length ? html`${forms}` : html`<p class="muted">${t("noActions")}</p>`;
}

function oversightActions(me, request, lacking, extra = {}) {
  const forms = [];
  // 查看原文: the text unmasked, for a stated purpose (intake logs every read).
  if (request && READS_CONTACT.includes(me.role) && !extra.full) {
    forms.push(actionForm("fulltext", t("readFullText"), field(t("fullTextPurpose"),
      html`<input name="purpose" required minlength="3" maxlength="500">`), { primary: t("readFullText") }));
  }
  // 补充材料: the agent adds what the person has brought since, scans where the catalogue
  // wants them (intake goes on to routing once nothing is missing).
  if (me.role === "agent" && request?.state === "incomplete" && lacking.length) {
    forms.push(actionForm("supplement", t("supplement"), html`<p class="muted">${t("supplementHint")}</p>
      ${materialRows(lacking)}<p class="supplement-status warn" aria-live="polite">${problemWords(problems(lacking, new Map()), lacking)}</p>`,
    { open: true, primary: t("supplement") }));
  }
  // 撤回: the person no longer wants it handled (before it is resolved); they are told.
  if (me.role === "agent" && WITHDRAWABLE.includes(request?.state)) {
    forms.push(actionForm("withdraw", t("withdraw"), field(t("withdrawReason"), html`<textarea name="reason" required maxlength="500"></textarea>`), { primary: t("withdraw") }));
  }
  // 典型案例: a resolved request proposed for the knowledge base (a supervisor approves it).
  if (["agent", "handler", "dept_head", "supervisor"].includes(me.role) && RESOLVED.includes(request?.state)) {
    forms.push(actionForm("kbcase", t("proposeCase"), html`${field(t("caseTitle2"), html`<input name="title" minlength="2" maxlength="500">`)}
      ${field(t("caseAnswer"), html`<textarea name="answer" required minlength="10" maxlength="5000"></textarea>`)}`, { primary: t("proposeCase") }));
  }
  if (me.role === "supervisor") {
    forms.push(actionForm("supervise", t("supervise"), html`${field(t("instructions"), html`<textarea name="instructions" required></textarea>`)}
      ${field(t("orderDue"), html`<input type="datetime-local" name="due" required value="${localInput(now() + 2 * 86400000)}">`)}`));
  }
  if (me.role === "agent" && request && ["resolved", "feedback_given"].includes(request.state)) {
    forms.push(actionForm("rating", t("rate"), html`${field(t("rating"), html`<select name="rating">${options("rating", "satisfied")}</select>`)}
      ${field(t("comment"), html`<input name="comment">`)}`));
  }
  // 窗口服务评价: the person rates the window clerk who served them (not the clerk themselves:
  // followup refuses a rating of oneself), with the reasons followup lists.
  const clerk = clerkOf(request);
  if (me.role === "agent" && request?.channel === "window" && clerk && clerk !== me.sub && extra.reasons && !extra.staffRated) {
    forms.push(actionForm("staffrate", t("staffRate"), html`<p class="served-by">${t("servedBy", { name: extra.clerkName ? `${extra.clerkName}（${clerk}）` : clerk })}</p>
      ${field(t("staffLevel"), html`<select name="level">${extra.reasons.levels.map((l) => html`<option value="${l}" ${l === "satisfied" ? "selected" : ""}>${label("staffLevel", l)}</option>`)}</select>`)}
      ${field(t("staffReasons"), html`<span class="checks">${Object.entries(extra.reasons.reasons).map(([code, words]) => html`<label class="check">
        <input type="checkbox" name="reason.${code}" data-group="reasons" value="${code}"> ${label("staffReason", code) === code ? words : label("staffReason", code)}</label>`)}</span>`)}
      ${field(t("comment"), html`<input name="comment" maxlength="2000">`)}`, { primary: t("staffRate") }));
  }
  if (CLOSES.includes(me.role) && CLOSABLE.includes(request?.state)) {
    forms.push(actionForm("close", t("closeCase"), field(t("closeReason"), html`<input name="reason" required maxlength="500" value="${t("closeDefault")}">`), { primary: t("closeCase") }));
  }
  return forms;
}

const BODIES = {
  contact: (v) => ({ how: v.how, summary: v.summary }),
  progress: (v) => ({ step: v.step, note: v.note, notify_requester: Boolean(v.notify_requester) }),
  pause: (v) => ({ reason: v.reason }),
  return: (v) => ({ reason: v.reason, ...(v.belongs_to_department ? { belongs_to_department: v.belongs_to_department } : {}) }),
  opinion: (v) => ({ opinion: v.opinion }),
  extension: (v) => ({ clock: v.clock, requested_due: fromLocalInput(v.requested_due), reason: v.reason }),
  resolve: (v) => ({ outcome: v.outcome, reply: v.reply, ...(v.reason ? { reason: v.reason } : {}), ...(v.override_reason ? { override_reason: v.override_reason } : {}) }),
};
const ROUTES = {
  contact: "/v1/cases/{request_id}/contact", progress: "/v1/cases/{request_id}/progress", pause: "/v1/cases/{request_id}/pause",
  return: "/v1/cases/{request_id}/return", opinion: "/v1/cases/{request_id}/opinions", extension: "/v1/cases/{request_id}/extensions",
  resolve: "/v1/cases/{request_id}/resolve",
};

// Staff names from routing's directory, asked once per member seen in a timeline.
const staffNames = new Map();

async function nameStaff(events, more = []) {
  const ids = [...new Set([...events.filter((e) => e.actor?.kind === "staff").map((e) => e.actor.id), ...more])].filter((i) => !staffNames.has(i));
  const found = await Promise.all(ids.map((staff_id) => call("routing", "GET", "/v1/staff/{staff_id}", { path: { staff_id } }).catch(() => null)));
  ids.forEach((i, n) => staffNames.set(i, found[n]?.name || null));
}

export async function casePage(main, { me, arg: id }) {
  render(main, html`<h2>${t("caseTitle", { id })}</h2>
    <div class="case-grid">
      <div>${card(t("requestFacts"), html`<div id="facts"></div>`)}${card(t("clocks"), html`<div id="clocks"></div>`)}
        ${card(t("caseActions"), html`<div id="action-result" aria-live="polite"></div><div id="actions"></div>`)}</div>
      ${card(t("timeline"), html`<div id="timeline"></div>`)}
    </div>`);
  const dept_staff = ["handler", "dept_head"].includes(me.role);
  // The business catalogue names the business type and its materials (read once per page).
  const catalog = await call("intake", "GET", "/v1/catalog").then((r) => r.items).catch(() => []);
  let openForm = null;
  let lacking = []; // the materials the request still lacks, as last read
  let full = null; // the full text, once read (kept through the page's polls)
  let staffRated = false;
  // The reasons and levels of a staff rating (followup), for a window request's rating form.
  const reasons = me.role === "agent" ? await call("followup", "GET", "/v1/staff-ratings/reasons").catch(() => null) : null;
  const show = async () => {
    const [request, kase, events, pending] = await Promise.all([
      call("intake", "GET", "/v1/requests/{request_id}", { path: { request_id: id } }).catch(() => null),
      dept_staff ? call("handling", "GET", "/v1/cases/{request_id}", { path: { request_id: id } }).catch(() => null) : null,
      call("kpi", "GET", "/v1/requests/{request_id}/timeline", { path: { request_id: id } }).then((r) => r.events).catch(() => []),
      me.role === "dept_head" ? call("handling", "GET", "/v1/extensions", { query: { request_id: id, state: "pending" } }).then((r) => r.items) : [],
    ]);
    const pauses = events.filter((e) => ["request.paused", "request.resumed"].includes(e.type));
    const paused = pauses.length > 0 && pauses[pauses.length - 1].type === "request.paused";
    const working = await workingTimeLeft(running(kase, events)); // one call to routing for the clocks shown
    const words = catalogueWords(catalog, request);
    lacking = words.lacking;
    render("#facts", facts(request, kase, paused, words, me, full));
    render("#clocks", clocks(kase, paused, events, working));
    await nameStaff(events, request?.channel === "window" && clerkOf(request) ? [clerkOf(request)] : []);
    render("#timeline", timeline(events, { materialName: words.materialName, staffName: (i) => staffNames.get(i) }));
    // Keep a form the user is typing in: re-render the actions only when none is open.
    if (!openForm || !document.body.contains(openForm)) {
      const actions = [];
      if (dept_staff) actions.push(kase ? departmentActions(kase, me, paused, pending, request) : html`<p class="muted">${t("notYours")}</p>`);
      const clerkName = clerkOf(request) ? staffNames.get(clerkOf(request)) : null;
      actions.push(...oversightActions(me, request, words.lacking, { full, reasons, staffRated, clerkName }));
      render("#actions", actions.length ? html`${actions}` : html`<p class="muted">${t("noActions")}</p>`);
    }
  };
  const done = async (what) => {
    toast(t("done", { what }));
    openForm = null;
    await show();
  };
  onRevealContact($("#facts"));
  const actions = $("#actions");
  actions.addEventListener("toggle", (event) => (openForm = event.target.open ? event.target : null), true);
  // The supplement form tells at once what would still be missing.
  actions.addEventListener("change", (event) => {
    const form = event.target.closest('form[data-action="supplement"]');
    if (!form) return;
    const found = problems(lacking, readMaterials(form));
    const status = form.querySelector(".supplement-status");
    status.className = `supplement-status ${found.length ? "warn" : "ok"}`;
    status.textContent = problemWords(found, lacking);
  });
  actions.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) event.target.form?.requestSubmit();
  });
  on(actions, "click", "button.act-accept", async () => {
    try {
      await call("handling", "POST", "/v1/cases/{request_id}/accept", { path: { request_id: id }, body: {} });
      await done(t("accept"));
    } catch (e) {
      toast(e.message, true);
    }
  });
  on(actions, "click", "button.act-resume", async () => {
    try {
      await call("handling", "POST", "/v1/cases/{request_id}/resume", { path: { request_id: id } });
      await done(t("resume"));
    } catch (e) {
      toast(e.message, true);
    }
  });
  on(actions, "submit", "form", async (event, form) => {
    event.preventDefault();
    const name = form.dataset.action;
    const v = formValues(form);
    try {
      if (form.classList.contains("decide")) {
        const approve = event.submitter?.value === "1";
        await call("handling", "POST", "/v1/extensions/{extension_id}/decision", {
          path: { extension_id: form.dataset.id }, body: { approve, ...(v.note ? { note: v.note } : {}) },
        });
        return await done(approve ? t("approve") : t("reject"));
      }
      if (name === "supervise") {
        await call("handling", "POST", "/v1/supervision-orders", {
          body: { request_id: id, instructions: v.instructions, due: fromLocalInput(v.due) },
        });
        return await done(t("issued"));
      }
      if (name === "supplement") {
        const picked = await collect(lacking, readMaterials(form));
        if (!picked.length) return toast(t("supplementHint"), true);
        const answer = await call("intake", "POST", "/v1/requests/{request_id}/supplements", { path: { request_id: id }, body: { materials: picked } });
        const still = answer.missing_materials || [];
        const words = still.length ? t("supplementedSome", { list: still.map((m) => m.name || m.code).join("、") }) : t("supplementedAll");
        toast(words);
        openForm = null;
        await show();
        return render("#action-result", html`<p class="${still.length ? "warn" : "ok"}" id="supplemented">${words}</p>`);
      }
      if (name === "kbcase") {
        const made = await call("intake", "POST", "/v1/kb/cases", { body: { request_id: id, answer: v.answer, ...(v.title ? { title: v.title } : {}) } });
        toast(t("caseProposed", { q: made.question }));
        openForm = null;
        await show();
        return render("#action-result", html`<p class="ok" id="case-proposed">${t("caseProposed", { q: made.question })}</p>`);
      }
      if (name === "fulltext") {
        full = await call("intake", "GET", "/v1/requests/{request_id}/text", { path: { request_id: id }, query: { purpose: v.purpose } });
        return await done(t("readFullText"));
      }
      if (name === "close") {
        await call("followup", "POST", "/v1/requests/{request_id}/close", { path: { request_id: id }, body: { reason: v.reason } });
        toast(t("closedOk", { id: id.slice(0, 8) }));
        openForm = null;
        await show();
        return render("#action-result", html`<p class="ok" id="case-closed">${t("closedOk", { id: id.slice(0, 8) })}</p>`);
      }
      if (name === "staffrate") {
        const clerk = form.querySelector(".served-by")?.textContent.replace(/^[^：:]*[：:]\s*/, "") || "";
        const request = await call("intake", "GET", "/v1/requests/{request_id}", { path: { request_id: id } });
        const rated = await call("followup", "POST", "/v1/staff-ratings", {
          body: {
            staff_id: clerkOf(request), service_ref: `window:${id}`, channel: "window", request_id: id,
            level: v.level, reasons: v.reasons || [], ...(v.comment ? { comment: v.comment } : {}),
          },
        });
        staffRated = true;
        const words = t("staffRated", { name: clerk, level: label("staffLevel", rated.level) });
        toast(words);
        openForm = null;
        await show();
        return render("#action-result", html`<p class="ok" id="staff-rated">${words}${rated.rectification_due
          ? html`<br><span class="warn">${t("rectifyBy", { due: "" })}${time(rated.rectification_due)}</span>` : ""}</p>`);
      }
      if (name === "withdraw") {
        await call("intake", "POST", "/v1/requests/{request_id}/withdraw", { path: { request_id: id }, body: { reason: v.reason } });
        return await done(t("withdraw"));
      }
      if (name === "feedback") {
        await call("followup", "POST", "/v1/requests/{request_id}/feedback", {
          path: { request_id: id }, body: v.message ? { message: v.message } : {},
        });
        return await done(t("feedback"));
      }
      if (name === "rating") {
        await call("followup", "POST", "/v1/requests/{request_id}/rating", {
          path: { request_id: id }, body: { rating: v.rating, ...(v.comment ? { comment: v.comment } : {}) },
        });
        return await done(t("rate"));
      }
      await call("handling", "POST", ROUTES[name], { path: { request_id: id }, body: BODIES[name](v) });
      await done(form.closest("details")?.querySelector("summary")?.textContent || name);
    } catch (e) {
      toast(e.message, true);
    }
  });
  await show();
  return { refresh: show };
}
