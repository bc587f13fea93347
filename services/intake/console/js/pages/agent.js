// 坐席: register a call keyboard first — caller lookup, the form, KB answers beside it.
import { html, render, $, on, formValues, debounce } from "../dom.js";
import { t, label, bilingual, departmentName } from "../i18n.js";
import { call, optional, everyPage } from "../api.js";
import { workingTimeLeft, CALENDAR_TIME } from "../timeleft.js";
import { pct } from "../format.js";
import { toast, card, badge, dept, caseLink, time, table, options, field, pagedList, clockLeft } from "../ui.js";
import { materialRows, readMaterials, problems, problemWords, collect } from "../materials.js";

const CALLER_PAGES = 4; // a caller's earlier requests read: up to 4 pages of 50
const CALLER_SHOWN = 10; // of which the latest shown
const OPEN = new Set(["received", "incomplete", "supplemented", "routed", "returned", "escalated", "accepted", "in_progress", "reopened"]);

const requestColumns = () => [
  [t("id"), (r) => caseLink(r.id)],
  [t("receivedAt"), (r) => time(r.received_at)],
  [t("category"), (r) => label("category", r.category)],
  [t("state"), (r) => badge("state", r.state)],
  [t("lead"), (r) => dept(r.lead_department)],
  [t("content"), (r) => html`<span class="snippet">${(r.content || "").slice(0, 40)}</span>`],
];

/** What the 事项 and 区域 fields suggest: the dispatch catalogue's matters by name (routing's
 * GET /v1/matters) and the areas routing's rules know (GET /v1/rules); both fields take any
 * other text as typed. */
async function suggestionLists() {
  const [matters, rules] = await Promise.all([
    everyPage("routing", "/v1/matters").then((r) => r.items).catch(() => []),
    call("routing", "GET", "/v1/rules").then((r) => r.items).catch(() => []),
  ]);
  const topics = [...new Set(matters.filter((m) => m.active !== false).map((m) => bilingual(m.name)))];
  const areas = [...new Set(rules.flatMap((r) => r.match?.area || []))].sort();
  return { topics, areas };
}

function form(catalog, lists) {
  return html`<form id="new-request" autocomplete="off">
    <div class="row">
      ${field(t("phone"), html`<input name="phone" id="phone" inputmode="tel" autofocus>`)}
      ${field(t("name"), html`<input name="name">`)}
      ${field(t("channel"), html`<select name="channel">${options("channel", "hotline")}</select>`)}
    </div>
    ${field(t("content"), html`<textarea name="content" id="content" required rows="5"></textarea>`)}
    <div id="matter-suggestions" aria-live="polite"></div>
    <div class="row">
      ${field(t("category"), html`<select name="category">${options("category", "", { blank: t("autoDetect") })}</select>`)}
      ${field(t("urgency"), html`<select name="urgency">${options("urgency", "", { blank: t("autoDetect") })}</select>`)}
      ${field(t("area"), html`<input name="area" list="areas" placeholder="例：鼓楼区">`)}
    </div>
    <div class="row">
      ${field(t("topic"), html`<input name="topic" list="topics" placeholder="例：噪音、供水、物业">`)}
      ${field(t("address"), html`<input name="address">`)}
    </div>
    <datalist id="topics">${lists.topics.map((x) => html`<option value="${x}">`)}</datalist>
    <datalist id="areas">${lists.areas.map((x) => html`<option value="${x}">`)}</datalist>
    <div class="row">
      ${field(t("businessType"), html`<select name="business_type" id="business-type">
        <option value="">${t("none")}</option>
        ${catalog.map((c) => html`<option value="${c.code}">${bilingual(c.name)}</option>`)}</select>`)}
      <label class="check"><input type="checkbox" name="anonymous"> ${t("anonymous")}</label>
    </div>
    <div id="materials"></div>
    <button class="primary" type="submit">${t("submit")}</button>
  </form>`;
}

/** The business type's checklist (materials.js), its status told at once under it. */
const materialsChecklist = (entry) => (entry ? html`<fieldset class="materials"><legend>${t("materials")}</legend>
    ${materialRows(entry.materials)}<p id="materials-status" aria-live="polite"></p></fieldset>` : html``);

function materialsStatus(entry, formEl) {
  const status = formEl.querySelector("#materials-status");
  if (!entry || !status) return;
  const found = problems(entry.materials, readMaterials(formEl));
  status.className = found.length ? "warn" : "ok";
  status.textContent = problemWords(found, entry.materials);
}

