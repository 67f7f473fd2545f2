"use strict";
// upres serve web page: pick images, POST them to /v1/upscale one by one, compare results.

const $ = (id) => document.getElementById(id);
const el = {
  app: $("app"), input: $("file-input"), drop: $("drop"), list: $("file-list"),
  model: $("model"), scale: $("scale"), format: $("format"), tta: $("tta"),
  start: $("start"), desc: $("model-desc"), limits: $("limits"),
  progress: $("progress"), status: $("status"),
  result: $("result"), info: $("result-info"), download: $("download"), note: $("preview-note"),
  pixelated: $("pixelated"), wrap: $("compare-wrap"), compare: $("compare"),
  orig: $("original-image"), res: $("result-image"), divider: $("divider"),
  slider: $("compare-slider"), zoomBox: $("zoom-box"),
  zBefore: $("zoom-before"), zAfter: $("zoom-after"),
};

const CROP = 96; // result pixels per zoom crop side; the canvases are 3x that
const POLL_MS = 280;
let models = [];
let limits = { max_pixels: 0, max_body_bytes: 0 };
let files = []; // current selection: [{file, li}]
let running = false;
let urls = { result: null, orig: null }; // blob URLs shown now, revoked when replaced

function setState(s) { el.app.dataset.state = s; }
function setStatus(text, isError = false) {
  el.status.textContent = text;
  el.status.classList.toggle("error", isError);
}
function setProgress(value) {
  // null makes the bar indeterminate (queued / waiting on the server)
  if (value == null) el.progress.removeAttribute("value");
  else el.progress.value = Math.max(0, Math.min(100, value));
}
const mb = (n) => n < 1048576
  ? Math.max(1, Math.round(n / 1024)) + " KB"
  : (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB";
const secs = (ms) => (ms / 1000).toFixed(1) + " s";

function jobId() {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// "1-8" for runs, "2, 4" otherwise
function scaleText(scales) {
  const s = [...scales].sort((a, b) => a - b);
  const run = s.length > 2 && s.every((v, i) => i === 0 || v === s[i - 1] + 1);
  return run ? `${s[0]}-${s[s.length - 1]}` : s.join(", ");
}

/* ---------- models and scales ---------- */

async function loadModels() {
  try {
    const r = await fetch("/v1/models", { cache: "no-store" });
    if (!r.ok) throw new Error(await errorLine(r.status, await r.blob(), r.headers.get("Retry-After")));
    const data = await r.json();
    models = Array.isArray(data.models) ? data.models : [];
    limits = { max_pixels: data.max_pixels || 0, max_body_bytes: data.max_body_bytes || 0 };
  } catch (e) {
    setStatus(`could not load models: ${e.message} (auto still works)`, true);
    fillScales();
    return;
  }
  const groups = { model: "models", interpolation: "interpolation" };
  for (const [kind, label] of Object.entries(groups)) {
    const list = models.filter((m) => m.kind === kind);
    if (!list.length) continue;
    const g = document.createElement("optgroup");
    g.label = label;
    for (const m of list) {
      const o = new Option(`${m.name} (x${scaleText(m.scales)})`, m.name);
      o.title = m.description || "";
      g.append(o);
    }
    el.model.append(g);
  }
  const parts = [];
  if (limits.max_pixels) parts.push(`up to ${(limits.max_pixels / 1e6).toFixed(1)} MP`);
  if (limits.max_body_bytes) parts.push(mb(limits.max_body_bytes));
  el.limits.textContent = parts.length ? parts.join(", ") + " per image" : "";
  fillScales();
  setStatus(files.length ? "ready" : "choose images to start");
}

const findModel = (name) => models.find((m) => m.name === name);

// auto: 2,3,4 plus every scale some entry is the default for; a model: exactly its scales
function fillScales() {
  const m = findModel(el.model.value);
  let scales;
  if (m) scales = m.scales;
  else scales = [2, 3, 4, ...models.flatMap((x) => x.default_for || [])];
  scales = [...new Set(scales.map(Number))].sort((a, b) => a - b);
  const prev = Number(el.scale.value) || 4;
  let pick = scales.includes(prev) ? prev
    : (m && m.default_for && m.default_for.length ? m.default_for[0] : scales[scales.length - 1]);
  el.scale.replaceChildren(...scales.map((s) => new Option(`x${s}`, s, false, s === pick)));
  el.scale.value = String(pick);
  describe();
}

function describe() {
  const m = findModel(el.model.value);
  if (m) { el.desc.textContent = m.description || ""; return; }
  const s = Number(el.scale.value);
  const d = models.find((x) => (x.default_for || []).includes(s));
  el.desc.textContent = d ? `auto: server default at x${s} is ${d.name}` : "auto: server default for the scale";
}

el.model.addEventListener("change", fillScales);
el.scale.addEventListener("change", describe);

/* ---------- file selection ---------- */

function selectFiles(list) {
  if (running || !list || !list.length) return;
  files = Array.from(list, (file) => {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    const size = document.createElement("span");
    size.className = "muted";
    size.textContent = mb(file.size);
    const st = document.createElement("span");
    st.className = "fstatus muted";
    st.textContent = "ready";
    li.append(name, size, st);
    return { file, li, st };
  });
  el.list.replaceChildren(...files.map((f) => f.li));
  setStatus(`${files.length} image${files.length > 1 ? "s" : ""} selected`);
  updateStart();
}

function updateStart() {
  el.start.disabled = running || files.length === 0;
  el.input.disabled = running;
  el.drop.classList.toggle("busy", running);
}

el.input.addEventListener("change", () => {
  selectFiles(el.input.files);
});
for (const ev of ["dragenter", "dragover"]) {
  el.drop.addEventListener(ev, (e) => { e.preventDefault(); el.drop.classList.add("over"); });
}
for (const ev of ["dragleave", "drop"]) {
  el.drop.addEventListener(ev, () => el.drop.classList.remove("over"));
}
el.drop.addEventListener("drop", (e) => { e.preventDefault(); selectFiles(e.dataTransfer.files); });
// a drop that misses the zone must not navigate away from the page
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => e.preventDefault());

/* ---------- upload + progress ---------- */

async function errorLine(status, blob, retryAfter) {
  let msg = "";
  try { msg = JSON.parse(await blob.text()).error || ""; } catch (_) { /* not JSON */ }
  if (!msg) msg = `HTTP ${status}`;
  if (status === 503) return `server busy${retryAfter ? `, retry in ${retryAfter} s` : ""}: ${msg}`;
  return msg;
}

// POST the file; report(text, percentOrNull) gets upload and server-side progress
function upscale(file, params, report) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let uploading = true, finished = false, timer = 0;

    const poll = async () => {
      if (finished) return;
      try {
        const r = await fetch(`/v1/progress/${params.job}`, { cache: "no-store" });
        const p = r.ok ? await r.json() : null;
        // the request may have finished while we waited; do not overwrite the final status
        if (p && !finished && !uploading) {
          if (p.state === "queued") report("queued", null);
          else if (p.state === "running" && p.total > 0) {
            report(`upscaling: tile ${p.done}/${p.total}`, (100 * p.done) / p.total);
          } else if (p.state === "done") report("encoding…", 100);
          else report("processing…", null);
        }
      } catch (_) { /* transient; the next poll retries */ }
      if (!finished) timer = setTimeout(poll, POLL_MS);
    };
    const end = () => { finished = true; clearTimeout(timer); };

    xhr.open("POST", "/v1/upscale?" + new URLSearchParams(params));
    xhr.responseType = "blob";
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) {
        const pct = Math.round((100 * e.loaded) / e.total);
        report(`uploading ${pct}%`, pct);
      }
    };
    xhr.upload.onload = () => { uploading = false; report("processing…", null); };
    xhr.onload = async () => {
      end();
      if (xhr.status === 200) {
        resolve({ blob: xhr.response, header: (h) => xhr.getResponseHeader(h) });
      } else {
        reject(new Error(await errorLine(xhr.status, xhr.response, xhr.getResponseHeader("Retry-After"))));
      }
    };
    xhr.onerror = () => { end(); reject(new Error("network error: is the server running?")); };
    xhr.onabort = () => { end(); reject(new Error("request aborted")); };
    report("uploading 0%", 0);
    xhr.send(file);
    timer = setTimeout(poll, POLL_MS);
  });
}

