// The optional tracking issue: after a run that changed rules (or would, in a dry run), comment on
// the repository's one open tracking issue, or open it.
import type { Notification } from '../types.js'
import type { TrackingIssueResult } from './issue.js'
import { syncTrackingIssue, trackingKey, trackingMarker } from './issue.js'
import { hasChanges, renderIssueBody, renderIssueComment, runUrlFrom } from './issue-body.js'
import type { RunReport } from './summary.js'

/** The plain values of the run's configuration this needs (the parsed Config satisfies it). */
export interface TrackingSettings {
  service: string
  regions: string[]
  globalNameTag: string
  regionalNameTag: string
  autoUpdateTag: string
  protocolPorts: Map<string, number>
  event: string
  notification: Notification
  tracking: { issueLabel: string; githubToken: string }
}

export async function openOrUpdateTrackingIssue(
  report: RunReport,
  config: TrackingSettings,
  env: Record<string, string | undefined>,
  log: (message: string) => void
): Promise<TrackingIssueResult | undefined> {
  if (!hasChanges(report)) return undefined
  const repository = env.GITHUB_REPOSITORY ?? ''
  const [owner, repo] = repository.split('/')
  if (!owner || !repo) {
    throw new Error('GITHUB_REPOSITORY is not set (owner/repo): cannot find the tracking issue.')
  }
  // One tracking issue per configuration: two workflows syncing different groups keep theirs apart.
  const key = trackingKey({
    service: config.service,
    regions: config.regions,
    accounts: report.accounts,
    globalNameTag: config.globalNameTag,
    regionalNameTag: config.regionalNameTag,
    autoUpdateTag: config.autoUpdateTag,
    protocolPorts: [...config.protocolPorts].map(([name, port]) => `${name}=${port}`)
  })
  const marker = trackingMarker(repository, key)
  const context = {
    event: config.event,
    notification: config.notification,
    account: report.accounts.join(', '),
    ...(runUrlFrom(env) ? { runUrl: runUrlFrom(env) } : {})
  }
  // Loaded only when needed: @actions/github parses GITHUB_EVENT_PATH as it loads, and a broken
  // event file must fail with our message (config), not crash the process at startup.
  const { createGitHubClient } = await import('./github-client.js')
  return syncTrackingIssue({
    octokit: createGitHubClient({ token: config.tracking.githubToken, env, log }),
    owner,
    repo,
    label: config.tracking.issueLabel,
    marker,
    title: `CloudFront security group changes (${config.service})`,
    body: renderIssueBody(report, context, marker),
    comment: renderIssueComment(report, context),
    log
  })
}
