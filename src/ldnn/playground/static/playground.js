// ldnn playground: draws the frames the server sends (GET /events) and posts the
// controls (POST /control). All the numbers come from ldnn's own network on the
// server; this file only draws them. Nothing is fetched from anywhere else.
"use strict";

const $ = (id) => document.getElementById(id);
const RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const LAMBDAS = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"];
const FEATURES = { x1: "x1", x2: "x2", x1_sq: "x1²", x2_sq: "x2²", x1_x2: "x1·x2",
  sin_x1: "sin x1", sin_x2: "sin x2" };
const CLASS_COLOURS = [[245, 147, 34], [8, 119, 189], [60, 170, 80]];
// Each schedule's α at epoch t (ldnn.core.schedules), as the page writes it.
const SCHEDULES = {
  constant: "α = α0",
  inverse_time: "α = α0 / (1 + r ⌊t / k⌋)",
  exponential: "α = α0 r^⌊t / k⌋",
  step: "α = α0 r^⌊t / k⌋",
  cosine: "α = α_min + (α0 − α_min)(1 + cos(π t / T)) / 2, T = stop after − W",
  plateau: "α × r (not below α_min) whenever the validation cost has not gone below its lowest for more than p epochs",
};
// The settings shown in number inputs and sent as numbers.
const NUMBERS = ["points", "seed", "batch_size", "keep_prob", "stop_after", "decay_rate", "time_interval",
  "warmup_epochs", "min_learning_rate", "lr_patience", "early_stopping"];
const RANGES = ["noise", "test_split", "validation_split"];
let frame = null;      // the latest frame
let playing = false;   // whether the server trains now
let settings = null;   // the server's settings, as the last answer said
let edges = [];        // [x1, y1, x2, y2, layer, row, column, value] of the drawn weights
let biases = [];       // [x, y, size, layer, row, value] of the drawn units of layers 1..L
let upload = null;     // the uploaded CSV the server keeps: {upload, columns, rows, target}

// -- talking to the server -------------------------------------------------------------
async function control(document_) {
  const answer = await fetch("/control", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(document_) });
  const body = await answer.json();
  if (!answer.ok) { $("message").textContent = `${body.field || "error"}: ${body.message}`; return null; }
  showState(body);
  document.dispatchEvent(new CustomEvent("controlled"));
  return body;
}

function change(values) {
  return control({ action: "set", settings: values });
}

// An uploaded CSV: the server keeps it and answers its columns; training on it is a
// setting like the others (the target the last column, as ldnn train takes it).
async function sendUpload(file) {
  $("upload-info").textContent = `uploading ${file.name}…`;
  let answer, body;
  try {
    answer = await fetch("/upload", { method: "POST", headers: { "Content-Type": "text/csv" }, body: file });
    body = await answer.json();
  } catch (problem) {  // a file over the server's limit may be cut off before its 413 is read
    $("upload-info").textContent = "";
    $("message").textContent = `file: the upload of ${file.name} (${file.size} bytes) failed: ${problem}`;
    return;
  }
  if (!answer.ok) {  // (the server's own 413, of a body over its limit, names no field)
    $("upload-info").textContent = "";
    $("message").textContent = `${body.field || "file"}: ${body.message}`;
    return;
  }
  showUpload(body);
  $("upload-info").textContent = `${file.name}: ${body.rows} rows, ${body.columns.length} columns`;
  await change({ dataset: "upload", upload: body.upload, target: body.target, drop: [] });
}

function showUpload(described) {
  if (!described || (upload && upload.upload === described.upload)) return;
  upload = described;
  options($("target"), described.columns);
  $("target").disabled = false;
  // A box per column: checked, a feature; unchecked, left out (drop); the target's is off.
  const boxes = $("upload-columns");
  boxes.innerHTML = "";
  for (const name of described.columns) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox"; box.value = name;
    label.append(box, ` ${name}`);
    boxes.append(label);
  }
  $("upload-option").disabled = false;
  $("upload-option").textContent = `your CSV (upload ${described.upload})`;
}

function listen() {
  const source = new EventSource("/events");
  source.onmessage = (event) => {
    const next = JSON.parse(event.data);
    if (next.controls < controlsSeen) return;  // made before a control the page has the answer of
    frame = next; showState(frame); draw();
  };
}

// -- the state and the settings ------------------------------------------------------------
let controlsSeen = 0;

