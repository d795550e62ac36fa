// Shared by the tests that drive the sync modules in process.
import type { Ec2Api } from '../../src/aws/ec2.js'
import { createEc2Api } from '../../src/aws/ec2.js'
import type { Ownership } from '../../src/inventory.js'

/** The default tag scheme and description, as the action's inputs default them. */
export const DEFAULT_OWNERSHIP: Ownership = {
  globalNameTag: 'cloudfront_g',
  regionalNameTag: 'cloudfront_r',
  autoUpdateTag: 'AutoUpdate',
  protocolTag: 'Protocol',
  protocolPorts: new Map([
    ['http', 80],
    ['https', 443]
  ]),
  ruleDescription: 'cloudfront-sg-sync',
  // A fixed clock after every syncToken the fixtures use (2026-07 to 2026-08).
  now: new Date('2027-01-01T00:00:00Z')
}

/**
 * One real SDK client per region, reaching the emulator through AWS_ENDPOINT_URL_EC2. Tests run in
 * one account (the emulator tells accounts apart by access key), so the account is not a key.
 */
export function regionClients(maxAttempts?: number): (account: string, region: string) => Ec2Api {
  const apis = new Map<string, Ec2Api>()
  return (_account, region) => {
    let api = apis.get(region)
    if (!api) {
      api = createEc2Api({ region, ...(maxAttempts ? { maxAttempts } : {}) })
      apis.set(region, api)
    }
    return api
  }
}
