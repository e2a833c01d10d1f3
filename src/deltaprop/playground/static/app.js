// The page's controller: the form, training (pause = stop asking), step mode, exports.
"use strict";

const STEPS_PER_REQUEST = 10;
const page = {options: null, state: null, data: null, running: false, stepMode: false,
              step: null, busy: false};
const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const init = {method, headers: {"X-Deltaprop-Playground": "1"}};
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers["Content-Type"] = typeof body === "string" ? "text/csv" : "application/json";
  }
  const response = await fetch(path, init);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || `${response.status}`);
  showError(null);
  return answer;
}

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

function fillSelect(id, values) {
  $(id).replaceChildren(...values.map((value) => new Option(value, value)));
}

function activationSelects(widths, chosen) {
  const box = $("activations");
  const previous = [...box.querySelectorAll("select")].map((s) => s.value);
  box.replaceChildren(...widths.map((_, i) => {
    const label = document.createElement("label");
    label.textContent = `layer ${i + 1} activation `;
    const select = document.createElement("select");
    select.className = "activation";
    page.options.activations.forEach((name) => select.add(new Option(name, name)));
    select.value = (chosen && chosen[i]) || previous[i] || "tanh";
    label.appendChild(select);
    return label;
  }));
}

function parseWidths() {
  const text = $("hidden").value.trim();
  return text === "" ? [] : text.split(/[\s,]+/).map(Number);
}

function showConfig(config) {
  for (const key of ["dataset", "n_samples", "noise", "seed", "output", "loss", "init",
                     "dropout", "optimizer", "lr", "momentum", "batch_size"]) {
    $(key).value = config[key];
  }
  $("hidden").value = config.hidden.join(", ");
  activationSelects(config.hidden, config.activations);
}

function readConfig() {
  const number = (id) => Number($(id).value);
  return {dataset: $("dataset").value, n_samples: number("n_samples"), noise: number("noise"),
          seed: number("seed"), hidden: parseWidths(),
          activations: [...document.querySelectorAll("#activations select")].map((s) => s.value),
          output: $("output").value, loss: $("loss").value, init: $("init").value,
          dropout: number("dropout"), optimizer: $("optimizer").value, lr: number("lr"),
          momentum: number("momentum"), batch_size: number("batch_size")};
}

function showState(state) {
  page.state = state;
  if (state.data) page.data = state.data;
  if (state.config) showConfig(state.config);
  const last = state.history[state.history.length - 1] || {};
  const fixed = (value, digits) => value === null ? "—" : Number(value).toFixed(digits);
  const metric = "train_accuracy" in last ? `accuracy ${fixed(last.test_accuracy, 3)}`
    : "test_r2" in last ? `R² ${fixed(last.test_r2, 3)}` : "";
  $("status").textContent = `step ${state.steps}, epoch ${state.epoch}` +
    (last.train_loss !== undefined ? `, loss ${fixed(last.train_loss, 4)} (test ` +
      `${fixed(last.test_loss, 4)}), test ${metric}` : "");
  $("status").dataset.steps = state.steps;
  $("boundary-caption").textContent = state.view.kind === "curve" ? "fitted curve" :
    "decision boundary (computed by the engine on a grid)" +
    (state.standardised ? "; inputs standardised" : "");
  drawBoundary($("boundary"), state.view, page.data, state.task);
  drawLosses($("losses"), state.history);
  drawNetwork($("network"), state.network);
  if (page.stepMode && page.step && page.step.graph) markLayer(page.step.graph.layer);
  if (state.error) { showError(state.error); stopTraining(); }
}

