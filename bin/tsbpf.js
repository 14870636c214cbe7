#!/usr/bin/env node
// The `tsbpf` command: runs the bundled CLI in dist/bundle/ (`npm run build`; `npm ci` and
// `npm pack` build it). CommonJS (bin/package.json), like the bundle's chunks, which it loads
// itself with `vm.Script` and V8's code cache for them, so that a short command neither starts
// Node's ESM loader nor compiles our code from source: see scripts/bundle-cli.mjs.
//
// The code caches: dist/bundle/code-cache/<node>/, made by the build for the Node that built it;
// for another Node, made by the first runs under $XDG_CACHE_HOME/tsbpf/ (~/.cache/tsbpf/), keyed
// by the bundle's build id. V8 refuses a cache of another V8 or other flags and compiles from
// source; a cache folder that cannot be written is left alone.
'use strict';
const {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} = require('node:fs');
const { join, sep } = require('node:path');
const { Script } = require('node:vm');

const BUNDLE = join(__dirname, '../dist/bundle');
/** Which Node a code cache is for. */
const NODE_KEY = `${process.version}-${process.arch}`;
const BUILD_ID = /^\/\/ tsbpf-bundle ([0-9a-f]+)\n/;

/**
 * The bundle's chunks as CommonJS modules, compiled with a code cache when one is at hand. A file
 * of the bundle is one chunk's module function, or a group of the chunks that the common commands
 * load together (`[[name, function], …]`, scripts/bundle-cli.mjs): one file to read and one
 * script to compile for them. main.js's group lists which file holds each grouped chunk.
 */
class BundleLoader {
  /** @param {string} dir the bundle's folder */
  constructor(dir) {
    this.dir = dir.length > 1 && dir.endsWith(sep) ? dir.slice(0, -1) : dir;
    /** @type {Map<string, { exports: unknown }>} chunk file name → module */
    this.modules = new Map();
    /** @type {Map<string, Function>} chunk name → its module function, for the chunks read so far */
    this.defined = new Map();
    /** @type {Record<string, string>} chunk name → the file that holds it, for the grouped chunks */
    this.files = {};
    /** @type {Array<{ name: string, script: Script, cached: boolean }>} files in load order */
    this.scripts = [];
    /** Where code caches are read from (undefined: none). */
    this.cacheDir = undefined;
    // Packages resolve from here as from dist/bundle/: both look in the package's node_modules
    // first (`node:module`'s createRequire would load Node's ESM loader for nothing).
    this.require = (specifier) =>
      specifier.startsWith('./') ? this.load(specifier.slice(2)) : require(specifier);
  }

  /** A chunk's exports, running it (reading its file first, if not read yet) the first time. */
  load(name, source) {
    const loaded = this.modules.get(name);
    if (loaded) return loaded.exports;
    const file = Object.hasOwn(this.files, name) ? this.files[name] : name;
    if (!this.defined.has(name)) this.read(file, source);
    const define = this.defined.get(name);
    if (define === undefined) throw new Error(`tsbpf bundle: ${file} has no chunk ${name}`);
    const module = { exports: {} };
    this.modules.set(name, module);
    define(module.exports, this.require, module, this.dir + sep + file, this.dir);
    return module.exports;
  }

  /** Compile a file of the bundle (with its code cache, if any) and note the chunks it defines. */
  read(file, source) {
    // (a file's name is a plain file name: joined without path.join, which cost more than the rest)
    const path = this.dir + sep + file;
    // The source is read (copied out as a string), then the code cache, both through the scratch
    // buffer: V8 reads a cache while the Script is made and keeps no reference to it.
    const text = source ?? readChunkSource(path);
    const cacheLength = this.cacheDir === undefined ? 0 : readScratch(this.cacheDir + sep + file);
    const cachedData = cacheLength > 0 ? scratch.subarray(0, cacheLength) : undefined;
    const script = compileChunk(path, text, cachedData);
    this.scripts.push({ name: file, script, cached: cachedData !== undefined && !script.cachedDataRejected });
    const value = script.runInThisContext();
    if (typeof value === 'function') {
      this.defined.set(file, value);
      return;
    }
    for (let i = 0; i < value.length; i++) {
      const entry = value[i];
      // a group's first entry may be the index of the grouped chunks' files (main.js's group)
      if (typeof entry[1] === 'function') this.defined.set(entry[0], entry[1]);
      else Object.assign(this.files, entry[1]);
    }
  }

