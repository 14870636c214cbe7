#!/usr/bin/env node
// The `tsbpf` command: runs the compiled CLI, bundled in dist/bundle/ (`npm run build`; `npm ci`
// and `npm pack` build it).
let main;
try {
  ({ main } = await import('../dist/bundle/main.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/bundle/main.js'))
    throw error;
  process.stderr.write('tsbpf: dist/ is missing: run `npm run build` in the tsbpf checkout first\n');
  process.exit(2);
}
// A reader that went away (`tsbpf btf dump … | head`) ends the command quietly, as with any Unix tool.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
process.exitCode = await main(process.argv.slice(2));
