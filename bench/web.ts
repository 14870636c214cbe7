/**
 * The playground's first verify: for each bundled example, a fresh page (the built site, served
 * locally, in Debian's chromium through playwright-core) opens the example and presses Verify; we
 * time the click until the verdict is on the page. Target: ≤ 100 ms per example (median of three
 * fresh pages). Unavailable where chromium is missing.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWeb } from '../web/build.js';
import { serve } from '../web/serve.js';
import type { Bench } from './bench.js';

const TARGET_MS = 100;
const PAGES = 3;
const chromiumPath = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path): path is string => !!path && existsSync(path),
);

/** In the page: press Verify and wait (frame by frame) for the verdict; milliseconds taken. */
const TIME_VERIFY = `(async () => {
  const old = document.querySelector('#verdict-word');
  if (old) old.textContent = '';
  const started = performance.now();
  document.querySelector('#verify').click();
  while (!document.querySelector('#verdict-word')?.textContent)
    await new Promise((resolve) => requestAnimationFrame(resolve));
  return performance.now() - started;
})()`;

export const bench: Bench = {
  description: `playground: click Verify to verdict on a fresh page, per example (target <= ${TARGET_MS} ms)`,
  unavailable: () =>
    chromiumPath ? undefined : 'chromium not found (apt-get install chromium, or set CHROMIUM)',
  async run() {
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-bench-web-'));
    await buildWeb(dir);
    const server = await serve(dir, 0);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu'],
    });
    try {
      const fresh = async () => {
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        await page.goto(base);
        await page.waitForSelector('body[data-ready=true]');
        return page;
      };
      const first = await fresh();
      const examples = await first.$$eval('#example option', (options) =>
        options.map((option) => option.getAttribute('value') ?? '').filter(Boolean),
      );
      await first.close();
      const rows: Array<Record<string, string | number>> = [];
      let worst = 0;
      for (const example of examples) {
        const times: number[] = [];
        for (let i = 0; i < PAGES; i++) {
          const page = await fresh();
          await page.selectOption('#example', example);
          await page.waitForSelector('#programs tr.selected');
          times.push((await page.evaluate(TIME_VERIFY)) as number);
          await page.close();
        }
        times.sort((a, b) => a - b);
        const median = times[Math.floor(times.length / 2)]!;
        worst = Math.max(worst, median);
        rows.push({
          example,
          'median ms': Number(median.toFixed(1)),
          'max ms': Number(times.at(-1)!.toFixed(1)),
        });
      }
      return {
        rows,
        summary: `slowest example ${worst.toFixed(1)} ms (median of ${PAGES} fresh pages), target ${TARGET_MS} ms`,
        met: examples.length > 0 && worst <= TARGET_MS,
      };
    } finally {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
