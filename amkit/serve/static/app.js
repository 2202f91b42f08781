// amkit serve: the explorer's page. Every piece of text from runs, data or users goes into
// the page through textContent (el() below), never as HTML; plot labels lose < and >.
"use strict";

const main = document.getElementById("main");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Plotly reads a few HTML-like tags in labels: data never reaches it with < or >
function plain(text) {
  return String(text).replace(/</g, "\u2039").replace(/>/g, "\u203a");
}

async function api(path, options) {
  const response = await fetch(path, options);
  let body;
  try { body = await response.json(); } catch (e) { body = { error: `HTTP ${response.status}` }; }
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function errorBox(error) { return el("p", { class: "error" }, String(error.message || error)); }

function plot(node, traces, layout) {
  if (!window.Plotly) {
    node.replaceChildren(el("p", { class: "problem" }, "plotly is not installed on the server: no plot"));
    return;
  }
  const base = { margin: { t: 40, l: 60, r: 20, b: 60 }, autosize: true };
  window.Plotly.newPlot(node, traces, Object.assign(base, layout), { responsive: true, displaylogo: false });
}

function fmt(value) {
  return typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(4)) : "";
}

// ---- Runs ---------------------------------------------------------------------------------

// the metric a run's table row shows, by task: the first of these the run has
const KEY_METRICS = { forecasting: ["mse"], translation: ["bleu"], ranking: ["ndcg@10", "hr@10"] };

function keyMetric(run) {
  const metrics = run.metrics || {};
  const names = [...(KEY_METRICS[run.task] || []), "candidate_accuracy", "accuracy"];
  return names.find((n) => metrics["test_" + n] !== undefined || metrics["val_" + n] !== undefined) || "";
}

async function viewRuns() {
  document.getElementById("where").textContent = "";
  const data = await api("/api/runs");
  const page = [el("h1", {}, "Runs"), el("p", { class: "muted" }, "under: " + data.roots.join(", "))];
  if (!data.runs.length) page.push(el("p", { class: "problem" }, "no run directory (a folder with config.yaml) found"));
  const table = el("table", { id: "runs" }, el("tr", {}, el("th", {}, "compare"), el("th", {}, "run"),
    el("th", {}, "task"), el("th", {}, "model"), el("th", {}, "data"), el("th", {}, "key metric"),
    el("th", {}, "test"), el("th", {}, "val"), el("th", {}, "epochs"), el("th", {}, "date"), el("th", {}, "status")));
  // the first two finished runs with curves start ticked
  const ticked = data.runs.filter((r) => r.has_curves && r.status === "finished").slice(0, 2).map((r) => r.id);
  data.runs.forEach((run) => {
    const box = el("input", { type: "checkbox", value: run.id, class: "pick" });
    box.checked = ticked.includes(run.id);
    box.addEventListener("change", drawCurves);
    const metrics = run.metrics || {};
    const key = keyMetric(run);
    table.append(el("tr", {}, el("td", {}, box),
      el("td", {}, el("a", { href: `#/run/${run.id}` }, run.name)), el("td", {}, run.task),
      el("td", {}, run.model), el("td", {}, run.data), el("td", { class: "key-metric" }, key),
      el("td", {}, fmt(metrics["test_" + key])), el("td", {}, fmt(metrics["val_" + key])),
      el("td", {}, fmt(metrics.epochs)), el("td", { class: "date" }, run.date), el("td", {}, run.status)));
    if (run.problem) table.append(el("tr", {}, el("td"), el("td", { colspan: 10 }, el("span", { class: "problem" }, run.problem))));
  });
  const metric = el("select", { id: "metric" });
  metric.addEventListener("change", drawCurves);
  const curvePlot = el("div", { id: "curves", class: "plot" });
  page.push(table, el("h2", {}, "Learning curves"),
    el("p", { class: "muted" }, "tick runs above to compare them on one plot"),
    el("label", {}, "metric ", metric), curvePlot);
  if (data.sweeps.length) {
    page.push(el("h2", {}, "Sweeps"));
    for (const sweep of data.sweeps) page.push(await sweepBlock(sweep));
  }
  main.replaceChildren(...page);
  await drawCurves();
}

