// Emailed sign-in links in a real browser, mailed through a real SMTP server
// (aiosmtpd): /login offers the form only where SMTP is configured, and the
// mailed link signs in once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, newPage, screenshot, startServer, startSmtp } from "./harness.js";

let browser;
let smtp;
let server;
let plain;

before(async () => {
  browser = await launchBrowser();
  smtp = await startSmtp();
  server = await startServer(["--smtp-url", smtp.url, "--mail-from", "Harmont <auth@example.com>"]);
  plain = await startServer();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await plain?.stop();
  await smtp?.stop();
});

const token = (page) => page.evaluate(() => localStorage.getItem("harmont.token"));

describe("emailed sign-in links", () => {
  test("without SMTP, /login has no email form", async () => {
    const tab = await newPage(browser);
    await tab.page.goto(`${plain.web}/login`);
    await tab.page.getByRole("button", { name: "Sign in with a passkey" }).waitFor();
    await tab.page.getByText("Ask the operator for a sign-in link").waitFor();
    assert.equal(await tab.page.getByRole("button", { name: "Email me a sign-in link" }).isVisible(), false);
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });

  test("the mailed link signs in once", async () => {
    const [email] = await server.addUser("Grace Hopper");
    const tab = await newPage(browser);
    const { page } = tab;
    await page.goto(`${server.web}/login`);
    await page.getByLabel("Email address").fill(email);
    await page.getByRole("button", { name: "Email me a sign-in link" }).click();
    await page.getByText("If this address belongs to an account, a sign-in link is on its way.").waitFor();
    await screenshot(page, "login-email-link-sent");

    const mail = await smtp.mailTo(email);
    const link = mail.match(/http:\/\/\S+\/login#link=hml_[A-Za-z0-9_-]{43}/)[0];
    assert.ok(link.startsWith(`${server.web}/login#link=`), link);
    await page.goto(link);
    await page.getByRole("heading", { name: "Welcome to Harmont" }).waitFor();
    await page.getByText(email).waitFor();
    assert.match(await token(page), /^hms_/);

    // Once only.
    await page.evaluate(() => localStorage.clear());
    await page.goto(link);
    await page.getByText("This sign-in link is invalid, expired or already used.").waitFor();
    assert.equal(await token(page), null);
    assert.deepEqual(tab.problems, []);
    await tab.close();
  });

  test("an unknown address gets the same answer", async () => {
    const tab = await newPage(browser);
    await tab.page.goto(`${server.web}/login`);
    await tab.page.getByLabel("Email address").fill("nobody@example.com");
    await tab.page.getByRole("button", { name: "Email me a sign-in link" }).click();
    await tab.page.getByText("If this address belongs to an account, a sign-in link is on its way.").waitFor();
    await tab.close();
  });
});
