// The parity page: POST /parity/train starts a run on the server (its training thread),
// GET /parity/state, polled a few times a second, gives its curves. Nothing is computed
// here: the page draws the numbers ldnn's fit records.
"use strict";

(function () {
  const POLL_MS = 250;
  const COLORS = { deep: "#1f5fbf", wide: "#c0392b", counting: "#2a9d4a" };
  const $ = (id) => document.getElementById(id);
  let timer = null;

  function say(text) { $("message").textContent = text || ""; }

  // What each network's panel lists: (the state's key, its label).
  const ROWS = [
    ["layer_dims", "layer_dims"],
    ["hidden_layers", "hidden layers"],
    ["hidden_units", "hidden units"],
    ["units", "units (hidden + output)"],
    ["parameters", "parameters"],
    ["exact_errors", "exact weights"],
    ["accuracy", "accuracy now"],
    ["cost", "cost J now"],
  ];
  for (const dl of document.querySelectorAll(".parity-nets dl")) {
    for (const [key, label] of ROWS) {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = label;
      dd.dataset.key = key;
      dl.append(dt, dd);
    }
  }

  function fill(name, values) {
    const section = $("net-" + name);
    for (const dd of section.querySelectorAll("dd[data-key]")) {
      const key = dd.dataset.key;
      if (key in values) {
        const value = values[key];
        dd.textContent = Array.isArray(value) ? "[" + value.join(", ") + "]" : String(value);
      }
    }
  }

  // The construction's own weights: how many of the truth table's inputs they get wrong.
  function exact(errors, bits) {
    return errors === null || errors === undefined ? "–" : `${errors} of ${2 ** bits} inputs wrong`;
  }

  function format(value, digits) {
    return value === null || value === undefined ? "–" : value.toFixed(digits);
  }

  function draw(canvas, curves, kind, epochs) {
    const context = canvas.getContext("2d");
    const width = canvas.width, height = canvas.height, pad = 34;
    context.clearRect(0, 0, width, height);
    let low = kind === "accuracy" ? 0 : Infinity, high = kind === "accuracy" ? 1 : -Infinity;
    if (kind !== "accuracy") {
      for (const curve of Object.values(curves)) {
        for (const v of curve[kind]) {
          if (v !== null) { low = Math.min(low, v); high = Math.max(high, v); }
        }
      }
      if (!isFinite(low)) { low = 0; high = 1; }
      low = Math.min(low, 0);
      if (high <= low) high = low + 1;
    }
    context.strokeStyle = "#ccc";
    context.strokeRect(pad, 6, width - pad - 6, height - pad);
    context.fillStyle = "#666";
    context.font = "11px system-ui, sans-serif";
    context.fillText(high.toPrecision(3), 2, 14);
    context.fillText(low.toPrecision(3), 2, height - pad + 4);
    context.fillText("epoch " + epochs, width - 70, height - 10);
    const x = (i) => pad + (i / Math.max(1, epochs - 1)) * (width - pad - 6);
    const y = (v) => 6 + (1 - (v - low) / (high - low)) * (height - pad - 6);
    let drawn = 0;
    for (const [name, curve] of Object.entries(curves)) {
      const values = curve[kind];
      if (!values.length) continue;
      drawn += 1;
      context.strokeStyle = COLORS[name] || "#333";
      context.lineWidth = 1.5;
      context.beginPath();
      let started = false;
      values.forEach((v, i) => {
        if (v === null) { started = false; return; }
        if (started) context.lineTo(x(i), y(v)); else context.moveTo(x(i), y(v));
        started = true;
      });
      context.stroke();
    }
    canvas.dataset.curves = String(drawn);
  }

  function show(state) {
    if (!state.run) return;
    const run = state.run;
    $("epoch").textContent = String(state.epochs_done);
    $("running").textContent = state.running ? "training…" : "done (of " + run.epochs + ")";
    for (const [name, shape] of Object.entries(run.networks)) {
      const curve = state.curves[name] || { cost: [], accuracy: [] };
      fill(name, {
        ...shape,
        exact_errors: exact(shape.exact_errors, run.bits),
        accuracy: format(curve.accuracy[curve.accuracy.length - 1], 3),
        cost: format(curve.cost[curve.cost.length - 1], 4),
      });
    }
    draw($("accuracy-chart"), state.curves, "accuracy", run.epochs);
    draw($("cost-chart"), state.curves, "cost", run.epochs);
  }

  async function poll() {
    timer = null;
    try {
      const answer = await fetch("/parity/state");
      const state = await answer.json();
      show(state);
      if (state.running) timer = setTimeout(poll, POLL_MS);
    } catch (problem) {
      say("the server did not answer: " + problem);
    }
  }

  async function train() {
    const body = {
      bits: Number($("bits").value),
      epochs: Number($("epochs").value),
      seed: Number($("seed").value),
    };
    say("");
    const answer = await fetch("/parity/train", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const reply = await answer.json();
    if (!answer.ok) { say(reply.message); return; }
    for (const [name, shape] of Object.entries(reply.networks)) {
      fill(name, { ...shape, exact_errors: exact(shape.exact_errors, body.bits) });
    }
    if (timer !== null) clearTimeout(timer);
    poll();
  }

  $("train").addEventListener("click", () => { train().catch((p) => say(String(p))); });
  poll();
})();
