// Which AWS accounts a run covers, and with which credentials. With `role-to-assume`, each role is
// assumed through GitHub's OIDC token (core.getIDToken -> STS AssumeRoleWithWebIdentity): no
// long-lived key anywhere. Without it, the SDK's default chain is used unchanged (so a job that ran
// aws-actions/configure-aws-credentials first works), and the account id comes from
// GetCallerIdentity for the report.
//
// Secrets: the OIDC token and every credential value go through `setSecret` the moment they are
// received, before anything else runs that could log or fail.
import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient
} from '@aws-sdk/client-sts'
import { ConfigError } from '../input.js'
import {
  IdentityError,
  OIDC_REQUEST_ENV,
  accessDenied,
  decodeJwtClaims,
  expiredToken,
  invalidIdentityToken,
  missingIdTokenPermission
} from './oidc-errors.js'
import type { RetryOptions } from './retry.js'
import { isRetryableAwsError, mapBoundedSettled, withRetry } from './retry.js'

export { IdentityError } from './oidc-errors.js'

/** The identity inputs, validated. `roles` empty = the SDK default credential chain. */
export interface IdentityConfig {
  roles: string[]
  roleSessionName: string
  roleDurationSeconds: number
  audience: string
}

/** Temporary credentials; structurally the SDK's AwsCredentialIdentity. */
export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  expiration?: Date
}

/** What every AWS client of an account gets as `credentials`; refreshes before expiry. */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>

export interface AwsAccount {
  /** The 12-digit account id, or 'default' when the default chain's account could not be read. */
  accountId: string
  /** The role assumed for this account (absent with the default chain). */
  roleArn?: string
  /** The caller's ARN (assumed-role session or default-chain principal) when known. */
  callerArn?: string
  /** Pass as `credentials` to EC2Client / ServiceQuotasClient; undefined = the default chain. */
  credentials?: AwsCredentialsProvider
}

export interface IdentityDeps {
  /** `core.getIDToken`: requests the job's OIDC token for an audience. */
  getIDToken: (audience: string) => Promise<string>
  /** `core.setSecret`: masks a value in every later log line. */
  setSecret: (value: string) => void
  /** Where the OIDC request variables are looked up (default process.env). */
  env?: Record<string, string | undefined>
  /** Region of the STS endpoint: the first configured region (default us-east-1). */
  region?: string
  info?: (message: string) => void
  warning?: (message: string) => void
  userAgent?: string
  /** Roles assumed at once (default 4). */
  concurrency?: number
  retry?: RetryOptions
}

export const IDENTITY_INPUTS = {
  roles: 'role-to-assume',
  roleSessionName: 'role-session-name',
  roleDurationSeconds: 'role-duration-seconds',
  audience: 'audience'
} as const

export const DEFAULT_ROLE_SESSION_NAME = 'cloudfront-sg-sync'
export const DEFAULT_ROLE_DURATION_SECONDS = 900
export const DEFAULT_AUDIENCE = 'sts.amazonaws.com'
export const DEFAULT_ACCOUNT_ID = 'default'

// IAM role ARN: arn:PARTITION:iam::ACCOUNT:role[/PATH/]NAME; names are [\w+=,.@-]{1,64}, paths
// printable ASCII between slashes (IAM API reference, Role / CreateRole).
const ROLE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\x21-\x7e]{1,510}\/)?[\w+=,.@-]{1,64}$/
// RoleSessionName: 2-64 characters of [\w+=,.@-] (STS API reference, AssumeRoleWithWebIdentity).
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/
// DurationSeconds: 900 s up to 12 h, and at most the role's MaxSessionDuration (same reference).
const MIN_DURATION = 900
const MAX_DURATION = 43200
const ROLE_ARN_FORM = "an IAM role ARN such as 'arn:aws:iam::123456789012:role/cloudfront-sg-sync'"

