// The dashboard's shell: who is logged in, the navigation, and a router that
// renders one page per path under /ui/ without reloading. A page may ask to be
// refreshed while it is shown (`every`); leaving it stops that.
import "./style.css";
import "uplot/dist/uPlot.min.css";
import { ApiError, login } from "./api";
import { fill, h } from "./dom";
import { applyPage } from "./pages/apply";
import { experimentPage, experimentsPage } from "./pages/experiments";
import { jobPage, jobsPage } from "./pages/jobs";
import { notebooksPage } from "./pages/notebooks";
import { overviewPage } from "./pages/overview";
import { lineagePage } from "./pages/lineage";
import { pipelinesPage, runPage } from "./pages/pipelines";
import { servicePage, servicesPage } from "./pages/services";

export interface PageContext {
  root: HTMLElement;
  params: string[];
  // Calls `refresh` every `ms` while this page is shown and the tab visible.
  every(ms: number, refresh: () => Promise<void>): void;
  // Calls `close` when the page is left (a watch stream's closer).
  onLeave(close: () => void): void;
}

type Render = (ctx: PageContext) => Promise<void>;

const routes: [RegExp, Render, string][] = [
  [/^\/ui\/?$/, overviewPage, "overview"],
  [/^\/ui\/jobs\/?$/, jobsPage, "jobs"],
  [/^\/ui\/jobs\/([^/]+)$/, jobPage, "jobs"],
  [/^\/ui\/experiments\/?$/, experimentsPage, "experiments"],
  [/^\/ui\/experiments\/([^/]+)$/, experimentPage, "experiments"],
  [/^\/ui\/services\/?$/, servicesPage, "services"],
  [/^\/ui\/services\/([^/]+)$/, servicePage, "services"],
  [/^\/ui\/pipelines\/?$/, pipelinesPage, "pipelines"],
  [/^\/ui\/runs\/([^/]+)$/, runPage, "pipelines"],
  [/^\/ui\/lineage\/?$/, lineagePage, "pipelines"],
  [/^\/ui\/notebooks\/?$/, notebooksPage, "notebooks"],
  [/^\/ui\/apply\/?$/, applyPage, "apply"],
];

const nav: [string, string][] = [
  ["overview", "Overview"],
  ["jobs", "Jobs"],
  ["experiments", "Experiments"],
  ["services", "Inference services"],
  ["pipelines", "Pipelines"],
  ["notebooks", "Notebooks"],
  ["apply", "Apply"],
];

let timers: number[] = [];
let closers: (() => void)[] = [];
let generation = 0;

function stopTimers(): void {
  for (const t of timers) window.clearInterval(t);
  timers = [];
  for (const close of closers) close();
  closers = [];
}

export function showError(root: Element, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  root.prepend(h("div", { class: "error", role: "alert" }, message));
}

async function render(): Promise<void> {
  stopTimers();
  const mine = ++generation;
  const root = document.getElementById("page")!;
  const path = decodeURI(location.pathname);
  const route = routes.find(([re]) => re.test(path));
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.getAttribute("data-section") === route?.[2]);
  }
  if (!route) {
    fill(root, h("h1", {}, "Not found"), h("p", {}, `The dashboard has no page ${path}.`));
    return;
  }
  const [re, page] = route;
  const ctx: PageContext = {
    root,
    params: (re.exec(path) ?? []).slice(1),
    every(ms, refresh) {
      const timer = window.setInterval(() => {
        if (mine !== generation || document.visibilityState !== "visible") return;
        refresh().catch((e) => {
          if (!(e instanceof ApiError && e.status === 401)) console.warn("refresh:", e);
        });
      }, ms);
      timers.push(timer);
    },
    onLeave(close) {
      if (mine === generation) closers.push(close);
      else close();
    },
  };
  fill(root, h("p", { class: "muted" }, "Loading…"));
  try {
    await page(ctx);
  } catch (e) {
    if (mine === generation) {
      fill(root);
      showError(root, e);
    }
  }
}

export function navigate(path: string): void {
  history.pushState(null, "", path);
  void render();
}

async function start(): Promise<void> {
  fill(
    document.getElementById("nav")!,
    nav.map(([section, label]) =>
      h("a", { href: section === "overview" ? "/ui/" : `/ui/${section}`, "data-route": true, "data-section": section }, label),
    ),
  );
  // Links inside the dashboard change the page without a reload.
  document.addEventListener("click", (event) => {
    const a = (event.target as Element).closest("a[data-route]");
    if (!a || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(a.getAttribute("href")!);
  });
  window.addEventListener("popstate", () => void render());
  try {
    const who = await login();
    fill(document.getElementById("who")!, `namespace ${who.namespace}`);
  } catch (e) {
    showError(document.getElementById("page")!, e);
    return;
  }
  await render();
}

void start();