/** Routing's matters (事项) for the text typed so far, each with its lead department. */
function matterSuggestions(items, picked) {
  if (!items.length) return html``;
  return html`<div class="matter-suggestions"><h4>${t("matterSuggestions")}</h4>
    <ol class="matter-list">${items.map((m) => html`<li class="${m.code === picked ? "picked" : ""}" data-matter="${m.code}">
      <button type="button" class="act pick-matter" data-code="${m.code}">${bilingual(m.name)}</button>
      <span class="matter-lead">${t("lead")}：${bilingual(m.lead_department_name)}</span>
      <span class="muted">${label("category", m.category)} · ${t("confidence")} ${pct(m.confidence)}</span></li>`)}</ol>
    ${picked ? html`<p class="ok" id="matter-picked">${t("matterPicked", { name: bilingual(items.find((m) => m.code === picked)?.name || picked) })}</p>` : ""}</div>`;
}

async function submission(values, catalog, category, formEl) {
  const body = { channel: values.channel, content: values.content };
  for (const key of ["category", "urgency", "topic", "area", "business_type"]) if (values[key]) body[key] = values[key];
  if (category) body.category = category;
  if (values.anonymous) body.anonymous = true;
  else {
    const requester = {};
    if (values.name) requester.name = values.name;
    if (values.phone) requester.phone = values.phone;
    if (values.address) requester.address = values.address;
    body.requester = requester;
  }
  const entry = catalog.find((c) => c.code === values.business_type);
  if (entry) body.materials = await collect(entry.materials, readMaterials(formEl));
  return body;
}

