// Drives the console and GraphiQL in headless Chromium against a running
// gateway: node console.mjs <base-url> <test-key> <screenshot-dir>.
// Every request must stay on loopback (others are aborted and reported),
// and the pages must log no errors. Each console page is audited with
// axe-core (WCAG 2.1 A/AA and best practice), driven by keyboard alone,
// and read at phone width without sideways scrolling. Prints one JSON
// report on stdout.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const [base, key, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"],
});
const report = { offLoopback: [], consoleErrors: [], steps: [], uploads: 0, a11y: {}, phoneOverflow: [] };
const step = (name) => report.steps.push(name);

/** Poll `check` on the element `selector` matches until it holds (no eval in the page: its CSP forbids it). */
async function until(p, selector, check, timeout = 60000) {
  const deadline = Date.now() + timeout;
  const element = p.locator(selector).first();
  await element.waitFor({ timeout });
  while (!(await element.evaluate(check))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${selector}`);
    await p.waitForTimeout(100);
  }
  return element;
}

/** axe-core's findings on the page as it is now (injected over CDP, which the page's CSP does not govern). */
async function audit(p, name) {
  if (!(await p.evaluate(() => typeof window.axe === "object"))) await p.evaluate(axeSource);
  report.a11y[name] = await p.evaluate(async () => {
    const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: tags } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  });
}

/**
 * Press Tab until the focused element is the one wanted (keyboard only, as
 * a person would): `wanted` is a pattern for its text or `#id`. The
 * element must show where focus is (an outline).
 */
async function tabTo(p, wanted, limit = 40) {
  for (let i = 0; i < limit; i++) {
    await p.keyboard.press("Tab");
    const focused = await p.evaluate(() => {
      const el = document.activeElement;
      const text = el ? (el.getAttribute("aria-label") || el.textContent || "").trim() : "";
      return { id: el ? el.id : "", text, outline: el ? getComputedStyle(el).outlineStyle : "none" };
    });
    const hit = typeof wanted === "string" ? focused.id === wanted.slice(1) : wanted.test(focused.text);
    if (hit) {
      if (focused.outline === "none") throw new Error(`${wanted} has focus but shows no outline`);
      return;
    }
  }
  throw new Error(`Tab never reached ${wanted}`);
}

async function page(width = 1280) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const p = await context.newPage();
  await p.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (["127.0.0.1", "localhost", "[::1]"].includes(url.hostname) || url.protocol === "data:" || url.protocol === "blob:") {
      return route.continue();
    }
    report.offLoopback.push(url.href);
    return route.abort();
  });
  p.on("console", (m) => { if (m.type() === "error") report.consoleErrors.push(m.text()); });
  p.on("pageerror", (e) => report.consoleErrors.push(String(e)));
  p.on("response", (r) => { if (r.url().endsWith("/uploads") && r.status() === 201) report.uploads += 1; });
  return p;
}

