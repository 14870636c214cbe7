// The playground in a real browser: Debian's chromium driven by playwright-core over the page as
// `npm run build:web` writes it. Open an example, verify it, break it, run it, share it. With
// TSBPF_WEB_SHOTS=DIR, a screenshot of each step goes there. Skips where chromium is missing.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { encode, programType } from '../src/index.js';
import { buildWeb } from './build.js';
import { serve } from './serve.js';
import { assembleSource, logSkipped, openObject, programListing, verifySubject } from './src/playground.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const shots = process.env.TSBPF_WEB_SHOTS;
const executablePath = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => !!p && existsSync(p),
);
const skip = executablePath
  ? false
  : 'chromium not found (apt-get install chromium, or set CHROMIUM to its path): browser test skipped';

// ---------------------------------------------------------------------------------------------
// Without a browser: the editable listing of every bundled example assembles back to its bytes.

const objects = [
  ...readdirSync(join(root, 'examples'))
    .filter((f) => f.endsWith('.bpf.o'))
    .map((f) => join(root, 'examples', f)),
  join(root, 'testdata/kernel/broken.bpf.o'),
];

test('every example program round-trips through the editable listing (bytes and source lines)', () => {
  for (const file of objects) {
    const object = openObject(file, new Uint8Array(readFileSync(file)));
    for (const program of object.spec.programs) {
      const listing = programListing(program);
      const back = assembleSource(listing);
      assert.deepEqual(encode(back.insns), encode(program.insns), `${file}:${program.name}`);
      assert.deepEqual(
        // Comments mark changes of line; columns within a line are not kept.
        back.lines.map((l) => l && `${l.file}:${l.line}`),
        program.lines.map((l) => l && `${l.file}:${l.line}`),
        `${file}:${program.name} source lines`,
      );
      assert.equal(back.editorLines.length, program.insns.length);
    }
  }
});

test('deleting a bounds check from the listing is rejected at the unchecked read, on its C line', () => {
  const file = join(root, 'examples/xdp_count.bpf.o');
  const object = openObject(file, new Uint8Array(readFileSync(file)));
  const program = object.spec.programs[0];
  const listing = programListing(program);
  const ok = verifySubject({ source: listing, type: programType(program)!, object, program: program.name });
  assert.equal(ok.result.accepted, true, ok.result.error?.message);
  const broken = listing.replace(/\n\tif r1 > r6 goto L\d+\n/, '\n');
  assert.notEqual(broken, listing);
  const bad = verifySubject({ source: broken, type: 'XDP', object, program: program.name });
  assert.equal(bad.result.accepted, false);
  assert.match(bad.result.error!.message, /offset is outside of the packet/);
  assert.equal(bad.result.error!.line?.line, 55);
  assert.match(broken.split('\n')[bad.errorLine! - 1], /r4 = \*\(u8 \*\)\(r7 \+ 0xc\)/);
});

test('the conformance dialect assembles and verifies', () => {
  const verdict = verifySubject({ source: 'mov %r0, 2\nexit\n', type: 'XDP' });
  assert.equal(verdict.assembled.syntax, 'conformance');
  assert.equal(verdict.result.accepted, true);
});

test('a program that runs into the complexity limit gets its verdict but no level-2 log', () => {
  const source = 'call 7\nr1 = 0\nloop:\nr1 += 1\nif r1 < r0 goto loop\nr0 = 2\nexit\n';
  const verdict = verifySubject({ source, type: 'XDP' }, 0);
  assert.equal(verdict.result.accepted, false);
  assert.equal(verdict.result.insnsProcessed, 1_000_001);
  assert.match(logSkipped(verdict.result) ?? '', /processed 1000001 instructions, more than the 100000/);
  const small = verifySubject({ source: 'mov %r0, 2\nexit\n', type: 'XDP' }, 0);
  assert.equal(logSkipped(small.result), undefined);
});

// ---------------------------------------------------------------------------------------------
// In chromium.

let browser: Browser | undefined;
let server: Server | undefined;
let dist = '';
let base = '';

