// A business type's materials (申请材料) as the agent takes them in: each one ticked as received,
// with its scan attached where the catalogue asks for a file of a given type. What is still
// missing is told at once, by the same rules intake checks a submission with (missing, wrong
// type, too large), so the checklist never says "complete" for what intake will refuse.
import { html } from "./dom.js";
import { t, label } from "./i18n.js";
import { call } from "./api.js";

const TYPE_WORDS = { "image/jpeg": "JPG", "image/png": "PNG", "application/pdf": "PDF" };
export const typeWords = (types = []) => types.map((m) => TYPE_WORDS[m] || m).join("/");

/** The form's state for each material code: {received, file}. */
export function readMaterials(form) {
  const state = new Map();
  for (const box of form.querySelectorAll("input.material")) state.set(box.value, { received: box.checked, file: null });
  for (const input of form.querySelectorAll("input.material-file")) {
    const file = input.files?.[0] || null;
    const code = input.dataset.code;
    state.set(code, { received: Boolean(file) || Boolean(state.get(code)?.received), file });
  }
  return state;
}

/** Intake's rules (services/intake/domain/materials.py): [{code, name, reason}] for what is not
 * acceptable yet, in the catalogue's order. */
export function problems(required, state) {
  const out = [];
  for (const m of required) {
    const given = state.get(m.code);
    if (!given?.received) {
      if (m.mandatory) out.push({ code: m.code, name: m.name, reason: "missing" });
      continue;
    }
    if (m.media_types?.length && !m.media_types.includes(given.file?.type)) out.push({ code: m.code, name: m.name, reason: "wrong_media_type" });
    else if (m.max_size != null && given.file && given.file.size > m.max_size) out.push({ code: m.code, name: m.name, reason: "too_large" });
  }
  return out;
}

/** 缺少：租赁合同或房产证明；需上传扫描件（JPG/PDF）：身份证. */
export function problemWords(found, required = []) {
  if (!found.length) return t("materialsComplete");
  const byReason = (reason) => found.filter((p) => p.reason === reason);
  const parts = [];
  if (byReason("missing").length) parts.push(t("materialsMissing", { list: byReason("missing").map((p) => p.name).join("、") }));
  for (const reason of ["wrong_media_type", "too_large"]) {
    for (const p of byReason(reason)) {
      const types = required.find((m) => m.code === p.code)?.media_types;
      parts.push(label("materialProblem", reason) + (types?.length && reason === "wrong_media_type" ? `（${typeWords(types)}）` : "") + `：${p.name}`);
    }
  }
  return parts.join("；");
}

/** One row a material: received (ticked), and its scan where the catalogue wants a file. */
export const materialRows = (materials, received = new Set()) => html`<ul class="material-rows">${materials.map(
  (m) => html`<li data-material="${m.code}"><label class="check"><input type="checkbox" class="material" data-group="materials"
      name="material.${m.code}" value="${m.code}" ${received.has(m.code) ? "checked" : ""}> ${m.name}${m.mandatory ? html` <span class="req">*</span>` : ""}</label>
    ${m.media_types?.length ? html`<label class="scan"><span class="muted">${t("scan")}（${typeWords(m.media_types)}）</span>
      <input type="file" class="material-file" data-code="${m.code}" name="file.${m.code}" accept="${m.media_types.join(",")}"></label>` : ""}</li>`,
)}</ul>`;

/** The materials to send for the codes received: each scan stored first (POST /v1/materials),
 * then named by its hash, type and size. */
export async function collect(required, state) {
  const out = [];
  for (const m of required) {
    const given = state.get(m.code);
    if (!given?.received) continue;
    const material = { code: m.code, name: m.name };
    if (given.file) {
      const form = new FormData();
      form.append("file", given.file, given.file.name);
      const stored = await call("intake", "POST", "/v1/materials", { form });
      Object.assign(material, { media_type: stored.media_type, sha256: stored.sha256, size: stored.size });
    }
    out.push(material);
  }
  return out;
}
