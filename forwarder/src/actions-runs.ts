// Reads what GitHub Actions did after a dispatch, with the forwarder's token (which then needs
// read access to Actions: a fine-grained token's "Actions: Read-only"; a classic token's `repo`).
// - GET /repos/{owner}/{repo}/actions/runs?event=repository_dispatch&created=>=TIME&per_page=100
//   answers {total_count, workflow_runs: [{id, name, path, event, status, conclusion, created_at,
//   updated_at, run_started_at, html_url, ...}]}; `created` takes the search date syntax.
//   https://docs.github.com/en/rest/actions/workflow-runs#list-workflow-runs-for-a-repository
// - GET /repos/{owner}/{repo}/actions/workflows answers {total_count, workflows: [{id, name,
//   path, state, ...}]}, state one of active, deleted, disabled_fork, disabled_inactivity,
//   disabled_manually. https://docs.github.com/en/rest/actions/workflows#list-repository-workflows
import { GITHUB_API_VERSION, USER_AGENT } from './github.js'

export interface WorkflowRun {
  id: number
  name: string
  path: string
  status: string
  conclusion: string | null
  createdAt: string
  updatedAt: string
  htmlUrl: string
}

export interface Workflow {
  name: string
  path: string
  state: string
}

export class ActionsReadError extends Error {
  constructor(
    message: string,
    readonly hint: string
  ) {
    super(message)
    this.name = 'ActionsReadError'
  }
}

export interface ActionsReader {
  apiUrl: string
  token: string
  fetchImpl?: typeof fetch
}

const MAX_ATTEMPTS = 3

/** Runs started by repository_dispatch since `since` (the newest 100, newest first). */
export async function listDispatchRuns(
  reader: ActionsReader,
  repository: string,
  since: Date
): Promise<WorkflowRun[]> {
  const created = `>=${since.toISOString().replace(/\.\d{3}Z$/, 'Z')}`
  const query = new URLSearchParams({ event: 'repository_dispatch', created, per_page: '100' })
  const body = await getJson(reader, repository, `actions/runs?${query.toString()}`)
  const runs = (body as { workflow_runs?: unknown }).workflow_runs
  if (!Array.isArray(runs)) throw new ActionsReadError('GitHub answered without workflow_runs', '')
  return runs.map(run => {
    const r = run as Record<string, unknown>
    const text = (key: string) => (typeof r[key] === 'string' ? (r[key] as string) : '')
    return {
      id: typeof r.id === 'number' ? r.id : 0,
      name: text('name'),
      path: text('path'),
      status: text('status'),
      conclusion: typeof r.conclusion === 'string' ? r.conclusion : null,
      createdAt: text('created_at'),
      updatedAt: text('updated_at'),
      htmlUrl: text('html_url')
    }
  })
}

export async function listWorkflows(
  reader: ActionsReader,
  repository: string
): Promise<Workflow[]> {
  const body = await getJson(reader, repository, 'actions/workflows?per_page=100')
  const workflows = (body as { workflows?: unknown }).workflows
  if (!Array.isArray(workflows)) return []
  return workflows.map(workflow => {
    const w = workflow as Record<string, unknown>
    const text = (key: string) => (typeof w[key] === 'string' ? (w[key] as string) : '')
    return { name: text('name'), path: text('path'), state: text('state') }
  })
}

async function getJson(reader: ActionsReader, repository: string, path: string): Promise<unknown> {
  const doFetch = reader.fetchImpl ?? fetch
  const [owner = '', repo = ''] = repository.split('/')
  const url = `${reader.apiUrl}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/${path}`
  let last = ''
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let res: Response
    try {
      res = await doFetch(url, {
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${reader.token}`,
          'user-agent': USER_AGENT,
          'x-github-api-version': GITHUB_API_VERSION
        },
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000)
      })
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } }
      last = `request to ${reader.apiUrl} failed: ${e.cause?.code ?? e.message}`
      await pause(attempt)
      continue
    }
    const text = await res.text().catch(() => '')
    if (res.status === 200) {
      try {
        return JSON.parse(text) as unknown
      } catch {
        throw new ActionsReadError(
          `GitHub answered 200 with a body that is not JSON for ${path}`,
          ''
        )
      }
    }
    last = `GitHub answered ${res.status} for ${repository} ${path.split('?')[0]}`
    if (res.status >= 500 || res.status === 429) {
      await pause(attempt)
      continue
    }
    throw new ActionsReadError(
      last,
      [401, 403, 404].includes(res.status)
        ? `the token needs read access to Actions on ${repository}: a fine-grained token with ` +
            '"Actions: Read-only" (beside "Contents: Read and write"), a classic token with the ' +
            '"repo" scope, or a GitHub App installation with actions: read'
        : ''
    )
  }
  throw new ActionsReadError(`${last} (gave up after ${MAX_ATTEMPTS} attempts)`, '')
}

function pause(attempt: number): Promise<void> {
  return attempt >= MAX_ATTEMPTS
    ? Promise.resolve()
    : new Promise(resolve => setTimeout(resolve, 200 * 2 ** attempt))
}
