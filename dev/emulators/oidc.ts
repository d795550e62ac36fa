// Loopback emulator of the GitHub Actions OIDC token endpoint, answering exactly what
// @actions/core's getIDToken asks (node_modules/@actions/core/lib/oidc-utils.js):
//   GET ${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=<encodeURIComponent(aud)>
//   Authorization: Bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}, Accept: application/json
// and reading `result.value` from the JSON answer. The runner's URL already carries a query
// (`...?api-version=2.0`), which is why the toolkit appends with `&`.
//
// Tokens are RS256 JWTs signed with a key generated at start (node:crypto only), with the claims
// GitHub documents (docs.github.com, "OpenID Connect reference": iss, sub, aud, repository, ref,
// sha, workflow, job_workflow_ref, run_id, ...; the documented example token has nbf = iat - 600
// and exp = iat + 300). The public key goes to the STS emulator, which verifies signatures.
import { createHash, createSign, generateKeyPairSync, randomUUID } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pathToFileURL } from 'node:url'
import { listenLoopback, sendJson } from './http-util.js'
import type { Listening } from './http-util.js'

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'
const TOKEN_PATH =
  '/_apis/distributedtask/hubs/build/plans/00000000-0000-0000-0000-000000000001/jobs/00000000-0000-0000-0000-000000000002/idtoken'

/** The workflow run the tokens describe. */
export interface WorkflowContext {
  repository: string
  repositoryId: string
  repositoryOwnerId: string
  ref: string
  sha: string
  workflow: string
  /** `.github/workflows/<file>` of the calling workflow. */
  workflowFile: string
  environment?: string
  eventName: string
  actor: string
  runId: string
  runNumber: string
  runAttempt: string
}

export interface OidcEmulatorOptions {
  issuer?: string
  /** Seconds a token lives after `iat` (GitHub's example: 300). Negative = already expired. */
  lifetimeSeconds?: number
  context?: Partial<WorkflowContext>
  /** The runtime request token the runner hands to the job (ACTIONS_ID_TOKEN_REQUEST_TOKEN). */
  requestToken?: string
  /** Seconds added to the clock (tests of expiry). */
  clockSkewSeconds?: number
}

export interface OidcRequest {
  audience: string | undefined
  authorized: boolean
  status: number
}

const DEFAULT_CONTEXT: WorkflowContext = {
  repository: 'octo-org/edge',
  repositoryId: '123456789',
  repositoryOwnerId: '987654',
  ref: 'refs/heads/main',
  sha: 'a3f1c9e07b2d4c6e8f0a1b2c3d4e5f60718293a4',
  workflow: 'Sync CloudFront ranges',
  workflowFile: '.github/workflows/cloudfront-sg-sync.yml',
  eventName: 'schedule',
  actor: 'octocat',
  runId: '9876543210',
  runNumber: '42',
  runAttempt: '1'
}

export class OidcEmulator {
  readonly requests: OidcRequest[] = []
  /** Every token served over HTTP, to scan logs for leaks. */
  readonly issuedTokens: string[] = []
  readonly issuer: string
  readonly publicKey: KeyObject
  readonly keyId: string
  context: WorkflowContext
  lifetimeSeconds: number
  clockSkewSeconds: number
  private readonly privateKey: KeyObject
  private readonly requestToken: string
  private readonly failures: number[] = []
  private listening: Listening | undefined

  private constructor(options: OidcEmulatorOptions) {
    this.issuer = options.issuer ?? GITHUB_ISSUER
    this.lifetimeSeconds = options.lifetimeSeconds ?? 300
    this.clockSkewSeconds = options.clockSkewSeconds ?? 0
    this.context = { ...DEFAULT_CONTEXT, ...options.context }
    this.requestToken = options.requestToken ?? `runtime-${randomUUID()}`
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    this.publicKey = publicKey
    this.privateKey = privateKey
    const der = publicKey.export({ type: 'spki', format: 'der' })
    this.keyId = createHash('sha256').update(der).digest('hex').slice(0, 40).toUpperCase()
  }

  static async start(options: OidcEmulatorOptions = {}): Promise<OidcEmulator> {
    const emulator = new OidcEmulator(options)
    emulator.listening = await listenLoopback((req, res) => emulator.handle(req, res))
    return emulator
  }

