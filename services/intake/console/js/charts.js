// Charts drawn by Apache ECharts (vendored from its npm package by `make console-deps`).
import * as echarts from "../vendor/echarts.esm.min.mjs";
import { departmentName } from "./i18n.js";

const PALETTE = ["#1f4e79", "#c62828", "#2e7d32", "#f0a500", "#6a1b9a", "#00838f", "#5d4037", "#455a64"];
const live = new WeakMap();

function chart(el) {
  let instance = live.get(el);
  if (!instance) {
    instance = echarts.init(el, null, { renderer: "svg" });
    live.set(el, instance);
    new ResizeObserver(() => instance.resize()).observe(el);
  }
  return instance;
}

/** Each department's monthly score, one line per department, with the pass line. */
export function scoreTrend(el, months, history, passLine = 85) {
  const departments = [...new Set(history.flatMap((h) => h.items.map((r) => r.department)))];
  chart(el).setOption({
    color: PALETTE, animation: false,
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", bottom: 0 },
    grid: { left: 40, right: 20, top: 20, bottom: 50 },
    xAxis: { type: "category", data: months },
    yAxis: { type: "value", min: 0, max: 100 },
    series: departments.map((code, n) => ({
      name: departmentName(code), type: "line", connectNulls: true, symbolSize: 6,
      data: history.map((h) => h.items.find((r) => r.department === code)?.score ?? null),
      ...(n === 0 ? { markLine: { silent: true, symbol: "none", lineStyle: { type: "dashed", color: "#999" }, data: [{ yAxis: passLine }] } } : {}),
    })),
  }, true);
}

/** Hot spots as horizontal bars: this period against the previous one. */
export function hotspotBars(el, rows, labels) {
  const top = rows.slice(0, 10).reverse();
  chart(el).setOption({
    color: ["#1f4e79", "#b8c2cc"], animation: false,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { bottom: 0, data: [labels.current, labels.previous] },
    grid: { left: 110, right: 20, top: 10, bottom: 40 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: top.map((r) => labels.name(r.key)) },
    series: [
      { name: labels.current, type: "bar", data: top.map((r) => r.count) },
      { name: labels.previous, type: "bar", data: top.map((r) => r.previous ?? 0) },
    ],
  }, true);
}
