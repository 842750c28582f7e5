// The dashboard's only way to the cluster: /api/v1/ on this origin, with the
// browser's HttpOnly session cookie. Changes carry the session's CSRF token
// (X-Cadre-CSRF, from /api/v1/session); the browser adds Origin itself.
import type { Lineage } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Session {
  namespace: string;
  user: string;
  via: string;
  csrfToken?: string;
}

export interface Page<T> {
  items: T[];
  continue: string | null;
}

let session: Session | null = null;

// A browser without a session goes to the login page, and comes back here.
function toLogin(): never {
  const next = location.pathname.startsWith("/ui/") ? location.pathname : "/ui/";
  location.assign(`/login?next=${encodeURIComponent(next)}`);
  throw new ApiError(401, "logging in");
}

async function call<T>(method: string, path: string, body?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-Cadre-CSRF"] = session?.csrfToken ?? "";
    if (body !== undefined) headers["Content-Type"] = "application/yaml";
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, `the ingress did not answer (${String(e)})`);
  }
  if (response.status === 401 && method === "GET") toLogin();
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, `not JSON from ${path}: ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    const message = (json as { error?: string } | null)?.error ?? `${response.status} from ${path}`;
    throw new ApiError(response.status, message);
  }
  return json as T;
}

function base(kind: string): string {
  const ns = session?.namespace;
  const scoped = kind !== "nodes" && kind !== "queues" && kind !== "pipelines";
  return scoped && ns ? `/api/v1/namespaces/${encodeURIComponent(ns)}/${kind}` : `/api/v1/${kind}`;
}

export async function login(): Promise<Session> {
  session = await call<Session>("GET", "/api/v1/session");
  return session;
}

export function list<T>(kind: string, filters: Record<string, string> = {}): Promise<Page<T>> {
  const query = new URLSearchParams(filters).toString();
  return call<Page<T>>("GET", `${base(kind)}${query ? `?${query}` : ""}`);
}

// Every page of a list (the API gives at most 1000 at a time).
export async function listAll<T>(kind: string, filters: Record<string, string> = {}): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  do {
    const page: Page<T> = await list<T>(kind, { ...filters, limit: "1000", ...(after ? { continue: after } : {}) });
    out.push(...page.items);
    after = page.continue;
  } while (after);
  return out;
}

export function get<T>(kind: string, name: string): Promise<T> {
  return call<T>("GET", `${base(kind)}/${encodeURIComponent(name)}`);
}

export interface LogPiece {
  data: string;
  offset: number;
  nextOffset: number;
  finished: boolean;
}

export function logs(kind: string, name: string, replica: string, offset: number): Promise<LogPiece> {
  const q = new URLSearchParams({ offset: String(offset), maxBytes: String(256 * 1024) });
  if (replica) q.set("replica", replica);
  return call<LogPiece>("GET", `${base(kind)}/${encodeURIComponent(name)}/logs?${q}`);
}

export interface MetricPoint {
  replica: string;
  name: string;
  value: number;
  step: number;
  timeMs: number;
}

export function metrics(kind: string, name: string): Promise<{ points: MetricPoint[]; truncated: boolean }> {
  return call("GET", `${base(kind)}/${encodeURIComponent(name)}/metrics?maxPoints=20000`);
}

// What the ingress saw of a service per interval (its last hour).
export interface TrafficPoint {
  timeMs: number;
  requests: number;
  errors: number;
  requestsPerSecond: number;
  errorsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number } | null;
  inFlight: number;
  held: number;
}

export interface Traffic {
  name: string;
  intervalSeconds: number;
  points: TrafficPoint[];
}

export function traffic(name: string): Promise<Traffic> {
  return call("GET", `${base("inferenceservices")}/${encodeURIComponent(name)}/traffic`);
}

export function lineage(artifact: string, downstream: boolean): Promise<Lineage> {
  const q = new URLSearchParams({ artifact, direction: downstream ? "downstream" : "upstream" });
  const ns = session?.namespace;
  return call("GET", `${ns ? `/api/v1/namespaces/${encodeURIComponent(ns)}` : "/api/v1"}/lineage?${q}`);
}

export function apply(manifest: string): Promise<{ kind: string; name: string; action: string }> {
  const ns = session?.namespace;
  return call("POST", ns ? `/api/v1/namespaces/${encodeURIComponent(ns)}/apply` : "/api/v1/apply", manifest);
}

export function remove(kind: string, name: string, purge = false): Promise<{ name: string; deleted: boolean }> {
  return call("DELETE", `${base(kind)}/${encodeURIComponent(name)}${purge ? "?purge=true" : ""}`);
}

// As `cadre suspend|resume KIND/NAME`.
export function jobAction(kind: string, name: string, action: "suspend" | "resume"): Promise<{ name: string; phase: string; changed: boolean }> {
  return call("POST", `${base(kind)}/${encodeURIComponent(name)}/${action}`);
}

export function notebookAction(name: string, action: "stop" | "start"): Promise<{ name: string; action: string }> {
  return call("POST", `${base("notebooks")}/${encodeURIComponent(name)}/${action}`);
}

// The Open Inference Protocol (V2) at the ingress, as the browser's session: the
// ingress takes the session with its CSRF token for a service of its namespace.
export function v2<T>(method: "GET" | "POST", model: string, suffix: string, body?: unknown): Promise<T> {
  return v2call<T>(method, `/v2/models/${encodeURIComponent(model)}${suffix}`, body === undefined ? undefined : JSON.stringify(body));
}

async function v2call<T>(method: string, path: string, body?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", "X-Cadre-CSRF": session?.csrfToken ?? "" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, `not JSON from ${path}: ${text.slice(0, 200)}`);
  }
  if (!response.ok) throw new ApiError(response.status, (json as { error?: string } | null)?.error ?? `${response.status} from ${path}`);
  return json as T;
}

// A live read: the snapshots a watch stream (GET /api/v1/watch/...) sends when
// what `read` names changes. The browser reconnects a dropped stream by itself;
// an answer that cannot change by waiting (401, 403, 404) ends it. Returns a
// function that closes it.
export function watch<T>(read: string, onSnapshot: (value: T) => void, onError: (e: ApiError) => void): () => void {
  const source = new EventSource(`/api/v1/watch/${read}`);
  source.addEventListener("snapshot", (e) => onSnapshot(JSON.parse((e as MessageEvent).data) as T));
  source.addEventListener("error", (e) => {
    // The stream's own error event carries data; the browser's (a dropped
    // connection, which it retries) carries none.
    if (!(e instanceof MessageEvent) || !e.data) return;
    const problem = JSON.parse(e.data) as { error: string; status: number };
    if (problem.status === 401 || problem.status === 403 || problem.status === 404) source.close();
    onError(new ApiError(problem.status, problem.error));
  });
  return () => source.close();
}

// The watch path of one object of the caller's namespace (or a cluster-wide one).
export function objectPath(kind: string, name: string): string {
  return `${base(kind).slice("/api/v1/".length)}/${encodeURIComponent(name)}`;
}
