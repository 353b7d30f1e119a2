// /cli-login: approve a waiting `harmont login` (transfer, then back to the
// CLI's loopback listener), or show a paste code for `harmont login --paste`.
// The nonce leaves the address bar as soon as it is read; it is kept in this
// tab's sessionStorage while the user signs in, and dropped once used.
//
// Authorize is never focused for the user, stays disabled for a second after
// the page (again) becomes visible or focused, and answers only a pointer
// click or a key pressed on the button itself once the user has moved to it:
// one Enter meant for something else approves nothing. The page shows where
// the terminal waiting for this login connects from, and warns when that is
// not this browser's address.
import {
  $, ApiError, api, currentUser, duration, el, goSignIn, say, serverWindow, show, verificationCode,
} from "/assets/common.js";

const PENDING = "harmont.cli-login";
const SESSION_SECONDS = serverWindow("session-ttl", 30 * 86400);
const ARM_MS = 1000;
const INSPECT_EVERY_MS = 2000;
const INSPECT_FOR_MS = 5 * 60 * 1000;

function readRequest() {
  const query = new URLSearchParams(location.search);
  if ([...query.keys()].length > 0) {
    const request = {
      nonce: query.get("nonce"),
      port: query.get("port"),
      state: query.get("state"),
      code_challenge: query.get("code_challenge"),
      host: query.get("host"),
      paste: query.get("paste") === "true",
    };
    sessionStorage.setItem(PENDING, JSON.stringify(request));
    history.replaceState(null, "", "/cli-login");
    return request;
  }
  try {
    return JSON.parse(sessionStorage.getItem(PENDING));
  } catch {
    return null;
  }
}

const forget = () => sessionStorage.removeItem(PENDING);

function validPort(port) {
  if (!/^[0-9]{1,5}$/.test(port || "")) return null;
  const n = Number(port);
  return n >= 1 && n <= 65535 ? n : null;
}

/**
 * Keeps `button` disabled until the page has been visible and focused for
 * ARM_MS, and tells deliberate activations from accidental ones.
 */
function guard(button) {
  let timer = null;
  let busy = false;
  let focusedWhileArmed = false;
  const disarm = () => {
    clearTimeout(timer);
    timer = null;
    button.disabled = true;
    focusedWhileArmed = false;
    if (document.activeElement === button) button.blur();
  };
  const arm = () => {
    disarm();
    if (document.visibilityState !== "visible") return;
    timer = setTimeout(() => {
      timer = null;
      if (!busy) button.disabled = false;
    }, ARM_MS);
  };
  document.addEventListener("visibilitychange", arm);
  window.addEventListener("focus", arm);
  window.addEventListener("pageshow", arm);
  window.addEventListener("blur", disarm);
  button.addEventListener("focus", () => {
    focusedWhileArmed = !button.disabled && timer === null;
  });
  button.addEventListener("blur", () => {
    focusedWhileArmed = false;
  });
  arm();
  return {
    /** A real click while enabled: a pointer's, or a key's on the button the user moved to. */
    deliberate(event) {
      if (!event.isTrusted || button.disabled || busy) return false;
      if (event.detail > 0) return true;
      return document.activeElement === button && focusedWhileArmed;
    },
    busy(value) {
      busy = value;
      button.disabled = value || timer !== null;
    },
    stop() {
      document.removeEventListener("visibilitychange", arm);
      window.removeEventListener("focus", arm);
      window.removeEventListener("pageshow", arm);
      window.removeEventListener("blur", disarm);
      clearTimeout(timer);
      button.disabled = true;
    },
  };
}

const isLoopback = (ip) => ip === "::1" || /^127\./.test(ip);
const sameMachine = (a, b) => a === b || (isLoopback(a) && isLoopback(b));

/** What the server knows of this login: where its terminal asks from, and where it stands (null if unknown). */
async function inspect(nonce) {
  try {
    return await api("POST", "/api/v0/auth/cli/inspect", { nonce });
  } catch {
    return null;
  }
}

/** Why this login can no longer be approved, from its state; null while it can. */
function overReason(state) {
  if (state === "collected") {
    return "This login was already approved, and its terminal is signed in. Nothing more to do here; you can close this tab.";
  }
  if (state === "stopped") {
    return "The terminal stopped waiting for this login, so it can no longer be approved. Run `harmont login` again in your terminal.";
  }
  return null;
}

function showAddress(seen) {
  const from = seen.claimed_from;
  show("address", !!from);
  show("address-unseen", !from);
  if (from) $("claimed-from").textContent = from;
  const elsewhere = !!from && !sameMachine(from, seen.your_address);
  $("your-address").textContent = `This browser connects from ${seen.your_address}.`;
  show("address-warning", elsewhere);
}

