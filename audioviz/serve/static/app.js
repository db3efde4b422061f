// The playground page: the form, the song list and uploads, jobs and their progress, the
// results list, and the view of one result (its video or sheet, curves, command, settings).
"use strict";

const $ = (id) => document.getElementById(id);
const KIND = { preview: "Preview", render: "Render", compare: "Comparison" };
const STAGE = { starting: "Starting", decode: "Decoding the song", extract: "Listening", render: "Rendering frames" };
const COLORS = ["#7c9cff", "#ff8a65", "#5fd49a", "#f3c76b", "#b48cff", "#4dd0e1", "#ff6b9a", "#aed581", "#e0e0e0", "#ffb74d"];
const SAVED = "audioviz.playground";
const ACTIVE = new Set(["queued", "running"]);

const state = {
  options: null,
  songs: { music: [], uploads: [] },
  results: [],
  current: null, // id of the result shown
  shown: "", // what of it is drawn: id and status
  curves: null,
  hidden: new Set(), // curves switched off in the legend
  timer: null,
  offline: false,
};

// -- talking to the server -------------------------------------------------------------------

async function api(method, url, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
}

function clearError() { $("error").hidden = true; }

function element(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") el.textContent = v;
    else if (k === "className") el.className = v;
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

function fmtTime(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function ago(epoch) {
  const s = Date.now() / 1000 - epoch;
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(epoch * 1000).toLocaleDateString();
}

function bytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;
}

// -- the form ---------------------------------------------------------------------------------

function fillSelect(select, values, labels = {}) {
  select.replaceChildren(...values.map((v) => element("option", { value: v, text: labels[v] || v })));
}

function checkboxes(container, name, values, checked) {
  container.replaceChildren(...values.map((v) => element("label", { className: "check" },
    Object.assign(element("input", { type: "checkbox", name, value: v }), { checked: checked.includes(v) }), v)));
}

function setupForm(o) {
  fillSelect($("model"), o.models.map((m) => m.name));
  fillSelect($("scene"), o.scenes.map((s) => s.name));
  fillSelect($("mapping"), o.mappings);
  fillSelect($("scaler"), o.scalers);
  fillSelect($("scaling"), o.scalings);
  fillSelect($("text_style"), o.text_styles);
  for (const [name, f] of Object.entries(o.formats)) {
    $("format").append(element("option", { value: name, text: `${name} (${f.size}, ${f.fps} fps)` }));
  }
  checkboxes($("grid-models"), "grid-model", o.grid_models, ["ae", "ae_shared", "ae_skip"]);
  checkboxes($("grid-mappings"), "grid-mapping", o.mappings, ["auto"]);
  checkboxes($("grid-scenes"), "grid-scene", o.scenes.map((s) => s.name), [o.defaults.scene]);
  writeOptions(o.defaults);
}

function modelChanged(layer) {
  const model = state.options.models.find((m) => m.name === $("model").value);
  const layers = model ? model.layers : [];
  fillSelect($("layer"), layers.map((l) => l.name),
    Object.fromEntries(layers.map((l) => [l.name, `${l.name}: ${l.size} features, ${l.what}`])));
  $("layer").value = layer && layers.some((l) => l.name === layer) ? layer : (layers.length ? layers[layers.length - 1].name : "");
  $("layer-label").hidden = layers.length < 2;
  $("model-description").textContent = model ? model.description : "";
}

function sceneChanged() {
  const scene = state.options.scenes.find((s) => s.name === $("scene").value);
  $("scene-description").textContent = scene ? scene.description : "";
  const params = scene ? scene.params : [];
  $("orders").replaceChildren(...["fixed", "random", params.join(",")].map((v) => element("option", { value: v })));
}

function formatChanged() {
  const f = state.options.formats[$("format").value];
  if (f) {
    $("size").value = f.size;
    $("fps").value = f.fps;
  }
}

function matchFormat() {
  const name = $("format").value;
  const f = state.options.formats[name];
  if (f && (f.size !== $("size").value.trim() || String(f.fps) !== $("fps").value.trim())) $("format").value = "";
}

function number(id) {
  const text = $(id).value;
  return text === "" ? state.options.defaults[id] : Number(text);
}

function readOptions() {
  const o = {
    model: $("model").value,
    layer: $("layer-label").hidden ? null : $("layer").value || null,
    scene: $("scene").value,
    mapping: $("mapping").value,
    scaler: $("scaler").value,
    scaling: $("scaling").value,
    order: $("order").value.trim() || "fixed",
    fit: $("fit").value,
    size: $("size").value.trim(),
    fps: $("fps").value.trim(),
    hop: number("hop"),
    pulse: number("pulse"),
    energy: number("energy"),
    smoothing: number("smoothing"),
    interpolate: $("interpolate").checked,
    overlay: $("overlay").checked ? "debug" : "none",
    seed: Math.trunc(number("seed")),
    start: number("start"),
    duration: $("duration").value === "" ? null : Number($("duration").value),
    title: null,
    artist: null,
    cover: false,
    text_style: $("text_style").value,
  };
  if ($("titles").checked) {
    o.title = $("title").value.trim() || "auto";
    o.artist = $("artist").value.trim() || "auto";
    o.cover = $("cover").checked;
  }
  return o;
}

function writeOptions(o) {
  const d = state.options.defaults;
  const v = (key) => (o[key] === undefined ? d[key] : o[key]);
  $("model").value = v("model");
  modelChanged(v("layer"));
  $("scene").value = v("scene");
  sceneChanged();
  for (const key of ["mapping", "scaler", "scaling", "order", "fit", "size", "fps", "hop", "pulse", "energy",
    "smoothing", "seed", "start", "text_style"]) {
    $(key).value = v(key);
  }
  $("duration").value = v("duration") === null ? "" : v("duration");
  $("interpolate").checked = v("interpolate");
  $("overlay").checked = v("overlay") === "debug";
  const titled = Boolean(v("title") || v("artist") || v("cover"));
  $("titles").checked = titled;
  $("title-fields").hidden = !titled;
  $("title").value = v("title") && v("title") !== "auto" ? v("title") : "";
  $("artist").value = v("artist") && v("artist") !== "auto" ? v("artist") : "";
  $("cover").checked = Boolean(v("cover"));
  if (o.grid) {
    for (const [name, key] of [["grid-model", "models"], ["grid-mapping", "mappings"], ["grid-scene", "scenes"]]) {
      for (const box of document.querySelectorAll(`input[name=${name}]`)) box.checked = o.grid[key].includes(box.value);
    }
  }
  matchFormat();
}

function readGrid() {
  const values = (name) => [...document.querySelectorAll(`input[name=${name}]:checked`)].map((b) => b.value);
  return { models: values("grid-model"), mappings: values("grid-mapping"), scenes: values("grid-scene") };
}

function save() {
  localStorage.setItem(SAVED, JSON.stringify({ options: readOptions(), grid: readGrid(), song: $("song").value }));
}

function restore() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(SAVED)); } catch (e) { saved = null; }
  if (!saved) return;
  writeOptions({ ...saved.options, grid: saved.grid });
  if (saved.song) selectSong(saved.song);
}

