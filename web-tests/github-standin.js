// A LOCAL STAND-IN FOR GITHUB, not GitHub: there is no local GitHub to test
// against. It speaks the documented parts harmont-auth uses, as GitHub
// Enterprise Server lays them out under one URL:
//   GET  /login/oauth/authorize     (client_id, redirect_uri, state, code_challenge S256 required)
//   POST /login/oauth/access_token  (client_id, client_secret, code, redirect_uri, code_verifier;
//                                    JSON with Accept: application/json; errors as 200 + "error")
//   GET  /api/v3/user, /api/v3/user/emails (Authorization: Bearer TOKEN)
// Its authorize page asks for a login instead of a GitHub session:
//   ada@example.com            -> primary email verified
//   unverified:ada@example.com -> primary email not verified
// and has a Cancel link (error=access_denied). The numeric user id is
// derived from the login. Environment: PORT (0 for any), CLIENT_ID, CLIENT_SECRET.
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";

const { PORT, CLIENT_ID, CLIENT_SECRET } = process.env;
const codes = new Map();
const tokens = new Map();
const b64url = (buf) => buf.toString("base64url");
const idOf = (login) => createHash("sha256").update(login).digest().readUInt32BE(0);
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function body(req) {
  let text = "";
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

createServer(async (req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${PORT}`);
  const q = url.searchParams;
  if (req.method === "GET" && url.pathname === "/login/oauth/authorize") {
    if (q.get("client_id") !== CLIENT_ID || q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
      res.writeHead(400).end("bad authorization request");
      return;
    }
    const back = (params) => `${q.get("redirect_uri")}?${new URLSearchParams({ ...params, state: q.get("state") })}`;
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><title>GitHub stand-in</title><h1>GitHub stand-in: authorize</h1>
      <form method="post" action="/login/oauth/authorize?${escape(q.toString())}">
      <input name="login" placeholder="login"><button>Authorize</button></form>
      <a href="${escape(back({ error: "access_denied" }))}">Cancel</a>`);
    return;
  }
  if (req.method === "POST" && url.pathname === "/login/oauth/authorize") {
    const login = (await body(req)).get("login");
    const code = b64url(randomBytes(20));
    codes.set(code, { login, challenge: q.get("code_challenge"), redirect: q.get("redirect_uri") });
    res.writeHead(302, { location: `${q.get("redirect_uri")}?${new URLSearchParams({ code, state: q.get("state") })}` });
    res.end();
    return;
  }
  if (req.method === "POST" && url.pathname === "/login/oauth/access_token") {
    const form = await body(req);
    const grant = codes.get(form.get("code"));
    codes.delete(form.get("code"));
    const verifier = form.get("code_verifier") || "";
    const ok = grant && form.get("client_id") === CLIENT_ID && form.get("client_secret") === CLIENT_SECRET
      && form.get("redirect_uri") === grant.redirect
      && b64url(createHash("sha256").update(verifier).digest()) === grant.challenge;
    if (!ok) return json(res, 200, { error: "bad_verification_code" });
    const token = `gho_${b64url(randomBytes(24))}`;
    tokens.set(token, grant.login);
    return json(res, 200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" });
  }
  const login = tokens.get((req.headers.authorization || "").replace(/^(Bearer|token) /, ""));
  if (req.method === "GET" && url.pathname.startsWith("/api/v3/")) {
    if (!login) return json(res, 401, { message: "Requires authentication" });
    const [verified, email] = login.startsWith("unverified:") ? [false, login.slice(11)] : [true, login];
    if (url.pathname === "/api/v3/user") {
      return json(res, 200, { id: idOf(login), login: email.split("@")[0], name: null, email: null });
    }
    if (url.pathname === "/api/v3/user/emails") {
      return json(res, 200, [
        { email: `${idOf(login)}+noreply@users.noreply.example`, primary: false, verified: true, visibility: null },
        { email, primary: true, verified, visibility: "private" },
      ]);
    }
  }
  json(res, 404, { message: "Not Found" });
}).listen(Number(PORT || 0), "127.0.0.1", function () {
  console.log(`github stand-in listening on http://127.0.0.1:${this.address().port}`);
});