async function drawCurves() {
  const ids = [...document.querySelectorAll(".pick:checked")].map((b) => b.value);
  const node = document.getElementById("curves");
  const select = document.getElementById("metric");
  if (!ids.length) { node.replaceChildren(el("p", { class: "muted" }, "no run ticked")); return; }
  let data;
  try { data = await api("/api/curves?" + ids.map((id) => "run=" + encodeURIComponent(id)).join("&")); }
  catch (error) { node.replaceChildren(errorBox(error)); return; }
  const names = [...new Set(data.runs.flatMap((r) => Object.keys(r.series)))].sort();
  const chosen = names.includes(select.value) ? select.value
    : (names.includes("val_accuracy") ? "val_accuracy" : names[0]);
  select.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
  select.value = chosen || "";
  const traces = data.runs.filter((r) => r.series[chosen]).map((r) => ({
    x: r.epochs, y: r.series[chosen], mode: "lines+markers", name: plain(r.name) }));
  node.replaceChildren();
  plot(node, traces, { title: { text: plain(chosen || "no metric") }, xaxis: { title: { text: "epoch" }, dtick: 1 },
    yaxis: { title: { text: plain(chosen || "") } } });
}

async function sweepBlock(sweep) {
  const block = el("div", {}, el("h3", {}, sweep.name));
  let data;
  try { data = await api(`/api/sweeps/${sweep.id}`); } catch (error) { block.append(errorBox(error)); return block; }
  if (data.problem) { block.append(el("p", { class: "problem" }, data.problem)); return block; }
  const table = el("table", {}, el("tr", {}, ["variant", "seeds", "mean", "95% CI"].map((h) => el("th", {}, h))));
  for (const v of data.variants) {
    const ci = v.ci95_low === null || v.ci95_low === undefined ? "(one seed)" : `${fmt(v.ci95_low)} – ${fmt(v.ci95_high)}`;
    table.append(el("tr", {}, el("td", {}, v.variant), el("td", {}, (v.seeds || []).join(", ")),
      el("td", {}, fmt(v.mean)), el("td", {}, ci)));
  }
  const node = el("div", { class: "plot sweep-plot" });
  block.append(el("p", {}, "compared metric: ", data.metric), table, node);
  setTimeout(() => plot(node, [{
    type: "bar", x: data.variants.map((v) => plain(v.variant)), y: data.variants.map((v) => v.mean),
    error_y: { type: "data", symmetric: false,
      array: data.variants.map((v) => (v.ci95_high ?? v.mean) - v.mean),
      arrayminus: data.variants.map((v) => v.mean - (v.ci95_low ?? v.mean)) } }],
    { title: { text: plain(data.metric) + " (mean, 95% interval)" } }), 0);
  return block;
}

// ---- Examples of one run -------------------------------------------------------------------

async function runHeader(id, active) {
  const run = await api(`/api/runs/${id}`);
  document.getElementById("where").textContent = run.name;
  const tabs = el("p", { class: "tabs" },
    el("a", { href: `#/run/${id}` }, active === "examples" ? "▸ Examples" : "Examples"),
    el("a", { href: `#/run/${id}/try` }, active === "try" ? "▸ Try it" : "Try it"));
  const parts = [el("h1", {}, run.name), el("p", { class: "muted" }, `${run.model} on ${run.data} (${run.task}), ${run.date}`), tabs];
  if (run.problem) parts.push(el("p", { class: "problem" }, run.problem));
  return { run, parts };
}