function showState(state) {
  controlsSeen = Math.max(controlsSeen, state.controls || 0);
  $("epoch").textContent = String(state.epoch).padStart(6, "0");
  $("step").textContent = state.step ? `+ ${state.step} mini-batches` : "";
  playing = state.playing;
  $("play").textContent = state.playing ? "❚❚ pause" : "▶ play";
  if (state.message !== undefined) $("message").textContent = state.message;
  if (state.upload) showUpload(state.upload);
  const fresh = JSON.stringify(state.settings) !== JSON.stringify(settings);
  settings = state.settings;
  if (fresh) { showSettings(); location.hash = encodeURIComponent(JSON.stringify(settings)); }
}

function options(select, values) {
  select.innerHTML = "";
  for (const v of values) select.add(new Option(String(v), String(v)));
}

function showSettings() {
  for (const id of ["dataset", "optimizer", "output"]) $(id).value = settings[id];
  for (const id of NUMBERS) $(id).value = settings[id];
  for (const id of RANGES) { $(id).value = settings[id]; $(`${id}-value`).textContent = settings[id]; }
  $("batch_norm").checked = settings.batch_norm;
  showSchedule();
  $("learning_rate").value = String(settings.learning_rate);
  $("lambd").value = String(settings.lambd);
  $("l1").value = String(settings.l1);
  for (const box of document.querySelectorAll("#features input")) box.checked = settings.features.includes(box.value);
  const uploaded = settings.dataset === "upload";
  if (uploaded && upload) {
    $("target").value = settings.target;
    for (const box of document.querySelectorAll("#upload-columns input")) {
      box.disabled = box.value === settings.target;
      box.checked = !box.disabled && !settings.drop.includes(box.value);
    }
  }
  $("task").value = settings.task;
  $("na_values").value = settings.na_values.join(",");
  $("decimal").value = settings.decimal;
  $("upload-columns").hidden = !uploaded;
  // An upload's inputs are its columns and its output follows its target.
  $("output").disabled = uploaded;
  $("features").hidden = uploaded;
  for (const id of ["noise", "points"]) $(id).closest("label").hidden = uploaded;
  const dims = frame ? frame.layer_dims : null;
  $("layer-dims").textContent = dims ? `layer_dims = [${dims.join(", ")}]` : "";
  const controls = $("layer-controls");
  controls.innerHTML = "";
  settings.layers.forEach((n, k) => {
    const box = document.createElement("div");
    box.className = "layer-control";
    box.innerHTML = `layer ${k + 1}: <button data-k="${k}" data-d="-1">−</button> n[${k + 1}] = ${n} ` +
      `<button data-k="${k}" data-d="1">+</button> g<select data-k="${k}"></select>`;
    controls.append(box);
    const select = box.querySelector("select");
    options(select, ACTIVATIONS);
    select.value = settings.activations[k];
    select.onchange = () => { const a = [...settings.activations]; a[k] = select.value; change({ activations: a }); };
    for (const b of box.querySelectorAll("button")) {
      b.onclick = () => {
        const layers = [...settings.layers];
        layers[k] = Math.max(1, layers[k] + Number(b.dataset.d));
        change({ layers });
      };
    }
  });
}

// The chosen schedule: its own parameters shown, the others hidden, and its formula.
function showSchedule() {
  const schedule = settings.lr_schedule;
  $("lr_schedule").value = schedule;
  for (const label of document.querySelectorAll("#schedule label[data-schedule]")) {
    label.hidden = !label.dataset.schedule.split(" ").includes(schedule);
  }
  const warmup = settings.warmup_epochs ? `; epochs t < W = ${settings.warmup_epochs} ramp up: α = α0 (t + 1) / W` : "";
  $("schedule-formula").textContent = SCHEDULES[schedule] + warmup;
}