  /** ACTIONS_ID_TOKEN_REQUEST_URL: like the runner's, it already has a query string. */
  get requestUrl(): string {
    if (!this.listening) throw new Error('emulator not started')
    return `${this.listening.url}${TOKEN_PATH}?api-version=2.0`
  }

  /** The two variables the runner sets for a job with `permissions: id-token: write`. */
  env(): Record<string, string> {
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: this.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: this.requestToken
    }
  }

  /** The `sub` GitHub builds by default: environment wins over ref (OIDC reference). */
  subject(context: WorkflowContext = this.context): string {
    const escape = (v: string) => v.replace(/:/g, '%3A')
    const repo = `repo:${context.repository}`
    if (context.environment) return `${repo}:environment:${escape(context.environment)}`
    if (context.eventName === 'pull_request') return `${repo}:pull_request`
    return `${repo}:ref:${escape(context.ref)}`
  }

  /** Signs a token for `audience` (default: the owner URL, as GitHub does without one). */
  issueToken(audience?: string, extraClaims: Record<string, unknown> = {}): string {
    const c = this.context
    const now = Math.floor(Date.now() / 1000) + this.clockSkewSeconds
    const owner = c.repository.split('/')[0] as string
    const refType = c.ref.startsWith('refs/tags/') ? 'tag' : 'branch'
    const workflowRef = `${c.repository}/${c.workflowFile}@${c.ref}`
    const claims: Record<string, unknown> = {
      jti: randomUUID(),
      sub: this.subject(),
      aud: audience ?? `https://github.com/${owner}`,
      ref: c.ref,
      sha: c.sha,
      repository: c.repository,
      repository_owner: owner,
      repository_owner_id: c.repositoryOwnerId,
      run_id: c.runId,
      run_number: c.runNumber,
      run_attempt: c.runAttempt,
      repository_visibility: 'private',
      repository_id: c.repositoryId,
      actor_id: '583231',
      actor: c.actor,
      workflow: c.workflow,
      head_ref: '',
      base_ref: '',
      event_name: c.eventName,
      ref_type: refType,
      workflow_ref: workflowRef,
      workflow_sha: c.sha,
      job_workflow_ref: workflowRef,
      job_workflow_sha: c.sha,
      runner_environment: 'github-hosted',
      ...(c.environment ? { environment: c.environment } : {}),
      iss: this.issuer,
      nbf: now - 600,
      exp: now + this.lifetimeSeconds,
      iat: now,
      ...extraClaims
    }
    return signJwt(
      { alg: 'RS256', kid: this.keyId, typ: 'JWT', x5t: this.keyId },
      claims,
      this.privateKey
    )
  }

  /** The next requests are answered with these HTTP statuses (e.g. 500), one each. */
  failNext(...statuses: number[]): this {
    this.failures.push(...statuses)
    return this
  }

  count(): number {
    return this.requests.length
  }

  reset(): void {
    this.requests.length = 0
    this.issuedTokens.length = 0
    this.failures.length = 0
  }

  async close(): Promise<void> {
    await this.listening?.close()
    this.listening = undefined
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const audience = url.searchParams.get('audience') ?? undefined
    const authorized = req.headers.authorization === `Bearer ${this.requestToken}`
    const answer = (status: number, body: unknown) => {
      this.requests.push({ audience, authorized, status })
      sendJson(res, status, body)
    }
    if (req.method !== 'GET' || url.pathname !== TOKEN_PATH) {
      return answer(404, { message: 'Not Found' })
    }
    if (url.searchParams.get('api-version') !== '2.0') {
      return answer(400, { message: 'api-version 2.0 is required' })
    }
    if (!authorized) return answer(401, { message: 'Unauthorized' })
    const status = this.failures.shift()
    if (status !== undefined) return answer(status, { message: `Injected HTTP ${status}` })
    const token = this.issueToken(audience)
    this.issuedTokens.push(token)
    answer(200, { value: token })
  }
}

export function signJwt(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  privateKey: KeyObject
): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${part(header)}.${part(claims)}`
  const signature = createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')
  return `${input}.${signature}`
}

// `tsx dev/emulators/oidc.ts`: run standalone; prints the two variables to export.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const emulator = await OidcEmulator.start()
  for (const [name, value] of Object.entries(emulator.env())) {
    process.stdout.write(`${name}=${value}\n`)
  }
  const stop = () => void emulator.close().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
