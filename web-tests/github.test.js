// GitHub sign-in against a LOCAL STAND-IN for GitHub (github-standin.js:
// GitHub's documented OAuth and REST endpoints; there is no local GitHub):
// the primary verified email links to the user and the numeric id keys the
// identity; an unverified one is refused; Cancel is access_denied.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, newPage, screenshot, startGithubStandIn, startServer } from "./harness.js";

let browser;
let github;
let server;

before(async () => {
  browser = await launchBrowser();
  github = await startGithubStandIn();
  server = await startServer([...github.args(), "--signup", "invite"], { captureLog: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await github?.stop();
});

const token = (page) => page.evaluate(() => localStorage.getItem("harmont.token"));

async function signIn(page, login) {
  await page.goto(`${server.web}/login`);
  await page.getByRole("link", { name: "Sign in with GitHub" }).click();
  await page.getByRole("heading", { name: "GitHub stand-in: authorize" }).waitFor();
  await page.getByPlaceholder("login").fill(login);
  await page.getByRole("button", { name: "Authorize" }).click();
}

describe("GitHub sign-in (against a local stand-in)", () => {
  test("the primary verified email links to the user; the identity signs in again", async () => {
    const [email] = await server.addUser("Octo Cat");
    const tab = await newPage(browser);
    await signIn(tab.page, email);
    await tab.page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    await tab.page.getByText(email).waitFor();
    assert.match(await token(tab.page), /^hms_/);
    await screenshot(tab.page, "github-signed-in");
    await tab.close();

    const again = await newPage(browser);
    await signIn(again.page, email);
    await again.page.getByText(email).waitFor();
    await again.close();
  });

  test("an unverified primary email is refused with a 403 page", async () => {
    const [email] = await server.addUser("Eve");
    const tab = await newPage(browser);
    const response = tab.page.waitForResponse((r) => r.url().includes("/sso/github/callback"));
    await signIn(tab.page, `unverified:${email}`);
    assert.equal((await response).status(), 403);
    await tab.page.getByRole("heading", { name: "Your email is not verified" }).waitFor();
    assert.equal(await token(tab.page), null);
    await tab.close();
  });

  test("Cancel is access_denied: a 403 page", async () => {
    const tab = await newPage(browser);
    await tab.page.goto(`${server.web}/login`);
    await tab.page.getByRole("link", { name: "Sign in with GitHub" }).click();
    const response = tab.page.waitForResponse((r) => r.url().includes("/sso/github/callback"));
    await tab.page.getByRole("link", { name: "Cancel" }).click();
    assert.equal((await response).status(), 403);
    await tab.page.getByRole("heading", { name: "Sign-in cancelled" }).waitFor();
    await tab.close();
  });

  test("the client secret stays out of the log", async () => {
    assert.match(server.log(), /request/);
    assert.equal(server.log().includes(github.clientSecret), false);
    assert.doesNotMatch(server.log(), /gho_|hml_[A-Za-z0-9_-]{43}/);
  });
});
