// The GitHub token, read from Secrets Manager once per Lambda container (execution environment)
// and kept in memory for later invocations, until GitHub refuses it (401: read it again). A failed read is not cached, so the next
// invocation tries again. The value is registered with the logger's redaction before use.
//
// The client honours the standard endpoint settings, e.g. AWS_ENDPOINT_URL_SECRETS_MANAGER
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { redact } from './log.js'

export class SecretError extends Error {
  constructor(
    message: string,
    readonly hint: string
  ) {
    super(message)
    this.name = 'SecretError'
  }
}

const clients = new Map<string, SecretsManagerClient>()
const tokens = new Map<string, Promise<string>>()
/** The token each secret resolved to, so a token GitHub refuses can be dropped from the cache. */
const resolved = new Map<string, string>()

/** The region inside a secret ARN, so a secret in another region than the function still works. */
export function regionOfArn(secretId: string): string | undefined {
  const m = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:/.exec(secretId)
  return m?.[1]
}

function clientFor(secretId: string): SecretsManagerClient {
  const region = regionOfArn(secretId) ?? ''
  let client = clients.get(region)
  if (!client) {
    client = new SecretsManagerClient(region ? { region, maxAttempts: 3 } : { maxAttempts: 3 })
    clients.set(region, client)
  }
  return client
}

/**
 * Turns the secret string into a token: the bare token (recommended), or a JSON object with a
 * string `token` property (the console's key/value form).
 */
export function tokenFromSecretString(secretId: string, value: string | undefined): string {
  if (value === undefined) {
    throw new SecretError(
      `secret ${secretId} has no SecretString`,
      'store the token as the secret string (binary secrets are not supported)'
    )
  }
  let token = value.trim()
  if (token.startsWith('{')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(token)
    } catch {
      parsed = undefined
    }
    const candidate =
      typeof parsed === 'object' && parsed !== null
        ? (parsed as Record<string, unknown>).token
        : undefined
    if (typeof candidate !== 'string') {
      throw new SecretError(
        `secret ${secretId} holds JSON without a string "token" property`,
        'store the bare token as the secret string (or {"token": "..."})'
      )
    }
    token = candidate.trim()
  }
  if (token === '' || /\s/.test(token)) {
    throw new SecretError(
      `secret ${secretId} does not hold a token (empty, or contains whitespace)`,
      'store the bare token as the secret string'
    )
  }
  return token
}

function explain(secretId: string, err: unknown): SecretError {
  const name = err instanceof Error ? err.name : 'Error'
  const message = err instanceof Error ? err.message : String(err)
  const put = `aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string "$GITHUB_TOKEN"`
  switch (name) {
    case 'ResourceNotFoundException':
      return new SecretError(
        `secret ${secretId} not found or without a current value (${message})`,
        `check GITHUB_TOKEN_SECRET_ID, and store the token: ${put}`
      )
    case 'AccessDeniedException':
    case 'AccessDenied':
      return new SecretError(
        `the function may not read secret ${secretId} (${message})`,
        'the execution role needs secretsmanager:GetSecretValue on that secret, and kms:Decrypt on its key if it is encrypted with a customer-managed KMS key'
      )
    case 'DecryptionFailure':
      return new SecretError(
        `secret ${secretId} could not be decrypted (${message})`,
        "the execution role needs kms:Decrypt on the secret's customer-managed KMS key"
      )
    default:
      return new SecretError(
        `reading secret ${secretId} failed: ${name}: ${message}`,
        'transient Secrets Manager errors are retried by Lambda with the whole event'
      )
  }
}

async function fetchToken(secretId: string): Promise<string> {
  let value: string | undefined
  try {
    const out = await clientFor(secretId).send(new GetSecretValueCommand({ SecretId: secretId }))
    value = out.SecretString
  } catch (err) {
    throw explain(secretId, err)
  }
  const token = tokenFromSecretString(secretId, value)
  redact(token)
  resolved.set(secretId, token)
  return token
}

/** The token in `secretId`, fetched on first use in this container and cached afterwards. */
export function getGitHubToken(secretId: string): Promise<string> {
  let pending = tokens.get(secretId)
  if (!pending) {
    pending = fetchToken(secretId)
    tokens.set(secretId, pending)
    pending.catch(() => tokens.delete(secretId))
  }
  return pending
}

/**
 * Drops a cached token GitHub answered 401 to (revoked, expired, or rotated in the secret), so the
 * next use reads the secret again: Lambda's retry of the same event, or the next event, picks up a
 * rotated token without waiting for a new container.
 */
export function forgetRefusedToken(token: string): void {
  for (const [secretId, value] of resolved) {
    if (value !== token) continue
    resolved.delete(secretId)
    tokens.delete(secretId)
  }
}
