// The tracking issue: one open issue per repository and configuration, found by its label and a
// hidden marker in its body, commented on by every run that changes something.
//
// Ownership: anyone who can open an issue can add a label and paste the marker. Only an issue
// authored by the github-token's own identity (./token-identity.ts), whose body opens with the
// marker, is the tracking issue; any other is never adopted, commented on, edited or closed.
//
// Finding it: GET /repos/{owner}/{repo}/issues?state=open&labels=<label>, every page (never the
// search API: its index lags behind, so a just-created issue would be missed). That endpoint also
// returns pull requests (they carry a `pull_request` key); those are skipped.
//   https://docs.github.com/en/rest/issues/issues#list-repository-issues
// Creating it: POST /repos/{owner}/{repo}/issues with `labels`. GitHub creates a label that does not
// exist yet (color ededed), but silently drops labels when the token may not set them, so the
// created issue's labels are checked and the label added explicitly if missing.
//   https://docs.github.com/en/rest/issues/issues#create-an-issue
//
// Never a duplicate, even when two runs race:
//  1. list; a marked issue -> comment on it (the lowest number, if several are open);
//  2. none -> wait a random moment and list again (runs started by the same event spread out);
//  3. still none -> create, then list once more: if another run created one too, the lowest number
//     wins; the run whose issue lost closes it with a comment pointing at the winner, and puts its
//     summary on the winner. A duplicate that survives (a run died in between, or the list lagged)
//     is closed by the next run that finds two.
import { createHash } from 'node:crypto'
import { ConfigError } from '../input.js'
import type { GitHubClient } from './github-client.js'
import { tokenIdentity } from './token-identity.js'

export const MARKER_PREFIX = 'cloudfront-sg-sync:tracking'
export const DEFAULT_ISSUE_LABEL = 'cloudfront-sg-sync'
// GitHub refuses longer label names: "name is too long (maximum is 50 characters)" (422).
const MAX_LABEL_LENGTH = 50

/**
 * The `issue-label` input. No comma: the list endpoint's `labels` filter is a comma-separated list,
 * so a comma would split the name into two labels.
 */
export function parseIssueLabel(value: string): string {
  const label = value.trim() || DEFAULT_ISSUE_LABEL
  if (label.length > MAX_LABEL_LENGTH || label.includes(',') || /[\r\n]/.test(label)) {
    throw new ConfigError(
      `Input 'issue-label' has an invalid value '${label.slice(0, 100)}': expected a label name of ` +
        `at most ${MAX_LABEL_LENGTH} characters without commas (GitHub's limit; the issue list ` +
        'filter separates labels with commas).'
    )
  }
  return label
}

export interface TrackingIssueOptions {
  octokit: GitHubClient
  owner: string
  repo: string
  /** `issue-label` input. */
  label: string
  /** Hidden marker, from `trackingMarker`. */
  marker: string
  /** Title of a new issue. */
  title: string
  /** Body of a new issue (this run's summary); the marker is put first if it does not open it. */
  body: string
  /** What an existing issue receives: this run's summary as a comment. */
  comment: string
  /** Upper bound of the random pause before the re-check, in ms (default 1500). */
  recheckJitterMs?: number
  log?: (message: string) => void
}

export interface TrackingIssueResult {
  issueNumber: number
  action: 'created' | 'commented'
  /** The issue's page. */
  url: string
  /** Duplicates this run closed. */
  closedDuplicates: number[]
}

/** A GitHub refusal with a message that says what to grant. */
export class TrackingIssueError extends Error {
  override readonly name = 'TrackingIssueError'
  constructor(
    message: string,
    readonly status?: number,
    options?: ErrorOptions
  ) {
    super(message, options)
  }
}

/**
 * Identifies what a run manages, so two configurations in one repository (say, two regions sets or
 * two accounts with separate workflows) keep separate issues. Pass the settings that select the
 * groups; their order within a list does not matter.
 */
