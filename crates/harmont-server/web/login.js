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

function showSignIn() {
  show("signin");
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
