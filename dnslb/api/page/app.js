// The dnslb dashboard. Every text from the server goes in through textContent or an SVG
// attribute, never as markup; requests carry the token in the Authorization header only.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                   "#bcbd22", "#7f7f7f", "#2ca02c", "#d62728"];
  const state = { status: null, demand: null, pool: null, selected: null, plan: { add: [], remove: [] } };
  const width = 960, height = 480;
  const haveMap = !window.dnslbMapMissing && window.d3 && window.topojson && window.dnslbWorld;
  const projection = haveMap ? d3.geoEqualEarth().fitSize([width, height], { type: "Sphere" }) : null;

  function el(tag, attrs, text) {
    const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function headers(json) {
    const h = {};
    const t = $("token").value;
    if (t) h.Authorization = "Bearer " + t;
    if (json) h["Content-Type"] = "application/json";
    return h;
  }
  async function get(path) {
    const r = await fetch(path, { headers: headers(false), cache: "no-store" });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }
  function say(text) { $("status").textContent = text; }
  function fmt(n, d) { return Number(n).toFixed(d || 0); }

  function pools() { return state.status ? state.status.pools.filter((p) => p.origins.some((o) => "lat" in o)) : []; }
  function currentPool() {
    return pools().find((p) => p.zone + "/" + p.name === state.pool) || pools()[0];
  }
  function answersOf(pool) {
    const out = {};
    for (const o of (state.demand ? state.demand.origins : [])) {
      if (o.zone === pool.zone && o.pool === pool.name) out[o.origin] = o;
    }
    return out;
  }
  function colourOf(pool, name) {
    const i = pool.origins.findIndex((o) => o.name === name);
    return COLOURS[(i < 0 ? 0 : i) % COLOURS.length];
  }

  function drawMap(pool) {
    const svg = $("map");
    clear(svg);
    if (!haveMap) {
      svg.appendChild(el("svg:text", { x: 20, y: 40 }, "Map libraries not built in (run tools/setup, then rebuild)."));
      return;
    }
    const path = d3.geoPath(projection);
    svg.appendChild(el("svg:path", { class: "sphere", d: path({ type: "Sphere" }) }));
    const land = topojson.feature(dnslbWorld, dnslbWorld.objects.countries);
    for (const f of land.features) {
      const p = el("svg:path", { class: "land", d: path(f) || "" });
      p.appendChild(el("svg:title", {}, f.properties && f.properties.name ? f.properties.name : ""));
      svg.appendChild(p);
    }
    if (!pool) return;
    for (const n of (state.demand ? state.demand.networks : [])) {
      if (n.zone !== pool.zone || n.pool !== pool.name || !("lat" in n)) continue;
      const [x, y] = projection([n.lon, n.lat]);
      const c = el("svg:circle", { cx: x, cy: y, r: 2 + Math.min(6, Math.log2(1 + n.queries)),
                                    fill: colourOf(pool, n.origin), "fill-opacity": 0.6, class: "asker" });
      c.appendChild(el("svg:title", {}, n.net + " (" + n.country + "): " + n.queries + " queries to " + n.origin));
      svg.appendChild(c);
    }
    const answers = answersOf(pool);
    const total = Object.values(answers).reduce((s, o) => s + o.answers, 0);
    for (const o of pool.origins) {
      if (!("lat" in o)) continue;
      const [x, y] = projection([o.lon, o.lat]);
      const share = total ? (answers[o.name] ? answers[o.name].answers : 0) / total : 0;
      const cls = o.state === "down" ? "down" : (o.state === "up" ? "up" : "unknown");
      const m = el("svg:circle", { cx: x, cy: y, r: 6 + 18 * Math.sqrt(share), class: "origin " + cls,
                                    tabindex: 0, role: "button", "data-origin": o.name,
                                    "aria-label": o.name + ", " + o.state + ", " + fmt(100 * share, 1) + "% of answers" });
      m.appendChild(el("svg:title", {}, o.name + ": " + o.state + ", " + fmt(100 * share, 1) + "%"));
      const choose = (ev) => { ev.stopPropagation(); state.selected = o.name; render(); };
      m.addEventListener("click", choose);
      m.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); choose(ev); } });
      svg.appendChild(m);
      svg.appendChild(el("svg:text", { x: x + 10, y: y - 8, "font-size": 12 }, o.name));
    }
    for (const a of state.plan.add) {
      const [x, y] = projection([a.lon, a.lat]);
      svg.appendChild(el("svg:circle", { cx: x, cy: y, r: 9, class: "planned" }));
      svg.appendChild(el("svg:text", { x: x + 10, y: y + 14, "font-size": 12 }, a.name + " (planned)"));
    }
  }

  function drawOrigins(pool) {
    const body = $("origins").tBodies[0];
    clear(body);
    if (!pool) return;
    const answers = answersOf(pool);
    const total = Object.values(answers).reduce((s, o) => s + o.answers, 0);
    const hist = state.demand ? state.demand.history : [];
    const last = hist.length ? hist[hist.length - 1].answers : {};
    for (const o of pool.origins) {
      const n = answers[o.name] ? answers[o.name].answers : 0;
      const tr = el("tr", { "data-origin": o.name });
      const name = el("td");
      const b = el("button", { type: "button" }, o.name);
      b.addEventListener("click", () => { state.selected = o.name; render(); });
      name.appendChild(b);
      tr.appendChild(name);
      tr.appendChild(el("td", { class: "state-" + o.state }, o.state));
      tr.appendChild(el("td", { class: "answers" }, n));
      tr.appendChild(el("td", { class: "share" }, total ? fmt(100 * n / total, 1) + "%" : "-"));
      tr.appendChild(el("td", {}, "lat" in o ? o.lat : "-"));
      tr.appendChild(el("td", {}, "lon" in o ? o.lon : "-"));
      tr.appendChild(el("td", {}, last[pool.zone + "/" + pool.name + "/" + o.name] || 0));
      body.appendChild(tr);
    }
  }

  function drawDetails(pool) {
    const box = $("details");
    clear(box);
    box.appendChild(el("h2", {}, "Origin"));
    const o = pool && pool.origins.find((x) => x.name === state.selected);
    if (!o) { box.appendChild(el("p", { class: "muted" }, "Select an origin on the map or in the table.")); return; }
    box.appendChild(el("h3", {}, o.name + " (" + o.state + ")"));
    const t = el("table");
    const head = el("tr");
    for (const h of ["address", "state", "last error", "rtt ms"]) head.appendChild(el("th", {}, h));
    t.appendChild(head);
    for (const a of o.addresses || []) {
      const tr = el("tr");
      tr.appendChild(el("td", {}, a.address));
      tr.appendChild(el("td", {}, a.state + (a.override ? " (override " + a.override + ")" : "")));
      tr.appendChild(el("td", {}, a.last_error || a.error || "-"));
      tr.appendChild(el("td", {}, a.rtt_ms !== undefined ? a.rtt_ms : "-"));
      t.appendChild(tr);
    }
    box.appendChild(t);
    const p = el("p");
    for (const s of ["up", "down", "auto"]) {
      const b = el("button", { type: "button", "data-override": s }, "Override " + s);
      b.addEventListener("click", () => override(pool, o.name, s));
      p.appendChild(b);
    }
    box.appendChild(p);
    box.appendChild(el("p", { id: "override-result", role: "status" }, state.overrideResult || ""));
  }

  async function override(pool, origin, s) {
    const url = "/origins/" + encodeURIComponent(pool.name) + "/" + encodeURIComponent(origin) +
                "/override?zone=" + encodeURIComponent(pool.zone);
    const r = await fetch(url, { method: "POST", headers: headers(false), body: s });
    state.overrideResult = r.ok ? "override " + s + ": done" : "refused: HTTP " + r.status + " " + (await r.text()).trim();
    const out = $("override-result");
    if (out) out.textContent = state.overrideResult;
    refresh();
  }

  function drawRates(pool) {
    const svg = $("rates");
    clear(svg);
    const hist = state.demand ? state.demand.history : [];
    if (!pool || hist.length === 0) { svg.appendChild(el("svg:text", { x: 10, y: 20 }, "No history yet (one point per 10 s).")); return; }
    let top = 1;
    for (const b of hist) for (const v of Object.values(b.answers)) top = Math.max(top, v);
    const x = (i) => 40 + (900 * i) / Math.max(1, hist.length - 1);
    const y = (v) => 150 - (130 * v) / top;
    svg.appendChild(el("svg:text", { x: 0, y: 20, "font-size": 10 }, top));
    pool.origins.forEach((o) => {
      const key = pool.zone + "/" + pool.name + "/" + o.name;
      const pts = hist.map((b, i) => x(i) + "," + y(b.answers[key] || 0)).join(" ");
      const line = el("svg:polyline", { points: pts, fill: "none", stroke: colourOf(pool, o.name), "stroke-width": 2 });
      line.appendChild(el("svg:title", {}, o.name));
      svg.appendChild(line);
    });
  }

  async function drawPlan(pool) {
    const body = $("plan").tBodies[0];
    const cont = $("continents").tBodies[0];
    if (!pool) return;
    const req = { zone: pool.zone, pool: pool.name, add: state.plan.add, remove: state.plan.remove };
    let res;
    try {
      const r = await fetch("/plan", { method: "POST", headers: headers(true), body: JSON.stringify(req) });
      if (!r.ok) throw new Error("HTTP " + r.status);
      res = await r.json();
    } catch (e) { say("plan: " + e.message); return; }
    clear(body); clear(cont);
    for (const w of res.rows) {
      const tr = el("tr", { "data-continent": w.continent });
      for (const v of [w.continent, w.queries, fmt(w.median_before_km), fmt(w.median_after_km), fmt(w.p90_before_km),
                       fmt(w.p90_after_km), fmt(w.median_before_rtt_ms, 1), fmt(w.median_after_rtt_ms, 1),
                       fmt(100 * w.changed_share, 1) + "%"]) tr.appendChild(el("td", {}, v));
      body.appendChild(tr);
      const tc = el("tr", { "data-continent": w.continent });
      for (const v of [w.continent, w.queries, fmt(w.median_before_km), fmt(w.p90_before_km),
                       fmt(w.median_before_rtt_ms, 1), fmt(w.p90_before_rtt_ms, 1)]) tc.appendChild(el("td", {}, v));
      cont.appendChild(tc);
    }
    const parts = state.plan.add.map((a) => "+" + a.name + " (" + a.lat + ", " + a.lon + ")")
      .concat(state.plan.remove.map((n) => "-" + n));
    $("plan-list").textContent = parts.length ? "Plan: " + parts.join(", ") : "No change planned: before and after are the same.";
  }

  function fillPools() {
    const sel = $("pool");
    const keep = state.pool;
    clear(sel);
    for (const p of pools()) sel.appendChild(el("option", { value: p.zone + "/" + p.name }, p.name + " (" + p.zone + ")"));
    if (keep) sel.value = keep;
    state.pool = sel.value;
    const rm = $("plan-remove");
    const keepRm = rm.value;
    clear(rm);
    rm.appendChild(el("option", { value: "" }, "(none)"));
    const pool = currentPool();
    for (const o of pool ? pool.origins : []) rm.appendChild(el("option", { value: o.name }, o.name));
    rm.value = keepRm;
  }

  function render() {
    const pool = currentPool();
    drawMap(pool); drawOrigins(pool); drawDetails(pool); drawRates(pool); drawPlan(pool);
  }

  async function refresh() {
    try {
      const [status, demand] = await Promise.all([get("/status"), get("/demand").catch(() => null)]);
      state.status = status; state.demand = demand;
      fillPools();
      render();
      say("updated " + new Date().toLocaleTimeString());
    } catch (e) { say(e.message); }
  }

  $("pool").addEventListener("change", () => { state.pool = $("pool").value; state.plan = { add: [], remove: [] }; fillPools(); render(); });
  $("token").addEventListener("change", refresh);
  $("map").addEventListener("click", (ev) => {
    if (!haveMap) return;
    const svg = $("map");
    const pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
    const p = pt.matrixTransform(svg.getScreenCTM().inverse());
    const ll = projection.invert([p.x, p.y]);
    if (!ll || isNaN(ll[0])) return;
    $("plan-lat").value = ll[1].toFixed(2); $("plan-lon").value = ll[0].toFixed(2);
    $("plan-name").focus();
  });
  $("plan-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = $("plan-name").value.trim();
    const lat = Number($("plan-lat").value), lon = Number($("plan-lon").value);
    if (name && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) state.plan.add.push({ name, lat, lon });
    render();
  });
  $("plan-remove").addEventListener("change", () => {
    const v = $("plan-remove").value;
    if (v && !state.plan.remove.includes(v)) state.plan.remove.push(v);
    render();
  });
  $("plan-clear").addEventListener("click", () => { state.plan = { add: [], remove: [] }; $("plan-remove").value = ""; render(); });
  refresh();
  setInterval(refresh, 5000);
})();