export function trackingKey(parts: Record<string, string | string[] | undefined>): string {
  const canonical = Object.keys(parts)
    .sort()
    .map(key => {
      const value = parts[key]
      const text = Array.isArray(value) ? [...value].sort().join(',') : (value ?? '')
      return `${key}=${text}`
    })
    .join('\n')
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12)
}

/** `<!-- cloudfront-sg-sync:tracking repo=owner/repo key=0123456789ab -->` */
export function trackingMarker(repository: string, key: string): string {
  // Nothing that could end the HTML comment early ('--', '>').
  const safe = (text: string) => text.replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/-{2,}/g, '-')
  return `<!-- ${MARKER_PREFIX} repo=${safe(repository.toLowerCase())} key=${safe(key)} -->`
}

interface IssueRef {
  number: number
  html_url: string
}

export async function syncTrackingIssue(
  options: TrackingIssueOptions
): Promise<TrackingIssueResult> {
  const { octokit, owner, repo, label, marker } = options
  const log = options.log ?? (() => undefined)
  const repository = `${owner}/${repo}`

  const me = await call("learn the github-token's identity for", repository, () =>
    tokenIdentity(octokit, log)
  )
  const mine = (login: string | undefined) => login?.toLowerCase() === me.login.toLowerCase()
  const ignored = new Set<number>()

  const findMarked = async (): Promise<IssueRef[]> => {
    const issues = await call('list the open issues of', repository, () =>
      octokit.paginate(octokit.rest.issues.listForRepo, {
        owner,
        repo,
        state: 'open',
        labels: label,
        per_page: 100
      })
    )
    const marked = issues.filter(issue => !issue.pull_request && opensWith(issue.body, marker))
    for (const issue of marked) {
      if (mine(issue.user?.login) || ignored.has(issue.number)) continue
      ignored.add(issue.number)
      log(
        `Ignoring issue #${issue.number}: it carries the tracking label and marker but was opened ` +
          `by ${issue.user?.login ?? 'an unknown account'}, not by the github-token's identity ` +
          `${me.login} (${me.via}).`
      )
    }
    return marked
      .filter(issue => mine(issue.user?.login))
      .map(issue => ({ number: issue.number, html_url: issue.html_url }))
      .sort((a, b) => a.number - b.number)
  }

  const commentOn = async (issue: IssueRef, body: string): Promise<void> => {
    await call(`comment on issue #${issue.number} of`, repository, () =>
      octokit.rest.issues.createComment({ owner, repo, issue_number: issue.number, body })
    )
  }

  const closeDuplicate = async (duplicate: IssueRef, keep: IssueRef): Promise<void> => {
    log(`Closing tracking issue #${duplicate.number}: a duplicate of #${keep.number}.`)
    await commentOn(
      duplicate,
      `Closing: a duplicate of #${keep.number}. Two cloudfront-sg-sync runs created a tracking ` +
        `issue at about the same time; the oldest one (#${keep.number}) stays open and receives ` +
        'every later update.'
    )
    await call(`close issue #${duplicate.number} of`, repository, () =>
      octokit.rest.issues.update({
        owner,
        repo,
        issue_number: duplicate.number,
        state: 'closed',
        state_reason: 'not_planned'
      })
    )
  }

  const commentOnOldest = async (
    marked: IssueRef[],
    closeOthers: IssueRef[]
  ): Promise<TrackingIssueResult> => {
    const keep = marked[0] as IssueRef
    await commentOn(keep, options.comment)
    for (const duplicate of closeOthers) await closeDuplicate(duplicate, keep)
    log(`Commented on tracking issue #${keep.number}.`)
    return {
      issueNumber: keep.number,
      action: 'commented',
      url: keep.html_url,
      closedDuplicates: closeOthers.map(d => d.number)
    }
  }

  let marked = await findMarked()
  if (marked.length > 0) return commentOnOldest(marked, marked.slice(1))

  await sleep(Math.random() * (options.recheckJitterMs ?? 1500))
  marked = await findMarked()
  if (marked.length > 0) return commentOnOldest(marked, marked.slice(1))

  const body = opensWith(options.body, marker) ? options.body : `${marker}\n\n${options.body}`
  const created = await call('create an issue in', repository, () =>
    octokit.rest.issues.create({ owner, repo, title: options.title, body, labels: [label] })
  )
  const ours: IssueRef = { number: created.data.number, html_url: created.data.html_url }
  log(`Created tracking issue #${ours.number}.`)
  const labels = created.data.labels.map(l => (typeof l === 'string' ? l : l.name))
  if (!labels.includes(label)) {
    // Dropped by GitHub (a token that may not set labels): without it no run would find the issue.
    await call(`label issue #${ours.number} of`, repository, () =>
      octokit.rest.issues.addLabels({ owner, repo, issue_number: ours.number, labels: [label] })
    )
  }

  // Did another run create one at the same time? The lowest number wins.
  marked = await findMarked()
  const oldest = [...marked, ours].sort((a, b) => a.number - b.number)[0] as IssueRef
  if (oldest.number !== ours.number) {
    log(`Another run created tracking issue #${oldest.number} concurrently.`)
    await commentOn(oldest, options.comment)
    await closeDuplicate(ours, oldest)
    return {
      issueNumber: oldest.number,
      action: 'commented',
      url: oldest.html_url,
      closedDuplicates: [ours.number]
    }
  }
  return { issueNumber: ours.number, action: 'created', url: ours.html_url, closedDuplicates: [] }
}