export async function agentPage(main, { me }) {
  const [catalog, lists] = await Promise.all([call("intake", "GET", "/v1/catalog").then((r) => r.items), suggestionLists()]);
  render(main, html`<h2>${t("newRequest")}</h2>
    <div class="workbench">
      <div class="col-main">${card(t("newRequest"), form(catalog, lists))}<div id="result"></div></div>
      <aside class="col-side">
        ${card(t("callerLookup"), html`<div id="caller"><p class="muted">${t("phone")}…</p></div>`)}
        ${card(t("kbBeside"), html`<div id="kb"><p class="muted">${t("kbHint")}</p></div>`)}
      </aside>
    </div>`);
  const formEl = $("#new-request");
  let articles = [];
  let openEarlier = []; // the caller's requests still open, for a one-step merge
  let matters = [], picked = null, asked = 0; // the matter suggestions shown, the one picked

  const suggestMatters = debounce(async (text) => {
    const mine = ++asked; // an answer to an earlier keystroke arriving late is dropped
    if (text.trim().length < 4) {
      matters = [];
      return render("#matter-suggestions", html``);
    }
    try {
      const found = await call("routing", "POST", "/v1/matter-suggestions", { body: { text: text.trim(), limit: 5 } });
      if (mine !== asked) return;
      matters = found.items;
      render("#matter-suggestions", matterSuggestions(matters, picked));
    } catch (e) {
      toast(e.message, true);
    }
  }, 400);

  const lookup = debounce(async (phone) => {
    if (!/^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/.test(phone)) return render("#caller", html`<p class="muted">${t("phone")}…</p>`);
    // Intake pages a caller's requests oldest first: follow the pages (up to CALLER_PAGES of
    // them) so the count is right and the latest are the ones shown.
    const found = [];
    let cursor = null, pages = 0;
    do {
      const page = await call("intake", "GET", "/v1/requests", { query: { phone, limit: 50, cursor } });
      found.push(...page.items);
      cursor = page.next_cursor || null;
      pages += 1;
    } while (cursor && pages < CALLER_PAGES);
    if ($("#phone").value.replace(/\s/g, "") !== phone) return; // typed on meanwhile
    found.reverse(); // newest first
    const open = found.filter((r) => OPEN.has(r.state));
    openEarlier = open;
    const count = t(cursor ? "earlierMore" : "earlier", { n: found.length });
    render("#caller", found.length
      ? html`<p><span class="badge repeat">${t("repeatCaller")}</span> ${count} · <strong class="${open.length ? "warn" : ""}">${t("openOnes", { n: open.length })}</strong></p>
        ${table(requestColumns(), found.slice(0, CALLER_SHOWN), { rowClass: (r) => (OPEN.has(r.state) ? "open" : ""), rowAttrs: (r) => html`data-id="${r.id}"` })}
        ${found.length > CALLER_SHOWN ? html`<p class="muted">${t("latestShown", { n: CALLER_SHOWN })}</p>` : ""}`
      : html`<p class="muted">${t("newCaller")}</p>`);
  }, 250);

  const searchKb = debounce(async (text) => {
    if (text.trim().length < 2) return render("#kb", html`<p class="muted">${t("kbHint")}</p>`);
    articles = (await call("intake", "GET", "/v1/kb/search", { query: { q: text, limit: 5 } })).items;
    render("#kb", articles.length
      ? html`<ol class="kb-list">${articles.map((a) => html`<li data-article="${a.id}">
          <strong>${a.question}</strong><p class="kb-answer">${a.answer}</p>
          <p class="muted">${a.id} · ${dept(a.department)}</p>
          <button type="button" class="act answer-spot" data-article="${a.id}">${t("answerOnSpot")}</button></li>`)}</ol>`
      : html`<p class="muted">${t("noRows")}</p>`);
  }, 300);

  const entry = () => catalog.find((c) => c.code === $("#business-type").value);
  const showMaterials = () => {
    render("#materials", materialsChecklist(entry()));
    materialsStatus(entry(), formEl);
  };

  formEl.addEventListener("input", (event) => {
    if (event.target.name === "phone") lookup(event.target.value.replace(/\s/g, ""));
    if (event.target.name === "content") {
      searchKb(event.target.value);
      suggestMatters(event.target.value);
    }
  });
  formEl.addEventListener("change", (event) => {
    if (event.target.id === "business-type") showMaterials();
    if (event.target.classList.contains("material") || event.target.classList.contains("material-file")) materialsStatus(entry(), formEl);
    if (event.target.name === "anonymous") for (const n of ["name", "phone", "address"]) formEl.elements[n].disabled = event.target.checked;
  });
  formEl.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) formEl.requestSubmit();
  });

  const submit = async (category) => {
    const made = await call("intake", "POST", "/v1/requests", { body: await submission(formValues(formEl), catalog, category, formEl) });
    return made;
  };
  const done = (markup) => {
    render("#result", markup);
    formEl.reset();
    render("#materials", html``);
    matters = [];
    picked = null;
    asked += 1;
    render("#matter-suggestions", html``);
    render("#kb", html`<p class="muted">${t("kbHint")}</p>`);
    render("#caller", html`<p class="muted">${t("phone")}…</p>`);
    $("#phone").focus();
  };

  formEl.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await submit();
      const missing = made.missing_materials || [];
      // Intake's judgement of repeats (the same caller about the same thing, the same matter
      // at the same place); the caller's open requests if it cannot be asked.
      let duplicates;
      try {
        duplicates = (await call("intake", "GET", "/v1/requests/{request_id}/likely-duplicates", { path: { request_id: made.id } })).items;
      } catch (e) {
        duplicates = openEarlier.filter((r) => r.id !== made.id);
      }
      done(card(t("submittedOk"), html`<p id="made">${t("received", { id: "" })}<strong class="made-id">${made.id}</strong>
        · ${label("category", made.category)} · ${badge("urgency", made.urgency)} · ${badge("state", made.state)}</p>
        ${missing.length ? html`<p class="warn" id="made-missing">${t("incomplete")}：${problemWords(missing)}</p>` : ""}
        <p><a href="#/case/${made.id}">${t("nav.case")}</a></p>
        ${duplicates.length ? html`<div id="duplicates"><h4>${t("duplicates")}</h4>${table([
          ...requestColumns(),
          [t("why"), (r) => (r.reasons || []).map((why) => label("duplicateReason", why)).join("；")],
          [t("actions"), (r) => html`<button type="button" class="act merge" data-from="${made.id}" data-into="${r.id}">${t("mergeInto")}</button>`],
        ], duplicates)}</div>` : ""}`));
      openEarlier = [];
    } catch (e) {
      toast(e.message, true);
    }
  });

  // Picking a suggestion fills 事项 and the category (intake's submission has no matter
  // code: routing decides the department itself, from the text and these facts).
  on(main, "click", "button.pick-matter", (event, button) => {
    const matter = matters.find((m) => m.code === button.dataset.code);
    if (!matter) return;
    picked = matter.code;
    formEl.elements.topic.value = bilingual(matter.name);
    formEl.elements.category.value = matter.category;
    render("#matter-suggestions", matterSuggestions(matters, picked));
    $("#content").focus();
  });

  on(main, "click", "button.merge", async (event, button) => {
    try {
      await call("intake", "POST", "/v1/requests/{request_id}/merge", {
        path: { request_id: button.dataset.from }, body: { into_request_id: button.dataset.into, reason: "重复来电" },
      });
      render("#duplicates", html`<p class="ok" id="merged">${t("merged", { id: button.dataset.into.slice(0, 8) })}</p>`);
      toast(t("merged", { id: button.dataset.into.slice(0, 8) }));
    } catch (e) {
      toast(e.message, true);
    }
  });

  on(main, "click", "button.answer-spot", async (event, button) => {
    const article = articles.find((a) => a.id === button.dataset.article);
    if (!formEl.reportValidity()) return;
    try {
      const made = await submit("consultation");
      await call("intake", "POST", "/v1/requests/{request_id}/answer", {
        path: { request_id: made.id }, body: { answer: article.answer, article_id: article.id },
      });
      done(card(t("submittedOk"), html`<p id="made">${t("answeredOnSpot", { id: article.id })} · <strong class="made-id">${made.id}</strong></p>
        <blockquote>${article.answer}</blockquote>`));
      toast(t("answeredOnSpot", { id: article.id }));
    } catch (e) {
      toast(e.message, true);
    }
  });
  return null;
}

