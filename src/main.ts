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
import { readGroupsPerInterfaceQuota, readRuleQuota } from './aws/quotas.js'
import type { CheckResult } from './check.js'
import { decideCheck } from './check.js'
import type { Config } from './config.js'
import { parseConfig } from './config.js'
import { describeUncovered, uncoveredScopes } from './coverage.js'
import { discoverRegion } from './discover.js'
import type { ManagedGroup, Ownership, RegionInventory } from './inventory.js'
import { PROTOCOL_TAG, SYNC_TOKEN_TAG } from './inventory.js'
import type { GrowthPlace, PreparedGrowth } from './grow/step.js'
import { executeGrowth, hasGrowthWork, prepareGrowth, removableGroups } from './grow/step.js'
import { planWithGrowth, resolvePlaceholders } from './grow/plan.js'
import { createGrowthEc2Api } from './grow/ec2-writes.js'
import { createLoadBalancerApi } from './grow/elbv2.js'
import { createAuditEc2Api } from './audit/ec2-reads.js'
import type { Plan } from './plan.js'
import { buildPlan } from './plan.js'
import { loadRangeSet, RangesError } from './ranges/index.js'
import type { LoadedRangeSet } from './ranges/index.js'
import { logText } from './report/log-text.js'
import { outputsOf, writePlanFile } from './report/outputs.js'
import type { RunReport } from './report/summary.js'
import { renderSummary } from './report/summary.js'
import { openOrUpdateTrackingIssue } from './report/tracking.js'
import type { TriggerContext } from './trigger.js'

const USER_AGENT = 'cloudfront-sg-sync'

/**
 * Every plain log line goes through here: it can quote AWS errors, GitHub answers and document
 * fields, and core.info writes raw lines the runner would take as workflow commands. (warning,
 * notice and setFailed escape their message themselves.)
 */
