// Issue 11, the pages as a first-time user meets them (items 9, 19–23):
// sessions named like passkeys with relative times, the approval page that
// says who you are and how long the session lasts and knows a used or
// abandoned login at once, error pages for people first, copy feedback by
// its button, nothing broken mid-word on a phone, and the API reference.
// Every page is looked at (screenshots) at desktop and at 390 px.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { cliHome, enrolledPage, eventually, launchBrowser, newPage, screenshot, startServer } from "./harness.js";

let server;
let browser;

// Windows that differ from the defaults, so a page that names a default is caught.
before(async () => {
  server = await startServer(["--session-ttl", "7d", "--transfer-ttl", "90s", "--paste-ttl", "10m"]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const PHONE = { width: 390, height: 844 };
const token = (page) => page.evaluate(() => localStorage.getItem("harmont.token"));

/** Both widths: a screenshot of each, and at 390 px no sideways scrolling and no inline command split over lines. */
async function lookAt(page, name) {
  await screenshot(page, name);
  const desktop = page.viewportSize();
  await page.setViewportSize(PHONE);
  const report = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    broken: [...document.querySelectorAll("main code")]
      .filter((c) => c.offsetParent !== null && !c.closest("pre") && !c.classList.contains("path") && !c.classList.contains("phrase") && c.id !== "new-key-value")
      .filter((c) => c.getClientRects().length > 1)
      .map((c) => c.textContent),
  }));
  await screenshot(page, `${name}-phone`);
  await page.setViewportSize(desktop);
  assert.ok(report.scroll <= PHONE.width, `${name}: no sideways scrolling at 390 px (${report.scroll})`);
  assert.deepEqual(report.broken, [], `${name}: commands split over lines at 390 px`);
}

/** A session for `tab`'s user obtained the way a CLI obtains one (transfer + claim), with this user agent. */
async function cliSession(page, userAgent) {
  const nonce = `n${Math.random().toString(36).slice(2)}${"xYz_09-Ab".repeat(4)}`;
  const bearer = await token(page);
  const parked = await fetch(`${server.api}/api/v0/auth/cli/transfer`, {
    method: "POST", headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
    body: JSON.stringify({ nonce }),
  });
  assert.equal(parked.status, 204);
  const claimed = await fetch(`${server.api}/api/v0/auth/cli/claim`, {
    method: "POST", headers: { "Content-Type": "application/json", "User-Agent": userAgent }, body: JSON.stringify({ nonce }),
  });
  assert.equal(claimed.status, 200);
  return (await claimed.json()).token;
}

const status = async (bearer) =>
  (await fetch(`${server.api}/api/v0/user`, { headers: { Authorization: `Bearer ${bearer}` } })).status;