  /** Saves the code of the chunks loaded without a cache to `dir`; false when it cannot be written. */
  saveCodeCache(dir, all = false) {
    const fresh = this.scripts.filter((s) => all || (!s.cached && s.script.cachedDataRejected !== true));
    if (fresh.length === 0) return true;
    try {
      mkdirSync(dir, { recursive: true });
      for (const { name, script } of fresh) {
        // written whole under another name, then renamed: a reader never sees half a cache
        const temporary = join(dir, `.${name}.${process.pid}`);
        writeFileSync(temporary, script.createCachedData());
        renameSync(temporary, join(dir, name));
      }
      return true;
    } catch {
      return false;
    }
  }
}

/** A chunk (written as a function expression of exports, require, module, __filename, __dirname) as a script. */
function compileChunk(file, source, cachedData) {
  return new Script(source, { filename: file, cachedData });
}

/**
 * One buffer that every file's source and code cache are read into in turn: a buffer per file
 * touched a megabyte of fresh memory as the run command loaded (a first touch of a page cost
 * 12-15 µs on the machines measured), and reading a source as UTF-8 decoded what is ASCII
 * (esbuild writes the bundle so) through buffers of its own.
 */
// (2 MiB, more than the largest file: growing it copied; its pages are touched only as far as
// the largest file fills it)
let scratch = Buffer.allocUnsafeSlow(1 << 21);

/**
 * Read `file` into {@link scratch} (grown as it fills) and return its length; a file that cannot
 * be read throws when `required`, else reads as 0 bytes. (No fstat for the size: Node makes a
 * Stats object with four Dates for each.)
 */
function readScratch(file, required = false) {
  let fd;
  try {
    fd = openSync(file, 'r');
    let length = 0;
    for (;;) {
      if (length === scratch.length) {
        const grown = Buffer.allocUnsafeSlow(scratch.length * 2);
        scratch.copy(grown, 0, 0, length);
        scratch = grown;
      }
      const got = readSync(fd, scratch, length, scratch.length - length, null);
      if (got === 0) return length;
      length += got;
    }
  } catch (error) {
    if (required) throw error;
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A file's source text (ASCII: esbuild writes the bundle so), read through {@link scratch}. */
function readChunkSource(file) {
  const length = readScratch(file, true); // (may replace `scratch` with a larger buffer)
  return scratch.latin1Slice(0, length);
}

/** The per-user cache folder for this bundle and Node, or undefined without a home. */
function userCacheDir(buildId) {
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME && join(process.env.HOME, '.cache'));
  return base ? join(base, 'tsbpf', 'code-cache', `${buildId}-${NODE_KEY}`) : undefined;
}

/** The CLI's main module, and the loader that loaded it (to save code caches from). */
function loadCli(dir = BUNDLE) {
  const loader = new BundleLoader(dir);
  const source = readFileSync(join(dir, 'main.js'), 'utf8');
  const buildId = BUILD_ID.exec(source)?.[1];
  if (buildId === undefined) throw Object.assign(new Error('stale bundle'), { code: 'TSBPF_STALE_BUNDLE' });
  const shipped = join(dir, 'code-cache', NODE_KEY);
  let save;
  if (existsSync(join(shipped, 'main.js'))) loader.cacheDir = shipped;
  else {
    loader.cacheDir = userCacheDir(buildId);
    save = loader.cacheDir;
  }
  const cli = /** @type {{ main(argv: string[]): Promise<number> }} */ (loader.load('main.js', source));
  return { cli, loader, save };
}

module.exports = { BundleLoader, compileChunk, loadCli, NODE_KEY };

if (require.main === module) {
  let loaded;
  try {
    loaded = loadCli();
  } catch (error) {
    if (error?.code === 'TSBPF_STALE_BUNDLE') {
      process.stderr.write('tsbpf: dist/bundle/ is from an older build: run `npm run build` first\n');
      process.exit(2);
    }
    if (error?.code !== 'ENOENT' || !String(error.path).endsWith('main.js')) throw error;
    process.stderr.write('tsbpf: dist/ is missing: run `npm run build` in the tsbpf checkout first\n');
    process.exit(2);
  }
  // A reader that went away (`tsbpf btf dump … | head`) ends the command quietly: the CLI's own
  // outputs see to it (src/cli/io.ts), opening the process's streams only when they are written.
  loaded.cli.main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
    if (loaded.save) loaded.loader.saveCodeCache(loaded.save);
  });
}
