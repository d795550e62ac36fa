// `npm run docs`: rewrites the generated blocks of README.md (inputs and outputs tables) and
// .env.example (INPUT_* defaults) from action.yml. `npm run docs -- --check` changes nothing and
// exits 1 when a block is out of date (what CI runs), printing which lines differ.
import { readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { diffHint, updateEnvExample, updateReadme } from './action-docs.js'
import { updateExamples } from './render-examples.js'
import { PROJECT_ROOT } from './run-action.js'

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } })

const actionYaml = readFileSync(join(PROJECT_ROOT, 'action.yml'), 'utf8')
const targets: { path: string; update: (current: string) => string }[] = [
  {
    path: join(PROJECT_ROOT, 'README.md'),
    update: text => updateExamples(updateReadme(actionYaml, text))
  },
  { path: join(PROJECT_ROOT, '.env.example'), update: text => updateEnvExample(actionYaml, text) }
]

let stale = 0
for (const target of targets) {
  const name = relative(PROJECT_ROOT, target.path)
  const current = readFileSync(target.path, 'utf8')
  const expected = target.update(current)
  if (expected === current) {
    console.log(`${name}: up to date with action.yml`)
    continue
  }
  if (values.check) {
    stale += 1
    console.error(`${name}: out of date with action.yml. Lines that differ:`)
    for (const line of diffHint(current, expected)) console.error(`  ${line}`)
  } else {
    writeFileSync(target.path, expected)
    console.log(`${name}: regenerated from action.yml`)
  }
}
if (stale > 0) {
  console.error("Run 'npm run docs' and commit the result.")
  process.exitCode = 1
}