before(async () => {
  if (skip) return;
  dist = mkdtempSync(join(tmpdir(), 'tsbpf-web-'));
  const built = await buildWeb(dist);
  console.log(
    `# app.js: ${(built.appBytes / 1024).toFixed(1)} KiB, ${(built.appGzipBytes / 1024).toFixed(1)} KiB gzipped`,
  );
  // The page runs in a browser alone: nothing of node's in the bundle, and it stays small.
  const app = readFileSync(join(dist, 'app.js'), 'utf8');
  assert.doesNotMatch(app, /["'`]node:\w+["'`]/, 'app.js imports a node: module');
  assert.ok(built.appGzipBytes <= 1024 * 1024, `app.js is ${built.appGzipBytes} bytes gzipped (> 1 MiB)`);
  server = await serve(dist, 0);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
  if (shots) mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  if (dist) rmSync(dist, { recursive: true, force: true });
});

async function open(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  // Nothing leaves the browser: every request stays on the page's own origin.
  page.on('request', (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith('data:'))
      errors.push(`request off the page's origin: ${request.url()}`);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]');
  return { page, errors };
}

/** Save a screenshot of the page as it is, when asked for (TSBPF_WEB_SHOTS); none checks anything. */
async function shot(page: Page, name: string): Promise<void> {
  if (shots) await page.screenshot({ path: join(shots, name) });
}

const editorText = (page: Page) =>
  page.evaluate(() => (window as unknown as { tsbpfSource: () => string }).tsbpfSource());

test('the playground: example, verify, break, run, share', { skip }, async () => {
  const { page, errors } = await open(base);

  // 1. Open an example: its programs, and its program as assembly with C source lines.
  await page.selectOption('#example', 'xdp_count.bpf.o');
  await page.waitForSelector('#programs tr.selected[data-program=xdp_count_protocols]');
  const listing = await editorText(page);
  assert.match(
    listing,
    /^; \.\/examples\/xdp_count\.bpf\.c:51:19 {2}if \(\(void \*\)\(eth \+ 1\) > data_end\)$/m,
  );
  assert.match(listing, /r1 = map\[idx:0\]/);
  assert.match((await page.textContent('#maps-spec'))!, /proto_stats \(percpu_array/);
  await shot(page, '1-example.png');

  // 1b. The BTF type browser: find the map's value type, read its members, follow a member's type.
  await page.click('#btf-panel summary');
  await page.fill('#btf-filter', 'proto_stat');
  await page.locator('tr.btf-type', { hasText: 'struct' }).first().click();
  assert.match((await page.textContent('#btf-heading'))!, /^\[\d+\] struct proto_stat — 16 bytes$/);
  assert.match((await page.textContent('#btf-detail'))!, /__u64 packets {2}offset 0, 8 bytes/);
  await shot(page, '1b-btf-browser.png');
  await page.locator('#btf-detail a.btf-ref', { hasText: '__u64' }).first().click();
  assert.match((await page.textContent('#btf-heading'))!, /^\[\d+\] typedef __u64 — 8 bytes$/);
  await page.click('#btf-panel summary');

  // 2. Verify: accepted.
  await page.click('#verify');
  assert.equal(await page.textContent('#verdict-word'), 'accepted');
  assert.match((await page.textContent('#log'))!, /processed \d+ insns/);
  assert.equal(await page.isVisible('#stepper'), true);
  await page.click('#step-next');
  assert.match((await page.textContent('#step-label'))!, /^step 2\//);
  assert.equal(await page.locator('#step-walk li.current').count(), 1);
  // The walk marks branches: the first path falls through or jumps at every conditional.
  assert.ok((await page.locator('#step-walk .flow-fall, #step-walk .flow-jump').count()) > 0);
  await page.click('#path-next');
  assert.match((await page.textContent('#step-label'))!, /path 2 \(from \d+ to \d+\)/);
  await shot(page, '2-verified.png');

  // 3. Break it: delete the first bounds check (data + 14 > data_end) in the editor.
  // (The step view scrolled the editor to path 2's instruction; the first check is near the top.)
  // A click can land on another line while the editor still scrolls (CodeMirror renders the
  // lines in view): click until the cursor's line (`.cm-activeLine`) is the check.
  const check = /^\s*if r1 > r6 goto L27$/;
  for (let attempt = 0; ; attempt++) {
    await page.evaluate(() => {
      document.querySelector('.cm-scroller')!.scrollTop = 0;
    });
    await page.waitForSelector('.cm-line:has-text("r1 += 0xe")');
    await page.locator('.cm-line', { hasText: check }).first().click();
    const active = (await page.textContent('.cm-activeLine')) ?? '';
    if (check.test(active)) break;
    assert.ok(attempt < 4, `the cursor stays off the bounds check (on '${active}')`);
  }
  await page.keyboard.press('End');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.press('Backspace');
  assert.doesNotMatch(await editorText(page), /r1 \+= 0xe\n\tif r1 > r6 goto L27/);
  await page.click('#verify');
  assert.equal(await page.textContent('#verdict-word'), 'rejected');
  assert.equal(await page.textContent('#error-message'), 'R7 offset is outside of the packet');
  assert.equal(await page.textContent('#error-summary'), 'packet read or write past the checked end');
  assert.match((await page.textContent('#error-hint'))!, /data \+ N > data_end/);
  assert.match(
    (await page.textContent('#error-source'))!,
    /xdp_count\.bpf\.c:55:21\n__u16 proto = eth->h_proto;/,
  );
  assert.match((await page.textContent('.cm-error-line'))!, /r4 = \*\(u8 \*\)\(r7 \+ 0xc\)/);
  assert.match(
    (await page.textContent('.cm-source-line'))!,
    /xdp_count\.bpf\.c:55:21 {2}__u16 proto = eth->h_proto;/,
  );
  // The walk ends at the error, on the failing instruction.
  assert.match((await page.textContent('#step-walk li.current'))!, /r4 = \*\(u8 \*\)\(r7 \+12\) ✗ error/);
  assert.match((await page.textContent('#step-notes'))!, /R7 offset is outside of the packet/);
  await shot(page, '3-rejected.png');

  // 4. Share the broken program with a changed packet list; the link rebuilds the same page.
  const packets =
    '# one TCP SYN\n00000000000100000000000208004500002800010000400600000a0000010a000002303900500000000000000000500200ff00000000\n';
  await page.fill('#packets', packets);
  await page.click('#share');
  // The link is written once the state is compressed (asynchronously).
  await page.waitForFunction("document.querySelector('#share-link')?.value.includes('#s=')");
  const link = await page.inputValue('#share-link');
  assert.match(link, /#s=[\w-]+$/);
  const broken = await editorText(page);
  const shared = await open(link);
  assert.equal(await editorText(shared.page), broken);
  assert.equal(await shared.page.inputValue('#packets'), packets);
  assert.equal(await shared.page.inputValue('#example'), 'xdp_count.bpf.o');
  // The link verified on opening and shows the step the sender had selected (the error's).
  assert.equal(await shared.page.textContent('#verdict-word'), 'rejected');
  assert.equal(await shared.page.textContent('#step-label'), await page.textContent('#step-label'));
  await shared.page.click('#verify');
  assert.equal(await shared.page.textContent('#verdict-word'), 'rejected');
  await shot(shared.page, '4-shared.png');
  assert.deepEqual(shared.errors, []);
  await shared.page.close();

  // 5. Run: the example again, on the packet (JIT), then on the sample capture (interpreter).
  await page.selectOption('#example', '');
  await page.selectOption('#example', 'xdp_count.bpf.o');
  await page.waitForSelector('#programs tr.selected[data-program=xdp_count_protocols]');
  assert.equal(await page.locator('.cm-error-line').count(), 0);
  await page.click('#run');
  await page.waitForSelector('#packets-table');
  assert.deepEqual(await page.locator('td.retval').allTextContents(), ['2 XDP_PASS']);
  assert.match(
    (await page.textContent('#run-summary'))!,
    /xdp_count_protocols \(XDP\) on 1 packet\(s\), jit: /,
  );
  assert.match(
    (await page.textContent('#maps-after'))!,
    /proto_stats[\s\S]*key: 6 +value: \{ packets: 1, bytes: 54 \}/,
  );
  // Before and after, key by key: the run changed slot 6 (TCP), nothing was there before.
  assert.match((await page.textContent('#maps-after tr.changed'))!, /^6—\{ packets: 1, bytes: 54 \}$/);
  await shot(page, '5-run.png');
  await page.check('input[name=input][value=sample]');
  await page.selectOption('#engine', 'interpreter');
  await page.click('#run');
  await page.waitForFunction(() =>
    document.querySelector('#run-summary')?.textContent?.includes('22 packet'),
  );
  assert.match((await page.textContent('#run-summary'))!, /on 22 packet\(s\), interpreter: /);
  // The same counts as `npm start` prints for this capture.
  const maps = (await page.textContent('#maps-after'))!;
  for (const line of [
    /key: 1 +value: \{ packets: 2, bytes: 160 \}/,
    /key: 6 +value: \{ packets: 16, bytes: 1306 \}/,
    /key: 17 +value: \{ packets: 3, bytes: 179 \}/,
    /key: 58 +value: \{ packets: 1, bytes: 123 \}/,
  ])
    assert.match(maps, line);
  await page.locator('#maps-after').scrollIntoViewIfNeeded();
  await shot(page, '6-capture.png');

  // 6. Open a .o with the file picker: the kernel tests' broken object, its unchecked program.
  await page.setInputFiles('#file', join(root, 'testdata/kernel/broken.bpf.o'));
  await page.click('#programs tr[data-program=xdp_unchecked]');
  await page.click('#verify');
  assert.equal(await page.textContent('#verdict-word'), 'rejected');
  assert.match(
    (await page.textContent('#error-source'))!,
    /broken\.bpf\.c:27:16\n__u32 first = \*\(__u32 \*\)data;/,
  );
  await shot(page, '7-file-picker.png');

  // 7. Drop a .o on the page: the tc classifier, run on the packet (hex input again).
  const dropped = readFileSync(join(root, 'examples/tc_classifier.bpf.o')).toString('base64');
  await page.evaluate((base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], 'tc_classifier.bpf.o'));
    document.dispatchEvent(
      new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }),
    );
  }, dropped);
  await page.waitForSelector('#programs tr.selected[data-program=classify]');
  assert.equal(await page.inputValue('#type'), 'SCHED_CLS');
  await page.check('input[name=input][value=hex]');
  await page.selectOption('#engine', 'jit');
  await page.click('#run');
  await page.waitForFunction(() => document.querySelector('#run-summary')?.textContent?.includes('classify'));
  assert.match((await page.locator('td.retval').first().textContent())!, /^\d+ TC_ACT_\w+$/);
  await shot(page, '8-dropped-tc.png');

  // 8. Plain assembly, no object: bpf_trace_printk from the stack, shown per packet.
  await page.selectOption('#example', '');
  assert.match((await page.textContent('#object-name'))!, /^none/);
  await page.click('.cm-content');
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText(
    'r1 = 0x216948 ; "Hi!"\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\ncall 6\nr0 = 1\nexit\n',
  );
  await page.selectOption('#type', 'XDP');
  await page.click('#verify');
  assert.equal(await page.textContent('#verdict-word'), 'accepted');
  await page.click('#run');
  await page.waitForSelector('#trace');
  assert.match((await page.textContent('#trace'))!, /^packet 1: Hi!$/m);
  assert.deepEqual(await page.locator('td.retval').allTextContents(), ['1 XDP_DROP']);
  await shot(page, '9-assembly-printk.png');

  // 9. A program that writes the packet, over a capture file the user opens (pcapng): the output
  // packets' changed bytes are marked.
  await page.click('.cm-content');
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText(
    'r2 = *(u32 *)(r1 + 4)\nr1 = *(u32 *)(r1 + 0)\nr3 = r1\nr3 += 1\nif r3 > r2 goto out\n*(u8 *)(r1 + 0) = 0xff\nout:\nr0 = 2\nexit\n',
  );
  await page.setInputFiles('#pcap-file', join(root, 'testdata/pcap/sample.pcapng'));
  await page.check('input[name=input][value=file]');
  await page.click('#run');
  await page.waitForFunction(() =>
    document.querySelector('#run-summary')?.textContent?.includes('22 packet'),
  );
  const marks = await page.locator('td.hex mark').allTextContents();
  assert.equal(marks.length, 22);
  assert.ok(
    marks.every((m) => m === 'ff'),
    marks.join(' '),
  );
  await shot(page, '10-capture-file-diff.png');

  // 10. Capabilities: a socket filter returning a pointer is fine for root, a leak for CAP_BPF.
  await page.click('.cm-content');
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText('r0 = r10\nexit\n');
  await page.selectOption('#type', 'SOCKET_FILTER');
  await page.click('#verify');
  assert.equal(await page.textContent('#verdict-word'), 'accepted');
  await page.selectOption('#caps', 'bpf');
  await page.click('#verify');
  assert.equal(await page.textContent('#verdict-word'), 'rejected');
  assert.equal(await page.textContent('#error-message'), 'R0 leaks addr as return value');
  await page.selectOption('#caps', 'root');

  // 11. Global variables after a run, by name and C type.
  await page.selectOption('#example', 'globals.bpf.o');
  await page.waitForSelector('#programs tr.selected[data-program=xdp_byte_quota]');
  await page.check('input[name=input][value=hex]');
  await page.click('#run');
  await page.waitForFunction(() =>
    document.querySelector('#run-summary')?.textContent?.includes('xdp_byte_quota'),
  );
  const globals = (await page.textContent('#maps-after'))!;
  assert.match(globals, /program_name = "tsbpf-globals"/);
  assert.match(globals, /packets_seen = 1\b/);
  // Initial values in the object panel, before any run; the run's change marked.
  assert.match((await page.textContent('#globals-before'))!, /program_name"tsbpf-globals"/);
  assert.match(
    (await page.locator('#maps-after tr.changed', { hasText: 'packets_seen' }).textContent())!,
    /^packets_seen01$/,
  );
  await page.locator('#maps-after').scrollIntoViewIfNeeded();
  await shot(page, '11-globals.png');

  // 12. Both engines on the sample capture: the same answers, each one's time.
  await page.check('input[name=input][value=sample]');
  await page.selectOption('#engine', 'both');
  await page.click('#run');
  await page.waitForSelector('#engine-verdict');
  assert.match(
    (await page.textContent('#engine-verdict'))!,
    /^same return values, packets, printk lines and maps/,
  );
  assert.deepEqual(await page.locator('#engine-compare td:first-child').allTextContents(), [
    'jit',
    'interpreter',
  ]);
  await page.locator('#engine-compare').scrollIntoViewIfNeeded();
  await shot(page, '12-engines.png');
  await page.selectOption('#engine', 'jit');

  // Every bundled example opens and gets a verdict, in this page (the time of a first Verify on a
  // fresh page, per example, is bench/web.ts's).
  for (const example of await page
    .locator('#example option')
    .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).filter(Boolean))) {
    await page.selectOption('#example', example);
    await page.waitForSelector(`#object-name:has-text("${example}")`);
    await page.evaluate(() => {
      const old = document.querySelector('#verdict-word');
      if (old) old.textContent = '';
      document.getElementById('verify')!.click();
    });
    await page.waitForFunction(() => document.querySelector('#verdict-word')?.textContent);
    assert.match((await page.textContent('#verdict-word'))!, /^(accepted|rejected)$/, example);
  }
  assert.deepEqual(errors, []);
});

