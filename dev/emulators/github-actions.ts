// The Actions part of the GitHub emulator: workflows and their runs per repository, read the way
// the forwarder's watchdog reads them.
// - GET /repos/{owner}/{repo}/actions/runs?event=&created=&per_page= answers
//   {total_count, workflow_runs: [...]}, newest first; `created` takes `>=T`, `<=T`, `>T`, `<T`,
//   `A..B` or a bare date as GitHub's search syntax does.
//   https://docs.github.com/en/rest/actions/workflow-runs#list-workflow-runs-for-a-repository
// - GET /repos/{owner}/{repo}/actions/workflows answers {total_count, workflows: [...]}, each
//   with `state` (active, disabled_inactivity, disabled_manually, ...).
//   https://docs.github.com/en/rest/actions/workflows#list-repository-workflows
// A repository_dispatch starts a run of each active workflow (GitHub still answers 204 when the
// workflow is disabled: the dispatch is accepted, and no run starts). Tests choose how runs end.
import type { RouteContext } from './http-util.js'
import { sendJson } from './http-util.js'

export type RunStatus = 'queued' | 'in_progress' | 'completed' | 'waiting' | 'pending'

export interface EmulatedRun {
  id: number
  repository: string
  workflowPath: string
  name: string
  event: string
  status: RunStatus
  conclusion: string | null
  createdAt: Date
  updatedAt: Date
}

export interface EmulatedWorkflow {
  id: number
  name: string
  path: string
  state: 'active' | 'disabled_inactivity' | 'disabled_manually' | 'disabled_fork' | 'deleted'
}

/** How a run started by a dispatch ends, or `queued`/`in_progress` to leave it running. */
export type DispatchOutcome = 'success' | 'failure' | 'cancelled' | 'queued' | 'in_progress'

export const DEFAULT_WORKFLOW_PATH = '.github/workflows/cloudfront-sg-sync.yml'

export class ActionsStore {
  readonly runs: EmulatedRun[] = []
  private readonly workflows = new Map<string, EmulatedWorkflow[]>()
  private readonly outcomes = new Map<string, DispatchOutcome>()
  private nextId = 9_000_000_001

  constructor(
    private readonly authorize: (ctx: RouteContext, owner: string, repo: string) => boolean,
    private readonly baseUrl: () => string
  ) {}

  /** How the runs that dispatches to `repository` start will end (default: none start). */
  onDispatch(repository: string, outcome: DispatchOutcome | undefined): this {
    if (outcome) this.outcomes.set(repository.toLowerCase(), outcome)
    else this.outcomes.delete(repository.toLowerCase())
    return this
  }

  setWorkflowState(repository: string, state: EmulatedWorkflow['state']): this {
    for (const workflow of this.workflowsOf(repository)) workflow.state = state
    return this
  }

  /** Records a run (a test standing in for a runner), returning it. */
  addRun(
    repository: string,
    run: Partial<Omit<EmulatedRun, 'id' | 'repository'>> & { status: RunStatus }
  ): EmulatedRun {
    const workflow = this.workflowsOf(repository)[0] as EmulatedWorkflow
    const now = new Date()
    const added: EmulatedRun = {
      id: this.nextId++,
      repository: repository.toLowerCase(),
      workflowPath: workflow.path,
      name: workflow.name,
      event: 'repository_dispatch',
      conclusion: null,
      createdAt: now,
      updatedAt: now,
      ...run
    }
    this.runs.push(added)
    return added
  }

  /** Called by the emulator for each accepted dispatch. */
  dispatched(owner: string, repo: string): void {
    const repository = `${owner}/${repo}`.toLowerCase()
    const outcome = this.outcomes.get(repository)
    if (!outcome) return
    const active = this.workflowsOf(repository).filter(w => w.state === 'active')
    for (const workflow of active) {
      const created = new Date()
      const done = outcome !== 'queued' && outcome !== 'in_progress'
      this.runs.push({
        id: this.nextId++,
        repository,
        workflowPath: workflow.path,
        name: workflow.name,
        event: 'repository_dispatch',
        status: done ? 'completed' : outcome,
        conclusion: done ? outcome : null,
        createdAt: created,
        // A run that ends takes a little while.
        updatedAt: new Date(created.getTime() + (done ? 42_000 : 0))
      })
    }
  }

