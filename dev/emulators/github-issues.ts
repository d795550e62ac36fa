// The issues part of the loopback GitHub emulator (dev/emulators/github.ts wires it in):
//
//   GET   /repos/{owner}/{repo}/issues           list: state, labels, sort, direction, per_page, page
//   GET   /repositories/{id}/issues              the same, where the Link header points, as on GitHub
//   POST  /repos/{owner}/{repo}/issues           create: title, body, labels -> 201 + issue
//   PATCH /repos/{owner}/{repo}/issues/{n}       update: state, state_reason, title, body, labels
//   POST  /repos/{owner}/{repo}/issues/{n}/comments           -> 201 + comment
//   POST  /repos/{owner}/{repo}/issues/{n}/labels             add labels -> 200 + the issue's labels
//
// Behaviour copied from the REST reference (https://docs.github.com/en/rest/issues):
// - The list returns pull requests too (they carry a `pull_request` key); default state `open`,
//   sort `created`, direction `desc`, 30 per page, at most 100; `labels` is a comma-separated list
//   and an issue must carry every one (names compared case-insensitively).
// - Pagination through the Link header: `<.../repositories/{id}/issues?...&page=N>; rel="prev",
//   rel="next", rel="last", rel="first"`, omitted when everything fits on one page.
//   https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
// - Creating an issue with a label the repository lacks creates the label (color ededed).
// - Bodies over 65536 characters: 422 "body is too long (maximum is 65536 characters)"; label names
//   over 50 characters: 422.
// - Issues disabled in the repository: 410 "Issues are disabled for this repo".
import type { ServerResponse } from 'node:http'
import { readBody, sendJson } from './http-util.js'
import type { RouteContext } from './http-util.js'

export const BODY_LIMIT = 65536
const LABEL_NAME_LIMIT = 50
const DOCS = {
  list: 'https://docs.github.com/rest/issues/issues#list-repository-issues',
  create: 'https://docs.github.com/rest/issues/issues#create-an-issue',
  update: 'https://docs.github.com/rest/issues/issues#update-an-issue',
  comment: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
  labels: 'https://docs.github.com/rest/issues/labels#add-labels-to-an-issue'
}

export interface EmulatedLabel {
  id: number
  node_id: string
  url: string
  name: string
  color: string
  default: boolean
  description: string | null
}

export interface EmulatedUser {
  login: string
  id: number
  type: 'User' | 'Bot'
}

export interface EmulatedIssue {
  id: number
  node_id: string
  number: number
  title: string
  body: string | null
  state: 'open' | 'closed'
  state_reason: string | null
  labels: EmulatedLabel[]
  user: EmulatedUser
  comments: number
  created_at: string
  updated_at: string
  closed_at: string | null
  /** Set for pull requests, which the issues list returns too. */
  pull_request?: { merged_at: string | null }
}

export interface EmulatedComment {
  id: number
  issueNumber: number
  body: string
  user: EmulatedUser
  created_at: string
}

export interface RepoIssues {
  id: number
  fullName: string
  issuesEnabled: boolean
  issues: EmulatedIssue[]
  comments: EmulatedComment[]
  labels: Map<string, EmulatedLabel>
  nextNumber: number
}

export interface SeedIssue {
  title: string
  body?: string
  labels?: string[]
  state?: 'open' | 'closed'
  pullRequest?: boolean
  user?: EmulatedUser
}

/** How the emulator resolves the caller and its right to read or write issues. */
export interface IssueAccess {
  /** Answers the error itself and returns undefined when the request may not go on. */
  authorize(
    ctx: RouteContext,
    owner: string,
    repo: string,
    need: 'read' | 'write'
  ): EmulatedUser | undefined
  baseUrl(): string
}

let globalId = 1000

export class IssueStore {
  private readonly repos = new Map<string, RepoIssues>()
  private nextRepoId = 100
  /** Drop the labels of created issues, as GitHub does for a caller without push access. */
  dropLabelsOnCreate = false
  /** Runs before an issue is stored: a test can create a competing issue here. */
  beforeCreate: ((fullName: string) => void | Promise<void>) | undefined

  constructor(private readonly access: IssueAccess) {}