async function viewExamples(id, params) {
  const { run, parts } = await runHeader(id, "examples");
  const curveNode = el("div", { id: "run-curves", class: "plot" });
  const listNode = el("div", { id: "examples" });
  main.replaceChildren(...parts, curveNode, listNode);
  api(`/api/curves?run=${encodeURIComponent(id)}`).then((data) => {
    const r = data.runs[0];
    const traces = Object.entries(r.series).filter(([n]) => /accuracy|loss/.test(n)).map(([n, ys]) => ({
      x: r.epochs, y: ys, mode: "lines+markers", name: plain(n) }));
    if (!traces.length) curveNode.replaceChildren(el("p", { class: "muted" }, r.problem || "no learning curve"));
    else plot(curveNode, traces, { title: { text: "learning curves" }, xaxis: { title: { text: "epoch" }, dtick: 1 } });
  }).catch((error) => curveNode.replaceChildren(errorBox(error)));
  if (!run.has_predictions && run.view === "translation") {
    listNode.append(el("p", { class: "problem" }, "this translation run has no predictions.jsonl: `amkit evaluate RUN_DIR --save-probabilities` writes each sentence's translation; or type a sentence in Try it"));
    return;
  }
  if (!run.has_predictions && ["forecast", "image", "speech"].includes(run.view)) {
    const number = el("input", { name: "n", type: "number", min: 0, value: 0, id: "example-index" });
    const open = el("form", { id: "open-example" }, el("label", {}, "test example ", number), " ", el("button", { type: "submit" }, "Open"));
    open.addEventListener("submit", (event) => { event.preventDefault(); location.hash = `#/run/${id}/example/test/${Number(number.value) || 0}`; });
    listNode.append(el("p", { class: "muted" }, "this run has no per-example predictions file: open a test example by its index"), open);
    return;
  }
  if (!run.has_predictions) {
    listNode.append(el("p", { class: "problem" }, "this run has no predictions.jsonl: runs trained with this amkit save it; for an older run, `amkit evaluate RUN_DIR --save-probabilities` writes it"));
    return;
  }
  const query = new URLSearchParams(params);
  const offset = Number(query.get("offset") || 0);
  let page;
  try { page = await api(`/api/runs/${id}/examples?` + query.toString()); }
  catch (error) { listNode.append(errorBox(error)); return; }
  const form = el("form", { class: "filters", id: "filters" });
  const field = (label, node) => el("label", {}, label, node);
  const options = (name, values, current) => {
    const s = el("select", { name }, el("option", { value: "" }, "all"));
    for (const v of values) s.append(el("option", { value: String(v) }, String(v)));
    s.value = current || "";
    return s;
  };
  const search = el("input", { name: "q", type: "search", placeholder: "words in the input", id: "search" });
  search.value = query.get("q") || "";
  form.append(field("search", search), field("split", options("split", page.splits, query.get("split"))));
  if (page.tasks.length) form.append(field("task", options("task", page.tasks, query.get("task"))));
  if (page.labels.length) form.append(field("label", options("label", page.labels, query.get("label"))));
  form.append(field("answer", options("correct", ["true", "false"], query.get("correct"))),
    el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) if (v) next.set(k, v);
    location.hash = `#/run/${id}?` + next.toString();
  });
  const table = el("table", { id: "example-table" }, el("tr", {}, ["#", "split", page.tasks.length ? "task" : null,
    "input", "label", "prediction", ""].filter((h) => h !== null).map((h) => el("th", {}, h))));
  for (const row of page.rows) {
    const link = el("a", { href: `#/run/${id}/example/${encodeURIComponent(row.split)}/${row.id}` }, String(row.id));
    const text = String(row.input || "");
    table.append(el("tr", {}, el("td", {}, link), el("td", {}, row.split), page.tasks.length ? el("td", {}, row.task) : null,
      el("td", { class: "input-cell" }, text.length > 240 ? text.slice(0, 240) + "…" : text),
      el("td", {}, row.label), el("td", {}, row.prediction),
      el("td", { class: row.correct ? "right" : "wrong" }, row.correct ? "✓ right" : "✗ wrong")));
  }
  const move = (delta) => { const next = new URLSearchParams(query); next.set("offset", Math.max(0, offset + delta)); location.hash = `#/run/${id}?` + next.toString(); };
  const pager = el("p", { id: "pager" },
    el("button", { id: "prev", on: { click: () => move(-50) } }, "◂ previous"), " ",
    `${page.total ? offset + 1 : 0}–${offset + page.rows.length} of ${page.total}`, " ",
    el("button", { id: "next", on: { click: () => move(50) } }, "next ▸"));
  pager.querySelector("#prev").disabled = offset === 0;
  pager.querySelector("#next").disabled = offset + page.rows.length >= page.total;
  listNode.append(form, pager, table);
  if (page.skipped) listNode.append(el("p", { class: "problem" }, `${page.skipped} unreadable lines of predictions.jsonl skipped`));
}