// -- songs ------------------------------------------------------------------------------------

async function loadSongs() {
  state.songs = await api("GET", "/api/songs");
  listSongs();
}

function listSongs() {
  const select = $("song");
  const keep = select.value;
  const filter = $("song-filter").value.trim().toLowerCase();
  const match = (name) => !filter || name.toLowerCase().includes(filter);
  const groups = [];
  const music = state.songs.music.filter((s) => match(s.path));
  if (music.length) {
    groups.push(element("optgroup", { label: "Music folder" },
      ...music.map((s) => element("option", { value: `music:${s.path}`, text: s.path }))));
  }
  const uploads = state.songs.uploads.filter((u) => match(u.name));
  if (uploads.length) {
    groups.push(element("optgroup", { label: "Uploads" },
      ...uploads.map((u) => element("option", { value: `upload:${u.id}`, text: `${u.name} (${fmtTime(u.duration)})` }))));
  }
  if (!groups.length) {
    const none = filter ? "no song matches" : state.options && state.options.music ? "no songs in the music folder" : "upload a song";
    groups.push(element("option", { disabled: "", text: none }));
  }
  select.replaceChildren(...groups);
  if (keep) select.value = keep;
}

function selectSong(key) {
  $("song").value = key;
  if ($("song").value !== key) return false;
  songChanged();
  return true;
}