  /** The repository's issue state (created on first use). */
  repo(fullName: string): RepoIssues {
    const key = fullName.toLowerCase()
    let state = this.repos.get(key)
    if (!state) {
      state = {
        id: this.nextRepoId++,
        fullName: key,
        issuesEnabled: true,
        issues: [],
        comments: [],
        labels: new Map(),
        nextNumber: 1
      }
      this.repos.set(key, state)
    }
    return state
  }

  /** Adds an issue (or pull request) directly, as if someone had opened it. */
  seed(fullName: string, seed: SeedIssue): EmulatedIssue {
    const state = this.repo(fullName)
    const issue = this.store(state, {
      title: seed.title,
      body: seed.body ?? null,
      labels: seed.labels ?? [],
      user: seed.user ?? { login: 'octocat', id: 583231, type: 'User' }
    })
    if (seed.pullRequest) issue.pull_request = { merged_at: null }
    if (seed.state === 'closed') {
      issue.state = 'closed'
      issue.state_reason = 'completed'
      issue.closed_at = issue.updated_at
    }
    return issue
  }

  /** Open issues (not pull requests) of a repository, lowest number first. */
  openIssues(fullName: string): EmulatedIssue[] {
    return this.repo(fullName).issues.filter(i => i.state === 'open' && !i.pull_request)
  }

  commentsOn(fullName: string, issueNumber: number): EmulatedComment[] {
    return this.repo(fullName).comments.filter(c => c.issueNumber === issueNumber)
  }

  reset(): void {
    this.repos.clear()
    this.dropLabelsOnCreate = false
    this.beforeCreate = undefined
  }

  /** The JSON GitHub returns for an issue. */
  render(state: RepoIssues, issue: EmulatedIssue): Record<string, unknown> {
    const api = `${this.access.baseUrl()}/repos/${state.fullName}`
    const html = `https://github.com/${state.fullName}`
    const kind = issue.pull_request ? 'pull' : 'issues'
    return {
      url: `${api}/issues/${issue.number}`,
      repository_url: api,
      labels_url: `${api}/issues/${issue.number}/labels{/name}`,
      comments_url: `${api}/issues/${issue.number}/comments`,
      events_url: `${api}/issues/${issue.number}/events`,
      html_url: `${html}/${kind}/${issue.number}`,
      id: issue.id,
      node_id: issue.node_id,
      number: issue.number,
      title: issue.title,
      user: renderUser(issue.user),
      labels: issue.labels,
      state: issue.state,
      locked: false,
      assignee: null,
      assignees: [],
      milestone: null,
      comments: issue.comments,
      created_at: issue.created_at,
      updated_at: issue.updated_at,
      closed_at: issue.closed_at,
      author_association: issue.user.type === 'Bot' ? 'NONE' : 'OWNER',
      active_lock_reason: null,
      body: issue.body,
      state_reason: issue.state_reason,
      ...(issue.pull_request
        ? {
            draft: false,
            pull_request: {
              url: `${api}/pulls/${issue.number}`,
              html_url: `${html}/pull/${issue.number}`,
              diff_url: `${html}/pull/${issue.number}.diff`,
              patch_url: `${html}/pull/${issue.number}.patch`,
              merged_at: issue.pull_request.merged_at
            }
          }
        : {})
    }
  }

  // ---- handlers ----

  async list(ctx: RouteContext): Promise<void> {
    const { owner, repo } = ctx.params
    await readBody(ctx.req)
    const state = this.resolve(ctx, owner, repo)
    if (!state) return
    const [stateOwner = '', stateRepo = ''] = state.fullName.split('/')
    if (!this.access.authorize(ctx, stateOwner, stateRepo, 'read')) return
    if (!state.issuesEnabled) return gone(ctx.res)

    const q = ctx.url.searchParams
    const wantState = q.get('state') ?? 'open'
    const wanted = (q.get('labels') ?? '')
      .split(',')
      .map(l => l.trim().toLowerCase())
      .filter(Boolean)
    const sort = q.get('sort') ?? 'created'
    const direction = q.get('direction') ?? 'desc'
    let items = state.issues.filter(
      i =>
        (wantState === 'all' || i.state === wantState) &&
        wanted.every(name => i.labels.some(l => l.name.toLowerCase() === name))
    )
    const key = (i: EmulatedIssue): number | string =>
      sort === 'comments' ? i.comments : sort === 'updated' ? i.updated_at : i.number
    items = [...items].sort((a, b) => {
      const ka = key(a)
      const kb = key(b)
      const order = ka < kb ? -1 : ka > kb ? 1 : a.number - b.number
      return direction === 'asc' ? order : -order
    })

    const perPage = clamp(Number(q.get('per_page') ?? 30) || 30, 1, 100)
    const page = Math.max(1, Math.floor(Number(q.get('page') ?? 1)) || 1)
    const last = Math.max(1, Math.ceil(items.length / perPage))
    const slice = items.slice((page - 1) * perPage, page * perPage)
    const headers: Record<string, string> = {}
    if (items.length > perPage)
      headers.link = linkHeader(this.access.baseUrl(), state.id, q, page, last)
    sendJson(
      ctx.res,
      200,
      slice.map(i => this.render(state, i)),
      headers
    )
  }