function info(message: string): void {
  core.info(logText(message))
}

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
  // One clock for the run: syncTokens (dispatch, document, tags) later than this are implausible.
  const now = new Date()
  try {
    config = parseConfig(name => core.getInput(name), process.env, readTrigger(process.env), now)
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
      await sync(config, report, now, audit)
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
  now: Date,
  audit: { input?: AuditStepInput }
): Promise<void> {
  // Independent, so at once: neither changes anything.
  const [ranges, accounts] = await Promise.all([
    loadRangeSet({
      url: config.ipRangesUrl,
      service: config.service,
      families: config.families,
      mergeAdjacent: config.mergeAdjacent,
      notification: config.notification,
      now
    }),
    resolveAccounts(config.identity, {
      getIDToken: audience => core.getIDToken(audience),
      setSecret: value => core.setSecret(value),
      region: config.regions[0],
      info,
      warning: message => warn(report, message),
      userAgent: USER_AGENT
    })
  ])
  describeSource(ranges, report)
  report.accounts = accounts.map(account => account.accountId)

  const { inventories, apiFor } = await discover(config, accounts, report, now)
  const label = (account: string, region: string): string =>
    accounts.length > 1 ? `${account} ${region}` : region
  for (const gap of uncoveredScopes(ranges.cidrs, inventories, {
    families: config.families,
    nameTags: { global: config.globalNameTag, regional: config.regionalNameTag },
    label
  })) {
    warn(report, describeUncovered(gap, config.service))
  }
  const allGroups = inventories.flatMap(inventory => inventory.groups)
  const planOptions = {
    families: config.families,
    maxRemovalsPercent: config.maxRemovalsPercent,
    maxGrowthPercent: config.maxGrowthPercent,
    unpublished: ranges.unpublished,
    syncToken: ranges.source.syncToken
  }
  // check mode never grows: it only reads.
  const growing = config.growPools && config.mode === 'sync'
  const grown = growing
    ? planWithGrowth(ranges.cidrs, allGroups, planOptions, {
        autoUpdateTag: config.autoUpdateTag,
        protocolTag: PROTOCOL_TAG
      })
    : { plan: buildPlan(ranges.cidrs, allGroups, planOptions), newGroups: [] }
  let plan = grown.plan
  const growthPlaces = growthPlacesFor(accounts)
  let prepared: PreparedGrowth | undefined
  // Also where a group grow-pools created earlier may still await its attachment.
  const mayGrow = grown.newGroups.length > 0 || allGroups.some(group => group.createdByAction)
  if (growing && mayGrow && plan.problems.length === 0) {
    prepared = await prepareGrowth(grown.newGroups, allGroups, growthPlaces)
    for (const warning of prepared.warnings) warn(report, warning)
    if (prepared.refusals.length > 0) {
      // Refused: report the plan without the groups that will not be created.
      plan = buildPlan(ranges.cidrs, allGroups, planOptions)
      plan.problems.push(
        ...prepared.refusals.map(message => ({ kind: 'capacity' as const, message }))
      )
      prepared = undefined
    }
  } else if (grown.newGroups.length > 0) {
    plan = buildPlan(ranges.cidrs, allGroups, planOptions)
  }
  const newGroups = prepared ? grown.newGroups : []
  report.growth = {
    created: [],
    wouldCreate: newGroups.map(g => ({ groupName: g.groupName, poolId: g.poolId })),
    removable: removableGroups(allGroups, groupsAfter(plan))
  }
  for (const id of report.growth.removable) {
    report.notices.push(
      `${id} was created by grow-pools and holds no rule after this run: it may be deleted ` +
        '(detach it first); the action never deletes groups.'
    )
  }
  report.plan = plan
  for (const notice of plan.notices ?? []) {
    report.notices.push(notice)
    core.notice(notice)
  }
  audit.input = {
    accounts,
    inventories,
    plan,
    cidrs: ranges.cidrs,
    ruleDescription: config.ruleDescription,
    userAgent: USER_AGENT
  }
  if (config.mode === 'check') {
    const groups = inventories.flatMap(inventory => inventory.groups)
    reportCheck(
      decideCheck(plan, groups, {
        documentSyncToken: ranges.source.syncToken,
        maxStalenessSeconds: config.maxStalenessSeconds
      }),
      report
    )
    return
  }
  // A held-back pool is not in sync with this run's file: a warning (annotation, and the summary's
  // status line), though a late notification is normal and the run still exits 0.
  for (const held of plan.heldBack) {
    core.warning(
      `${held.id} held back: ${held.groupId} already holds newer ranges (syncToken ` +
        `${held.recordedSyncToken} > ${ranges.source.syncToken}); this notification arrived late, ` +
        'so the pool was left as it is.'
    )
  }
  if (plan.problems.length > 0) {
    report.status = 'refused'
    throw new Error(
      `Nothing was changed: ${plan.problems.map(problem => problem.message).join(' ')}`
    )
  }
  const { rulesAdded, rulesRemoved, groupsChanged } = plan.totals
  info(`Plan: +${rulesAdded} / -${rulesRemoved} rules in ${groupsChanged} group(s).`)
  if (rulesAdded + rulesRemoved === 0) {
    report.status = plan.heldBack.length > 0 ? 'held-back' : 'no-change'
    return
  }
  if (config.dryRun) {
    report.status = 'dry-run'
    return
  }

  if (prepared && hasGrowthWork(newGroups, prepared)) {
    const result = await executeGrowth(newGroups, prepared, growthPlaces, info)
    report.growth.created = result.created
    for (const group of result.created) {
      const notice =
        `grow-pools created ${group.groupId} (${group.groupName}) for pool ${group.poolId} and ` +
        `attached it to ${group.attachedTo.join(', ')} before adding rules.`
      report.notices.push(notice)
      core.notice(notice)
    }
    plan = resolvePlaceholders(plan, result.ids)
    report.plan = plan
  }
  const applied = await applyPlan(plan, apiFor, {
    ruleDescription: config.ruleDescription,
    syncToken: ranges.source.syncToken,
    log: info
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

/** Each group's managed rules once the plan is applied. */
function groupsAfter(plan: Plan): Map<string, number> {
  const after = new Map<string, number>()
  for (const pool of plan.pools) {
    for (const change of pool.groups) {
      after.set(change.groupId, change.after.ipv4 + change.after.ipv6)
    }
  }
  return after
}

/** grow-pools' clients, made once per account and region when first needed. */
function growthPlacesFor(accounts: AwsAccount[]): (account: string, region: string) => GrowthPlace {
  const places = new Map<string, GrowthPlace>()
  return (account, region) => {
    const key = `${account}/${region}`
    const known = places.get(key)
    if (known) return known
    const credentials = accounts.find(a => a.accountId === account)?.credentials
    const options = { region, ...(credentials ? { credentials } : {}), userAgent: USER_AGENT }
    const place: GrowthPlace = {
      account,
      region,
      reads: createAuditEc2Api(options),
      writes: createGrowthEc2Api(options),
      loadBalancers: createLoadBalancerApi(options),
      groupsPerInterface: () =>
        readGroupsPerInterfaceQuota(region, credentials, { userAgent: USER_AGENT })
    }
    places.set(key, place)
    return place
  }
}

function describeSource(ranges: LoadedRangeSet, report: RunReport): void {
  report.source = ranges.source
  report.notices.push(...ranges.notices)
  for (const notice of ranges.notices) core.notice(notice)
  info(
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
  report: RunReport,
  now: Date
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
    ruleDescription: config.ruleDescription,
    now
  }
  const apis = new Map<string, Ec2Api>()
  const places = accounts.flatMap(account => config.regions.map(region => ({ account, region })))
  const quotaWarnings: string[] = []
  const inventories = await Promise.all(
    places.map(async ({ account, region }) => {
      const api = createEc2Api({ region, credentials: account.credentials, userAgent: USER_AGENT })
      const ruleLimit = ruleLimitFor(config, account, region, quotaWarnings)
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
  // One line for every place whose quota could not be read, not one per region.
  if (quotaWarnings.length > 0) {
    const [first] = quotaWarnings
    const more = quotaWarnings.length - 1
    warn(
      report,
      more > 0 ? `${first} (The same in ${more} more place(s); see the log.)` : `${first}`
    )
  }
  const hints: string[] = []
  for (const inventory of inventories) {
    const where =
      accounts.length > 1 ? `${inventory.account} ${inventory.region}` : inventory.region
    if (inventory.groups.length === 0) {
      report.emptyRegions.push(where)
      const close = [
        ...(inventory.nearMisses ?? []),
        ...inventory.skipped.flatMap(s =>
          s.closeTag ? [`${s.groupId} is tagged ${s.closeTag}`] : []
        )
      ]
      hints.push(...close)
      warn(
        report,
        `No security group in ${where} is tagged Name=${config.globalNameTag} or ` +
          `Name=${config.regionalNameTag} with ${config.autoUpdateTag}=true` +
          (inventory.skipped.length > 0
            ? ` and a ${PROTOCOL_TAG} tag the action knows (${inventory.skipped.length} group(s) ` +
              'left alone, see below)'
            : '') +
          (close.length > 0 ? `; close (tag values match exactly): ${close.join('; ')}.` : '.')
      )
    }
    for (const group of inventory.groups) {
      if (group.ignoredSyncToken) warn(report, ignoredTagWarning(where, group))
    }
    for (const skipped of inventory.skipped) {
      report.skipped.push(skipped)
      core.warning(`${where} ${skipped.groupId} left alone: ${skipped.reason}`)
    }
  }
  // Nothing to sync anywhere is a setup mistake, not a quiet success: a scheduled run that
  // never syncs anything would stay green forever (issue 13). The step fails, naming the fix.
  if (inventories.every(inventory => inventory.groups.length === 0)) {
    const close = hints
    throw new Error(
      `No security group to sync in ${places.length} place(s) (${config.regions.join(', ')}): ` +
        `none is tagged Name=${config.globalNameTag} or Name=${config.regionalNameTag} with ` +
        `${config.autoUpdateTag}=true and ${PROTOCOL_TAG}=${[...config.protocolPorts.keys()].join(' or ')}` +
        (close.length > 0 ? `. Close (tag values match exactly): ${close.join('; ')}` : '') +
        '. Tag the groups as the README Quick Start (step 2) shows and rerun; nothing was changed.'
    )
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
  warnings: string[]
): Promise<number> {
  if (config.maxRulesPerGroup !== 'auto') return config.maxRulesPerGroup
  const quota = await readRuleQuota(region, account.credentials, { userAgent: USER_AGENT })
  if (quota.warning) {
    warnings.push(quota.warning)
    info(quota.warning)
  }
  info(
    `Rule quota in ${account.accountId} ${region}: ${quota.value} per group and family ` +
      `(${quota.source}).`
  )
  return quota.value
}

function ignoredTagWarning(where: string, group: ManagedGroup): string {
  const { value, reason } = group.ignoredSyncToken ?? { value: '', reason: '' }
  // The tag is anyone's to write: echo it only when it is digits (no markup can hide in those).
  const shown = /^[0-9]*$/.test(value) ? `'${value}'` : `(${value.length} characters)`
  return (
    `${where} ${group.groupId}: tag ${SYNC_TOKEN_TAG} ${shown} ignored, it cannot be a syncToken ` +
    `(${reason}); the group is synced as if it had no such tag. The next change to the group ` +
    'overwrites the tag; delete it now to end this warning, and check who may tag the group.'
  )
}

/** check mode: the verdict goes in the report; a failed check fails the step, naming each cause. */
function reportCheck(check: CheckResult, report: RunReport): void {
  report.check = check
  report.status = check.inSync ? 'in-sync' : 'out-of-sync'
  if (check.inSync) core.info('Check: every pool holds the published ranges.')
  else core.setFailed(check.findings.map(finding => finding.message).join('\n'))
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
  if (!hint || error.message.includes(hint)) return error.message
  // RangesError messages are clauses without a full stop; the hint is the next sentence.
  return `${/[.!?:]$/.test(error.message) ? error.message : `${error.message}.`} ${hint}`
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
    // A check changes nothing, so it has nothing to track.
    if (config?.tracking.createIssue && config.mode !== 'check') {
      const issue = await openOrUpdateTrackingIssue(report, config, process.env, info)
      if (issue) {
        issueNumber = String(issue.issueNumber)
        info(`Tracking issue #${issue.issueNumber} ${issue.action}: ${issue.url}`)
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
