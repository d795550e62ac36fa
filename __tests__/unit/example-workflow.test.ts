// The example workflow's dispatch gate (issue 15): malformed or implausible repository_dispatch
// payloads are refused by a job outside the sync's concurrency group, so a stream of them can never
// displace a genuine pending sync. The gate's script runs here in bash, as the runner runs it.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { PROJECT_ROOT } from '../../dev/run-action.js'

interface Step {
  if?: string
  shell?: string
  env?: Record<string, string>
  run?: string
}
interface Job {
  needs?: string | string[]
  concurrency?: unknown
  permissions?: unknown
  steps: Step[]
}
const workflow = load(
  readFileSync(join(PROJECT_ROOT, 'examples/workflows/cloudfront-sg-sync.yml'), 'utf8')
) as { concurrency?: unknown; jobs: Record<string, Job> }
const gate = workflow.jobs['check-dispatch'] as Job
const sync = workflow.jobs.sync as Job

test('the concurrency group is on the sync job, which needs the gate; the gate has none', () => {
  expect(workflow.concurrency).toBeUndefined()
  expect(sync.concurrency).toEqual({
    group: 'cloudfront-sg-sync-${{ github.repository }}',
    'cancel-in-progress': false
  })
  expect(sync.needs).toBe('check-dispatch')
  expect(gate.concurrency).toBeUndefined()
  expect(gate.permissions).toEqual({})
  expect(gate.steps[0]?.if).toBe("github.event_name == 'repository_dispatch'")
  // Payload values reach the script through env only, never spliced into it.
  expect(gate.steps[0]?.run).not.toContain('${{')
})

const now = Math.floor(Date.now() / 1000)
function gateExit(env: { SYNCTOKEN?: string; MD5?: string }): number {
  const step = gate.steps[0] as Step
  expect(step.shell).toBe('bash')
  try {
    execFileSync('bash', ['-e', '-c', step.run as string], {
      env: { PATH: process.env.PATH, SYNCTOKEN: '', MD5: '', ...env },
      stdio: 'pipe'
    })
    return 0
  } catch (error) {
    return (error as { status: number }).status
  }
}

test.each([
  ['no payload fields', {}],
  ['a genuine notification', { SYNCTOKEN: '1786615985', MD5: '0F8E1A2B3C4D5E6F708192A3B4C5D6E7' }],
  ['a synctoken exactly 2 hours ahead (skew)', { SYNCTOKEN: String(now + 7200 - 5) }]
])('the gate lets through %s', (_name, env) => {
  expect(gateExit(env)).toBe(0)
})

test.each([
  ['a 20-digit synctoken', { SYNCTOKEN: '99999999999999999999' }],
  ['a synctoken in 2286', { SYNCTOKEN: '9999999999' }],
  ['a synctoken a day ahead', { SYNCTOKEN: String(now + 86_400) }],
  ['a synctoken with a second line', { SYNCTOKEN: '1786615985\nabc' }],
  ['a non-numeric synctoken', { SYNCTOKEN: '$(id)' }],
  ['a bad md5', { SYNCTOKEN: '1786615985', MD5: 'x' }]
])('the gate refuses %s', (_name, env) => {
  expect(gateExit(env)).toBe(1)
})
