// run(): wires the steps together. The one module that talks to the runner through @actions/core;
// each step hands a plain value to the next (DESIGN.md, "Flow"):
// config -> (ranges | credentials) -> inventory -> plan -> apply -> report.
import * as core from '@actions/core'
import { readFileSync } from 'node:fs'
import { applyPlan } from './apply.js'
import type { AuditStepInput } from './audit/step.js'
import { runAuditStep } from './audit/step.js'
import type { Ec2Api } from './aws/ec2.js'
import { createEc2Api } from './aws/ec2.js'
import type { AwsAccount } from './aws/identity.js'
import { resolveAccounts } from './aws/identity.js'
import { readRuleQuota } from './aws/quotas.js'
import type { Config, TriggerContext } from './config.js'
import { parseConfig } from './config.js'
import { discoverRegion } from './discover.js'
import type { Ownership, RegionInventory } from './inventory.js'
import { PROTOCOL_TAG } from './inventory.js'
import { buildPlan } from './plan.js'
import { loadRangeSet, RangesError } from './ranges/index.js'
import type { LoadedRangeSet } from './ranges/index.js'
import { outputsOf, writePlanFile } from './report/outputs.js'
import type { RunReport } from './report/summary.js'
import { renderSummary } from './report/summary.js'
import { openOrUpdateTrackingIssue } from './report/tracking.js'

const USER_AGENT = 'cloudfront-sg-sync'

export async function run(): Promise<void> {
  const report: RunReport = {
    status: 'failed',
    service: '',
    families: [],
    regions: [],
    accounts: [],
    skipped: [],
    emptyRegions: [],
    notices: []
  }
  let config: Config | undefined
  try {
    config = parseConfig(name => core.getInput(name), process.env, readTrigger(process.env))
    if (config.tracking.githubToken) core.setSecret(config.tracking.githubToken)
    report.service = config.service
    report.families = config.families
    report.regions = config.regions
    if (config.skipReason) {
      report.status = 'skipped'
      report.notices.push(config.skipReason)
      core.notice(config.skipReason)
      return
    }
    // The audit runs after plan and apply, whatever their outcome (refused, dry run, failed).
    const audit: { input?: AuditStepInput } = {}
    try {
      await sync(config, report, audit)
    } finally {
      if (audit.input) await exposureStep(audit.input, report)
    }
    failOnExposure(config, report)
  } catch (error) {
    report.error = describeFailure(error)
    if (report.status !== 'refused') report.status = 'failed'
    core.setFailed(report.error)
  } finally {
    await publish(report, config)
  }
}

async function sync(
  config: Config,
  report: RunReport,
  audit: { input?: AuditStepInput }
): Promise<void> {
  // Independent, so at once: neither changes anything.
  const [ranges, accounts] = await Promise.all([
    loadRangeSet({
      url: config.ipRangesUrl,
      service: config.service,
      families: config.families,
      mergeAdjacent: config.mergeAdjacent,
      notification: config.notification
    }),
    resolveAccounts(config.identity, {
      getIDToken: audience => core.getIDToken(audience),
      setSecret: value => core.setSecret(value),
      region: config.regions[0],
      info: message => core.info(message),
      warning: message => warn(report, message),
      userAgent: USER_AGENT
    })
  ])
  describeSource(ranges, report)
  report.accounts = accounts.map(account => account.accountId)

  const { inventories, apiFor } = await discover(config, accounts, report)
  const plan = buildPlan(
    ranges.cidrs,
    inventories.flatMap(inventory => inventory.groups),
    {
      families: config.families,
      maxRemovalsPercent: config.maxRemovalsPercent,
      syncToken: ranges.source.syncToken
    }
  )
  report.plan = plan
  audit.input = {
    accounts,
    inventories,
    plan,
    cidrs: ranges.cidrs,
    ruleDescription: config.ruleDescription,
    userAgent: USER_AGENT
  }
  for (const held of plan.heldBack) {
    core.notice(
      `${held.id} left as it is: ${held.groupId} already holds newer ranges (syncToken ` +
        `${held.recordedSyncToken} > ${ranges.source.syncToken}); this notification arrived late.`
    )
  }
  if (plan.problems.length > 0) {
    report.status = 'refused'
    throw new Error(
      `Nothing was changed: ${plan.problems.map(problem => problem.message).join(' ')}`
    )
  }
  const { rulesAdded, rulesRemoved, groupsChanged } = plan.totals
  core.info(`Plan: +${rulesAdded} / -${rulesRemoved} rules in ${groupsChanged} group(s).`)
  if (rulesAdded + rulesRemoved === 0) {
    report.status = 'no-change'
    return
  }
  if (config.dryRun) {
    report.status = 'dry-run'
    return
  }

  const applied = await applyPlan(plan, apiFor, {
    ruleDescription: config.ruleDescription,
    syncToken: ranges.source.syncToken,
    log: message => core.info(message)
  })
  report.applied = applied
  if (applied.failures.length > 0) {
    report.status = 'failed'
    throw new Error(
      `${applied.failures.length} group(s) could not be fully updated (a rerun converges once the ` +
        `cause is fixed): ${applied.failures.join('; ')}`
    )
  }
  report.status = 'applied'
}

function describeSource(ranges: LoadedRangeSet, report: RunReport): void {
  report.source = ranges.source
  report.notices.push(...ranges.notices)
  for (const notice of ranges.notices) core.notice(notice)
  core.info(
    `Ranges: ${ranges.service} from ${ranges.source.url}, syncToken ${ranges.source.syncToken} ` +
      `(${ranges.source.createDate}), MD5 ${ranges.source.md5}`
  )
}

/**
 * Reads every account and region at once: the rule quota (when 'auto') and the tagged groups.
 * Returns the EC2 client of each place, keyed by the groups' owning account and region.
 */
