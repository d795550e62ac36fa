// Loopback emulator of the parts of the GitHub REST API this project talks to.
//
// Today: `POST /repos/{owner}/{repo}/dispatches` (create a repository dispatch event), answered the
// way GitHub documents it: 204 No Content on success; 422 when `event_type` is missing or longer
// than 100 characters or `client_payload` has more than 10 top-level properties; 401 for a
// missing or unknown token; 404 for a repository the token cannot see; 403 for a token that can
// see the repository but may not write to it (a fine-grained token without "Contents: write").
// https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
//
// The issues API (list with labels + Link pagination, create, comment, update, add labels) lives in
// ./github-issues.ts and is reachable as `emulator.issues` (seed issues, read what runs wrote). Each
// token's Issues permission is modelled separately from Contents (`TokenGrant.issues`), and a
// GITHUB_TOKEN-like token (`kind: 'integration'`) is refused with GitHub's wording for it:
// 403 "Resource not accessible by integration".
// Who a token is, as GitHub answers it: `GET /user` gives a user token's account (200); an installation
// token (the job's GITHUB_TOKEN, a GitHub App's token) gets 403 "Resource not accessible by
// integration" there (zerocracy/judges-action#637, anthropics/claude-code-action#538), while the
// GraphQL `viewer` answers for every kind, an installation token's with its bot login
// (`<app-slug>[bot]`; `github-actions[bot]` for GITHUB_TOKEN; fullsend-ai/fullsend#1953). What a
// token creates is authored by that same identity.
// More endpoints plug in through `route(method, pattern, handler)` and can reuse `authorize()`
// and `sendError()`.
//
// Faults: `enqueue(...)` scripts the next responses (500, 429 with Retry-After, a secondary or
// primary rate limit, 401, a dropped connection, a delay), consumed one per request before any
// normal handling; a response with `match` waits for a request with that method and path.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pathToFileURL } from 'node:url'
import {
  Router,
  delay,
  isPlainObject,
  listenLoopback,
  readBody,
  sendEmpty,
  sendJson
} from './http-util.js'
import type { Listening, RouteContext } from './http-util.js'
import { ActionsStore } from './github-actions.js'
import { IssueStore } from './github-issues.js'
import type { EmulatedUser } from './github-issues.js'

export const DISPATCH_DOCS_URL =
  'https://docs.github.com/rest/repos/repos#create-a-repository-dispatch-event'
const ISSUES_DOCS_URL = 'https://docs.github.com/rest/issues/issues'
const REST_DOCS_URL = 'https://docs.github.com/rest'
const USER_DOCS_URL = 'https://docs.github.com/rest/users/users#get-the-authenticated-user'
const GRAPHQL_DOCS_URL = 'https://docs.github.com/graphql'

/** The identity behind a token: what GET /user or GraphQL `viewer` names, and what it authors. */
function userOf(grant: TokenGrant): EmulatedUser {
  const login = grant.login ?? (grant.kind === 'integration' ? 'github-actions[bot]' : 'octocat')
  return {
    login,
    id: grant.kind === 'integration' ? 41898282 : 583231,
    type: login.endsWith('[bot]') ? 'Bot' : 'User'
  }
}

export interface TokenGrant {
  /** Repositories (`owner/repo`) the token can see; `'*'` (default) for every known repository. */
  repos?: string[] | '*'
  /** `write` (default) may create dispatches; `read` gets 403 like a token without Contents: write. */
  access?: 'read' | 'write'
  /** Issues permission; defaults to `access`. `none` cannot even list issues (403). */
  issues?: 'none' | 'read' | 'write'
  /**
   * `integration` (a GITHUB_TOKEN or App token: 403 "Resource not accessible by integration",
   * issues authored by github-actions[bot]) or `pat` (default: "... by personal access token").
   */
  kind?: 'pat' | 'integration'
  /** Login shown as the author of what the token writes. */
  login?: string
  /** Actions permission (listing workflows and runs); default `read`. */
  actions?: 'none' | 'read'
}

export interface GitHubEmulatorOptions {
  /** Known repositories, `owner/repo`. Any other repository answers 404. */
  repos?: string[]
  /** Accepted tokens and what each may do. */
  tokens?: Record<string, TokenGrant>
}

