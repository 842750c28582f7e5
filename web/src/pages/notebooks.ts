// Notebooks: the list with connect, stop, start and delete, and a form for a new
// server. The form writes a Notebook manifest and applies it like the Apply page.
import * as api from "../api";
import { badge, fill, h, table } from "../dom";
import { age } from "../format";
import type { PageContext } from "../main";
import { showError } from "../main";
import type { Notebook } from "../types";

// YAML scalars from the form are quoted as JSON strings (a subset of YAML), so a
// value can never add keys to the manifest.
function quoted(v: string): string {
  return JSON.stringify(v);
}

export function notebookManifest(f: { name: string; cpu: string; memory: string; gpus: string; workspace: string; cull: string }): string {
  const lines = [
    "apiVersion: cadre/v1",
    "kind: Notebook",
    "metadata:",
    `  name: ${quoted(f.name)}`,
    "spec:",
    "  template:",
    "    resources:",
    `      cpu: ${quoted(f.cpu)}`,
    `      memory: ${quoted(f.memory)}`,
  ];
  if (f.gpus && f.gpus !== "0") lines.push(`      gpu: ${Number(f.gpus)}`);
  if (f.workspace) lines.push("  workspace:", `    path: ${quoted(f.workspace)}`);
  if (f.cull) lines.push(`  idleCullingMinutes: ${Number(f.cull)}`);
  return `${lines.join("\n")}\n`;
}

export async function notebooksPage(ctx: PageContext): Promise<void> {
  const list = h("div", {});
  const message = h("div", { id: "notebook-message", role: "status" });
  const act = async (what: () => Promise<unknown>, done: string) => {
    fill(message);
    try {
      await what();
      fill(message, h("div", { class: "ok" }, done));
      await show();
    } catch (e) {
      showError(message, e);
    }
  };
  let seen = "";
  const show = async () => {
    const items = await api.listAll<Notebook>("notebooks");
    if (JSON.stringify(items) === seen) return;
    seen = JSON.stringify(items);
    fill(
      list,
      table(
        ["Name", "State", "Node", "GPUs", "Idle since", "Age", ""],
        items.map((n) => [
          n.name,
          [badge(n.state), n.message ? h("div", { class: "muted" }, n.message) : null],
          n.node,
          String(n.gpus),
          n.lastActivity ? age(n.lastActivity) : "",
          age(n.createdAt),
          h(
            "span",
            { class: "actions" },
            n.ready && n.url ? h("a", { href: n.url, target: "_blank", rel: "noopener", "data-action": "connect" }, "connect") : null,
            n.state === "Stopped"
              ? h("button", { type: "button", "data-action": "start", onclick: () => act(() => api.notebookAction(n.name, "start"), `${n.name} starting`) }, "start")
              : h("button", { type: "button", "data-action": "stop", onclick: () => act(() => api.notebookAction(n.name, "stop"), `${n.name} stopping`) }, "stop"),
            h(
              "button",
              {
                type: "button",
                "data-action": "delete",
                onclick: () => {
                  if (confirm(`Delete notebook ${n.name}? Its workspace is kept.`)) void act(() => api.remove("notebooks", n.name), `${n.name} deleted`);
                },
              },
              "delete",
            ),
          ),
        ]),
        { id: "notebooks" },
      ),
    );
  };
  const field = (name: string, label: string, value = "", attrs: Record<string, string> = {}) =>
    h("label", {}, label, h("input", { name, value, ...attrs }));
  const form = h(
    "form",
    { id: "new-notebook", class: "form" },
    field("name", "Name", "", { required: "true", pattern: "[a-z0-9]([a-z0-9\\-]*[a-z0-9])?", placeholder: "alice" }),
    field("cpu", "CPU (cores)", "1"),
    field("memory", "Memory", "2Gi"),
    field("gpus", "GPUs", "0", { type: "number", min: "0" }),
    field("workspace", "Workspace path", "", { placeholder: "default: under the checkpoint root" }),
    field("cull", "Stop after idle (minutes)", "", { type: "number", min: "1" }),
    h("button", { type: "submit" }, "Create"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const value = (k: string) => String(data.get(k) ?? "").trim();
    const manifest = notebookManifest({ name: value("name"), cpu: value("cpu"), memory: value("memory"), gpus: value("gpus"), workspace: value("workspace"), cull: value("cull") });
    void act(() => api.apply(manifest), `notebook ${value("name")} created`);
  });
  fill(ctx.root, h("h1", {}, "Notebooks"), message, list, h("h2", {}, "New notebook server"), form);
  await show();
  ctx.every(3000, show);
}
