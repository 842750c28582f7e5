// Apply: paste or upload a manifest (YAML, as `cadre apply -f`); what the
// coordinator says is wrong comes back with its field path.
import * as api from "../api";
import { fill, h, link } from "../dom";
import type { PageContext } from "../main";
import { showError } from "../main";

const detailPath: Record<string, string> = {
  Job: "jobs",
  TrainJob: "jobs",  // one page for both kinds
  Experiment: "experiments",
  InferenceService: "services",
  Notebook: "notebooks",
  PipelineRun: "runs",
};

export async function applyPage(ctx: PageContext): Promise<void> {
  const text = h("textarea", { id: "manifest", name: "manifest", rows: 24, spellcheck: "false", placeholder: "apiVersion: cadre/v1\nkind: TrainJob\n..." });
  const file = h("input", { type: "file", accept: ".yaml,.yml,.json", id: "manifest-file" });
  const result = h("div", { id: "apply-result", role: "status" });
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (f) text.value = await f.text();
  });
  const form = h("form", { class: "form wide" }, text, h("div", {}, file, h("button", { type: "submit", id: "apply" }, "Apply")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    fill(result);
    try {
      const r = await api.apply(text.value);
      const section = detailPath[r.kind];
      const where = section === "notebooks" ? "/ui/notebooks" : section ? `/ui/${section}/${encodeURIComponent(r.name)}` : "";
      fill(result, h("div", { class: "ok" }, `${r.kind.toLowerCase()}/${r.name} ${r.action}`, where ? [" — ", link(where, "open it")] : null));
    } catch (err) {
      showError(result, err);
    }
  });
  fill(ctx.root, h("h1", {}, "Apply a manifest"), h("p", { class: "muted" }, "YAML as cadre apply -f takes it: Job, TrainJob, Experiment, InferenceService, Pipeline, PipelineRun, RecurringRun, Notebook."), result, form);
}