// ---- One example, and Try it ------------------------------------------------------------------

function renderView(result, node) {
  node.replaceChildren();
  if (result.view === "none") { node.append(el("p", { class: "problem", id: "no-view" }, result.message)); return; }
  const verdict = result.answer === undefined || result.answer === null ? "" : (result.prediction === result.answer ? " (right)" : ` (wrong; answer ${result.answer})`);
  const heading = result.view === "forecast" ? `Forecast of the next ${result.forecast.length} steps` : "Prediction: " + String(result.prediction ?? "–") + verdict;
  node.append(el("h2", { id: "prediction" }, heading));
  const box = el("div", { class: "plot view-plot" });
  if (result.view === "text") {
    if (result.probabilities) node.append(el("p", {}, Object.entries(result.probabilities).map(([k, p]) => `${k} ${p.toFixed(3)}`).join(", ")));
    const top = Math.max(...result.tokens.map((t) => t.weight), 1e-9);
    const text = el("p", { id: "tokens" });
    for (const t of result.tokens) {
      const span = el("span", { class: "tok", title: `weight ${t.weight.toFixed(3)}` + (t.gate === null ? "" : `, gate ${t.gate.toFixed(2)}`) }, t.token);
      span.style.background = `rgba(255, 140, 0, ${(t.weight / top).toFixed(3)})`;
      text.append(span, " ");
    }
    node.append(el("h3", {}, "Tokens by attention weight"), text, box);
    plot(box, [{ type: "bar", x: result.tokens.map((t, i) => `${i}:${plain(t.token)}`), y: result.tokens.map((t) => t.weight) }],
      { title: { text: "attention per token" }, xaxis: { tickangle: -45, automargin: true } });
    const facts = result.tokens.filter((t) => t.facts.length);
    if (facts.length) {
      const table = el("table", {}, el("tr", {}, ["token", "weight", "facts read (weight)", "no knowledge", "gate"].map((h) => el("th", {}, h))));
      for (const t of facts) table.append(el("tr", {}, el("td", {}, t.token), el("td", {}, t.weight.toFixed(3)),
        el("td", {}, t.facts.map(([n, w]) => `${n} (${w.toFixed(2)})`).join(", ")), el("td", {}, fmt(t.no_knowledge)), el("td", {}, fmt(t.gate))));
      node.append(el("h3", {}, "Knowledge each token read"), table);
    }
  } else if (result.view === "story") {
    const labels = result.sentences.map((s, i) => `${result.supporting[i] ? "*" : ""}${result.line_ids[i]}: ${plain(s)}`);
    node.append(el("p", {}, "Question: ", el("b", {}, result.question + "?")), box);
    plot(box, [{ type: "heatmap", z: result.weights, x: result.columns.map(plain), y: labels, colorscale: "Viridis", zmin: 0 }],
      { title: { text: "attention over the story (* supporting fact)" }, yaxis: { autorange: "reversed", automargin: true }, height: 160 + 28 * labels.length });
    const table = el("table", {}, el("tr", {}, el("th", {}, "line"), el("th", {}, "sentence"), result.columns.map((c) => el("th", {}, c))));
    result.sentences.forEach((s, i) => table.append(el("tr", {}, el("td", {}, (result.supporting[i] ? "* " : "") + result.line_ids[i]),
      el("td", {}, s), result.weights[i].map((w) => el("td", {}, w.toFixed(2))))));
    node.append(table);
    if (result.stages.length) node.append(el("pre", {}, result.stages.join("\n")));
  } else if (result.view === "recall") {
    node.append(el("p", {}, `query ${result.query}`), box);
    plot(box, [{ type: "bar", x: result.tokens.map((t, i) => `${i}:${plain(t)}`), y: result.weights }], { title: { text: "the query's attention" } });
  } else if (result.view === "translation") {
    if (result.reference !== undefined && result.reference !== null) node.append(el("p", { id: "reference" }, "reference: ", result.reference));
    node.append(box);
    plot(box, [{ type: "heatmap", z: result.weights, x: result.source.map((p, i) => `${i}:${plain(p)}`), y: result.target.map((p, i) => `${i}:${plain(p)}`), colorscale: "Blues", reversescale: true, zmin: 0 }],
      { title: { text: "alignment: output (rows) over source (columns)" }, yaxis: { autorange: "reversed", automargin: true } });
  } else if (result.view === "ranking") {
    node.append(el("p", {}, "latest history: ", result.history.join("; ")), box);
    plot(box, [{ type: "bar", orientation: "h", y: result.items.map((r, i) => `${i + 1}. ${plain(r.item)}`), x: result.items.map((r) => r.score) }],
      { title: { text: "top items by score" }, yaxis: { type: "category", autorange: "reversed", automargin: true } });
    const table = el("table", {}, el("tr", {}, ["#", "item", "score", "because (weight)", "memory slots"].map((h) => el("th", {}, h))));
    result.items.forEach((r, i) => table.append(el("tr", {}, el("td", {}, i + 1), el("td", {}, r.item), el("td", {}, r.score.toFixed(2)),
      el("td", {}, r.because.map(([n, w]) => `${n} (${w.toFixed(2)})`).join(", ")), el("td", {}, r.shares.map(([n, w]) => `${n} ${w.toFixed(2)}`).join(", ")))));
    node.append(table);
  } else if (result.view === "forecast") {
    const past = result.history.map((_, i) => i - result.history.length), ahead = result.forecast.map((_, i) => i);
    node.append(el("p", {}, `${result.channel}, series row ${result.start + 1}, MSE over all channels ${result.error.toFixed(4)}`), box);
    const traces = [{ x: past, y: result.history, mode: "lines", name: "history" }, { x: ahead, y: result.truth, mode: "lines", name: "truth", line: { dash: "dot" } },
      { x: ahead, y: result.forecast, mode: "lines", name: "forecast" }];
    for (const r of result.retrieved) traces.push({ x: ahead, y: r.values, mode: "lines", name: `retrieved row ${r.row + 1} (${r.weight.toFixed(2)})`, opacity: 0.3 + 0.7 * r.weight });
    plot(box, traces, { title: { text: "forecast (scaled values)" }, xaxis: { title: { text: "steps from the forecast's start" } } });
    if (result.gate !== null) node.append(el("p", {}, `gate (share of the base forecast): ${result.gate.toFixed(3)}`));
    if (result.patches) {
      const heat = el("div", { class: "plot view-plot" });
      node.append(heat);
      plot(heat, [{ type: "heatmap", z: result.patches, colorscale: "Viridis", zmin: 0 }],
        { title: { text: "attention over patches, last layer (query rows)" }, yaxis: { autorange: "reversed", dtick: 1, title: { text: "query patch" } }, xaxis: { dtick: 1, title: { text: "key patch" } } });
    }
  } else if (result.view === "graph") {
    node.append(el("p", {}, `entities: ${result.entities.join(", ")}; relation: ${result.relation}`), box);
    plot(box, [{ type: "bar", orientation: "h", y: result.answers.map((a) => plain(a.entity)), x: result.answers.map((a) => a.score) }],
      { title: { text: "answers by probability" }, yaxis: { type: "category", autorange: "reversed", automargin: true } });
    result.hops.forEach((hop, k) => node.append(el("h3", {}, `hop ${k + 1}`), el("ol", {}, hop.map((f) => el("li", {}, `${f.weight.toFixed(3)}  ${f.fact}`)))));
    if (result.path) node.append(el("p", { id: "graph-path" }, "path: ", result.path));
    else if (!result.hops.length) node.append(el("p", { class: "muted" }, "this model attends over no facts: answers only"));
  } else if (result.view === "image") {
    const pooled = el("div", { class: "plot view-plot" });
    const pair = el("div", { class: "plot-pair" }, box, pooled);
    node.append(el("p", {}, Object.entries(result.probabilities).slice(0, 3).map(([k, p]) => `${k} ${p.toFixed(3)}`).join(", ")), pair);
    const square = { yaxis: { autorange: "reversed", scaleanchor: "x" }, width: 440, height: 420 };
    plot(box, [{ type: "heatmap", z: result.image, colorscale: "Greys", reversescale: true, showscale: false }], { title: { text: "the image" }, ...square });
    plot(pooled, [{ type: "heatmap", z: result.pooled_map, colorscale: "Hot", zmin: 0 }], { title: { text: "attention pooled over query positions" }, ...square });
  } else if (result.view === "speech") {
    const frames = el("div", { class: "plot view-plot" });
    const seconds = result.frames.map((_, i) => (i + 0.5) * result.frame_seconds);
    node.append(el("p", {}, `${result.name}: label ${result.label}`), box, frames);
    plot(box, [{ type: "heatmap", z: result.spectrogram, x: seconds, colorscale: "Viridis" }], { title: { text: "spectrogram (mel bands)" }, xaxis: { title: { text: "seconds" } } });
    plot(frames, [{ x: seconds, y: result.frames, mode: "lines" }], { title: { text: "attention over frames" }, xaxis: { title: { text: "seconds" } } });
  }
}

