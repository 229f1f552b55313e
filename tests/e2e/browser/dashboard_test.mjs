// The dashboard in a real browser: Debian's headless Chromium, driven with puppeteer-core,
// against the real dnslb with a zone whose third origin is named like an HTML injection.
// usage: node dashboard_test.mjs DNSLB GEODB SOURCE_ROOT SCREENSHOT_DIR   (exit 77: skipped)
import { spawn, execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import httpServer from "node:http";

const [dnslb, geodb, root, shots] = process.argv.slice(2);
const chromium = "/usr/bin/chromium";
let puppeteer;
try {
  puppeteer = createRequire(path.join(root, "package.json"))("puppeteer-core");
} catch {
  console.log("SKIP: puppeteer-core is not installed (tools/setup runs npm ci)");
  process.exit(77);
}
if (!fs.existsSync(chromium)) {
  console.log("SKIP: no " + chromium);
  process.exit(77);
}
const XSS = "<img src=x onerror=alert(1)>";
const failures = [];
const check = (ok, what) => { console.log((ok ? "ok   " : "FAIL ") + what); if (!ok) failures.push(what); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Real HTTP origins on 127.0.0.11-13, checked by an http monitor every second.
const originPort = 30000 + Math.floor(Math.random() * 20000);
const origins = {};
for (const [name, ip] of [["fra", "127.0.0.11"], ["syd", "127.0.0.12"], ["xss", "127.0.0.13"]]) {
  origins[name] = httpServer.createServer((req, res) => res.end("ok")).listen(originPort, ip);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dnslb-dash-"));
fs.mkdirSync(path.join(dir, "zones"));
fs.writeFileSync(path.join(dir, "zones", "dash.test.json"), JSON.stringify({
  origin: "dash.test.", ttl: 60,
  soa: { mname: "ns1", rname: "h", serial: 1, refresh: 3600, retry: 600, expire: 1209600, minimum: 60 },
  records: { "@": { NS: ["ns1"] }, ns1: { A: ["192.0.2.53"] }, app: { pool: "web" } },
  pools: { web: { steering: "proximity", monitor: "http", origins: {
    fra: { addresses: ["127.0.0.11"], lat: 50.11, lon: 8.68 },
    syd: { addresses: ["127.0.0.12"], lat: -33.87, lon: 151.21 },
    [XSS]: { addresses: ["127.0.0.13"], lat: 38.95, lon: -77.45 } } } },
  monitors: { http: { type: "http", port: originPort, path: "/", interval: 1, timeout: "500ms", rise: 1, fall: 1 } },
}));
const port = 20000 + Math.floor(Math.random() * 20000);
const http = port + 1;
fs.writeFileSync(path.join(dir, "dnslb.json"), JSON.stringify({
  listen: ["127.0.0.1:" + port], workers: 1, zones: path.join(dir, "zones"), geoip: [geodb],
  http: "127.0.0.1:" + http, api_token: "secret-token",
}));
const server = spawn(dnslb, ["serve", "--config", path.join(dir, "dnslb.json")], { stdio: "inherit" });
const base = "http://127.0.0.1:" + http;
// Asynchronous, so that the origin servers of this process keep answering their checks.
const dig = async (subnet) => (await promisify(execFile)("dig", ["@127.0.0.1", "-p", String(port),
  "app.dash.test", "A", "+subnet=" + subnet, "+short", "+time=2", "+tries=2"])).stdout.trim();
async function metrics() {
  const text = await (await fetch(base + "/metrics")).text();
  const out = {};
  for (const m of text.matchAll(/^dnslb_demand_answers_total\{[^}]*origin="((?:[^"\\]|\\.)*)"[^}]*\} (\d+)$/gm)) {
    const name = m[1].replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    out[name] = (out[name] || 0) + Number(m[2]);
  }
  return out;
}
let browser;
try {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(base + "/status")).ok) break; } catch { /* not up yet */ }
    await sleep(100);
  }
  // Every origin up before the askers come.
  for (let i = 0; i < 100; i++) {
    const st = await (await fetch(base + "/status")).json();
    if (st.pools.every((p) => p.origins.every((o) => o.state === "up"))) break;
    await sleep(100);
  }
  // Askers: Frankfurt and Berlin (EU), Sydney (OC), Ashburn and San Jose (NA).
  const asked = { "5.9.0.0/24": 3, "5.9.77.0/24": 2, "1.1.1.0/24": 4, "3.80.0.0/24": 5, "13.56.0.0/24": 1 };
  for (const [subnet, n] of Object.entries(asked)) for (let i = 0; i < n; i++) await dig(subnet);
  let m = {};
  for (let i = 0; i < 50 && Object.values(m).reduce((a, b) => a + b, 0) < 15; i++) { await sleep(200); m = await metrics(); }
  check(m.fra === 5 && m.syd === 4 && m[XSS] === 6, "metrics count the answers per origin: " + JSON.stringify(m));

  browser = await puppeteer.launch({ executablePath: chromium, headless: "new",
    args: ["--no-sandbox", "--disable-gpu", "--window-size=1280,1600"] });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1600 });
  let dialogs = 0;
  page.on("dialog", async (d) => { dialogs++; await d.dismiss(); });
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
  await page.goto(base + "/", { waitUntil: "networkidle0" });
  await page.waitForSelector("#origins tbody tr[data-origin]");
  await page.waitForSelector("#map .origin");
  const rows = await page.$$eval("#origins tbody tr", (trs) => trs.map((tr) => ({
    name: tr.getAttribute("data-origin"), answers: Number(tr.querySelector(".answers").textContent),
    share: tr.querySelector(".share").textContent })));
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  check(rows.length === 3, "the table lists the three origins");
  check(byName.fra && byName.fra.answers === m.fra && byName.syd.answers === m.syd &&
        byName[XSS] && byName[XSS].answers === m[XSS], "table answers match /metrics");
  check(byName.syd && byName.syd.share === (100 * m.syd / 15).toFixed(1) + "%", "share of syd: " + (byName.syd || {}).share);
  const markers = await page.$$eval("#map .origin", (cs) => cs.map((c) => ({ name: c.getAttribute("data-origin"), r: Number(c.getAttribute("r")) })));
  const r = Object.fromEntries(markers.map((x) => [x.name, x.r]));
  check(markers.length === 3 && r[XSS] > r.fra && r.fra > r.syd, "markers sized by share: " + JSON.stringify(r));
  check(await page.$$eval("#map .land", (p) => p.length) > 100, "country outlines drawn");
  const texts = await page.$$eval("#origins tbody td button", (bs) => bs.map((b) => b.textContent));
  check(texts.includes(XSS), "the injected origin name shows as text");
  check(await page.$$eval("img", (i) => i.length) === 0 && dialogs === 0, "no element or script from the origin name");
  check(external.length === 0, "no request to another host: " + external.join(" "));
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, "dashboard.png"), fullPage: true });

  // Override without the token: refused; with it, syd goes down and Sydney moves.
  await page.click('#origins tbody tr[data-origin="syd"] button');
  await page.waitForSelector('[data-override="down"]');
  await page.click('[data-override="down"]');
  await page.waitForFunction(() => /refused: HTTP 401/.test(document.getElementById("override-result").textContent));
  check(await dig("1.1.1.0/24") === "127.0.0.12", "without the token, Sydney still gets syd");
  await page.type("#token", "secret-token");
  await page.click('[data-override="down"]');
  await page.waitForFunction(() => /done/.test(document.getElementById("override-result").textContent), { timeout: 5000 }).catch(() => {});
  let moved = "";
  for (let i = 0; i < 30 && (moved === "" || moved === "127.0.0.12"); i++) { moved = await dig("1.1.1.0/24"); await sleep(100); }
  check(moved !== "127.0.0.12", "with the token, the override moves Sydney's answers to " + moved);
  await page.waitForFunction(() => { const tr = document.querySelector('#origins tr[data-origin="syd"] td:nth-child(2)'); return tr && tr.textContent === "down"; }, { timeout: 15000 }).catch(() => {});
  check(await page.$eval('#origins tr[data-origin="syd"] td:nth-child(2)', (td) => td.textContent) === "down", "syd is shown down");
  await page.click('[data-override="auto"]');

  // A stopped origin server turns its marker red within the health bound (1 s checks, fall 1,
  // 5 s page refresh).
  await new Promise((r) => origins.fra.close(r));
  await page.waitForFunction(() => { const c = document.querySelector('#map .origin[data-origin="fra"]'); return c && c.classList.contains("down"); }, { timeout: 15000 }).catch(() => {});
  check(await page.$eval('#map .origin[data-origin="fra"]', (c) => c.classList.contains("down")), "fra's marker turns down after its server stops");

  // The planner: an origin in Tokyo changes nothing for Europe; one in Frankfurt's place of
  // Berlin moves Berlin's 2 of EU's 5 queries.
  await page.$eval("#plan-lat", (e) => { e.value = "52.52"; });
  await page.$eval("#plan-lon", (e) => { e.value = "13.40"; });
  await page.$eval("#plan-name", (e) => { e.value = "ber"; });
  await page.click('#plan-form button[type="submit"]');
  await page.waitForFunction(() => /ber/.test(document.getElementById("plan-list").textContent));
  await page.waitForFunction(() => { const tr = document.querySelector('#plan tr[data-continent="EU"]'); return tr && tr.lastChild.textContent === "40.0%"; }, { timeout: 5000 }).catch(() => {});
  const eu = await page.$eval('#plan tr[data-continent="EU"]', (tr) => [...tr.children].map((td) => td.textContent));
  check(eu[1] === "5" && eu[8] === "40.0%" && eu[5] === eu[5], "planner: EU 5 queries, 40.0% change origin: " + eu.join(" | "));
  await page.screenshot({ path: path.join(shots, "dashboard-plan.png"), fullPage: true });
} catch (e) {
  check(false, "error: " + e.stack);
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
  for (const o of Object.values(origins)) o.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(failures.length ? 1 : 0);
