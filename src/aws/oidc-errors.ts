// Messages for the OIDC failures users hit most, each saying what to fix. The token itself is never
// part of a message: only claims decoded from its payload are.

/** Environment variables the runner sets only for jobs granted `id-token: write`. */
export const OIDC_REQUEST_ENV = ['ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN']

export const GITHUB_OIDC_ISSUER = 'https://token.actions.githubusercontent.com'

/** An OIDC or STS failure explained; `code` is the STS error code when there was one. */
export class IdentityError extends Error {
  override readonly name = 'IdentityError'
  constructor(
    message: string,
    readonly roleArn?: string,
    readonly code?: string,
    options?: { cause?: unknown }
  ) {
    super(message, options)
  }
}

/** The claims worth showing: identify the workflow, never authenticate anything. */
export interface TokenClaims {
  iss?: string
  sub?: string
  aud?: string | string[]
  repository?: string
  ref?: string
  environment?: string
  job_workflow_ref?: string
  exp?: number
}

/**
 * Decodes a JWT's payload without verifying it (only to explain a refusal). Returns undefined for
 * anything that is not a three-part token with a JSON object payload.
 */
export function decodeJwtClaims(token: string): TokenClaims | undefined {
  const parts = token.split('.')
  if (parts.length !== 3 || !parts[1]) return undefined
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined
    const p = payload as Record<string, unknown>
    const text = (key: string) => (typeof p[key] === 'string' ? (p[key] as string) : undefined)
    const claims: TokenClaims = {}
    for (const key of ['iss', 'sub', 'repository', 'ref', 'environment', 'job_workflow_ref']) {
      const value = text(key)
      if (value !== undefined) (claims as Record<string, unknown>)[key] = value
    }
    if (typeof p.aud === 'string') claims.aud = p.aud
    else if (Array.isArray(p.aud)) claims.aud = p.aud.filter(a => typeof a === 'string')
    if (typeof p.exp === 'number') claims.exp = p.exp
    return claims
  } catch {
    return undefined
  }
}

/** The job lacks `id-token: write`: the runner then sets neither OIDC request variable. */
export function missingIdTokenPermission(missing: string[]): IdentityError {
  return new IdentityError(
    `Input 'role-to-assume' is set, but this job cannot request a GitHub OIDC token ` +
      `(${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set). Grant the job ` +
      'the id-token permission in the workflow, at the workflow or the job level:\n\n' +
      'permissions:\n' +
      '  id-token: write   # lets the job request an OIDC token for AWS\n' +
      '  contents: read    # once `permissions` is set, anything unlisted is none\n\n' +
      'Runs for pull requests from forks never receive this permission. To use credentials ' +
      "configured earlier in the job instead, leave 'role-to-assume' empty."
  )
}

/** The host part of the issuer: the prefix of the IAM condition keys (`HOST:sub`, `HOST:aud`). */
export function conditionKeyPrefix(issuer: string | undefined): string {
  return (issuer ?? GITHUB_OIDC_ISSUER).replace(/^https:\/\//, '').replace(/\/+$/, '')
}

function partitionAndAccount(roleArn: string): { partition: string; account: string } {
  const m = /^arn:([a-z-]+):iam::(\d{12}):/.exec(roleArn)
  return { partition: m?.[1] ?? 'aws', account: m?.[2] ?? '<ACCOUNT_ID>' }
}

function describeClaims(claims: TokenClaims | undefined): string {
  if (!claims) return '  (the token could not be decoded)'
  const aud = Array.isArray(claims.aud) ? claims.aud.join(', ') : claims.aud
  const rows: Array<[string, string | undefined]> = [
    ['sub', claims.sub],
    ['aud', aud],
    ['repository', claims.repository],
    ['iss', claims.iss]
  ]
  if (claims.environment) rows.push(['environment', claims.environment])
  if (claims.job_workflow_ref) rows.push(['job_workflow_ref', claims.job_workflow_ref])
  return rows.map(([k, v]) => `  ${`${k}:`.padEnd(18)}${v ?? '(absent)'}`).join('\n')
}

/** The trust-policy statement that would accept exactly this token for this role. */
export function matchingTrustStatement(roleArn: string, claims: TokenClaims | undefined): string {
  const { partition, account } = partitionAndAccount(roleArn)
  const host = conditionKeyPrefix(claims?.iss)
  const aud = Array.isArray(claims?.aud) ? claims?.aud[0] : claims?.aud
  const statement = {
    Effect: 'Allow',
    Principal: { Federated: `arn:${partition}:iam::${account}:oidc-provider/${host}` },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: {
      StringEquals: {
        [`${host}:aud`]: aud ?? 'sts.amazonaws.com',
        [`${host}:sub`]: claims?.sub ?? 'repo:OWNER/REPO:ref:refs/heads/BRANCH'
      }
    }
  }
  return JSON.stringify(statement, null, 2)
    .split('\n')
    .map(line => `  ${line}`)
    .join('\n')
}

/** STS refused: the trust policy does not accept this token's claims (or the role is wrong). */
export function accessDenied(
  roleArn: string,
  stsMessage: string,
  claims: TokenClaims | undefined,
  cause: unknown
): IdentityError {
  return new IdentityError(
    `Could not assume ${roleArn}: AccessDenied (${stsMessage}). STS checks the token's claims ` +
      "against the role's trust policy; this job's token carries:\n" +
      `${describeClaims(claims)}\n` +
      'A trust-policy statement that accepts this token (infra/github-oidc-role.yml creates ' +
      'such a role; use StringLike with * to accept several branches):\n' +
      `${matchingTrustStatement(roleArn, claims)}\n` +
      'Also check that the role ARN is right (account id, name and path) and that the job runs ' +
      'in the repository, branch or environment the trust policy names.',
    roleArn,
    'AccessDenied',
    { cause }
  )
}

/** STS rejected the token itself: no OIDC provider, wrong audience, bad signature or issuer. */
export function invalidIdentityToken(
  roleArn: string,
  code: string,
  stsMessage: string,
  claims: TokenClaims | undefined,
  audience: string,
  cause: unknown
): IdentityError {
  const { partition, account } = partitionAndAccount(roleArn)
  const host = conditionKeyPrefix(claims?.iss)
  return new IdentityError(
    `Could not assume ${roleArn}: ${code} (${stsMessage}). Account ${account} must have the ` +
      `IAM OIDC identity provider arn:${partition}:iam::${account}:oidc-provider/${host} with ` +
      `'${audience}' in its audiences (client IDs); input 'audience' must name one of them. ` +
      `The token carries:\n${describeClaims(claims)}`,
    roleArn,
    code,
    { cause }
  )
}

/** The token was expired when STS saw it (slow retries, or a runner clock far off). */
export function expiredToken(
  roleArn: string,
  stsMessage: string,
  claims: TokenClaims | undefined,
  cause: unknown
): IdentityError {
  const exp = claims?.exp ? new Date(claims.exp * 1000).toISOString() : 'unknown'
  return new IdentityError(
    `Could not assume ${roleArn}: ExpiredTokenException (${stsMessage}). The OIDC token ` +
      `expired at ${exp} before STS accepted it; a rerun requests a fresh one. If this ` +
      "repeats, check the runner's clock.",
    roleArn,
    'ExpiredTokenException',
    { cause }
  )
}
