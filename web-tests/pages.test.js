// The web pages in a real browser, against the real server and CLI: the
// checks of issue 4, in the order a new user meets them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { hostname } from "node:os";
import {
  cliHome, enrolledPage, eventually, launchBrowser, newPage, screenshot, sleep, startServer,
} from "./harness.js";

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

describe("first sign-in", () => {
  test("enrollment link, then a passkey, then signing in again with it", async () => {
    const [email, link] = await server.addUser("Ada Lovelace");
    assert.match(link, new RegExp(`^${server.web}/login#link=hml_[A-Za-z0-9_-]{43}$`));
    const tab = await newPage(browser);
    const { page } = tab;

    await page.goto(link);
    await page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    assert.equal(page.url(), `${server.web}/login`, "the link is gone from the address bar");
    await page.getByText(email).waitFor();
    await page.getByLabel("Name for this passkey").fill("Test laptop");
    await screenshot(page, "login-enroll");

    await page.getByRole("button", { name: "Create a passkey" }).click();
    await page.waitForURL(`${server.web}/settings`);
    await page.locator("#passkeys").getByText("Test laptop").waitFor();
    const creds = await tab.credentials();
    assert.equal(creds.length, 1, "one passkey on the authenticator");
    assert.equal(creds[0].isResidentCredential, true, "discoverable: no email needed to sign in");

    // Signed out (token forgotten), the passkey alone signs in again.
    await page.evaluate(() => localStorage.clear());
    await page.goto(`${server.web}/login`);
    await page.getByRole("heading", { name: "Sign in to Harmont" }).waitFor();
    await screenshot(page, "login");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForURL(`${server.web}/settings`);
    await page.getByText(email).waitFor();
    assert.match(await token(page), /^hms_/);
    await page.locator("#passkeys").getByText(/last used (?!never)/).waitFor();

    // The link worked once.
    await page.evaluate(() => localStorage.clear());
    await page.goto(link);
    await page.getByText("This sign-in link is invalid, expired or already used.").waitFor();
    assert.equal(await token(page), null);
    assert.deepEqual(tab.problems, [], "no console errors (CSP violations among them)");
    await tab.close();
  });

  test("a forged or an expired link signs nobody in", async () => {
    const tab = await newPage(browser);
    const { page } = tab;
    await page.goto(`${server.web}/login#link=hml_${"A".repeat(43)}`);
    await page.getByText("This sign-in link is invalid, expired or already used.").waitFor();
    assert.equal(page.url(), `${server.web}/login`, "even a bad link leaves the address bar");
    assert.equal(await token(page), null);
    await screenshot(page, "login-link-invalid");

    const [, link] = await server.addUser();
    await server.expireLinks();
    await page.goto(link);
    await page.getByText("This sign-in link is invalid, expired or already used.").waitFor();
    assert.equal(await token(page), null);
    await tab.close();
  });

  test("the verification code matches the wire crate's test vector", async () => {
    const tab = await newPage(browser);
    await tab.page.goto(`${server.web}/login`);
    const code = await tab.page.evaluate(async () => {
      const { verificationCode } = await import("/assets/common.js");
      return verificationCode("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    });
    assert.equal(code, "57BY-26FF");
    await tab.close();
  });
});

describe("harmont login", () => {
  test("approved in the browser: the CLI gets its token, and the codes match", async () => {
    const tab = await enrolledPage(browser, server, "Grace Hopper");
    const { page } = tab;
    const cli = cliHome(server);
    const login = cli.start(["login"]);

    const url = await cli.opened();
    assert.match(url, new RegExp(`^${server.api}/cli-login\\?port=\\d+&nonce=`));
    const printed = await eventually(() => login.stderr.match(/Verification code: ([0-9A-Z]{4}-[0-9A-Z]{4})/)?.[1], "the code");

    const response = await page.goto(url);
    assert.equal(response.headers()["content-security-policy"].includes("frame-ancestors 'none'"), true);
    await page.getByRole("button", { name: "Authorize" }).waitFor();
    assert.equal(page.url(), `${server.web}/cli-login`, "the nonce is gone from the address bar");
    assert.equal(await page.locator("#code").textContent(), printed, "the page shows the terminal's code");
    assert.equal(await page.locator("#host").textContent(), hostname());
    await page.getByText("reported by the terminal").waitFor();
    await page.getByText(tab.email).waitFor();
    // The CLI's claims and the browser both come from this machine: no warning.
    await page.locator("#claimed-from").getByText("127.0.0.1").waitFor();
    assert.equal(await page.locator("#address-warning").isVisible(), false);
    assert.equal(await page.locator("#address-unseen").isVisible(), false);
    await screenshot(page, "cli-login");

    // Nothing happens without a click.
    await sleep(1500);
    assert.equal(login.code, null, "the CLI is still waiting");

    await page.getByRole("button", { name: "Authorize" }).click();
    await page.waitForURL(/^http:\/\/localhost:\d+\/callback\?state=/);
    assert.equal(await login.exited, 0, login.stderr);
    assert.match(login.stdout + login.stderr, new RegExp(tab.email));
    const whoami = await cli.run(["whoami"]);
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.match(whoami.stdout, new RegExp(tab.email));

    // Revoking the CLI's session from the settings page ends it.
    await page.goto(`${server.web}/settings`);
    const cliSession = page.locator("#sessions li", { hasText: "harmont" }).filter({ hasNotText: "this browser" });
    await cliSession.waitFor();
    await screenshot(page, "settings");
    await cliSession.getByRole("button", { name: /^Revoke session/ }).click();
    await page.getByText("Session revoked.").waitFor();
    const after = await cli.run(["whoami"]);
    assert.notEqual(after.code, 0, "the revoked token no longer works");

    assert.deepEqual(tab.problems, []);
    cli.cleanup();
    await tab.close();
  });

  test("not signed in: sign in with the passkey first, then come back", async () => {
    const tab = await enrolledPage(browser, server, "Alan Turing");
    const { page } = tab;
    await page.evaluate(() => localStorage.clear());
    const cli = cliHome(server);
    const login = cli.start(["login"]);
    const url = await cli.opened();

    await page.goto(url);
    await page.waitForURL(`${server.web}/login?next=%2Fcli-login`);
    assert.ok(!page.url().includes("nonce"), "the nonce did not travel to the sign-in page");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForURL(`${server.web}/cli-login`);
    // "Authorize" is not focused for you; a keyboard alone can still approve,
    // once the user has tabbed to it.
    const authorize = page.getByRole("button", { name: "Authorize" });
    await eventually(() => authorize.isEnabled(), "Authorize to be enabled");
    assert.notEqual(await page.evaluate(() => document.activeElement.id), "authorize");
    for (let i = 0; i < 5 && (await page.evaluate(() => document.activeElement.id)) !== "authorize"; i++) {
      await page.keyboard.press("Tab");
    }
    await page.keyboard.press("Enter");
    assert.equal(await login.exited, 0, login.stderr);
    cli.cleanup();
    await tab.close();
  });

  test("--paste: the page shows a code, the CLI reads it from stdin", async () => {
    const tab = await enrolledPage(browser, server, "Katherine Johnson");
    const { page } = tab;
    const cli = cliHome(server);
    const login = cli.start(["login", "--paste"]);
    const url = await cli.opened();
    assert.match(url, /\/cli-login\?paste=true&code_challenge=/);

    const response = await page.goto(url);
    assert.equal(response.headers()["cache-control"], "no-store");
    await page.getByRole("button", { name: "Show code" }).waitFor();
    assert.equal(page.url(), `${server.web}/cli-login`);
    assert.equal(await page.locator("#paste-result").isVisible(), false, "no code before the click");
    await page.getByRole("button", { name: "Show code" }).click();
    await page.getByText(/Expires in [45]:\d\d/).waitFor();
    await page.getByText("Never share this code: anyone who types it gets your session.").waitFor();
    const shown = await page.locator("#paste-code").textContent();
    assert.match(shown, /^[0-9A-Z]{4} [0-9A-Z]{4} [0-9A-Z]{4} [0-9A-Z]{4}$/);
    await screenshot(page, "cli-login-paste");
    assert.equal(await page.getByRole("button", { name: /Show (a new )?code/ }).isVisible(), false, "one live code");

    // Readable on a phone: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "no sideways scrolling");
    const lines = await page.locator("#paste-code").evaluate((e) => Math.round(e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)));
    assert.equal(lines, 1, "the code stays on one line");
    await screenshot(page, "cli-login-paste-phone");

    login.child.stdin.end(`${shown.replace(/ /g, "")}\n`);
    assert.equal(await login.exited, 0, login.stderr);
    const whoami = await cli.run(["whoami"]);
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.match(whoami.stdout, new RegExp(tab.email));
    cli.cleanup();
    await tab.close();
  });
});

describe("settings", () => {
  test("API keys: created with an expiry, shown once, listed, and revoked", async () => {
    const tab = await enrolledPage(browser, server, "Grace Hopper");
    const { page } = tab;
    await page.getByText("No API keys.").waitFor();
    await page.getByLabel("Description for a new key").fill("CI deploys");
    await page.getByLabel("Expires").selectOption("30");
    await page.getByRole("button", { name: "Create API key" }).click();
    await page.getByText("Copy your new API key now. It won't be shown again.").waitFor();
    const key = await page.locator("#new-key-value").textContent();
    assert.match(key, /^hmk_[A-Za-z0-9]{49}$/);
    await screenshot(page, "settings-api-key");
    const me = await fetch(`${server.api}/api/v0/user`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(me.status, 200, "the key works");

    const item = page.locator("#api-keys li", { hasText: "CI deploys" });
    await item.waitFor();
    const meta = await item.locator(".meta").textContent();
    assert.match(meta, /Created .* · expires .* · last used /);
    assert.doesNotMatch(meta, /expires never/, "30 days, not never");
    await page.getByRole("button", { name: "Done" }).click();
    assert.equal(await page.locator("#new-key").isVisible(), false);
    assert.equal(await page.locator("#new-key-value").textContent(), "", "the secret leaves the page");
    await page.reload();
    await page.locator("#api-keys li", { hasText: "CI deploys" }).waitFor();
    assert.equal(await page.getByText(key).count(), 0, "never shown again");

    await page.getByRole("button", { name: "Revoke API key CI deploys" }).click();
    await page.getByText("No API keys.").waitFor();
    const after = await fetch(`${server.api}/api/v0/user`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(after.status, 401, "revoked at once");
    await tab.close();
  });

  test("removing the last passkey warns first; sign out revokes the token", async () => {
    const tab = await enrolledPage(browser, server, "Barbara Liskov");
    const { page } = tab;
    await page.getByRole("button", { name: /^Remove passkey/ }).click();
    await page.getByText("This is your only passkey.").waitFor();
    await screenshot(page, "settings-last-passkey");
    await page.getByRole("button", { name: "Keep it" }).click();
    assert.equal(await page.locator("#last-warning").isVisible(), false);
    assert.equal(await page.locator("#passkeys li").count(), 1);

    await page.getByRole("button", { name: "Add a passkey" }).click();
    // The one authenticator already holds a passkey for this user: refused.
    await page.getByText("This device already has a passkey for your account.").waitFor();

    await page.getByRole("button", { name: /^Remove passkey/ }).click();
    await page.getByRole("button", { name: "Remove it anyway" }).click();
    await page.getByText("No passkeys yet.").waitFor();

    const old = await token(page);
    await page.getByRole("button", { name: "Sign out of this browser" }).click();
    await page.waitForURL(`${server.web}/login`);
    assert.equal(await token(page), null);
    const response = await fetch(`${server.api}/api/v0/user`, { headers: { Authorization: `Bearer ${old}` } });
    assert.equal(response.status, 401, "logout revoked the browser's token");
    await tab.close();
  });
});

describe("security", () => {
  test("every page has the security headers, and pages at 127.0.0.1 move to localhost", async () => {
    for (const path of ["/login", "/cli-login", "/settings", "/docs/errors/link_invalid", "/docs/errors"]) {
      const response = await fetch(`${server.web}${path}`, { redirect: "manual" });
      assert.equal(response.status, 200, path);
      const h = response.headers;
      assert.equal(
        h.get("content-security-policy"),
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
          + "form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
        path,
      );
      assert.equal(h.get("referrer-policy"), "no-referrer", path);
      assert.equal(h.get("x-content-type-options"), "nosniff", path);
      assert.equal(h.get("x-frame-options"), "DENY", path);
      assert.equal(h.get("cache-control"), "no-store", path);
      const html = await response.text();
      assert.ok(!/<script(?![^>]*\bsrc=)/.test(html), `${path}: no inline script`);
      assert.ok(!/\sstyle=|<style/.test(html), `${path}: no inline style`);
    }
    const moved = await fetch(`${server.api}/cli-login?paste=true`, { redirect: "manual" });
    assert.equal(moved.status, 307);
    assert.equal(moved.headers.get("location"), `${server.web}/cli-login?paste=true`);
  });

  test("host and email are shown as text, never as HTML", async () => {
    const tab = await enrolledPage(browser, server, "<img src=x id=injected>");
    const { page } = tab;
    const nonce = "n".repeat(43);
    await page.goto(`${server.web}/cli-login?nonce=${nonce}&host=${encodeURIComponent("<b id=bold>evil</b>")}`);
    await page.getByRole("button", { name: "Authorize" }).waitFor();
    assert.equal(await page.locator("#host").textContent(), "<b id=bold>evil</b>");
    assert.equal(await page.locator("#bold").count(), 0);
    await page.goto(`${server.web}/settings`);
    await page.getByText(`<img src=x id=injected> (${tab.email})`).waitFor();
    assert.equal(await page.locator("#injected").count(), 0);
    await tab.close();
  });

  test("error pages share the pages' look", async () => {
    const tab = await newPage(browser);
    const { page } = tab;
    const missing = await page.goto(`${server.web}/no-such-page`);
    assert.equal(missing.status(), 404);
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await screenshot(page, "not-found");
    await page.goto(`${server.web}/docs/errors/link_invalid`);
    await page.getByRole("heading", { name: "This sign-in link no longer works" }).waitFor();
    await screenshot(page, "docs-error");
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });
});
