// Plays and seeks a video the gateway serves, in headless Chromium:
// node seek.mjs <base-url> <video-url>. The video element sits on the
// console's page (same origin, the console's CSP). Prints one JSON report:
// duration, where the seek landed, the HTTP statuses of the video's requests.
import { chromium } from "playwright-core";

const [base, url] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"],
});
const report = { statuses: [], offLoopback: [] };
try {
  const page = await browser.newPage();
  await page.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === "127.0.0.1" || host === "localhost") return route.continue();
    report.offLoopback.push(route.request().url());
    return route.abort();
  });
  page.on("response", (r) => { if (r.url().startsWith(url.split("?")[0])) report.statuses.push(r.status()); });
  await page.goto(base + "/");
  await page.evaluate((src) => {
    const video = document.createElement("video");
    video.id = "probe";
    video.muted = true;
    video.preload = "auto";
    video.src = src;
    document.body.append(video);
  }, url);
  const video = page.locator("#probe");
  const until = async (check, what) => {
    const deadline = Date.now() + 30000;
    while (!(await video.evaluate(check))) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}; ${await video.evaluate((v) => JSON.stringify({ ready: v.readyState, error: v.error && v.error.message }))}`);
      await page.waitForTimeout(100);
    }
  };
  await until((v) => v.readyState >= 1, "metadata");
  report.duration = await video.evaluate((v) => v.duration);
  await video.evaluate((v) => { v.currentTime = v.duration * 0.75; });
  await until((v) => !v.seeking && v.readyState >= 2, "the seek");
  report.seekedTo = await video.evaluate((v) => v.currentTime);
} catch (e) {
  report.error = String(e && e.stack || e);
} finally {
  await browser.close();
  console.log(JSON.stringify(report));
}