  reset(): void {
    this.runs.length = 0
    this.workflows.clear()
    this.outcomes.clear()
  }

  listRuns(ctx: RouteContext): void {
    const owner = ctx.params.owner ?? ''
    const repo = ctx.params.repo ?? ''
    if (!this.authorize(ctx, owner, repo)) return
    const url = new URL(ctx.req.url ?? '/', 'http://127.0.0.1')
    const event = url.searchParams.get('event')
    const created = createdFilter(url.searchParams.get('created'))
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30) || 30)
    const repository = `${owner}/${repo}`.toLowerCase()
    const matching = this.runs
      .filter(r => r.repository === repository)
      .filter(r => event === null || r.event === event)
      .filter(r => created(r.createdAt))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    sendJson(ctx.res, 200, {
      total_count: matching.length,
      workflow_runs: matching.slice(0, perPage).map(r => this.runJson(owner, repo, r))
    })
  }

  listWorkflows(ctx: RouteContext): void {
    const owner = ctx.params.owner ?? ''
    const repo = ctx.params.repo ?? ''
    if (!this.authorize(ctx, owner, repo)) return
    const workflows = this.workflowsOf(`${owner}/${repo}`)
    sendJson(ctx.res, 200, {
      total_count: workflows.length,
      workflows: workflows.map(w => ({
        id: w.id,
        node_id: `W_${w.id}`,
        name: w.name,
        path: w.path,
        state: w.state,
        created_at: '2026-01-05T09:00:00.000Z',
        updated_at: '2026-01-05T09:00:00.000Z',
        url: `${this.baseUrl()}/repos/${owner}/${repo}/actions/workflows/${w.id}`,
        html_url: `https://github.com/${owner}/${repo}/blob/main/${w.path}`,
        badge_url: `https://github.com/${owner}/${repo}/workflows/${encodeURIComponent(w.name)}/badge.svg`
      }))
    })
  }

  private workflowsOf(repository: string): EmulatedWorkflow[] {
    const key = repository.toLowerCase()
    let list = this.workflows.get(key)
    if (!list) {
      list = [
        {
          id: 161335,
          name: 'CloudFront security group sync',
          path: DEFAULT_WORKFLOW_PATH,
          state: 'active'
        }
      ]
      this.workflows.set(key, list)
    }
    return list
  }

  private runJson(owner: string, repo: string, r: EmulatedRun): Record<string, unknown> {
    const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')
    return {
      id: r.id,
      name: r.name,
      node_id: `WFR_${r.id}`,
      head_branch: 'main',
      path: r.workflowPath,
      display_title: r.name,
      run_number: r.id % 1000,
      event: r.event,
      status: r.status,
      conclusion: r.conclusion,
      workflow_id: 161335,
      url: `${this.baseUrl()}/repos/${owner}/${repo}/actions/runs/${r.id}`,
      html_url: `https://github.com/${owner}/${repo}/actions/runs/${r.id}`,
      created_at: iso(r.createdAt),
      updated_at: iso(r.updatedAt),
      run_attempt: 1,
      run_started_at: iso(r.createdAt)
    }
  }
}

/** GitHub's search syntax for dates, as `created` takes it. */
function createdFilter(value: string | null): (date: Date) => boolean {
  if (!value) return () => true
  const at = (text: string) => Date.parse(text)
  const range = /^(.+)\.\.(.+)$/.exec(value)
  if (range) return d => d.getTime() >= at(range[1] ?? '') && d.getTime() <= at(range[2] ?? '')
  const op = /^(>=|<=|>|<)(.+)$/.exec(value)
  if (op) {
    const t = at(op[2] ?? '')
    switch (op[1]) {
      case '>=':
        return d => d.getTime() >= t
      case '<=':
        return d => d.getTime() <= t
      case '>':
        return d => d.getTime() > t
      default:
        return d => d.getTime() < t
    }
  }
  const day = value.slice(0, 10)
  return d => d.toISOString().startsWith(day)
}