async function viewExample(id, split, number) {
  const { parts } = await runHeader(id, "examples");
  const node = el("div", { id: "view" }, el("p", {}, "Loading the model…"));
  main.replaceChildren(...parts, node);
  try {
    const result = await api(`/api/runs/${id}/examples/${encodeURIComponent(split)}/${number}`);
    const row = result.example;
    const head = el("div", {}, el("h2", {}, `${row.split} example ${row.id}` + (row.task ? `, task ${row.task}` : "")),
      el("p", { class: "input-cell", id: "example-input" }, row.input),
      row.label === undefined ? null : el("p", {}, "label: ", row.label, ", prediction: ", row.prediction, " ",
        el("span", { class: row.correct ? "right" : "wrong" }, row.correct ? "✓ right" : "✗ wrong")));
    const body = el("div", {});
    node.replaceChildren(head, body);
    renderView(result, body);
  } catch (error) { node.replaceChildren(errorBox(error)); }
}

async function viewTry(id) {
  const { run, parts } = await runHeader(id, "try");
  const out = el("div", { id: "view" });
  const form = el("form", { id: "try-form" });
  const inputs = {};
  if (run.view === "story") {
    inputs.story = el("textarea", { name: "story", rows: 6, id: "try-story", placeholder: "Mary moved to the bathroom. John went to the hallway." });
    inputs.question = el("input", { name: "question", id: "try-question", size: 50, placeholder: "Where is Mary?" });
    form.append(el("p", {}, "Story", el("br"), inputs.story), el("p", {}, "Question ", inputs.question));
  } else if (run.view === "ranking") {
    inputs.user = el("input", { name: "user", id: "try-user", placeholder: "a user id of the data" });
    form.append(el("p", {}, "User ", inputs.user));
  } else if (run.view === "graph") {
    inputs.question = el("input", { name: "question", id: "try-question", size: 50, placeholder: "Which region is Palau located in?" });
    form.append(el("p", {}, "Question ", inputs.question));
  } else if (run.view === "text" || run.view === "translation") {
    inputs.text = el("textarea", { name: "text", rows: 4, id: "try-text", placeholder: run.view === "text" ? "A superb, moving film." : "a man rides a bike" });
    form.append(el("p", {}, run.view === "text" ? "Text to classify" : "Sentence to translate", el("br"), inputs.text));
  } else {
    main.replaceChildren(...parts, el("p", { class: "problem", id: "no-view" }, `no view for this model yet: a ${run.model} model takes no typed input`));
    return;
  }
  form.append(el("button", { type: "submit", id: "try-submit" }, "Predict"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const given = Object.fromEntries(Object.entries(inputs).map(([k, node]) => [k, node.value]));
    out.replaceChildren(el("p", {}, "…"));
    try {
      const result = await api(`/api/runs/${id}/try`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(given) });
      renderView(result, out);
    } catch (error) { out.replaceChildren(errorBox(error)); }
  });
  main.replaceChildren(...parts, form, out);
}

// ---- routing ------------------------------------------------------------------------------

async function route() {
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "run" && parts[2] === "example") await viewExample(parts[1], parts[3], Number(parts[4]));
    else if (parts[0] === "run" && parts[2] === "try") await viewTry(parts[1]);
    else if (parts[0] === "run") await viewExamples(parts[1], query || "");
    else await viewRuns();
  } catch (error) { main.replaceChildren(errorBox(error)); }
}

window.addEventListener("hashchange", route);
route();
