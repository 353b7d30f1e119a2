// /login: trade a one-time link (in the URL fragment, never sent to the
// server) for a session and offer to create a passkey; or sign in with a
// passkey. Then return to `next`.
import {
  $, api, currentUser, deviceName, passkeyProblem, passkeysSupported, registerPasskey, safeNext, say, show,
  signInWithPasskey, token,
} from "/assets/common.js";

const next = safeNext(new URLSearchParams(location.search).get("next"));

async function redeem(link) {
  say("status", "Signing you in…");
  try {
    const done = await api("POST", "/api/v0/auth/links/redeem", { link });
    token.set(done.token);
  } catch (err) {
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
      say("status", passkeyProblem(err), "error");
      button.disabled = false;
    }
  });
}

async function main() {
  const link = new URLSearchParams(location.hash.slice(1)).get("link");
  // The link is a secret: out of the address bar and history before anything else.
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  if (link) return redeem(link);
  if (await currentUser().catch(() => null)) {
    location.replace(next);
    return;
  }
  showSignIn();
}

main();
