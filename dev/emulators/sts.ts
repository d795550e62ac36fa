// Loopback emulator of AWS STS over its real wire protocol (awsQuery, API version 2011-06-15):
// `POST /` with a form body (`Action=AssumeRoleWithWebIdentity&Version=2011-06-15&...`), answers
// in STS's XML envelope (`<ActionResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
// <ActionResult>...</ActionResult><ResponseMetadata>...`) and errors as
// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`. The real
// @aws-sdk/client-sts reaches it through AWS_ENDPOINT_URL_STS.
//
// AssumeRoleWithWebIdentity validates the JWT as STS does with an IAM OIDC provider: RS256
// signature against the provider's key, `iss` naming a registered provider, `aud` among its
// client IDs, `exp`/`nbf`, then the role's trust condition on `sub` (StringLike, `*` and `?`).
// Issued credentials are registered with the EC2 emulator, which then rejects other keys.
//
// Error codes and messages, as STS sends them:
// - AccessDenied "Not authorized to perform sts:AssumeRoleWithWebIdentity" (HTTP 403): the
//   message users report in aws-actions/configure-aws-credentials#318, #511.
// - InvalidIdentityToken "Incorrect token audience" (awslabs/amazon-eks-irsa-cfn#18),
//   "No OpenIDConnect provider found in your account for <iss>" (HTTP 400); otherwise the
//   description of the error in the STS API reference.
// - ExpiredTokenException "Token expired: current date/time N must be before the expiration
//   date/timeM" (verbatim, missing space included: awslabs/aws-orbit-workbench#771).
// - Throttling "Rate exceeded" (HTTP 400), IDPCommunicationError (HTTP 400).
// - ValidationError "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
import { createVerify, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { pathToFileURL } from 'node:url'
import {
  FaultInjector,
  LoopbackServer,
  QueryError,
  QueryParams,
  awsQueryErrorXml,
  awsQueryResponseXml,
  parseSigV4,
  requestIdGenerator,
  xmlElement,
  xmlText
} from './aws-query.js'
import type { FaultConfig, HttpAnswer } from './aws-query.js'
import type { Ec2Emulator } from './ec2.js'

export const STS_XML_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/'
export const DEFAULT_STS_ACCOUNT = '123456789012'

/** An IAM OIDC identity provider as STS knows it: issuer URL, signing key, client IDs. */
export interface OidcProviderSpec {
  issuer: string
  publicKey: KeyObject
  /** Client IDs (audiences) the provider accepts. Default ['sts.amazonaws.com']. */
  audiences?: string[]
  /** Accounts that have this provider; default: every account. */
  accounts?: string[]
}

/** A role assumable with web identity: its trust condition on `sub` (StringLike). */
export interface RoleSpec {
  roleArn: string
  /** StringLike pattern(s) on the token's `sub`, e.g. `repo:octo-org/edge:*`. */
  subject: string | string[]
  /** StringEquals on `aud` (default: any audience the provider accepts). */
  audience?: string
  /** MaxSessionDuration of the role (default 3600). */
  maxSessionDuration?: number
}

export interface IssuedCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  expiration: Date
  account: string
  roleArn: string
  assumedRoleArn: string
  subject: string
}

export interface StsCall {
  action: string
  ok: boolean
  errorCode?: string
  roleArn?: string
  accessKeyId?: string
}

export interface StsEmulatorOptions {
  providers?: OidcProviderSpec[]
  roles?: RoleSpec[]
  /** Registers every issued key with this EC2 emulator (allow-list mode). */
  ec2?: Ec2Emulator
  /** Long-term access key id -> account, for GetCallerIdentity with the default chain. */
  accountIds?: Record<string, string>
  defaultAccount?: string
  faults?: FaultConfig
  /** Tolerance for `exp` / `nbf`, in seconds (default 0). */
  clockToleranceSeconds?: number
}