/** True when the body's first line is the marker (blanks around it aside). */
export function opensWith(body: string | null | undefined, marker: string): boolean {
  return (
    (body ?? '')
      .trimStart()
      .split(/\r?\n|\r/, 1)[0]
      ?.trim() === marker
  )
}

const PERMISSIONS_YAML = [
  'permissions:',
  '  contents: read',
  '  id-token: write',
  '  issues: write'
]

/**
 * Runs one API call; a refusal becomes a TrackingIssueError that says what to grant. Retryable
 * failures were already retried by the client's plugins.
 */
async function call<T>(what: string, repository: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request()
  } catch (error) {
    throw explain(error, what, repository)
  }
}

function explain(error: unknown, what: string, repository: string): Error {
  const status = (error as { status?: unknown }).status
  const detail = error instanceof Error ? error.message : String(error)
  if (typeof status !== 'number') {
    return new TrackingIssueError(`Could not ${what} ${repository}: ${detail}`, undefined, {
      cause: error
    })
  }
  const head = `Could not ${what} ${repository}: GitHub answered ${status} ${JSON.stringify(detail)}.`
  const rateLimited = /rate limit/i.test(detail)
  let hint: string
  if (status === 401) {
    hint =
      "The token was refused: check the 'github-token' input (the default is the job's " +
      'GITHUB_TOKEN; a personal access token may have expired).'
  } else if ((status === 403 || status === 429) && rateLimited) {
    hint =
      'GitHub rate-limited the token and the wait was too long to sit out; the next run retries.'
  } else if (status === 403 || status === 404) {
    hint = [
      "The token lacks the 'issues: write' permission (GitHub answers 404 instead of 403 when the " +
        'token cannot see the repository at all). With the default GITHUB_TOKEN, grant it in the ' +
        'workflow or job:',
      '',
      ...PERMISSIONS_YAML.map(line => `    ${line}`),
      '',
      "With a personal access token or GitHub App token in 'github-token', give it Issues: Read " +
        "and write on this repository. Or set 'create-issue: false'."
    ].join('\n')
  } else if (status === 410) {
    hint =
      "Issues are disabled in this repository: enable them in its settings, or set 'create-issue: false'."
  } else {
    hint = 'Nothing was written to the tracking issue by this call.'
  }
  return new TrackingIssueError(`${head} ${hint}`, status, { cause: error })
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise(resolve => setTimeout(resolve, ms)) : Promise.resolve()
}
