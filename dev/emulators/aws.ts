// The AWS side of a run on loopback, wired together: EC2, STS (which registers the keys it issues
// with EC2), Service Quotas (which sees each key's account) and the Actions OIDC token endpoint.
// `env` points the real SDK (and @actions/core's getIDToken) at them, with long-term keys for the
// default credential chain. Used by the end-to-end tests, the demo, the benchmark and CI.
import type { Ec2EmulatorOptions } from './ec2.js'
import { Ec2Emulator } from './ec2.js'
import { Elbv2Emulator } from './elbv2.js'
import { OidcEmulator } from './oidc.js'
import { ServiceQuotasEmulator } from './service-quotas.js'
import type { RoleSpec } from './sts.js'
import { StsEmulator } from './sts.js'

/** The long-term key of the default credential chain, and the account it belongs to. */
export const DEFAULT_CHAIN_KEY = {
  accessKeyId: 'AKIDDEFAULTCHAIN0000',
  secret: 'default-chain-secret'
}
export const DEFAULT_CHAIN_ACCOUNT = '123456789012'

export interface AwsEmulators {
  ec2: Ec2Emulator
  /** Load balancers (their interfaces live in `ec2`), for pool growth. */
  elbv2: Elbv2Emulator
  sts: StsEmulator
  quotas: ServiceQuotasEmulator
  oidc: OidcEmulator
  /** Endpoints, default-chain credentials and the OIDC request variables. */
  env: Record<string, string>
  stop(): Promise<void>
}

export interface AwsEmulatorOptions {
  ec2?: Ec2EmulatorOptions
  roles?: RoleSpec[]
  /**
   * More long-term keys of the default chain: access key id -> account, known to EC2, STS
   * (GetCallerIdentity) and Service Quotas alike (several accounts sharing one set of emulators).
   */
  accountIds?: Record<string, string>
  /** Fixed ports (the local emulators for `npm run local-action`); otherwise any free port. */
  ports?: { ec2?: number; sts?: number; quotas?: number }
}

export async function startAwsEmulators(options: AwsEmulatorOptions = {}): Promise<AwsEmulators> {
  const ec2 = new Ec2Emulator({
    ...options.ec2,
    accountIds: {
      [DEFAULT_CHAIN_KEY.accessKeyId]: DEFAULT_CHAIN_ACCOUNT,
      ...options.accountIds,
      ...options.ec2?.accountIds
    }
  })
  const oidc = await OidcEmulator.start()
  const elbv2 = new Elbv2Emulator(ec2, DEFAULT_CHAIN_ACCOUNT)
  const sts = new StsEmulator({
    providers: [{ issuer: oidc.issuer, publicKey: oidc.publicKey }],
    roles: options.roles ?? [],
    ec2,
    accountIds: { [DEFAULT_CHAIN_KEY.accessKeyId]: DEFAULT_CHAIN_ACCOUNT, ...options.accountIds }
  })
  const quotas = await ServiceQuotasEmulator.start({
    accountOf: id => sts.accountOf(id),
    port: options.ports?.quotas ?? 0
  })
  const env = {
    ...oidc.env(),
    AWS_ENDPOINT_URL_EC2: await ec2.start(options.ports?.ec2 ?? 0),
    AWS_ENDPOINT_URL_STS: await sts.start(options.ports?.sts ?? 0),
    AWS_ENDPOINT_URL_SERVICE_QUOTAS: quotas.url,
    // The SDK's endpoint variable for service id "Elastic Load Balancing v2".
    AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: await elbv2.start(),
    AWS_ACCESS_KEY_ID: DEFAULT_CHAIN_KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DEFAULT_CHAIN_KEY.secret,
    AWS_EC2_METADATA_DISABLED: 'true'
  }
  return {
    ec2,
    elbv2,
    sts,
    quotas,
    oidc,
    env,
    stop: async () => {
      await Promise.all([ec2.stop(), elbv2.stop(), sts.stop(), quotas.close(), oidc.close()])
    }
  }
}
