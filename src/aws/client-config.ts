// The settings every AWS SDK client of the action shares: its region and credentials, the user
// agent, and EC2's throttling-friendly retries. One place, so a client added later behaves the same.
import type { EC2ClientConfig } from '@aws-sdk/client-ec2'

export interface AwsClientOptions {
  region: string
  credentials?: EC2ClientConfig['credentials']
  userAgent?: string
  maxAttempts?: number
}

/**
 * EC2 and ELB throttle per account with a token bucket; the SDK's adaptive mode adds client-side
 * rate limiting on top of backoff, so concurrent regions and groups slow down instead of failing.
 */
export function clientConfig(options: AwsClientOptions, defaultMaxAttempts: number) {
  return {
    region: options.region,
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? defaultMaxAttempts,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.userAgent ? { customUserAgent: options.userAgent } : {})
  }
}