const MSG = {
  notAuthorized: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
  invalidToken:
    'The web identity token that was passed could not be validated by AWS. Get a new identity ' +
    'token from the identity provider and then retry the request.',
  audience: 'Incorrect token audience',
  duration: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
  missingAuth: 'Request is missing Authentication Token',
  invalidClientToken: 'The security token included in the request is invalid.',
  expiredClientToken: 'The security token included in the request is expired'
}

export class StsEmulator {
  readonly calls: StsCall[] = []
  readonly issued: IssuedCredentials[] = []
  private readonly providers: OidcProviderSpec[]
  private readonly roles = new Map<string, RoleSpec>()
  private readonly server: LoopbackServer
  private readonly nextRequestId = requestIdGenerator(0x575)
  private readonly faultInjector = new FaultInjector({
    throttle: { code: 'Throttling', message: 'Rate exceeded', status: 400 },
    internal: { code: 'InternalFailure', message: 'An internal error occurred', status: 500 }
  })
  private baseUrl: string | undefined

  constructor(private readonly options: StsEmulatorOptions = {}) {
    this.providers = [...(options.providers ?? [])]
    for (const role of options.roles ?? []) this.addRole(role)
    if (options.faults) this.faultInjector.set(options.faults)
    this.server = new LoopbackServer((req, body) => this.handle(req, body))
  }

  async start(port = 0): Promise<string> {
    this.baseUrl = await this.server.start(port)
    return this.baseUrl
  }

  async stop(): Promise<void> {
    await this.server.stop()
    this.baseUrl = undefined
  }

  /** The value for AWS_ENDPOINT_URL_STS. */
  get url(): string | undefined {
    return this.baseUrl
  }

  addProvider(provider: OidcProviderSpec): void {
    this.providers.push(provider)
  }

  addRole(role: RoleSpec): void {
    this.roles.set(role.roleArn, role)
  }

  removeRole(roleArn: string): void {
    this.roles.delete(roleArn)
  }

  get faults(): FaultConfig {
    return this.faultInjector.get()
  }

  /** Assigning reseeds; `failNext: [{ action, code, status }]` scripts one-shot errors. */
  set faults(config: FaultConfig) {
    this.faultInjector.set(config)
  }

  /** The account of a key this emulator issued, or of a configured long-term key. */
  accountOf(accessKeyId: string): string | undefined {
    const issued = this.issued.find(c => c.accessKeyId === accessKeyId)
    if (issued) return issued.account
    return this.options.accountIds?.[accessKeyId]
  }

  count(action?: string): number {
    return this.calls.filter(c => action === undefined || c.action === action).length
  }

  /** Forgets calls and faults (issued credentials stay valid). */
  reset(): void {
    this.calls.length = 0
    this.faultInjector.set({})
  }

