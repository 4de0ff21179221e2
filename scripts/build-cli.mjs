#!/usr/bin/env node
// Bundles the CLI into dist/bin/cairn.js (what package.json's `bin` runs), after tsc has built
// the library in dist/. Why: Node's ESM loader resolves, reads and links each of the ~100
// modules a `cairn status` needs one by one, which was about half of that command's wall time
// (bench/startup.mjs). One file, with every lazily imported part (the linter and its rules,
// evolve, fleet, report, codegen …) split into chunks beside it that load only when a command
// needs them.
//
// Bundled in: Cairn's own code and the small pure-JS packages on the start-up path. Left as
// ordinary imports (resolved from node_modules at run time, loaded only when used): native
// better-sqlite3, the parsers (sql-parser-cst, libpg-query with its WASM), pg, the optional
// peers (miniflare, PGlite), jiti, dagre — see BUNDLED below. smol-toml and jsonc-parser (a
// wrangler config) and tinyglobby (a migrations_pattern) are required by the code that reads
// those, when it does (createRequire): no command's start loads them.
//
// The chunks sit in dist/bin/, one level under dist/ like dist/config/ or dist/fleet/, so the
// few paths Cairn's code builds from import.meta.url (`../index.js` for a config's
// `import … from 'cairn-migrate'`, `../../package.json`, `../fleet/worker.js`) mean the same
// file from a chunk as from the tsc build.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bin`;

/** Packages bundled into the CLI: small, pure JavaScript, loaded by most commands. Every other package stays an import. */
const BUNDLED = new Set(['commander', 'smol-toml', 'jsonc-parser', 'tinyglobby', 'fdir', 'picomatch']);

const packageOf = (specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { cairn: `${root}src/cli/main.ts` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  sourcemap: true,
  legalComments: 'none',
  // jsonc-parser's `main` is a UMD build whose requires esbuild cannot follow; its `module` build is plain ESM.
  mainFields: ['module', 'main'],
  logLevel: 'warning',
  // commander and jsonc-parser are CommonJS: their `require('events')` etc. need a real require in an ES module.
  banner: { js: "import { createRequire as __cairnCreateRequire } from 'node:module';\nconst require = __cairnCreateRequire(import.meta.url);" },
  plugins: [
    {
      // commander loads child_process at start for executable subcommands, which Cairn has none of (~4 ms of every start).
      name: 'commander-lazy-child-process',
      setup(builder) {
        builder.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
          const source = await readFile(args.path, 'utf8');
          const eager = "const childProcess = require('node:child_process');";
          if (!source.includes(eager)) throw new Error(`${args.path}: commander changed; update scripts/build-cli.mjs`);
          return { contents: source.replace(eager, "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };"), loader: 'js' };
        });
      },
    },
    {
      name: 'external-packages',
      setup(builder) {
        builder.onResolve({ filter: /^[^./]/ }, (args) => {
          if (args.path.startsWith('node:')) return { path: args.path, external: true };
          return BUNDLED.has(packageOf(args.path)) ? undefined : { path: args.path, external: true };
        });
      },
    },
  ],
});