/** Parses the identity inputs; every error names the input, the bad value and the expected form. */
export function parseIdentityInputs(read: (name: string) => string): IdentityConfig {
  const input = (name: string): string => read(name).trim()

  const roles: string[] = []
  const accounts = new Map<string, string>()
  for (const arn of splitRoles(input(IDENTITY_INPUTS.roles))) {
    const m = ROLE_ARN.exec(arn)
    if (!m) {
      const hint = /^arn:[^:]*:sts::\d{12}:assumed-role\//.test(arn)
        ? ' (this is an assumed-role session ARN; give the role ARN from IAM instead)'
        : /^[\w+=,.@-]+$/.test(arn)
          ? ' (a role name alone is not enough: the ARN names the account)'
          : ''
      throw invalid(
        IDENTITY_INPUTS.roles,
        arn,
        `${ROLE_ARN_FORM}, one per line or comma separated${hint}`
      )
    }
    if (roles.includes(arn)) continue
    const account = m[2] as string
    const other = accounts.get(account)
    if (other !== undefined) {
      throw new ConfigError(
        `Input '${IDENTITY_INPUTS.roles}' lists two roles in account ${account} ('${other}' and ` +
          `'${arn}'): each account is synced once, so give one role per account.`
      )
    }
    accounts.set(account, arn)
    roles.push(arn)
  }

  const roleSessionName = input(IDENTITY_INPUTS.roleSessionName) || DEFAULT_ROLE_SESSION_NAME
  if (!SESSION_NAME.test(roleSessionName)) {
    throw invalid(
      IDENTITY_INPUTS.roleSessionName,
      roleSessionName,
      '2 to 64 characters from a-z A-Z 0-9 and _+=,.@- (what STS accepts)'
    )
  }

  const durationText =
    input(IDENTITY_INPUTS.roleDurationSeconds) || String(DEFAULT_ROLE_DURATION_SECONDS)
  const roleDurationSeconds = /^\d+$/.test(durationText) ? Number(durationText) : NaN
  if (
    !Number.isSafeInteger(roleDurationSeconds) ||
    roleDurationSeconds < MIN_DURATION ||
    roleDurationSeconds > MAX_DURATION
  ) {
    throw invalid(
      IDENTITY_INPUTS.roleDurationSeconds,
      durationText,
      `a whole number of seconds from ${MIN_DURATION} to ${MAX_DURATION}, at most the role's ` +
        'maximum session duration'
    )
  }

  const audience = input(IDENTITY_INPUTS.audience) || DEFAULT_AUDIENCE
  if (!/^[\x21-\x7e]{1,255}$/.test(audience)) {
    throw invalid(
      IDENTITY_INPUTS.audience,
      audience,
      `the OIDC provider's audience (client ID), such as '${DEFAULT_AUDIENCE}', without spaces`
    )
  }

  return { roles, roleSessionName, roleDurationSeconds, audience }
}

/**
 * One ARN per line, or several on a line separated by commas. Role names may themselves contain
 * commas ([\w+=,.@-]), so a comma separates only where the next ARN starts.
 */
export function splitRoles(value: string): string[] {
  return value
    .split('\n')
    .flatMap(line => line.split(/,(?=\s*arn:)/))
    .map(item =>
      item
        .trim()
        .replace(/^,+|,+$/g, '')
        .trim()
    )
    .filter(item => item !== '')
}

function invalid(inputName: string, value: string, expected: string): ConfigError {
  return new ConfigError(
    `Input '${inputName}' has an invalid value '${value}': expected ${expected}.`
  )
}

/** The account id in an IAM or STS ARN. */
export function accountOfArn(arn: string): string | undefined {
  return /^arn:[a-z-]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1]
}

/** The partition of a region code (aws-cn: cn-*, aws-us-gov: us-gov-*, else aws). */
export function partitionOfRegion(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  return 'aws'
}

const PARTITION_DEFAULT_REGION: Record<string, string> = {
  aws: 'us-east-1',
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1'
}

