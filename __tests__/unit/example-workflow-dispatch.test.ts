// The example workflow a newcomer copies (issue 13 #6, #8): the removal guard's advice can be
// followed from the UI, and the plan file outlives the runner.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import yaml from 'js-yaml'

interface Step {
  id?: string
  uses?: string
  if?: string
  with?: Record<string, unknown>
}
const file = fileURLToPath(
  new URL('../../examples/workflows/cloudfront-sg-sync.yml', import.meta.url)
)
const workflow = yaml.load(readFileSync(file, 'utf8')) as {
  on: { workflow_dispatch: { inputs: Record<string, { default?: unknown }> } }
  jobs: { sync: { steps: Step[] } }
}
const steps = workflow.jobs.sync.steps

test('a manual run can set max-removals-percent, which reaches the action', () => {
  expect(workflow.on.workflow_dispatch.inputs['max-removals-percent']?.default).toBe('25')
  const sync = steps.find(step => step.id === 'sync')
  expect(String(sync?.with?.['max-removals-percent'])).toContain('inputs.max-removals-percent')
})

test('the plan file is uploaded as an artifact by an action pinned to a commit SHA', () => {
  const upload = steps.find(step => step.uses?.startsWith('actions/upload-artifact@'))
  expect(upload?.uses).toMatch(/^actions\/upload-artifact@[0-9a-f]{40}$/)
  expect(upload?.with?.path).toBe('${{ steps.sync.outputs.plan-file }}')
  expect(upload?.if).toContain('always()')
})