// 催办 is open while a department has the request (intake answers 409 otherwise).
const CHASEABLE = new Set(["routed", "accepted", "in_progress", "returned", "escalated", "reopened"]);

/** The clocks still running on a request a department holds: [clock, due] (accept until it is
 * signed for, then resolve). */
function runningClocks(r) {
  const due = r.route?.due || {};
  if (!CHASEABLE.has(r.state)) return [];
  return (r.state === "routed" ? ["accept", "resolve"] : ["resolve"]).filter((c) => due[c]).map((c) => [c, due[c]]);
}

export async function minePage(main, { me }) {
  render(main, html`<h2>${t("mine")}</h2>${card(t("mine"), html`<div id="chase-result" aria-live="polite"></div><div id="mine"></div>`)}`);
  // Where each request is now and its due times: routing's assignment (the department that
  // holds it, the clocks' due times), counted down in working time (timeleft.js).
  let working = CALENDAR_TIME;
  const load = async (cursor) => {
    const page = await call("intake", "GET", "/v1/requests", { query: { first_responder: "me", limit: 20, cursor } });
    const routes = await Promise.all(page.items.map((r) => (r.lead_department || CHASEABLE.has(r.state)
      ? optional("routing", "GET", "/v1/assignments/{request_id}", { path: { request_id: r.id } }).catch(() => null)
      : null)));
    const items = page.items.map((r, i) => ({ ...r, route: routes[i] }));
    working = await workingTimeLeft(items.flatMap((r) => runningClocks(r).map(([, due]) => due)));
    return { ...page, items };
  };
  const list = pagedList($("#mine"), load,
    (items) => table([
      ...requestColumns().filter(([head]) => head !== t("lead")),
      [t("currentDept"), (r) => dept(r.route?.lead_department || r.lead_department)],
      [t("dueTimes"), (r) => runningClocks(r).map(([clock, due]) => html`<div class="clock" data-clock="${clock}">
        ${label("clock", clock)} ${clockLeft(due, null, { working, showDue: true, paused: Boolean(r.route?.paused_since) })}</div>`)],
      [t("actions"), (r) => (CHASEABLE.has(r.state) && r.lead_department
        ? html`<button type="button" class="act chase" data-id="${r.id}">${t("chase")}</button>`
        : "")],
    ], items, {
      rowClass: (r) => (r.urgency === "urgent" ? "urgent" : ""),
      rowAttrs: (r) => html`data-id="${r.id}"`,
    }));
  on($("#mine"), "click", "button.chase", async (event, button) => {
    button.disabled = true;
    try {
      const chased = await call("intake", "POST", "/v1/requests/{request_id}/chase", { path: { request_id: button.dataset.id }, body: {} });
      const words = t("chasedWhat", { id: chased.id.slice(0, 8), dept: departmentName(chased.department), n: chased.chase_count });
      render("#chase-result", html`<p class="ok" id="chased">${words}</p>`);
      toast(words);
      await list.refresh();
    } catch (e) {
      button.disabled = false;
      render("#chase-result", html`<p class="warn" id="chased">${e.message}</p>`);
      toast(e.message, true);
    }
  });
  await list.refresh();
  return list;
}
