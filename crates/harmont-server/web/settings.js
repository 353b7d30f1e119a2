// /settings: sessions (revoke), passkeys (add, remove; the last one only
// after a warning; both only after a recent sign-in, else the page asks for
// one), linked single sign-on identities (unlink, refused by the server for
// the last way to sign in), API keys (create, shown once; list; revoke), and sign out, which
// revokes this browser's token.
import {
  $, ApiError, api, clientName, currentUser, deviceName, el, goSignIn, passkeyProblem, registerPasskey, say, show,
  timeNode, token, when,
} from "/assets/common.js";

/** A line of facts: text and <time> nodes, joined by " · ". */
function meta(parts) {
  const line = el("div", null, "meta");
  parts.forEach((part, i) => {
    if (i > 0) line.append(" · ");
    line.append(...part);
  });
  return line;
}

/** The server wants a recent sign-in before passkeys change (not a CLI session, not an old one). */
function needsReauth(err) {
  return err instanceof ApiError && err.status === 403 && err.code === "reauthentication_required";
}

function askReauth() {
  say("status", "");
  show("last-warning", false);
  show("reauth");
}

function failed(err) {
  if (err instanceof ApiError && err.status === 401) return goSignIn("/settings");
  if (needsReauth(err)) return askReauth();
  say("status", err.message || "Something went wrong.", "error");
}

async function loadSessions() {
  const { sessions } = await api("GET", "/api/v0/auth/sessions");
  const list = $("sessions");
  list.replaceChildren();
  show("others-actions", sessions.some((s) => !s.current));
  for (const s of sessions) {
    const item = el("li");
    item.dataset.session = s.id;
    const what = el("div", null, "what");
    const name = clientName(s.user_agent);
    const client = el("strong", name);
    if (s.user_agent) client.title = s.user_agent;
    what.append(client);
    if (s.current) what.append(" ", el("span", "this browser", "tag"));
    what.append(meta([
      ["Signed in ", timeNode(s.created_at)],
      ["last active ", timeNode(s.last_used_at || s.created_at)],
      ["expires ", timeNode(s.expires_at)],
      [s.ip || "address unknown"],
    ]));
    item.append(what);
    if (!s.current) {
      const revoke = el("button", "Revoke", "danger");
      revoke.type = "button";
      revoke.setAttribute("aria-label", `Revoke session: ${name}, signed in ${when(s.created_at)}`);
      revoke.addEventListener("click", async () => {
        revoke.disabled = true;
        try {
          await api("DELETE", `/api/v0/auth/sessions/${encodeURIComponent(s.id)}`);
          say("status", "Session revoked.", "ok");
          await loadSessions();
        } catch (err) {
          revoke.disabled = false;
          failed(err);
        }
      });
      item.append(revoke);
    }
    list.append(item);
  }
}

let pendingRemoval = null;

async function removePasskey(id) {
  try {
    await api("DELETE", `/api/v0/auth/passkeys/${encodeURIComponent(id)}`);
    say("status", "Passkey removed.", "ok");
    show("last-warning", false);
    await loadPasskeys();
  } catch (err) {
    failed(err);
  }
}

