// Test scaffolding: a real `harmont-auth serve` on a temp SQLite database, the
// real `harmont` CLI, Debian's chromium through playwright-core, and a
// WebAuthn virtual authenticator per page.
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, existsSync, mkdirSync, chmodSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "..");
const TARGET = resolve(repo, process.env.CARGO_TARGET_DIR || "target");
export const SERVER_BIN = process.env.HARMONT_AUTH_BIN || join(TARGET, "debug/harmont-auth");
export const CLI_BIN = process.env.HARMONT_CLI_BIN || join(TARGET, "debug/harmont");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const SCREENSHOTS = join(here, "screenshots");

const run = promisify(execFile);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns `command` and waits for the line of `stream` ("stdout" or
 * "stderr") that `pattern` matches, which announces where it listens: the
 * way to start a server on port 0, so that no test picks a "free" port that
 * someone else may take before the server binds it (the Rust tests do the
 * same through harmont-testkit). Resolves with `{ child, match, output }`,
 * where `output()` is everything that stream said so far; fails with that
 * output if the process exits first or says nothing within `ms`. `echo`
 * copies the stream's warnings and errors (and any line that is not a log
 * line) to this process's stderr as they come; `other` is what
 * becomes of the other stream ("inherit" or "ignore").
 */
export function spawnAnnounced(command, args, { env, stream = "stderr", pattern, what, echo = false, ms = 60000, other = "inherit" }) {
  const child = spawn(command, args, {
    env, stdio: ["ignore", stream === "stdout" ? "pipe" : other, stream === "stderr" ? "pipe" : other],
  });
  let output = "";
  let pending = "";
  let announced = false;
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`gave up after ${ms} ms waiting for ${what}:\n${output}`)), ms);
    const onExit = (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${command} exited (${signal || code}) before ${what}:\n${output}`));
    };
    child.once("exit", onExit);
    child.once("error", onExit);
    // Read to the end, so that a full pipe never blocks the process.
    child[stream].on("data", (chunk) => {
      output += chunk;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) {
        if (echo && !QUIET.test(line)) process.stderr.write(`${line}\n`);
        const match = !announced && line.match(pattern);
        if (match) {
          announced = true;
          clearTimeout(timer);
          child.off("exit", onExit);
          child.off("error", onExit);
          ok({ child, match, output: () => output });
        }
      }
    });
  });
}

/** Log lines below warnings (the announcement among them), which `echo` leaves out. */
const QUIET = /^\S+\s+(INFO|DEBUG|TRACE) /;

/** SIGTERM, then the exit; fails if `child` is still running after `ms`. */
export async function terminate(child, ms = 60000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((ok) => child.once("exit", ok));
  child.kill("SIGTERM");
  let timer;
  const late = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${child.spawnfile} still running ${ms} ms after SIGTERM`)), ms);
  });
  try {
    await Promise.race([exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a truthy value, or fails after `ms`. */
export async function eventually(check, what, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The address in harmont-auth's "harmont-auth listening addr=HOST:PORT" log line (text format). */
export const LISTENING = /harmont-auth listening addr=127\.0\.0\.1:(\d+)/;

/**
 * `harmont-auth serve` on 127.0.0.1 with its defaults, as a fresh install
 * runs: the public URL is http://127.0.0.1:PORT, so the pages live at
 * http://localhost:PORT (browsers refuse an IP as a passkey's relying party).
 * It listens on port 0 and says which port it got in its log. `extraArgs`
 * go to `serve` as they are.
 */
export async function startServer(extraArgs = [], { captureLog = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "harmont-web-"));
  const database = `sqlite://${dir}/harmont.db`;
  const { child, match, output } = await spawnAnnounced(
    SERVER_BIN, ["serve", "--listen", "127.0.0.1:0", "--database", database, ...extraArgs], {
      // The audit trail ignores HARMONT_LOG: keep it in a file, out of the test output.
      env: {
        ...process.env, HARMONT_LOG: captureLog ? "trace" : "warn,harmont_auth=info",
        HARMONT_AUDIT_LOG: join(dir, "audit.log"),
      },
      pattern: LISTENING, what: "harmont-auth to log where it listens", echo: !captureLog,
    });
  const port = Number(match[1]);
  const api = `http://127.0.0.1:${port}`;
  const web = `http://localhost:${port}`;
  const admin = async (...args) => {
    const { stdout } = await run(SERVER_BIN, [...args, "--database", database, "--public-url", api]);
    return stdout.trim();
  };
  return {
    dir, port, api, web, database, admin,
    /** Everything the server logged (at trace), with `captureLog`. */
    log: () => (captureLog ? output() : ""),
    /** A new user; returns [email, enrollment link]. */
    async addUser(name = "Ada Lovelace") {
      const email = `user-${Math.random().toString(36).slice(2, 10)}@example.com`;
      return [email, await admin("user", "add", email, "--name", name)];
    },
    /** A session token for an existing user, as `harmont-auth token mint` makes them (a CLI session). */
    async mintToken(email) {
      const { stdout } = await run(SERVER_BIN, ["token", "mint", email, "--database", database]);
      return stdout.trim();
    },
    /** Makes every stored login link expired, as 24 hours passing would. */
    async expireLinks() {
      await run("python3", ["-c",
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE login_links SET expires_at = 0'); c.commit()",
        join(dir, "harmont.db")]);
    },
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** harmont-auth's single sign-on callback, which the provider lets it come back to on any localhost port. */
export const OIDC_CALLBACK = "/api/v0/auth/sso/oidc/callback";

/**
 * A real OpenID Provider (oidc-provider.js: the `oidc-provider` package) on
 * port 0 (or `port`, to come back where it was), whose client may come back
 * to OIDC_CALLBACK on any http://localhost port (the servers it serves are
 * on port 0 too, and start after it). Options: `idTokenClaims` puts the
 * email claims in the ID token too.
 */
export async function startOidcProvider({ idTokenClaims = false, port = 0, clientSecret: secret } = {}) {
  const clientSecret = secret || `secret-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const { child, match } = await spawnAnnounced(process.execPath, [join(here, "oidc-provider.js")], {
    env: {
      ...process.env, PORT: String(port), CLIENT_ID: "harmont", CLIENT_SECRET: clientSecret,
      LOCALHOST_REDIRECT_PATH: OIDC_CALLBACK, ID_TOKEN_CLAIMS: idTokenClaims ? "1" : "",
    },
    stream: "stdout", other: "ignore", pattern: /oidc-provider listening on (http:\/\/127\.0\.0\.1:(\d+))/, what: "oidc-provider to listen",
  });
  const issuer = match[1];
  return {
    issuer, clientSecret, port: Number(match[2]),
    /** `serve` flags for this provider. */
    args: (signup = "invite", name = "Test IdP") => [
      "--oidc-issuer", issuer, "--oidc-client-id", "harmont", "--oidc-client-secret", clientSecret,
      "--oidc-name", name, "--signup", signup,
    ],
    async stop() {
      await terminate(child);
    },
  };
}

/**
 * A LOCAL STAND-IN FOR GITHUB (github-standin.js): GitHub's documented
 * OAuth and REST endpoints, as GitHub Enterprise Server lays them out.
 */
export async function startGithubStandIn() {
  const clientSecret = `ghsecret-${Math.random().toString(36).slice(2)}`;
  const { child, match } = await spawnAnnounced(process.execPath, [join(here, "github-standin.js")], {
    env: { ...process.env, PORT: "0", CLIENT_ID: "Iv1.harmont", CLIENT_SECRET: clientSecret },
    stream: "stdout", pattern: /github stand-in listening on (http:\/\/127\.0\.0\.1:\d+)/,
    what: "the GitHub stand-in to listen",
  });
  const url = match[1];
  return {
    url, clientSecret,
    args: () => ["--github-url", url, "--github-client-id", "Iv1.harmont", "--github-client-secret", clientSecret],
    async stop() {
      await terminate(child);
    },
  };
}

/**
 * A real SMTP server: aiosmtpd from the repo's .venv-mail/ (scripts/test.sh
 * makes it), on port 0 (scripts/mail/smtp_server.py says which port it got),
 * keeping what it receives in a Maildir.
 */
export async function startSmtp() {
  const python = process.env.HARMONT_TEST_AIOSMTPD_PYTHON || join(repo, ".venv-mail/bin/python");
  if (!existsSync(python)) throw new Error(`no aiosmtpd at ${python}: run scripts/test.sh (it makes .venv-mail/)`);
  const dir = mkdtempSync(join(tmpdir(), "harmont-smtp-"));
  const { child, match } = await spawnAnnounced(python, [join(repo, "scripts/mail/smtp_server.py"), join(dir, "mail")], {
    env: process.env, stream: "stdout", pattern: /aiosmtpd listening on (127\.0\.0\.1:\d+)/, what: "aiosmtpd to listen",
  });
  const mails = () => {
    const folder = join(dir, "mail/new");
    if (!existsSync(folder)) return [];
    return readdirSync(folder).map((name) => readFileSync(join(folder, name), "utf8").replace(/\r\n/g, "\n"));
  };
  return {
    url: `smtp://${match[1]}`,
    mails,
    /** The first mail to `to`, once it has arrived. */
    mailTo: (to) => eventually(() => mails().find((m) => m.includes(`To: ${to}`)), `a mail to ${to}`),
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
}

/**
 * A fresh browser context and page with a platform authenticator that holds
 * discoverable credentials and verifies the user without a prompt.
 * Collects console errors (CSP violations among them).
 */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 820, height: 900 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  const problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/Failed to load resource/.test(msg.text())) problems.push(msg.text());
  });
  page.on("pageerror", (err) => problems.push(String(err)));
  return {
    context, page, cdp, problems,
    credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
    close: () => context.close(),
  };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** A home for one CLI: its config folder and a $BROWSER that records URLs. */
export function cliHome(server) {
  const dir = mkdtempSync(join(tmpdir(), "harmont-cli-"));
  const log = join(dir, "opened.log");
  const browser = join(dir, "browser.sh");
  writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${log}'\n`);
  chmodSync(browser, 0o755);
  const env = {
    PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, "config"),
    HARMONT_API_URL: server.api, BROWSER: browser,
  };
  return {
    dir, env,
    /** The URL the CLI "opened", once it has. */
    opened: () => eventually(() => existsSync(log) && readFileSync(log, "utf8").split("\n")[0], "the CLI to open a page"),
    /** Starts `harmont ARGS`, collecting its output. */
    start(args) {
      const child = spawn(CLI_BIN, args, { env, stdio: ["pipe", "pipe", "pipe"] });
      const out = { stdout: "", stderr: "", code: null };
      child.stdout.on("data", (d) => (out.stdout += d));
      child.stderr.on("data", (d) => (out.stderr += d));
      out.exited = new Promise((r) => child.once("exit", (code) => r((out.code = code))));
      out.child = child;
      return out;
    },
    /** Runs `harmont ARGS` to the end. */
    async run(args) {
      const started = this.start(args);
      started.child.stdin.end();
      await started.exited;
      return started;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Signs a fresh page in through an enrollment link and creates its passkey. */
export async function enrolledPage(browser, server, name) {
  const [email, link] = await server.addUser(name);
  const tab = await newPage(browser);
  await tab.page.goto(link);
  await tab.page.getByRole("button", { name: "Create a passkey" }).click();
  await tab.page.waitForURL(`${server.web}/settings`);
  await tab.page.getByText(email).waitFor();
  return { ...tab, email };
}