function selectedSong() {
  const key = $("song").value;
  if (!key) return null;
  const [kind, ...rest] = key.split(":");
  return { [kind]: rest.join(":") };
}

function songChanged() {
  const song = selectedSong();
  const audio = $("song-audio");
  if (!song) return;
  audio.src = `/api/songs/audio?${new URLSearchParams(song)}`;
}

function upload(file) {
  clearError();
  if (file.size > state.options.max_upload) {
    showError(`${file.name}: larger than the ${bytes(state.options.max_upload)} this server takes`);
    return;
  }
  const bar = $("upload-progress");
  bar.hidden = false;
  bar.value = 0;
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `/api/uploads?name=${encodeURIComponent(file.name)}`);
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  xhr.onload = async () => {
    bar.hidden = true;
    let data = null;
    try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
    if (xhr.status >= 400) {
      showError((data && data.error) || `the upload failed (${xhr.status})`);
      return;
    }
    $("song-filter").value = "";
    await loadSongs();
    selectSong(`upload:${data.id}`);
    save();
  };
  xhr.onerror = () => {
    bar.hidden = true;
    showError(`${file.name}: the upload failed; the server could not be reached`);
  };
  xhr.send(file);
}

// -- jobs and results -------------------------------------------------------------------------

async function submit(kind) {
  clearError();
  const song = selectedSong();
  if (!song) {
    showError("pick a song first, or upload one");
    return;
  }
  const body = { kind, song, options: readOptions() };
  if (kind === "compare") body.compare = readGrid();
  save();
  try {
    const result = await api("POST", "/api/jobs", body);
    state.results = [result, ...state.results.filter((r) => r.id !== result.id)];
    show(result.id);
    refresh();
  } catch (e) {
    showError(e.message);
  }
}

async function refresh() {
  clearTimeout(state.timer);
  try {
    const data = await api("GET", "/api/results");
    state.results = data.results;
    $("usage").textContent = `work folder ${bytes(data.workdir.bytes)} of ${bytes(data.workdir.cap)}`;
    if (state.offline) clearError();
    state.offline = false;
    listResults();
    updateView();
  } catch (e) {
    if (!state.offline) showError(`the server cannot be reached (${e.message}); is audioviz serve still running?`);
    state.offline = true;
  }
  const busy = state.results.some((r) => ACTIVE.has(r.status));
  state.timer = setTimeout(refresh, busy ? 500 : 4000);
}

function summary(r) {
  const s = r.settings;
  if (r.kind === "compare") return `${s.models.length * s.mappings.length * s.scenes.length} tiles · ${s.size}`;
  return `${s.scene} · ${modelName(s.model)} · ${s.mapping}`;
}

function modelName(value) {
  return String(value).split("/").pop(); // a checkpoint by its file's name, not its whole path
}

function statusText(r) {
  if (r.status === "running" && r.progress && r.progress.fraction !== null) return `${Math.round(r.progress.fraction * 100)} %`;
  return r.status === "done" ? ago(r.finished || r.created) : r.status;
}

