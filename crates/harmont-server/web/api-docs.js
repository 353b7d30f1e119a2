// /docs/api: the API reference, rendered from our own OpenAPI document
// (/api/v0/openapi.json): every operation with its parameters, request body
// and responses, error codes linked to their pages. Text only (textContent):
// nothing from the document is ever parsed as HTML.
import { $, el, say, show } from "/assets/common.js";

const METHODS = ["get", "post", "put", "patch", "delete"];

/** Text with `code spans` (as the document's descriptions write them) as <code>, error codes linked. */
function prose(text, codes) {
  const out = document.createDocumentFragment();
  String(text || "").split("`").forEach((part, i) => {
    if (i % 2 === 0) return out.append(part);
    if (codes.has(part)) {
      const link = el("a");
      link.href = `/docs/errors/${part}`;
      link.append(el("code", part));
      out.append(link);
    } else {
      // A span with spaces (a header and its value) may wrap between its words, never inside one.
      out.append(el("code", part, part.includes(" ") ? "phrase" : undefined));
    }
  });
  return out;
}

/** A path as <code>, breakable after each slash only (never mid-word on a phone). */
function pathNode(path) {
  const code = el("code", null, "path");
  path.split("/").forEach((part, i) => {
    if (i > 0) code.append("/", document.createElement("wbr"));
    code.append(part);
  });
  return code;
}

/** A paragraph of `prose`. */
function para(text, codes) {
  const node = el("p");
  node.append(prose(text, codes));
  return node;
}

function resolve(doc, schema) {
  let s = schema;
  for (let i = 0; s && s.$ref && i < 10; i++) s = doc.components?.schemas?.[s.$ref.split("/").pop()];
  return s || {};
}

/** A schema's type in a few words: `string`, `Session[]`, `SessionInfo`, `string | null`. */
function typeName(doc, schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.oneOf || schema.anyOf) return (schema.oneOf || schema.anyOf).map((s) => typeName(doc, s)).join(" | ");
  if (Array.isArray(schema.type)) return schema.type.join(" | ") + (schema.items ? ` of ${typeName(doc, schema.items)}` : "");
  if (schema.type === "array") return `${typeName(doc, schema.items)}[]`;
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  return schema.format ? `${schema.type} (${schema.format})` : schema.type || "any";
}

/** The fields of an object schema as a definition list, nested objects one level deep. */
function fields(doc, schema, codes, depth = 0) {
  const s = resolve(doc, schema);
  const box = el("div");
  if (s.description && depth === 0) box.append(para(s.description, codes));
  const props = s.properties || {};
  const names = Object.keys(props);
  if (names.length === 0) {
    box.append(el("p", typeName(doc, schema) || "object", "mono"));
    return box;
  }
  const list = el("dl", null, "fields");
  const required = new Set(s.required || []);
  for (const name of names) {
    const p = props[name];
    const dt = el("dt");
    dt.append(el("code", name), " ", el("span", typeName(doc, p), "type"));
    if (required.has(name)) dt.append(" ", el("span", "required", "tag"));
    const dd = el("dd");
    const inner = resolve(doc, p);
    const text = p.description || inner.description || "";
    if (text) dd.append(prose(text, codes));
    const limits = [];
    if (inner.enum) limits.push(`one of ${inner.enum.map((v) => JSON.stringify(v)).join(", ")}`);
    if (inner.minLength !== undefined) limits.push(`at least ${inner.minLength} characters`);
    if (inner.maxLength !== undefined) limits.push(`at most ${inner.maxLength}`);
    if (inner.pattern) limits.push(`matches ${inner.pattern}`);
    if (limits.length) dd.append(el("div", limits.join("; "), "meta"));
    const items = inner.type === "array" ? resolve(doc, inner.items) : null;
    if (depth < 1 && p.$ref && inner.properties) dd.append(fields(doc, p, codes, depth + 1));
    if (depth < 1 && items && items.properties) dd.append(fields(doc, inner.items, codes, depth + 1));
    list.append(dt, dd);
  }
  box.append(list);
  return box;
}

