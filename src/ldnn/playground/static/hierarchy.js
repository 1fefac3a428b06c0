// The feature-hierarchy page: POST /hierarchy/train starts a run on the server (its
// training thread), GET /hierarchy/state, polled, gives its latest pictures and probes.
// Nothing is computed here: the images are the server's, bytes 0..255 a pixel, and the
// probes' accuracies its numbers.
"use strict";

(function () {
  // An image is drawn about PIXELS wide whatever its size (8x8 digits, 25x25 faces).
  const POLL_MS = 400, PIXELS = 48;
  const $ = (id) => document.getElementById(id);
  let timer = null, choices = null, runs = 0;  // runs: runs begun so far

  function bytes(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function picture(text, shape, label) {
    const [rows, columns] = shape, values = bytes(text);
    const scale = Math.max(2, Math.round(PIXELS / columns));
    const small = document.createElement("canvas");
    small.width = columns; small.height = rows;
    const context = small.getContext("2d"), image = context.createImageData(columns, rows);
    values.forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
    context.putImageData(image, 0, 0);
    const big = document.createElement("canvas");
    big.width = columns * scale; big.height = rows * scale;
    big.setAttribute("aria-label", label);
    const drawing = big.getContext("2d");
    drawing.imageSmoothingEnabled = false;
    drawing.drawImage(small, 0, 0, big.width, big.height);
    return big;
  }

  function setName(choice) {
    return choice.available ? `${choice.name} (${choice.image_shape.join("x")})` : choice.name;
  }

  // The data-set choices, once: one that cannot be loaded here is disabled, with why.
  function offer(datasets) {
    if (choices !== null || !datasets) return;
    choices = datasets;
    const select = $("dataset"), missing = [];
    for (const choice of datasets) {
      const option = document.createElement("option");
      option.value = choice.name;
      option.disabled = !choice.available;
      option.textContent = choice.available ? setName(choice) : `${choice.name} (not available)`;
      if (!choice.available) {
        option.title = choice.reason;
        missing.push(`${choice.name} is not available here: ${choice.reason}`);
      }
      select.append(option);
    }
    $("dataset-note").textContent = missing.join("; ");
  }

  function describe(run, shape) {
    $("set-title").textContent = `${shape.join("x")} ${run.dataset}`;
    $("architecture").textContent = `hidden [${run.hidden.join(", ")}], ${run.activations}, ` +
      `${run.optimizer}, α = ${run.learning_rate}, mini-batches of ${run.batch_size}, λ = ${run.lambd}`;
  }

  const score = (v) => (v === null ? "–" : v.toFixed(3));

  function probeTable(rows) {
    const body = $("probe-table").tBodies[0];
    body.innerHTML = "";
    for (const row of rows) {
      const line = body.insertRow();
      line.dataset.layer = String(row.layer);
      const source = row.layer === 0 ? "X (the input)" : row.output ? "the output (network)" : `A[${row.layer}]`;
      for (const text of [String(row.layer), source, String(row.units), score(row.train), score(row.test)]) {
        line.insertCell().textContent = text;
      }
    }
  }

  function probeChart(rows) {
    const canvas = $("probe-chart"), g = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height, left = 40, right = 28, top = 10, bottom = 28;
    const values = rows.flatMap((r) => [r.train, r.test]).filter((v) => v !== null);
    // From the tenth below the least accuracy to 1: the differences between layers show.
    const low = Math.min(0.9, Math.floor(10 * Math.min(...values, 1)) / 10);
    const x = (i) => left + (W - left - right) * (rows.length > 1 ? i / (rows.length - 1) : 0.5);
    const y = (v) => top + (H - top - bottom) * (1 - (v - low) / (1 - low));
    g.clearRect(0, 0, W, H);
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = "#666"; g.strokeStyle = "#ddd"; g.lineWidth = 1;
    for (const v of [low, (low + 1) / 2, 1]) {
      g.beginPath(); g.moveTo(left, y(v)); g.lineTo(W - right, y(v)); g.stroke();
      g.textAlign = "right"; g.fillText(v.toFixed(2), left - 4, y(v) + 4);
    }
    g.textAlign = "center";
    rows.forEach((r, i) => g.fillText(r.output ? `${r.layer} (out)` : String(r.layer), x(i), H - 14));
    g.fillText("layer l", (left + W - right) / 2, H - 2);
    for (const [key, color, dash] of [["train", "#333", [3, 3]], ["test", "#e07b00", []]]) {
      g.strokeStyle = color; g.fillStyle = color; g.lineWidth = 2; g.setLineDash(dash);
      g.beginPath();
      rows.forEach((r, i) => { if (r[key] !== null) g.lineTo(x(i), y(r[key])); });
      g.stroke(); g.setLineDash([]);
      rows.forEach((r, i) => {
        if (r[key] === null) return;
        g.beginPath(); g.arc(x(i), y(r[key]), 3, 0, 2 * Math.PI); g.fill();
      });
    }
    canvas.setAttribute("aria-label", "linear-probe accuracy by layer: " +
      rows.map((r) => `l=${r.layer} train ${score(r.train)} test ${score(r.test)}`).join("; "));
  }

  function showProbes(probes) {
    if (!probes) return;
    $("probe-epoch").textContent = `(at epoch ${probes.epoch})`;
    probeTable(probes.layers);
    probeChart(probes.layers);
  }

  function show(state) {
    offer(state.datasets);
    $("running").textContent = state.running ? "training…" : (state.run ? "done" : "");
    if (!state.layers) return;
    describe(state.run, state.image_shape);
    $("epoch").textContent = String(state.epoch);
    const c = state.curves, test = c.test[c.test.length - 1];
    const train = c.accuracy[c.accuracy.length - 1];
    $("accuracy").textContent = `accuracy: train ${score(train)}` + (test ? `, test ${score(test[1])}` : "");
    showProbes(state.probes);
    const holder = $("layers");
    holder.innerHTML = "";
    for (const layer of state.layers) {
      const section = document.createElement("section");
      section.className = "hierarchy-layer";
      section.dataset.layer = String(layer.layer);
      const title = document.createElement("h2");
      title.textContent = `layer ${layer.layer}: n[${layer.layer}] = ${layer.n} units, ${layer.dead} dead`;
      section.append(title);
      const row = document.createElement("div");
      row.className = "hierarchy-units";
      for (const unit of layer.units) {
        const figure = document.createElement("figure");
        figure.append(picture(unit.top, state.image_shape, `layer ${layer.layer} unit ${unit.unit}: top images' mean`));
        figure.append(picture(unit.ascent, state.image_shape, `layer ${layer.layer} unit ${unit.unit}: gradient ascent`));
        if (unit.weights) figure.append(picture(unit.weights, state.image_shape, `layer 1 unit ${unit.unit}: W[1][${unit.unit}]`));
        const caption = document.createElement("figcaption");
        caption.textContent = `A[${layer.layer}][${unit.unit}]`;
        figure.append(caption);
        row.append(figure);
      }
      section.append(row);
      holder.append(section);
    }
  }

  async function poll() {
    const asked = runs;
    const answer = await fetch("/hierarchy/state");
    const state = await answer.json();
    // An answer asked for before the latest run began may say "not running": not of it.
    if (asked !== runs) return;
    show(state);
    if (state.running && timer === null) timer = setInterval(poll, POLL_MS);
    if (!state.running && timer !== null) { clearInterval(timer); timer = null; }
  }

  async function train() {
    const body = { epochs: Number($("epochs").value), seed: Number($("seed").value) };
    // (No choice yet, the sets still loading on the server: its default, the first.)
    if ($("dataset").value) body.dataset = $("dataset").value;
    const answer = await fetch("/hierarchy/train", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const result = await answer.json();
    if (!answer.ok) { $("message").textContent = `${result.field || "error"}: ${result.message}`; return; }
    $("message").textContent = "";
    runs += 1;  // answers to polls asked before this one are the last run's
    if (timer === null) timer = setInterval(poll, POLL_MS);
  }

  $("train").onclick = train;
  poll();
})();