/**
 * Keeps checking where the claims for this nonce come from, as the server
 * sees them (a terminal may start asking after the page opened), and whether
 * the login is still there to approve; `onOver` gets the reason when it is
 * not. Returns a function that stops the checks.
 */
function watchLogin(nonce, onOver) {
  let timer = null;
  let stopped = false;
  const until = Date.now() + INSPECT_FOR_MS;
  const check = async () => {
    const seen = await inspect(nonce);
    if (stopped) return;
    if (seen) {
      showAddress(seen);
      const over = overReason(seen.state);
      if (over) return onOver(over);
    }
    if (Date.now() < until) timer = setTimeout(check, INSPECT_EVERY_MS);
  };
  timer = setTimeout(check, INSPECT_EVERY_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function finished(text) {
  show("approve", false);
  show("paste", false);
  $("done-text").textContent = text;
  show("done");
  $("done-text").focus();
}

/** The login cannot be approved (any more): say why, with no Authorize button. */
function over(text) {
  show("approve", false);
  say("status", "");
  // `harmont login` in backticks is shown as code; the rest as text.
  $("over-text").replaceChildren(...text.split("`").map((part, i) => (i % 2 ? el("code", part) : part)));
  show("over");
}

/** "Ada Lovelace (ada@example.com)", or the email alone. */
const whoText = (me) => (me.name ? `${me.name} (${me.email})` : me.email);

async function approve(request, me) {
  if (!/^[A-Za-z0-9_-]{22,256}$/.test(request.nonce || "")) {
    say("status", "This login request is incomplete or damaged. Run harmont login again.", "error");
    forget();
    return;
  }
  $("who").textContent = whoText(me);
  $("host").textContent = request.host || "not reported";
  $("code").textContent = await verificationCode(request.nonce);
  $("session-length").textContent = duration(SESSION_SECONDS);
  // A used or abandoned login says so at once, without an Authorize button.
  const first = await inspect(request.nonce);
  if (first) {
    showAddress(first);
    const reason = overReason(first.state);
    if (reason) {
      forget();
      return over(reason);
    }
    if (first.state === "approved") {
      forget();
      return finished("This login is already approved. Return to your terminal.");
    }
  }
  const button = $("authorize");
  const guarded = guard(button);
  show("approve");
  let stopWatching = () => {};
  const end = (text) => {
    guarded.stop();
    stopWatching();
    forget();
    finished(text);
  };
  stopWatching = watchLogin(request.nonce, (reason) => {
    guarded.stop();
    stopWatching();
    forget();
    over(reason);
  });

  $("cancel").addEventListener("click", () => end("Cancelled. Nothing was sent to your terminal; you can close this tab."));
  button.addEventListener("click", async (event) => {
    if (!guarded.deliberate(event)) return;
    guarded.busy(true);
    say("status", "Authorizing…");
    // The terminal may have stopped since the last check: approving then
    // would end on the browser's "can't be reached" page.
    const now = await inspect(request.nonce);
    const reason = now && overReason(now.state);
    if (reason) {
      guarded.stop();
      stopWatching();
      forget();
      return over(reason);
    }
    const body = { nonce: request.nonce };
    if (request.code_challenge) body.code_challenge = request.code_challenge;
    try {
      await api("POST", "/api/v0/auth/cli/transfer", body);
    } catch (err) {
      guarded.busy(false);
      if (err instanceof ApiError && err.status === 401) return goSignIn("/cli-login");
      if (err instanceof ApiError && err.code === "nonce_in_use") {
        return end("This login was already authorized. Return to your terminal.");
      }
      say("status", err.message, "error");
      return;
    }
    guarded.stop();
    stopWatching();
    forget();
    const port = validPort(request.port);
    if (port) {
      say("status", "Authorized. Returning to your terminal…", "ok");
      const state = request.state ? `?state=${encodeURIComponent(request.state)}` : "";
      location.assign(`http://localhost:${port}/callback${state}`);
    } else {
      say("status", "");
      finished("Done, return to your terminal.");
    }
  });
}

function paste(request, me) {
  $("paste-who").textContent = whoText(me);
  show("paste");
  let timer = null;
  $("show-code").addEventListener("click", async () => {
    const button = $("show-code");
    button.disabled = true;
    say("status", "");
    let code, expiresIn;
    try {
      const body = request.code_challenge ? { code_challenge: request.code_challenge } : {};
      ({ code, expires_in: expiresIn } = await api("POST", "/api/v0/auth/cli/code", body));
    } catch (err) {
      button.disabled = false;
      if (err instanceof ApiError && err.status === 401) return goSignIn("/cli-login");
      say("status", err.message, "error");
      return;
    }
    forget();
    $("paste-code").textContent = code.match(/.{1,4}/g).join(" ");
    show("paste-result");
    // One live code at a time; a new one is offered once this one expires.
    button.hidden = true;
    button.textContent = "Show a new code";
    const expires = Date.now() + expiresIn * 1000;
    const tick = () => {
      const left = Math.max(0, Math.round((expires - Date.now()) / 1000));
      if (left === 0) {
        clearInterval(timer);
        $("paste-left").textContent = "This code has expired. Show a new one.";
        $("paste-code").classList.add("status");
        button.disabled = false;
        button.hidden = false;
        return;
      }
      const m = Math.floor(left / 60);
      const s = String(left % 60).padStart(2, "0");
      $("paste-left").textContent = `Expires in ${m}:${s}. Type it into your terminal; it works once.`;
    };
    clearInterval(timer);
    $("paste-code").classList.remove("status");
    tick();
    timer = setInterval(tick, 1000);
    say("copy-status", "", "inline-status");
    $("copy").onclick = async () => {
      try {
        await navigator.clipboard.writeText(code);
        say("copy-status", "Copied.", "inline-status ok");
      } catch {
        say("copy-status", "Copying is not allowed here; type the code instead.", "inline-status error");
      }
    };
  });
  $("show-code").focus();
}

/**
 * /cli-login/device: the short approval. The person types the code their
 * terminal printed; the page shows which terminal waits under it (as the
 * long URL's page does), and Authorize approves it there. The terminal's
 * nonce never comes to this page.
 */
function device(me) {
  $("device-who").textContent = whoText(me);
  $("switch").href = "/login?reauth=1&next=%2Fcli-login%2Fdevice";
  show("device");
  const input = $("user-code");
  const next = $("device-continue");
  const lookUp = async () => {
    const typed = input.value.trim();
    if (!typed) {
      say("status", "Enter the code your terminal shows, like ABCD-EFGH.", "error");
      return input.focus();
    }
    next.disabled = true;
    let found;
    try {
      found = await api("POST", "/api/v0/auth/cli/device/inspect", { user_code: typed });
    } catch (err) {
      next.disabled = false;
      if (err instanceof ApiError && err.status === 401) return goSignIn("/cli-login/device");
      say("status", err.message, "error");
      return input.focus();
    }
    say("status", "");
    show("device", false);
    const reason = overReason(found.state);
    if (reason) return over(reason);
    if (found.state === "approved") return finished("This login is already approved. Return to your terminal.");
    confirmDevice(found, me);
  };
  next.addEventListener("click", lookUp);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") lookUp();
  });
  input.focus();
}

