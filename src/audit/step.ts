// Builds the audit's places from what the sync already knows (accounts, inventories, plan, ranges)
// and runs it. Never throws: anything unexpected becomes a warning, so the sync's outcome stands.
import type { AwsAccount } from '../aws/identity.js'
import { readGroupsPerInterfaceQuota } from '../aws/quotas.js'
import type { RegionInventory } from '../inventory.js'
import type { Plan } from '../plan.js'
import type { CidrsByScope } from '../types.js'
import { createAuditEc2Api } from './ec2-reads.js'
import type { AuditPlace, ExposureReport } from './run.js'
import { auditExposure } from './run.js'

export interface AuditStepInput {
  accounts: AwsAccount[]
  /** One per account and region, in the order the accounts and regions were read. */
  inventories: RegionInventory[]
  plan: Plan
  cidrs: CidrsByScope
  ruleDescription: string
  userAgent: string
}

export async function runAuditStep(input: AuditStepInput): Promise<ExposureReport> {
  try {
    const credentialsOf = new Map(input.accounts.map(a => [a.accountId, a.credentials]))
    const places: AuditPlace[] = input.inventories.map(inventory => {
      const credentials = credentialsOf.get(inventory.account)
      return {
        account: inventory.account,
        region: inventory.region,
        groups: inventory.groups,
        api: createAuditEc2Api({
          region: inventory.region,
          ...(credentials ? { credentials } : {}),
          userAgent: input.userAgent
        }),
        groupsPerInterface: () =>
          readGroupsPerInterfaceQuota(inventory.region, credentials, {
            userAgent: input.userAgent
          })
      }
    })
    const poolsNeedingGroups = new Set(
      input.plan.problems.flatMap(problem =>
        problem.kind === 'capacity' && problem.poolId ? [problem.poolId] : []
      )
    )
    return await auditExposure(places, {
      cloudFront: {
        ipv4: [...input.cidrs.global.ipv4, ...input.cidrs.regional.ipv4],
        ipv6: [...input.cidrs.global.ipv6, ...input.cidrs.regional.ipv6]
      },
      ruleDescription: input.ruleDescription,
      poolsNeedingGroups
    })
  } catch (error) {
    return {
      findings: [],
      exposureCount: 0,
      audited: [],
      warnings: [`Exposure audit failed: ${(error as Error).message}; the sync is unaffected.`]
    }
  }
}
