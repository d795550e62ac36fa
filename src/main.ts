// run(): wires the steps together. The one module that talks to the runner through @actions/core;
// each step hands a plain value to the next (DESIGN.md, "Flow").
import * as core from '@actions/core'
import { readFileSync } from 'node:fs'
import { applyPlan } from './apply.js'
import type { Ec2Api } from './aws/ec2.js'
import { createEc2Api } from './aws/ec2.js'
import type { Config, TriggerContext } from './config.js'
import { parseConfig } from './config.js'
import { discoverRegion } from './discover.js'
import type { Ownership } from './inventory.js'
import { PROTOCOL_TAG } from './inventory.js'
import { buildPlan } from './plan.js'
import { loadRangeSet } from './ranges/index.js'
import { outputsOf, writePlanFile } from './report/outputs.js'
import type { RunReport } from './report/summary.js'
import { renderSummary } from './report/summary.js'

const USER_AGENT = 'cloudfront-sg-sync'

export async function run(): Promise<void> {
  const report: RunReport = {
    status: 'failed',
    service: '',
    families: [],
    regions: [],
    skipped: [],
    emptyRegions: [],
    notices: []
  }
  try {
    const config = parseConfig(name => core.getInput(name), process.env, readTrigger(process.env))
    report.service = config.service
    report.families = config.families
    report.regions = config.regions
    await sync(config, report)
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error)
    if (report.status !== 'refused') report.status = 'failed'
    core.setFailed(report.error)
  } finally {
    await publish(report)
  }
}

async function sync(config: Config, report: RunReport): Promise<void> {
  const ranges = await loadRangeSet({
    url: config.ipRangesUrl,
    service: config.service,
    families: config.families,
    mergeAdjacent: config.mergeAdjacent,
    notification: config.notification
  })
  report.source = ranges.source
  report.notices.push(...ranges.notices)
  for (const notice of ranges.notices) core.notice(notice)
  core.info(
    `Ranges: ${config.service} from ${ranges.source.url}, syncToken ` +
      `${ranges.source.syncToken} (${ranges.source.createDate}), MD5 ` +
      ranges.source.md5
  )

  const owner: Ownership = {
    globalNameTag: config.globalNameTag,
    regionalNameTag: config.regionalNameTag,
    autoUpdateTag: config.autoUpdateTag,
    protocolTag: PROTOCOL_TAG,
    protocolPorts: config.protocolPorts,
    ruleDescription: config.ruleDescription
  }
  const apis = new Map<string, Ec2Api>(
    config.regions.map(region => [region, createEc2Api({ region, userAgent: USER_AGENT })])
  )
  const apiFor = (region: string): Ec2Api => apis.get(region) as Ec2Api
  const inventories = await Promise.all(
    config.regions.map(region => discoverRegion(apiFor(region), region, owner))
  )
  for (const inventory of inventories) {
    if (inventory.groups.length === 0) {
      report.emptyRegions.push(inventory.region)
      core.warning(
        `No security group in ${inventory.region} is tagged Name=${config.globalNameTag} or ` +
          `Name=${config.regionalNameTag} with ${config.autoUpdateTag}=true.`
      )
    }
    for (const skipped of inventory.skipped) {
      report.skipped.push(skipped)
      core.warning(`${skipped.region} ${skipped.groupId} left alone: ${skipped.reason}`)
    }
  }

  const plan = buildPlan(
    ranges.cidrs,
    inventories.flatMap(inventory => inventory.groups),
    {
      families: config.families,
      maxRulesPerGroup: config.maxRulesPerGroup,
      maxRemovalsPercent: config.maxRemovalsPercent,
      syncToken: ranges.source.syncToken
    }
  )
  report.plan = plan
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

/** Outputs, plan file and summary: written whatever happened, so a failed run still explains itself. */
async function publish(report: RunReport): Promise<void> {
  try {
    const planFile = report.plan ? writePlanFile(report, process.env) : ''
    for (const [name, value] of Object.entries(outputsOf(report, planFile))) {
      core.setOutput(name, value)
    }
    if (process.env.GITHUB_STEP_SUMMARY) {
      await core.summary.addRaw(renderSummary(report), true).write()
    }
  } catch (error) {
    core.setFailed(`Could not write the report: ${(error as Error).message}`)
  }
}