/** STS must be called in the role's partition: keep the configured region when it is in it. */
export function stsRegionFor(roleArn: string, region: string): string {
  const partition = /^arn:([a-z-]+):/.exec(roleArn)?.[1] ?? 'aws'
  if (partitionOfRegion(region) === partition) return region
  return PARTITION_DEFAULT_REGION[partition] ?? region
}

// Refresh a session this long before it expires: the SDK asks its credential provider again when
// less than 5 minutes remain, so a long run never signs with an expired session.
const REFRESH_MARGIN_MS = 5 * 60 * 1000
const DEFAULT_CONCURRENCY = 4
// STS answers in milliseconds; a stalled connection must not eat the job's time (see
// aws-actions/configure-aws-credentials#1848: 6+ minutes per hung attempt).
const REQUEST_HANDLER = { connectionTimeout: 5000, requestTimeout: 15000 }

/**
 * Resolves the accounts of this run. With roles: each is assumed (at most `concurrency` at once);
 * every failure is reported, each with what to fix. Without roles: one account from the default
 * credential chain.
 */
export async function resolveAccounts(
  identity: IdentityConfig,
  deps: IdentityDeps
): Promise<AwsAccount[]> {
  const region = deps.region || 'us-east-1'
  if (identity.roles.length === 0) return [await defaultChainAccount(region, deps)]

  const env = deps.env ?? process.env
  const missing = OIDC_REQUEST_ENV.filter(name => !env[name])
  if (missing.length > 0) throw missingIdTokenPermission(missing)

  const clients = new Map<string, STSClient>()
  const clientFor = (roleArn: string): STSClient => {
    const stsRegion = stsRegionFor(roleArn, region)
    let client = clients.get(stsRegion)
    if (!client) {
      client = new STSClient({
        region: stsRegion,
        // Retries are ours (withRetry): each attempt needs a fresh token, and the SDK's
        // classification does not cover IDPCommunicationError.
        maxAttempts: 1,
        requestHandler: REQUEST_HANDLER,
        ...(deps.userAgent ? { customUserAgent: deps.userAgent } : {})
      })
      clients.set(stsRegion, client)
    }
    return client
  }

  const settled = await mapBoundedSettled(
    identity.roles,
    deps.concurrency ?? DEFAULT_CONCURRENCY,
    async roleArn => {
      const assume = () => assumeRole(clientFor(roleArn), roleArn, identity, deps)
      const first = await assume()
      const account: AwsAccount = {
        accountId: accountOfArn(first.callerArn ?? '') ?? (accountOfArn(roleArn) as string),
        roleArn,
        credentials: refreshing(first.credentials, async () => (await assume()).credentials)
      }
      if (first.callerArn) account.callerArn = first.callerArn
      deps.info?.(`Assumed ${roleArn} (account ${account.accountId}) with the GitHub OIDC token.`)
      return account
    }
  )
  const failures = settled.flatMap(r => (r.status === 'rejected' ? [r.reason as unknown] : []))
  if (failures.length === 1) throw failures[0]
  if (failures.length > 1) {
    throw new IdentityError(
      `${failures.length} of ${identity.roles.length} roles could not be assumed:\n\n` +
        failures.map(f => (f instanceof Error ? f.message : String(f))).join('\n\n')
    )
  }
  return settled.map(r => (r as PromiseFulfilledResult<AwsAccount>).value)
}

interface Assumed {
  credentials: AwsCredentials
  callerArn?: string
}

