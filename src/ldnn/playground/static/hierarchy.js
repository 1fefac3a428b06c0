// The feature-hierarchy page: POST /hierarchy/train starts a run on the server (its
// training thread), GET /hierarchy/state, polled, gives its latest pictures. Nothing is
// computed here: the images are the server's, bytes 0..255 a pixel.
"use strict";

(function () {
  const POLL_MS = 400, SCALE = 6;
  const $ = (id) => document.getElementById(id);
  let timer = null;

  function bytes(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function picture(text, shape, label) {
    const [rows, columns] = shape, values = bytes(text);
    const small = document.createElement("canvas");
    small.width = columns; small.height = rows;
    const context = small.getContext("2d"), image = context.createImageData(columns, rows);
    values.forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
    context.putImageData(image, 0, 0);
    const big = document.createElement("canvas");
    big.width = columns * SCALE; big.height = rows * SCALE;
    big.setAttribute("aria-label", label);
    const drawing = big.getContext("2d");
    drawing.imageSmoothingEnabled = false;
    drawing.drawImage(small, 0, 0, big.width, big.height);
    return big;
  }

  function show(state) {
    $("running").textContent = state.running ? "training…" : (state.run ? "done" : "");
    if (!state.layers) return;
    $("epoch").textContent = String(state.epoch);
    const c = state.curves, test = c.test[c.test.length - 1];
    const train = c.accuracy[c.accuracy.length - 1];
    $("accuracy").textContent = `accuracy: train ${train === null ? "–" : train.toFixed(3)}` +
      (test ? `, test ${test[1] === null ? "–" : test[1].toFixed(3)}` : "");
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
    const answer = await fetch("/hierarchy/state");
    const state = await answer.json();
    show(state);
    if (state.running && timer === null) timer = setInterval(poll, POLL_MS);
    if (!state.running && timer !== null) { clearInterval(timer); timer = null; }
  }

  async function train() {
    const body = { epochs: Number($("epochs").value), seed: Number($("seed").value) };
    const answer = await fetch("/hierarchy/train", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const result = await answer.json();
    if (!answer.ok) { $("message").textContent = `${result.field || "error"}: ${result.message}`; return; }
    $("message").textContent = "";
    if (timer === null) timer = setInterval(poll, POLL_MS);
  }

  $("train").onclick = train;
  poll();
})();
