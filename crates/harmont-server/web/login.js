// /login: trade a one-time link (in the URL fragment, never sent to the
// server) for a session and offer to create a passkey; or sign in with a
// passkey. Then return to `next`. Already signed in, a link is only used
// once the user says so, and `reauth=1` asks for a fresh sign-in; either way
// the session it replaces is logged out, not just forgotten.
import {
  $, ApiError, adoptToken, api, currentUser, deviceName, passkeyProblem, passkeysSupported, registerPasskey, safeNext, say,
  show, signInWithPasskey,
} from "/assets/common.js";

const query = new URLSearchParams(location.search);
const next = safeNext(query.get("next"));
const reauth = query.get("reauth") === "1";

const isDisabled = (err) => err instanceof ApiError && err.code === "user_disabled";

/** The account is disabled: say so plainly, and offer nothing that cannot work. */
function showDisabled() {
  say("status", "");
  show("signin", false);
  show("link-failed", false);
  $("title").textContent = "Account disabled";
  show("disabled");
}

async function redeem(link) {
  say("status", "Signing you in…");
  try {
    const done = await api("POST", "/api/v0/auth/links/redeem", { link }, { bearer: null });
    await adoptToken(done.token);
  } catch (err) {
    if (isDisabled(err)) return showDisabled();
    say("status", "");
    show("link-failed");
    showSignIn();
    return;
  }
  const me = await currentUser();
  say("status", "");
  $("title").textContent = "Welcome to Harmont";
  $("enroll-email").textContent = me ? me.email : "";
  $("passkey-name").value = deviceName();
  $("enroll-skip").href = next;
  show("enroll");
  if (!passkeysSupported()) {
    say("status", "This browser cannot create passkeys. You are signed in for now.", "error");
    $("enroll-button").disabled = true;
  }
  $("enroll-button").addEventListener("click", enroll);
  $("enroll-button").focus();
}

async function enroll() {
  const button = $("enroll-button");
  button.disabled = true;
  say("status", "Follow your browser's prompt to create the passkey…");
  try {
    await registerPasskey($("passkey-name").value);
    say("status", "Passkey created.", "ok");
    location.assign(next);
  } catch (err) {
    say("status", passkeyProblem(err), "error");
    button.disabled = false;
  }
}

/** The ways to sign in this server offers besides passkeys: single sign-on buttons, emailed links. */
async function showOtherMethods() {
  const methods = await api("GET", "/api/v0/auth/methods", undefined, { bearer: null }).catch(() => null);
  if (!methods) return;
  const providers = $("providers");
  for (const provider of methods.providers) {
    const a = document.createElement("a");
    a.className = "button secondary";
    a.textContent = `Sign in with ${provider.name}`;
    a.href = `${provider.start_url}?next=${encodeURIComponent(next)}`;
    providers.append(a);
  }
  show("providers", methods.providers.length > 0);
  if (!methods.email_links) return;
  show("operator-note", false);
  show("email-link");
  const input = $("email-link-address");
  const button = $("email-link-button");
  const send = async () => {
    const email = input.value.trim();
    if (!email || !input.checkValidity()) {
      say("email-link-status", "Enter your email address.", "error");
      input.focus();
      return;
    }
    button.disabled = true;
    say("email-link-status", "Sending…");
    try {
      const done = await api("POST", "/api/v0/auth/links/email", { email }, { bearer: null });
      say("email-link-status", `${done.message} Check your mail.`, "ok");
    } catch (err) {
      say("email-link-status", err.status === 429 ? "Too many links asked for. Try again later." : err.message, "error");
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener("click", send);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") send();
  });
}

function showSignIn() {
  show("signin");
  showOtherMethods();
  const button = $("signin-button");
  if (!passkeysSupported()) {
    button.disabled = true;
    say("status", "This browser does not support passkeys.", "error");
    return;
  }
  button.addEventListener("click", async () => {
    button.disabled = true;
    say("status", "Follow your browser's prompt to use your passkey…");
    try {
      await signInWithPasskey();
      say("status", "Signed in.", "ok");
      location.assign(next);
    } catch (err) {
      if (isDisabled(err)) return showDisabled();
      say("status", passkeyProblem(err), "error");
      button.disabled = false;
    }
  });
}

/** Someone is signed in here already: a link (perhaps someone else's) is used only if they say so. */
function askBeforeSwitching(link, me) {
  $("switch-email").textContent = me.email;
  show("switch");
  $("switch-continue").addEventListener("click", () => {
    show("switch", false);
    redeem(link);
  }, { once: true });
  $("switch-stay").addEventListener("click", () => location.replace(next), { once: true });
}

async function main() {
  // A link pasted into the address bar of this very page changes only the
  // fragment, which loads nothing: start over to use it.
  window.addEventListener("hashchange", () => {
    if (new URLSearchParams(location.hash.slice(1)).has("link")) location.reload();
  });
  const link = new URLSearchParams(location.hash.slice(1)).get("link");
  // The link is a secret: out of the address bar and history before anything else.
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  let disabled = false;
  const me = await currentUser().catch((err) => {
    disabled = isDisabled(err);
    return null;
  });
  // The token stays: enabling the account makes it work again.
  if (disabled && !link) return showDisabled();
  if (link) return me ? askBeforeSwitching(link, me) : redeem(link);
  if (me && !reauth) {
    location.replace(next);
    return;
  }
  show("reauth-note", reauth);
  showSignIn();
}

main();
