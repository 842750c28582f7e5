// Building the page without HTML strings: every user-given string (job names,
// labels, log lines, metric names) reaches the DOM as a text node or an attribute
// value, never as markup, so nothing a user writes can run as script.

export type Child = Node | string | number | null | undefined | false | Child[];
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

function set(el: Element, attrs: Attributes): void {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(key.replace(/^on/, ""), value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

// h("a", {href: "/ui/jobs"}, "Jobs"): an HTML element.
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  set(el, attrs);
  append(el, children);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

// s("circle", {cx: 1, cy: 2, r: 3}): an SVG element.
export function s(tag: string, attrs: Attributes = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  set(el, attrs);
  append(el, children);
  return el as SVGElement;
}

// Replaces what `parent` holds.
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

// A link inside the dashboard: followed without reloading the page.
export function link(path: string, ...children: Child[]): HTMLAnchorElement {
  return h("a", { href: path, "data-route": true }, ...children);
}

export function table(headers: string[], rows: Child[][], attrs: Attributes = {}): HTMLTableElement {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      rows.length === 0
        ? h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "none"))
        : rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))),
    ),
  );
}

// A phase or state as a coloured badge.
export function badge(phase: string): HTMLSpanElement {
  return h("span", { class: `badge phase-${phase.toLowerCase()}`, "data-phase": phase }, phase);
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", {}, h("h2", {}, title), ...children);
}