async function trainLoop() {
  while (page.running) {
    try {
      showState(await call("POST", `/api/train?steps=${STEPS_PER_REQUEST}`));
    } catch (error) {
      showError(error.message);
      stopTraining();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function stopTraining() {
  page.running = false;
  $("train").textContent = "Train";
}

function toggleTraining() {
  if (page.running) return stopTraining();
  leaveStepMode();
  page.running = true;
  $("train").textContent = "Pause";
  trainLoop();
}

function stepQuery() {
  return `notation=${$("notation").value}&unfused=${$("unfused").checked ? 1 : 0}` +
    `&sample=${Number($("sample").value) || 0}`;
}

async function guarded(action) {
  if (page.busy) return;
  page.busy = true;
  try { await action(); } catch (error) { showError(error.message); } finally { page.busy = false; }
}

function nextBatch() {
  return guarded(async () => {
    const answer = await call("POST", `/api/step/next?${stepQuery()}`);
    showState(answer.state);
    page.step = answer.step;
    renderStep(page.step);
    updateExportLinks();
  });
}

function showPhase(index) {
  return guarded(async () => {
    page.step = await call("GET", `/api/step?index=${index}&${stepQuery()}`);
    renderStep(page.step);
  });
}

function enterStepMode() {
  stopTraining();
  page.stepMode = true;
  $("step-panel").hidden = false;
  if (!page.step) nextBatch();
}

function leaveStepMode() {
  page.stepMode = false;
  $("step-panel").hidden = true;
}

function updateExportLinks() {
  const notation = $("notation").value;
  $("export-html").href = `/api/export/trace?format=html&notation=${notation}`;
  $("export-latex").href = `/api/export/trace?format=latex&notation=${notation}`;
}

async function apply(event) {
  event.preventDefault();
  stopTraining();
  await guarded(async () => {
    showState(await call("POST", "/api/config", readConfig()));
    page.step = null;
    if (page.stepMode) { page.busy = false; await nextBatch(); }
  });
}

async function upload() {
  const file = $("upload").files[0];
  if (!file) return;
  stopTraining();
  await guarded(async () => { showState(await call("POST", "/api/upload", await file.text())); });
  page.step = null;
}

function wire() {
  $("settings").addEventListener("submit", apply);
  $("hidden").addEventListener("change", () => activationSelects(parseWidths()));
  $("upload").addEventListener("change", upload);
  $("train").addEventListener("click", toggleTraining);
  $("reset").addEventListener("click", () => { stopTraining(); page.step = null;
    guarded(async () => showState(await call("POST", "/api/reset"))).then(
      () => page.stepMode && nextBatch()); });
  $("step-mode").addEventListener("click", () => page.stepMode ? leaveStepMode() : enterStepMode());
  $("next-batch").addEventListener("click", nextBatch);
  $("next").addEventListener("click", () => page.step && (page.step.index + 1 < page.step.count
    ? showPhase(page.step.index + 1) : nextBatch()));
  $("prev").addEventListener("click", () => page.step && page.step.index > 0 &&
    showPhase(page.step.index - 1));
  $("phases").addEventListener("click", (event) => {
    if (event.target.dataset.index !== undefined) showPhase(Number(event.target.dataset.index));
  });
  document.addEventListener("keydown", (event) => {     // ← and → step through the phases
    if (!page.stepMode || ["INPUT", "SELECT"].includes(event.target.tagName)) return;
    if (event.key === "ArrowRight") $("next").click();
    if (event.key === "ArrowLeft") $("prev").click();
  });
  for (const id of ["notation", "unfused", "sample"]) {
    $(id).addEventListener("change", () => { updateExportLinks();
      if (page.step) showPhase(page.step.index); });
  }
}

async function start() {
  page.options = await call("GET", "/api/options");
  fillSelect("dataset", page.options.datasets);
  fillSelect("output", page.options.outputs);
  fillSelect("loss", Object.keys(page.options.losses));
  fillSelect("init", page.options.inits);
  fillSelect("optimizer", page.options.optimizers);
  wire();
  updateExportLinks();
  showState(await call("GET", "/api/state"));
  document.body.dataset.ready = "1";
}

start().catch((error) => showError(error.message));
