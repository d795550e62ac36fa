// `npm test` runs jest through this: under the Node 24 that `npm ci` installs (the `node` dev
// dependency, node_modules/node/bin/node), the runtime action.yml declares (`using: node24`), and
// never under whatever `node` the machine has. Without it, it stops with what to do.
// Plain JavaScript on purpose: it must start under any Node, including an older system one.
//
// Usage: node dev/with-node24.mjs jest [jest arguments...]
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REQUIRED_MAJOR = 24
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const nodeDir = join(root, 'node_modules', 'node', 'bin')
const node = join(nodeDir, 'node')
const TOOLS = { jest: join(root, 'node_modules', 'jest', 'bin', 'jest.js') }

function fail(problem) {
  process.stderr.write(
    `\nwith-node24: ${problem}\n` +
      `The tests run on Node ${REQUIRED_MAJOR}, the runtime the action ships on, so that they ` +
      'give the result CI gives.\n' +
      "Fix: run 'npm ci' in the repository root (it installs Node " +
      `${REQUIRED_MAJOR} as node_modules/node/bin/node; its install script must be allowed ` +
      "to run, see package.json 'allowScripts').\n\n"
  )
  process.exit(1)
}

const [tool, ...args] = process.argv.slice(2)
const script = TOOLS[tool]
if (!script) fail(`unknown tool ${JSON.stringify(tool)}; known: ${Object.keys(TOOLS).join(', ')}.`)
if (!existsSync(node)) fail(`${node} does not exist.`)
const probe = spawnSync(node, ['--version'], { encoding: 'utf8' })
const version = (probe.stdout ?? '').trim()
if (!version.startsWith(`v${REQUIRED_MAJOR}.`)) {
  fail(`${node} did not answer a Node ${REQUIRED_MAJOR} version (got ${version || probe.error}).`)
}
if (!existsSync(script)) fail(`${script} does not exist.`)

// jest runs the ESM test files through vm modules; child processes the tests spawn find the same
// Node first on PATH.
const env = {
  ...process.env,
  PATH: `${nodeDir}${delimiter}${process.env.PATH ?? ''}`,
  NODE_OPTIONS: `--experimental-vm-modules ${process.env.NODE_OPTIONS ?? ''}`.trim()
}
const result = spawnSync(node, [script, ...args], { stdio: 'inherit', env })
if (result.signal) process.kill(process.pid, result.signal)
process.exit(result.status ?? 1)
