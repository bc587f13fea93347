// Markup from tagged templates: every interpolated value is escaped unless it is itself a
// template result (html`…`) or an array of them. There is no other way to put text into
// the page, so a value from an API can never become markup.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

export class Markup {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

export const escape = (value) => String(value ?? "").replace(/[&<>"'`]/g, (c) => ESCAPES[c]);

function piece(value) {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(piece).join("");
  if (value === null || value === undefined || value === false) return "";
  return escape(value);
}

/** html`<p>${text}</p>`: a Markup whose holes are escaped. */
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => {
    out += piece(value) + strings[i + 1];
  });
  return new Markup(out);
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Put a Markup into an element (the only place the console sets innerHTML). */
export function render(target, markup) {
  const el = typeof target === "string" ? $(target) : target;
  if (!el) return null;
  if (!(markup instanceof Markup)) throw new TypeError("render() takes html`…` only");
  el.innerHTML = markup.text;
  return el;
}

/** Delegated events: on(root, "click", "button.accept", (event, button) => …). */
export function on(root, type, selector, handler) {
  root.addEventListener(type, (event) => {
    const target = event.target.closest(selector);
    if (target && root.contains(target)) handler(event, target);
  });
}

/** The fields of a form as a plain object (checkboxes as booleans, empty strings dropped). */
export function formValues(form) {
  const values = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") {
      if (el.dataset.group) {
        (values[el.dataset.group] ||= []);
        if (el.checked) values[el.dataset.group].push(el.value);
      } else values[el.name] = el.checked;
    } else if (el.value.trim() !== "") values[el.name] = el.value.trim();
  }
  return values;
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
