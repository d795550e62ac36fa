// Every setting comes from an environment variable and is checked once, before any AWS or GitHub
// call; each error names the variable, the bad value and the form expected.

/** The topic AWS publishes ip-ranges.json changes to (https://docs.aws.amazon.com/vpc/latest/userguide/subscribe-notifications.html). */
export const AWS_IP_SPACE_TOPIC_ARN = 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged'
export const DEFAULT_EVENT_TYPE = 'aws-ip-ranges-changed'
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com'
/** Upper bound on targets: each costs one request per notification inside the Lambda timeout. */
export const MAX_TARGETS = 20

export interface Repository {
  owner: string
  repo: string
}

export interface ForwarderConfig {
  targets: Repository[]
  secretId: string
  eventType: string
  topicArn: string
  /** No trailing slash, e.g. `https://api.github.com` or `https://ghe.example.com/api/v3`. */
  apiUrl: string
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

// GitHub: owner names are alphanumerics and single hyphens (max 39); repository names are
// alphanumerics, '.', '_' and '-' (max 100).
const OWNER_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/
const REPO_RE = /^[A-Za-z0-9._-]{1,100}$/
const EVENT_TYPE_RE = /^[A-Za-z0-9._:/-]{1,100}$/
const TOPIC_ARN_RE = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

type Env = Record<string, string | undefined>

function shown(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value)
}

export function parseRepositories(raw: string | undefined): Repository[] {
  const name = 'TARGET_REPOSITORIES'
  if (raw === undefined || raw.trim() === '') {
    throw new ConfigError(`${name} is not set (expected owner/repo[,owner/repo...])`)
  }
  const seen = new Set<string>()
  const targets: Repository[] = []
  for (const item of raw.split(',').map(s => s.trim())) {
    if (item === '') continue
    const [owner = '', repo = '', ...rest] = item.split('/')
    if (rest.length > 0 || !OWNER_RE.test(owner) || !REPO_RE.test(repo) || /^\.\.?$/.test(repo)) {
      throw new ConfigError(
        `${name}: ${shown(item)} is not a repository (expected owner/repo[,owner/repo...])`
      )
    }
    const key = `${owner}/${repo}`.toLowerCase()
    if (seen.has(key)) continue
    seen.add(key)
    targets.push({ owner, repo })
  }
  if (targets.length === 0) {
    throw new ConfigError(`${name}: no repository in ${shown(raw)} (expected owner/repo[,...])`)
  }
  if (targets.length > MAX_TARGETS) {
    throw new ConfigError(`${name}: ${targets.length} repositories, at most ${MAX_TARGETS}`)
  }
  return targets
}

export function parseApiUrl(raw: string | undefined): string {
  const name = 'GITHUB_API_URL'
  const value = raw === undefined || raw.trim() === '' ? DEFAULT_GITHUB_API_URL : raw.trim()
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${name}: ${shown(value)} is not a URL (expected https://host[/path])`)
  }
  // Plain http only to this machine (an emulator, a proxy on loopback); the token never
  // travels unencrypted over a network.
  const httpAllowed = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)
  if (url.protocol !== 'https:' && !httpAllowed) {
    throw new ConfigError(`${name}: ${shown(value)} must use https (expected https://host[/path])`)
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(`${name}: ${shown(value)} must not carry credentials, a query or a hash`)
  }
  return url.href.replace(/\/+$/, '')
}

export function loadConfig(env: Env = process.env): ForwarderConfig {
  const targets = parseRepositories(env.TARGET_REPOSITORIES)

  const secretId = (env.GITHUB_TOKEN_SECRET_ID ?? '').trim()
  if (secretId === '' || /\s/.test(secretId) || secretId.length > 2048) {
    throw new ConfigError(
      `GITHUB_TOKEN_SECRET_ID ${secretId === '' ? 'is not set' : `${shown(secretId)} is invalid`} (expected a Secrets Manager secret name or ARN)`
    )
  }

  const eventType = (env.EVENT_TYPE ?? '').trim() || DEFAULT_EVENT_TYPE
  if (!EVENT_TYPE_RE.test(eventType)) {
    throw new ConfigError(
      `EVENT_TYPE: ${shown(eventType)} is invalid (expected 1-100 characters of A-Z a-z 0-9 . _ : / -)`
    )
  }

  const topicArn = (env.TOPIC_ARN ?? '').trim() || AWS_IP_SPACE_TOPIC_ARN
  if (!TOPIC_ARN_RE.test(topicArn)) {
    throw new ConfigError(
      `TOPIC_ARN: ${shown(topicArn)} is not an SNS topic ARN (expected arn:aws:sns:region:account:name)`
    )
  }

  return { targets, secretId, eventType, topicArn, apiUrl: parseApiUrl(env.GITHUB_API_URL) }
}
