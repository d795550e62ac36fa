// The applied EC2 quota "Inbound or outbound rules per security group" of one account and region,
// read from Service Quotas so the planner uses the real figure (a user whose quota is 200 needs no
// extra groups). The SDK reaches a test endpoint through AWS_ENDPOINT_URL_SERVICE_QUOTAS (its
// service id is "Service Quotas").
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ServiceQuotasClient
} from '@aws-sdk/client-service-quotas'
import type { ServiceQuota } from '@aws-sdk/client-service-quotas'
import type { AwsCredentialsProvider } from './identity.js'
import { partitionOfRegion } from './identity.js'

// Quota code and service code as Service Quotas lists them ("Inbound or outbound rules per
// security group", service code `vpc`: Amazon VPC user guide, amazon-vpc-limits; the code also
// appears in the planner's capacity message).
export const RULES_QUOTA = {
  serviceCode: 'vpc',
  quotaCode: 'L-0EA8095F',
  name: 'Inbound or outbound rules per security group'
} as const

/** "Security groups per network interface": default 5, at most 16 (Amazon VPC quotas). */
export const GROUPS_PER_INTERFACE_QUOTA = {
  serviceCode: 'vpc',
  quotaCode: 'L-2AFB9258',
  name: 'Security groups per network interface'
} as const
export const DEFAULT_GROUPS_PER_INTERFACE = 5
export const MAX_GROUPS_PER_INTERFACE = 16

/** The AWS default of the quota (Amazon VPC quotas, security groups). */
export const DEFAULT_RULES_PER_GROUP = 60
/** rules-per-group x groups-per-interface may not exceed 1,000 (same page). */
export const MAX_RULES_PER_GROUP = 1000

export interface RuleQuota {
  /** Rules per group and IP family (the quota is counted separately for IPv4 and IPv6). */
  value: number
  /** 'service-quotas': this account's applied value; 'default': the AWS default (read or 60). */
  source: 'service-quotas' | 'default'
  /** Set when the applied value could not be read: what happened and which permission to add. */
  warning?: string
}

export interface QuotaDeps {
  userAgent?: string
  maxAttempts?: number
}

const DENIED = new Set(['AccessDeniedException', 'AccessDenied'])
const NOT_FOUND = new Set(['NoSuchResourceException'])

/**
 * Reads the applied quota. GetServiceQuota "retrieves the applied quota value ... If the applied
 * quota value is not available for a quota, the quota is not retrieved" (Service Quotas API
 * reference), i.e. NoSuchResourceException: then the AWS default applies, read with
 * GetAWSDefaultServiceQuota. Access denied or any other failure never fails the run: the AWS
 * default (60) is the safe lower bound, and the warning says which permission to grant.
 */
export async function readRuleQuota(
  region: string,
  credentials: AwsCredentialsProvider | undefined,
  deps: QuotaDeps = {}
): Promise<RuleQuota> {
  return readVpcQuota(
    RULES_QUOTA,
    DEFAULT_RULES_PER_GROUP,
    MAX_RULES_PER_GROUP,
    region,
    credentials,
    deps
  )
}

/** The applied "Security groups per network interface" quota, read the same way. */
export async function readGroupsPerInterfaceQuota(
  region: string,
  credentials: AwsCredentialsProvider | undefined,
  deps: QuotaDeps = {}
): Promise<RuleQuota> {
  return readVpcQuota(
    GROUPS_PER_INTERFACE_QUOTA,
    DEFAULT_GROUPS_PER_INTERFACE,
    MAX_GROUPS_PER_INTERFACE,
    region,
    credentials,
    deps
  )
}

interface QuotaId {
  serviceCode: string
  quotaCode: string
  name: string
}

async function readVpcQuota(
  quota: QuotaId,
  fallback: number,
  max: number,
  region: string,
  credentials: AwsCredentialsProvider | undefined,
  deps: QuotaDeps
): Promise<RuleQuota> {
  const client = new ServiceQuotasClient({
    region,
    maxAttempts: deps.maxAttempts ?? 4,
    ...(credentials ? { credentials } : {}),
    ...(deps.userAgent ? { customUserAgent: deps.userAgent } : {})
  })
  const request = { ServiceCode: quota.serviceCode, QuotaCode: quota.quotaCode }
  const where = `${quota.serviceCode}/${quota.quotaCode} in ${region}`
  try {
    let reason: string
    try {
      const applied = quotaValue(
        (await client.send(new GetServiceQuotaCommand(request))).Quota,
        max
      )
      if (applied !== undefined) return { value: applied, source: 'service-quotas' }
      reason = 'GetServiceQuota returned no value'
    } catch (error) {
      const code = codeOf(error)
      if (NOT_FOUND.has(code)) {
        // No applied value recorded: the AWS default applies; nothing to warn about.
        return {
          value: (await awsDefault(client, request, max)) ?? fallback,
          source: 'default'
        }
      }
      reason = DENIED.has(code)
        ? `access denied: grant servicequotas:GetServiceQuota on ` +
          `arn:${partitionOfRegion(region)}:servicequotas:${region}:<account>:${quota.serviceCode}/` +
          `${quota.quotaCode} to read the applied quota`
        : `${code}: ${messageOf(error)}`
    }
    const value = (await awsDefault(client, request, max)) ?? fallback
    return {
      value,
      source: 'default',
      warning:
        quota.quotaCode === RULES_QUOTA.quotaCode
          ? `Could not read the quota '${quota.name}' (${where}; ${reason}); planning with ` +
            `the AWS default of ${value} rules per group. If this account's quota was raised, ` +
            'fewer groups would do.'
          : `Could not read the quota '${quota.name}' (${where}; ${reason}); using the AWS ` +
            `default of ${value}.`
    }
  } finally {
    client.destroy()
  }
}

async function awsDefault(
  client: ServiceQuotasClient,
  request: { ServiceCode: string; QuotaCode: string },
  max: number
): Promise<number | undefined> {
  try {
    return quotaValue((await client.send(new GetAWSDefaultServiceQuotaCommand(request))).Quota, max)
  } catch {
    return undefined
  }
}

/** The quota as a whole number of rules; Service Quotas sends a double (e.g. 60.0). */
export function quotaValue(
  quota: ServiceQuota | undefined,
  max: number = MAX_RULES_PER_GROUP
): number | undefined {
  const value = quota?.Value
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) return undefined
  return Math.min(Math.floor(value), max)
}

function codeOf(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name
  return typeof name === 'string' ? name : 'Error'
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
