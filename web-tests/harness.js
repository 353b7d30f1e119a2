// Test scaffolding: a real `harmont-auth serve` on a temp SQLite database, the
// real `harmont` CLI, Debian's chromium through playwright-core, and a
// WebAuthn virtual authenticator per page.
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, existsSync, mkdirSync, chmodSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
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

export async function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
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

/**
 * `harmont-auth serve` on 127.0.0.1 with its defaults, as a fresh install
 * runs: the public URL is http://127.0.0.1:PORT, so the pages live at
 * http://localhost:PORT (browsers refuse an IP as a passkey's relying party).
 * `extraArgs` go to `serve` as they are.
 */
export async function startServer(extraArgs = [], { port: chosen, captureLog = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "harmont-web-"));
  const port = chosen || await freePort();
  const database = `sqlite://${dir}/harmont.db`;
  const api = `http://127.0.0.1:${port}`;
  const web = `http://localhost:${port}`;
  const child = spawn(SERVER_BIN, ["serve", "--listen", `127.0.0.1:${port}`, "--database", database, ...extraArgs], {
    // The audit trail ignores HARMONT_LOG: keep it in a file, out of the test output.
    env: { ...process.env, HARMONT_LOG: captureLog ? "trace" : "warn", HARMONT_AUDIT_LOG: join(dir, "audit.log") },
    stdio: ["ignore", "ignore", captureLog ? "pipe" : "inherit"],
  });
  let log = "";
  if (captureLog) child.stderr.on("data", (d) => (log += d));
  await eventually(async () => {
    try {
      return (await fetch(`${api}/healthz`)).ok;
    } catch {
      return false;
    }
  }, "the server to answer /healthz");
  const admin = async (...args) => {
    const { stdout } = await run(SERVER_BIN, [...args, "--database", database, "--public-url", api]);
    return stdout.trim();
  };
  return {
    dir, port, api, web, database, admin,
    /** Everything the server logged (at trace), with `captureLog`. */
    log: () => log,
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
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A real OpenID Provider (oidc-provider.js: the `oidc-provider` package) on a
 * free port, for a client that may come back to `redirectUris`. Options:
 * `idTokenClaims` puts the email claims in the ID token too.
 */
export async function startOidcProvider(redirectUris, { idTokenClaims = false, port: chosen, clientSecret: secret } = {}) {
  const port = chosen || await freePort();
  const clientSecret = secret || `secret-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const child = spawn(process.execPath, [join(here, "oidc-provider.js")], {
    env: {
      ...process.env, PORT: String(port), CLIENT_ID: "harmont", CLIENT_SECRET: clientSecret,
      REDIRECT_URI: redirectUris.join(","), ID_TOKEN_CLAIMS: idTokenClaims ? "1" : "",
    },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const issuer = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    try {
      return (await fetch(`${issuer}/.well-known/openid-configuration`)).ok;
    } catch {
      return false;
    }
  }, "oidc-provider to answer");
  return {
    issuer, clientSecret, port, redirectUris,
    /** `serve` flags for this provider. */
    args: (signup = "invite", name = "Test IdP") => [
      "--oidc-issuer", issuer, "--oidc-client-id", "harmont", "--oidc-client-secret", clientSecret,
      "--oidc-name", name, "--signup", signup,
    ],
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/**
 * A LOCAL STAND-IN FOR GITHUB (github-standin.js): GitHub's documented
 * OAuth and REST endpoints, as GitHub Enterprise Server lays them out.
 */
export async function startGithubStandIn() {
  const port = await freePort();
  const clientSecret = `ghsecret-${Math.random().toString(36).slice(2)}`;
  const child = spawn(process.execPath, [join(here, "github-standin.js")], {
    env: { ...process.env, PORT: String(port), CLIENT_ID: "Iv1.harmont", CLIENT_SECRET: clientSecret },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    try {
      return (await fetch(`${url}/api/v3/user`)).status === 401;
    } catch {
      return false;
    }
  }, "the GitHub stand-in to answer");
  return {
    url, clientSecret,
    args: () => ["--github-url", url, "--github-client-id", "Iv1.harmont", "--github-client-secret", clientSecret],
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/**
 * A real SMTP server: aiosmtpd from the repo's .venv-mail/ (scripts/test.sh
 * makes it), on a free port, keeping what it receives in a Maildir.
 */
export async function startSmtp() {
  const python = process.env.HARMONT_TEST_AIOSMTPD_PYTHON || join(repo, ".venv-mail/bin/python");
  if (!existsSync(python)) throw new Error(`no aiosmtpd at ${python}: run scripts/test.sh (it makes .venv-mail/)`);
  const dir = mkdtempSync(join(tmpdir(), "harmont-smtp-"));
  const port = await freePort();
  const child = spawn(python, ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${port}`, "-c", "aiosmtpd.handlers.Mailbox",
    join(dir, "mail")], { stdio: ["ignore", "ignore", "inherit"] });
  await eventually(() => new Promise((ok) => {
    const socket = connect(port, "127.0.0.1", () => { socket.destroy(); ok(true); });
    socket.on("error", () => ok(false));
  }), "aiosmtpd to listen");
  const mails = () => {
    const folder = join(dir, "mail/new");
    if (!existsSync(folder)) return [];
    return readdirSync(folder).map((name) => readFileSync(join(folder, name), "utf8").replace(/\r\n/g, "\n"));
  };
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    /** The first mail to `to`, once it has arrived. */
    mailTo: (to) => eventually(() => mails().find((m) => m.includes(`To: ${to}`)), `a mail to ${to}`),
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
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
