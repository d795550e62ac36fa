// What the runs GitHub lists after a dispatch say about it. Pure.
import type { Workflow, WorkflowRun } from './actions-runs.js'

export type Verdict =
  | { outcome: 'completed'; run: WorkflowRun; lagSeconds: number }
  | { outcome: 'failed'; run: WorkflowRun }
  | { outcome: 'overdue'; run: WorkflowRun }
  | { outcome: 'no-run'; disabled: Workflow[] }

/** GitHub's states for a workflow that no longer runs on its triggers. */
export const DISABLED_STATES = new Set([
  'disabled_inactivity',
  'disabled_manually',
  'disabled_fork'
])

/**
 * A successful run wins (the newest ranges are in place whatever else happened); then a failed
 * one, then one still queued or running past the deadline; none at all is the quiet failure.
 * Only `success` counts as done: cancelled, timed_out, startup_failure, action_required, skipped
 * and the rest are failures here.
 */
export function judgeRuns(runs: WorkflowRun[], workflows: Workflow[], createTime: string): Verdict {
  const byNewest = [...runs].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
  const success = byNewest.find(run => run.status === 'completed' && run.conclusion === 'success')
  if (success) {
    const lag = (Date.parse(success.updatedAt) - Date.parse(createTime)) / 1000
    return { outcome: 'completed', run: success, lagSeconds: Math.max(0, Math.round(lag)) }
  }
  const failed = byNewest.find(run => run.status === 'completed')
  if (failed) return { outcome: 'failed', run: failed }
  const pending = byNewest[0]
  if (pending) return { outcome: 'overdue', run: pending }
  return { outcome: 'no-run', disabled: workflows.filter(w => DISABLED_STATES.has(w.state)) }
}

/** The alarm's subject and text, or undefined when the sync completed. */
export function describeVerdict(
  verdict: Verdict,
  repository: string,
  synctoken: string,
  dispatchedAt: string
): { subject: string; message: string } | undefined {
  const head = `The repository_dispatch sent to ${repository} at ${dispatchedAt} (syncToken ${synctoken})`
  switch (verdict.outcome) {
    case 'completed':
      return undefined
    case 'failed':
      return {
        subject: `cloudfront-sg-sync: sync run failed in ${repository}`,
        message:
          `${head} started run ${verdict.run.id} (${verdict.run.name}), which ended ` +
          `${verdict.run.conclusion ?? 'without a conclusion'}: ${verdict.run.htmlUrl}. The ` +
          'security groups may lag the published ranges; read the run, fix, and rerun it.'
      }
    case 'overdue':
      return {
        subject: `cloudfront-sg-sync: sync run overdue in ${repository}`,
        message:
          `${head} started run ${verdict.run.id} (${verdict.run.name}), still ` +
          `${verdict.run.status} at the watchdog's deadline: ${verdict.run.htmlUrl}. Runners may ` +
          'be short, or a concurrency group holds it back behind a stuck run.'
      }
    case 'no-run': {
      const cause =
        verdict.disabled.length > 0
          ? `Disabled workflow(s): ${verdict.disabled.map(w => `${w.path} (${w.state})`).join(', ')}; ` +
            'GitHub disables scheduled workflows of a public repository after 60 days without ' +
            'activity, and a disabled workflow ignores repository_dispatch too. Enable it again ' +
            '(Actions tab, or gh workflow enable).'
          : 'No workflow is disabled: check that the default branch has a workflow with ' +
            "`on: repository_dispatch` whose `types` include the forwarder's EVENT_TYPE, and " +
            'that Actions is enabled for the repository.'
      return {
        subject: `cloudfront-sg-sync: no sync run in ${repository}`,
        message: `${head} started no workflow run. ${cause}`
      }
    }
  }
}
