// Issue 13: a disabled account, as its owner meets it in the browser. The
// pages say plainly that the account is disabled (not "sign in again"),
// whether the browser already holds a session, signs in with a passkey or
// opens a sign-in link; enabling it lets the very same session in again.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { SERVER_BIN, enrolledPage, launchBrowser, screenshot, startServer } from "./harness.js";

let server;
let browser;

before(async () => {
  // No bearer cache: `user disable` runs in another process, which a SQLite
  // server hears of only when its cache entry ages out (2 s by default).
  server = await startServer(["--auth-cache-ttl", "0s"]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const token = (page) => page.evaluate(() => localStorage.getItem("harmont.token"));

async function setDisabled(email, disabled) {
  await promisify(execFile)(SERVER_BIN, ["user", disabled ? "disable" : "enable", email, "--database", server.database]);
}

describe("a disabled account", () => {
  test("is told so in the browser, and enabling it restores the same session", async () => {
    const tab = await enrolledPage(browser, server, "Grace Hopper");
    const { page, email } = tab;
    const session = await token(page);

    await setDisabled(email, true);
    await page.goto(`${server.web}/settings`);
    await page.waitForURL(/\/login/);
    await page.getByRole("heading", { name: "Account disabled" }).waitFor();
    await page.getByText("ask your administrator to enable it again").waitFor();
    assert.equal(await page.getByRole("button", { name: "Sign in with a passkey" }).isVisible(), false);
    assert.equal(await token(page), session, "the session is kept for when the account is enabled");
    await screenshot(page, "login-disabled");

    await setDisabled(email, false);
    await page.goto(`${server.web}/settings`);
    await page.getByText(email).waitFor();
    assert.equal(await token(page), session, "the very same session");

    // Signed out, a passkey sign-in is refused with the same words.
    await setDisabled(email, true);
    await page.evaluate(() => localStorage.clear());
    await page.goto(`${server.web}/login`);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.getByRole("heading", { name: "Account disabled" }).waitFor();
    assert.equal(await token(page), null);

    // A sign-in link made for them says so too, rather than "invalid".
    const { stdout } = await promisify(execFile)(SERVER_BIN, [
      "user", "link", email, "--database", server.database, "--public-url", server.api,
    ]);
    await page.goto(stdout.trim());
    await page.getByRole("heading", { name: "Account disabled" }).waitFor();
    assert.equal(await page.getByText("This sign-in link is invalid").isVisible(), false);
    assert.equal(await token(page), null);
    assert.deepEqual(tab.problems.filter((p) => !/403/.test(p)), [], "no console errors but the refusals");
    await tab.close();
  });
});