  async create(ctx: RouteContext): Promise<void> {
    const { owner = '', repo = '' } = ctx.params
    const body = await readJsonBody(ctx)
    const user = this.access.authorize(ctx, owner, repo, 'write')
    if (!user) return
    const state = this.repo(`${owner}/${repo}`)
    if (!state.issuesEnabled) return gone(ctx.res)
    if (body === undefined) return problemsParsing(ctx.res, DOCS.create)
    const title = body.title
    if (title === undefined || title === null || title === '') {
      return invalid(ctx.res, DOCS.create, [
        { resource: 'Issue', code: 'missing_field', field: 'title' }
      ])
    }
    if (typeof title !== 'string' && typeof title !== 'number') {
      return invalid(ctx.res, DOCS.create, [{ resource: 'Issue', code: 'invalid', field: 'title' }])
    }
    const text = body.body
    if (text !== undefined && text !== null && typeof text !== 'string') {
      return invalid(ctx.res, DOCS.create, [{ resource: 'Issue', code: 'invalid', field: 'body' }])
    }
    if (typeof text === 'string' && tooLong(text)) {
      return invalid(ctx.res, DOCS.create, [
        {
          resource: 'Issue',
          code: 'custom',
          field: 'body',
          message: `body is too long (maximum is ${BODY_LIMIT} characters)`
        }
      ])
    }
    const labels = labelNames(body.labels)
    if (labels === undefined) {
      return invalid(ctx.res, DOCS.create, [
        { resource: 'Issue', code: 'invalid', field: 'labels' }
      ])
    }
    const long = labels.find(l => l.length > LABEL_NAME_LIMIT)
    if (long !== undefined) {
      return invalid(ctx.res, DOCS.create, [
        {
          resource: 'Label',
          code: 'custom',
          field: 'name',
          message: `name is too long (maximum is ${LABEL_NAME_LIMIT} characters)`
        }
      ])
    }
    await this.beforeCreate?.(state.fullName)
    const issue = this.store(state, {
      title: String(title),
      body: typeof text === 'string' ? text : null,
      labels: this.dropLabelsOnCreate ? [] : labels,
      user
    })
    sendJson(ctx.res, 201, this.render(state, issue), {
      location: `${this.access.baseUrl()}/repos/${state.fullName}/issues/${issue.number}`
    })
  }