async function run() {
  if (running || !files.length) return;
  running = true;
  updateStart();
  setState("working");
  const batch = files.slice();
  const opts = {
    scale: el.scale.value, model: el.model.value, format: el.format.value, tta: el.tta.checked,
  };
  let failed = 0, last = "";
  for (const f of batch) {
    f.st.textContent = "waiting";
    f.st.className = "fstatus muted";
  }

  for (const [i, f] of batch.entries()) {
    const prefix = batch.length > 1 ? `[${i + 1}/${batch.length}] ${f.file.name}: ` : "";
    const report = (text, pct) => {
      setStatus(prefix + text);
      setProgress(pct);
      f.st.textContent = text;
    };
    const t0 = performance.now();
    try {
      if (limits.max_body_bytes && f.file.size > limits.max_body_bytes) {
        throw new Error(`file too large: ${mb(f.file.size)} (limit ${mb(limits.max_body_bytes)})`);
      }
      const params = { scale: opts.scale, format: opts.format, tta: String(opts.tta), job: jobId() };
      if (opts.model) params.model = opts.model;
      const r = await upscale(f.file, params, report);
      const ms = Number(r.header("X-Upres-Elapsed-Ms")) || performance.now() - t0;
      await showResult(f.file, r, opts, ms);
      last = `done in ${secs(ms)}`;
      f.st.textContent = last;
      f.st.className = "fstatus ok";
      setProgress(100);
      setStatus(prefix + last);
    } catch (e) {
      failed++;
      last = e.message;
      f.st.textContent = e.message;
      f.st.className = "fstatus error";
      setProgress(0);
      setStatus(prefix + e.message, true);
    }
  }

  if (batch.length > 1) {
    const ok = batch.length - failed;
    setStatus(`${ok}/${batch.length} done${failed ? `, ${failed} failed` : ""}; last: ${last}`, failed > 0);
  }
  running = false;
  updateStart();
  setState(failed ? "error" : "done");
}

