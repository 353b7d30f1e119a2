// Shared by every page: the API client, where the session token lives,
// WebAuthn encoding, and the verification code. Nothing here writes HTML
// from data: text goes in through textContent only.

const TOKEN_KEY = "harmont.token";

/** The session token lives only in this browser (localStorage), never in a URL. */
export const token = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (value) => localStorage.setItem(TOKEN_KEY, value),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.error ? body.error : {};
    super(detail.message || `Request failed (${status})`);
    this.status = status;
    this.code = detail.code || "";
    this.docUrl = detail.doc_url || "";
  }
}

/**
 * Calls the JSON API. Sends the stored session token when there is one, or
 * `options.bearer` when given (`null`: no token at all).
 */
export async function api(method, path, body, options = {}) {
  const headers = { Accept: "application/json" };
  const t = options.bearer === undefined ? token.get() : options.bearer;
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** The signed-in user, or null (and the stale token forgotten). */
export async function currentUser() {
  if (!token.get()) return null;
  try {
    return await api("GET", "/api/v0/user");
  } catch (err) {
    if (err.status === 401) {
      token.clear();
      return null;
    }
    throw err;
  }
}

/**
 * Stores a token the browser just signed in with. A session it replaces (a
 * switch of account, a fresh sign-in) is logged out on the server first,
 * never just forgotten.
 */
export async function adoptToken(fresh) {
  const old = token.get();
  if (old && old !== fresh) {
    try {
      await api("POST", "/api/v0/auth/logout", undefined, { bearer: old });
    } catch (err) {
      // Already ended (401) is what we wanted; anything else must not leave
      // the user signed in as nobody, so the new token is stored regardless.
      if (!(err instanceof ApiError && err.status === 401)) console.warn("could not log out the previous session");
    }
  }
  token.set(fresh);
}

/** Sends the browser to sign in, to come back to `next` (a path on this site). */
export function goSignIn(next, { reauth = false } = {}) {
  location.assign(`/login?${reauth ? "reauth=1&" : ""}next=${encodeURIComponent(safeNext(next))}`);
}

/**
 * A path on this site to return to (path, query and fragment only), or the
 * settings page. `raw` must be a path: it is resolved against this origin,
 * as the browser would (tabs and newlines dropped, backslashes read as
 * slashes), and anything that leaves the origin, or a path starting with
 * `//` that a browser would take for another host, falls back.
 */
export function safeNext(raw, fallback = "/settings") {
  if (typeof raw !== "string" || !raw.startsWith("/")) return fallback;
  let url;
  try {
    url = new URL(raw, location.origin);
  } catch {
    return fallback;
  }
  if (url.origin !== location.origin || url.pathname.startsWith("//")) return fallback;
  return url.pathname + url.search + url.hash;
}

export const $ = (id) => document.getElementById(id);

export function show(id, visible = true) {
  $(id).hidden = !visible;
}

/** Writes a message into an element (a live region on every page). */
export function say(id, text, kind = "") {
  const el = $(id);
  el.textContent = text;
  el.className = kind;
}

/** Creates an element with text content only. */
export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function when(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

// Days up to two months ("in 30 days" reads better than "in 4 weeks").
const UNITS = [["year", 31536000, 31536000], ["month", 2592000, 5184000], ["day", 86400, 86400], ["hour", 3600, 3600], ["minute", 60, 60]];

/** "2 minutes ago", "in 30 days", "just now": an ISO time relative to now. */
export function ago(iso, now = Date.now()) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return iso || "never";
  const seconds = Math.round((date.getTime() - now) / 1000);
  if (Math.abs(seconds) < 45) return "just now";
  const format = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  for (const [unit, size, from] of UNITS) {
    if (Math.abs(seconds) >= from) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(Math.round(seconds / 60) || Math.sign(seconds), "minute");
}

/** A <time> that reads relative ("2 minutes ago") and shows the exact time on hover. */
export function timeNode(iso) {
  if (!iso) return document.createTextNode("never");
  const node = el("time", ago(iso));
  node.dateTime = iso;
  node.title = when(iso);
  return node;
}

/** A duration in seconds as a person says it: "60 seconds", "5 minutes", "30 days". */
export function duration(seconds) {
  const say = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (seconds >= 2 * 86400 && seconds % 86400 === 0) return say(seconds / 86400, "day");
  if (seconds >= 2 * 3600 && seconds % 3600 === 0) return say(seconds / 3600, "hour");
  if (seconds >= 2 * 60 && seconds % 60 === 0) return say(seconds / 60, "minute");
  return say(seconds, "second");
}

/** A window the server is configured with (`<meta name="harmont:NAME">`), in seconds. */
export function serverWindow(name, fallback) {
  const value = Number(document.querySelector(`meta[name="harmont:${name}"]`)?.content);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * What a person calls the client that holds a session, from the user agent it
 * sent: "Chrome on Linux", "harmont CLI on vm", "operator token".
 */
export function clientName(ua) {
  if (!ua) return "Unknown client";
  const cli = /^([A-Za-z][\w.-]*)\/[^\s]+ \(([^;)]*);\s*([^)]*)\)/.exec(ua);
  if (cli && !/^Mozilla$/.test(cli[1])) return cli[3] ? `${cli[1]} CLI on ${cli[3]}` : `${cli[1]} CLI`;
  if (/^harmont-auth token mint/.test(ua)) return "Token from the operator";
  if (/^Mozilla\//.test(ua)) return deviceName(ua);
  return ua.length > 60 ? `${ua.slice(0, 57)}…` : ua;
}

// --- WebAuthn: the server speaks base64url, the browser ArrayBuffers. ---

export function b64urlToBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "===".slice((b64.length + 3) % 4);
  const raw = atob(padded);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out.buffer;
}

export function bytesToB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Drops nulls, which the WebAuthn dictionaries do not accept. */
function clean(value) {
  if (Array.isArray(value)) return value.map(clean);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = clean(v);
    return out;
  }
  return value;
}

