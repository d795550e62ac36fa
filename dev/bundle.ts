// `npm run bundle` (the action) and `npm run bundle:forwarder` (the Lambda): one ES-module file
// each, built with esbuild, plus the licenses of every package bundled into it.
//
// Why esbuild and not ncc (CONTRIBUTING.md, with measured figures): ncc resolves only the
// `main` field, so it bundles the AWS SDK's CommonJS build whole. esbuild resolves `module` first
// and takes the SDK's ES build, and with `pureSchemas` drops every EC2 shape no kept command
// reaches: 1.0 MB instead of 2.4 MB, about half the load memory and time, and a build in about a
// second instead of thirty.
import { build } from 'esbuild'
import type { Metafile } from 'esbuild'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pureSchemas } from './pure-schemas.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const TARGETS = {
  action: { entry: 'src/index.ts', outdir: 'dist' },
  forwarder: { entry: 'forwarder/src/handler.ts', outdir: 'forwarder/dist' }
} as const

// Some dependencies still call require() for Node built-ins; an ES module has none, so make one.
const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module';" +
  'const require = __createRequire(import.meta.url);'

async function bundle(target: keyof typeof TARGETS): Promise<void> {
  const { entry, outdir } = TARGETS[target]
  const out = join(root, outdir)
  mkdirSync(out, { recursive: true })
  const result = await build({
    entryPoints: [join(root, entry)],
    outfile: join(out, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    minify: true,
    legalComments: 'none',
    banner: { js: REQUIRE_SHIM },
    plugins: [pureSchemas],
    metafile: true,
    logLevel: 'warning'
  })
  // Node finds the nearest package.json to decide the module type; the bundle carries its own.
  writeFileSync(join(out, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`)
  writeFileSync(join(out, 'licenses.txt'), licenses(result.metafile))
}

/** The license of every package whose code is in the bundle, sorted by name (deterministic). */
function licenses(metafile: Metafile): string {
  const packages = new Map<string, string>()
  for (const input of Object.keys(metafile.inputs)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (!match?.[1]) continue
    const directory = join(root, input.slice(0, input.indexOf(match[1]) + match[1].length))
    packages.set(match[1], directory)
  }
  const sections: string[] = []
  for (const [name, directory] of [...packages].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
      version?: string
      license?: string
    }
    const file = readdirSync(directory).find(f => /^(licen[cs]e|copying)(\.|$)/i.test(f))
    const text = file ? readFileSync(join(directory, file), 'utf8').trim() : ''
    sections.push(
      [`${name}@${manifest.version ?? '?'}`, manifest.license ?? 'UNKNOWN', text]
        .filter(Boolean)
        .join('\n')
    )
  }
  return `${sections.join('\n\n')}\n`
}

const requested = process.argv.slice(2)
const targets = (requested.length > 0 ? requested : ['action']) as (keyof typeof TARGETS)[]
for (const target of targets) {
  if (!(target in TARGETS)) throw new Error(`unknown bundle target '${target}' (action, forwarder)`)
  await bundle(target)
  const file = join(root, TARGETS[target].outdir, 'index.js')
  if (existsSync(file)) {
    const size = readFileSync(file).length
    console.log(`${relative(root, file)}: ${(size / 1024).toFixed(0)} KiB`)
  }
}
