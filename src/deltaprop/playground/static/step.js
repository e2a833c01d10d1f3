// Step mode: show one phase of the recorded step as the server wrote it (no math here).
"use strict";

function typeset(element, latex, display) {
  try {
    katex.render(latex, element, {throwOnError: false, displayMode: display});
  } catch (error) {
    element.textContent = latex;
  }
}

function shortNumber(value) {
  if (value === null) return "NaN";
  const text = Number(value).toPrecision(4);
  return Number(text) === 0 ? "0" : String(Number(text));
}

function matrixRows(view) {
  if (view.shape.length === 0) return [[view.values]];
  if (view.shape.length === 1 || !Array.isArray(view.values[0])) return [view.values];
  return view.values;
}

// one array: its name, shape, the numbers (corner + summary when large); hover shows all digits
function renderMatrix(value) {
  const box = document.createElement("div");
  box.className = "matrix" + (value.given ? " given" : "");
  box.dataset.slot = value.slot;
  box.dataset.shape = JSON.stringify(value.shape);
  box.dataset.symbol = value.symbol;
  const name = document.createElement("span");
  name.className = "name";
  typeset(name, value.latex, false);
  const shape = document.createElement("span");
  shape.className = "shape";
  shape.textContent = value.shape.length ? `(${value.shape.join(" × ")})` : "scalar";
  box.append(name, shape);
  const table = document.createElement("table");
  const rows = matrixRows(value);
  rows.forEach((row, i) => {
    const tr = table.insertRow();
    row.forEach((cell, j) => {
      const td = tr.insertCell();
      td.textContent = shortNumber(cell);
      td.dataset.full = cell === null ? "NaN" : String(cell);
      td.title = `${value.symbol}[${i}${value.shape.length > 1 ? ", " + j : ""}] = ${td.dataset.full}`;
    });
    if (!value.whole && value.shape.length > 1 && value.shape[1] > row.length) {
      const more = tr.insertCell();
      more.className = "more";
      more.textContent = "…";
    }
  });
  box.appendChild(table);
  if (!value.whole) {
    const s = value.summary, more = document.createElement("div");
    more.className = "summary";
    more.textContent = `top-left corner shown; min ${shortNumber(s.min)}, max ${shortNumber(s.max)}, ` +
      `mean ${shortNumber(s.mean)}, norm ${shortNumber(s.norm)}`;
    box.appendChild(more);
  }
  return box;
}

const GRAPH_NODES = {a_prev: [60, 45], w: [60, 115], b: [60, 185], z: [200, 115],
                     a: [300, 115], up: [380, 115]};
const GRAPH_EDGES = [["a_prev", "z"], ["w", "z"], ["b", "z"], ["z", "a"], ["a", "up"]];

function edgePath(from, to, backward) {
  const [x1, y1] = GRAPH_NODES[from], [x2, y2] = GRAPH_NODES[to];
  if (!backward) return `M${x1 + 32},${y1} L${x2 - 32},${y2}`;
  const bend = 28;                      // backward arrows: below the forward ones
  return `M${x2 - 32},${y2 + 8} Q${(x1 + x2) / 2},${(y1 + y2) / 2 + bend} ${x1 + 32},${y1 + 8}`;
}

function drawGraph(svg, graph) {
  svg.replaceChildren();
  if (!graph) return;
  const defs = svgElement("defs", {}, svg);
  const marker = svgElement("marker", {id: "head", viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 4, markerHeight: 4, orient: "auto-start-reverse"}, defs);
  svgElement("path", {d: "M0,0 L10,5 L0,10 z", fill: "#4a5568"}, marker);
  const lit = new Set(graph.lit);
  for (const [from, to] of GRAPH_EDGES) {
    for (const direction of ["f", "b"]) {
      const id = direction === "f" ? `f:${from}-${to}` : `b:${to}-${from}`;
      svgElement("path", {d: edgePath(from, to, direction === "b"), "marker-end": "url(#head)",
        class: `edge ${direction}${lit.has(id) ? " lit" : ""}`, "data-edge": id}, svg);
    }
  }
  for (const [key, [x, y]] of Object.entries(GRAPH_NODES)) {
    const node = svgElement("g", {class: `node${lit.has("u:" + key) ? " lit" : ""}`,
                                  "data-node": key}, svg);
    svgElement("rect", {x: x - 32, y: y - 16, width: 64, height: 32, rx: 6}, node);
    svgElement("text", {x: x, y: y}, node).textContent = graph.labels[key].text;
  }
  svgElement("text", {x: 200, y: 215}, svg).textContent =
    `layer ${graph.layer}: solid = forward, dashed = backward`;
}

function renderStep(step) {
  document.getElementById("phase-title").textContent =
    `${step.index + 1}/${step.count}: ${step.title} (${step.phase})`;
  typeset(document.getElementById("equation"), step.latex, true);
  document.getElementById("equation").dataset.key = step.key;
  document.getElementById("shapes").textContent = step.shapes ? `shapes: ${step.shapes}` : "";
  document.getElementById("notes").textContent = step.notes.join(" ");
  const operands = document.getElementById("operands");
  const results = document.getElementById("results");
  operands.replaceChildren(...step.inputs.map(renderMatrix),
    ...step.values.filter((v) => v.given).map(renderMatrix));
  results.replaceChildren(...step.values.filter((v) => !v.given).map(renderMatrix));
  renderAsides(step.asides);
  drawGraph(document.getElementById("graph"), step.graph);
  markLayer(step.graph ? step.graph.layer : null);
  renderPhases(step);
  const constants = Object.entries(step.constants).map(([k, v]) => `${k} = ${v}`).join(", ");
  document.getElementById("constants").textContent =
    `optimiser ${step.optimizer || "none"}: ${constants}; batch loss L = ${step.loss}`;
  document.getElementById("training-mode").textContent = `this step: ${step.mode}`;
  document.getElementById("header-lines").textContent = step.header.join(" · ");
  document.getElementById("code").textContent = `code: ${step.code}`;
  document.getElementById("sample-label").hidden = !step.one_sample;
  document.getElementById("sample").max = step.n_samples - 1;
  document.getElementById("prev").disabled = step.index === 0;
}

function renderAsides(asides) {
  const box = document.getElementById("asides");
  box.replaceChildren();
  box.hidden = asides.length === 0;
  for (const aside of asides) {
    const title = document.createElement("div");
    title.textContent = `the other way: ${aside.title}`;
    const equation = document.createElement("div");
    equation.className = "equation aside-equation";
    typeset(equation, aside.latex, true);
    const values = document.createElement("div");
    values.className = "matrices";
    values.replaceChildren(...aside.values.map(renderMatrix));
    box.append(title, equation, values);
  }
}

function renderPhases(step) {
  const list = document.getElementById("phases");
  list.replaceChildren(...step.steps.map((s, k) => {
    const item = document.createElement("li");
    item.className = s.phase + (k === step.index ? " current" : "");
    item.textContent = s.title;
    item.dataset.index = k;
    return item;
  }));
}

// the layer of the current phase, marked in the network drawing
function markLayer(layer) {
  for (const unit of document.querySelectorAll("#network circle.unit")) {
    unit.classList.toggle("current", Number(unit.dataset.layer) === layer);
  }
}
