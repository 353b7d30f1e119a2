// The page side of issue 14 ("Hardening: what a security review found"), in a
// real browser against the real server: each test reproduces one finding.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { enrolledPage, eventually, launchBrowser, newPage, screenshot, startServer } from "./harness.js";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const token = (page) => page.evaluate(() => localStorage.getItem("harmont.token"));
const freshNonce = () => randomBytes(32).toString("base64url");

/** `POST claim` as the CLI does it; `wait` seconds of long poll, from `forwardedFor` through a proxy. */
async function claim(srv, nonce, { wait = 0, forwardedFor } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (wait) headers.Prefer = `wait=${wait}`;
  if (forwardedFor) headers["X-Forwarded-For"] = forwardedFor;
  const response = await fetch(`${srv.api}/api/v0/auth/cli/claim`, {
    method: "POST", headers, body: JSON.stringify({ nonce }),
  });
  return { status: response.status, body: await response.json() };
}

async function userStatus(bearer) {
  const response = await fetch(`${server.api}/api/v0/user`, { headers: { Authorization: `Bearer ${bearer}` } });
  return { status: response.status, body: await response.json() };
}

describe("#1 one keystroke must not approve a login", () => {
  test("Authorize is not focused, waits a second, and Enter alone approves nothing", async () => {
    const tab = await enrolledPage(browser, server, "Ada Lovelace");
    const { page } = tab;
    const nonce = freshNonce();
    assert.equal((await claim(server, nonce)).body.error.code, "cli_code_invalid", "the terminal is waiting");

    // Notes, in the page, when the approval appears and when Authorize is enabled.
    await page.addInitScript(() => {
      const seen = (window.seenAuthorize = { shownAt: null, disabledWhenShown: null, enabledAt: null });
      new MutationObserver(() => {
        const section = document.getElementById("approve");
        const button = document.getElementById("authorize");
        if (!section || !button) return;
        if (seen.shownAt === null && !section.hidden) {
          seen.shownAt = performance.now();
          seen.disabledWhenShown = button.disabled;
        }
        if (seen.shownAt !== null && seen.enabledAt === null && !button.disabled) seen.enabledAt = performance.now();
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ["hidden", "disabled"] });
    });
    await page.goto(`${server.web}/cli-login?nonce=${nonce}&host=ada-macbook`);
    const authorize = page.getByRole("button", { name: "Authorize" });
    await authorize.waitFor();
    assert.notEqual(await page.evaluate(() => document.activeElement.id), "authorize", "not focused");
    await page.keyboard.press("Enter");
    await page.keyboard.press(" ");
    await eventually(() => authorize.isEnabled(), "Authorize to be enabled");
    const seen = await page.evaluate(() => window.seenAuthorize);
    assert.equal(seen.disabledWhenShown, true, "disabled when the approval appeared");
    assert.ok(seen.enabledAt - seen.shownAt >= 900, `enabled only after about a second (${seen.enabledAt - seen.shownAt} ms)`);
    assert.notEqual(await page.evaluate(() => document.activeElement.id), "authorize", "still not focused");
    await page.keyboard.press("Enter");
    await page.keyboard.press(" ");
    // A second's long poll: no grant appears, so nothing was transferred.
    const waited = await claim(server, nonce, { wait: 1 });
    assert.equal(waited.status, 400);
    assert.equal(waited.body.error.code, "cli_code_invalid");

    // The address line: the claims came from this machine, as did the browser.
    await page.locator("#claimed-from").getByText("127.0.0.1").waitFor();
    assert.equal(await page.locator("#address-warning").isVisible(), false, "no warning for the same address");
    await screenshot(page, "cli-login-address");

    // Losing and regaining focus disables it again, for a second.
    const disabledAfter = (target, type) => page.evaluate(([t, e]) => {
      (t === "window" ? window : document).dispatchEvent(new Event(e));
      return document.getElementById("authorize").disabled;
    }, [target, type]);
    assert.equal(await disabledAfter("window", "focus"), true, "disabled again after regaining focus");
    await eventually(() => authorize.isEnabled(), "Authorize to be enabled again");
    assert.equal(await disabledAfter("document", "visibilitychange"), true, "disabled again after becoming visible");
    await eventually(() => authorize.isEnabled(), "Authorize to be enabled again");

    // Tabbing to the button and pressing Enter is deliberate: that approves.
    for (let i = 0; i < 5 && (await page.evaluate(() => document.activeElement.id)) !== "authorize"; i++) {
      await page.keyboard.press("Tab");
    }
    assert.equal(await page.evaluate(() => document.activeElement.id), "authorize");
    await page.keyboard.press("Enter");
    await page.getByText("Done, return to your terminal.").waitFor();
    const claimed = await claim(server, nonce);
    assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
    assert.match(claimed.body.token, /^hms_/);
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });

  test("a click approves; a script's click does not", async () => {
    const tab = await enrolledPage(browser, server, "Grace Hopper");
    const { page } = tab;
    const nonce = freshNonce();
    await claim(server, nonce);
    await page.goto(`${server.web}/cli-login?nonce=${nonce}&host=grace-laptop`);
    const authorize = page.getByRole("button", { name: "Authorize" });
    await eventually(() => authorize.isEnabled(), "Authorize to be enabled");
    await page.evaluate(() => document.getElementById("authorize").click());
    assert.equal((await claim(server, nonce, { wait: 1 })).body.error.code, "cli_code_invalid", "untrusted click ignored");
    await authorize.click();
    await page.getByText("Done, return to your terminal.").waitFor();
    assert.equal((await claim(server, nonce)).status, 200);
    await tab.close();
  });

  test("a terminal elsewhere, or none yet, is a plain warning", async () => {
    const proxied = await startServer(["--trusted-proxies", "127.0.0.1/32"]);
    try {
      const tab = await enrolledPage(browser, proxied, "Alan Turing");
      const { page } = tab;
      const nonce = freshNonce();
      await page.goto(`${proxied.web}/cli-login?nonce=${nonce}&host=alan-pc`);
      await page.getByText("No terminal has asked for this login yet.").waitFor();
      assert.equal(await page.locator("#address-warning").isVisible(), false);

      await claim(proxied, nonce, { forwardedFor: "203.0.113.7" });
      await page.locator("#claimed-from").getByText("203.0.113.7").waitFor();
      await page.getByText(
        "This login was started from a different network address than this browser. "
          + "If you are not sure it's your own terminal, cancel.",
      ).waitFor();
      await page.getByText("This browser connects from 127.0.0.1.").waitFor();
      await screenshot(page, "cli-login-elsewhere");
      assert.deepEqual(tab.problems, []);
      await tab.close();
    } finally {
      await proxied.stop();
    }
  });
});