try {
  const p = await page();
  await p.goto(base + "/");
  await p.getByLabel("API key", { exact: false }).waitFor();
  await audit(p, "sign-in");
  await p.getByLabel("API key", { exact: false }).fill(key);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.getByRole("heading", { name: "Catalogue" }).waitFor();
  await p.getByRole("heading", { name: /^Video \(\d+\)$/ }).waitFor();
  await p.screenshot({ path: `${shots}/catalogue.png`, fullPage: false });
  await audit(p, "catalogue");
  step("catalogue");

  // An image in the playground: the result loads in an <img>.
  await p.goto(base + "/#/playground?provider=placeholder");
  await p.locator("#prompt").fill("A lighthouse at dusk");
  await p.locator("#type").selectOption("IMAGE");
  await p.getByRole("button", { name: "Generate" }).click();
  await until(p, ".result img", (i) => i.complete && i.naturalWidth > 0);
  await p.getByRole("tab", { name: "Python" }).click();
  await p.screenshot({ path: `${shots}/playground-image.png`, fullPage: true });
  await audit(p, "playground");
  step("image");

  // A video from an uploaded image (the file field uploads it first):
  // test keys render it as an animated image; the element loads.
  await p.locator("#type").selectOption("VIDEO");
  await p.locator("#prompt").fill("Waves rolling at night");
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM44aAARwzEcQDrwxKBA3OSYwAAAABJRU5ErkJggg==",
    "base64",
  );
  await p.locator("#image").setInputFiles({ name: "frame.png", mimeType: "image/png", buffer: png });
  await p.getByRole("button", { name: "Generate" }).click();
  await p.locator("#gen-status", { hasText: "completed" }).waitFor({ timeout: 60000 });
  await until(p, ".result img, .result video", (m) =>
    (m.tagName === "IMG" && m.complete && m.naturalWidth > 0) || (m.tagName === "VIDEO" && m.readyState >= 2));
  step("video");

  await p.goto(base + "/#/generations");
  await p.getByRole("heading", { name: "Recent generations" }).waitFor();
  await p.locator("tbody tr").nth(1).waitFor();
  await p.screenshot({ path: `${shots}/generations.png` });
  await audit(p, "generations");
  step("generations");

  await p.goto(base + "/#/account");
  await p.getByRole("heading", { name: "Credits" }).waitFor();
  await p.screenshot({ path: `${shots}/account.png` });
  await audit(p, "account");
  step("account");

  // Keys: make a test key, see it shown once, revoke it.
  await p.goto(base + "/#/keys");
  await p.getByRole("heading", { name: "API keys" }).waitFor();
  const rowsBefore = await p.locator("tbody tr").count();
  await p.getByRole("button", { name: "Create a test key" }).click();
  const fresh = await p.locator("#new-key").textContent({ timeout: 10000 });
  if (!fresh.startsWith("dt_test_")) throw new Error(`unexpected key ${fresh}`);
  await p.locator("tbody tr").nth(rowsBefore).waitFor();
  await p.screenshot({ path: `${shots}/keys.png` });
  await audit(p, "keys");
  p.once("dialog", (d) => d.accept());
  const prefix = fresh.slice(0, 12);
  await p.locator("tbody tr").filter({ hasText: prefix }).getByRole("button", { name: /Revoke/ }).click();
  await p.locator("tbody tr").filter({ hasText: prefix }).filter({ hasText: "revoked" }).waitFor();
  report.revokedPrefix = prefix;
  step("keys");

  // A phone-width screen: sign in, the catalogue still reads.
  const phone = await page(390);
  await phone.goto(base + "/");
  await phone.getByLabel("API key").fill(key);
  await phone.getByRole("button", { name: "Sign in" }).click();
  await phone.getByRole("heading", { name: "Catalogue" }).waitFor();
  await phone.screenshot({ path: `${shots}/catalogue-phone.png` });
  for (const view of ["catalogue", "playground", "generations", "account", "keys"]) {
    await phone.goto(`${base}/#/${view}`);
    await phone.locator("main h1").waitFor();
    await phone.waitForLoadState("networkidle");
    const wide = await phone.evaluate(() => {
      const width = window.innerWidth;
      if (document.documentElement.scrollWidth <= width) return null;
      // The outermost elements that stick out, to say what to fix.
      const out = [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > width + 1);
      const outermost = out.filter((e) => !out.includes(e.parentElement));
      const name = (e) => e.tagName.toLowerCase() + (e.id ? `#${e.id}` : "") + (e.className ? `.${String(e.className).split(" ")[0]}` : "");
      return `${document.documentElement.scrollWidth}px wide in a ${width}px screen: ${outermost.slice(0, 4).map(name).join(", ")}`;
    });
    if (wide) report.phoneOverflow.push(`${view}: ${wide}`);
  }
  step("phone");

  // Keyboard only, from a fresh browser: sign in, reach the playground
  // through the nav, generate an image.
  const k = await page();
  await k.goto(base + "/");
  await k.getByLabel("API key").waitFor();
  await k.keyboard.type(key);
  await k.keyboard.press("Enter");
  await k.getByRole("heading", { name: "Catalogue" }).waitFor();
  await audit(k, "signed-in");
  await k.reload();
  await k.getByRole("heading", { name: "Catalogue" }).waitFor();
  await tabTo(k, /^Playground$/);
  await k.keyboard.press("Enter");
  await k.getByRole("heading", { name: "Playground" }).waitFor();
  await tabTo(k, "#prompt");
  await k.keyboard.type("A kite over the dunes");
  await tabTo(k, /^Generate$/);
  await k.keyboard.press("Enter");
  await until(k, ".result img", (i) => i.complete && i.naturalWidth > 0);
  step("keyboard");

  // GraphiQL from the console's nav (same browser, so the key is in its
  // headers), offline: every script from the gateway.
  const g = p;
  await g.goto(base + "/#/catalogue");
  await g.getByRole("link", { name: "GraphiQL" }).click();
  await g.locator(".graphiql-container").waitFor({ timeout: 30000 });
  await g.screenshot({ path: `${shots}/graphiql.png` });
  step("graphiql");
} catch (e) {
  report.error = String(e && e.stack || e);
} finally {
  await browser.close();
  console.log(JSON.stringify(report));
}