  async update(ctx: RouteContext): Promise<void> {
    const { owner = '', repo = '' } = ctx.params
    const body = await readJsonBody(ctx)
    if (!this.access.authorize(ctx, owner, repo, 'write')) return
    const state = this.repo(`${owner}/${repo}`)
    if (!state.issuesEnabled) return gone(ctx.res)
    const issue = this.find(state, ctx.params.number)
    if (!issue) return notFound(ctx.res, DOCS.update)
    if (body === undefined) return problemsParsing(ctx.res, DOCS.update)
    const now = timestamp()
    if (body.state !== undefined) {
      if (body.state !== 'open' && body.state !== 'closed') {
        return invalid(ctx.res, DOCS.update, [
          { resource: 'Issue', code: 'invalid', field: 'state' }
        ])
      }
      const reasons = ['completed', 'not_planned', 'duplicate', 'reopened', null, undefined]
      if (!reasons.includes(body.state_reason as string)) {
        return invalid(ctx.res, DOCS.update, [
          { resource: 'Issue', code: 'invalid', field: 'state_reason' }
        ])
      }
      if (body.state === 'closed' && issue.state === 'open') {
        issue.state = 'closed'
        issue.closed_at = now
        issue.state_reason = (body.state_reason as string | undefined) ?? 'completed'
      } else if (body.state === 'open' && issue.state === 'closed') {
        issue.state = 'open'
        issue.closed_at = null
        issue.state_reason = 'reopened'
      }
    }
    if (typeof body.title === 'string') issue.title = body.title
    if (typeof body.body === 'string') {
      if (tooLong(body.body)) {
        return invalid(ctx.res, DOCS.update, [
          {
            resource: 'Issue',
            code: 'custom',
            field: 'body',
            message: `body is too long (maximum is ${BODY_LIMIT} characters)`
          }
        ])
      }
      issue.body = body.body
    }
    if (body.labels !== undefined) {
      const labels = labelNames(body.labels)
      if (labels === undefined) {
        return invalid(ctx.res, DOCS.update, [
          { resource: 'Issue', code: 'invalid', field: 'labels' }
        ])
      }
      issue.labels = labels.map(name => this.label(state, name))
    }
    issue.updated_at = now
    sendJson(ctx.res, 200, this.render(state, issue))
  }

  async comment(ctx: RouteContext): Promise<void> {
    const { owner = '', repo = '' } = ctx.params
    const body = await readJsonBody(ctx)
    const user = this.access.authorize(ctx, owner, repo, 'write')
    if (!user) return
    const state = this.repo(`${owner}/${repo}`)
    if (!state.issuesEnabled) return gone(ctx.res)
    const issue = this.find(state, ctx.params.number)
    if (!issue) return notFound(ctx.res, DOCS.comment)
    if (body === undefined) return problemsParsing(ctx.res, DOCS.comment)
    if (typeof body.body !== 'string' || body.body === '') {
      return invalid(ctx.res, DOCS.comment, [
        { resource: 'IssueComment', code: 'missing_field', field: 'body' }
      ])
    }
    if (tooLong(body.body)) {
      return invalid(ctx.res, DOCS.comment, [
        {
          resource: 'IssueComment',
          code: 'unprocessable',
          field: 'data',
          message: `Body is too long (maximum is ${BODY_LIMIT} characters)`
        }
      ])
    }
    const now = timestamp()
    const comment: EmulatedComment = {
      id: globalId++,
      issueNumber: issue.number,
      body: body.body,
      user,
      created_at: now
    }
    state.comments.push(comment)
    issue.comments += 1
    issue.updated_at = now
    const api = `${this.access.baseUrl()}/repos/${state.fullName}`
    sendJson(
      ctx.res,
      201,
      {
        id: comment.id,
        node_id: `IC_${comment.id}`,
        url: `${api}/issues/comments/${comment.id}`,
        html_url: `https://github.com/${state.fullName}/issues/${issue.number}#issuecomment-${comment.id}`,
        issue_url: `${api}/issues/${issue.number}`,
        body: comment.body,
        user: renderUser(user),
        created_at: now,
        updated_at: now,
        author_association: user.type === 'Bot' ? 'NONE' : 'OWNER'
      },
      { location: `${api}/issues/comments/${comment.id}` }
    )
  }

  async addLabels(ctx: RouteContext): Promise<void> {
    const { owner = '', repo = '' } = ctx.params
    const body = await readJsonBody(ctx, true)
    if (!this.access.authorize(ctx, owner, repo, 'write')) return
    const state = this.repo(`${owner}/${repo}`)
    const issue = this.find(state, ctx.params.number)
    if (!issue) return notFound(ctx.res, DOCS.labels)
    const raw = Array.isArray(body) ? body : (body as Record<string, unknown> | undefined)?.labels
    const names = labelNames(raw)
    if (names === undefined) return problemsParsing(ctx.res, DOCS.labels)
    for (const name of names) {
      if (!issue.labels.some(l => l.name.toLowerCase() === name.toLowerCase())) {
        issue.labels.push(this.label(state, name))
      }
    }
    issue.updated_at = timestamp()
    sendJson(ctx.res, 200, issue.labels)
  }

  // ---- internals ----