async function assumeRole(
  client: STSClient,
  roleArn: string,
  identity: IdentityConfig,
  deps: IdentityDeps
): Promise<Assumed> {
  let lastToken: string | undefined
  try {
    return await withRetry(
      async () => {
        // A fresh token per attempt: a token fetched once can expire during long retries
        // (aws-actions/configure-aws-credentials#1848).
        const token = await requestToken(identity.audience, deps)
        lastToken = token
        const out = await client.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: roleArn,
            RoleSessionName: identity.roleSessionName,
            WebIdentityToken: token,
            DurationSeconds: identity.roleDurationSeconds
          })
        )
        const c = out.Credentials
        // Mask first, validate after: nothing may print a value before it is masked.
        for (const value of [c?.AccessKeyId, c?.SecretAccessKey, c?.SessionToken]) {
          if (value) deps.setSecret(value)
        }
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
          throw new IdentityError(
            `STS answered AssumeRoleWithWebIdentity for ${roleArn} without complete credentials.`,
            roleArn
          )
        }
        const credentials: AwsCredentials = {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken
        }
        if (c.Expiration) credentials.expiration = new Date(c.Expiration)
        const callerArn = out.AssumedRoleUser?.Arn
        return callerArn ? { credentials, callerArn } : { credentials }
      },
      isRetryableAwsError,
      {
        ...deps.retry,
        onRetry: (error, attempt, delay) => {
          deps.info?.(
            `Assuming ${roleArn}: attempt ${attempt} failed (${describe(error)}); retrying in ` +
              `${delay} ms.`
          )
          deps.retry?.onRetry?.(error, attempt, delay)
        }
      }
    )
  } catch (error) {
    throw explain(error, roleArn, identity.audience, lastToken)
  }
}

/** The job's OIDC token, masked as soon as it arrives. */
function isRetryableTokenError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error)
  return /Error Code : 5\d\d|ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up/.test(message)
}

async function requestToken(audience: string, deps: IdentityDeps): Promise<string> {
  let token: string
  try {
    // @actions/http-client retries only 502-504; a 500 or a dropped connection from the token
    // service is just as passing, so retry those here (core formats failures "Error Code : NNN").
    token = await withRetry(() => deps.getIDToken(audience), isRetryableTokenError, deps.retry)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const missing = OIDC_REQUEST_ENV.filter(name => message.includes(name))
    if (missing.length > 0) throw missingIdTokenPermission(missing)
    throw new IdentityError(
      `Could not get a GitHub OIDC token for audience '${audience}': ${message}`,
      undefined,
      undefined,
      { cause: error }
    )
  }
  if (typeof token !== 'string' || token === '') {
    throw new IdentityError(`The GitHub OIDC token service returned no token for '${audience}'.`)
  }
  deps.setSecret(token)
  return token
}

// The SDK names modelled STS errors after their classes; messages show the code STS sent.
const WIRE_CODES: Record<string, string> = {
  InvalidIdentityTokenException: 'InvalidIdentityToken',
  IDPRejectedClaimException: 'IDPRejectedClaim',
  IDPCommunicationErrorException: 'IDPCommunicationError',
  MalformedPolicyDocumentException: 'MalformedPolicyDocument',
  PackedPolicyTooLargeException: 'PackedPolicyTooLarge'
}

function stsCode(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name
  if (typeof name !== 'string') return 'Error'
  return WIRE_CODES[name] ?? name
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return `${stsCode(error)}: ${message}`
}