async function discover(
  config: Config,
  accounts: AwsAccount[],
  report: RunReport
): Promise<{
  inventories: RegionInventory[]
  apiFor: (account: string, region: string) => Ec2Api
}> {
  const owner: Ownership = {
    globalNameTag: config.globalNameTag,
    regionalNameTag: config.regionalNameTag,
    autoUpdateTag: config.autoUpdateTag,
    protocolTag: PROTOCOL_TAG,
    protocolPorts: config.protocolPorts,
    ruleDescription: config.ruleDescription
  }
  const apis = new Map<string, Ec2Api>()
  const places = accounts.flatMap(account => config.regions.map(region => ({ account, region })))
  const inventories = await Promise.all(
    places.map(async ({ account, region }) => {
      const api = createEc2Api({ region, credentials: account.credentials, userAgent: USER_AGENT })
      const ruleLimit = ruleLimitFor(config, account, region, report)
      const inventory = await discoverRegion(
        api,
        { account: account.accountId, region },
        owner,
        ruleLimit
      )
      for (const group of inventory.groups) apis.set(`${group.account}/${region}`, api)
      return inventory
    })
  )
  for (const inventory of inventories) {
    const where =
      accounts.length > 1 ? `${inventory.account} ${inventory.region}` : inventory.region
    if (inventory.groups.length === 0) {
      report.emptyRegions.push(where)
      warn(
        report,
        `No security group in ${where} is tagged Name=${config.globalNameTag} or ` +
          `Name=${config.regionalNameTag} with ${config.autoUpdateTag}=true.`
      )
    }
    for (const skipped of inventory.skipped) {
      report.skipped.push(skipped)
      core.warning(`${where} ${skipped.groupId} left alone: ${skipped.reason}`)
    }
  }
  return {
    inventories,
    apiFor: (account, region) => apis.get(`${account}/${region}`) as Ec2Api
  }
}

async function ruleLimitFor(
  config: Config,
  account: AwsAccount,
  region: string,
  report: RunReport
): Promise<number> {
  if (config.maxRulesPerGroup !== 'auto') return config.maxRulesPerGroup
  const quota = await readRuleQuota(region, account.credentials, { userAgent: USER_AGENT })
  if (quota.warning) warn(report, quota.warning)
  core.info(
    `Rule quota in ${account.accountId} ${region}: ${quota.value} per group and family ` +
      `(${quota.source}).`
  )
  return quota.value
}

async function exposureStep(input: AuditStepInput, report: RunReport): Promise<void> {
  const exposure = await runAuditStep(input)
  report.exposure = exposure
  // The summary's audit section lists these; annotations only point at the worst few.
  for (const warning of exposure.warnings) core.warning(warning)
  const worst = exposure.findings.filter(finding => finding.severity === 'high')
  for (const finding of worst.slice(0, 10)) core.warning(finding.message)
  core.info(`Exposure audit: ${exposure.exposureCount} exposure finding(s).`)
}

/**
 * With fail-on-exposure, partial pools and wider exposure fail the run, after the sync: the status
 * (applied, no change, dry run) stays what the sync did, the error says why the step failed.
 */
function failOnExposure(config: Config, report: RunReport): void {
  const count = report.exposure?.exposureCount ?? 0
  if (!config.failOnExposure || count === 0) return
  report.error =
    `fail-on-exposure: the exposure audit found ${count} partial-pool or wider-exposure ` +
    'finding(s), listed in the job summary. The sync itself completed; fix the findings or set ' +
    'fail-on-exposure to false.'
  core.setFailed(report.error)
}

/** The error's message, and what to do about it when the error knows (RangesError's hint). */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const hint = error instanceof RangesError ? error.hint : ''
  return hint && !error.message.includes(hint) ? `${error.message} ${hint}` : error.message
}

function warn(report: RunReport, message: string): void {
  report.warnings = [...(report.warnings ?? []), message]
  core.warning(message)
}

/** The triggering event as the runner hands it over (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH). */
function readTrigger(env: NodeJS.ProcessEnv): TriggerContext {
  const eventName = env.GITHUB_EVENT_NAME
  const path = env.GITHUB_EVENT_PATH
  if (!path) return eventName ? { eventName } : {}
  try {
    return { eventName, payload: JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> }
  } catch (error) {
    throw new Error(`Cannot read the event payload ${path}: ${(error as Error).message}`, {
      cause: error
    })
  }
}

/**
 * Plan file, tracking issue, outputs and summary: written whatever happened, so a failed run still
 * explains itself.
 */
async function publish(report: RunReport, config: Config | undefined): Promise<void> {
  let issueNumber = ''
  try {
    if (config?.tracking.createIssue) {
      const issue = await openOrUpdateTrackingIssue(report, config, process.env, core.info)
      if (issue) {
        issueNumber = String(issue.issueNumber)
        core.info(`Tracking issue #${issue.issueNumber} ${issue.action}: ${issue.url}`)
      }
    }
  } catch (error) {
    // The rules may well have changed: keep the status, and say in the summary why the step failed.
    const message = `Could not update the tracking issue: ${(error as Error).message}`
    report.error = report.error ? `${report.error}\n${message}` : message
    core.setFailed(message)
  }
  try {
    const planFile = report.plan ? writePlanFile(report, process.env) : ''
    for (const [name, value] of Object.entries(outputsOf(report, planFile, issueNumber))) {
      core.setOutput(name, value)
    }
    if (process.env.GITHUB_STEP_SUMMARY) {
      await core.summary.addRaw(renderSummary(report), true).write()
    }
  } catch (error) {
    core.setFailed(`Could not write the report: ${(error as Error).message}`)
  }
}