/** One scripted answer. `dropConnection` destroys the socket instead of answering. */
export interface ScriptedResponse {
  /** Only a request with this method and path (exact, or a RegExp on the path) consumes it. */
  match?: { method?: string; path?: string | RegExp }
  status?: number
  headers?: Record<string, string>
  body?: unknown
  delayMs?: number
  dropConnection?: boolean
}

export interface RecordedDispatch {
  owner: string
  repo: string
  eventType: string
  clientPayload: Record<string, unknown> | undefined
  receivedAt: Date
}

export interface RecordedRequest {
  method: string
  path: string
  /** The query string without '?', e.g. `state=open&labels=x&per_page=100&page=2`. */
  query: string
  status: number
  /** Which credential scheme the request used (`bearer`, `token`, `none`); the token itself is never kept. */
  auth: 'bearer' | 'token' | 'none' | 'other'
  userAgent: string | undefined
  apiVersion: string | undefined
  scripted: boolean
}

/** Ready-made faults for `enqueue`. */
export const faults = {
  serverError: (status = 500): ScriptedResponse => ({
    status,
    body: { message: 'Server Error' }
  }),
  rateLimited: (retryAfterSeconds: number, status = 429): ScriptedResponse => ({
    status,
    headers: { 'retry-after': String(retryAfterSeconds) },
    body: {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      documentation_url: `${REST_DOCS_URL}/overview/rate-limits-for-the-rest-api`,
      status: String(status)
    }
  }),
  unauthorized: (): ScriptedResponse => ({
    status: 401,
    body: { message: 'Bad credentials', documentation_url: REST_DOCS_URL, status: '401' }
  }),
  forbidden: (): ScriptedResponse => ({
    status: 403,
    body: {
      message: 'Resource not accessible by personal access token',
      documentation_url: DISPATCH_DOCS_URL,
      status: '403'
    }
  }),
  notFound: (): ScriptedResponse => ({
    status: 404,
    body: { message: 'Not Found', documentation_url: DISPATCH_DOCS_URL, status: '404' }
  }),
  /** GitHub's secondary rate limit: 403 (or 429), a message naming it, Retry-After. */
  secondaryRateLimit: (retryAfterSeconds: number, status = 403): ScriptedResponse => ({
    status,
    headers: { 'retry-after': String(retryAfterSeconds) },
    body: {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. ' +
        'If you reach out to GitHub Support for help, please include the request ID EMU.',
      documentation_url: `${REST_DOCS_URL}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
      status: String(status)
    }
  }),
  /** The primary rate limit: 403, x-ratelimit-remaining 0 and the reset time in epoch seconds. */
  primaryRateLimit: (resetInSeconds: number): ScriptedResponse => ({
    status: 403,
    headers: {
      'x-ratelimit-limit': '1000',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-used': '1000',
      'x-ratelimit-resource': 'core',
      'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + resetInSeconds)
    },
    body: {
      message: 'API rate limit exceeded for installation ID 1.',
      documentation_url: `${REST_DOCS_URL}/overview/rate-limits-for-the-rest-api`,
      status: '403'
    }
  }),
  /** What a GITHUB_TOKEN without the needed permission gets. */
  integrationForbidden: (docs = REST_DOCS_URL): ScriptedResponse => ({
    status: 403,
    body: {
      message: 'Resource not accessible by integration',
      documentation_url: docs,
      status: '403'
    }
  }),
  dropConnection: (): ScriptedResponse => ({ dropConnection: true }),
  slow: (delayMs: number, status = 204): ScriptedResponse => ({ status, delayMs })
}

export class GitHubEmulator {
  readonly dispatches: RecordedDispatch[] = []
  readonly requests: RecordedRequest[] = []
  readonly router = new Router()
  /** Issue state per repository: seed issues, read what the action wrote. */
  readonly issues: IssueStore
  /** Workflows and runs per repository (./github-actions.ts): how dispatched runs end. */
  readonly actions: ActionsStore
  private readonly repos = new Set<string>()
  private readonly tokens = new Map<string, TokenGrant>()
  private readonly script: ScriptedResponse[] = []
  private listening: Listening | undefined

  private constructor(options: GitHubEmulatorOptions) {
    for (const r of options.repos ?? []) this.addRepo(r)
    for (const [token, grant] of Object.entries(options.tokens ?? {})) this.addToken(token, grant)
    this.router.add('POST', '/repos/:owner/:repo/dispatches', ctx => this.createDispatch(ctx))
    this.issues = new IssueStore({
      authorize: (ctx, owner, repo, need) => this.authorizeIssues(ctx, owner, repo, need),
      baseUrl: () => this.url
    })
    this.actions = new ActionsStore(
      (ctx, owner, repo) => this.authorizeActions(ctx, owner, repo),
      () => this.url
    )
    const actions = this.actions
    this.router
      .add('GET', '/repos/:owner/:repo/actions/runs', ctx => actions.listRuns(ctx))
      .add('GET', '/repos/:owner/:repo/actions/workflows', ctx => actions.listWorkflows(ctx))
    const issues = this.issues
    this.router
      .add('GET', '/repos/:owner/:repo/issues', ctx => issues.list(ctx))
      .add('GET', '/repositories/:id/issues', ctx => issues.list(ctx))
      .add('POST', '/repos/:owner/:repo/issues', ctx => issues.create(ctx))
      .add('PATCH', '/repos/:owner/:repo/issues/:number', ctx => issues.update(ctx))
      .add('POST', '/repos/:owner/:repo/issues/:number/comments', ctx => issues.comment(ctx))
      .add('POST', '/repos/:owner/:repo/issues/:number/labels', ctx => issues.addLabels(ctx))
      .add('GET', '/user', ctx => this.authenticatedUser(ctx))
      .add('POST', '/graphql', ctx => this.graphql(ctx))
  }

  /** Starts an emulator on 127.0.0.1 with an ephemeral port. */
  static async start(options: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
    const emulator = new GitHubEmulator(options)
    emulator.listening = await listenLoopback((req, res) => emulator.handle(req, res))
    return emulator
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`: the value for `GITHUB_API_URL`. */
  get url(): string {
    if (!this.listening) throw new Error('emulator not started')
    return this.listening.url
  }

  addRepo(fullName: string): this {
    this.repos.add(fullName.toLowerCase())
    return this
  }

  addToken(token: string, grant: TokenGrant = {}): this {
    this.tokens.set(token, grant)
    return this
  }

  /** Scripts the next responses, one per incoming request, before normal handling. */
  enqueue(...responses: ScriptedResponse[]): this {
    this.script.push(...responses)
    return this
  }

  /** Registers another endpoint (e.g. `GET /repos/:owner/:repo/issues`). */
  route(method: string, pattern: string, handler: (ctx: RouteContext) => void | Promise<void>) {
    this.router.add(method, pattern, handler)
    return this
  }

  /** Forgets recorded calls, pending scripted responses and every issue. */
  reset(): void {
    this.dispatches.length = 0
    this.requests.length = 0
    this.script.length = 0
    this.issues.reset()
    this.actions.reset()
  }

  async close(): Promise<void> {
    await this.listening?.close()
    this.listening = undefined
  }

  /**
   * Checks the request's token against `owner/repo` as GitHub does and answers the error itself
   * (401 / 404 / 403); returns true when the handler may go on.
   */
  authorize(ctx: RouteContext, owner: string, repo: string, need: 'read' | 'write'): boolean {
    const { res } = ctx
    const token = bearerToken(ctx.req)
    if (token === undefined) {
      sendError(res, 401, 'Requires authentication', REST_DOCS_URL)
      return false
    }
    const grant = this.tokens.get(token)
    if (!grant) {
      sendError(res, 401, 'Bad credentials', REST_DOCS_URL)
      return false
    }
    if (!this.visible(grant, owner, repo)) {
      // GitHub hides repositories a token cannot see behind 404, never 403.
      sendError(res, 404, 'Not Found', DISPATCH_DOCS_URL)
      return false
    }
    if (need === 'write' && (grant.access ?? 'write') !== 'write') {
      sendError(res, 403, 'Resource not accessible by personal access token', DISPATCH_DOCS_URL)
      return false
    }
    return true
  }

  /**
   * Like `authorize`, for the Issues permission: 401 / 404 as there, 403 with GitHub's wording for
   * the token's kind. Returns the acting user when the handler may go on.
   */
  authorizeIssues(
    ctx: RouteContext,
    owner: string,
    repo: string,
    need: 'read' | 'write'
  ): EmulatedUser | undefined {
    const token = bearerToken(ctx.req)
    const grant = token === undefined ? undefined : this.tokens.get(token)
    if (!grant || !this.visible(grant, owner, repo)) {
      this.authorize(ctx, owner, repo, 'read') // answers 401 or 404
      return undefined
    }
    const level = grant.issues ?? grant.access ?? 'write'
    const allowed = need === 'read' ? level !== 'none' : level === 'write'
    if (!allowed) {
      const who = grant.kind === 'integration' ? 'integration' : 'personal access token'
      sendError(ctx.res, 403, `Resource not accessible by ${who}`, ISSUES_DOCS_URL)
      return undefined
    }
    return userOf(grant)
  }

  /** `GET /user`: the account behind a user token; 403 for an installation token. */
  private authenticatedUser(ctx: RouteContext): void {
    const grant = this.grantOf(ctx)
    if (!grant) return
    if (grant.kind === 'integration') {
      sendError(ctx.res, 403, 'Resource not accessible by integration', USER_DOCS_URL)
      return
    }
    const user = userOf(grant)
    sendJson(ctx.res, 200, { login: user.login, id: user.id, type: user.type, site_admin: false })
  }

  /** `POST /graphql`, `viewer { login }` only: every token kind may ask who it is. */
  private async graphql(ctx: RouteContext): Promise<void> {
    const text = await readBody(ctx.req)
    const grant = this.grantOf(ctx)
    if (!grant) return
    let query: string
    try {
      query = String((JSON.parse(text) as { query?: unknown }).query ?? '')
    } catch {
      sendError(ctx.res, 400, 'Problems parsing JSON', GRAPHQL_DOCS_URL)
      return
    }
    if (!/\bviewer\s*\{\s*login\s*\}/.test(query)) {
      sendJson(ctx.res, 200, {
        errors: [{ message: 'The emulator answers `viewer { login }` only' }]
      })
      return
    }
    sendJson(ctx.res, 200, { data: { viewer: { login: userOf(grant).login } } })
  }

  /** The request's token grant; answers 401 "Bad credentials" itself when there is none. */
  private grantOf(ctx: RouteContext): TokenGrant | undefined {
    const token = bearerToken(ctx.req)
    const grant = token === undefined ? undefined : this.tokens.get(token)
    if (!grant) sendError(ctx.res, 401, 'Bad credentials', REST_DOCS_URL)
    return grant
  }

  /** Like `authorize`, for the Actions read permission (403 without it). */
  authorizeActions(ctx: RouteContext, owner: string, repo: string): boolean {
    if (!this.authorize(ctx, owner, repo, 'read')) return false
    const grant = this.tokens.get(bearerToken(ctx.req) ?? '')
    if ((grant?.actions ?? 'read') === 'none') {
      const who = grant?.kind === 'integration' ? 'integration' : 'personal access token'
      sendError(ctx.res, 403, `Resource not accessible by ${who}`, REST_DOCS_URL)
      return false
    }
    return true
  }

  private visible(grant: TokenGrant, owner: string, repo: string): boolean {
    const full = `${owner}/${repo}`.toLowerCase()
    return (
      this.repos.has(full) &&
      (grant.repos === undefined ||
        grant.repos === '*' ||
        grant.repos.some(r => r.toLowerCase() === full))
    )
  }

  private nextScripted(req: IncomingMessage): ScriptedResponse | undefined {
    const method = (req.method ?? 'GET').toUpperCase()
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    const index = this.script.findIndex(({ match }) => {
      if (!match) return true
      if (match.method && match.method.toUpperCase() !== method) return false
      if (match.path === undefined) return true
      return typeof match.path === 'string' ? match.path === path : match.path.test(path)
    })
    return index < 0 ? undefined : this.script.splice(index, 1)[0]
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = { scripted: false }
    res.on('finish', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      this.requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.search.replace(/^\?/, ''),
        status: res.statusCode,
        auth: authScheme(req),
        userAgent: header(req, 'user-agent'),
        apiVersion: header(req, 'x-github-api-version'),
        scripted: started.scripted
      })
    })
    res.setHeader('x-github-request-id', `EMU:${this.requests.length + 1}`)

    const scripted = this.nextScripted(req)
    if (scripted) {
      started.scripted = true
      await readBody(req).catch(() => '')
      if (scripted.delayMs) await delay(scripted.delayMs)
      if (scripted.dropConnection) {
        req.socket.destroy()
        return
      }
      const status = scripted.status ?? 204
      if (scripted.body === undefined) sendEmpty(res, status, scripted.headers)
      else sendJson(res, status, scripted.body, scripted.headers)
      return
    }

    // GitHub answers 404 for unknown paths and for known paths with another method alike.
    await this.router.handle(req, res, ({ res: r }) =>
      sendError(r, 404, 'Not Found', REST_DOCS_URL)
    )
  }

  private async createDispatch(ctx: RouteContext): Promise<void> {
    const { req, res, params } = ctx
    const owner = params.owner ?? ''
    const repo = params.repo ?? ''
    const text = await readBody(req)
    if (!this.authorize(ctx, owner, repo, 'write')) return

    let body: unknown
    try {
      body = text.trim() === '' ? undefined : JSON.parse(text)
    } catch {
      sendError(res, 400, 'Problems parsing JSON', DISPATCH_DOCS_URL)
      return
    }
    if (!isPlainObject(body)) {
      sendError(res, 400, 'Problems parsing JSON', DISPATCH_DOCS_URL)
      return
    }
    const problem = validateDispatch(body)
    if (problem) {
      sendError(res, 422, `Invalid request.\n\n${problem}`, DISPATCH_DOCS_URL)
      return
    }
    this.dispatches.push({
      owner,
      repo,
      eventType: body.event_type as string,
      clientPayload: body.client_payload as Record<string, unknown> | undefined,
      receivedAt: new Date()
    })
    this.actions.dispatched(owner, repo)
    sendEmpty(res, 204)
  }
}