describe("#3 no silent account switch", () => {
  test("signed in as Ada, Eve's link asks first; staying keeps Ada and the link", async () => {
    const ada = await enrolledPage(browser, server, "Ada Lovelace");
    const { page } = ada;
    const before = await token(page);
    const [eveEmail, eveLink] = await server.addUser("Eve");

    await page.goto(eveLink);
    await page.getByText(`You are signed in as ${ada.email}; continue as the owner of this link?`).waitFor();
    assert.equal(page.url(), `${server.web}/login`, "the link left the address bar");
    await screenshot(page, "login-switch");
    await page.getByRole("button", { name: "Stay signed in" }).click();
    await page.waitForURL(`${server.web}/settings`);
    await page.getByText(ada.email).waitFor();
    assert.equal(await token(page), before);
    assert.equal((await userStatus(before)).status, 200);

    // The link was not used: it still signs Eve in elsewhere.
    const other = await newPage(browser);
    await other.page.goto(eveLink);
    await other.page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    await other.page.getByText(eveEmail).waitFor();
    await other.close();
    assert.deepEqual(ada.problems, []);
    await ada.close();
  });

  test("continuing switches to Eve and logs Ada's session out", async () => {
    const ada = await enrolledPage(browser, server, "Ada Lovelace");
    const { page } = ada;
    const old = await token(page);
    const [eveEmail, eveLink] = await server.addUser("Eve");

    await page.goto(eveLink);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    await page.getByText(eveEmail).waitFor();
    const now = await token(page);
    assert.notEqual(now, old);
    assert.equal((await userStatus(now)).body.email, eveEmail);
    const refused = await userStatus(old);
    assert.equal(refused.status, 401, "Ada's old session was logged out");
    assert.equal(refused.body.error.code, "unauthorized");
    assert.deepEqual(ada.problems, []);
    await ada.close();
  });
});

