// Drawing only: every number drawn here was computed by the deltaprop engine on the server.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";   // the SVG namespace name (not fetched)
const CLASS_COLOURS = ["#3182ce", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795",
                       "#b7791f", "#e53e3e", "#2c5282", "#4a5568"];

function svgElement(tag, attributes, parent) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// the canvas position of a data point (x, y) in the extent [x0, x1, y0, y1]
function toCanvas(canvas, extent, x, y) {
  const [x0, x1, y0, y1] = extent;
  return [(x - x0) / (x1 - x0) * canvas.width, canvas.height - (y - y0) / (y1 - y0) * canvas.height];
}

// the grid's cells as pixels of a small image, scaled up to the canvas (grid row 0 = bottom)
function paintGrid(ctx, canvas, size, colourOf) {
  const image = new ImageData(size, size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const [r, g, b, a] = colourOf(i * size + j), at = 4 * ((size - 1 - i) * size + j);
      image.data.set([r, g, b, Math.round(255 * a)], at);
    }
  }
  const small = document.createElement("canvas");
  small.width = small.height = size;
  small.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function drawClasses(ctx, canvas, view) {
  paintGrid(ctx, canvas, view.size, (k) => {
    const confidence = view.confidence[k];
    const [r, g, b] = hexToRgb(CLASS_COLOURS[view.label[k] % CLASS_COLOURS.length]);
    return [r, g, b, confidence === null ? 0 : Math.max(0, (confidence - 0.45) * 0.9)];
  });
}

function drawHeat(ctx, canvas, view) {
  const finite = view.value.filter((v) => v !== null);
  const low = Math.min(...finite), high = Math.max(...finite), span = high - low || 1;
  paintGrid(ctx, canvas, view.size, (k) => {
    const v = view.value[k], t = v === null ? 0.5 : (v - low) / span;
    return [Math.round(255 * t), 100, Math.round(255 * (1 - t)), 0.35];
  });
}

function drawBoundary(canvas, view, data, task) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (view.kind === "curve") return drawCurve(canvas, ctx, view, data);
  if (view.kind === "classes") drawClasses(ctx, canvas, view);
  else drawHeat(ctx, canvas, view);
  if (!data) return;
  const test = new Set(data.test);
  data.X.forEach((point, n) => {
    const [cx, cy] = toCanvas(canvas, view.extent, point[0], point[1]);
    ctx.beginPath();
    ctx.arc(cx, cy, 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = task === "classification" ? CLASS_COLOURS[data.y[n] % CLASS_COLOURS.length]
      : "#2d3748";
    ctx.fill();
    ctx.lineWidth = test.has(n) ? 1.6 : 0.6;
    ctx.strokeStyle = test.has(n) ? "#000" : "#fff";
    ctx.stroke();
  });
}

function drawCurve(canvas, ctx, view, data) {
  const xs = view.x, ys = view.y.filter((v) => v !== null);
  const targets = data ? data.y : [];
  const low = Math.min(...ys, ...targets), high = Math.max(...ys, ...targets);
  const pad = 0.1 * (high - low) + 0.1;
  const extent = [xs[0], xs[xs.length - 1], low - pad, high + pad];
  if (data) {
    const test = new Set(data.test);
    data.X.forEach((point, n) => {
      const [cx, cy] = toCanvas(canvas, extent, point[0], data.y[n]);
      ctx.beginPath();
      ctx.arc(cx, cy, 2.6, 0, 2 * Math.PI);
      ctx.fillStyle = test.has(n) ? "#c05621" : "#3182ce";
      ctx.fill();
    });
  }
  ctx.beginPath();
  ctx.strokeStyle = "#1a202c";
  ctx.lineWidth = 2;
  xs.forEach((x, k) => {
    if (view.y[k] === null) return;
    const [cx, cy] = toCanvas(canvas, extent, x, view.y[k]);
    if (k === 0) ctx.moveTo(cx, cy); else ctx.lineTo(cx, cy);
  });
  ctx.stroke();
}

function drawLosses(canvas, history) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const values = history.flatMap((p) => [p.train_loss, p.test_loss]).filter(Number.isFinite);
  if (!values.length) return;
  const high = Math.max(...values) * 1.05 || 1, last = history[history.length - 1].step || 1;
  for (const [key, colour] of [["train_loss", "#2b6cb0"], ["test_loss", "#c05621"]]) {
    ctx.beginPath();
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.8;
    history.forEach((p, k) => {
      const x = 30 + (canvas.width - 40) * p.step / last;
      const y = canvas.height - 20 - (canvas.height - 30) * p[key] / high;
      if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
  ctx.fillStyle = "#4a5568";
  ctx.font = "11px sans-serif";
  ctx.fillText(high.toPrecision(3), 2, 12);
  ctx.fillText("0", 2, canvas.height - 20);
  ctx.fillText(`step ${last}`, canvas.width - 60, canvas.height - 5);
}

function drawNetwork(svg, network) {
  svg.replaceChildren();
  const sizes = network.sizes, width = +svg.getAttribute("width");
  const height = +svg.getAttribute("height");
  const x = (l) => 30 + (width - 60) * l / (sizes.length - 1);
  const y = (l, i) => height / 2 + (i - (sizes[l] - 1) / 2) * Math.min(26, (height - 30) / sizes[l]);
  const biggest = Math.max(1e-12, ...network.layers.flatMap(
    (layer) => layer.weight.flat().map((w) => Math.abs(w || 0))));
  network.layers.forEach((layer, l) => {
    layer.weight.forEach((row, i) => row.forEach((w, j) => {
      const line = svgElement("line", {x1: x(l), y1: y(l, j), x2: x(l + 1), y2: y(l + 1, i),
        stroke: w >= 0 ? "#2b6cb0" : "#dd6b20", "stroke-width": 0.4 + 4 * Math.abs(w) / biggest,
        "stroke-opacity": 0.8, class: "weight"}, svg);
      svgElement("title", {}, line).textContent = `W(${l + 1})[${i},${j}] = ${w}`;
    }));
  });
  sizes.forEach((n, l) => {
    for (let i = 0; i < n; i++) {
      const flag = l > 0 && l < sizes.length - 1 ? network.flags[l - 1][i] : "";
      const circle = svgElement("circle", {cx: x(l), cy: y(l, i), r: 7, class: `unit ${flag}`,
        fill: flag === "dead" ? "#cbd5e0" : "#fff",
        stroke: flag === "saturated" ? "#c53030" : "#2d3748",
        "stroke-width": flag ? 3 : 1.2, "data-flag": flag, "data-layer": l}, svg);
      svgElement("title", {}, circle).textContent =
        l === 0 ? `input ${i + 1}` : `layer ${l} unit ${i + 1}${flag ? ": " + flag : ""}`;
    }
  });
}