function listResults() {
  const items = state.results.map((r) => {
    const li = element("li", { "data-id": r.id },
      element("div", { className: "what" }, element("span", { className: "name", text: `${KIND[r.kind]} · ${r.song.name}` }),
        element("span", { className: `status ${r.status}`, text: statusText(r) })),
      element("div", { className: "meta", text: summary(r) }));
    if (r.status === "done" && r.urls.preview) li.append(element("img", { src: r.urls.preview, alt: "", loading: "lazy" }));
    if (r.id === state.current) li.classList.add("current");
    li.addEventListener("click", () => show(r.id));
    return li;
  });
  if (!items.length) items.push(element("li", { className: "empty-list", text: "Nothing yet: previews, renders and comparisons appear here, and stay after a reload." }));
  $("results").replaceChildren(...items);
}

function show(id) {
  state.current = id;
  state.shown = "";
  if (location.hash !== `#${id}`) history.replaceState(null, "", `#${id}`);
  listResults();
  updateView();
}

function updateView() {
  const r = state.results.find((x) => x.id === state.current);
  $("empty").hidden = Boolean(r);
  $("view").hidden = !r;
  if (!r) return;
  const key = `${r.id}:${r.status}`;
  if (key !== state.shown) {
    state.shown = key;
    drawResult(r);
  }
  drawProgress(r);
}

function drawProgress(r) {
  const box = $("view-progress");
  box.hidden = !ACTIVE.has(r.status);
  if (box.hidden) return;
  const bar = $("progress-bar");
  let text;
  if (r.status === "queued") {
    bar.removeAttribute("value");
    text = r.position ? `Waiting: ${r.position} job${r.position > 1 ? "s" : ""} ahead` : "Waiting for a worker";
  } else {
    const p = r.progress || { stage: "starting", fraction: null };
    if (p.fraction === null) bar.removeAttribute("value");
    else bar.value = p.fraction;
    text = STAGE[p.stage] || p.stage;
    if (p.stage === "render" && p.total) text += ` ${p.done}/${p.total}`;
    else if (p.fraction !== null) text += ` ${Math.round(p.fraction * 100)} %`;
    if (p.eta !== null && p.eta !== undefined) text += ` · ${fmtTime(p.eta)} left`;
  }
  $("progress-text").textContent = text;
}

function drawResult(r) {
  $("view-title").textContent = `${KIND[r.kind]} · ${r.song.name}`;
  const status = $("view-status");
  status.textContent = r.status;
  status.className = `status ${r.status}`;
  const s = r.settings;
  $("view-subtitle").textContent = r.kind === "compare"
    ? `models ${s.models.map(modelName).join(", ")} · mappings ${s.mappings.join(", ")} · scenes ${s.scenes.join(", ")}`
    : `scene ${s.scene} · model ${modelName(s.model)}${s.layer ? " " + s.layer : ""} · mapping ${s.mapping} · ${s.size}${r.kind === "preview" ? "" : ` at ${s.fps} fps`}`;
  $("view-error").hidden = !r.error;
  $("view-error").textContent = r.error;
  $("view-warnings").hidden = !r.warnings.length;
  $("view-warnings").replaceChildren(...r.warnings.map((w) => element("li", { text: w })));

  const media = $("media");
  const download = $("download");
  download.hidden = true;
  media.replaceChildren();
  const file = r.urls.video || r.urls.preview;
  if (r.status === "done" && file) {
    if (r.urls.video) {
      const video = element("video", { controls: "", preload: "metadata", playsinline: "", src: r.urls.video });
      video.addEventListener("timeupdate", () => drawCurves(video.currentTime));
      video.addEventListener("seeked", () => drawCurves(video.currentTime));
      media.append(video);
    } else {
      media.append(element("a", { href: r.urls.preview, target: "_blank", title: "Open the sheet at full size" },
        element("img", { src: r.urls.preview, alt: `Preview sheet of ${r.song.name}` })));
    }
    download.href = `${file}?download=1`;
    download.textContent = `Download ${r.download}`;
    download.hidden = false;
  }

  state.curves = null;
  $("curves-figure").hidden = true;
  if (r.status === "done" && r.urls.curves) {
    fetch(r.urls.curves).then((resp) => resp.json()).then((c) => {
      if (state.current !== r.id) return;
      state.curves = { ...c, marks: r.kind === "preview" ? r.info.times : [] };
      $("curves-figure").hidden = false;
      drawLegend();
      drawCurves(null);
    }).catch(() => {});
  }

  $("command").textContent = r.command;
  $("settings").replaceChildren(...Object.entries(s).map(([k, v]) =>
    element("tr", {}, element("td", { text: k }), element("td", { text: Array.isArray(v) ? v.join(", ") : String(v) }))));
  const info = measurements(r.info);
  $("info-details").hidden = !info.length;
  $("info").replaceChildren(...info.map(([k, v]) => element("tr", {}, element("td", { text: k }), element("td", { text: v }))));
}

