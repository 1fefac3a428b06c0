// ldnn playground, the course view: the current mini-batch through one forward and one
// backward pass, array by array, in the notes' order (POST /course), and the gradient
// check (POST /gradcheck). The numbers are ldnn's own, computed on the server; this file
// only draws them. It uses playground.js's $, signedColour and the tooltip.
"use strict";

const course = { open: false, answer: null, stages: [], at: 0 };

async function post(path, body) {
  const answer = await fetch(path, { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const content = await answer.json();
  course.error = answer.ok ? "" : `${content.field || "error"}: ${content.message}`;
  if (!answer.ok) { $("message").textContent = course.error; return null; }
  return content;
}

// The arrays grouped by step of the walk: forward l = 1..L, then backward l = L..1. A
// layer's step holds whatever arrays it has, in the server's order (batch norm's μ[l],
// σ²[l], Z_norm[l], γ[l], β[l], Z~[l]; dropout's D[l]): nothing here expects W, b, Z, A.
function stages(arrays) {
  const found = [];
  for (const a of arrays) {
    const last = found[found.length - 1];
    if (last && last.pass === a.pass && last.layer === a.layer) last.arrays.push(a);
    else found.push({ pass: a.pass, layer: a.layer, arrays: [a] });
  }
  return found;
}

// A step's name in the list: its pass and layer, and what the layer adds to the notes'.
function stageName(s, k) {
  const has = (prefix) => s.arrays.some((a) => a.name.startsWith(prefix));
  const extras = [has("Z_norm[") || has("dZ~[") ? "batch norm" : "", has("D[") ? "dropout" : ""];
  const said = extras.filter(Boolean).join(", ");
  return `${k + 1}. ${s.pass}, layer ${s.layer}${said ? ` (${said})` : ""}`;
}

async function loadCourse() {
  const m = Number($("course-m").value) || 16;
  const answer = await post("/course", { m, dropout: $("course-dropout").checked ? 1 : 0 });
  if (answer === null) {  // said in the panel too (the frames overwrite the message line)
    course.stages = [];
    for (const id of ["course-arrays", "course-stage"]) $(id).innerHTML = "";
    $("course-where").textContent = "";
    $("course-note").textContent = course.error;
    $("course-note").className = "refused";
    return;
  }
  $("course-note").className = "legend";
  const kept = course.stages.length ? course.at : 0;
  course.answer = answer;
  course.stages = stages(answer.arrays);
  course.at = Math.min(kept, course.stages.length - 1);
  const select = $("course-stage");
  select.innerHTML = "";
  course.stages.forEach((s, k) => select.add(new Option(stageName(s, k), String(k))));
  const b = answer.batch;
  // the dropout box matters only where training drops units
  $("course-dropout").disabled = answer.keep_prob.every((k) => k === 1);
  $("course-where").textContent = `epoch ${answer.epoch}, mini-batch ${b.index + 1} of ${b.count} ` +
    `(${b.size} examples; the first m = ${answer.m} shown), ${answer.loss}` +
    (answer.lambd ? `, λ = ${answer.lambd}` : "") + (answer.l1 ? `, λ₁ = ${answer.l1}` : "") +
    (answer.dropout ? `, keep_prob ${answer.keep_prob.join(", ")}` : "") +
    (answer.batch_norm.some(Boolean) ? ", batch norm" : "");
  $("course-note").textContent = answer.note;
  showStage();
}

function showStage() {
  const stage = course.stages[course.at], box = $("course-arrays");
  $("course-stage").value = String(course.at);
  $("course-back").disabled = course.at === 0;
  $("course-step").disabled = course.at === course.stages.length - 1;
  box.innerHTML = "";
  for (const a of stage.arrays) box.append(arrayView(a, course.answer.m));
}

// One array: its name and shape, a heat map (orange negative, blue positive), its formula.
function arrayView(a, m) {
  // An array too large to send whole comes as its first rows and columns (a.shown) and a
  // summary of all of it.
  const [rows, columns] = a.shown || a.shape;
  const numbers = a.notation.replace("m", String(m)).replace(/n\[(\d+)\]/g, (_, l) => course.answer.layer_dims[l]);
  const label = `${a.name} ${a.notation} = ${numbers}` +
    (a.shown ? `, its first ${rows} × ${columns} shown` : "");
  const figure = document.createElement("figure");
  figure.className = "course-array";
  const caption = document.createElement("figcaption");
  caption.textContent = label;
  const size = Math.max(2, Math.min(22, Math.floor(420 / columns), Math.floor(220 / rows)));
  const canvas = document.createElement("canvas");
  canvas.width = columns * size; canvas.height = rows * size;
  canvas.setAttribute("aria-label", label);
  canvas.title = label;
  const flat = a.values.flat(), finite = flat.filter((v) => v !== null);
  const scale = Math.max(1e-12, ...finite.map(Math.abs));
  const context = canvas.getContext("2d");
  a.values.forEach((row, i) => row.forEach((v, j) => {
    const [r, g, b] = v === null ? [128, 128, 128] : signedColour(128 + 127 * v / scale);
    context.fillStyle = `rgb(${r},${g},${b})`;
    context.fillRect(j * size, i * size, size, size);
  }));
  canvas.onmousemove = (event) => {
    const rect = canvas.getBoundingClientRect();
    const i = Math.floor((event.clientY - rect.top) / size), j = Math.floor((event.clientX - rect.left) / size);
    if (i < 0 || j < 0 || i >= rows || j >= columns) return;
    const tip = $("tooltip");
    tip.textContent = `${a.name}[${i}, ${j}] = ${a.values[i][j]}`;
    tip.style.left = `${event.clientX + 12}px`; tip.style.top = `${event.clientY + 12}px`;
    tip.hidden = false;
  };
  canvas.onmouseleave = () => { $("tooltip").hidden = true; };
  const formula = document.createElement("p");
  formula.className = "formula";
  formula.textContent = a.formula;
  const range = document.createElement("p");
  range.className = "legend";
  range.textContent = finite.length ? `max |v| ${scale.toPrecision(3)}` : "not finite";
  if (a.summary) {
    const s = a.summary, shown = (v) => (v === null ? "–" : Number(v).toPrecision(3));
    range.textContent += ` shown; all ${a.shape.join(" × ")}: min ${shown(s.min)}, ` +
      `max ${shown(s.max)}, mean ${shown(s.mean)}, std ${shown(s.std)}`;
  }
  figure.append(caption, canvas, formula, range);
  return figure;
}

async function gradientCheck() {
  const out = $("gradcheck-result");
  out.textContent = "checking…";
  out.className = "";
  const answer = await post("/gradcheck", {});
  if (answer === null) { out.textContent = ""; return; }
  const verdict = answer.passed ? "passed" : "FAILED";
  out.textContent = `relative difference ${answer.difference.toExponential(2)} ` +
    `${answer.passed ? "<" : "≥"} ${answer.threshold}: ${verdict} ` +
    `(${answer.n_parameters} parameters, ${answer.examples} examples)` +
    // Central differences (J(θ+ε) − J(θ−ε)) / 2ε carry J's rounding over 2ε (ε = 1e-7):
    // next to a trained network's small gradients that alone can pass the threshold.
    (answer.passed ? "" : "; once trained, the gradients are small and the central " +
      "differences' rounding weighs in: a fresh network (⟲ reset) tests backprop");
  out.className = answer.passed ? "pass" : "fail";
}

function wireCourse() {
  $("course-toggle").onclick = () => {
    course.open = !course.open;
    $("course").hidden = !course.open;
    $("course-toggle").setAttribute("aria-pressed", String(course.open));
    if (course.open) loadCourse();
  };
  $("course-step").onclick = () => { if (course.at < course.stages.length - 1) { course.at++; showStage(); } };
  $("course-back").onclick = () => { if (course.at > 0) { course.at--; showStage(); } };
  $("course-stage").onchange = () => { course.at = Number($("course-stage").value); showStage(); };
  $("course-refresh").onclick = loadCourse;
  $("course-m").onchange = loadCourse;
  $("course-dropout").onchange = loadCourse;
  $("gradcheck").onclick = gradientCheck;
  // A control (a step, a reset, a setting) changes the network: take a new snapshot.
  document.addEventListener("controlled", () => { if (course.open) loadCourse(); });
}

wireCourse();