function wire() {
  options($("learning_rate"), RATES);
  options($("lambd"), LAMBDAS);
  options($("l1"), LAMBDAS);
  for (const [name, label] of Object.entries(FEATURES)) {
    const l = document.createElement("label");
    l.innerHTML = `<input type="checkbox" value="${name}"> ${label}`;
    $("features").append(l);
  }
  $("features").onchange = () => {
    const chosen = [...document.querySelectorAll("#features input:checked")].map((b) => b.value);
    change({ features: chosen });
  };
  for (const id of ["optimizer", "output"]) $(id).onchange = () => change({ [id]: $(id).value });
  $("dataset").onchange = () => change($("dataset").value === "upload" && upload
    ? { dataset: "upload", upload: upload.upload, target: $("target").value } : { dataset: $("dataset").value });
  $("upload-file").onchange = () => { if ($("upload-file").files.length) sendUpload($("upload-file").files[0]); };
  $("target").onchange = () => change({ dataset: "upload", upload: upload.upload, target: $("target").value });
  $("task").onchange = () => change({ task: $("task").value });
  $("na_values").onchange = () => change({
    na_values: $("na_values").value.split(",").map((v) => v.trim()).filter((v) => v.length),
  });
  $("decimal").onchange = () => change({ decimal: $("decimal").value });
  $("upload-columns").onchange = () => {
    const left = [...document.querySelectorAll("#upload-columns input")].filter((b) => !b.checked && !b.disabled);
    change({ drop: left.map((b) => b.value) });
  };
  for (const id of ["learning_rate", "lambd", "l1"]) $(id).onchange = () => change({ [id]: Number($(id).value) });
  for (const id of [...NUMBERS, ...RANGES]) $(id).onchange = () => change({ [id]: Number($(id).value) });
  $("batch_norm").onchange = () => change({ batch_norm: $("batch_norm").checked });
  $("lr_schedule").onchange = () => change({ lr_schedule: $("lr_schedule").value });
  $("play").onclick = () => control({ action: playing ? "pause" : "play" });
  $("step-batch").onclick = () => control({ action: "step", unit: "batch" });
  $("step-epoch").onclick = () => control({ action: "step", unit: "epoch" });
  $("reset").onclick = () => control({ action: "reset" });
  $("add-layer").onclick = () => {
    const n = settings.layers.length ? settings.layers[settings.layers.length - 1] : 4;
    change({ layers: [...settings.layers, n] });
  };
  $("remove-layer").onclick = () => change({ layers: settings.layers.slice(0, -1) });
  const canvas = $("network");
  canvas.onmousemove = (event) => hover(event, false);
  canvas.onmouseleave = () => { $("tooltip").hidden = true; };
  canvas.onclick = (event) => hover(event, true);
}

// -- drawing -------------------------------------------------------------------------
function bytes(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

// A signed value as 0..255 (128: zero): orange below, blue above, white between.
function signedColour(q) {
  const t = (q - 128) / 127;
  const [r, g, b] = t < 0 ? CLASS_COLOURS[0] : CLASS_COLOURS[1];
  const a = Math.min(1, Math.abs(t));
  return [255 + (r - 255) * a, 255 + (g - 255) * a, 255 + (b - 255) * a];
}

function heatMap(context, values, size, x, y, width, colour) {
  const image = context.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = colour(i);
    image.data.set([r, g, b, 255], 4 * i);
  }
  const scratch = document.createElement("canvas");
  scratch.width = scratch.height = size;
  scratch.getContext("2d").putImageData(image, 0, 0);
  context.imageSmoothingEnabled = false;
  context.drawImage(scratch, x, y, width, width);
}

function draw() {
  const rate = frame.learning_rate_now;
  $("alpha-now").textContent = rate === null ? "" : `α of the last epoch: ${Number(rate.toPrecision(4))}`;
  drawNetwork();
  drawSurface();
  drawCurves();
}

