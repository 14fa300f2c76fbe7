// tickd dashboard: one EventSource per chosen symbol, merged into bounded
// arrays, drawn on a canvas at most once per animation frame.
"use strict";

const MAX_POINTS = 600, MAX_BARS = 300, MAX_MARKS = 64, MAX_SIGNALS = 100, TABLE_BARS = 40;
const $ = (id) => document.getElementById(id);
const css = getComputedStyle(document.documentElement);
const color = (name) => css.getPropertyValue(name).trim();
const C = {
  bg: color("--panel"), line: color("--line"), dim: color("--dim"), text: color("--text"),
  up: color("--up"), down: color("--down"), last: color("--last"),
  sma: color("--sma"), ema: color("--ema"), vwap: color("--vwap"), accent: color("--accent"),
  mono: color("--mono"),
};

const state = {
  sym: decodeURIComponent(location.hash.slice(1)) || "",
  interval: "",
  points: [], bars: [], marks: [],
  quote: {}, watch: [], signals: [],
  lastEvent: 0, es: null, hoverX: -1, dirty: true,
};

// ---- number formatting ----

const nf0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });
function fmtRate(v) { return v == null ? "—" : v >= 100 ? nf0.format(v) : nf1.format(v); }
function fmtUs(us) {
  if (us == null) return "—";
  if (us < 1000) return us.toFixed(us < 10 ? 1 : 0) + " µs";
  if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 2 : 1) + " ms";
  return (us / 1e6).toFixed(2) + " s";
}
let decimals = 2;
function fmtPx(v) { return v == null || !isFinite(v) ? "—" : v.toFixed(decimals); }
// Exact decimal text as published, padded to the display precision.
function padPx(s) {
  if (s == null) return "—";
  const dot = s.indexOf(".");
  const have = dot < 0 ? 0 : s.length - dot - 1;
  if (have >= decimals) return s;
  return (dot < 0 ? s + "." : s) + "0".repeat(decimals - have);
}
function fmtPct(v) { return v == null ? "" : (v > 0 ? "+" : "") + v.toFixed(2) + "%"; }
function fmtVol(v) {
  if (v == null) return "—";
  if (v >= 1e9) return (v / 1e9).toFixed(2) + "B";
  if (v >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (v >= 1e4) return (v / 1e3).toFixed(1) + "K";
  return nf0.format(v);
}
const pad2 = (n) => String(n).padStart(2, "0");
function fmtTime(ms, withMs) {
  const d = new Date(ms);
  const s = pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
  return withMs ? s + "." + String(d.getMilliseconds()).padStart(3, "0") : s;
}
function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
function signClass(v) { return v > 0 ? "pos" : v < 0 ? "neg" : ""; }

// ---- the stream ----

function connect() {
  if (state.es) state.es.close();
  const q = new URLSearchParams();
  if (state.sym) q.set("symbol", state.sym);
  if (state.interval) q.set("interval", state.interval);
  const es = new EventSource("/events?" + q);
  state.es = es;
  let first = true;
  es.addEventListener("update", (e) => {
    if (es !== state.es) return;
    const u = JSON.parse(e.data);
    // A new stream (a symbol change, or a reconnect after tickd restarted)
    // starts with the latest signals again: replace, don't repeat, them.
    if (first) { state.signals = []; u.fresh = true; first = false; }
    apply(u);
  });
  es.onerror = () => {
    if (es !== state.es) return;
    setConn("offline");
    // The browser retries a dropped stream by itself, but not one the
    // server refused (too many dashboards open): try again later.
    if (es.readyState === EventSource.CLOSED) setTimeout(() => { if (es === state.es) connect(); }, 5000);
  };
}

function choose(sym, interval) {
  if (sym === state.sym && (interval ?? state.interval) === state.interval) return;
  if (sym !== state.sym) state.interval = "";
  if (interval != null) state.interval = interval;
  state.sym = sym;
  state.points = []; state.bars = []; state.marks = []; state.quote = {};
  history.replaceState(null, "", "#" + encodeURIComponent(sym));
  renderAll();
  connect();
}

function keepLast(a, n) { if (a.length > n) a.splice(0, a.length - n); }

function apply(u) {
  state.lastEvent = performance.now();
  setConn("live");
  if (u.sym && !state.sym) {
    state.sym = u.sym;
    history.replaceState(null, "", "#" + encodeURIComponent(u.sym));
  }
  if (u.reset) { state.points = []; state.bars = []; state.marks = []; }
  if (u.interval !== undefined) state.interval = u.interval;
  state.intervals = u.intervals || [];
  for (const p of u.points || []) state.points.push({ t: p[0], last: p[1], sma: p[2], ema: p[3], vwap: p[4] });
  for (const b of u.bars || []) {
    const bar = { t: b[0], o: b[1], h: b[2], l: b[3], c: b[4], v: b[5], vwap: b[6], n: b[7] };
    const prev = state.bars[state.bars.length - 1];
    if (prev && prev.t === bar.t) state.bars[state.bars.length - 1] = bar; else state.bars.push(bar);
  }
  for (const m of u.marks || []) state.marks.push({ t: m[0], price: m[1], dir: m[2], rule: m[3] });
  keepLast(state.points, MAX_POINTS); keepLast(state.bars, MAX_BARS); keepLast(state.marks, MAX_MARKS);
  if (u.quote) state.quote = u.quote;
  if (u.watch) { state.watch = u.watch; renderWatch(); }
  if (u.fresh || (u.signals && u.signals.length)) {
    for (const s of u.signals || []) state.signals.unshift(s);
    keepFirst(state.signals, MAX_SIGNALS);
    renderSignals(u.fresh ? 0 : u.signals.length);
  }
  if (u.rates) renderMetrics(u);
  pickDecimals();
  renderQuote();
  renderIntervals();
  if (u.reset || (u.bars && u.bars.length)) renderBars();
  if (u.reset || (u.points && u.points.length) || (u.bars && u.bars.length) || (u.marks && u.marks.length)) schedule();
}
function keepFirst(a, n) { if (a.length > n) a.length = n; }

function pickDecimals() {
  const p = state.points[state.points.length - 1] || state.bars[state.bars.length - 1];
  const v = p ? (p.last ?? p.c) : null;
  decimals = v != null && Math.abs(v) < 1 ? 4 : 2;
}

function setConn(s) {
  const el = $("conn");
  if (el.dataset.state === s) return;
  el.dataset.state = s;
  el.querySelector("b").textContent = { live: "LIVE", stale: "STALE", offline: "RECONNECTING", connecting: "CONNECTING" }[s];
}
setInterval(() => {
  if ($("conn").dataset.state === "live" && performance.now() - state.lastEvent > 3000) setConn("stale");
}, 1000);

// ---- panels ----

function renderMetrics(u) {
  const r = u.rates;
  setText($("m-ticks"), fmtRate(r.ticks));
  setText($("m-signals"), fmtRate(r.signals));
  setText($("m-msgs"), fmtRate(r.msgs));
  const l = u.latency || {}, h = u.hop || {};
  setText($("m-p50"), fmtUs(l.p50)); setText($("m-p99"), fmtUs(l.p99)); setText($("m-p999"), fmtUs(l.p999));
  setText($("m-lat-n"), l.n ? "n=" + nf0.format(l.n) : "");
  setText($("m-hop50"), fmtUs(h.p50)); setText($("m-hop99"), fmtUs(h.p99));
}

function renderQuote() {
  const q = state.quote;
  setText($("q-sym"), state.sym || "—");
  setText($("q-time"), q.t ? fmtTime(q.t, true) : "");
  const last = $("q-last");
  if (q.last !== undefined && last.dataset.price !== q.last) {
    const prev = parseFloat(last.dataset.price);
    last.dataset.price = q.last;
    last.textContent = padPx(q.last);
    flash(last, parseFloat(q.last) - prev);
  } else if (q.last === undefined && last.dataset.price !== "") {
    last.dataset.price = ""; last.textContent = "—";
  }
  const chg = $("q-chg");
  setText(chg, fmtPct(q.chg));
  chg.className = "chg " + signClass(q.chg);
  setText($("q-bid"), q.bid ? padPx(q.bid) + (q.bid_size ? " ×" + fmtVol(q.bid_size) : "") : "—");
  setText($("q-ask"), q.ask ? padPx(q.ask) + (q.ask_size ? " ×" + fmtVol(q.ask_size) : "") : "—");
  setText($("q-sma"), fmtPx(q.sma)); setText($("q-ema"), fmtPx(q.ema)); setText($("q-vwap"), fmtPx(q.vwap));
  setText($("q-z"), q.z == null ? "—" : q.z.toFixed(2));
  setText($("q-range"), q.min ? padPx(q.min) + "–" + padPx(q.max) : "—");
  setText($("q-vol"), fmtVol(q.volume));
}

function flash(el, d) {
  if (!(d > 0 || d < 0)) return;
  el.classList.remove("flash-up", "flash-down");
  void el.offsetWidth; // restart the animation
  el.classList.add(d > 0 ? "flash-up" : "flash-down");
}

function renderWatch() {
  const tbody = $("watch").tBodies[0];
  const filter = $("filter").value.trim().toUpperCase();
  const rows = state.watch.filter((w) => !filter || w[0].includes(filter));
  while (tbody.rows.length > rows.length) tbody.deleteRow(-1);
  rows.forEach((w, i) => {
    let tr = tbody.rows[i];
    if (!tr) {
      tr = tbody.insertRow();
      tr.insertCell(); tr.insertCell(); tr.insertCell();
    }
    const [name, last, chg] = w;
    tr.dataset.sym = name;
    tr.classList.toggle("sel", name === state.sym);
    setText(tr.cells[0], name);
    if (tr.cells[1].dataset.price !== String(last)) {
      const prev = parseFloat(tr.cells[1].dataset.price);
      tr.cells[1].dataset.price = String(last);
      tr.cells[1].textContent = last == null ? "—" : padPx(last);
      if (tr.dataset.sym === name) flash(tr.cells[1], parseFloat(last) - prev);
    }
    setText(tr.cells[2], fmtPct(chg));
    tr.cells[2].className = signClass(chg);
  });
  // The picker lists every symbol, whatever the filter.
  const sel = $("symbol");
  const names = state.watch.map((w) => w[0]);
  if (sel.options.length !== names.length || [...sel.options].some((o, i) => o.value !== names[i])) {
    sel.replaceChildren(...names.map((n) => new Option(n, n)));
  }
  if (sel.value !== state.sym) sel.value = state.sym;
}

function renderSignals(added) {
  const tbody = $("signals").tBodies[0];
  const rows = state.signals.map((s, i) => {
    const [t, sym, rule, dir, price, values, lat] = s;
    const tr = document.createElement("tr");
    if (i < added) tr.className = "new";
    tr.title = values;
    const cells = [fmtTime(t, true), sym, rule, dir === "up" ? "▲" : dir === "down" ? "▼" : "•", padPx(price), lat == null ? "" : nf0.format(lat)];
    for (const c of cells) tr.insertCell().textContent = c;
    tr.cells[1].dataset.sym = sym;
    tr.cells[3].className = "dir-" + dir;
    return tr;
  });
  tbody.replaceChildren(...rows);
  setText($("sig-count"), state.signals.length ? String(state.signals.length) : "");
}

function renderIntervals() {
  const box = $("intervals");
  const ivs = state.intervals || [];
  if (box.dataset.ivs !== ivs.join(",")) {
    box.dataset.ivs = ivs.join(",");
    box.replaceChildren(...ivs.map((iv) => {
      const b = document.createElement("button");
      b.textContent = iv; b.dataset.iv = iv;
      return b;
    }));
  }
  for (const b of box.children) b.classList.toggle("on", b.dataset.iv === state.interval);
  setText($("bars-iv"), state.interval);
}

function renderBars() {
  const tbody = $("bars").tBodies[0];
  const bars = state.bars.slice(-TABLE_BARS).reverse();
  const rows = bars.map((b) => {
    const tr = document.createElement("tr");
    for (const c of [fmtTime(b.t), fmtPx(b.o), fmtPx(b.h), fmtPx(b.l), fmtPx(b.c), nf0.format(b.v), fmtPx(b.vwap), nf0.format(b.n)]) {
      tr.insertCell().textContent = c;
    }
    tr.cells[4].className = b.c >= b.o ? "up-c" : "down-c";
    return tr;
  });
  tbody.replaceChildren(...rows);
}

function renderAll() {
  renderQuote(); renderIntervals(); renderBars(); renderWatch(); schedule();
}

// ---- the chart ----

const canvas = $("chart");
const ctx = canvas.getContext("2d");

function schedule() {
  if (state.dirty) return;
  state.dirty = true;
  requestAnimationFrame(draw);
}

// niceStep returns a 1-2-5 step giving about n ticks over span.
function niceStep(span, n) {
  const raw = span / Math.max(1, n);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * 1000);

function draw() {
  state.dirty = false;
  const dpr = window.devicePixelRatio || 1;
  const W = canvas.clientWidth, H = canvas.clientHeight;
  if (W === 0 || H === 0) return;
  if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px " + C.mono;
  ctx.textBaseline = "middle";

  const axisW = 74, axisH = 22;
  const plot = { x: 0, y: 8, w: W - axisW, h: H - axisH - 8 };
  const volH = Math.round(plot.h * 0.16);
  const price = { y: plot.y, h: plot.h - volH - 6 };

  const pts = state.points, bars = state.bars, marks = state.marks;
  const hasData = pts.length > 0 || bars.length > 0;
  $("chart-empty").hidden = hasData;
  if (!hasData) { setDrawn(0, 0, 0); return; }

  // Time window: as many bar slots as fit at ~8px each, ending at the newest data.
  const ivMs = bars.length > 1 ? Math.max(1, bars[bars.length - 1].t - bars[bars.length - 2].t) : 1000;
  const slots = Math.max(20, Math.floor(plot.w / 8));
  let tMax = Math.max(pts.length ? pts[pts.length - 1].t : -Infinity, bars.length ? bars[bars.length - 1].t + ivMs : -Infinity);
  let tMin = tMax - slots * ivMs;
  const tFirst = Math.min(pts.length ? pts[0].t : Infinity, bars.length ? bars[0].t : Infinity);
  if (tFirst > tMin) { tMin = tFirst - ivMs * 0.5; }
  if (tMax - tMin < 10 * ivMs) tMin = tMax - 10 * ivMs; // few bars yet: keep them at the right, where new ones arrive
  tMax += ivMs * 0.5;
  const xOf = (t) => plot.x + ((t - tMin) / (tMax - tMin)) * plot.w;

  const vb = bars.filter((b) => b.t + ivMs >= tMin && b.t <= tMax);
  const vp = pts.filter((p) => p.t >= tMin && p.t <= tMax);
  const vm = marks.filter((m) => m.t >= tMin && m.t <= tMax);

  let lo = Infinity, hi = -Infinity;
  const see = (v) => { if (v != null && isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } };
  for (const b of vb) { see(b.l); see(b.h); }
  for (const p of vp) { see(p.last); see(p.sma); see(p.ema); }
  for (const m of vm) see(m.price);
  // VWAP is a session average: draw it, but let it stretch the scale only when near.
  for (const p of vp) if (p.vwap != null && lo !== Infinity && Math.abs(p.vwap - (lo + hi) / 2) < (hi - lo) * 1.5 + 1e-9) see(p.vwap);
  if (lo === Infinity) { setDrawn(0, 0, 0); return; }
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const padY = (hi - lo) * 0.08; hi += padY; lo -= padY;
  const yOf = (v) => price.y + (1 - (v - lo) / (hi - lo)) * price.h;

  const lp = vp[vp.length - 1]; // the newest price: a tag on the axis
  const tagY = lp && lp.last != null ? yOf(lp.last) : -1e9;

  // grid and axes
  ctx.strokeStyle = C.line; ctx.lineWidth = 1; ctx.fillStyle = C.dim;
  const pStep = niceStep(hi - lo, Math.max(3, Math.floor(price.h / 48)));
  ctx.textAlign = "left";
  for (let v = Math.ceil(lo / pStep) * pStep; v <= hi; v += pStep) {
    const y = Math.round(yOf(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(plot.x, y); ctx.lineTo(plot.x + plot.w, y); ctx.stroke();
    if (Math.abs(y - tagY) > 12) ctx.fillText(v.toFixed(decimals), plot.x + plot.w + 8, y);
  }
  const tStep = TIME_STEPS.find((s) => (s / (tMax - tMin)) * plot.w >= 90) || 3600000;
  ctx.textAlign = "center";
  for (let t = Math.ceil(tMin / tStep) * tStep; t <= tMax; t += tStep) {
    const x = Math.round(xOf(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, plot.y); ctx.lineTo(x, plot.y + plot.h); ctx.stroke();
    if (x > plot.x + 32 && x < plot.x + plot.w - 32) ctx.fillText(fmtTime(t), x, plot.y + plot.h + axisH / 2 + 2);
  }
  ctx.beginPath();
  ctx.moveTo(plot.x + plot.w + 0.5, plot.y); ctx.lineTo(plot.x + plot.w + 0.5, plot.y + plot.h);
  ctx.moveTo(plot.x, price.y + price.h + 3.5); ctx.lineTo(plot.x + plot.w, price.y + price.h + 3.5);
  ctx.stroke();

  ctx.save();
  ctx.beginPath(); ctx.rect(plot.x, plot.y, plot.w, plot.h); ctx.clip();

  // volume
  const vMax = Math.max(1, ...vb.map((b) => b.v));
  const slotW = (ivMs / (tMax - tMin)) * plot.w;
  const bodyW = Math.max(1, Math.min(24, slotW * 0.68));
  const volTop = price.y + price.h + 6;
  for (const b of vb) {
    const x = xOf(b.t + ivMs / 2);
    const h = (b.v / vMax) * (volH - 2);
    ctx.fillStyle = b.c >= b.o ? "rgba(38,194,129,.35)" : "rgba(240,85,90,.35)";
    ctx.fillRect(Math.round(x - bodyW / 2), Math.round(volTop + volH - h), Math.round(bodyW), Math.ceil(h));
  }

  // candles
  for (const b of vb) {
    const x = Math.round(xOf(b.t + ivMs / 2)) + 0.5;
    const up = b.c >= b.o;
    ctx.strokeStyle = ctx.fillStyle = up ? C.up : C.down;
    ctx.globalAlpha = 0.55;
    ctx.beginPath(); ctx.moveTo(x, yOf(b.h)); ctx.lineTo(x, yOf(b.l)); ctx.stroke();
    const y1 = yOf(Math.max(b.o, b.c)), y2 = yOf(Math.min(b.o, b.c));
    ctx.fillRect(Math.round(x - bodyW / 2), Math.round(y1), Math.round(bodyW), Math.max(1, Math.round(y2 - y1)));
    ctx.globalAlpha = 1;
  }

  // lines
  const line = (key, col, width, dash) => {
    ctx.strokeStyle = col; ctx.lineWidth = width; ctx.setLineDash(dash || []);
    ctx.lineJoin = "round";
    ctx.beginPath();
    let pen = false;
    for (const p of vp) {
      const v = p[key];
      if (v == null) { pen = false; continue; }
      const x = xOf(p.t), y = yOf(v);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
  };
  line("vwap", C.vwap, 1.25, [5, 4]);
  line("sma", C.sma, 1.5);
  line("ema", C.ema, 1.5);
  line("last", C.last, 1.75);
  // the newest price as a dot
  if (lp && lp.last != null) {
    ctx.fillStyle = C.last;
    ctx.beginPath(); ctx.arc(xOf(lp.t), yOf(lp.last), 3, 0, Math.PI * 2); ctx.fill();
  }

  // signal markers, each named by its rule where the name has room (and
  // only while there are few: a crowd of names reads as noise)
  const labels = [], named = vm.length <= 12;
  for (const m of vm) {
    const x = xOf(m.t), y = yOf(m.price);
    const up = m.dir > 0, down = m.dir < 0;
    ctx.fillStyle = up ? C.up : down ? C.down : C.accent;
    ctx.strokeStyle = C.bg; ctx.lineWidth = 1.5;
    ctx.beginPath();
    if (down) { ctx.moveTo(x, y - 5); ctx.lineTo(x - 6, y - 15); ctx.lineTo(x + 6, y - 15); }
    else { ctx.moveTo(x, y + 5); ctx.lineTo(x - 6, y + 15); ctx.lineTo(x + 6, y + 15); }
    ctx.closePath(); ctx.stroke(); ctx.fill();
    ctx.font = "10px " + C.mono; ctx.textAlign = "center";
    const ly = down ? y - 23 : y + 23, lw = ctx.measureText(m.rule).width + 6;
    const lx = Math.max(plot.x + lw / 2, Math.min(plot.x + plot.w - lw / 2, x));
    if (named && !labels.some((r) => Math.abs(r.x - lx) < (r.w + lw) / 2 && Math.abs(r.y - ly) < 12)) {
      labels.push({ x: lx, y: ly, w: lw });
      ctx.fillText(m.rule, lx, ly);
    }
    ctx.font = "11px " + C.mono;
  }

  // crosshair
  let hover = "";
  if (state.hoverX >= plot.x && state.hoverX <= plot.x + plot.w) {
    const hx = Math.round(state.hoverX) + 0.5;
    ctx.strokeStyle = "rgba(215,221,230,.35)"; ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(hx, plot.y); ctx.lineTo(hx, plot.y + plot.h); ctx.stroke(); ctx.setLineDash([]);
    const t = tMin + ((state.hoverX - plot.x) / plot.w) * (tMax - tMin);
    const b = vb.find((b) => t >= b.t && t < b.t + ivMs);
    if (b) hover = fmtTime(b.t) + "  O " + fmtPx(b.o) + "  H " + fmtPx(b.h) + "  L " + fmtPx(b.l) + "  C " + fmtPx(b.c) + "  V " + fmtVol(b.v);
  }
  ctx.restore();
  setText($("hover"), hover);

  // last price tag on the axis
  if (lp && lp.last != null) {
    const y = Math.round(yOf(lp.last)) + 0.5;
    const prev = vp.length > 1 ? vp[vp.length - 2].last : lp.last;
    const col = lp.last >= prev ? C.up : C.down;
    ctx.strokeStyle = col; ctx.setLineDash([2, 3]); ctx.globalAlpha = 0.7;
    ctx.beginPath(); ctx.moveTo(plot.x, y); ctx.lineTo(plot.x + plot.w, y); ctx.stroke();
    ctx.setLineDash([]); ctx.globalAlpha = 1;
    ctx.fillStyle = col;
    ctx.fillRect(plot.x + plot.w + 1, y - 9, axisW - 2, 18);
    ctx.fillStyle = "#fff"; ctx.textAlign = "left"; ctx.font = "600 11px " + C.mono;
    ctx.fillText(lp.last.toFixed(decimals), plot.x + plot.w + 8, y);
  }
  setDrawn(vp.length, vb.length, vm.length);
}

// setDrawn records on the canvas what the last frame drew, for tests and curious readers.
function setDrawn(points, candles, nmarks) {
  canvas.dataset.points = points; canvas.dataset.candles = candles; canvas.dataset.marks = nmarks;
}

// ---- input ----

new ResizeObserver(schedule).observe(canvas);
canvas.addEventListener("mousemove", (e) => { state.hoverX = e.offsetX; schedule(); });
canvas.addEventListener("mouseleave", () => { state.hoverX = -1; schedule(); });
$("symbol").addEventListener("change", (e) => choose(e.target.value));
$("filter").addEventListener("input", renderWatch);
$("watch").addEventListener("click", (e) => { const tr = e.target.closest("tr"); if (tr) choose(tr.dataset.sym); });
$("signals").addEventListener("click", (e) => { const s = e.target.dataset.sym; if (s) choose(s); });
$("intervals").addEventListener("click", (e) => { const iv = e.target.dataset.iv; if (iv) choose(state.sym, iv); });
window.addEventListener("hashchange", () => {
  const s = decodeURIComponent(location.hash.slice(1));
  if (s && s !== state.sym) choose(s);
});
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
  if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
  const names = state.watch.map((w) => w[0]);
  const i = names.indexOf(state.sym) + (e.key === "ArrowDown" ? 1 : -1);
  if (i >= 0 && i < names.length) { e.preventDefault(); choose(names[i]); }
});

state.dirty = false;
connect();