el.start.addEventListener("click", run);

/* ---------- result view ---------- */

const loadImg = (img, src) => new Promise((res) => {
  img.onload = () => res(true);
  img.onerror = () => res(false);
  img.src = src;
});

async function showResult(file, r, opts, ms) {
  const old = urls;
  urls = { result: URL.createObjectURL(r.blob), orig: URL.createObjectURL(file) };
  const model = r.header("X-Upres-Model") || opts.model || "auto";
  const w = Number(r.header("X-Upres-Width")), h = Number(r.header("X-Upres-Height"));
  const stem = file.name.replace(/\.[^.]*$/, "") || "image";

  el.download.href = urls.result;
  el.download.download = `${stem}_x${opts.scale}_${model}.${opts.format}`;
  el.result.hidden = false;

  const [okRes, okOrig] = await Promise.all([loadImg(el.res, urls.result), loadImg(el.orig, urls.orig)]);
  if (old.result) URL.revokeObjectURL(old.result);
  if (old.orig) URL.revokeObjectURL(old.orig);

  const rw = w || el.res.naturalWidth, rh = h || el.res.naturalHeight;
  el.info.textContent = `${rw} x ${rh}, ${model}${opts.tta ? " + TTA" : ""}, ${secs(ms)}`;

  // browsers cannot show every output format (e.g. TIFF); the download still works
  el.wrap.hidden = !okRes;
  el.note.hidden = okRes && okOrig;
  el.note.textContent = !okRes
    ? `Your browser cannot preview .${opts.format} output; use Download.`
    : "Your browser cannot show the original, so only the result is shown.";
  el.orig.hidden = !okOrig;
  if (!okRes) { clearZoom(); return; }

  // keep the aspect ratio; fit the width and most of the viewport height
  const nw = el.res.naturalWidth, nh = el.res.naturalHeight;
  el.compare.style.width = `min(${nw}px, calc(78vh * ${nw / nh}))`;
  el.compare.style.aspectRatio = `${nw} / ${nh}`;
  el.slider.style.width = el.compare.style.width;
  setSplit(el.slider.value);
  zoomAt(nw / 2, nh / 2);
}

function setSplit(v) {
  const s = Number(v);
  el.compare.dataset.split = String(s);
  // original on the left of the split, result on the right
  el.res.style.clipPath = `inset(0 0 0 ${s}%)`;
  el.divider.style.left = `${s}%`;
}
el.slider.addEventListener("input", () => setSplit(el.slider.value));

el.pixelated.addEventListener("change", () => {
  el.compare.classList.toggle("pixelated", el.pixelated.checked);
});

function clearZoom() {
  for (const c of [el.zBefore, el.zAfter]) c.getContext("2d").clearRect(0, 0, c.width, c.height);
  el.zoomBox.hidden = true;
}

// magnify a CROP x CROP square of the result around (x, y) in result pixels, and the same region of the original
function zoomAt(x, y) {
  const W = el.res.naturalWidth, H = el.res.naturalHeight;
  if (!W || !H) return;
  const cw = Math.min(CROP, W), ch = Math.min(CROP, H);
  const sx = Math.max(0, Math.min(W - cw, Math.round(x - cw / 2)));
  const sy = Math.max(0, Math.min(H - ch, Math.round(y - ch / 2)));
  const k = el.zAfter.width / CROP;
  const draw = (canvas, img, fx, fy) => {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false; // show real pixels, not browser interpolation
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (img && img.naturalWidth) ctx.drawImage(img, sx * fx, sy * fy, cw * fx, ch * fy, 0, 0, cw * k, ch * k);
  };
  draw(el.zAfter, el.res, 1, 1);
  const ok = !el.orig.hidden && el.orig.naturalWidth;
  draw(el.zBefore, ok ? el.orig : null, ok ? el.orig.naturalWidth / W : 0, ok ? el.orig.naturalHeight / H : 0);

  Object.assign(el.zoomBox.style, {
    left: `${(100 * sx) / W}%`, top: `${(100 * sy) / H}%`,
    width: `${(100 * cw) / W}%`, height: `${(100 * ch) / H}%`,
  });
  el.zoomBox.hidden = false;
}

function zoomFromEvent(e) {
  const rect = el.compare.getBoundingClientRect();
  if (!rect.width || !rect.height) return;
  zoomAt(((e.clientX - rect.left) / rect.width) * el.res.naturalWidth,
    ((e.clientY - rect.top) / rect.height) * el.res.naturalHeight);
}
el.compare.addEventListener("pointermove", (e) => { if (e.pointerType === "mouse") zoomFromEvent(e); });
el.compare.addEventListener("pointerdown", zoomFromEvent);

/* ---------- start ---------- */
setState("idle");
updateStart();
loadModels();