function drawNetwork() {
  const canvas = $("network"), context = canvas.getContext("2d");
  const units = frame.units, L = units.length - 1, box = 30;
  const columnX = (l) => 10 + l * ((canvas.width - 190) / Math.max(1, L));
  const unitY = (j, shown) => 40 + j * Math.min(44, (canvas.height - 90) / Math.max(1, shown));
  context.clearRect(0, 0, canvas.width, canvas.height);
  edges = []; biases = [];
  for (let l = 1; l <= L; l++) {
    const W = frame.weights[l - 1].W;
    const scale = Math.max(1e-9, ...W.flat().map(Math.abs));
    W.forEach((row, j) => row.forEach((w, k) => {
      const x1 = columnX(l - 1) + box, y1 = unitY(k, units[l - 1].maps.length) + box / 2;
      const x2 = columnX(l), y2 = unitY(j, units[l].maps.length) + box / 2;
      const [r, g, b] = signedColour(128 + 127 * w / scale);
      context.strokeStyle = `rgb(${r},${g},${b})`;
      context.lineWidth = 0.5 + 3 * Math.abs(w) / scale;
      context.beginPath(); context.moveTo(x1, y1); context.lineTo(x2, y2); context.stroke();
      edges.push([x1, y1, x2, y2, l, j, k, w]);
    }));
  }
  context.fillStyle = "#333";
  context.font = "11px system-ui, sans-serif";
  units.forEach((layer, l) => {
    layer.maps.forEach((map, j) => {
      const q = bytes(map.bytes);
      heatMap(context, q, 16, columnX(l), unitY(j, layer.maps.length), box, (i) => signedColour(q[i]));
      context.strokeStyle = "#999"; context.lineWidth = 1;
      context.strokeRect(columnX(l), unitY(j, layer.maps.length), box, box);
      const name = frame.feature_names[j] || "";
      if (l === 0) context.fillText((FEATURES[name] || name).slice(0, 22), columnX(0), unitY(j, layer.maps.length) - 2);
      if (l > 0) biases.push([columnX(l), unitY(j, layer.maps.length), box, l, j, frame.weights[l - 1]]);
    });
    const x = columnX(l), bottom = unitY(layer.maps.length, layer.maps.length) + 4;
    if (layer.n > layer.maps.length) context.fillText(`+ ${layer.n - layer.maps.length} more units (not drawn)`, x, bottom);
    const normalised = l > 0 && frame.batch_norm[l - 1];  // Z~[l] = γ[l] Z_norm + β[l], no b[l]
    const name = l === 0 ? "A[0] = X" : `A[${l}] = ${frame.activations[l - 1]}(Z${normalised ? "~" : ""}[${l}])`;
    context.fillText(`layer ${l}: ${name}`, x, 14);
    const shift = normalised ? `γ[${l}], β[${l}]` : `b[${l}]`;
    const shape = l === 0 ? `(${layer.n}, m)` : `W[${l}]: (${layer.n}, ${units[l - 1].n}), ${shift}: (${layer.n}, 1)`;
    context.fillText(shape, x, 28);
    if (l > 0) {
      const s = frame.weights[l - 1].summary;
      context.fillText(`W[${l}] mean ${s.mean.toFixed(3)} std ${s.std.toFixed(3)}`, x, canvas.height - 8);
    }
  });
}

function drawSurface() {
  const canvas = $("surface"), context = canvas.getContext("2d"), surface = frame.surface;
  const grids = surface.grids.map(bytes);
  const colour = (i) => {
    if (surface.kind === "value") return signedColour(grids[0][i]);
    if (grids.length === 1) return signedColour(grids[0][i]);
    const mix = [0, 0, 0];  // a softmax: the classes' colours, each by its probability
    grids.forEach((g, c) => CLASS_COLOURS[c % 3].forEach((v, k) => { mix[k] += v * g[i] / 255; }));
    return mix.map((v) => 255 - (255 - v) * 0.7);
  };
  heatMap(context, grids[0], 40, 0, 0, canvas.width, colour);
  // The plane's square [-e, e]² (e = 6 for the generated sets; an upload's from its data).
  const e = frame.plane.extent;
  const toCanvas = (p) => [(p[0] + e) / (2 * e) * canvas.width, (e - p[1]) / (2 * e) * canvas.height];
  $("plane-axes").textContent = `· axes: ${frame.plane.axes[0]} →, ${frame.plane.axes[1]} ↑`;
  $("plane-note").textContent = frame.plane.note || "Drawn over the input plane (x1, x2) itself.";
  const pointColour = (y) => {
    if (frame.task === "regression") {
      const t = (y - surface.low) / Math.max(1e-9, surface.high - surface.low);
      const [r, g, b] = signedColour(255 * t);
      return `rgb(${r},${g},${b})`;
    }
    const [r, g, b] = CLASS_COLOURS[y % 3];
    return `rgb(${r},${g},${b})`;
  };
  const held = new Set(frame.points.validation);  // the training points held out for validation
  $("validation-points").hidden = held.size === 0;
  for (const [part, ring] of [["train", false], ["test", true]]) {
    frame.points[part].forEach((p, i) => {
      const [x, y] = toCanvas(p);
      context.beginPath();
      if (part === "train" && held.has(i)) context.rect(x - 3, y - 3, 6, 6);
      else context.arc(x, y, 3, 0, 2 * Math.PI);
      context.fillStyle = pointColour(frame.points[`y_${part}`][i]);
      context.strokeStyle = ring ? "#000" : "#fff";
      context.lineWidth = ring ? 1.5 : 0.7;
      context.fill(); context.stroke();
    });
  }
}