test('a kernel verifier log pasted in, stepped state by state, and shared', { skip }, async () => {
  const { page, errors } = await open(base);
  const fixture = (name: string) =>
    readFileSync(join(root, `testdata/web/verifier-logs/${name}.txt`), 'utf8');

  // A branch and a spill (Linux 6.18, log_level 2): registers and the stack slot, step by step.
  await page.click('#kernel-log-panel summary');
  await page.fill('#kernel-log', fixture('branch_spill'));
  await page.click('#kernel-log-step');
  assert.match(
    (await page.textContent('#kernel-log-verdict'))!,
    /no error — 8 steps on 2 path\(s\), processed 8 insns/,
  );
  await page.click('#step-next');
  assert.match((await page.textContent('#step-label'))!, /^step 2\/8 · insn 1 · path 1 \(entry\)/);
  // The spill wrote fp-8 (new: marked as changed); R10 was only read.
  assert.match((await page.textContent('#step-stack tr.changed'))!, /^fp-8scalar\(id=1,/);
  assert.match((await page.textContent('#step-regs'))!, /R10fp0/);
  await page.click('#step-next');
  await page.click('#step-next');
  assert.match((await page.textContent('#step-walk li.current'))!, /^3: if r2 > 0xa goto pc\+2 ↓ 4$/);
  await shot(page, '13-kernel-log.png');
  await page.click('#path-next');
  assert.match((await page.textContent('#step-label'))!, /^step 8\/8 · insn 6 · path 2 \(from 3 to 6\)/);
  assert.match((await page.textContent('#step-regs'))!, /R2scalar\(id=1,smin=umin=umin32=11,/);

  // A rejection with the C source lines (BTF): the last step is the error, on its source line.
  await page.fill('#kernel-log', fixture('xdp_count_unchecked'));
  await page.click('#kernel-log-step');
  assert.match((await page.textContent('#kernel-log-error'))!, /R7 offset is outside of the packet/);
  await page.click('#step-last');
  assert.match(
    (await page.textContent('#step-source'))!,
    /^xdp_count\.bpf\.c:55 {2}__u16 proto = eth->h_proto;$/,
  );
  assert.match((await page.textContent('#step-walk li.current'))!, /✗ error$/);
  // The page opened on xdp_count: the log is about the editor's program, so its step is marked there.
  assert.match((await page.textContent('.cm-step-line'))!, /r4 = \*\(u8 \*\)\(r7 \+ 0xc\)/);
  await page.click('#step-prev');
  const label = (await page.textContent('#step-label'))!;

  // The link carries the pasted log and the selected step.
  await page.click('#share');
  await page.waitForFunction("document.querySelector('#share-link')?.value.includes('#s=')");
  const shared = await open(await page.inputValue('#share-link'));
  assert.equal(await shared.page.textContent('#step-label'), label);
  assert.match((await shared.page.textContent('#kernel-log-error'))!, /R7 offset is outside of the packet/);
  await shot(shared.page, '14-kernel-log-shared.png');
  assert.deepEqual(shared.errors, []);
  await shared.page.close();
  assert.deepEqual(errors, []);
});