export function creationOptions(options) {
  const pk = clean(options.publicKey);
  pk.challenge = b64urlToBytes(pk.challenge);
  pk.user.id = b64urlToBytes(pk.user.id);
  pk.excludeCredentials = (pk.excludeCredentials || []).map((c) => ({ ...c, id: b64urlToBytes(c.id) }));
  return { publicKey: pk };
}

export function requestOptions(options) {
  const pk = clean(options.publicKey);
  pk.challenge = b64urlToBytes(pk.challenge);
  pk.allowCredentials = (pk.allowCredentials || []).map((c) => ({ ...c, id: b64urlToBytes(c.id) }));
  return { publicKey: pk };
}

export function registrationJson(cred) {
  const r = cred.response;
  return {
    id: cred.id,
    rawId: bytesToB64url(cred.rawId),
    type: cred.type,
    response: {
      attestationObject: bytesToB64url(r.attestationObject),
      clientDataJSON: bytesToB64url(r.clientDataJSON),
      transports: typeof r.getTransports === "function" ? r.getTransports() : undefined,
    },
    extensions: cred.getClientExtensionResults(),
  };
}

export function assertionJson(cred) {
  const r = cred.response;
  return {
    id: cred.id,
    rawId: bytesToB64url(cred.rawId),
    type: cred.type,
    response: {
      authenticatorData: bytesToB64url(r.authenticatorData),
      clientDataJSON: bytesToB64url(r.clientDataJSON),
      signature: bytesToB64url(r.signature),
      userHandle: r.userHandle ? bytesToB64url(r.userHandle) : null,
    },
    extensions: cred.getClientExtensionResults(),
  };
}

export function passkeysSupported() {
  return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

/** Signs in with any passkey this browser holds for the site; stores the token (see `adoptToken`). */
export async function signInWithPasskey() {
  const started = await api("POST", "/api/v0/auth/passkeys/sign-in/start", undefined, { bearer: null });
  const cred = await navigator.credentials.get(requestOptions(started.options));
  const done = await api(
    "POST",
    "/api/v0/auth/passkeys/sign-in/finish",
    { ceremony: started.ceremony, credential: assertionJson(cred) },
    { bearer: null },
  );
  await adoptToken(done.token);
}

/** Registers a passkey for the signed-in user. */
export async function registerPasskey(name) {
  const started = await api("POST", "/api/v0/auth/passkeys/register/start");
  const cred = await navigator.credentials.create(creationOptions(started.options));
  return api("POST", "/api/v0/auth/passkeys/register/finish", {
    ceremony: started.ceremony,
    credential: registrationJson(cred),
    name,
  });
}

/** A short name for this browser, to tell passkeys apart. */
export function deviceName(ua = navigator.userAgent) {
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrom(e|ium)\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac OS X/.test(ua) ? "macOS" : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
  return os ? `${browser} on ${os}` : browser;
}

/** Why a WebAuthn call failed, in words. */
export function passkeyProblem(err) {
  if (err && err.name === "NotAllowedError") return "The passkey request was cancelled or timed out.";
  if (err && err.name === "InvalidStateError") return "This device already has a passkey for your account.";
  if (err instanceof ApiError) return err.message;
  return "Something went wrong with the passkey. Try again.";
}

// --- The verification code: the same derivation as harmont_wire::verification. ---

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** SHA-256("harmont-verify:" + nonce), first 40 bits, 8 Crockford base32 characters, "XXXX-XXXX". */
export async function verificationCode(nonce) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`harmont-verify:${nonce}`)));
  let bits = 0n;
  for (let i = 0; i < 5; i++) bits = (bits << 8n) | BigInt(digest[i]);
  let out = "";
  for (let i = 7; i >= 0; i--) out += CROCKFORD[Number((bits >> BigInt(i * 5)) & 31n)];
  return `${out.slice(0, 4)}-${out.slice(4)}`;
}