function drawCurves() {
  const canvas = $("curves"), context = canvas.getContext("2d"), c = frame.curves;
  context.clearRect(0, 0, canvas.width, canvas.height);
  const values = [...c.train, ...c.test, ...c.validation].filter((v) => v !== null);
  if (!values.length) return;
  const top = Math.max(...values), last = c.epoch[c.epoch.length - 1] || 1;
  const line = (series, colour) => {
    context.strokeStyle = colour; context.lineWidth = 1.5; context.beginPath();
    series.forEach((v, i) => {
      if (v === null) return;
      const x = c.epoch[i] / last * (canvas.width - 4) + 2, y = canvas.height - 4 - v / top * (canvas.height - 8);
      i ? context.lineTo(x, y) : context.moveTo(x, y);
    });
    context.stroke();
  };
  line(c.train, "#333");
  line(c.validation, "#2a9d4a");
  line(c.test, "#e07b00");
  const at = c.train.length - 1, test = c.test[at], validation = c.validation[at];
  $("validation-legend").hidden = validation === null;
  $("costs").textContent = `J train ${c.train[at].toFixed(4)}` +
    (validation === null ? "" : `, validation ${validation.toFixed(4)}`) + (test === null ? "" : `, test ${test.toFixed(4)}`);
}

// -- hover and click on a weight: W[l][j,k] -----------------------------------------------
function hover(event, clicked) {
  const r = $("network").getBoundingClientRect(), x = event.clientX - r.left, y = event.clientY - r.top;
  const unit = biases.find(([bx, by, size]) => x >= bx && x <= bx + size && y >= by && y <= by + size);
  if (unit) { editBias(event, unit, clicked); return; }
  let best = null, bestDistance = 5;
  for (const e of edges) {
    const [x1, y1, x2, y2] = e, dx = x2 - x1, dy = y2 - y1;
    const t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)));
    const d = Math.hypot(x - x1 - t * dx, y - y1 - t * dy);
    if (d < bestDistance) { best = e; bestDistance = d; }
  }
  const tip = $("tooltip");
  if (!best) { tip.hidden = true; return; }
  const [, , , , l, j, k, w] = best;
  tip.textContent = `W[${l}][${j},${k}] = ${w} (from unit ${k} of layer ${l - 1} to unit ${j} of layer ${l}); click to edit`;
  tip.style.left = `${event.clientX + 12}px`; tip.style.top = `${event.clientY + 12}px`;
  tip.hidden = false;
  if (clicked) {
    const text = window.prompt(`W[${l}][${j},${k}] =`, String(w));
    if (text !== null && text.trim() !== "" && Number.isFinite(Number(text))) {
      control({ action: "weight", layer: l, row: j, column: k, value: Number(text) });
    }
  }
}

// A unit of layer l >= 1: its bias b[l][j], edited as a weight is; in a batch-normalised
// layer, which has no b[l], its shift β[l][j] (and its scale γ[l][j] shown).
function editBias(event, unit, clicked) {
  const [, , , l, j, weights] = unit, tip = $("tooltip");
  const normalised = weights.b === null;
  const [parameter, symbol] = normalised ? ["beta", "β"] : ["b", "b"];
  const value = normalised ? weights.beta[j] : weights.b[j];
  tip.textContent = normalised
    ? `γ[${l}][${j}] = ${weights.gamma[j]}, β[${l}][${j}] = ${value} (batch norm's scale and shift of unit ${j} of layer ${l}); click to edit β`
    : `b[${l}][${j}] = ${value} (the bias of unit ${j} of layer ${l}); click to edit`;
  tip.style.left = `${event.clientX + 12}px`; tip.style.top = `${event.clientY + 12}px`;
  tip.hidden = false;
  if (!clicked) return;
  const text = window.prompt(`${symbol}[${l}][${j}] =`, String(value));
  if (text !== null && text.trim() !== "" && Number.isFinite(Number(text))) {
    control({ action: "weight", parameter, layer: l, row: j, value: Number(text) });
  }
}

// -- start: the settings in the URL's hash, if any ------------------------------------------
async function start() {
  wire();
  if (location.hash.length > 1) {
    try {
      await change(JSON.parse(decodeURIComponent(location.hash.slice(1))));
    } catch (problem) {
      $("message").textContent = `the URL's settings could not be read: ${problem}`;
    }
  }
  listen();
}

start();