describe("#9 no open redirect through next", () => {
  test("nasty next values all land on our own origin", async () => {
    const tab = await enrolledPage(browser, server, "Barbara Liskov");
    const { page } = tab;
    const elsewhere = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(server.web)) elsewhere.push(request.url());
    });
    const nasty = [
      "/%09/evil.example/x", "/%0A/evil.example/x", "/%5Cevil.example/x", "/%5C%5Cevil.example/x",
      "%2F%2Fevil.example/x", "//evil.example/x", "/.//evil.example/x", "/%2E//evil.example/x",
      "javascript:alert(document.domain)", "JaVaScRiPt%3Aalert(1)", "https://evil.example/x",
      "http:evil.example", "%09https://evil.example", "data:text/html,hi", "",
    ];
    for (const raw of nasty) {
      await page.goto(`${server.web}/login?next=${raw}`);
      await page.waitForURL((url) => url.pathname !== "/login");
      assert.equal(page.url(), `${server.web}/settings`, `next=${raw}`);
      await page.getByText(tab.email).waitFor();
    }
    // A path of our own is kept, with its query and fragment.
    await page.goto(`${server.web}/login?next=${encodeURIComponent("/settings?tab=keys#passkeys")}`);
    await page.waitForURL(`${server.web}/settings?tab=keys#passkeys`);
    assert.deepEqual(elsewhere, [], "no request left our origin");
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });
});

describe("#16 the paste code page warns", () => {
  test("never share this code", async () => {
    const tab = await enrolledPage(browser, server, "Katherine Johnson");
    const { page } = tab;
    await page.goto(`${server.web}/cli-login?paste=true`);
    await page.getByRole("button", { name: "Show code" }).click();
    await page.getByText("Never share this code: anyone who types it gets your session.").waitFor();
    await screenshot(page, "cli-login-paste-warning");
    await tab.close();
  });
});

describe("#2 changing passkeys needs a fresh sign-in", () => {
  test("/login?reauth=1 signs in again even when signed in, then logs the old session out", async () => {
    const tab = await enrolledPage(browser, server, "Edsger Dijkstra");
    const { page } = tab;
    const old = await token(page);
    await page.goto(`${server.web}/login?reauth=1&next=${encodeURIComponent("/settings")}`);
    await page.getByText("For your security, sign in again.").waitFor();
    await screenshot(page, "login-reauth");
    assert.equal(page.url(), `${server.web}/login?reauth=1&next=%2Fsettings`, "no redirect while signed in");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForURL(`${server.web}/settings`);
    await page.getByText(tab.email).waitFor();
    const now = await token(page);
    assert.notEqual(now, old);
    assert.equal((await userStatus(now)).status, 200);
    assert.equal((await userStatus(old)).status, 401, "the old browser session was logged out");
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });

  test("the settings page asks to sign in again on reauthentication_required", async () => {
    const tab = await enrolledPage(browser, server, "Frances Allen");
    const { page } = tab;
    const refuse = (route) => route.fulfill({
      status: 403,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "reauthentication_required", type: "forbidden", message: "Sign in again." } }),
    });
    await page.route("**/api/v0/auth/passkeys/register/start", refuse);
    await page.route("**/api/v0/auth/passkeys/*", (route) => (route.request().method() === "DELETE" ? refuse(route) : route.fallback()));
    await page.reload();
    for (const act of [
      () => page.getByRole("button", { name: "Add a passkey" }).click(),
      async () => {
        await page.getByRole("button", { name: /^Remove passkey/ }).click();
        await page.getByRole("button", { name: "Remove it anyway" }).click();
      },
    ]) {
      await act();
      await page.getByText("For your security, sign in again to change your passkeys.").waitFor();
      await page.reload();
    }
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByText("For your security, sign in again to change your passkeys.").waitFor();
    await screenshot(page, "settings-reauth");
    await page.getByRole("button", { name: "Sign in again" }).click();
    await page.waitForURL(`${server.web}/login?reauth=1&next=%2Fsettings`);
    await page.getByRole("button", { name: "Sign in with a passkey" }).waitFor();
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });

  // Needs the server side of item 2 (403 reauthentication_required for CLI sessions).
  test("a CLI session cannot add a passkey: the server refuses and the page asks to sign in again", async () => {
    const tab = await enrolledPage(browser, server, "John Backus");
    const { page } = tab;
    const cliToken = await server.mintToken(tab.email);
    await page.evaluate((t) => localStorage.setItem("harmont.token", t), cliToken);
    await page.reload();
    await page.getByText(tab.email).waitFor();
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByText("For your security, sign in again to change your passkeys.").waitFor();

    // Signing in again with the passkey gives a browser session that may, and ends the CLI one.
    await page.getByRole("button", { name: "Sign in again" }).click();
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForURL(`${server.web}/settings`);
    assert.equal((await userStatus(cliToken)).status, 401, "the CLI session was logged out");
    await page.getByRole("button", { name: "Add a passkey" }).click();
    // Allowed now: the one authenticator refuses a second passkey for the same user.
    await page.getByText("This device already has a passkey for your account.").waitFor();
    assert.equal(await page.locator("#reauth").isVisible(), false);
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });
});
