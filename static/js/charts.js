// A small SVG bar chart, drawn at the width of its box (so text keeps its size on a phone) and
// redrawn when that width changes. No library: a dozen bars need a few rectangles and labels.
//
// What a screen reader gets: the SVG is one image (role="img") whose label sums the series up,
// and a visually hidden table beside it holds every number.

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 190;
const TOP = 22; // room for the value over the tallest bar
const BOTTOM = 26; // room for the axis labels
const LABEL_CHAR_PX = 6.8; // a glyph of a bold .chart-label (11px), to tell whether labels collide
// A label aligned to an edge stays this far inside it: a glyph's ink can pass its advance.
const LABEL_INSET_PX = 1;
const MIN_BAR_PX = 2; // an empty period still shows a stub on the baseline

/**
 * A titled bar chart in a <figure>: `chart.element` goes into the page, `chart.update({bars,
 * summary})` (re)draws it. `bars` is [{label, longLabel, value}], oldest first; the last one is
 * "now" and stands out. `summary` is the image's accessible name; `columns` names the hidden
 * table's two columns.
 */
export class BarChart {
  constructor({ title, subtitle, columns }) {
    this.title = title;
    this.columns = columns;
    this.bars = [];
    this.summary = "";
    this.drawnWidth = 0;
    this.element = element("figure", "chart");
    const caption = element("figcaption", "chart-caption");
    caption.append(element("span", "chart-title", title));
    if (subtitle) caption.append(element("span", "chart-subtitle", subtitle));
    this.canvas = element("div", "chart-canvas");
    // A table in a visually hidden box: a visually hidden table still widens the page.
    this.table = element("table");
    const hidden = element("div", "visually-hidden");
    hidden.append(this.table);
    this.element.append(caption, this.canvas, hidden);
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  update({ bars, summary }) {
    this.bars = bars;
    this.summary = summary;
    const table = dataTable(this.title, this.columns, bars);
    this.table.replaceWith(table);
    this.table = table;
    this.drawnWidth = 0;
    this.draw();
  }

  draw() {
    const width = Math.floor(this.canvas.clientWidth);
    if (!width || !this.bars.length || width === this.drawnWidth) return;
    this.drawnWidth = width;
    const svg = barsSvg(this.bars, width, this.summary);
    this.canvas.replaceChildren(svg);
    keepLabelsInside(svg, width);
  }
}

/**
 * Align a label that sticks out of the chart to the edge it crosses. `axisLabel` guesses from
 * an average glyph; the drawn text says exactly ("30 Nov" in bold is wider than "23 Nov").
 */
function keepLabelsInside(svg, width) {
  for (const label of svg.querySelectorAll(".chart-label")) {
    const box = label.getBBox();
    if (box.x + box.width > width) {
      label.setAttribute("x", String(width - LABEL_INSET_PX));
      label.setAttribute("text-anchor", "end");
    } else if (box.x < 0) {
      label.setAttribute("x", String(LABEL_INSET_PX));
      label.setAttribute("text-anchor", "start");
    }
  }
}

function barsSvg(bars, width, summary) {
  const svg = svgElement("svg", {
    class: "chart-svg",
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: "img",
    "aria-label": summary,
  });
  const slot = width / bars.length;
  const barWidth = Math.max(4, Math.min(36, slot * 0.64));
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const baseline = TOP + plotHeight;
  const top = niceCeiling(Math.max(...bars.map((bar) => bar.value), 1));
  const labelEvery = labelStep(bars, slot);

  svg.append(gridLines(width, baseline, plotHeight, top));
  if (bars.every((bar) => bar.value === 0)) {
    svg.append(text("chart-empty", width / 2, TOP + plotHeight / 2, "No appointments yet"));
  }
  bars.forEach((bar, index) => {
    const centre = slot * index + slot / 2;
    const height = Math.max(MIN_BAR_PX, (bar.value / top) * plotHeight);
    const current = index === bars.length - 1;
    const group = svgElement("g", { class: current ? "chart-bar-group chart-now" : "chart-bar-group" });
    const tooltip = svgElement("title");
    tooltip.textContent = `${bar.longLabel}: ${bar.value}`;
    group.append(
      tooltip,
      svgElement("rect", {
        class: "chart-bar",
        x: round(centre - barWidth / 2),
        y: round(baseline - height),
        width: round(barWidth),
        height: round(height),
        rx: Math.min(4, barWidth / 4),
        "data-value": bar.value,
      }),
    );
    if (bar.value > 0) group.append(text("chart-value", centre, baseline - height - 6, String(bar.value)));
    // The newest label always shows; the others thin out from it when they would collide.
    if ((bars.length - 1 - index) % labelEvery === 0) {
      group.append(axisLabel(bar.label, centre, width));
    }
    svg.append(group);
  });
  return svg;
}

/** A faint line at the top of the scale and at half of it, with the baseline drawn solid. */
function gridLines(width, baseline, plotHeight, top) {
  const group = svgElement("g", { class: "chart-grid", "aria-hidden": "true" });
  for (const fraction of [0.5, 1]) {
    const y = round(baseline - plotHeight * fraction);
    group.append(svgElement("line", { x1: 0, x2: width, y1: y, y2: y, class: "chart-gridline" }));
  }
  group.append(svgElement("line", { x1: 0, x2: width, y1: baseline, y2: baseline, class: "chart-axis" }));
  return group;
}

/** A label under its bar, kept inside the chart: the first and last align to its edges. */
function axisLabel(content, centre, width) {
  const half = (content.length * LABEL_CHAR_PX) / 2;
  const label = text("chart-label", centre, HEIGHT - 8, content);
  if (centre + half > width) {
    label.setAttribute("x", String(width));
    label.setAttribute("text-anchor", "end");
  } else if (centre - half < 0) {
    label.setAttribute("x", "0");
    label.setAttribute("text-anchor", "start");
  }
  return label;
}

/** Show every label, or every 2nd, 3rd… when the longest would not fit in its slot. */
function labelStep(bars, slot) {
  const longest = Math.max(...bars.map((bar) => bar.label.length));
  const needed = longest * LABEL_CHAR_PX + 6;
  return Math.max(1, Math.ceil(needed / slot));
}

/** A round number at or above `value` for the top of the scale (1, 2, 5, 10, 20, 50…). */
function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((candidate) => candidate * power >= value);
  return step * power;
}

function dataTable(title, [periodHeader, valueHeader], bars) {
  const table = element("table");
  table.append(element("caption", "", title));
  const head = element("tr");
  head.append(header(periodHeader, "col"), header(valueHeader, "col"));
  const body = element("tbody");
  for (const bar of bars) {
    const row = element("tr");
    row.append(header(bar.longLabel, "row"), element("td", "", String(bar.value)));
    body.append(row);
  }
  const thead = element("thead");
  thead.append(head);
  table.append(thead, body);
  return table;
}

function header(text, scope) {
  const cell = element("th", "", text);
  cell.scope = scope;
  return cell;
}

function text(className, x, y, content) {
  const node = svgElement("text", { class: className, x: round(x), y: round(y), "text-anchor": "middle" });
  node.textContent = content;
  return node;
}

function svgElement(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function element(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

function round(value) {
  return Math.round(value * 10) / 10;
}
