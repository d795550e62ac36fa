// dev/validate-workflows.ts as CI runs it (a separate process through tsx): the real files pass,
// broken ones fail with file:line:column messages and exit code 1.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx')
const SCRIPT = join(ROOT, 'dev', 'validate-workflows.ts')

let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'validate-workflows-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function validate(...args: string[]) {
  const result = spawnSync(TSX, [SCRIPT, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, GITHUB_ACTIONS: '' }
  })
  return { code: result.status, out: `${result.stdout}${result.stderr}` }
}

function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

const GOOD_WORKFLOW = `on:
  schedule:
    - cron: '17 */6 * * *'
  workflow_dispatch:
    inputs:
      dry-run:
        type: boolean
        default: false
permissions:
  id-token: write
jobs:
  sync:
    runs-on: ubuntu-latest
    steps:
      - uses: octo-org/cloudfront-sg-sync@v1
        with:
          dry-run: \${{ inputs.dry-run == true }}
`

test('action.yml, the example and the repository workflows pass', () => {
  const { code, out } = validate(
    join(ROOT, 'action.yml'),
    join(ROOT, 'examples', 'workflows'),
    join(ROOT, '.github', 'workflows')
  )
  expect(out).toMatch(/0 error\(s\)/)
  expect(code).toBe(0)
})

test('with no arguments it checks the default set from the project root', () => {
  const { code, out } = validate()
  expect(out).toMatch(/\d+ file\(s\) checked: 0 error\(s\)/)
  expect(code).toBe(0)
})

test('a valid workflow passes', () => {
  const { code, out } = validate(file('good.yml', GOOD_WORKFLOW))
  expect(out).toContain('1 file(s) checked: 0 error(s), 0 warning(s).')
  expect(code).toBe(0)
})

test('a broken workflow fails with file:line:column errors', () => {
  const broken = GOOD_WORKFLOW.replace("'17 */6 * * *'", "'61 * * * *'")
    .replace('id-token: write', 'id-token: writ')
    .replace(
      '  workflow_dispatch:',
      '  repository_dispatch:\n    typs: [aws-ip-ranges-changed]\n  workflow_dispatch:'
    )
  const path = file('broken.yml', broken)
  const { code, out } = validate(path)
  expect(code).toBe(1)
  expect(out).toMatch(/broken\.yml:5:5: error: Unexpected value 'typs'/)
  expect(out).toMatch(/broken\.yml:12:13: error: Unexpected value 'writ'/)
})

test('semantic errors found by conversion: cron, boolean default, needs', () => {
  const path = file(
    'semantic.yml',
    GOOD_WORKFLOW.replace("'17 */6 * * *'", "'61 * * * *'")
      .replace('default: false', 'default: maybe')
      .replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-latest\n    needs: nothere')
  )
  const { code, out } = validate(path)
  expect(code).toBe(1)
  expect(out).toMatch(/semantic\.yml:3:13: error: Invalid cron expression/)
  expect(out).toMatch(/semantic\.yml:8:18: error: .*'BooleanToken' was expected/)
  expect(out).toMatch(/must contain at least one job with no dependencies/)
})

test('invalid YAML and an unclosed expression are errors', () => {
  const yamlError = file(
    'yaml.yml',
    'on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n  - run: [\n'
  )
  const expression = file(
    'expr.yml',
    GOOD_WORKFLOW.replace('${{ inputs.dry-run == true }}', '${{ inputs.dry-run')
  )
  const { code, out } = validate(yamlError, expression)
  expect(code).toBe(1)
  expect(out).toMatch(/yaml\.yml:\d+:\d+: error:/)
  expect(out).toMatch(/expr\.yml:17:\d+: error: The expression is not closed/)
})

test('a broken action.yml fails: unknown runtime, bad required, missing runs', () => {
  const sub = mkdtempSync(join(dir, 'action-'))
  writeFileSync(
    join(sub, 'action.yml'),
    [
      'name: x',
      'description: y',
      'inputs:',
      '  foo:',
      '    description: z',
      '    required: maybe',
      'runs:',
      '  using: node99',
      '  main: dist/index.js',
      ''
    ].join('\n')
  )
  const { code, out } = validate(join(sub, 'action.yml'))
  expect(code).toBe(1)
  expect(out).toMatch(/action\.yml:6:15: error: Unexpected value 'maybe'/)
  expect(out).toMatch(/action\.yml:8:10: error: Unexpected value 'node99'/)

  writeFileSync(join(sub, 'action.yml'), 'name: x\ndescription: y\n')
  const missing = validate(join(sub, 'action.yml'))
  expect(missing.code).toBe(1)
  expect(missing.out).toMatch(/Required property is missing: runs/)
})

test('with: keys the action does not declare are warnings, errors with --strict-inputs', () => {
  const sub = mkdtempSync(join(dir, 'inputs-'))
  writeFileSync(
    join(sub, 'action.yml'),
    'name: x\ndescription: y\ninputs:\n  dry-run:\n    description: z\nruns:\n  using: node24\n  main: dist/index.js\n'
  )
  const workflow = join(sub, 'wf.yml')
  writeFileSync(workflow, GOOD_WORKFLOW.replace('dry-run: ${{', 'dryrun: ${{'))
  const lenient = validate(join(sub, 'action.yml'), workflow)
  expect(lenient.code).toBe(0)
  expect(lenient.out).toMatch(
    /wf\.yml:17:11: warning: Input 'dryrun' is not declared in action\.yml/
  )
  const strict = validate('--strict-inputs', join(sub, 'action.yml'), workflow)
  expect(strict.code).toBe(1)
  expect(strict.out).toMatch(/wf\.yml:17:11: error: Input 'dryrun'/)
})

test('an empty file is an error', () => {
  const { code, out } = validate(file('empty.yml', ''))
  expect(code).toBe(1)
  expect(out).toMatch(/empty\.yml: error:/)
})