function measurements(info) {
  const rows = [];
  for (const [k, v] of Object.entries(info || {})) {
    if (v === null || v === undefined) continue;
    if (typeof v === "object" && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) if (v2 !== null && typeof v2 !== "object") rows.push([`${k} ${k2}`, String(v2)]);
    } else if (Array.isArray(v)) {
      rows.push([k, v.join(", ")]);
    } else {
      rows.push([k, String(v)]);
    }
  }
  return rows;
}

// -- the curves -------------------------------------------------------------------------------

function drawLegend() {
  const c = state.curves;
  const names = [...c.names, "pulse", "loudness gain"];
  const colors = [...COLORS, "rgba(255,255,255,0.55)", "#8d93a5"];
  $("curves-legend").replaceChildren(...names.map((name, i) => {
    const item = element("span", { title: "Show or hide" }, element("i", { style: `background:${colors[i]}` }), name);
    if (state.hidden.has(name)) item.classList.add("off");
    item.addEventListener("click", () => {
      if (state.hidden.has(name)) state.hidden.delete(name); else state.hidden.add(name);
      item.classList.toggle("off");
      drawCurves(null);
    });
    return item;
  }));
}

function drawCurves(playhead) {
  const c = state.curves;
  const canvas = $("curves");
  if (!c || !c.times.length) return;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = 220;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  const left = 30, right = 10, top = 10, bottom = 22;
  const t0 = c.times[0], t1 = Math.max(c.times[c.times.length - 1], t0 + 1e-3);
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (w - left - right);
  const y = (v) => top + (1 - v) * (h - top - bottom);

  g.strokeStyle = "#262b38";
  g.fillStyle = "#8d93a5";
  g.font = "11px system-ui, sans-serif";
  g.lineWidth = 1;
  for (const v of [0, 0.5, 1]) {
    g.beginPath(); g.moveTo(left, y(v)); g.lineTo(w - right, y(v)); g.stroke();
    g.fillText(v.toFixed(1), 4, y(v) + 4);
  }
  const span = t1 - t0;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300].find((s) => span / s <= 10) || 600;
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) g.fillText(fmtTime(t), x(t) - 12, h - 6);

  if (!state.hidden.has("pulse")) {
    g.fillStyle = "rgba(255,255,255,0.16)";
    const bw = Math.max(1, (w - left - right) / c.times.length);
    c.pulse.forEach((p, i) => { if (p > 0.01) g.fillRect(x(c.times[i]), y(p), bw, y(0) - y(p)); });
  }
  if (!state.hidden.has("loudness gain")) {
    g.strokeStyle = "#8d93a5";
    g.setLineDash([4, 4]);
    line(g, c.times, c.energy, x, y);
    g.setLineDash([]);
  }
  g.lineWidth = 1.6;
  c.values.forEach((series, i) => {
    if (state.hidden.has(c.names[i])) return;
    g.strokeStyle = COLORS[i % COLORS.length];
    line(g, c.times, series, x, y);
  });
  g.lineWidth = 1;
  g.strokeStyle = "rgba(124,156,255,0.6)";
  for (const t of c.marks || []) { g.beginPath(); g.moveTo(x(t), y(1)); g.lineTo(x(t), y(1) + 6); g.stroke(); }
  if (playhead !== null && playhead !== undefined) {
    const t = t0 + playhead;
    g.strokeStyle = "#ffffff";
    g.beginPath(); g.moveTo(x(t), top); g.lineTo(x(t), y(0)); g.stroke();
  }
}

