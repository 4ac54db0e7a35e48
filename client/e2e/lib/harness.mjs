// Shared pieces of the end-to-end tests: the real server and bot binaries,
// a real (Debian) Chromium driven by playwright-core, and the checks every
// test makes (no console errors, a screenshot).
//
// Environment:
//   SKIRMISH_BIN  server binary (default ../../bin/skirmish from client/e2e)
//   BOTS_BIN      bot runner (default ../../bin/bots)
//   CHROMIUM_BIN  browser (default /usr/bin/chromium); never downloaded
//   E2E_HEADED=1  show the browser (needs a display)
//   E2E_VERBOSE=1 echo the server's and bots' output

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, createWriteStream, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = resolve(here, "..");
export const SCREENSHOTS = join(E2E_DIR, "screenshots");
export const SKIRMISH_BIN = resolve(E2E_DIR, process.env.SKIRMISH_BIN || "../../bin/skirmish");
export const BOTS_BIN = resolve(E2E_DIR, process.env.BOTS_BIN || "../../bin/bots");
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const VERBOSE = process.env.E2E_VERBOSE === "1";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Everything started by this test file, stopped by cleanup() (and, as a
// last resort, when the process exits).
const children = new Set();
const cleanups = [];

process.on("exit", () => {
  for (const c of children) {
    try { c.kill("SIGKILL"); } catch { /* gone */ }
  }
});

/** A free TCP port on 127.0.0.1 (listen on port 0, close). */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

const opened = new Set();
/** A log file under screenshots/, emptied when this test file first opens it. */
function logFile(name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const flags = opened.has(name) ? "a" : "w";
  opened.add(name);
  return createWriteStream(join(SCREENSHOTS, name), { flags });
}

/** Starts a child process, its output teed to a log file under screenshots/. */
function startChild(bin, args, logName) {
  if (!existsSync(bin)) throw new Error(`${bin} not found: run \`make build\` (or set SKIRMISH_BIN / BOTS_BIN)`);
  const log = logFile(logName);
  log.write(`\n$ ${bin} ${args.join(" ")}\n`);
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.add(proc);
  const exited = new Promise((res) => proc.on("exit", (code, signal) => {
    children.delete(proc);
    res({ code, signal });
  }));
  let tail = "";
  const onData = (d) => {
    log.write(d);
    tail = (tail + d.toString()).slice(-4000);
    if (VERBOSE) process.stderr.write(d);
  };
  proc.stdout.on("data", onData);
  proc.stderr.on("data", onData);
  exited.then(() => log.end());
  return {
    proc,
    exited,
    get tail() { return tail; },
    get running() { return proc.exitCode === null && proc.signalCode === null; },
    async stop(signal = "SIGTERM", graceMs = 3000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const t = setTimeout(() => { try { proc.kill("SIGKILL"); } catch { /* gone */ } }, graceMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** Starts any helper process (e.g. redis-server), stopped at cleanup. */
export function startProcess(bin, args, logName) {
  const child = startChild(bin, args, logName);
  cleanups.push(() => child.stop());
  return child;
}

/** Waits until a TCP port on 127.0.0.1 accepts connections. */
export async function waitForPort(port, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const ok = await new Promise((res) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => { s.destroy(); res(true); });
      s.once("error", () => res(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/**
 * A TCP proxy on 127.0.0.1 in front of targetPort, to cut connections the
 * way a network does. cutUpstream() closes the server side of every open
 * connection and leaves the browser side open and silent (a half-open
 * connection: the server sees a drop, the page sees nothing at all); new
 * connections go through as usual.
 */
export async function startProxy(targetPort) {
  const pairs = new Set();
  const srv = net.createServer((down) => {
    const up = net.connect(targetPort, "127.0.0.1");
    const pair = { down, up };
    pairs.add(pair);
    down.pipe(up);
    up.pipe(down);
    const end = () => { pairs.delete(pair); down.destroy(); up.destroy(); };
    down.on("error", end);
    up.on("error", end);
    down.on("close", end);
    up.on("close", () => { if (!pair.held) end(); });
  });
  await new Promise((res, rej) => { srv.once("error", rej); srv.listen(0, "127.0.0.1", res); });
  const port = srv.address().port;
  const proxy = {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() { return pairs.size; },
    cutUpstream() {
      let n = 0;
      for (const pair of pairs) {
        if (pair.held) continue;
        pair.held = true;
        pair.down.unpipe(pair.up);
        pair.up.unpipe(pair.down);
        pair.down.pause();
        pair.down.removeAllListeners("data");
        pair.up.destroy();
        n++;
      }
      return n;
    },
    close() {
      for (const { down, up } of pairs) { down.destroy(); up.destroy(); }
      pairs.clear();
      return new Promise((res) => srv.close(() => res()));
    },
  };
  cleanups.push(() => proxy.close());
  return proxy;
}

/** Polls GET url until it answers 200 (or the time is up). */
export async function waitHealthy(base, timeoutMs = 10000, child = null) {
  const end = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < end) {
    if (child && !child.running) throw new Error(`server exited before it was healthy:\n${child.tail}`);
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err && err.cause ? err.cause.code || err.cause : err);
    }
    await sleep(50);
  }
  throw new Error(`server at ${base} not healthy after ${timeoutMs} ms (${last})`);
}

/**
 * Starts the server on 127.0.0.1 (a free port unless one is given) with
 * -fill-timeout 2s and extra args (an array, or a function of the port
 * that returns one), and waits for /healthz.
 */
export async function startServer({ name, args = [], port = 0 } = {}) {
  for (let attempt = 0; ; attempt++) {
    const p = port || await freePort();
    const extra = typeof args === "function" ? args(p) : args;
    const child = startChild(SKIRMISH_BIN,
      ["-addr", `127.0.0.1:${p}`, "-fill-timeout", "2s", ...extra], `${name}.server.log`);
    const url = `http://127.0.0.1:${p}`;
    try {
      await waitHealthy(url, 10000, child);
    } catch (err) {
      await child.stop("SIGKILL");
      // Someone took the port between our probe and the server's listen: try another.
      if (!port && attempt < 3 && /address already in use/.test(child.tail)) continue;
      throw err;
    }
    const server = { url, port: p, child, stop: (sig) => child.stop(sig) };
    cleanups.push(() => child.stop());
    return server;
  }
}

/** The redis-server binary, or null (run.sh installs it as root when missing). */
export function redisServerBin() {
  for (const p of ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]) if (existsSync(p)) return p;
  const r = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * Starts a throwaway redis-server on a free port of 127.0.0.1 (no
 * persistence, its files in a temporary directory) and waits until it
 * listens. Stopped at cleanup (or with stop()).
 */
export async function startRedis({ name } = {}) {
  const bin = redisServerBin();
  if (!bin) throw new Error("redis-server is not installed (run.sh installs it as root)");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "skirmish-e2e-redis-"));
  const child = startChild(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--dir", dir], `${name}.redis.log`);
  const stop = async () => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.push(stop);
  await waitForPort(port);
  return { port, addr: `127.0.0.1:${port}`, child, stop };
}

/**
 * Starts a fleet node: the server with -redis, -node-id id and -public-url
 * its own http://127.0.0.1:<port>, -fill-timeout 300ms, and extra args.
 * Its log is screenshots/<name>-<id>.server.log.
 */
export function startNode({ name, redis, id, args = [] }) {
  return startServer({
    name: `${name}-${id}`,
    args: (port) => ["-redis", redis.addr, "-node-id", id, "-public-url", `http://127.0.0.1:${port}`,
      "-fill-timeout", "300ms", ...args],
  });
}

/** GET url/v1/fleet: the live nodes as that node sees them ([] when it does not answer). */
export async function fleetNodes(url) {
  try {
    const res = await fetch(`${url}/v1/fleet`, { signal: AbortSignal.timeout(1000) });
    if (res.status !== 200) return [];
    const body = await res.json();
    return Array.isArray(body && body.nodes) ? body.nodes : [];
  } catch {
    return [];
  }
}

/** Waits until node url lists every one of ids as a live node (not draining). */
export async function waitForFleet(url, ids, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  let nodes = [];
  while (Date.now() < end) {
    nodes = await fleetNodes(url);
    if (ids.every((id) => nodes.some((n) => n.id === id && !n.draining))) return nodes;
    await sleep(100);
  }
  throw new Error(`${url}/v1/fleet does not list ${ids.join(", ")} after ${timeoutMs} ms: ${JSON.stringify(nodes)}`);
}

/** Starts the bot runner against url: -n n -duration … -behavior wander. */
export function startBots(url, { name, n = 7, duration = "60s", behavior = "wander", extra = [] } = {}) {
  const child = startChild(BOTS_BIN,
    ["-url", url, "-n", String(n), "-duration", duration, "-behavior", behavior, ...extra], `${name}.bots.log`);
  cleanups.push(() => child.stop("SIGINT"));
  return child;
}

/**
 * Launches Chromium with a fresh user-data-dir and returns its page, with
 * every console error and page error collected in `errors`.
 */
export async function launchBrowser({ name, viewport = { width: 1280, height: 800 } } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), "skirmish-e2e-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_BIN,
    headless: process.env.E2E_HEADED !== "1",
    args: CHROMIUM_ARGS,
    viewport,
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  const consoleLog = logFile(`${name}.console.log`);
  page.on("console", (msg) => {
    const line = `[${new Date().toISOString()}] ${msg.type()}: ${msg.text()}${msg.type() === "error" && msg.location() && msg.location().url ? ` (${msg.location().url})` : ""}`;
    consoleLog.write(line + "\n");
    if (msg.type() === "error") errors.push({ kind: "console", text: msg.text(), at: Date.now() });
  });
  page.on("pageerror", (err) => {
    consoleLog.write(`[${new Date().toISOString()}] pageerror: ${err && err.stack || err}\n`);
    errors.push({ kind: "pageerror", text: String(err && err.message || err), at: Date.now() });
  });
  const close = async () => {
    try { await context.close(); } catch { /* already closed */ }
    consoleLog.end();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  cleanups.push(close);
  return { context, page, errors, close };
}

/** Stops everything this file started, newest first; never throws. */
export async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try { await fn(); } catch { /* keep going */ }
  }
}

/** Saves screenshots/<name>.png (a failed screenshot does not fail the test). */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  try {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  } catch (err) {
    process.stderr.write(`screenshot ${name} failed: ${err}\n`);
  }
}

/** Reads window.skirmish (a copy). */
export function hook(page) {
  return page.evaluate(() => JSON.parse(JSON.stringify(window.skirmish)));
}

/**
 * Waits until fn(window.skirmish, arg) is truthy in the page; on timeout the
 * error names what was awaited and shows the hook's state.
 */
export async function waitForHook(page, what, fn, { timeout = 10000, arg } = {}) {
  try {
    await page.waitForFunction(
      ({ src, arg }) => (0, eval)(`(${src})`)(window.skirmish, arg),
      { src: fn.toString(), arg },
      { timeout, polling: 50 },
    );
  } catch (err) {
    let state = "";
    try {
      const h = await hook(page);
      state = JSON.stringify({ state: h.state, status: h.status, matchId: h.matchId, entityId: h.entityId,
        tick: h.tick, snapshots: h.snapshots, reconnects: h.reconnects, resumed: h.resumed,
        errors: h.errors, notice: h.notice, closeCode: h.closeCode });
    } catch { /* page gone */ }
    throw new Error(`timed out after ${timeout} ms waiting for ${what}; page: ${state}`);
  }
}

/** Opens the client of server with query parameters (autoplay by default). */
export async function openClient(page, server, query = "autoplay=1&name=e2e") {
  await page.goto(`${server.url}/?${query}`, { waitUntil: "load" });
  await page.waitForFunction(() => !!window.skirmish && !!window.skirmishDebug);
}

/** Console errors and page errors, as text, except those matching allow. */
export function unexpectedErrors(errors, allow = []) {
  return errors
    .filter((e) => !allow.some((re) => re.test(e.text)))
    .map((e) => `${e.kind}: ${e.text}`);
}