/** Turns an STS failure into a message that says what to fix (claims shown, token never). */
function explain(
  error: unknown,
  roleArn: string,
  audience: string,
  token: string | undefined
): unknown {
  if (error instanceof IdentityError) return error
  const code = stsCode(error)
  const message = error instanceof Error ? error.message : String(error)
  const claims = token ? decodeJwtClaims(token) : undefined
  switch (code) {
    case 'AccessDenied':
    case 'AccessDeniedException':
      return accessDenied(roleArn, message, claims, error)
    case 'InvalidIdentityToken':
    case 'IDPRejectedClaim':
      return invalidIdentityToken(roleArn, code, message, claims, audience, error)
    case 'ExpiredTokenException':
      return expiredToken(roleArn, message, claims, error)
    case 'ValidationError':
      return new IdentityError(
        `Could not assume ${roleArn}: ValidationError (${message}). Check inputs ` +
          `'${IDENTITY_INPUTS.roleSessionName}' and '${IDENTITY_INPUTS.roleDurationSeconds}' ` +
          "(at most the role's MaxSessionDuration, 3600 s unless raised).",
        roleArn,
        code,
        { cause: error }
      )
    case 'RegionDisabledException':
      return new IdentityError(
        `Could not assume ${roleArn}: STS is not activated in this region (${message}). ` +
          'Activate it in the IAM account settings, or list a region where it is active first.',
        roleArn,
        code,
        { cause: error }
      )
    default: {
      const retried = isRetryableAwsError(error) ? ' (retried; the failure persisted)' : ''
      return new IdentityError(
        `Could not assume ${roleArn}: ${code}: ${message}${retried}`,
        roleArn,
        code,
        { cause: error }
      )
    }
  }
}

/** Caches credentials and renews them shortly before they expire (one renewal at a time). */
export function refreshing(
  initial: AwsCredentials,
  renew: () => Promise<AwsCredentials>
): AwsCredentialsProvider {
  let current = initial
  let pending: Promise<AwsCredentials> | undefined
  return async () => {
    const expiresAt = current.expiration?.getTime()
    if (expiresAt === undefined || expiresAt - Date.now() > REFRESH_MARGIN_MS) return current
    pending ??= renew()
      .then(fresh => (current = fresh))
      .finally(() => (pending = undefined))
    return pending
  }
}

// Errors that mean the default chain has no usable credentials: failing here, with a hint, beats
// failing later on every EC2 call.
const NO_CREDENTIALS = new Set(['CredentialsProviderError'])
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'UnrecognizedClientException'
])

/**
 * The default chain's account. GetCallerIdentity needs no IAM permission (STS API reference:
 * "No permissions are required to perform this operation"), so it fails only when STS is
 * unreachable (e.g. a private runner with an EC2 VPC endpoint but none for STS) or the
 * credentials are missing/invalid. Missing or invalid credentials fail the run (every EC2 call
 * would fail too); an unreachable STS only costs the account id in the report, so the run goes on
 * as account 'default' with a warning.
 */
async function defaultChainAccount(region: string, deps: IdentityDeps): Promise<AwsAccount> {
  const client = new STSClient({
    region,
    maxAttempts: 3,
    requestHandler: REQUEST_HANDLER,
    ...(deps.userAgent ? { customUserAgent: deps.userAgent } : {})
  })
  try {
    const out = await client.send(new GetCallerIdentityCommand({}))
    if (!out.Account) throw new Error('GetCallerIdentity returned no account')
    const account: AwsAccount = { accountId: out.Account }
    if (out.Arn) account.callerArn = out.Arn
    return account
  } catch (error) {
    const code = stsCode(error)
    if (NO_CREDENTIALS.has(code)) {
      throw new IdentityError(
        `No AWS credentials found (${(error as Error).message}). Set input ` +
          `'${IDENTITY_INPUTS.roles}' to assume a role with the job's OIDC token (needs ` +
          '`permissions: id-token: write`), or configure credentials earlier in the job ' +
          '(aws-actions/configure-aws-credentials).',
        undefined,
        code,
        { cause: error }
      )
    }
    if (BAD_CREDENTIALS.has(code)) {
      throw new IdentityError(
        `The AWS credentials of the default chain were rejected by STS: ${describe(error)}. ` +
          'Renew them, or use input ' +
          `'${IDENTITY_INPUTS.roles}'.`,
        undefined,
        code,
        { cause: error }
      )
    }
    deps.warning?.(
      `Could not read the AWS account id (STS GetCallerIdentity: ${describe(error)}); results ` +
        `are reported under account '${DEFAULT_ACCOUNT_ID}'.`
    )
    return { accountId: DEFAULT_ACCOUNT_ID }
  } finally {
    client.destroy()
  }
}