/** The body rules GitHub documents for repository dispatches; undefined when valid. */
export function validateDispatch(body: Record<string, unknown>): string | undefined {
  const eventType = body.event_type
  if (eventType === undefined) return '"event_type" wasn\'t supplied.'
  if (typeof eventType !== 'string') return "For 'properties/event_type', value is not a string."
  if (eventType.length === 0) return '"event_type" must not be empty.'
  if (eventType.length > 100) return '"event_type" must be 100 characters or fewer.'
  const payload = body.client_payload
  if (payload !== undefined) {
    if (!isPlainObject(payload)) return "For 'properties/client_payload', value is not an object."
    const n = Object.keys(payload).length
    if (n > 10) return `No more than 10 properties are allowed; ${n} were supplied.`
  }
  return undefined
}

/** GitHub's JSON error shape: `{ message, documentation_url, status }`. */
export function sendError(res: ServerResponse, status: number, message: string, docs: string) {
  sendJson(res, status, { message, documentation_url: docs, status: String(status) })
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function bearerToken(req: IncomingMessage): string | undefined {
  const auth = header(req, 'authorization')
  if (!auth) return undefined
  const m = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(auth)
  return m?.[1]
}

function authScheme(req: IncomingMessage): RecordedRequest['auth'] {
  const auth = header(req, 'authorization')
  if (!auth) return 'none'
  if (/^bearer\s/i.test(auth)) return 'bearer'
  if (/^token\s/i.test(auth)) return 'token'
  return 'other'
}

// `tsx dev/emulators/github.ts`: run standalone for manual checks.
//   GITHUB_EMULATOR_REPOS=owner/repo[,...] GITHUB_EMULATOR_TOKEN=... (default "dev-token")
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const repos = (process.env.GITHUB_EMULATOR_REPOS ?? 'octo-org/infra').split(',').filter(Boolean)
  const token = process.env.GITHUB_EMULATOR_TOKEN ?? 'dev-token'
  const emulator = await GitHubEmulator.start({ repos, tokens: { [token]: {} } })
  process.stdout.write(`GitHub emulator on ${emulator.url} (repos: ${repos.join(', ')})\n`)
  const stop = () => {
    for (const d of emulator.dispatches) process.stdout.write(`${JSON.stringify(d)}\n`)
    void emulator.close().then(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