describe("settings (item 19)", () => {
  test("sessions are named like passkeys, with relative times, the expiry, and sign out everywhere else", async () => {
    const tab = await enrolledPage(browser, server, "Ada Lovelace");
    const { page } = tab;
    const cli = await cliSession(page, "harmont/0.1.0 (linux; vm)");
    const minted = await server.mintToken(tab.email);
    await page.reload();

    const mine = page.locator("#sessions li", { hasText: "this browser" });
    await mine.locator("strong", { hasText: /^Chrome on Linux$/ }).waitFor();
    const cliItem = page.locator("#sessions li", { hasText: "harmont CLI on vm" });
    await cliItem.waitFor();
    await page.locator("#sessions li", { hasText: "Token from the operator" }).waitFor();
    const meta = await cliItem.locator(".meta").textContent();
    assert.match(meta, /^Signed in just now · last active just now · expires in 7 days · 127\.0\.0\.1$/);
    // The exact time on hover, the raw user agent on the name.
    const times = cliItem.locator(".meta time");
    assert.equal(await times.count(), 3);
    const exact = await times.first().getAttribute("title");
    assert.ok(exact && exact !== "just now" && /\d/.test(exact), exact);
    assert.match(await times.first().getAttribute("datetime"), /^\d{4}-\d\d-\d\dT/);
    assert.equal(await cliItem.locator("strong").getAttribute("title"), "harmont/0.1.0 (linux; vm)");
    // Passkeys and API keys read the same way.
    await page.locator("#passkeys .meta", { hasText: /^Added just now · last used never$/ }).waitFor();
    await lookAt(page, "settings-sessions");

    // Relative times in general.
    const said = await page.evaluate(async () => {
      const { ago } = await import("/assets/common.js");
      const now = Date.parse("2026-01-10T12:00:00Z");
      return [
        ago("2026-01-10T11:58:00Z", now), ago("2026-01-10T11:59:50Z", now), ago("2026-01-09T12:00:00Z", now),
        ago("2026-02-09T12:00:00Z", now), ago("2026-01-17T12:00:00Z", now), ago("2026-01-10T09:00:00Z", now),
      ];
    });
    assert.deepEqual(said, ["2 minutes ago", "just now", "yesterday", "in 30 days", "in 7 days", "3 hours ago"]);

    await page.getByRole("button", { name: "Sign out everywhere else" }).click();
    await page.getByText("Signed out 2 other sessions.").waitFor();
    assert.equal(await page.locator("#sessions li").count(), 1, "only this browser is left");
    assert.equal(await page.getByRole("button", { name: "Sign out everywhere else" }).isVisible(), false);
    assert.equal(await status(cli), 401, "the CLI's session ended");
    assert.equal(await status(minted), 401, "the minted one too");
    assert.equal(await status(await token(page)), 200, "this browser stays signed in");
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });

  test("an API key's Copied. appears by its button", async () => {
    const tab = await enrolledPage(browser, server, "Grace Hopper");
    const { page } = tab;
    await tab.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.web });
    await page.getByLabel("Description for a new key").fill("CI deploys");
    await page.getByRole("button", { name: "Create API key" }).click();
    await page.getByRole("button", { name: "Copy", exact: true }).click();
    const copied = page.locator("#copy-key-status", { hasText: "Copied." });
    await copied.waitFor();
    await besideEachOther(page.getByRole("button", { name: "Copy", exact: true }), copied);
    await page.locator("#api-keys .meta", { hasText: /^Created just now · expires in 3 months · last used never$/ }).waitFor();
    await lookAt(page, "settings-api-key-copied");
    await tab.close();
  });
});

/** `b` sits on the same line as `a`, right after it. */
async function besideEachOther(a, b) {
  const [x, y] = [await a.boundingBox(), await b.boundingBox()];
  assert.ok(y.x >= x.x + x.width && y.x - (x.x + x.width) < 40, `beside: ${JSON.stringify([x, y])}`);
  assert.ok(y.y < x.y + x.height && y.y + y.height > x.y, `same line: ${JSON.stringify([x, y])}`);
}

