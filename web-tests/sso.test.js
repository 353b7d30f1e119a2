// Single sign-on with a real OpenID Provider (the `oidc-provider` npm
// package, oidc-provider.js: PKCE required, any login accepted; the login
// names the email and whether it is verified) in a real browser: sign-in,
// linking by verified email, an unverified email refused, the three sign-up
// policies, access_denied, a forged callback, and the link the callback
// ends on working once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { SERVER_BIN, launchBrowser, newPage, screenshot, startOidcProvider, startServer } from "./harness.js";

let browser;
let idp;
const servers = {};

before(async () => {
  browser = await launchBrowser();
  idp = await startOidcProvider();
  servers.invite = await startServer(idp.args("invite"), { captureLog: true });
  servers.open = await startServer(idp.args("open"));
  servers.domain = await startServer(idp.args("domain:allowed.example"));
});

after(async () => {
  await browser?.close();
  for (const server of Object.values(servers)) await server.stop();
  await idp?.stop();
});

/** Every authorization code and link seen on the way, to look for in the log. */
const secrets = new Set();
const token = (page) => page.evaluate(() => localStorage.getItem("harmont.token"));
const unique = (prefix, domain = "example.com") => `${prefix}-${Math.random().toString(36).slice(2, 10)}@${domain}`;

/** From /login, through the provider's login and consent pages, as `login`. */
async function signInAtProvider(page, server, login, { next } = {}) {
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.pathname.endsWith("/sso/oidc/callback") && url.searchParams.get("code")) secrets.add(url.searchParams.get("code"));
  });
  page.on("response", (response) => {
    const location = response.headers().location || "";
    if (location.includes("#link=")) secrets.add(location.split("#link=")[1]);
  });
  await page.goto(`${server.web}/login${next ? `?next=${encodeURIComponent(next)}` : ""}`);
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await page.waitForURL((url) => url.href.startsWith(idp.issuer));
  await page.getByPlaceholder("Enter any login").fill(login);
  await page.getByPlaceholder("and password").fill("anything");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