function line(g, times, values, x, y) {
  g.beginPath();
  values.forEach((v, i) => (i ? g.lineTo(x(times[i]), y(v)) : g.moveTo(x(times[i]), y(v))));
  g.stroke();
}

// -- the view's buttons -----------------------------------------------------------------------

function currentResult() { return state.results.find((x) => x.id === state.current); }

async function act(method, url) {
  clearError();
  try {
    await api(method, url);
  } catch (e) {
    showError(e.message);
  }
  refresh();
}

function reuse() {
  const r = currentResult();
  if (!r) return;
  writeOptions(r.options);
  const key = r.song.music !== undefined ? `music:${r.song.music}` : `upload:${r.song.upload}`;
  $("song-filter").value = "";
  listSongs();
  if (!selectSong(key)) showError(`${r.song.name} is no longer there; the settings are set, pick a song`);
  save();
}

async function copyCommand() {
  const text = $("command").textContent;
  try {
    await navigator.clipboard.writeText(text);
    $("copy-button").textContent = "Copied";
  } catch (e) {
    const range = document.createRange();
    range.selectNodeContents($("command"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $("copy-button").textContent = "Selected";
  }
  setTimeout(() => { $("copy-button").textContent = "Copy"; }, 1500);
}

// -- start ------------------------------------------------------------------------------------

async function start() {
  try {
    state.options = await api("GET", "/api/options");
  } catch (e) {
    showError(`the server cannot be reached (${e.message})`);
    return;
  }
  setupForm(state.options);
  try {
    await loadSongs();
  } catch (e) {
    showError(e.message);
  }
  restore();
  $("error-close").addEventListener("click", clearError);
  $("song-filter").addEventListener("input", listSongs);
  $("song").addEventListener("change", () => { songChanged(); save(); });
  $("upload").addEventListener("change", (e) => { if (e.target.files.length) upload(e.target.files[0]); e.target.value = ""; });
  $("model").addEventListener("change", () => modelChanged(null));
  $("scene").addEventListener("change", sceneChanged);
  $("format").addEventListener("change", formatChanged);
  $("size").addEventListener("input", matchFormat);
  $("fps").addEventListener("input", matchFormat);
  $("titles").addEventListener("change", () => { $("title-fields").hidden = !$("titles").checked; });
  $("reseed").addEventListener("click", () => { $("seed").value = Math.floor(Math.random() * 100000); });
  $("controls").addEventListener("change", save);
  $("preview-button").addEventListener("click", () => submit("preview"));
  $("render-button").addEventListener("click", () => submit("render"));
  $("compare-button").addEventListener("click", () => submit("compare"));
  $("cancel-button").addEventListener("click", () => act("POST", `/api/results/${state.current}/cancel`));
  $("delete-button").addEventListener("click", () => {
    const id = state.current;
    state.current = null;
    history.replaceState(null, "", location.pathname);
    act("DELETE", `/api/results/${id}`);
  });
  $("reuse-button").addEventListener("click", reuse);
  $("copy-button").addEventListener("click", copyCommand);
  window.addEventListener("resize", () => drawCurves(null));
  if (location.hash.length > 1) state.current = location.hash.slice(1);
  await refresh();
}

start();