describe("/cli-login (items 9, 20, 22)", () => {
  test("titled, says who you are and how long the session lasts; Enter does not approve; switch account keeps the request", async () => {
    const tab = await enrolledPage(browser, server, "Alan Turing");
    const { page } = tab;
    const cli = cliHome(server);
    const login = cli.start(["login"]);
    const url = await cli.opened();
    await page.goto(url);
    await page.getByRole("heading", { name: "Authorize the Harmont CLI" }).waitFor();
    assert.equal(await page.title(), "Authorize the Harmont CLI · Harmont");
    await page.getByText(`Alan Turing (${tab.email})`).waitFor();
    await page.getByText("Authorizing signs this terminal in as you for 7 days").waitFor();
    const authorize = page.getByRole("button", { name: "Authorize" });
    await eventually(() => authorize.isEnabled(), "Authorize to be enabled");
    assert.notEqual(await page.evaluate(() => document.activeElement.id), "authorize", "not focused for you");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Enter");
    await lookAt(page, "cli-login-authorize");
    assert.equal(login.code, null, "Enter approved nothing");

    // Not you? Switch account: signs in again and comes back to the same request.
    await page.getByRole("link", { name: "Not you? Switch account" }).click();
    await page.waitForURL(/\/login\?reauth=1&next=%2Fcli-login$/);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForURL(`${server.web}/cli-login`);
    await authorize.waitFor();
    await eventually(() => authorize.isEnabled(), "Authorize to be enabled");
    const signedIn = await token(page);
    await authorize.click();
    assert.equal(await login.exited, 0, login.stderr);

    // The same request again, once used: said at once, with no Authorize button.
    const again = await newPage(browser);
    await again.page.goto(`${server.web}/login`);
    await again.page.evaluate((t) => localStorage.setItem("harmont.token", t), signedIn);
    await again.page.goto(url);
    await again.page.getByText("This login was already approved, and its terminal is signed in.").waitFor({ timeout: 5000 }).catch(async (e) => {
      console.log(await again.page.locator("main").textContent(), again.problems);
      throw e;
    });
    assert.equal(await again.page.getByRole("button", { name: "Authorize" }).isVisible(), false);
    await lookAt(again.page, "cli-login-used");
    assert.deepEqual(tab.problems, []);
    assert.deepEqual(again.problems, []);
    await again.close();
    cli.cleanup();
    await tab.close();
  });

  test("the terminal stopped waiting: the page says so instead of Authorize", async () => {
    const tab = await enrolledPage(browser, server, "Hedy Lamarr");
    const { page } = tab;
    const cli = cliHome(server);
    const login = cli.start(["login"]);
    const url = await cli.opened();
    await page.goto(url);
    const authorize = page.getByRole("button", { name: "Authorize" });
    await authorize.waitFor();
    // The terminal goes away (Ctrl-C) while the page is open.
    login.child.kill("SIGINT");
    await login.exited;
    const stopped = page.getByText("The terminal stopped waiting for this login, so it can no longer be approved. Run harmont login again in your terminal.");
    await stopped.waitFor({ timeout: 30000 });
    assert.equal(await authorize.isVisible(), false, "no Authorize button");
    await lookAt(page, "cli-login-stopped");

    // Opened afresh later: said at once.
    await page.goto(url);
    await stopped.waitFor();
    assert.equal(await authorize.isVisible(), false);
    assert.deepEqual(tab.problems, []);
    cli.cleanup();
    await tab.close();
  });

  test("paste: Copied. by the button, the configured window, nothing broken mid-word at 390 px", async () => {
    const tab = await enrolledPage(browser, server, "Katherine Johnson");
    const { page } = tab;
    await tab.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.web });
    await page.goto(`${server.web}/cli-login?paste=true`);
    await page.getByText(`Katherine Johnson (${tab.email})`).waitFor();
    await lookAt(page, "cli-login-paste-start");
    await page.getByRole("button", { name: "Show code" }).click();
    await page.getByText(/Expires in (10:00|9:\d\d)\./).waitFor();
    await page.getByRole("button", { name: "Copy code" }).click();
    const copied = page.locator("#copy-status", { hasText: "Copied." });
    await copied.waitFor();
    await besideEachOther(page.getByRole("button", { name: "Copy code" }), copied);
    assert.equal(await page.locator("#status").textContent(), "", "not at the top of the page");
    await lookAt(page, "cli-login-paste-copied");
    await page.setViewportSize(PHONE);
    await besideEachOther(page.getByRole("button", { name: "Copy code" }), copied);
    await tab.close();
  });
});

describe("/cli-login/device (item 8)", () => {
  test("headless: the CLI says Open <app>/cli-login/device and enter ABCD-EFGH; typing it there approves", async () => {
    const tab = await enrolledPage(browser, server, "Ada Lovelace");
    const { page } = tab;
    const cli = cliHome(server);
    const login = cli.start(["login", "--no-browser"]);
    const line = await eventually(() => login.stderr.match(/\n {4}Open (\S+\/cli-login\/device) and enter ([0-9A-Z]{4}-[0-9A-Z]{4})\n/), "the short form");
    const [, deviceUrl, code] = line;
    assert.equal(deviceUrl, `${server.web}/cli-login/device`);
    assert.match(login.stderr, /Or open this page and approve:\n\n {4}http:\/\/[^/]+\/cli-login\?nonce=/, "the long URL too");

    await page.goto(deviceUrl);
    await page.getByRole("heading", { name: "Authorize the Harmont CLI" }).waitFor();
    await page.getByText(`Ada Lovelace (${tab.email})`).waitFor();
    await lookAt(page, "cli-login-device");
    // A wrong code says so and stays on the form.
    await page.getByLabel("Code", { exact: true }).fill("ZZZZ-ZZZZ");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByText("No login waits under this code").waitFor();
    await page.getByLabel("Code", { exact: true }).fill(code.toLowerCase().replace("-", " "));
    await page.keyboard.press("Enter");
    // The same facts as the long URL's page: the code, the host, the address, how long.
    await page.locator("#code", { hasText: code }).waitFor();
    assert.equal(await page.locator("#host").textContent(), (await import("node:os")).hostname());
    await page.locator("#claimed-from", { hasText: "127.0.0.1" }).waitFor();
    await page.getByText("Authorizing signs this terminal in as you for 7 days").waitFor();
    const authorize = page.getByRole("button", { name: "Authorize" });
    await eventually(() => authorize.isEnabled(), "Authorize to be enabled");
    await page.keyboard.press("Enter");
    assert.equal(login.code, null, "Enter approves nothing");
    await lookAt(page, "cli-login-device-authorize");
    await authorize.click();
    await page.getByText("Done, return to your terminal.").waitFor();
    assert.equal(await login.exited, 0, login.stderr);
    const whoami = await cli.run(["whoami"]);
    assert.match(whoami.stdout, new RegExp(tab.email));

    // The code works once.
    await page.goto(deviceUrl);
    await page.getByLabel("Code", { exact: true }).fill(code);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByText("No login waits under this code").waitFor();
    assert.deepEqual(tab.problems, []);
    cli.cleanup();
    await tab.close();
  });
});