async function loadPasskeys() {
  const { passkeys } = await api("GET", "/api/v0/auth/passkeys");
  const list = $("passkeys");
  list.replaceChildren();
  if (passkeys.length === 0) list.append(el("li", "No passkeys yet. Add one to sign in without a link.", "status"));
  for (const p of passkeys) {
    const item = el("li");
    item.dataset.passkey = p.id;
    const what = el("div", null, "what");
    what.append(el("strong", p.name));
    what.append(meta([["Added ", timeNode(p.created_at)], ["last used ", timeNode(p.last_used_at)]]));
    const remove = el("button", "Remove", "danger");
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove passkey ${p.name}`);
    remove.addEventListener("click", () => {
      if (passkeys.length === 1) {
        pendingRemoval = p.id;
        show("last-warning");
        $("keep-last").focus();
      } else {
        removePasskey(p.id);
      }
    });
    item.append(what, remove);
    list.append(item);
  }
}

async function loadIdentities() {
  const [{ identities }, methods] = await Promise.all([
    api("GET", "/api/v0/auth/identities"),
    api("GET", "/api/v0/auth/methods", undefined, { bearer: null }).catch(() => ({ providers: [] })),
  ]);
  show("identities-section", identities.length > 0 || methods.providers.length > 0);
  const list = $("identities");
  list.replaceChildren();
  if (identities.length === 0) {
    list.append(el("li", "None linked. Signing in with a provider on the sign-in page links it.", "status"));
  }
  for (const i of identities) {
    const item = el("li");
    item.dataset.identity = i.id;
    const what = el("div", null, "what");
    what.append(el("strong", i.provider_name));
    if (i.email) what.append(" ", el("span", i.email));
    const used = i.last_used_at ? ` · last signed in ${when(i.last_used_at)}` : "";
    what.append(el("div", `Linked ${when(i.created_at)}${used}`, "meta"));
    const unlink = el("button", "Unlink", "danger");
    unlink.type = "button";
    unlink.setAttribute("aria-label", `Unlink ${i.provider_name}${i.email ? ` (${i.email})` : ""}`);
    unlink.addEventListener("click", async () => {
      unlink.disabled = true;
      try {
        await api("DELETE", `/api/v0/auth/identities/${encodeURIComponent(i.id)}`);
        say("status", `${i.provider_name} unlinked.`, "ok");
        await loadIdentities();
      } catch (err) {
        unlink.disabled = false;
        failed(err);
      }
    });
    item.append(what, unlink);
    list.append(item);
  }
}

async function loadKeys() {
  const { api_tokens: keys } = await api("GET", "/api/v0/user/api-tokens");
  const list = $("api-keys");
  list.replaceChildren();
  if (keys.length === 0) list.append(el("li", "No API keys.", "status"));
  for (const k of keys) {
    const item = el("li");
    item.dataset.key = k.id;
    const what = el("div", null, "what");
    what.append(el("strong", k.description || "API key"));
    what.append(meta([
      ["Created ", timeNode(k.created_at)],
      k.expires_at ? ["expires ", timeNode(k.expires_at)] : ["never expires"],
      ["last used ", timeNode(k.last_used_at)],
    ]));
    const revoke = el("button", "Revoke", "danger");
    revoke.type = "button";
    revoke.setAttribute("aria-label", `Revoke API key ${k.description || k.id}`);
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      try {
        await api("DELETE", `/api/v0/user/api-tokens/${encodeURIComponent(k.id)}`);
        say("status", "API key revoked.", "ok");
        await loadKeys();
      } catch (err) {
        revoke.disabled = false;
        failed(err);
      }
    });
    item.append(what, revoke);
    list.append(item);
  }
}

async function createKey() {
  const button = $("create-key");
  const description = $("key-description").value.trim();
  if (!description) {
    say("status", "Give the key a description, such as what it is for.", "error");
    $("key-description").focus();
    return;
  }
  const days = $("key-expiry").value;
  const body = { description };
  if (days !== "never") body.expires_at = new Date(Date.now() + Number(days) * 86400000).toISOString();
  button.disabled = true;
  try {
    const created = await api("POST", "/api/v0/user/api-tokens", body);
    $("new-key-value").textContent = created.token;
    show("new-key");
    $("key-description").value = "";
    say("status", "API key created.", "ok");
    await loadKeys();
    $("copy-key").focus();
  } catch (err) {
    failed(err);
  }
  button.disabled = false;
}

async function main() {
  const me = await currentUser().catch(() => null);
  if (!me) return goSignIn("/settings");
  $("who").textContent = me.name ? `${me.name} (${me.email})` : me.email;
  $("passkey-name").value = deviceName();
  show("account");
  try {
    await Promise.all([loadSessions(), loadPasskeys(), loadIdentities(), loadKeys()]);
  } catch (err) {
    return failed(err);
  }

  $("create-key").addEventListener("click", createKey);
  $("copy-key").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("new-key-value").textContent);
      say("copy-key-status", "Copied.", "inline-status ok");
    } catch {
      say("copy-key-status", "Could not copy: select the key and copy it yourself.", "inline-status error");
    }
  });
  $("done-key").addEventListener("click", () => {
    $("new-key-value").textContent = "";
    say("copy-key-status", "", "inline-status");
    show("new-key", false);
  });
  $("revoke-others").addEventListener("click", async () => {
    const button = $("revoke-others");
    button.disabled = true;
    try {
      const { revoked } = await api("POST", "/api/v0/auth/sessions/revoke-others");
      await loadSessions();
      say("status", revoked === 1 ? "Signed out 1 other session." : `Signed out ${revoked} other sessions.`, "ok");
    } catch (err) {
      failed(err);
    }
    button.disabled = false;
  });
  $("reauth-button").addEventListener("click", () => goSignIn("/settings", { reauth: true }));
  $("remove-last").addEventListener("click", () => pendingRemoval && removePasskey(pendingRemoval));
  $("keep-last").addEventListener("click", () => {
    pendingRemoval = null;
    show("last-warning", false);
  });
  $("add-passkey").addEventListener("click", async () => {
    const button = $("add-passkey");
    button.disabled = true;
    say("status", "Follow your browser's prompt to create the passkey…");
    try {
      await registerPasskey($("passkey-name").value);
      say("status", "Passkey added.", "ok");
      await loadPasskeys();
    } catch (err) {
      if (needsReauth(err)) askReauth();
      else say("status", passkeyProblem(err), "error");
    }
    button.disabled = false;
  });
  $("sign-out").addEventListener("click", async () => {
    try {
      await api("POST", "/api/v0/auth/logout");
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) return failed(err);
    }
    token.clear();
    location.assign("/login");
  });
}

main();