/** The approval step of the short approval: the same facts and guard as the long URL's. */
function confirmDevice(found, me) {
  $("who").textContent = whoText(me);
  $("host").textContent = found.host || "not reported";
  $("code").textContent = found.user_code;
  $("session-length").textContent = duration(SESSION_SECONDS);
  showAddress({ claimed_from: found.requested_from, your_address: found.your_address });
  const button = $("authorize");
  const guarded = guard(button);
  show("approve");
  $("cancel").addEventListener("click", () => {
    guarded.stop();
    finished("Cancelled. Nothing was sent to your terminal; you can close this tab.");
  });
  button.addEventListener("click", async (event) => {
    if (!guarded.deliberate(event)) return;
    guarded.busy(true);
    say("status", "Authorizing…");
    try {
      await api("POST", "/api/v0/auth/cli/device/approve", { user_code: found.user_code });
    } catch (err) {
      guarded.busy(false);
      if (err instanceof ApiError && err.status === 401) return goSignIn("/cli-login/device");
      if (err instanceof ApiError && (err.code === "nonce_in_use" || err.code === "cli_code_invalid")) {
        guarded.stop();
        return over(err.message);
      }
      say("status", err.message, "error");
      return;
    }
    guarded.stop();
    say("status", "");
    finished("Done, return to your terminal.");
  });
}

async function main() {
  if (location.pathname === "/cli-login/device") {
    const me = await currentUser().catch(() => null);
    if (!me) return goSignIn("/cli-login/device");
    return device(me);
  }
  const request = readRequest();
  if (!request || (!request.paste && !request.nonce)) {
    say("status", "There is no login to approve here. Run harmont login in your terminal.");
    return;
  }
  const me = await currentUser().catch(() => null);
  if (!me) return goSignIn("/cli-login");
  if (request.paste) paste(request, me);
  else await approve(request, me);
}

main();