describe("error pages (item 21)", () => {
  test("people first, with the server's windows; the JSON example wraps on a phone", async () => {
    const tab = await newPage(browser);
    const { page } = tab;
    await page.goto(`${server.web}/docs/errors/cli_code_invalid`);
    await page.getByRole("heading", { name: "This login is not available" }).waitFor();
    const headings = await page.locator("main h1, main h2").allTextContents();
    assert.deepEqual(headings, ["This login is not available", "What happened", "What to do", "For developers"]);
    const text = await page.locator("main").textContent();
    assert.match(text, /waits 90 seconds for the terminal/);
    assert.match(text, /works for 10 minutes/);
    assert.doesNotMatch(text, /60 seconds|5 minutes/);
    await lookAt(page, "docs-error-person");
    await page.setViewportSize(PHONE);
    const pre = await page.locator("pre").evaluate((e) => [e.scrollWidth, e.clientWidth]);
    assert.ok(pre[0] <= pre[1], `the JSON wraps instead of scrolling: ${pre}`);
    await page.goto(`${server.web}/docs/errors`);
    await lookAt(page, "docs-errors-index");
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });
});

describe("API reference (item 23)", () => {
  test("/docs/api renders every operation of the OpenAPI document, with parameters, bodies and errors", async () => {
    const tab = await newPage(browser);
    const { page } = tab;
    const doc = await (await fetch(`${server.api}/api/v0/openapi.json`)).json();
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      ["get", "post", "put", "patch", "delete"].filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m] })));
    const response = await page.goto(`${server.web}/docs/api`);
    assert.match(response.headers()["content-security-policy"], /script-src 'self'/);
    await page.locator("section.operation").first().waitFor();
    assert.equal(await page.locator("section.operation").count(), ops.length, "every operation");
    assert.equal(await page.locator("#toc li").count(), ops.length);
    // One operationId may answer several methods (verifyToken): each gets its own anchor.
    const uses = {};
    for (const { op } of ops) uses[op.operationId] = (uses[op.operationId] || 0) + 1;
    const ids = await page.locator("section.operation").evaluateAll((sections) => sections.map((s) => s.id));
    assert.equal(new Set(ids).size, ids.length, "every section has its own id");
    for (const { path, method, op } of ops) {
      const id = uses[op.operationId] > 1 ? `${op.operationId}-${method}` : op.operationId;
      const section = page.locator(`section.operation[id="${id}"]`);
      assert.equal(await section.locator("h2").textContent(), `${method.toUpperCase()} ${path}`);
      const statuses = await section.locator("dl.responses dt .status").allTextContents();
      assert.deepEqual(statuses, Object.keys(op.responses), op.operationId);
      for (const p of op.parameters || []) await section.locator("dl.fields dt code", { hasText: p.name }).first().waitFor();
    }
    // A request body's fields, and error codes linked to their pages.
    const transfer = page.locator('section.operation[id="cliTransfer"]');
    await transfer.getByText("Request body (JSON)").waitFor();
    await transfer.locator("dl.fields dt code", { hasText: "code_challenge" }).waitFor();
    await transfer.locator('a[href="/docs/errors/nonce_in_use"]').waitFor();
    const claim = page.locator('section.operation[id="cliClaim"]');
    await claim.locator("dl.fields dt code", { hasText: "Prefer" }).waitFor();
    await lookAt(page, "docs-api");
    assert.deepEqual(tab.problems, [], "no console errors (CSP violations among them)");
    await tab.close();
  });
});