describe("single sign-on with OpenID Connect", () => {
  test("/login shows the provider's button", async () => {
    const tab = await newPage(browser);
    await tab.page.goto(`${servers.invite.web}/login`);
    await tab.page.getByRole("link", { name: "Sign in with Test IdP" }).waitFor();
    await screenshot(tab.page, "login-sso");
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });

  test("a verified email links to the existing user, and the link works once", async () => {
    const [email] = await servers.invite.addUser("Ada Lovelace");
    const tab = await newPage(browser);
    const { page } = tab;
    let location;
    page.on("response", (response) => {
      if (response.url().includes("/sso/oidc/callback")) location = response.headers().location;
    });
    await signInAtProvider(page, servers.invite, email);
    await page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    await page.getByText(email).waitFor();
    assert.match(await token(page), /^hms_/);
    assert.equal(page.url(), `${servers.invite.web}/login?next=%2Fsettings`, "the link left the address bar");
    await screenshot(page, "sso-signed-in");

    // The callback ended on /login#link=…, a link that works once.
    assert.match(location, /^\/login\?next=%2Fsettings#link=hml_[A-Za-z0-9_-]{43}$/);
    await page.evaluate(() => localStorage.clear());
    await page.goto("about:blank");
    await page.goto(`${servers.invite.web}${location}`);
    await page.getByText("This sign-in link is invalid, expired or already used.").waitFor();
    assert.equal(await token(page), null);

    assert.deepEqual(tab.problems, []);
    await tab.close();

    // Linked: the same identity signs in again (a new browser: the provider asks again).
    const again = await newPage(browser);
    await signInAtProvider(again.page, servers.invite, email);
    await again.page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    await again.page.getByText(email).waitFor();
    await again.close();
  });

  test("an unverified email is refused, and nothing is created", async () => {
    const [email] = await servers.open.addUser("Eve");
    const tab = await newPage(browser);
    const response = tab.page.waitForResponse((r) => r.url().includes("/sso/oidc/callback"));
    await signInAtProvider(tab.page, servers.open, `unverified:${email}`);
    assert.equal((await response).status(), 403);
    await tab.page.getByRole("heading", { name: "Your email is not verified" }).waitFor();
    await tab.page.getByRole("link", { name: "Back to sign-in" }).waitFor();
    assert.equal(await token(tab.page), null);
    await screenshot(tab.page, "sso-unverified");
    await tab.close();
  });

  test("invite: no account, refused with a page that says to ask an administrator", async () => {
    const tab = await newPage(browser);
    const response = tab.page.waitForResponse((r) => r.url().includes("/sso/oidc/callback"));
    await signInAtProvider(tab.page, servers.invite, unique("stranger"));
    assert.equal((await response).status(), 403);
    await tab.page.getByText("Ask an administrator to add you.").waitFor();
    assert.equal(await token(tab.page), null);
    await screenshot(tab.page, "sso-invite-only");
    await tab.close();
  });

  test("open: an account is created for a verified email", async () => {
    const email = unique("newcomer");
    const tab = await newPage(browser);
    await signInAtProvider(tab.page, servers.open, email);
    await tab.page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    await tab.page.getByText(email).waitFor();
    assert.match(await token(tab.page), /^hms_/);
    await tab.close();
  });

  test("domain: created only for the allowed domains", async () => {
    const allowed = unique("colleague", "allowed.example");
    const tab = await newPage(browser);
    await signInAtProvider(tab.page, servers.domain, allowed);
    await tab.page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    await tab.page.getByText(allowed).waitFor();

    const other = await newPage(browser);
    const response = other.page.waitForResponse((r) => r.url().includes("/sso/oidc/callback"));
    await signInAtProvider(other.page, servers.domain, unique("outsider", "elsewhere.example"));
    assert.equal((await response).status(), 403);
    await other.page.getByText("only for the allowed email domains").waitFor();
    assert.equal(await token(other.page), null);
    await tab.close();
    await other.close();
  });

  test("access_denied at the provider ends on a 403 page", async () => {
    const tab = await newPage(browser);
    const { page } = tab;
    await page.goto(`${servers.invite.web}/login`);
    await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    const response = page.waitForResponse((r) => r.url().includes("/sso/oidc/callback"));
    await page.getByRole("link", { name: "[ Cancel ]" }).click();
    assert.equal((await response).status(), 403);
    await page.getByRole("heading", { name: "Sign-in cancelled" }).waitFor();
    await screenshot(page, "sso-cancelled");
    await tab.close();
  });

  test("a forged callback, or one without this browser's flow, ends on a 400 page", async () => {
    const tab = await newPage(browser);
    const { page } = tab;
    const forged = await page.goto(`${servers.invite.web}/api/v0/auth/sso/oidc/callback?code=made-up&state=made-up`);
    assert.equal(forged.status(), 400);
    await page.getByRole("heading", { name: "This sign-in has expired" }).waitFor();
    await screenshot(page, "sso-forged");

    // Started in this browser, but the state that comes back is not the flow's.
    await page.goto(`${servers.invite.web}/login`);
    await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    const wrong = await page.goto(`${servers.invite.web}/api/v0/auth/sso/oidc/callback?code=made-up&state=not-the-state`);
    assert.equal(wrong.status(), 400);
    await page.getByRole("heading", { name: "This sign-in could not be checked" }).waitFor();
    assert.equal(await token(page), null);
    await tab.close();
  });

  test("email claims in the ID token itself are read too", async () => {
    const own = await startOidcProvider({ idTokenClaims: true });
    const server = await startServer(own.args("open"));
    const saved = idp;
    idp = own;
    try {
      const email = unique("idtoken");
      const tab = await newPage(browser);
      await signInAtProvider(tab.page, server, email);
      await tab.page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
      await tab.page.getByText(email).waitFor();
      await tab.close();
    } finally {
      idp = saved;
      await server.stop();
      await own.stop();
    }
  });

  test("the provider's keys rotate: a restart with a new key, and sign-in still works", async () => {
    const [email] = await servers.invite.addUser("Rota");
    await idp.stop();
    // Back on its port: the servers know it by its issuer URL.
    idp = await startOidcProvider({ port: idp.port, clientSecret: idp.clientSecret });
    const tab = await newPage(browser);
    await signInAtProvider(tab.page, servers.invite, email);
    await tab.page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    await tab.page.getByText(email).waitFor();
    await tab.close();
    assert.match(servers.invite.log(), /fetched the provider's signing keys again/);
  });

  test("/settings lists the linked identity; unlink is refused for the last way to sign in", async () => {
    const [email] = await servers.invite.addUser("Linus");
    const tab = await newPage(browser);
    const { page } = tab;
    await signInAtProvider(page, servers.invite, email);
    await page.getByRole("link", { name: "Not now" }).click();
    await page.waitForURL(`${servers.invite.web}/settings`);
    const item = page.locator("#identities li").filter({ hasText: "Test IdP" });
    await item.getByText(email).waitFor();
    await item.getByText(/^Linked /).waitFor();
    await screenshot(page, "settings-identities");

    await item.getByRole("button", { name: /Unlink Test IdP/ }).click();
    await page.getByText("This is your last way to sign in.").waitFor();
    assert.equal(await page.locator("#identities li").count(), 1, "still linked");

    // With a passkey, the identity is no longer the last way.
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByText("Passkey added.").waitFor();
    await item.getByRole("button", { name: /Unlink Test IdP/ }).click();
    await page.getByText("Test IdP unlinked.").waitFor();
    await page.getByText("None linked.").waitFor();
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });

  test("no client secret, code, ID token or link reaches the log (at trace)", async () => {
    const log = servers.invite.log();
    assert.match(log, /single sign-on/, "the log was captured");
    assert.ok(secrets.size >= 4, `codes and links were seen (${secrets.size})`);
    for (const secret of [idp.clientSecret, ...secrets]) {
      assert.equal(log.includes(secret), false, "a secret reached the log");
    }
    assert.doesNotMatch(log, /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, "no JWT (ID token) in the log");
    assert.doesNotMatch(log, /hml_[A-Za-z0-9_-]{43}/, "no link in the log");
  });

  test("a wrong issuer stops serve with a clear message", async () => {
    const run = promisify(execFile);
    const wrong = [...idp.args("invite")];
    wrong[1] = `${idp.issuer}/`;
    const failed = await run(SERVER_BIN, ["serve", "--listen", "127.0.0.1:0", "--database", "sqlite::memory:", ...wrong],
      { timeout: 30000 }).then(() => null, (err) => err);
    assert.ok(failed, "serve exited with an error");
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /names the issuer `http:\/\/127\.0\.0\.1:\d+`: set HARMONT_OIDC_ISSUER to exactly that/);
  });
});