  // -- HTTP -----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, body: string): Promise<HttpAnswer | 'drop'> {
    const requestId = this.nextRequestId()
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const params = new QueryParams([
      ...url.searchParams.entries(),
      ...new URLSearchParams(body).entries()
    ])
    const action = params.get('Action') ?? ''
    const call: StsCall = { action, ok: false }
    this.calls.push(call)
    try {
      if (params.get('Version') !== '2011-06-15') {
        throw new QueryError('InvalidAction', `Could not find operation ${action} for version`)
      }
      const fault = this.faultInjector.next(action)
      if (fault?.kind === 'drop') {
        call.errorCode = 'ConnectionDropped'
        return 'drop'
      }
      if (fault) throw new QueryError(fault.code, fault.message, fault.status)
      let result: string
      if (action === 'AssumeRoleWithWebIdentity') {
        result = this.assumeRoleWithWebIdentity(params, call)
      } else if (action === 'GetCallerIdentity') {
        result = this.getCallerIdentity(req, url, call)
      } else {
        throw new QueryError('InvalidAction', `Could not find operation ${action} for version`)
      }
      call.ok = true
      return {
        status: 200,
        body: awsQueryResponseXml(action, STS_XML_NAMESPACE, requestId, result),
        headers: { 'x-amzn-requestid': requestId }
      }
    } catch (err) {
      const e =
        err instanceof QueryError
          ? err
          : new QueryError('InternalFailure', 'An internal error occurred', 500)
      call.errorCode = e.code
      return {
        status: e.status,
        body: awsQueryErrorXml(e.code, e.message, requestId, STS_XML_NAMESPACE),
        headers: { 'x-amzn-requestid': requestId }
      }
    }
  }

  // -- actions --------------------------------------------------------------------------------

  private assumeRoleWithWebIdentity(params: QueryParams, call: StsCall): string {
    const roleArn = params.require('RoleArn')
    call.roleArn = roleArn
    const sessionName = params.require('RoleSessionName')
    const token = params.require('WebIdentityToken')
    const duration = params.int('DurationSeconds') ?? 3600
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw new QueryError(
        'ValidationError',
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to ` +
          'satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*'
      )
    }
    if (duration < 900 || duration > 43200) {
      throw new QueryError(
        'ValidationError',
        `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to ` +
          'satisfy constraint: Member must have value between 900 and 43200'
      )
    }
    const account = /^arn:[a-z-]+:iam::(\d{12}):role\/.+$/.exec(roleArn)?.[1]
    if (!account) {
      throw new QueryError('ValidationError', `${roleArn} is invalid`)
    }

    const claims = this.verifyToken(token, account)
    const role = this.roles.get(roleArn)
    const subjects = role ? (Array.isArray(role.subject) ? role.subject : [role.subject]) : []
    const sub = typeof claims.sub === 'string' ? claims.sub : ''
    const aud = typeof claims.aud === 'string' ? claims.aud : ''
    const trusted =
      role !== undefined &&
      subjects.some(pattern => stringLike(pattern, sub)) &&
      (role.audience === undefined || role.audience === aud)
    if (!trusted) throw new QueryError('AccessDenied', MSG.notAuthorized, 403)
    if (duration > (role.maxSessionDuration ?? 3600)) {
      throw new QueryError('ValidationError', MSG.duration)
    }

    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1)
    const partition = roleArn.split(':')[1] as string
    const assumedRoleArn = `arn:${partition}:sts::${account}:assumed-role/${roleName}/${sessionName}`
    const credentials: IssuedCredentials = {
      accessKeyId: `ASIA${randomId(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(180).toString('base64'),
      expiration: new Date(Math.floor(Date.now() / 1000 + duration) * 1000),
      account,
      roleArn,
      assumedRoleArn,
      subject: sub
    }
    this.issued.push(credentials)
    call.accessKeyId = credentials.accessKeyId
    this.options.ec2?.allowAccessKey(credentials.accessKeyId, account, credentials.sessionToken)
    const roleId = `AROA${randomId(17)}`
    return (
      xmlText('SubjectFromWebIdentityToken', sub) +
      xmlText('Audience', aud) +
      xmlElement(
        'AssumedRoleUser',
        xmlText('Arn', assumedRoleArn) + xmlText('AssumedRoleId', `${roleId}:${sessionName}`)
      ) +
      xmlElement(
        'Credentials',
        xmlText('AccessKeyId', credentials.accessKeyId) +
          xmlText('SecretAccessKey', credentials.secretAccessKey) +
          xmlText('SessionToken', credentials.sessionToken) +
          xmlText('Expiration', credentials.expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'))
      ) +
      // "For OpenID Connect ID tokens, this field contains the value returned by the identity
      // provider as the token's iss field" (STS API reference, AssumeRoleWithWebIdentity).
      xmlText('Provider', String(claims.iss))
    )
  }

  /** Signature, issuer, audience and validity window; returns the claims. */
  private verifyToken(token: string, account: string): Record<string, unknown> {
    const parts = token.split('.')
    const invalid = () => new QueryError('InvalidIdentityToken', MSG.invalidToken)
    if (parts.length !== 3) throw invalid()
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
    let header: Record<string, unknown>
    let claims: Record<string, unknown>
    try {
      header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >
      claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >
    } catch {
      throw invalid()
    }
    const iss = typeof claims.iss === 'string' ? claims.iss : ''
    const provider = this.providers.find(
      p => p.issuer === iss && (p.accounts === undefined || p.accounts.includes(account))
    )
    if (!provider) {
      throw new QueryError(
        'InvalidIdentityToken',
        `No OpenIDConnect provider found in your account for ${iss}`
      )
    }
    if (header.alg !== 'RS256') throw invalid()
    const signatureOk = createVerify('RSA-SHA256')
      .update(`${headerPart}.${payloadPart}`)
      .verify(provider.publicKey, Buffer.from(signaturePart, 'base64url'))
    if (!signatureOk) throw invalid()
    const audiences = provider.audiences ?? ['sts.amazonaws.com']
    if (typeof claims.aud !== 'string' || !audiences.includes(claims.aud)) {
      throw new QueryError('InvalidIdentityToken', MSG.audience)
    }
    const now = Math.floor(Date.now() / 1000)
    const tolerance = this.options.clockToleranceSeconds ?? 0
    if (typeof claims.exp !== 'number') throw invalid()
    if (now - tolerance >= claims.exp) {
      throw new QueryError(
        'ExpiredTokenException',
        `Token expired: current date/time ${now} must be before the expiration date/time${claims.exp}`
      )
    }
    if (typeof claims.nbf === 'number' && now + tolerance < claims.nbf) throw invalid()
    return claims
  }

  private getCallerIdentity(req: IncomingMessage, url: URL, call: StsCall): string {
    const scope = parseSigV4(req.headers.authorization, url.searchParams)
    if (!scope) throw new QueryError('MissingAuthenticationToken', MSG.missingAuth, 403)
    call.accessKeyId = scope.accessKeyId
    if (scope.accessKeyId.startsWith('ASIA')) {
      const issued = this.issued.find(c => c.accessKeyId === scope.accessKeyId)
      if (!issued || req.headers['x-amz-security-token'] !== issued.sessionToken) {
        throw new QueryError('InvalidClientTokenId', MSG.invalidClientToken, 403)
      }
      if (issued.expiration.getTime() <= Date.now()) {
        throw new QueryError('ExpiredToken', MSG.expiredClientToken, 403)
      }
      const roleId = `AROA${randomId(17)}`
      const session = issued.assumedRoleArn.slice(issued.assumedRoleArn.lastIndexOf('/') + 1)
      return (
        xmlText('Arn', issued.assumedRoleArn) +
        xmlText('UserId', `${roleId}:${session}`) +
        xmlText('Account', issued.account)
      )
    }
    const account =
      this.options.accountIds?.[scope.accessKeyId] ??
      this.options.defaultAccount ??
      DEFAULT_STS_ACCOUNT
    return (
      xmlText('Arn', `arn:aws:iam::${account}:user/ci`) +
      xmlText('UserId', `AIDA${randomId(17)}`) +
      xmlText('Account', account)
    )
  }
}

/** IAM StringLike: `*` any run of characters, `?` one character, case-sensitive. */
export function stringLike(pattern: string, value: string): boolean {
  const re = pattern
    .split('')
    .map(c => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('')
  return new RegExp(`^${re}$`, 's').test(value)
}

function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  return Array.from(randomBytes(length), b => alphabet[b % 32]).join('')
}

// `tsx dev/emulators/sts.ts --port 4567`: standalone, accepts any GetCallerIdentity.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--port')
  const emulator = new StsEmulator()
  console.log(await emulator.start(i >= 0 ? Number(process.argv[i + 1]) : 0))
  const stop = () => void emulator.stop().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
