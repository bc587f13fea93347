// The services' own APIs, called from the browser with the staff token. Every call names
// its operation as the OpenAPI documents do — service, method and path template — so a
// unit test (tests/unit/test_console_contract.py) checks each one against docs/openapi/.
import { t, label } from "./i18n.js";

export const session = { token: localStorage.getItem("console.token"), urls: {} };

export class ApiError extends Error {
  constructor(status, message, fields = [], code = "") {
    super(message);
    this.status = status;
    this.fields = fields;
    this.code = code;
  }
}

function fill(template, path = {}) {
  return template.replace(/\{(\w+)\}/g, (_, name) => {
    if (path[name] === undefined) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(path[name]);
  });
}

function queryString(query = {}) {
  const pairs = Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? "?" + new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString() : "";
}

/** call("handling", "POST", "/v1/cases/{request_id}/accept", {path: {request_id}, body: {}});
 * `form`: a FormData sent as multipart/form-data (a material's file) instead of a JSON body. */
export async function call(service, method, template, { path, query, body, accept, form } = {}) {
  const response = await fetch(session.urls[service] + fill(template, path) + queryString(query), {
    method,
    headers: {
      Authorization: `Bearer ${session.token}`,
      ...(accept ? { Accept: accept } : {}),
      ...(body !== undefined && !form ? { "Content-Type": "application/json" } : {}),
    },
    body: form || (body !== undefined ? JSON.stringify(body) : undefined),
  });
  const isJson = response.headers.get("content-type")?.includes("json");
  const data = isJson ? await response.json() : await response.text();
  if (!response.ok) {
    const error = data?.error;
    const fields = error?.fields || [];
    const detail = fields.map((f) => `${f.field}: ${f.message}`).join("; ");
    // A conflict (409) is told in the console's words: someone saved in between, it exists
    // already, it is in another state (the service's own words stay in the title).
    const state = error?.current_state ? t("currentState", { state: label("state", error.current_state) }) : "";
    // The generic code says little: the service's own words follow the Chinese ones.
    const generic = !error?.code || error.code === "conflict" || label("conflict", error.code) === error.code;
    const why = label("conflict", generic ? "conflict" : error.code) + state + (generic && error?.message ? ` — ${error.message}` : "");
    const said = response.status === 409 ? t("conflictSaid", { why }) : "";
    throw new ApiError(
      response.status,
      said || `${t("failed")} (${response.status})：${error?.message || data}${detail ? " — " + detail : ""}`,
      fields,
      error?.code || "",
    );
  }
  return data;
}

/** Every page of a keyset-paged list, followed to its end: {items}. For the directories the
 * console holds whole (departments, to name them everywhere). */
export async function everyPage(service, template, { path, query } = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await call(service, "GET", template, { path, query: { ...query, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor || null;
  } while (cursor);
  return { items };
}

/** An operation another release may not have yet: null when the service answers 404. */
export async function optional(service, method, template, options) {
  try {
    return await call(service, method, template, options);
  } catch (e) {
    if (e.status === 404 || e.status === 405) return null;
    throw e;
  }
}

export function claims() {
  try {
    const part = session.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch (e) {
    return null;
  }
}
