// Loopback emulator of the parts of the GitHub REST API this project talks to.
//
// Today: `POST /repos/{owner}/{repo}/dispatches` (create a repository dispatch event), answered the
// way GitHub documents it: 204 No Content on success; 422 when `event_type` is missing or longer
// than 100 characters or `client_payload` has more than 10 top-level properties; 401 for a
// missing or unknown token; 404 for a repository the token cannot see; 403 for a token that can
// see the repository but may not write to it (a fine-grained token without "Contents: write").
// https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
//
// More endpoints plug in through `route(method, pattern, handler)` (for example the issues API:
// list with labels + pagination, create, comment) and can reuse `authorize()` and `sendError()`.
//
// Faults: `enqueue(...)` scripts the next responses (500, 429 with Retry-After, 401, a dropped
// connection, a delay), consumed one per request before any normal handling.
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

export const DISPATCH_DOCS_URL =
  'https://docs.github.com/rest/repos/repos#create-a-repository-dispatch-event'
const REST_DOCS_URL = 'https://docs.github.com/rest'

export interface TokenGrant {
  /** Repositories (`owner/repo`) the token can see; `'*'` (default) for every known repository. */
  repos?: string[] | '*'
  /** `write` (default) may create dispatches; `read` gets 403 like a token without Contents: write. */
  access?: 'read' | 'write'
}

export interface GitHubEmulatorOptions {
  /** Known repositories, `owner/repo`. Any other repository answers 404. */
  repos?: string[]
  /** Accepted tokens and what each may do. */
  tokens?: Record<string, TokenGrant>
}

/** One scripted answer. `dropConnection` destroys the socket instead of answering. */
export interface ScriptedResponse {
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
  dropConnection: (): ScriptedResponse => ({ dropConnection: true }),
  slow: (delayMs: number, status = 204): ScriptedResponse => ({ status, delayMs })
}

export class GitHubEmulator {
  readonly dispatches: RecordedDispatch[] = []
  readonly requests: RecordedRequest[] = []
  readonly router = new Router()
  private readonly repos = new Set<string>()
  private readonly tokens = new Map<string, TokenGrant>()
  private readonly script: ScriptedResponse[] = []
  private listening: Listening | undefined

  private constructor(options: GitHubEmulatorOptions) {
    for (const r of options.repos ?? []) this.addRepo(r)
    for (const [token, grant] of Object.entries(options.tokens ?? {})) this.addToken(token, grant)
    this.router.add('POST', '/repos/:owner/:repo/dispatches', ctx => this.createDispatch(ctx))
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

  /** Forgets recorded calls and pending scripted responses. */
  reset(): void {
    this.dispatches.length = 0
    this.requests.length = 0
    this.script.length = 0
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
    const full = `${owner}/${repo}`.toLowerCase()
    const visible =
      this.repos.has(full) &&
      (grant.repos === undefined ||
        grant.repos === '*' ||
        grant.repos.some(r => r.toLowerCase() === full))
    if (!visible) {
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = { scripted: false }
    res.on('finish', () => {
      this.requests.push({
        method: req.method ?? 'GET',
        path: new URL(req.url ?? '/', 'http://127.0.0.1').pathname,
        status: res.statusCode,
        auth: authScheme(req),
        userAgent: header(req, 'user-agent'),
        apiVersion: header(req, 'x-github-api-version'),
        scripted: started.scripted
      })
    })
    res.setHeader('x-github-request-id', `EMU:${this.requests.length + 1}`)

    const scripted = this.script.shift()
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