  /** `/repos/:owner/:repo/...` or `/repositories/:id/...` to the repository state. */
  private resolve(ctx: RouteContext, owner?: string, repo?: string): RepoIssues | undefined {
    if (ctx.params.id !== undefined) {
      const found = [...this.repos.values()].find(r => String(r.id) === ctx.params.id)
      if (!found) notFound(ctx.res, DOCS.list)
      return found
    }
    return this.repo(`${owner ?? ''}/${repo ?? ''}`)
  }

  private find(state: RepoIssues, number: string | undefined): EmulatedIssue | undefined {
    return state.issues.find(i => String(i.number) === number)
  }

  private store(
    state: RepoIssues,
    fields: { title: string; body: string | null; labels: string[]; user: EmulatedUser }
  ): EmulatedIssue {
    const now = timestamp()
    const id = globalId++
    const issue: EmulatedIssue = {
      id,
      node_id: `I_kwDO${id}`,
      number: state.nextNumber++,
      title: fields.title,
      body: fields.body,
      state: 'open',
      state_reason: null,
      labels: [...new Set(fields.labels)].map(name => this.label(state, name)),
      user: fields.user,
      comments: 0,
      created_at: now,
      updated_at: now,
      closed_at: null
    }
    state.issues.push(issue)
    return issue
  }

  /** The repository's label of that name, created (color ededed) when missing. */
  private label(state: RepoIssues, name: string): EmulatedLabel {
    const key = name.toLowerCase()
    let label = state.labels.get(key)
    if (!label) {
      const id = globalId++
      label = {
        id,
        node_id: `LA_${id}`,
        url: `${this.access.baseUrl()}/repos/${state.fullName}/labels/${encodeURIComponent(name)}`,
        name,
        color: 'ededed',
        default: false,
        description: null
      }
      state.labels.set(key, label)
    }
    return label
  }
}

function renderUser(user: EmulatedUser): Record<string, unknown> {
  return {
    login: user.login,
    id: user.id,
    node_id: `U_${user.id}`,
    type: user.type,
    site_admin: false,
    html_url: `https://github.com/${user.login.replace('[bot]', '')}`
  }
}

/** GitHub's order: prev, next, last, first; the other query parameters are kept. */
function linkHeader(
  base: string,
  repoId: number,
  query: URLSearchParams,
  page: number,
  last: number
): string {
  const link = (n: number, rel: string) => {
    const q = new URLSearchParams(query)
    q.set('page', String(n))
    return `<${base}/repositories/${repoId}/issues?${q.toString()}>; rel="${rel}"`
  }
  const parts: string[] = []
  if (page > 1) parts.push(link(Math.min(page - 1, last), 'prev'))
  if (page < last) parts.push(link(page + 1, 'next'), link(last, 'last'))
  if (page > 1) parts.push(link(1, 'first'))
  return parts.join(', ')
}

async function readJsonBody(
  ctx: RouteContext,
  allowArray = false
): Promise<Record<string, unknown> | undefined> {
  const text = await readBody(ctx.req)
  try {
    const value = JSON.parse(text === '' ? '{}' : text) as unknown
    if (typeof value !== 'object' || value === null) return undefined
    if (Array.isArray(value) && !allowArray) return undefined
    return value as Record<string, unknown>
  } catch {
    return undefined
  }
}

function labelNames(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) return undefined
  const names: string[] = []
  for (const item of value) {
    if (typeof item === 'string') names.push(item)
    else if (typeof item === 'object' && item !== null && typeof item.name === 'string') {
      names.push(item.name)
    } else return undefined
  }
  return names
}

/** GitHub counts characters; code points are the closest a JavaScript string gets. */
function tooLong(text: string): boolean {
  return text.length > BODY_LIMIT && [...text].length > BODY_LIMIT
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(n)))
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function error(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  sendJson(res, status, { ...body, status: String(status) })
}

function notFound(res: ServerResponse, docs: string): void {
  error(res, 404, { message: 'Not Found', documentation_url: docs })
}

function gone(res: ServerResponse): void {
  error(res, 410, { message: 'Issues are disabled for this repo', documentation_url: DOCS.list })
}

function problemsParsing(res: ServerResponse, docs: string): void {
  error(res, 400, { message: 'Problems parsing JSON', documentation_url: docs })
}

function invalid(res: ServerResponse, docs: string, errors: Record<string, unknown>[]): void {
  error(res, 422, { message: 'Validation Failed', errors, documentation_url: docs })
}