// An anchor for each operation: its operationId, or with the method added
// where one operationId answers several methods (forward auth's verifyToken).
function anchor(op, method, shared, path) {
  if (!op.operationId) return `${method}-${path}`;
  return shared.has(op.operationId) ? `${op.operationId}-${method}` : op.operationId;
}

function operation(doc, path, method, op, codes, id) {
  const section = el("section", null, "operation");
  section.id = id;
  const h = el("h2");
  h.append(el("span", method.toUpperCase(), `method ${method}`), " ", pathNode(path));
  section.append(h);
  const meta = el("p", null, "meta");
  meta.append(el("code", id));
  if (op.tags?.length) meta.append(` · ${op.tags.join(", ")}`);
  const secured = (op.security || doc.security || []).some((req) => Object.keys(req).length > 0);
  if (secured) meta.append(" ", el("span", "bearer", "tag"));
  section.append(meta);
  if (op.summary) section.append(para(op.summary, codes));
  if (op.description && op.description !== op.summary) section.append(para(op.description, codes));

  const params = op.parameters || [];
  if (params.length) {
    section.append(el("h3", "Parameters"));
    const list = el("dl", null, "fields");
    for (const p of params) {
      const dt = el("dt");
      dt.append(el("code", p.name), " ", el("span", `${p.in}${p.schema ? `, ${typeName(doc, p.schema)}` : ""}`, "type"));
      if (p.required) dt.append(" ", el("span", "required", "tag"));
      const dd = el("dd");
      dd.append(prose(p.description || "", codes));
      list.append(dt, dd);
    }
    section.append(list);
  }
  if (op.requestBody) {
    section.append(el("h3", op.requestBody.required ? "Request body (JSON)" : "Request body (JSON, optional)"));
    const content = op.requestBody.content?.["application/json"];
    if (op.requestBody.description) section.append(para(op.requestBody.description, codes));
    if (content?.schema) section.append(fields(doc, content.schema, codes));
  }
  section.append(el("h3", "Responses"));
  const list = el("dl", null, "responses");
  for (const [status, response] of Object.entries(op.responses || {})) {
    const dt = el("dt");
    dt.append(el("span", status, `status s${status[0]}`));
    const schema = response.content?.["application/json"]?.schema;
    if (schema) dt.append(" ", el("span", typeName(doc, schema), "type"));
    const dd = el("dd");
    dd.append(prose(response.description || "", codes));
    if (schema && status.startsWith("2")) dd.append(fields(doc, schema, codes));
    const headers = Object.keys(response.headers || {});
    if (headers.length) dd.append(el("div", `Headers: ${headers.join(", ")}`, "meta"));
    list.append(dt, dd);
  }
  section.append(list);
  return section;
}

async function main() {
  let doc;
  let codes = new Set();
  try {
    const response = await fetch("/api/v0/openapi.json", { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    doc = await response.json();
  } catch (err) {
    say("status", `Could not load the OpenAPI document (${err.message}).`, "error");
    return;
  }
  // Error codes are linked to their pages where descriptions name them.
  try {
    const index = await fetch("/docs/errors", { cache: "no-store" }).then((r) => r.text());
    codes = new Set([...index.matchAll(/\/docs\/errors\/([a-z_]+)"/g)].map((m) => m[1]));
  } catch {
    codes = new Set();
  }
  say("status", "");
  $("title").textContent = `${doc.info?.title || "API"} reference`;
  $("api-description").textContent = doc.info?.description || "";
  $("base-url").textContent = location.origin;
  const toc = $("toc");
  const ops = $("operations");
  const seen = new Set();
  const shared = new Set();
  for (const item of Object.values(doc.paths || {})) {
    for (const method of METHODS) {
      const id = item[method]?.operationId;
      if (id && seen.has(id)) shared.add(id);
      if (id) seen.add(id);
    }
  }
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const section = operation(doc, path, method, op, codes, anchor(op, method, shared, path));
      ops.append(section);
      const li = el("li");
      const link = el("a");
      link.href = `#${section.id}`;
      link.append(el("span", method.toUpperCase(), `method ${method}`), " ", pathNode(path));
      li.append(link);
      toc.append(li);
    }
  }
  show("intro");
  if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
}

main();
